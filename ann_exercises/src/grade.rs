//! Running a learner's function safely, and comparing what it returns with the reference.

use crate::report::{Outcome, Report};
use ndarray::{Array2, ArrayView2};
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use std::panic::{AssertUnwindSafe, catch_unwind};

/// Results within this distance of the reference count as equal: 1e-10, relative to the
/// size of the value (absolute below 1).
pub const TOLERANCE: f64 = 1e-10;

/// What running the learner's function gave.
pub(crate) enum Attempt<T> {
    /// It returned.
    Done(T),
    /// It panicked with `todo!()`.
    NotImplemented,
    /// It panicked otherwise, with this message.
    Panicked(String),
}

/// Runs `f`, catching any panic (`todo!()` included) without printing it: a panic in a
/// learner's function must not end the cell, let alone the kernel.
pub(crate) fn attempt<T>(f: impl FnOnce() -> T) -> Attempt<T> {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let result = catch_unwind(AssertUnwindSafe(f));
    std::panic::set_hook(previous);
    match result {
        Ok(value) => Attempt::Done(value),
        Err(payload) => {
            // `todo!("…")` panics with a `&str` payload, `panic!("{x}")` with a `String`.
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "(a panic without a message)".into());
            if message.starts_with("not yet implemented") {
                Attempt::NotImplemented
            } else {
                Attempt::Panicked(message)
            }
        }
    }
}

/// A wrong result of one case.
#[derive(Debug)]
pub(crate) struct Wrong {
    pub(crate) problem: String,
    pub(crate) hint: Option<String>,
    pub(crate) expected: String,
    pub(crate) got: String,
}

