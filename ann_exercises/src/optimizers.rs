//! Exercise 5, optimizers: Momentum, RMSProp and Adam with bias correction, one step at a
//! time on an array, and Adam's step count over several epochs.

use crate::grade::{Attempt, Grader, attempt, compare, random, rng, shape};
use crate::report::Report;
use ann_core::{
    Activation, AdamConfig, Gradients, Layer, LayerGrad, Loss, MomentumConfig, Network, Optimizer,
    OptimizerConfig, RmsPropConfig,
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

fn cases(seed: u64) -> Vec<Steps> {
    let mut r = rng(seed);
    [(1, 2, 3), (3, 4, 5), (2, 5, 8)]
        .iter()
        .map(|&(n, k, steps)| Steps {
            w: random(n, k, 1.0, &mut r),
            grads: (0..steps).map(|_| random(n, k, 2.0, &mut r)).collect(),
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
        let g = Gradients { layers: vec![LayerGrad::new(dw.clone(), Array2::zeros((w.nrows(), 1)))] };
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

/// One step of a wrong implementation: (W, s1, s2, dW, t).
type Step<'a> = &'a dyn Fn(&mut Array2<f64>, &mut Array2<f64>, &mut Array2<f64>, ArrayView2<f64>, u64);

fn grade_steps(
    name: &'static str,
    seed: u64,
    expected_of: impl Fn(&Steps) -> Vec<Array2<f64>>,
    learner: impl Fn(&Steps) -> Attempt<Vec<Array2<f64>>>,
    mistakes: &[(Step<'_>, &str)],
) -> Report {
    let cases = cases(seed);
    let mut g = Grader::new(name, cases.len());
    for case in &cases {
        let expected = expected_of(case);
        let wrong: Vec<Vec<Array2<f64>>> = mistakes.iter().map(|(f, _)| run_steps(case, f)).collect();
        let inputs = || format!("W {}, {} steps", shape(case.w.view()), case.grads.len());
        let check = |got: Vec<Array2<f64>>| {
            // A mistake is recognised by its whole trajectory: several mistakes agree at step 1.
            let same_run = |run: &Vec<Array2<f64>>| {
                run.len() == got.len()
                    && run.iter().zip(&got).all(|(a, b)| crate::grade::same(a.view(), b.view()))
            };
            let hint =
                wrong.iter().zip(mistakes).find(|(run, _)| same_run(run)).map(|(_, (_, h))| h.to_string());
            for (t, (e, w)) in expected.iter().zip(&got).enumerate() {
                compare(e.view(), w.view(), &[]).map_err(|mut w| {
                    w.problem = format!("W after step {}: {}", t + 1, w.problem);
                    w.hint = hint.clone().or(w.hint);
                    w
                })?;
            }
            Ok(())
        };
        if let Err(report) = g.case(inputs, learner(case), check) {
            return report;
        }
    }
    g.finish()
}

const LR: f64 = 0.05;
const BETA: f64 = 0.9;
const EPS: f64 = 1e-8;

/// Checks m = β m + (1 − β) dW, W ← W − α m over several steps.
pub fn momentum_step(f: MomentumStep) -> Report {
    let config = MomentumConfig { lr: LR, beta: BETA }.into();
    grade_steps(
        "momentum_step",
        51,
        |c| reference(config, &c.w, &c.grads),
        |c| attempt(|| run_steps(c, |w, m, _, dw, _| f(w, m, dw, LR, BETA))),
        &[
            (
                &|w, m, _, dw, _| {
                    *m = BETA * &*m + dw;
                    *w -= &(LR * &*m);
                },
                "The average is m = β m + (1 − β) dW: the (1 − β) is missing.",
            ),
            (
                &|w, _, _, dw, _| {
                    *w -= &(LR * &dw);
                },
                "That is plain gradient descent: update m first, then step along m.",
            ),
            (
                &|w, m, _, dw, _| {
                    *w -= &(LR * &*m);
                    *m = BETA * &*m + (1.0 - BETA) * &dw;
                },
                "Update m before W: W ← W − α m uses the new m.",
            ),
        ],
    )
}

/// Checks v = β v + (1 − β) dW², W ← W − α dW / (√v + ε) over several steps.
pub fn rmsprop_step(f: RmsPropStep) -> Report {
    let config = RmsPropConfig { lr: LR, beta: BETA, eps: EPS }.into();
    grade_steps(
        "rmsprop_step",
        52,
        |c| reference(config, &c.w, &c.grads),
        |c| attempt(|| run_steps(c, |w, _, v, dw, _| f(w, v, dw, LR, BETA, EPS))),
        &[
            (
                &|w, _, v, dw, _| {
                    *v = BETA * &*v + (1.0 - BETA) * &dw;
                    *w -= &(LR * &dw / &v.mapv(|x| x.abs().sqrt() + EPS));
                },
                "v averages the squared gradients: (1 − β) dW², entry by entry.",
            ),
            (
                &|w, _, v, dw, _| {
                    *v = BETA * &*v + (1.0 - BETA) * &dw.mapv(|d| d * d);
                    *w -= &(LR * &dw / &v.mapv(|x| x + EPS));
                },
                "Divide by the root: dW / (√v + ε).",
            ),
            (
                &|w, _, v, dw, _| {
                    *v = BETA * &*v + (1.0 - BETA) * &dw.mapv(|d| d * d);
                    *w -= &(LR * &v.mapv(|x| x.sqrt() + EPS));
                },
                "The step is α dW / (√v + ε): dW is divided by √v + ε.",
            ),
        ],
    )
}

const B1: f64 = 0.9;
const B2: f64 = 0.999;

fn adam_variant(
    w: &mut Array2<f64>,
    m: &mut Array2<f64>,
    v: &mut Array2<f64>,
    dw: ArrayView2<f64>,
    t: i32,
    correct: bool,
    squared: bool,
) {
    *m = B1 * &*m + (1.0 - B1) * &dw;
    *v = B2 * &*v + (1.0 - B2) * &dw.mapv(|d| if squared { d * d } else { d });
    let (c1, c2) = if correct { (1.0 - B1.powi(t), 1.0 - B2.powi(t)) } else { (1.0, 1.0) };
    let step = (&*m / c1) / &(&*v / c2).mapv(|x| x.abs().sqrt() + EPS);
    *w -= &(LR * &step);
}

/// Checks Adam with bias correction (t = 1, 2, ... counts the steps) over several steps.
pub fn adam_step(f: AdamStep) -> Report {
    let config = AdamConfig { lr: LR, beta1: B1, beta2: B2, eps: EPS }.into();
    grade_steps(
        "adam_step",
        53,
        |c| reference(config, &c.w, &c.grads),
        |c| attempt(|| run_steps(c, |w, m, v, dw, t| f(w, m, v, dw, t, LR, B1, B2, EPS))),
        &[
            (
                &|w, m, v, dw, _| adam_variant(w, m, v, dw, 1, false, true),
                "The bias correction is missing: m̂ = m / (1 − β1^t), v̂ = v / (1 − β2^t).",
            ),
            (
                &|w, m, v, dw, _| adam_variant(w, m, v, dw, 1, true, true),
                "t is the number of this step: 1, 2, 3, ..., not 1 every time.",
            ),
            (
                &|w, m, v, dw, t| adam_variant(w, m, v, dw, t as i32, true, false),
                "v averages the squared gradients: (1 − β2) dW².",
            ),
        ],
    )
}

/// dW of J = ½‖W − 1‖² (a bowl with its minimum at W = 1).
fn bowl(w: ArrayView2<f64>) -> Array2<f64> {
    w.mapv(|v| v - 1.0)
}

/// Checks Adam over epochs: t counts every step since the start, not the epochs.
pub fn adam_epochs(f: AdamEpochs) -> Report {
    let mut r = rng(54);
    let cases = [(random(2, 3, 2.0, &mut r), 3, 4), (random(1, 4, 3.0, &mut r), 5, 2)];
    let mut g = Grader::new("adam_epochs", cases.len());
    for (w0, epochs, steps) in &cases {
        let run = |t_of: &dyn Fn(usize, usize) -> i32| {
            let (mut w, mut m, mut v) = (w0.clone(), Array2::zeros(w0.dim()), Array2::zeros(w0.dim()));
            for e in 0..*epochs {
                for s in 0..*steps {
                    let dw = bowl(w.view());
                    adam_variant(&mut w, &mut m, &mut v, dw.view(), t_of(e, s), true, true);
                }
            }
            w
        };
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
                let g = Gradients { layers: vec![LayerGrad::new(dw, Array2::zeros((w0.nrows(), 1)))] };
                if opt.step(&mut net, &g).is_err() {
                    break;
                }
            }
            net.layers()[0].w.clone()
        };
        let steps_ = *steps;
        let mistakes = [
            (
                run(&|e, _| e as i32 + 1),
                "t counts optimizer steps since the start (1, 2, 3, ... across epochs), not epochs.",
            ),
            (
                run(&|_, s| s as i32 + 1),
                "t must not start again at every epoch: it counts all the steps so far.",
            ),
            (run(&move |e, s| (e * steps_ + s) as i32), "The first step is t = 1: with t = 0, 1 − β^t = 0."),
        ];
        let inputs = || format!("W {}, {epochs} epochs of {steps} steps, α = {LR}", shape(w0.view()));
        let result = attempt(|| f(w0.view(), *epochs, *steps, bowl, LR));
        let check = |got: Array2<f64>| compare(expected.view(), got.view(), &mistakes);
        if let Err(report) = g.case(inputs, result, check) {
            return report;
        }
    }
    g.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mom_ok(w: &mut Array2<f64>, m: &mut Array2<f64>, dw: ArrayView2<f64>, lr: f64, beta: f64) {
        *m = beta * &*m + (1.0 - beta) * &dw;
        *w -= &(lr * &*m);
    }
    fn mom_no_1mb(w: &mut Array2<f64>, m: &mut Array2<f64>, dw: ArrayView2<f64>, lr: f64, beta: f64) {
        *m = beta * &*m + dw;
        *w -= &(lr * &*m);
    }
    fn mom_sgd(w: &mut Array2<f64>, _m: &mut Array2<f64>, dw: ArrayView2<f64>, lr: f64, _beta: f64) {
        *w -= &(lr * &dw);
    }
    fn mom_order(w: &mut Array2<f64>, m: &mut Array2<f64>, dw: ArrayView2<f64>, lr: f64, beta: f64) {
        *w -= &(lr * &*m);
        *m = beta * &*m + (1.0 - beta) * &dw;
    }

    #[test]
    fn momentum_grader() {
        let r = momentum_step(mom_ok);
        assert!(r.is_passed(), "{r}");
        assert!(momentum_step(mom_no_1mb).hint().unwrap().contains("(1 − β)"));
        assert!(momentum_step(mom_sgd).hint().unwrap().contains("plain gradient descent"));
        assert!(momentum_step(mom_order).hint().unwrap().contains("before W"));
    }

    fn rms_ok(w: &mut Array2<f64>, v: &mut Array2<f64>, dw: ArrayView2<f64>, lr: f64, beta: f64, eps: f64) {
        *v = beta * &*v + (1.0 - beta) * &dw.mapv(|d| d * d);
        *w -= &(lr * &dw / &v.mapv(|x| x.sqrt() + eps));
    }
    fn rms_unsquared(
        w: &mut Array2<f64>,
        v: &mut Array2<f64>,
        dw: ArrayView2<f64>,
        lr: f64,
        beta: f64,
        eps: f64,
    ) {
        *v = beta * &*v + (1.0 - beta) * &dw;
        *w -= &(lr * &dw / &v.mapv(|x| x.abs().sqrt() + eps));
    }
    fn rms_no_root(
        w: &mut Array2<f64>,
        v: &mut Array2<f64>,
        dw: ArrayView2<f64>,
        lr: f64,
        beta: f64,
        eps: f64,
    ) {
        *v = beta * &*v + (1.0 - beta) * &dw.mapv(|d| d * d);
        *w -= &(lr * &dw / &v.mapv(|x| x + eps));
    }
    fn rms_no_dw(
        w: &mut Array2<f64>,
        v: &mut Array2<f64>,
        dw: ArrayView2<f64>,
        lr: f64,
        beta: f64,
        eps: f64,
    ) {
        *v = beta * &*v + (1.0 - beta) * &dw.mapv(|d| d * d);
        *w -= &(lr * &v.mapv(|x| x.sqrt() + eps));
    }

    #[test]
    fn rmsprop_grader() {
        let r = rmsprop_step(rms_ok);
        assert!(r.is_passed(), "{r}");
        assert!(rmsprop_step(rms_unsquared).hint().unwrap().contains("squared"));
        assert!(rmsprop_step(rms_no_root).hint().unwrap().contains("root"));
        assert!(rmsprop_step(rms_no_dw).hint().unwrap().contains("dW is divided"));
    }

    #[allow(clippy::too_many_arguments)]
    fn adam_ok(
        w: &mut Array2<f64>,
        m: &mut Array2<f64>,
        v: &mut Array2<f64>,
        dw: ArrayView2<f64>,
        t: u64,
        lr: f64,
        b1: f64,
        b2: f64,
        eps: f64,
    ) {
        *m = b1 * &*m + (1.0 - b1) * &dw;
        *v = b2 * &*v + (1.0 - b2) * &dw.mapv(|d| d * d);
        let (mh, vh) = (&*m / (1.0 - b1.powi(t as i32)), &*v / (1.0 - b2.powi(t as i32)));
        *w -= &(lr * &mh / &vh.mapv(|x| x.sqrt() + eps));
    }
    #[allow(clippy::too_many_arguments)]
    fn adam_uncorrected(
        w: &mut Array2<f64>,
        m: &mut Array2<f64>,
        v: &mut Array2<f64>,
        dw: ArrayView2<f64>,
        _t: u64,
        lr: f64,
        b1: f64,
        b2: f64,
        eps: f64,
    ) {
        adam_ok(w, m, v, dw, 1, lr, b1, b2, eps);
        let _ = (b1, b2);
    }
    #[allow(clippy::too_many_arguments)]
    fn adam_no_correction(
        w: &mut Array2<f64>,
        m: &mut Array2<f64>,
        v: &mut Array2<f64>,
        dw: ArrayView2<f64>,
        _t: u64,
        lr: f64,
        b1: f64,
        b2: f64,
        eps: f64,
    ) {
        *m = b1 * &*m + (1.0 - b1) * &dw;
        *v = b2 * &*v + (1.0 - b2) * &dw.mapv(|d| d * d);
        *w -= &(lr * &*m / &v.mapv(|x| x.sqrt() + eps));
    }
    #[allow(clippy::too_many_arguments)]
    fn adam_unsquared(
        w: &mut Array2<f64>,
        m: &mut Array2<f64>,
        v: &mut Array2<f64>,
        dw: ArrayView2<f64>,
        t: u64,
        lr: f64,
        b1: f64,
        b2: f64,
        eps: f64,
    ) {
        *m = b1 * &*m + (1.0 - b1) * &dw;
        *v = b2 * &*v + (1.0 - b2) * &dw;
        let (mh, vh) = (&*m / (1.0 - b1.powi(t as i32)), &*v / (1.0 - b2.powi(t as i32)));
        *w -= &(lr * &mh / &vh.mapv(|x| x.abs().sqrt() + eps));
    }

    #[test]
    fn adam_grader() {
        let r = adam_step(adam_ok);
        assert!(r.is_passed(), "{r}");
        assert!(adam_step(adam_no_correction).hint().unwrap().contains("bias correction is missing"));
        assert!(adam_step(adam_uncorrected).hint().unwrap().contains("not 1 every time"));
        assert!(adam_step(adam_unsquared).hint().unwrap().contains("squared"));
    }

    fn epochs_with(
        w0: ArrayView2<f64>,
        epochs: usize,
        steps: usize,
        grad: fn(ArrayView2<f64>) -> Array2<f64>,
        lr: f64,
        t_of: impl Fn(usize, usize) -> u64,
    ) -> Array2<f64> {
        let (mut w, mut m, mut v) = (w0.to_owned(), Array2::zeros(w0.dim()), Array2::zeros(w0.dim()));
        for e in 0..epochs {
            for s in 0..steps {
                let dw = grad(w.view());
                adam_ok(&mut w, &mut m, &mut v, dw.view(), t_of(e, s), lr, B1, B2, EPS);
            }
        }
        w
    }
    fn ae_ok(
        w: ArrayView2<f64>,
        e: usize,
        s: usize,
        g: fn(ArrayView2<f64>) -> Array2<f64>,
        lr: f64,
    ) -> Array2<f64> {
        epochs_with(w, e, s, g, lr, |ep, st| (ep * s + st) as u64 + 1)
    }
    fn ae_epoch(
        w: ArrayView2<f64>,
        e: usize,
        s: usize,
        g: fn(ArrayView2<f64>) -> Array2<f64>,
        lr: f64,
    ) -> Array2<f64> {
        epochs_with(w, e, s, g, lr, |ep, _| ep as u64 + 1)
    }
    fn ae_restart(
        w: ArrayView2<f64>,
        e: usize,
        s: usize,
        g: fn(ArrayView2<f64>) -> Array2<f64>,
        lr: f64,
    ) -> Array2<f64> {
        epochs_with(w, e, s, g, lr, |_, st| st as u64 + 1)
    }
    fn ae_zero(
        w: ArrayView2<f64>,
        e: usize,
        s: usize,
        g: fn(ArrayView2<f64>) -> Array2<f64>,
        lr: f64,
    ) -> Array2<f64> {
        epochs_with(w, e, s, g, lr, |ep, st| (ep * s + st) as u64)
    }

    #[test]
    fn adam_epochs_grader() {
        let r = adam_epochs(ae_ok);
        assert!(r.is_passed(), "{r}");
        assert!(adam_epochs(ae_epoch).hint().unwrap().contains("not epochs"));
        assert!(adam_epochs(ae_restart).hint().unwrap().contains("start again"));
        assert!(adam_epochs(ae_zero).hint().unwrap().contains("t = 1"));
    }
}
