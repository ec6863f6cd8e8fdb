//! What a grader prints: one line that says how it went, and what to fix.

use std::fmt;

/// Marks the first character of a report line: the notebook runner looks for them.
pub const PASSED: char = '✓';
/// A wrong result (or a panic) in at least one case.
pub const FAILED: char = '✗';
/// The function still contains its `todo!()`.
pub const TODO: char = '○';

/// How one check of a learner's function ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Every case gave the expected result.
    Passed,
    /// The function panicked with `todo!()`: nothing written yet.
    NotImplemented,
    /// The function panicked (other than `todo!()`) in case `case`.
    Panicked {
        /// 1-based case number.
        case: usize,
        /// The panic message.
        message: String,
    },
    /// A result differs from the reference in case `case`.
    Wrong {
        /// 1-based case number.
        case: usize,
        /// The inputs of the case, e.g. "W (3, 4), A (4, 5)".
        inputs: String,
        /// What differs, e.g. "expected shape (3, 5), got (5, 3)".
        problem: String,
        /// What the difference suggests, if it looks like a known mistake.
        hint: Option<String>,
        /// The expected result, printed.
        expected: String,
        /// The learner's result, printed.
        got: String,
    },
}

/// The result of one grader: the function's name, how many cases passed, and the outcome.
///
/// In a notebook a grader cell ends with the report, which shows as text.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// The function graded, e.g. "linear_forward".
    pub name: &'static str,
    /// Cases that passed (all of them, or the ones before the first failure).
    pub passed: usize,
    /// Cases run in all.
    pub total: usize,
    /// How it ended.
    pub outcome: Outcome,
    /// How much of a hint to show: 1, the concept (what a first failure shows); 2, the
    /// concept and the equation ([`Report::more`]).
    pub level: u8,
}

/// Between the two levels of a hint: "the concept | the equation".
pub(crate) const LEVEL_2: &str = " | ";

/// The concept of a hint (level 1), and its equation (level 2) if it has one.
pub(crate) fn levels(hint: &str) -> (&str, Option<&str>) {
    match hint.split_once(LEVEL_2) {
        Some((concept, equation)) => (concept, Some(equation)),
        None => (hint, None),
    }
}

impl Report {
    /// Whether every case passed.
    pub fn is_passed(&self) -> bool {
        self.outcome == Outcome::Passed
    }

    /// The whole hint of a wrong result, both levels, if there is one (for tests of the
    /// graders).
    pub fn hint(&self) -> Option<&str> {
        match &self.outcome {
            Outcome::Wrong { hint, .. } => hint.as_deref(),
            _ => None,
        }
    }

    /// The same report with the next level of its hint: a first failure names the concept
    /// (what is wrong, in words); `.more()` adds the equation. In a notebook, run the grader
    /// cell again as `check::linear_backward(linear_backward).more()`.
    pub fn more(mut self) -> Report {
        self.level = self.level.saturating_add(1).min(2);
        self
    }

    /// Shows the report in a Rust notebook (evcxr calls this for a cell's value).
    pub fn evcxr_display(&self) {
        evcxr_runtime::mime_type("text/plain").text(self.to_string());
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.name;
        match &self.outcome {
            Outcome::Passed => write!(f, "{PASSED} {name}: {}/{} cases", self.passed, self.total),
            Outcome::NotImplemented => {
                write!(f, "{TODO} {name}: not implemented yet (replace the todo!() with your code)")
            }
            Outcome::Panicked { case, message } => {
                write!(f, "{FAILED} {name}, case {case}: your function panicked: {message}")
            }
            Outcome::Wrong { case, inputs, problem, hint, expected, got } => {
                write!(f, "{FAILED} {name}, case {case} ({inputs}): {problem}.")?;
                if let Some(hint) = hint {
                    let (concept, equation) = levels(hint);
                    write!(f, "\nHint: {concept}")?;
                    match equation {
                        Some(equation) if self.level >= 2 => write!(f, "\nIn detail: {equation}")?,
                        Some(_) => write!(
                            f,
                            "\n(For the next level, with the equation, run `check::{name}({name}).more()`.)"
                        )?,
                        None => {}
                    }
                }
                write!(f, "\nexpected:\n{expected}\ngot:\n{got}")
            }
        }
    }
}

/// Several reports shown together (a grader that checks a few functions at once).
#[derive(Debug, Clone, PartialEq)]
pub struct Reports(pub Vec<Report>);

impl Reports {
    /// Whether every report passed.
    pub fn all_passed(&self) -> bool {
        self.0.iter().all(Report::is_passed)
    }

    /// Shows the reports in a Rust notebook.
    pub fn evcxr_display(&self) {
        evcxr_runtime::mime_type("text/plain").text(self.to_string());
    }
}

impl fmt::Display for Reports {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{r}")?;
        }
        Ok(())
    }
}