/// A matrix product of the learner's function, in the course's notation: (how it is
/// written, the name of its left factor, of its right factor), e.g. ("Z = W·A_prev", "W",
/// "A_prev"). A panic in a product of the same two arrays is told "did you mean ...?".
pub(crate) type Product = (&'static str, &'static str, &'static str);

/// What a case's arrays are called, for translating a panic: names and shapes.
pub(crate) type Named = Vec<(&'static str, (usize, usize))>;

/// Runs the cases of one grader, stopping at the first failure.
pub(crate) struct Grader {
    name: &'static str,
    total: usize,
    passed: usize,
    /// The products the function computes (see [`Product`]).
    products: &'static [Product],
    /// The current case's arrays, named as in the course.
    shapes: Named,
    /// What a failed broadcast means in the current case, in the course's terms.
    broadcast: Option<String>,
}

impl Grader {
    pub(crate) fn new(name: &'static str, total: usize) -> Self {
        Grader { name, total, passed: 0, products: &[], shapes: Vec::new(), broadcast: None }
    }

    /// The products of the function, to name a mistaken one when it panics.
    pub(crate) fn products(mut self, products: &'static [Product]) -> Self {
        self.products = products;
        self
    }

    /// Names the next case's arrays, and says what a broadcast that fails there means: a
    /// panic of ndarray is then told in the course's notation.
    pub(crate) fn explain(&mut self, shapes: Named, broadcast: Option<String>) {
        self.shapes = shapes;
        self.broadcast = broadcast;
    }

    /// A case whose result is one array: the learner's `f` run by `call` against `expected`,
    /// the planted mistakes of `table` run the same way, so that a result equal to one of
    /// theirs gets its hint.
    #[allow(clippy::result_large_err)] // as `case`: the report is the early return
    pub(crate) fn array_case<F: Copy>(
        &mut self,
        inputs: impl FnOnce() -> String,
        expected: ArrayView2<f64>,
        table: &[Mistake<F>],
        call: impl Fn(F) -> Array2<f64>,
        f: F,
    ) -> Result<(), Report> {
        let wrong = run_mistakes(table, &call);
        let check = |got: Array2<f64>| compare(expected, got.view(), &parts(&wrong, Some));
        self.case(inputs, attempt(|| call(f)), check)
    }

    /// Checks one case: `check` compares the learner's result with the reference. A failure
    /// becomes the grader's report (returned once, so its size does not matter).
    #[allow(clippy::result_large_err)]
    pub(crate) fn case<T>(
        &mut self,
        inputs: impl FnOnce() -> String,
        result: Attempt<T>,
        check: impl FnOnce(T) -> Result<(), Wrong>,
    ) -> Result<(), Report> {
        let case = self.passed + 1;
        let outcome = match result {
            Attempt::NotImplemented => Outcome::NotImplemented,
            Attempt::Panicked(message) => Outcome::Panicked {
                case,
                message: translate(&message, &self.shapes, self.products, self.broadcast.as_deref()),
            },
            Attempt::Done(value) => match check(value) {
                Ok(()) => {
                    self.passed += 1;
                    return Ok(());
                }
                Err(w) => Outcome::Wrong {
                    case,
                    inputs: inputs(),
                    problem: w.problem,
                    hint: w.hint,
                    expected: w.expected,
                    got: w.got,
                },
            },
        };
        Err(Report { name: self.name, passed: self.passed, total: self.total, outcome, level: 1 })
    }

    pub(crate) fn finish(self) -> Report {
        Report { name: self.name, passed: self.passed, total: self.total, outcome: Outcome::Passed, level: 1 }
    }
}

/// The numbers of ndarray's "inputs 4 × 3 and 5 × 3 are not compatible for matrix
/// multiplication": (4, 3, 5, 3).
fn product_shapes(message: &str) -> Option<(usize, usize, usize, usize)> {
    let rest = message.split("inputs ").nth(1)?;
    let rest = rest.split(" are not compatible").next()?;
    let mut numbers = rest.split(|c: char| !c.is_ascii_digit()).filter(|s| !s.is_empty());
    let mut next = || numbers.next()?.parse::<usize>().ok();
    Some((next()?, next()?, next()?, next()?))
}

/// The name of an array of shape `dim` among the case's: "W", "Wᵀ" for the transpose, or
/// "W or dZ" when several fit; None when none fits.
fn name_of(dim: (usize, usize), shapes: &[(&'static str, (usize, usize))]) -> Option<String> {
    let mut names: Vec<String> =
        shapes.iter().filter(|(_, d)| *d == dim).map(|(n, _)| n.to_string()).collect();
    if dim.0 != dim.1 {
        names.extend(shapes.iter().filter(|(_, d)| (d.1, d.0) == dim).map(|(n, _)| format!("{n}ᵀ")));
    }
    match names.len() {
        0 => None,
        1 => names.pop(),
        _ => Some(format!("({})", names.join(" or "))),
    }
}

/// A panic of the learner's function told in the course's terms: which product or which
/// sum failed, with the case's arrays named, and what was probably meant. Other panics keep
/// their message.
pub(crate) fn translate(
    message: &str,
    shapes: &[(&'static str, (usize, usize))],
    products: &[Product],
    broadcast: Option<&str>,
) -> String {
    if let Some((a, b, c, d)) = product_shapes(message) {
        let left = name_of((a, b), shapes);
        let right = name_of((c, d), shapes);
        let show = |name: &Option<String>, r: usize, k: usize| match name {
            Some(n) => format!("{n} is ({r}, {k})"),
            None => format!("one factor is ({r}, {k})"),
        };
        let what = match (&left, &right) {
            (Some(l), Some(r)) => format!("in the matrix product {l}·{r}"),
            _ => "in a matrix product".to_string(),
        };
        let base = |n: &str| n.trim_end_matches('ᵀ').to_string();
        // An ambiguous name, "(dZ̃ or Ẑ)", suggests no product.
        let meant = match (&left, &right) {
            (Some(l), Some(r)) => products.iter().find(|(_, pl, pr)| {
                let (l, r) = (base(l), base(r));
                (l == *pl && r == *pr) || (l == *pr && r == *pl)
            }),
            _ => None,
        };
        let advice = match meant {
            Some((formula, _, _)) => format!(" — did you mean {formula}?"),
            None if !products.is_empty() => {
                let all: Vec<&str> = products.iter().map(|p| p.0).collect();
                format!(" — the products here are {}.", all.join(", "))
            }
            // A grader with no products explains its shapes instead (an entry-by-entry step).
            None => match broadcast {
                Some(shapes) => format!(". {shapes}"),
                None => {
                    ": check the order of the factors, and which one needs a transpose (.t()).".to_string()
                }
            },
        };
        return format!(
            "{what}: {} and {}: the inner sizes must agree ({b} ≠ {c}){advice}\n(ndarray: {})",
            show(&left, a, b),
            show(&right, c, d),
            message.trim_start_matches("ndarray: "),
        );
    }
    if message.contains("IncompatibleShape")
        || message.contains("incompatible shapes")
        || message.contains("could not broadcast")
    {
        let what = broadcast.unwrap_or(
            "Two arrays combine entry by entry (+, −, *, /) when their shapes are equal, or when one is a \
             column (n, 1) or a row (1, m) of the other's size.",
        );
        return format!(
            "two arrays combined entry by entry (+, −, *, /) have shapes that do not broadcast. {what}\n\
             (ndarray: {message})"
        );
    }
    message.to_string()
}

/// Enough decimals to see where `got` and `expected` part: at least 6, and 2 past the first
/// digit of their difference.
pub(crate) fn decimals(expected: f64, got: f64) -> usize {
    let difference = (expected - got).abs();
    if difference > 0.0 && difference.is_finite() {
        ((-difference.log10()).ceil() as i64 + 1).clamp(6, 17) as usize
    } else {
        6
    }
}

/// "is 0.0207990000001, expected 0.0207990000000 (difference 1.0e-13)".
pub(crate) fn differ(expected: f64, got: f64) -> String {
    let n = decimals(expected, got);
    format!("is {got:.n$}, expected {expected:.n$} (difference {:.1e})", got - expected)
}

/// Whether two numbers agree within [`TOLERANCE`]; NaN agrees with NaN and an infinity
/// with itself, so that an unstable formula's result can be recognised.
pub(crate) fn close(expected: f64, got: f64) -> bool {
    close_within(expected, got, TOLERANCE)
}

/// [`close`] with another tolerance.
pub(crate) fn close_within(expected: f64, got: f64, tolerance: f64) -> bool {
    if !expected.is_finite() || !got.is_finite() {
        return expected.to_bits() == got.to_bits() || (expected.is_nan() && got.is_nan());
    }
    (expected - got).abs() <= tolerance * expected.abs().max(1.0)
}

/// Whether two arrays have one shape and agree entry by entry.
pub(crate) fn same(expected: ArrayView2<f64>, got: ArrayView2<f64>) -> bool {
    same_within(expected, got, TOLERANCE)
}

fn same_within(expected: ArrayView2<f64>, got: ArrayView2<f64>, tolerance: f64) -> bool {
    expected.dim() == got.dim()
        && expected.iter().zip(got.iter()).all(|(&e, &g)| close_within(e, g, tolerance))
}

/// "(3, 5)".
pub(crate) fn shape(a: ArrayView2<f64>) -> String {
    format!("({}, {})", a.nrows(), a.ncols())
}

fn print(a: ArrayView2<f64>) -> String {
    format!("{a:.6}")
}

/// A planted mistake of a grader: a typical wrong implementation of the learner's function
/// (`F` is the grader's argument type, e.g. [`LinearForward`](crate::LinearForward)), and what
/// the grader says when the learner's result is this implementation's result on the same
/// inputs. A grader's mistakes stand in one table, `const ...: &[Mistake<F>]`, next to it; one
/// test runs every table (the reference passes, each entry fails with its own hint).
///
/// Where a function returns several arrays (or one per layer) and the grader compares them
/// one by one, an entry makes its mistake in one of them and gets the others right, so that
/// the hint is recognised in whichever array a learner first goes wrong.
pub(crate) struct Mistake<F> {
    /// A short name, for the test's messages.
    #[cfg_attr(not(test), allow(dead_code, reason = "read by the tests of the tables"))]
    pub(crate) name: &'static str,
    /// The hint shown to the learner.
    pub(crate) hint: &'static str,
    /// The wrong implementation.
    pub(crate) wrong: F,
}

/// The result of every mistake of `table` on one case (`run` calls an implementation with
/// the case's inputs), with its hint, in the table's order. A wrong implementation may panic:
/// it is run through [`attempt`], and one that panics on the case has no result there.
pub(crate) fn run_mistakes<F: Copy, T>(table: &[Mistake<F>], run: impl Fn(F) -> T) -> Vec<(T, &'static str)> {
    table
        .iter()
        .filter_map(|m| match attempt(|| run(m.wrong)) {
            Attempt::Done(result) => Some((result, m.hint)),
            _ => None,
        })
        .collect()
}

/// One array of each result of [`run_mistakes`] (one of a tuple, one layer's), with its hint:
/// what [`compare`] recognises the same array of a learner's result by.
pub(crate) fn parts<'a, T>(
    results: &'a [(T, &'static str)],
    part: impl Fn(&'a T) -> Option<&'a Array2<f64>>,
) -> Vec<(ArrayView2<'a, f64>, &'static str)> {
    results.iter().filter_map(|(r, hint)| part(r).map(|a| (a.view(), *hint))).collect()
}

/// The hint of the first result of [`run_mistakes`] that `matches` the learner's.
pub(crate) fn hint_of<T>(
    results: &[(T, &'static str)],
    matches: impl Fn(&T) -> bool,
) -> Option<&'static str> {
    results.iter().find(|(r, _)| matches(r)).map(|(_, hint)| *hint)
}

/// Compares an array result with the reference. A result equal to one of the `mistakes`
/// (the result of a typical wrong implementation) gets that mistake's hint.
pub(crate) fn compare(
    expected: ArrayView2<f64>,
    got: ArrayView2<f64>,
    mistakes: &[(ArrayView2<f64>, &str)],
) -> Result<(), Wrong> {
    compare_within(expected, got, mistakes, TOLERANCE)
}

/// A layer's gradients (dW, db, dA_prev).
pub(crate) type LayerGrads = (Array2<f64>, Array2<f64>, Array2<f64>);

/// The gradients of a layer, (dW, db, dA_prev), compared one after the other with the
/// expected ones; a mismatch names the array, and `wrong` holds the planted mistakes'
/// gradients for the hints.
pub(crate) fn compare_gradients(
    (dw, db, da): (&Array2<f64>, &Array2<f64>, &Array2<f64>),
    (gdw, gdb, gda): LayerGrads,
    wrong: &[(LayerGrads, &'static str)],
) -> Result<(), Wrong> {
    let name = |w: Wrong, what: &str| crate::forward::prefix(w, what);
    compare(dw.view(), gdw.view(), &parts(wrong, |r| Some(&r.0))).map_err(|w| name(w, "dW"))?;
    compare(db.view(), gdb.view(), &parts(wrong, |r| Some(&r.1))).map_err(|w| name(w, "db"))?;
    compare(da.view(), gda.view(), &parts(wrong, |r| Some(&r.2))).map_err(|w| name(w, "dA_prev"))
}

/// [`compare`] with another tolerance (finite differences carry the rounding of J, about
/// 1e-16 / ε relative).
pub(crate) fn compare_within(
    expected: ArrayView2<f64>,
    got: ArrayView2<f64>,
    mistakes: &[(ArrayView2<f64>, &str)],
    tolerance: f64,
) -> Result<(), Wrong> {
    let close = |e: f64, g: f64| close_within(e, g, tolerance);
    if same_within(expected, got, tolerance) {
        return Ok(());
    }
    // A mistake made in another output leaves this one right: it cannot explain a wrong one.
    let hint = mistakes
        .iter()
        .filter(|(m, _)| !same_within(m.view(), expected, tolerance))
        .find(|(m, _)| same_within(m.view(), got, tolerance))
        .map(|(_, h)| h.to_string());
    let problem = if expected.dim() != got.dim() {
        format!("expected shape {}, got {}", shape(expected), shape(got))
    } else if let Some(((i, j), g)) = got.indexed_iter().find(|(_, g)| !g.is_finite()) {
        format!("entry ({i}, {j}) is {g}, expected {:.6}", expected[[i, j]])
    } else {
        let ((i, j), g) = got
            .indexed_iter()
            .find(|((i, j), g)| !close(expected[[*i, *j]], **g))
            .map(|(ij, g)| (ij, *g))
            .unwrap_or(((0, 0), f64::NAN));
        format!("entry ({i}, {j}) {}", differ(expected[[i, j]], g))
    };
    // A transposed shape is a property of the result, not of one wrong implementation (any
    // product in the wrong order gives it): no table can hold it.
    // A square result can be transposed too: then only its values tell.
    let transposed = (expected.dim() != got.dim() && got.dim() == (expected.ncols(), expected.nrows()))
        || (expected.dim() == got.dim()
            && expected.nrows() == expected.ncols()
            && same_within(expected.t(), got, tolerance));
    let hint = hint.or_else(|| {
        transposed.then(|| {
            "The shape is transposed: the order of a product decides its shape. | (p, q)·(q, r) is (p, r): \
             write the product so that its rows are the result's rows."
                .to_string()
        })
    });
    Err(Wrong { problem, hint, expected: print(expected), got: print(got) })
}

/// ∂J/∂X by central differences, (J(X + h e_ij) − J(X − h e_ij)) / 2h, entry by entry: what
/// the derive-it graders compare a learner's gradient with.
pub(crate) fn central_differences(j: impl Fn(&Array2<f64>) -> f64, x: &Array2<f64>, h: f64) -> Array2<f64> {
    Array2::from_shape_fn(x.dim(), |(r, c)| {
        let (mut up, mut down) = (x.clone(), x.clone());
        up[[r, c]] += h;
        down[[r, c]] -= h;
        (j(&up) - j(&down)) / (2.0 * h)
    })
}

/// Central differences and the exact gradient agree to about 1e-10 here (rounding of J over h,
/// and h²): a gradient from a right derivation is far inside this, a wrong one far outside.
pub(crate) const GRADIENT_CHECK_TOLERANCE: f64 = 1e-7;

/// Compares a learner's gradient with central differences (within
/// [`GRADIENT_CHECK_TOLERANCE`]): a mismatch lists the entries that disagree, so that the
/// learner sees where their derivation goes wrong (one row, one column, everywhere).
pub(crate) fn gradient_check(
    numeric: ArrayView2<f64>,
    got: ArrayView2<f64>,
    mistakes: &[(ArrayView2<f64>, &str)],
) -> Result<(), Wrong> {
    compare_within(numeric, got, mistakes, GRADIENT_CHECK_TOLERANCE).map_err(|mut w| {
        if numeric.dim() == got.dim() && got.iter().all(|g| g.is_finite()) {
            let bad: Vec<String> = numeric
                .indexed_iter()
                .filter(|((i, j), e)| !close_within(**e, got[[*i, *j]], GRADIENT_CHECK_TOLERANCE))
                .map(|((i, j), e)| format!("({i}, {j}) yours {:.6}, numerical {e:.6}", got[[i, j]]))
                .collect();
            let shown: Vec<&str> = bad.iter().take(4).map(String::as_str).collect();
            w.problem = format!(
                "{} of {} entries disagree with the central differences: {}{}",
                bad.len(),
                numeric.len(),
                shown.join("; "),
                if bad.len() > shown.len() { "; ..." } else { "" }
            );
        }
        w
    })
}

/// Compares a number with the reference, like [`compare`].
pub(crate) fn compare_number(expected: f64, got: f64, mistakes: &[(f64, &str)]) -> Result<(), Wrong> {
    if close(expected, got) {
        return Ok(());
    }
    let hint = mistakes.iter().find(|(m, _)| close(*m, got)).map(|(_, h)| h.to_string());
    let n = decimals(expected, got).max(10);
    Err(Wrong {
        problem: format!("the result {}", differ(expected, got)),
        hint,
        expected: format!("{expected:.n$}"),
        got: format!("{got:.n$}"),
    })
}

/// Entries uniform in [−scale, scale], from a seeded generator.
pub(crate) fn random(rows: usize, cols: usize, scale: f64, rng: &mut ChaCha8Rng) -> Array2<f64> {
    Array2::from_shape_simple_fn((rows, cols), || rng.random_range(-scale..scale))
}

/// The generator of a grader's random cases: the same cases at every run.
pub(crate) fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// What is wrong with one grader's table, as lines (none when all is right): the
    /// `reference` implementation must pass, and every planted mistake must fail with its
    /// own hint.
    pub(crate) fn check_table<F: Copy>(
        grader: impl Fn(F) -> Report,
        table: &[Mistake<F>],
        reference: F,
    ) -> Vec<String> {
        let mut problems = Vec::new();
        let report = grader(reference);
        if !report.is_passed() {
            problems.push(format!("the reference does not pass: {report}"));
        }
        for m in table {
            let report = grader(m.wrong);
            if report.hint() != Some(m.hint) {
                problems.push(format!(
                    "{} ({}): expected the hint \"{}\", got: {report}",
                    report.name, m.name, m.hint
                ));
            }
        }
        problems
    }

    #[test]
    fn a_failure_shows_enough_decimals_to_see_the_difference_and_the_difference() {
        let (expected, got) = (0.020799, 0.020799 + 3e-10);
        let text = differ(expected, got);
        assert_eq!(text, "is 0.02079900030, expected 0.02079900000 (difference 3.0e-10)");
        let w = compare(ndarray::array![[expected]].view(), ndarray::array![[got]].view(), &[]).unwrap_err();
        assert!(
            w.problem.contains("0.02079900030") && w.problem.contains("difference 3.0e-10"),
            "{}",
            w.problem
        );
        let w = compare_number(expected, got, &[]).unwrap_err();
        assert!(w.problem.contains("difference 3.0e-10"), "{}", w.problem);
    }

    #[test]
    fn a_panic_of_ndarray_is_told_with_the_case_s_names() {
        let names = vec![("W", (4, 3)), ("A_prev", (5, 3))];
        let products = [("Z = W·A_prev", "W", "A_prev")];
        let message = "ndarray: inputs 4 × 3 and 5 × 3 are not compatible for matrix multiplication";
        let text = translate(message, &names, &products, None);
        assert!(
            text.starts_with("in the matrix product W·A_prev: W is (4, 3) and A_prev is (5, 3): the inner sizes must agree (3 ≠ 5) — did you mean Z = W·A_prev?"),
            "{text}"
        );
        let text = translate(
            "ndarray: inputs 3 × 4 and 5 × 3 are not compatible for matrix multiplication",
            &names,
            &products,
            None,
        );
        assert!(text.contains("Wᵀ·A_prev"), "{text}");
        let text = translate(
            "called `Result::unwrap()` on an `Err` value: ShapeError/IncompatibleShape: incompatible shapes",
            &names,
            &products,
            Some("b is a column."),
        );
        assert!(text.contains("do not broadcast. b is a column."), "{text}");
        assert_eq!(translate("index out of bounds", &names, &products, None), "index out of bounds");
    }

    /// The one test of every grader's planted mistakes: each file lists its graders, with a
    /// reference implementation and the grader's table, in `tests::tables()`.
    #[test]
    fn every_grader_passes_its_reference_and_names_each_planted_mistake() {
        let problems = [
            crate::forward::tests::tables(),
            crate::backward::tests::tables(),
            crate::gradcheck::tests::tables(),
            crate::autograd::tests::tables(),
            crate::training::tests::tables(),
            crate::optimizers::tests::tables(),
            crate::dropout::tests::tables(),
            crate::batch_norm::tests::tables(),
            crate::conv::tests::tables(),
        ]
        .concat();
        assert!(problems.is_empty(), "{}", problems.join("\n\n"));
    }
}
