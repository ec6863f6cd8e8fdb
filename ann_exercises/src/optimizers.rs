//! Exercise 5, optimizers: Momentum, RMSProp and Adam with bias correction, one step at a
//! time on an array, and Adam's step count over several epochs.

use crate::grade::{Grader, Mistake, attempt, compare, hint_of, random, rng, run_mistakes, shape};
use crate::report::Report;
use ann_core::{
    Activation, AdamConfig, Gradients, Layer, Loss, MomentumConfig, Network, Optimizer, OptimizerConfig,
    RmsPropConfig,
};
use ndarray::{Array2, ArrayView2};

/// `fn momentum_step(w, m, dw, lr, beta)`: updates m (the velocity) and W in place.
pub type MomentumStep = fn(&mut Array2<f64>, &mut Array2<f64>, ArrayView2<f64>, f64, f64);
/// `fn rmsprop_step(w, v, dw, lr, beta, eps)`: updates v and W in place.
pub type RmsPropStep = fn(&mut Array2<f64>, &mut Array2<f64>, ArrayView2<f64>, f64, f64, f64);
/// `fn adam_step(w, m, v, dw, t, lr, beta1, beta2, eps)`: updates m, v and W in place; t is
/// the number of this step (1 for the first).
pub type AdamStep =
    fn(&mut Array2<f64>, &mut Array2<f64>, &mut Array2<f64>, ArrayView2<f64>, u64, f64, f64, f64, f64);
/// `fn adam_epochs(w, epochs, steps_per_epoch, gradient, lr) -> W after training`: Adam over
/// several epochs, with your `adam_step`, `gradient(W)` giving dW.
pub type AdamEpochs =
    fn(ArrayView2<f64>, usize, usize, fn(ArrayView2<f64>) -> Array2<f64>, f64) -> Array2<f64>;

/// W and the gradient of every step of a case.
struct Steps {
    w: Array2<f64>,
    grads: Vec<Array2<f64>>,
}

/// The cases: small gradients first (|dW| ≤ 1e-3, where √v is near ε, so that where ε goes
/// shows), then larger ones.
fn cases(seed: u64) -> Vec<Steps> {
    let mut r = rng(seed);
    [(2, 3, 4, 1e-3), (1, 2, 3, 2.0), (3, 4, 5, 2.0), (2, 5, 8, 2.0)]
        .iter()
        .map(|&(n, k, steps, scale)| Steps {
            w: random(n, k, 1.0, &mut r),
            grads: (0..steps).map(|_| random(n, k, scale, &mut r)).collect(),
        })
        .collect()
}

/// The crate's optimizer run on one W (as a one-layer network): W after each step.
fn reference(config: OptimizerConfig, w: &Array2<f64>, grads: &[Array2<f64>]) -> Vec<Array2<f64>> {
    let layer = Layer::new(w.clone(), Array2::zeros((w.nrows(), 1)), Activation::Linear);
    let (Ok(mut net), Ok(mut opt)) =
        (Network::from_layers(vec![layer], Loss::MeanSquaredError), Optimizer::new(config))
    else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for dw in grads {
        let g = Gradients::from_layers(vec![(dw.clone(), Array2::zeros((w.nrows(), 1)))]);
        if opt.step(&mut net, &g).is_err() {
            break;
        }
        out.push(net.layers()[0].w.clone());
    }
    out
}

/// Runs the learner's step function over a case's steps: W after each step.
fn run_steps(
    case: &Steps,
    mut step: impl FnMut(&mut Array2<f64>, &mut Array2<f64>, &mut Array2<f64>, ArrayView2<f64>, u64),
) -> Vec<Array2<f64>> {
    let (mut w, mut s1, mut s2) = (case.w.clone(), Array2::zeros(case.w.dim()), Array2::zeros(case.w.dim()));
    case.grads
        .iter()
        .enumerate()
        .map(|(t, dw)| {
            step(&mut w, &mut s1, &mut s2, dw.view(), t as u64 + 1);
            w.clone()
        })
        .collect()
}

