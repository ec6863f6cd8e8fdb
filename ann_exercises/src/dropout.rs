//! Exercise 6, inverted dropout: the forward step with the mask D and 1/keep_prob, the
//! backward step with the same mask, and a layer that knows training from evaluation.

use crate::forward::prefix;
use crate::grade::{
    Grader, Mistake, attempt, central_differences, gradient_check, parts, random, rng, run_mistakes, shape,
};
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

/// Grades `f` on the cases against `expected_of`; `call` runs an implementation on a case's
/// (A, D, keep_prob), in one mode ("training, ", "evaluation, " or "").
fn grade<F: Copy>(
    name: &'static str,
    mode: &str,
    f: F,
    table: &[Mistake<F>],
    call: impl Fn(F, ArrayView2<f64>, ArrayView2<f64>, f64) -> Array2<f64>,
    expected_of: impl Fn(&Array2<f64>, &Array2<f64>, f64) -> Array2<f64>,
) -> Report {
    let cases = cases();
    let mut g = Grader::new(name, cases.len());
    for (a, d, keep) in &cases {
        let expected = expected_of(a, d, *keep);
        let run = |f: F| call(f, a.view(), d.view(), *keep);
        let inputs = || {
            format!(
                "{mode}{} {}, D {}, keep_prob {keep}",
                if name.contains("backward") { "dA" } else { "A" },
                shape(a.view()),
                shape(d.view())
            )
        };
        g.explain(
            vec![(if name.contains("backward") { "dA" } else { "A" }, a.dim()), ("D", d.dim())],
            Some(format!(
                "A and D are both {}: the mask applies entry by entry (no matrix product).",
                shape(a.view())
            )),
        );
        if let Err(report) = g.array_case(inputs, expected.view(), table, run, f) {
            return report;
        }
    }
    g.finish()
}

/// [`dropout_forward`]'s planted mistakes.
const DROPOUT_FORWARD: &[Mistake<DropoutForward>] = &[
    Mistake {
        name: "not scaled",
        hint: "Dropping units lowers the layer's output on average: inverted dropout scales the survivors up to keep E[A] the same. | A ⊙ D / keep_prob.",
        wrong: |a, d, _| &a * &d,
    },
    Mistake {
        name: "times keep_prob",
        hint: "The survivors are scaled up, not down: E[A ⊙ D] = keep_prob · A must come back to A. | A ⊙ D / keep_prob.",
        wrong: |a, d, k| &a * &d * k,
    },
    Mistake {
        name: "mask inverted",
        hint: "D = 1 marks the units kept, not the ones dropped. | A ⊙ D / keep_prob, not A ⊙ (1 − D) / keep_prob.",
        wrong: |a, d, k| &a * &(1.0 - &d) / k,
    },
];

/// Checks A ⊙ D / keep_prob.
pub fn dropout_forward(f: DropoutForward) -> Report {
    grade("dropout_forward", "", f, DROPOUT_FORWARD, |f, a, d, k| f(a, d, k), |a, d, k| a * d / k)
}

/// [`dropout_backward`]'s planted mistakes.
const DROPOUT_BACKWARD: &[Mistake<DropoutBackward>] = &[
    Mistake {
        name: "no mask, not scaled",
        hint: "The dropped units passed nothing forward, so they get no gradient; and what the kept ones passed was scaled. | Derive ∂J/∂A from A_out = A ⊙ D / keep_prob, entry by entry.",
        wrong: |da, _, _| da.to_owned(),
    },
    Mistake {
        name: "not scaled",
        hint: "The forward step scaled each kept unit by a constant: its derivative carries the same constant. | ∂(a·d/k)/∂a = d/k.",
        wrong: |da, d, _| &da * &d,
    },
    Mistake {
        name: "no mask",
        hint: "A dropped unit's output does not depend on its input at all: its derivative is 0. | ∂(a·d/k)/∂a = d/k, and d = 0 for a dropped unit.",
        wrong: |da, _, k| &da / k,
    },
];

/// Step of the central differences: the forward step is linear in A, so they are exact up to
/// rounding.
const H: f64 = 1e-5;

/// Checks the backward step of inverted dropout, from the learner's own derivation, by a
/// gradient check: for J = Σ R ⊙ (A ⊙ D / keep_prob) the gradient ∂J/∂A is computed by central
/// differences, and the learner's `dropout_backward(R, D, keep_prob)` must equal it.
pub fn dropout_backward(f: DropoutBackward) -> Report {
    let cases = cases();
    let mut r = rng(62);
    let mut g = Grader::new("dropout_backward", cases.len());
    for (a, d, keep) in &cases {
        let upstream = random(a.nrows(), a.ncols(), 1.5, &mut r);
        let j = |a: &Array2<f64>| (&upstream * &(a * d / *keep)).sum();
        let numeric = central_differences(j, a, H);
        let run = |f: DropoutBackward| f(upstream.view(), d.view(), *keep);
        g.explain(
            vec![("dA", upstream.dim()), ("D", d.dim())],
            Some(format!(
                "dA and D are both {}: the step is entry by entry (no matrix product).",
                shape(d.view())
            )),
        );
        let wrong = run_mistakes(DROPOUT_BACKWARD, run);
        let inputs = || {
            format!(
                "gradient check, J = Σ R ⊙ (A ⊙ D / keep_prob) so dA_out = R, central differences with h = {H:e}: \
                 R {}, D {}, keep_prob {keep}",
                shape(upstream.view()),
                shape(d.view())
            )
        };
        let check = |got: Array2<f64>| {
            gradient_check(numeric.view(), got.view(), &parts(&wrong, Some)).map_err(|w| prefix(w, "dA"))
        };
        if let Err(report) = g.case(inputs, attempt(|| run(f)), check) {
            return report;
        }
    }
    g.finish()
}

