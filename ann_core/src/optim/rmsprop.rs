//! RMSProp: s_dW = β s_dW + (1 − β) dW²,  W ← W − α dW / (√s_dW + ε)  (and the same for b).

use super::{Moments, Optimizer, OptimizerState, check_beta, check_eps, check_grads, check_lr, ensure_state};
use crate::backward::Gradients;
use crate::error::Result;
use crate::network::Network;
use ndarray::Zip;

/// RMSProp with learning rate α, averaging factor β and ε for numerical safety.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RmsProp {
    lr: f64,
    beta: f64,
    eps: f64,
    /// s[l] per layer, layer 1 first; empty until the first step.
    pub s: Vec<Moments>,
}

impl RmsProp {
    /// RMSProp with α > 0, β in [0, 1) (0.9 or 0.999 are typical) and ε > 0 (1e-8).
    pub fn new(learning_rate: f64, beta: f64, eps: f64) -> Result<Self> {
        Ok(RmsProp {
            lr: check_lr(learning_rate)?,
            beta: check_beta("beta", beta)?,
            eps: check_eps(eps)?,
            s: Vec::new(),
        })
    }
}

impl Optimizer for RmsProp {
    fn name(&self) -> &'static str {
        "RMSProp"
    }
    fn learning_rate(&self) -> f64 {
        self.lr
    }
    fn set_learning_rate(&mut self, lr: f64) -> Result<()> {
        self.lr = check_lr(lr)?;
        Ok(())
    }
    fn step(&mut self, net: &mut Network, grads: &Gradients) -> Result<()> {
        check_grads(net, grads)?;
        ensure_state(&mut self.s, net);
        let (lr, beta, eps) = (self.lr, self.beta, self.eps);
        let update = |p: &mut f64, s: &mut f64, d: f64| {
            *s = beta * *s + (1.0 - beta) * d * d;
            *p -= lr * d / (s.sqrt() + eps);
        };
        for ((layer, g), s) in net.layers_mut().iter_mut().zip(&grads.layers).zip(&mut self.s) {
            Zip::from(&mut layer.w).and(&mut s.w).and(&g.dw).for_each(|p, s, &d| update(p, s, d));
            Zip::from(&mut layer.b).and(&mut s.b).and(&g.db).for_each(|p, s, &d| update(p, s, d));
        }
        Ok(())
    }
    fn state(&self) -> OptimizerState<'_> {
        OptimizerState::RmsProp { s: &self.s }
    }
    fn reset(&mut self) {
        self.s.clear();
    }
}