/// Grades a step function `f` over each case's steps against the crate's optimizer
/// (`config`); `run` runs a step function over a case: W after each step.
fn grade_steps<F: Copy>(
    name: &'static str,
    seed: u64,
    config: OptimizerConfig,
    f: F,
    table: &[Mistake<F>],
    run: impl Fn(F, &Steps) -> Vec<Array2<f64>>,
) -> Report {
    let cases = cases(seed);
    let mut g = Grader::new(name, cases.len());
    for case in &cases {
        let expected = reference(config, &case.w, &case.grads);
        let wrong = run_mistakes(table, |f| run(f, case));
        let inputs = || format!("W {}, {} steps", shape(case.w.view()), case.grads.len());
        let check = |got: Vec<Array2<f64>>| {
            // A mistake is recognised by its whole trajectory: several mistakes agree at step 1.
            let hint = hint_of(&wrong, |run| {
                run.len() == got.len()
                    && run.iter().zip(&got).all(|(a, b)| crate::grade::same(a.view(), b.view()))
            });
            for (t, (e, w)) in expected.iter().zip(&got).enumerate() {
                compare(e.view(), w.view(), &[]).map_err(|mut wrong| {
                    wrong.problem = format!("W after step {}: {}", t + 1, wrong.problem);
                    // NaN has few causes in these steps: say so when no planted mistake matches.
                    let nan = w.iter().any(|v| v.is_nan()).then_some(NAN);
                    wrong.hint = hint.or(nan).map(str::to_string).or(wrong.hint);
                    wrong
                })?;
            }
            Ok(())
        };
        if let Err(report) = g.case(inputs, attempt(|| run(f, case)), check) {
            return report;
        }
    }
    g.finish()
}

/// What NaN in W means in an optimizer's step.
const NAN: &str = "NaN comes from the square root of a negative number (or 0/0): what is under the root must \
    never be negative. | v averages the squares dW², entry by entry, so v ≥ 0 and √v + ε > 0.";

const LR: f64 = 0.05;
const BETA: f64 = 0.9;
const EPS: f64 = 1e-8;

/// [`momentum_step`]'s planted mistakes.
const MOMENTUM_STEP: &[Mistake<MomentumStep>] = &[
    Mistake {
        name: "no 1 − β",
        hint: "m is a weighted average of the gradients: its weights must add up to 1. | m = β m + (1 − β) dW.",
        wrong: |w, m, dw, lr, beta| {
            *m = beta * &*m + dw;
            *w -= &(lr * &*m);
        },
    },
    Mistake {
        name: "plain gradient descent",
        hint: "That is plain gradient descent: the step must follow the velocity m, the average of the gradients. | m = β m + (1 − β) dW, then W ← W − α m.",
        wrong: |w, _, dw, lr, _| *w -= &(lr * &dw),
    },
    Mistake {
        name: "W before m",
        hint: "The step uses the velocity of this step, updated with this step's gradient. | Update m first, then W ← W − α m with the new m.",
        wrong: |w, m, dw, lr, beta| {
            *w -= &(lr * &*m);
            *m = beta * &*m + (1.0 - beta) * &dw;
        },
    },
];

/// Checks m = β m + (1 − β) dW, W ← W − α m over several steps.
pub fn momentum_step(f: MomentumStep) -> Report {
    let config = MomentumConfig { lr: LR, beta: BETA }.into();
    grade_steps("momentum_step", 51, config, f, MOMENTUM_STEP, |f, c| {
        run_steps(c, |w, m, _, dw, _| f(w, m, dw, LR, BETA))
    })
}

/// [`rmsprop_step`]'s planted mistakes.
const RMSPROP_STEP: &[Mistake<RmsPropStep>] = &[
    Mistake {
        name: "dW not squared",
        hint: "v averages the squared gradients; the gradients themselves can be negative, and the square root of a \
               negative number is NaN. | v = β v + (1 − β) dW², entry by entry.",
        wrong: |w, v, dw, lr, beta, eps| {
            *v = beta * &*v + (1.0 - beta) * &dw;
            *w -= &(lr * &dw / &v.mapv(|x| x.sqrt() + eps));
        },
    },
    Mistake {
        name: "ε under the root",
        hint: "ε keeps the division finite; it is added to the root, not under it. | W ← W − α dW / (√v + ε).",
        wrong: |w, v, dw, lr, beta, eps| {
            *v = beta * &*v + (1.0 - beta) * &dw.mapv(|d| d * d);
            *w -= &(lr * &dw / &v.mapv(|x| (x + eps).sqrt()));
        },
    },
    Mistake {
        name: "no root",
        hint: "v is an average of squared gradients: the step divides by its square root, which has the gradient's units. | W ← W − α dW / (√v + ε).",
        wrong: |w, v, dw, lr, beta, eps| {
            *v = beta * &*v + (1.0 - beta) * &dw.mapv(|d| d * d);
            *w -= &(lr * &dw / &v.mapv(|x| x + eps));
        },
    },
    Mistake {
        name: "no dW in the step",
        hint: "The step is still along the gradient: dW, scaled down where the gradients have been large. | W ← W − α dW / (√v + ε).",
        wrong: |w, v, dw, lr, beta, eps| {
            *v = beta * &*v + (1.0 - beta) * &dw.mapv(|d| d * d);
            *w -= &(lr * &v.mapv(|x| x.sqrt() + eps));
        },
    },
];