/// [`dropout_layer`]'s planted mistakes, each in one mode (the other right).
const DROPOUT_LAYER: &[Mistake<DropoutLayer>] = &[
    Mistake {
        name: "no mask in training",
        hint: "In training (training = true) the units are dropped. | A ⊙ D / keep_prob.",
        wrong: |a, _, _, _| a.to_owned(),
    },
    Mistake {
        name: "not scaled in training",
        hint: "In training the kept units are scaled up so that E[A] stays the same. | A ⊙ D / keep_prob.",
        wrong: |a, d, _, training| if training { &a * &d } else { a.to_owned() },
    },
    Mistake {
        name: "mask at evaluation",
        hint: "At evaluation (training = false) the whole network runs: no unit is dropped. | Return A unchanged.",
        wrong: |a, d, k, _| &a * &d / k,
    },
    Mistake {
        name: "times keep_prob at evaluation",
        hint: "Inverted dropout needs no rescaling at evaluation: the 1/keep_prob in training already keeps E[A]. | Return A unchanged.",
        wrong: |a, d, k, training| if training { &a * &d / k } else { &a * k },
    },
    Mistake {
        name: "over keep_prob at evaluation",
        hint: "At evaluation nothing is dropped and nothing is scaled. | Return A unchanged: no 1/keep_prob, no mask.",
        wrong: |a, d, k, training| if training { &a * &d / k } else { &a / k },
    },
];

/// Checks training mode (A ⊙ D / keep_prob) and evaluation mode (A unchanged).
pub fn dropout_layer(f: DropoutLayer) -> Report {
    let train = grade(
        "dropout_layer",
        "training, ",
        f,
        DROPOUT_LAYER,
        |f, a, d, k| f(a, d, k, true),
        |a, d, k| a * d / k,
    );
    if !train.is_passed() {
        return train;
    }
    let eval = grade(
        "dropout_layer",
        "evaluation, ",
        f,
        DROPOUT_LAYER,
        |f, a, d, k| f(a, d, k, false),
        |a, _, _| a.clone(),
    );
    if !eval.is_passed() {
        return eval;
    }
    Report {
        name: "dropout_layer",
        passed: train.passed + eval.passed,
        total: train.total + eval.total,
        outcome: crate::Outcome::Passed,
        level: 1,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::grade::tests::check_table;

    fn fwd_ok(a: ArrayView2<f64>, d: ArrayView2<f64>, k: f64) -> Array2<f64> {
        &a * &d / k
    }
    fn layer_ok(a: ArrayView2<f64>, d: ArrayView2<f64>, k: f64, training: bool) -> Array2<f64> {
        if training { &a * &d / k } else { a.to_owned() }
    }

    /// This file's graders, each with a reference implementation and its planted mistakes.
    pub(crate) fn tables() -> Vec<String> {
        [
            check_table(dropout_forward, DROPOUT_FORWARD, fwd_ok),
            check_table(dropout_backward, DROPOUT_BACKWARD, fwd_ok),
            check_table(dropout_layer, DROPOUT_LAYER, layer_ok),
        ]
        .concat()
    }

    #[test]
    fn dropout_backward_is_a_gradient_check_that_lists_the_entries_that_disagree() {
        let r = dropout_backward(fwd_ok);
        assert!(r.is_passed() && r.total == 3, "{r}");
        // Scaled by keep_prob where the mask is 0 too: wrong exactly at the dropped units.
        let r = dropout_backward(|da, d, k| &da * &d / k + &(1.0 - &d) * &da);
        let text = r.to_string();
        assert!(
            text.contains("entries disagree with the central differences") && text.contains("yours"),
            "{text}"
        );
        assert!(text.contains("case 1 (gradient check"), "{text}");
    }

    #[test]
    fn a_matrix_product_in_dropout_is_told_with_the_names() {
        let text = dropout_forward(|a, d, k| a.dot(&d) / k).to_string();
        assert!(
            text.contains("in the matrix product (A or D)·(A or D)") && text.contains("no matrix product"),
            "{text}"
        );
    }

    #[test]
    fn dropout_layer_counts_the_cases_of_both_modes() {
        let r = dropout_layer(layer_ok);
        assert!(r.is_passed() && r.total == 6, "{r}");
    }
}
