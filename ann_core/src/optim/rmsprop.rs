//! RMSProp; v, the second moment of the gradients, is their running mean square:
//! v = β v + (1 − β) dW²,  W ← W − α dW / (√v + ε)  (and the same for b, γ and β).

use super::{Optimizer, OptimizerConfig, OptimizerState, Rule, check_beta, check_eps, norm_step1};
use crate::backward::Gradients;
use crate::error::Result;
use crate::fast::each_entry1;
use crate::network::Network;
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
    fn step(&self, state: &mut OptimizerState, net: &mut Network, grads: &Gradients) {
        let (lr, beta, eps) = (self.lr, self.beta, self.eps);
        let rule = |p: &mut f64, v: &mut f64, d: f64| {
            *v = beta * *v + (1.0 - beta) * d * d;
            *p -= lr * d / (v.sqrt() + eps);
        };
        for ((layer, g), v) in net.layers_mut().iter_mut().zip(&grads.layers).zip(&mut state.second) {
            each_entry1(&mut layer.w, &mut v.w, &g.dw, rule);
            each_entry1(&mut layer.b, &mut v.b, &g.db, rule);
            norm_step1(layer, v, g, rule);
        }
    }
}
