//! Exercise 6, inverted dropout: the forward step with the mask D and 1/keep_prob, the
//! backward step with the same mask, and a layer that knows training from evaluation.

use crate::grade::{Grader, attempt, compare, random, rng, shape};
use crate::report::Report;
use ann_core::dropout::draw_mask;
use ndarray::{Array2, ArrayView2};

/// `fn dropout_forward(a, d, keep_prob) -> A ⊙ D / keep_prob`.
pub type DropoutForward = fn(ArrayView2<f64>, ArrayView2<f64>, f64) -> Array2<f64>;
/// `fn dropout_backward(da, d, keep_prob) -> dA ⊙ D / keep_prob`.
pub type DropoutBackward = fn(ArrayView2<f64>, ArrayView2<f64>, f64) -> Array2<f64>;
/// `fn dropout_layer(a, d, keep_prob, training) -> A[l] as the next layer sees it`.
pub type DropoutLayer = fn(ArrayView2<f64>, ArrayView2<f64>, f64, bool) -> Array2<f64>;

/// (A, D, keep_prob) cases: masks drawn as `ann_core` draws them.
fn cases() -> Vec<(Array2<f64>, Array2<f64>, f64)> {
    let mut r = rng(61);
    [(3, 4, 0.8), (5, 6, 0.5), (2, 9, 0.9)]
        .iter()
        .map(|&(n, m, keep)| {
            let a = random(n, m, 2.0, &mut r).mapv(f64::abs);
            (a, draw_mask(n, m, keep, &mut r), keep)
        })
        .collect()
}