/// Checks v = β v + (1 − β) dW², W ← W − α dW / (√v + ε) over several steps.
pub fn rmsprop_step(f: RmsPropStep) -> Report {
    let config = RmsPropConfig { lr: LR, beta: BETA, eps: EPS }.into();
    grade_steps("rmsprop_step", 52, config, f, RMSPROP_STEP, |f, c| {
        run_steps(c, |w, _, v, dw, _| f(w, v, dw, LR, BETA, EPS))
    })
}

const B1: f64 = 0.9;
const B2: f64 = 0.999;

/// Adam's step t with the graders' α, β1, β2 and ε: right, or without the bias correction
/// (`correct` false), or with dW in place of dW² in v (`squared` false).
#[allow(clippy::too_many_arguments)] // a step's state, and the variant's three switches
fn adam_variant(
    w: &mut Array2<f64>,
    m: &mut Array2<f64>,
    v: &mut Array2<f64>,
    dw: ArrayView2<f64>,
    t: u64,
    correct: bool,
    squared: bool,
    eps_inside: bool,
) {
    *m = B1 * &*m + (1.0 - B1) * &dw;
    *v = B2 * &*v + (1.0 - B2) * &dw.mapv(|d| if squared { d * d } else { d });
    let t = t as i32;
    let (c1, c2) = if correct { (1.0 - B1.powi(t), 1.0 - B2.powi(t)) } else { (1.0, 1.0) };
    let root = |x: f64| if eps_inside { (x + EPS).sqrt() } else { x.sqrt() + EPS };
    let step = (&*m / c1) / &(&*v / c2).mapv(root);
    *w -= &(LR * &step);
}

/// [`adam_step`]'s planted mistakes (the grader passes α = LR, β1 = B1, β2 = B2, ε = EPS).
const ADAM_STEP: &[Mistake<AdamStep>] = &[
    Mistake {
        name: "no bias correction",
        hint: "The moments start at 0 and are biased towards 0 in the first steps: they need the bias correction. | m̂ = m / (1 − β1^t), v̂ = v / (1 − β2^t).",
        wrong: |w, m, v, dw, _, _, _, _, _| adam_variant(w, m, v, dw, 1, false, true, false),
    },
    Mistake {
        name: "t = 1 every step",
        hint: "The bias correction depends on how many steps have been taken. | t = 1, 2, 3, ... in 1 − β^t, not 1 every time.",
        wrong: |w, m, v, dw, _, _, _, _, _| adam_variant(w, m, v, dw, 1, true, true, false),
    },
    Mistake {
        name: "dW not squared",
        hint: "v averages the squared gradients (the second moment); without the square it goes negative, and its root is NaN. | v = β2 v + (1 − β2) dW².",
        wrong: |w, m, v, dw, t, _, _, _, _| adam_variant(w, m, v, dw, t, true, false, false),
    },
    Mistake {
        name: "ε under the root",
        hint: "ε keeps the division finite; it is added to the root, not under it. | W ← W − α m̂ / (√v̂ + ε), not \
               α m̂ / √(v̂ + ε).",
        wrong: |w, m, v, dw, t, _, _, _, _| adam_variant(w, m, v, dw, t, true, true, true),
    },
];

/// Checks Adam with bias correction (t = 1, 2, ... counts the steps) over several steps.
pub fn adam_step(f: AdamStep) -> Report {
    let config = AdamConfig { lr: LR, beta1: B1, beta2: B2, eps: EPS }.into();
    grade_steps("adam_step", 53, config, f, ADAM_STEP, |f, c| {
        run_steps(c, |w, m, v, dw, t| f(w, m, v, dw, t, LR, B1, B2, EPS))
    })
}

/// dW of J = ½‖W − 1‖² (a bowl with its minimum at W = 1).
fn bowl(w: ArrayView2<f64>) -> Array2<f64> {
    w.mapv(|v| v - 1.0)
}

/// Adam (the graders' α, β1, β2, ε) on `gradient` from W0, `epochs` epochs of `steps` steps,
/// step s of epoch e counted as t = `t_of(e, s)`.
fn adam_run(
    w0: ArrayView2<f64>,
    epochs: usize,
    steps: usize,
    gradient: fn(ArrayView2<f64>) -> Array2<f64>,
    t_of: impl Fn(usize, usize) -> usize,
) -> Array2<f64> {
    let (mut w, mut m, mut v) = (w0.to_owned(), Array2::zeros(w0.dim()), Array2::zeros(w0.dim()));
    for e in 0..epochs {
        for s in 0..steps {
            let dw = gradient(w.view());
            adam_variant(&mut w, &mut m, &mut v, dw.view(), t_of(e, s) as u64, true, true, false);
        }
    }
    w
}

