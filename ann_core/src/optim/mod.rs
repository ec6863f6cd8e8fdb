//! Optimizers: how a gradient step changes W[l] and b[l]. Each keeps its state (v, s, t)
//! in plain, readable fields so notebooks can plot it.

mod adam;
mod momentum;
mod rmsprop;
mod sgd;

pub use adam::Adam;
pub use momentum::Momentum;
pub use rmsprop::RmsProp;
pub use sgd::Sgd;

use crate::backward::Gradients;
use crate::error::{AnnError, Result, bad_hyper, shape_str};
use crate::network::Network;
use ndarray::Array2;
use serde::{Deserialize, Serialize};

/// A running quantity with the shapes of one layer's parameters (a velocity, a squared
/// gradient average, a moment).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Moments {
    /// Same shape as W[l].
    pub w: Array2<f64>,
    /// Same shape as b[l].
    pub b: Array2<f64>,
}

/// A read-only view of an optimizer's state.
#[derive(Debug, Clone, Copy)]
pub enum OptimizerState<'a> {
    /// Plain SGD has no state.
    Sgd,
    /// v[l]: the exponentially weighted average of gradients.
    Momentum {
        /// Velocities, layer 1 first (empty before the first step).
        v: &'a [Moments],
    },
    /// s[l]: the exponentially weighted average of squared gradients.
    RmsProp {
        /// Squared-gradient averages, layer 1 first.
        s: &'a [Moments],
    },
    /// Adam's first moment m, second moment v (both uncorrected) and step count t.
    Adam {
        /// First moments, layer 1 first.
        m: &'a [Moments],
        /// Second moments, layer 1 first.
        v: &'a [Moments],
        /// Steps taken so far (t of the bias correction 1 − β^t).
        t: u64,
        /// β1.
        beta1: f64,
        /// β2.
        beta2: f64,
    },
}

/// One update rule: θ ← θ − (step computed from dθ and the optimizer's state).
pub trait Optimizer {
    /// Name for legends, e.g. "Adam".
    fn name(&self) -> &'static str;
    /// The current learning rate α.
    fn learning_rate(&self) -> f64;
    /// Changes α (learning-rate schedules); α must be finite and > 0.
    fn set_learning_rate(&mut self, lr: f64) -> Result<()>;
    /// Applies one update to every W[l], b[l] of `net` from `grads`.
    fn step(&mut self, net: &mut Network, grads: &Gradients) -> Result<()>;
    /// Read access to the state (for plots).
    fn state(&self) -> OptimizerState<'_>;
    /// Forgets all state (as if freshly built).
    fn reset(&mut self);
}

pub(crate) fn check_lr(lr: f64) -> Result<f64> {
    if lr.is_finite() && lr > 0.0 {
        Ok(lr)
    } else {
        Err(bad_hyper("learning_rate", lr, "must be finite and > 0"))
    }
}

pub(crate) fn check_beta(name: &str, beta: f64) -> Result<f64> {
    if (0.0..1.0).contains(&beta) { Ok(beta) } else { Err(bad_hyper(name, beta, "must lie in [0, 1)")) }
}

pub(crate) fn check_eps(eps: f64) -> Result<f64> {
    if eps.is_finite() && eps > 0.0 {
        Ok(eps)
    } else {
        Err(bad_hyper("epsilon", eps, "must be finite and > 0"))
    }
}

/// Checks that `grads` match `net` layer by layer.
pub(crate) fn check_grads(net: &Network, grads: &Gradients) -> Result<()> {
    if grads.layers.len() != net.num_layers() {
        return Err(AnnError::ShapeMismatch {
            context: "gradients (one entry per layer)".into(),
            expected: format!("{} layers", net.num_layers()),
            got: format!("{} layers", grads.layers.len()),
        });
    }
    for (i, (g, l)) in grads.layers.iter().zip(net.layers()).enumerate() {
        if g.dw.dim() != l.w.dim() || g.db.dim() != l.b.dim() {
            return Err(AnnError::ShapeMismatch {
                context: format!("dW[{0}], db[{0}] vs W[{0}], b[{0}]", i + 1),
                expected: format!("{} and {}", shape_str(l.w.shape()), shape_str(l.b.shape())),
                got: format!("{} and {}", shape_str(g.dw.shape()), shape_str(g.db.shape())),
            });
        }
    }
    Ok(())
}

/// (Re)creates zero state shaped like `net` unless it already matches.
pub(crate) fn ensure_state(state: &mut Vec<Moments>, net: &Network) {
    let matches = state.len() == net.num_layers()
        && state.iter().zip(net.layers()).all(|(s, l)| s.w.dim() == l.w.dim() && s.b.dim() == l.b.dim());
    if !matches {
        *state = net
            .layers()
            .iter()
            .map(|l| Moments { w: Array2::zeros(l.w.dim()), b: Array2::zeros(l.b.dim()) })
            .collect();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activation::Activation;
    use crate::init::Init;
    use crate::network::Task;

    fn quadratic_descent(opt: &mut dyn Optimizer) -> f64 {
        // J = ½‖W‖² on a 1-layer net: dW = W, so every optimizer must shrink W.
        let mut net = Network::new(&[3, 2], Activation::Linear, Task::Regression, Init::He, 1).unwrap();
        let start = crate::fast::frobenius(net.layers()[0].w.view());
        for _ in 0..200 {
            let grads = Gradients {
                layers: net
                    .layers()
                    .iter()
                    .map(|l| crate::backward::LayerGrad { dw: l.w.clone(), db: l.b.clone() })
                    .collect(),
            };
            opt.step(&mut net, &grads).unwrap();
        }
        crate::fast::frobenius(net.layers()[0].w.view()) / start
    }

    #[test]
    fn every_optimizer_descends_a_quadratic() {
        let mut opts: Vec<Box<dyn Optimizer>> = vec![
            Box::new(Sgd::new(0.1).unwrap()),
            Box::new(Momentum::new(0.1, 0.9).unwrap()),
            Box::new(RmsProp::new(0.01, 0.9, 1e-8).unwrap()),
            Box::new(Adam::new(0.01).unwrap()),
        ];
        for opt in opts.iter_mut() {
            let ratio = quadratic_descent(opt.as_mut());
            assert!(ratio < 0.5, "{} only shrank W to {ratio}", opt.name());
        }
    }

    #[test]
    fn hyperparameters_are_validated() {
        assert!(Sgd::new(0.0).is_err());
        assert!(Sgd::new(f64::NAN).is_err());
        assert!(Momentum::new(0.1, 1.0).is_err());
        assert!(RmsProp::new(0.1, 0.9, 0.0).is_err());
        assert!(Adam::with_params(0.1, 0.9, 1.5, 1e-8).is_err());
        let mut a = Adam::new(0.1).unwrap();
        assert!(a.set_learning_rate(-1.0).is_err());
    }

    #[test]
    fn mismatched_gradients_are_an_error() {
        let mut net = Network::new(&[3, 2], Activation::Linear, Task::Regression, Init::He, 1).unwrap();
        let other = Network::new(&[4, 2], Activation::Linear, Task::Regression, Init::He, 1).unwrap();
        let grads = Gradients::zeros_like(&other);
        let err = Sgd::new(0.1).unwrap().step(&mut net, &grads).unwrap_err();
        assert!(err.to_string().contains("(2, 3)") && err.to_string().contains("(2, 4)"), "{err}");
    }
}
