//! Plain (mini-batch) gradient descent: W[l] ← W[l] − α dW[l],  b[l] ← b[l] − α db[l]
//! (and the same for batch norm's γ[l] and β[l]).

use super::{Optimizer, OptimizerConfig, OptimizerState, Rule, norm_step};
use crate::backward::Gradients;
use crate::error::Result;
use crate::fast::each_entry;
use crate::network::Network;
use serde::{Deserialize, Serialize};

/// Gradient descent with learning rate α.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SgdConfig {
    /// α.
    pub lr: f64,
}

impl Default for SgdConfig {
    fn default() -> Self {
        SgdConfig { lr: 0.01 }
    }
}

impl Optimizer {
    /// Gradient descent with learning rate α.
    pub fn sgd(lr: f64) -> Result<Optimizer> {
        Optimizer::new(SgdConfig { lr })
    }
}

impl From<SgdConfig> for OptimizerConfig {
    fn from(c: SgdConfig) -> Self {
        OptimizerConfig::Sgd(c)
    }
}

impl Rule for SgdConfig {
    fn name(&self) -> &'static str {
        "SGD"
    }
    fn label(&self) -> String {
        format!("SGD (α = {})", self.lr)
    }
    fn lr(&self) -> &f64 {
        &self.lr
    }
    fn lr_mut(&mut self) -> &mut f64 {
        &mut self.lr
    }
    fn validate(&self) -> Result<()> {
        Ok(())
    }
    fn averages(&self) -> (bool, bool) {
        (false, false)
    }
    fn step(&self, _state: &mut OptimizerState, net: &mut Network, grads: &Gradients) {
        let lr = self.lr;
        let rule = |p: &mut f64, d: f64| {
            // θ ← θ − α dθ
            *p -= lr * d;
        };
        for (layer, g) in net.layers_mut().iter_mut().zip(&grads.layers) {
            each_entry(&mut layer.w, &g.dw, rule);
            each_entry(&mut layer.b, &g.db, rule);
            norm_step(layer, g, rule);
        }
    }
}