/// [`adam_epochs`]'s planted mistakes (the grader passes α = LR).
const ADAM_EPOCHS: &[Mistake<AdamEpochs>] = &[
    Mistake {
        name: "t counts epochs",
        hint: "t counts the optimizer's steps, not the epochs. | t = 1, 2, 3, ... over every step since the start, across epochs.",
        wrong: |w0, epochs, steps, gradient, _| adam_run(w0, epochs, steps, gradient, |e, _| e + 1),
    },
    Mistake {
        name: "t restarts every epoch",
        hint: "The moments are not reset at an epoch, so neither is t. | t counts all the steps so far, across epochs.",
        wrong: |w0, epochs, steps, gradient, _| adam_run(w0, epochs, steps, gradient, |_, s| s + 1),
    },
    Mistake {
        name: "t from 0",
        hint: "The first step is step 1: with t = 0 the bias correction divides by 0. | t = 1 at the first step: 1 − β^1 = 1 − β.",
        wrong: |w0, epochs, steps, gradient, _| adam_run(w0, epochs, steps, gradient, |e, s| e * steps + s),
    },
];

/// Checks Adam over epochs: t counts every step since the start, not the epochs.
pub fn adam_epochs(f: AdamEpochs) -> Report {
    let mut r = rng(54);
    let cases = [(random(2, 3, 2.0, &mut r), 3, 4), (random(1, 4, 3.0, &mut r), 5, 2)];
    let mut g = Grader::new("adam_epochs", cases.len());
    for (w0, epochs, steps) in &cases {
        let layer = Layer::new(w0.clone(), Array2::zeros((w0.nrows(), 1)), Activation::Linear);
        let expected = {
            let (Ok(mut net), Ok(mut opt)) = (
                Network::from_layers(vec![layer], Loss::MeanSquaredError),
                Optimizer::new(AdamConfig { lr: LR, beta1: B1, beta2: B2, eps: EPS }),
            ) else {
                continue;
            };
            for _ in 0..epochs * steps {
                let dw = bowl(net.layers()[0].w.view());
                let g = Gradients::from_layers(vec![(dw, Array2::zeros((w0.nrows(), 1)))]);
                if opt.step(&mut net, &g).is_err() {
                    break;
                }
            }
            net.layers()[0].w.clone()
        };
        let call = |f: AdamEpochs| f(w0.view(), *epochs, *steps, bowl, LR);
        let inputs = || format!("W {}, {epochs} epochs of {steps} steps, α = {LR}", shape(w0.view()));
        if let Err(report) = g.array_case(inputs, expected.view(), ADAM_EPOCHS, call, f) {
            return report;
        }
    }
    g.finish()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::grade::tests::check_table;

    #[test]
    fn a_nan_in_w_is_explained_even_when_no_planted_mistake_matches() {
        // v = β v − (1 − β) dW²: negative, so √v is NaN, and no table entry is this.
        let r = rmsprop_step(|w, v, dw, lr, beta, eps| {
            *v = beta * &*v - (1.0 - beta) * &dw.mapv(|d| d * d);
            *w -= &(lr * &dw / &v.mapv(|x| x.sqrt() + eps));
        });
        assert!(r.hint() == Some(NAN) && r.to_string().contains("NaN"), "{r}");
    }

    /// This file's graders, each with a reference implementation and its planted mistakes.
    pub(crate) fn tables() -> Vec<String> {
        [
            check_table(momentum_step, MOMENTUM_STEP, |w, m, dw, lr, beta| {
                *m = beta * &*m + (1.0 - beta) * &dw;
                *w -= &(lr * &*m);
            }),
            check_table(rmsprop_step, RMSPROP_STEP, |w, v, dw, lr, beta, eps| {
                *v = beta * &*v + (1.0 - beta) * &dw.mapv(|d| d * d);
                *w -= &(lr * &dw / &v.mapv(|x| x.sqrt() + eps));
            }),
            check_table(adam_step, ADAM_STEP, |w, m, v, dw, t, lr, b1, b2, eps| {
                *m = b1 * &*m + (1.0 - b1) * &dw;
                *v = b2 * &*v + (1.0 - b2) * &dw.mapv(|d| d * d);
                let (mh, vh) = (&*m / (1.0 - b1.powi(t as i32)), &*v / (1.0 - b2.powi(t as i32)));
                *w -= &(lr * &mh / &vh.mapv(|x| x.sqrt() + eps));
            }),
            // t counts every step from 1.
            check_table(adam_epochs, ADAM_EPOCHS, |w0, epochs, steps, gradient, _| {
                adam_run(w0, epochs, steps, gradient, |e, s| e * steps + s + 1)
            }),
        ]
        .concat()
    }
}
