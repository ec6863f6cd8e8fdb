//! Gradient descent with momentum; m, the first moment of the gradients, is the velocity:
//! m = β m + (1 − β) dW,  W ← W − α m  (and the same for b, γ and β).

use super::{Optimizer, OptimizerConfig, OptimizerState, Rule, check_beta, norm_step1};
use crate::backward::Gradients;
use crate::error::Result;
use crate::fast::each_entry1;
use crate::network::Network;
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
    fn step(&self, state: &mut OptimizerState, net: &mut Network, grads: &Gradients) {
        let (lr, beta) = (self.lr, self.beta);
        let rule = |p: &mut f64, m: &mut f64, d: f64| {
            *m = beta * *m + (1.0 - beta) * d;
            *p -= lr * *m;
        };
        for ((layer, g), m) in net.layers_mut().iter_mut().zip(&grads.layers).zip(&mut state.first) {
            each_entry1(&mut layer.w, &mut m.w, &g.dw, rule);
            each_entry1(&mut layer.b, &mut m.b, &g.db, rule);
            norm_step1(layer, m, g, rule);
        }
    }
}
