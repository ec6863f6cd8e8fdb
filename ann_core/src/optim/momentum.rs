//! Gradient descent with momentum:
//! v_dW = β v_dW + (1 − β) dW,  W ← W − α v_dW  (and the same for b).

use super::{Moments, Optimizer, OptimizerState, check_beta, check_grads, check_lr, ensure_state};
use crate::backward::Gradients;
use crate::error::Result;
use crate::network::Network;
use ndarray::Zip;

/// Momentum with learning rate α and averaging factor β (0.9 is typical).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Momentum {
    lr: f64,
    beta: f64,
    /// v[l] per layer, layer 1 first; empty until the first step.
    pub v: Vec<Moments>,
}

impl Momentum {
    /// Momentum with α > 0 and β in [0, 1).
    pub fn new(learning_rate: f64, beta: f64) -> Result<Self> {
        Ok(Momentum { lr: check_lr(learning_rate)?, beta: check_beta("beta", beta)?, v: Vec::new() })
    }
}

impl Optimizer for Momentum {
    fn name(&self) -> &'static str {
        "Momentum"
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
        ensure_state(&mut self.v, net);
        let (lr, beta) = (self.lr, self.beta);
        for ((layer, g), v) in net.layers_mut().iter_mut().zip(&grads.layers).zip(&mut self.v) {
            Zip::from(&mut layer.w).and(&mut v.w).and(&g.dw).for_each(|w, v, &d| {
                *v = beta * *v + (1.0 - beta) * d;
                *w -= lr * *v;
            });
            Zip::from(&mut layer.b).and(&mut v.b).and(&g.db).for_each(|b, v, &d| {
                *v = beta * *v + (1.0 - beta) * d;
                *b -= lr * *v;
            });
        }
        Ok(())
    }
    fn state(&self) -> OptimizerState<'_> {
        OptimizerState::Momentum { v: &self.v }
    }
    fn reset(&mut self) {
        self.v.clear();
    }
}