fn grade(
    name: &'static str,
    mode: &str,
    run: impl Fn(ArrayView2<f64>, ArrayView2<f64>, f64) -> Array2<f64>,
    expected_of: impl Fn(&Array2<f64>, &Array2<f64>, f64) -> Array2<f64>,
    mistakes: impl Fn(&Array2<f64>, &Array2<f64>, f64) -> Vec<(Array2<f64>, &'static str)>,
) -> Report {
    let cases = cases();
    let mut g = Grader::new(name, cases.len());
    for (a, d, keep) in &cases {
        let expected = expected_of(a, d, *keep);
        let wrong = mistakes(a, d, *keep);
        let inputs = || {
            format!(
                "{mode}{} {}, D {}, keep_prob {keep}",
                if name.contains("backward") { "dA" } else { "A" },
                shape(a.view()),
                shape(d.view())
            )
        };
        let result = attempt(|| run(a.view(), d.view(), *keep));
        if let Err(report) = g.case(inputs, result, |got| compare(expected.view(), got.view(), &wrong)) {
            return report;
        }
    }
    g.finish()
}

/// Checks A ⊙ D / keep_prob.
pub fn dropout_forward(f: DropoutForward) -> Report {
    grade(
        "dropout_forward",
        "",
        f,
        |a, d, k| a * d / k,
        |a, d, k| {
            vec![
                (
                    a * d,
                    "Scale the survivors by 1/keep_prob, so that E[A] stays the same (inverted dropout).",
                ),
                (a * d * k, "Divide by keep_prob (the survivors are scaled up), not multiply."),
                (a * &(1.0 - d) / k, "D = 1 marks the units kept: A ⊙ D, not A ⊙ (1 − D)."),
            ]
        },
    )
}

/// Checks dA ⊙ D / keep_prob: the units dropped in the forward pass get no gradient.
pub fn dropout_backward(f: DropoutBackward) -> Report {
    grade(
        "dropout_backward",
        "",
        f,
        |da, d, k| da * d / k,
        |da, d, k| {
            vec![
                (
                    da.clone(),
                    "The dropped units passed nothing forward, so they get no gradient: dA ⊙ D / keep_prob.",
                ),
                (da * d, "The forward pass divided by keep_prob; the backward pass must too."),
                (da / k, "Apply the same mask D as in the forward pass."),
            ]
        },
    )
}

/// Checks training mode (A ⊙ D / keep_prob) and evaluation mode (A unchanged).
pub fn dropout_layer(f: DropoutLayer) -> Report {
    let train = grade(
        "dropout_layer",
        "training, ",
        |a, d, k| f(a, d, k, true),
        |a, d, k| a * d / k,
        |a, d, _| {
            vec![
                (a.clone(), "In training (training = true) the mask applies: A ⊙ D / keep_prob."),
                (a * d, "Scale by 1/keep_prob in training."),
            ]
        },
    );
    if !train.is_passed() {
        return train;
    }
    let eval = grade(
        "dropout_layer",
        "evaluation, ",
        |a, d, k| f(a, d, k, false),
        |a, _, _| a.clone(),
        |a, d, k| {
            vec![
                (a * d / k, "At evaluation (training = false) no unit is dropped: return A as it is."),
                (
                    a * k,
                    "Inverted dropout needs no rescaling at test time: the 1/keep_prob in training already keeps E[A].",
                ),
                (a / k, "At evaluation return A unchanged: no 1/keep_prob, no mask."),
            ]
        },
    );
    if !eval.is_passed() {
        return eval;
    }
    Report {
        name: "dropout_layer",
        passed: train.passed + eval.passed,
        total: train.total + eval.total,
        outcome: crate::Outcome::Passed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fwd_ok(a: ArrayView2<f64>, d: ArrayView2<f64>, k: f64) -> Array2<f64> {
        &a * &d / k
    }
    fn fwd_unscaled(a: ArrayView2<f64>, d: ArrayView2<f64>, _k: f64) -> Array2<f64> {
        &a * &d
    }
    fn fwd_times(a: ArrayView2<f64>, d: ArrayView2<f64>, k: f64) -> Array2<f64> {
        &a * &d * k
    }
    fn fwd_inverted(a: ArrayView2<f64>, d: ArrayView2<f64>, k: f64) -> Array2<f64> {
        &a * &(1.0 - &d) / k
    }

    #[test]
    fn dropout_forward_grader() {
        assert!(dropout_forward(fwd_ok).is_passed());
        assert!(dropout_forward(fwd_unscaled).hint().unwrap().contains("1/keep_prob"));
        assert!(dropout_forward(fwd_times).hint().unwrap().contains("not multiply"));
        assert!(dropout_forward(fwd_inverted).hint().unwrap().contains("1 − D"));
    }

    fn bwd_unmasked(da: ArrayView2<f64>, _d: ArrayView2<f64>, _k: f64) -> Array2<f64> {
        da.to_owned()
    }
    fn bwd_unscaled(da: ArrayView2<f64>, d: ArrayView2<f64>, _k: f64) -> Array2<f64> {
        &da * &d
    }
    fn bwd_no_mask(da: ArrayView2<f64>, _d: ArrayView2<f64>, k: f64) -> Array2<f64> {
        &da / k
    }

    #[test]
    fn dropout_backward_grader() {
        assert!(dropout_backward(fwd_ok).is_passed());
        assert!(dropout_backward(bwd_unmasked).hint().unwrap().contains("no gradient"));
        assert!(dropout_backward(bwd_unscaled).hint().unwrap().contains("must too"));
        assert!(dropout_backward(bwd_no_mask).hint().unwrap().contains("same mask"));
    }

    fn layer_ok(a: ArrayView2<f64>, d: ArrayView2<f64>, k: f64, training: bool) -> Array2<f64> {
        if training { &a * &d / k } else { a.to_owned() }
    }
    fn layer_always(a: ArrayView2<f64>, d: ArrayView2<f64>, k: f64, _training: bool) -> Array2<f64> {
        &a * &d / k
    }
    fn layer_scaled_eval(a: ArrayView2<f64>, d: ArrayView2<f64>, k: f64, training: bool) -> Array2<f64> {
        if training { &a * &d / k } else { &a * k }
    }
    fn layer_divided_eval(a: ArrayView2<f64>, d: ArrayView2<f64>, k: f64, training: bool) -> Array2<f64> {
        if training { &a * &d / k } else { &a / k }
    }
    fn layer_never(a: ArrayView2<f64>, _d: ArrayView2<f64>, _k: f64, _training: bool) -> Array2<f64> {
        a.to_owned()
    }

    #[test]
    fn dropout_layer_grader() {
        let r = dropout_layer(layer_ok);
        assert!(r.is_passed() && r.total == 6, "{r}");
        assert!(dropout_layer(layer_always).hint().unwrap().contains("no unit is dropped"));
        assert!(dropout_layer(layer_scaled_eval).hint().unwrap().contains("no rescaling"));
        assert!(dropout_layer(layer_divided_eval).hint().unwrap().contains("unchanged"));
        assert!(dropout_layer(layer_never).hint().unwrap().contains("mask applies"));
    }
}
