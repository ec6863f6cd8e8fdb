//! Plain (mini-batch) gradient descent: θ ← θ − α dθ for every parameter θ (W[l] ← W[l] −
//! α dW[l], b[l] ← b[l] − α db[l], and the same for a normalization's γ[l] and β[l]).

use super::{Optimizer, OptimizerConfig, Rule, Update};
use crate::error::Result;
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
    fn update(&self, theta: Update<'_>, _t: u64) {
        let lr = self.lr;
        theta.each(|p, d| {
            // θ ← θ − α dθ
            *p -= lr * d;
        });
    }
}
