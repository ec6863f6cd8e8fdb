//! "Predict first": the learner writes down a number or a choice before the cell that computes
//! it, and that cell compares.
//!
//! A chapter asks, in a markdown cell, for a prediction, and a short code cell holds it:
//!
//! ```
//! let my_guess: Option<f64> = None; // e.g. Some(0.69)
//! ```
//!
//! The next cell computes the value and calls [`reveal_number`] (or [`reveal_choice`]), which
//! prints the value and, when there is a guess, whether it was within the stated tolerance.
//! Without a guess it prints the value and how to try: a notebook runs from top to bottom
//! unattended too (the tests do), so no guess is an answer, never an error.

/// How close a numeric guess must be to count: an absolute or a relative distance.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Tolerance {
    /// |guess − value| ≤ this.
    Absolute(f64),
    /// |guess − value| ≤ this · |value|.
    Relative(f64),
}

impl Tolerance {
    fn allows(self, guess: f64, value: f64) -> bool {
        let distance = (guess - value).abs();
        match self {
            Tolerance::Absolute(d) => distance <= d,
            Tolerance::Relative(r) => distance <= r * value.abs(),
        }
    }

    fn describe(self) -> String {
        match self {
            Tolerance::Absolute(d) => format!("within ±{d}"),
            Tolerance::Relative(r) => format!("within {}%", 100.0 * r),
        }
    }
}

/// What [`reveal_number`] and [`reveal_choice`] found: kept so a cell can branch on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// No prediction was written down.
    NoGuess,
    /// The prediction was within the tolerance (or the right choice).
    Close,
    /// It was not.
    Off,
}

/// `v` to 4 significant digits (an integer as it is), as a learner writes a prediction.
fn short(v: f64) -> String {
    if v == v.trunc() && v.abs() < 1e15 {
        format!("{v}")
    } else if v != 0.0 && (v.abs() >= 1e5 || v.abs() < 1e-3) {
        format!("{v:.3e}")
    } else {
        let decimals = (3 - v.abs().log10().floor() as i32).max(0) as usize;
        let s = format!("{v:.decimals$}");
        if decimals == 0 { s } else { s.trim_end_matches('0').trim_end_matches('.').to_string() }
    }
}

/// The line [`reveal_number`] prints, without printing it.
pub fn number_line(
    question: &str,
    guess: Option<f64>,
    value: f64,
    tolerance: Tolerance,
) -> (Verdict, String) {
    let shown = short(value);
    match guess {
        None => (
            Verdict::NoGuess,
            format!(
                "{question}: {shown} (no prediction written down: set it in the cell above, then run both cells again)"
            ),
        ),
        Some(g) if tolerance.allows(g, value) => (
            Verdict::Close,
            format!("{question}: {shown}; you predicted {g}: {} — right", tolerance.describe()),
        ),
        Some(g) => (
            Verdict::Off,
            format!(
                "{question}: {shown}; you predicted {g}, off by {:.3e} (not {}): find where your reasoning and the cell part",
                (g - value).abs(),
                tolerance.describe()
            ),
        ),
    }
}

/// Prints the value a cell computed next to the learner's prediction of it, and whether the
/// prediction was within `tolerance`.
pub fn reveal_number(question: &str, guess: Option<f64>, value: f64, tolerance: Tolerance) -> Verdict {
    let (verdict, line) = number_line(question, guess, value, tolerance);
    println!("{line}");
    verdict
}

/// The line [`reveal_choice`] prints, without printing it.
pub fn choice_line(question: &str, guess: Option<char>, answer: char, why: &str) -> (Verdict, String) {
    match guess {
        None => (
            Verdict::NoGuess,
            format!(
                "{question}: ({answer}) — {why} (no prediction written down: set it in the cell above, then run both cells again)"
            ),
        ),
        Some(g) if g.eq_ignore_ascii_case(&answer) => {
            (Verdict::Close, format!("{question}: ({answer}); you chose ({g}) — right: {why}"))
        }
        Some(g) => (Verdict::Off, format!("{question}: ({answer}); you chose ({g}) — not this time: {why}")),
    }
}

/// Prints the right choice among lettered options, the learner's, and why.
pub fn reveal_choice(question: &str, guess: Option<char>, answer: char, why: &str) -> Verdict {
    let (verdict, line) = choice_line(question, guess, answer, why);
    println!("{line}");
    verdict
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_judged_by_their_tolerance() {
        let t = Tolerance::Relative(0.1);
        assert_eq!(number_line("J", None, 0.69, t).0, Verdict::NoGuess);
        assert_eq!(number_line("J", Some(0.7), 0.69, t).0, Verdict::Close);
        assert_eq!(number_line("J", Some(1.0), 0.69, t).0, Verdict::Off);
        assert_eq!(number_line("J", Some(0.5), 0.0, Tolerance::Absolute(0.5)).0, Verdict::Close);
        assert_eq!(number_line("J", Some(0.51), 0.0, Tolerance::Absolute(0.5)).0, Verdict::Off);
        assert!(number_line("J", Some(1.0), 0.69, t).1.contains("off by 3.100e-1"));
        assert!(number_line("J", None, 0.44932896411722156, t).1.starts_with("J: 0.4493 "));
        assert_eq!(short(40.0), "40");
        assert_eq!(short(12340.7), "12341");
        assert_eq!(short(1.0034), "1.003");
        assert_eq!(short(-12.5), "-12.5");
        assert_eq!(short(3.0e-5), "3.000e-5");
    }

    #[test]
    fn choices_ignore_case() {
        assert_eq!(choice_line("which", Some('B'), 'b', "").0, Verdict::Close);
        assert_eq!(choice_line("which", Some('a'), 'b', "").0, Verdict::Off);
        assert_eq!(choice_line("which", None, 'b', "").0, Verdict::NoGuess);
    }
}
