//! RMSProp; v, the second moment of the gradients, is their running mean square:
//! for every parameter θ (W, b, γ and β alike),
//!
//! v = β v + (1 − β) dθ²,  θ ← θ − α dθ / (√v + ε).

use super::{Optimizer, OptimizerConfig, Rule, Update, check_beta, check_eps};
use crate::error::Result;
use serde::{Deserialize, Serialize};

/// RMSProp with learning rate α, averaging factor β and ε for numerical safety.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RmsPropConfig {
    /// α.
    pub lr: f64,
    /// β, in [0, 1) (0.9 or 0.999 are typical).
    pub beta: f64,
    /// ε > 0, keeps the step finite where v is 0.
    pub eps: f64,
}

impl Default for RmsPropConfig {
    fn default() -> Self {
        RmsPropConfig { lr: 0.001, beta: 0.9, eps: 1e-8 }
    }
}

impl Optimizer {
    /// RMSProp with learning rate α, β, and ε = 1e-8.
    pub fn rmsprop(lr: f64, beta: f64) -> Result<Optimizer> {
        Optimizer::new(RmsPropConfig { lr, beta, ..RmsPropConfig::default() })
    }
}

impl From<RmsPropConfig> for OptimizerConfig {
    fn from(c: RmsPropConfig) -> Self {
        OptimizerConfig::RmsProp(c)
    }
}

impl Rule for RmsPropConfig {
    fn name(&self) -> &'static str {
        "RMSProp"
    }
    fn label(&self) -> String {
        format!("RMSProp (α = {}, β = {})", self.lr, self.beta)
    }
    fn lr(&self) -> &f64 {
        &self.lr
    }
    fn lr_mut(&mut self) -> &mut f64 {
        &mut self.lr
    }
    fn validate(&self) -> Result<()> {
        check_beta("beta", self.beta)?;
        check_eps(self.eps)
    }
    /// v, in the state's `second`.
    fn averages(&self) -> (bool, bool) {
        (false, true)
    }
    fn update(&self, theta: Update<'_>, _t: u64) {
        let (lr, beta, eps) = (self.lr, self.beta, self.eps);
        theta.each_with_second(|p, v, d| {
            *v = beta * *v + (1.0 - beta) * d * d;
            *p -= lr * d / (v.sqrt() + eps);
        });
    }
}
