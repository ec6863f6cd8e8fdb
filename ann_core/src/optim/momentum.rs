//! Gradient descent with momentum; m, the first moment of the gradients, is the velocity:
//! for every parameter θ (W, b, γ and β alike),
//!
//! m = β m + (1 − β) dθ,  θ ← θ − α m.

use super::{Optimizer, OptimizerConfig, Rule, Update, check_beta};
use crate::error::Result;
use serde::{Deserialize, Serialize};

/// Momentum with learning rate α and averaging factor β.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MomentumConfig {
    /// α.
    pub lr: f64,
    /// β, in [0, 1): m averages about the last 1 / (1 − β) gradients.
    pub beta: f64,
}

impl Default for MomentumConfig {
    fn default() -> Self {
        MomentumConfig { lr: 0.01, beta: 0.9 }
    }
}

impl Optimizer {
    /// Momentum with learning rate α and β (0.9 is typical).
    pub fn momentum(lr: f64, beta: f64) -> Result<Optimizer> {
        Optimizer::new(MomentumConfig { lr, beta })
    }
}

impl From<MomentumConfig> for OptimizerConfig {
    fn from(c: MomentumConfig) -> Self {
        OptimizerConfig::Momentum(c)
    }
}

impl Rule for MomentumConfig {
    fn name(&self) -> &'static str {
        "Momentum"
    }
    fn label(&self) -> String {
        format!("Momentum (α = {}, β = {})", self.lr, self.beta)
    }
    fn lr(&self) -> &f64 {
        &self.lr
    }
    fn lr_mut(&mut self) -> &mut f64 {
        &mut self.lr
    }
    fn validate(&self) -> Result<()> {
        check_beta("beta", self.beta)
    }
    /// m, in the state's `first`.
    fn averages(&self) -> (bool, bool) {
        (true, false)
    }
    fn update(&self, theta: Update<'_>, _t: u64) {
        let (lr, beta) = (self.lr, self.beta);
        theta.each_with_first(|p, m, d| {
            *m = beta * *m + (1.0 - beta) * d;
            *p -= lr * *m;
        });
    }
}
