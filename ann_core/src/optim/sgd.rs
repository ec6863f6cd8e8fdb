//! Plain (mini-batch) gradient descent: W[l] ← W[l] − α dW[l],  b[l] ← b[l] − α db[l].

use super::{Optimizer, OptimizerState, check_grads, check_lr};
use crate::backward::Gradients;
use crate::error::Result;
use crate::network::Network;

/// Gradient descent with learning rate α.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Sgd {
    lr: f64,
}

impl Sgd {
    /// SGD with learning rate α > 0.
    pub fn new(learning_rate: f64) -> Result<Self> {
        Ok(Sgd { lr: check_lr(learning_rate)? })
    }
}

impl Optimizer for Sgd {
    fn name(&self) -> &'static str {
        "SGD"
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
        for (layer, g) in net.layers_mut().iter_mut().zip(&grads.layers) {
            layer.w.scaled_add(-self.lr, &g.dw);
            layer.b.scaled_add(-self.lr, &g.db);
        }
        Ok(())
    }
    fn state(&self) -> OptimizerState<'_> {
        OptimizerState::Sgd
    }
    fn reset(&mut self) {}
}
