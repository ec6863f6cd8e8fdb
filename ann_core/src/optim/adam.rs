//! Adam, with bias correction (t counts optimizer steps, not epochs), for every parameter θ
//! (W, b, γ and β alike):
//!
//! m = β1 m + (1 − β1) dθ,   v = β2 v + (1 − β2) dθ²,
//! m̂ = m / (1 − β1^t),       v̂ = v / (1 − β2^t),
//! θ ← θ − α m̂ / (√v̂ + ε).

use super::{Optimizer, OptimizerConfig, Rule, Update, check_beta, check_eps};
use crate::error::Result;
use crate::param::ParamId;
use serde::{Deserialize, Serialize};

/// Adam with learning rate α, moment factors β1, β2 and ε.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AdamConfig {
    /// α.
    pub lr: f64,
    /// β1, in [0, 1): averaging factor of the first moment m.
    pub beta1: f64,
    /// β2, in [0, 1): averaging factor of the second moment v.
    pub beta2: f64,
    /// ε > 0, keeps the step finite where v̂ is 0.
    pub eps: f64,
}

impl Default for AdamConfig {
    /// α = 0.001, β1 = 0.9, β2 = 0.999, ε = 1e-8 (Kingma and Ba's values).
    fn default() -> Self {
        AdamConfig { lr: 0.001, beta1: 0.9, beta2: 0.999, eps: 1e-8 }
    }
}

impl Optimizer {
    /// Adam with learning rate α and the usual β1 = 0.9, β2 = 0.999, ε = 1e-8.
    pub fn adam(lr: f64) -> Result<Optimizer> {
        Optimizer::new(AdamConfig { lr, ..AdamConfig::default() })
    }

    /// Adam's (and AdamW's) bias-corrected moments of one weight, m̂ = m / (1 − β1^t) and
    /// v̂ = v / (1 − β2^t): `layer` is l (1-based), `(row, col)` indexes W[l]. None before
    /// the first step, out of range, or for another rule.
    pub fn corrected_weight_moments(&self, layer: usize, row: usize, col: usize) -> Option<(f64, f64)> {
        let (beta1, beta2) = match self.config() {
            OptimizerConfig::Adam(c) => (c.beta1, c.beta2),
            OptimizerConfig::AdamW(c) => (c.beta1, c.beta2),
            _ => return None,
        };
        let state = self.state();
        let m = *state.first(ParamId::w(layer))?.get((row, col))?;
        let v = *state.second(ParamId::w(layer))?.get((row, col))?;
        let (c1, c2) = bias_corrections(beta1, beta2, state.t);
        Some((m * c1, v * c2))
    }
}

/// β1, β2 in [0, 1) and ε > 0 (Adam's and AdamW's moments).
pub(super) fn check_moments(beta1: f64, beta2: f64, eps: f64) -> Result<()> {
    check_beta("beta1", beta1)?;
    check_beta("beta2", beta2)?;
    check_eps(eps)
}

/// (1 / (1 − β1^t), 1 / (1 − β2^t)): the bias-correction factors of step t.
pub(super) fn bias_corrections(beta1: f64, beta2: f64, t: u64) -> (f64, f64) {
    let t = t.min(i32::MAX as u64) as i32;
    (1.0 / (1.0 - beta1.powi(t)), 1.0 / (1.0 - beta2.powi(t)))
}

impl From<AdamConfig> for OptimizerConfig {
    fn from(c: AdamConfig) -> Self {
        OptimizerConfig::Adam(c)
    }
}

impl Rule for AdamConfig {
    fn name(&self) -> &'static str {
        "Adam"
    }
    fn label(&self) -> String {
        format!("Adam (α = {})", self.lr)
    }
    fn lr(&self) -> &f64 {
        &self.lr
    }
    fn lr_mut(&mut self) -> &mut f64 {
        &mut self.lr
    }
    fn validate(&self) -> Result<()> {
        check_moments(self.beta1, self.beta2, self.eps)
    }
    /// m in the state's `first`, v in its `second`.
    fn averages(&self) -> (bool, bool) {
        (true, true)
    }
    fn update(&self, theta: Update<'_>, t: u64) {
        let AdamConfig { lr, beta1, beta2, eps } = *self;
        // m̂ = m · 1/(1 − β1^t), v̂ = v · 1/(1 − β2^t): one division per entry, not three.
        let (c1, c2) = bias_corrections(beta1, beta2, t);
        theta.each_with_both(|p, m, v, d| {
            *m = beta1 * *m + (1.0 - beta1) * d;
            *v = beta2 * *v + (1.0 - beta2) * d * d;
            *p -= lr * (*m * c1) / ((*v * c2).sqrt() + eps);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activation::Activation;
    use crate::gradients::Gradients;
    use crate::layer::Layer;
    use crate::loss::Loss;
    use crate::network::Network;
    use approx::assert_abs_diff_eq;
    use ndarray::array;

    /// Golden: the first Adam step moves every weight by ≈ α·sign(g) (m̂ = g, v̂ = g²).
    #[test]
    fn first_steps_by_hand() {
        let layer = Layer::new(array![[1.0, -2.0]], array![[0.5]], Activation::Linear);
        let mut net = Network::from_layers(vec![layer], Loss::MeanSquaredError).unwrap();
        let g = Gradients::from_layers(vec![(array![[0.2, -4.0]], array![[0.0]])]);
        let mut adam = Optimizer::adam(0.1).unwrap();
        assert!(adam.corrected_weight_moments(1, 0, 0).is_none());
        adam.step(&mut net, &g).unwrap();
        assert_eq!(adam.state().t, 1);
        assert_abs_diff_eq!(net.layers()[0].w, array![[0.9, -1.9]], epsilon = 1e-7);
        assert_abs_diff_eq!(net.layers()[0].b, array![[0.5]]);
        let w1 = ParamId::w(1);
        assert_abs_diff_eq!(*adam.state().first(w1).unwrap(), array![[0.02, -0.4]], epsilon = 1e-15);
        let v = adam.state().second(w1).unwrap();
        assert_abs_diff_eq!(*v, array![[0.001 * 0.04, 0.001 * 16.0]], epsilon = 1e-15);
        let (mh, vh) = adam.corrected_weight_moments(1, 0, 1).unwrap();
        assert_abs_diff_eq!(mh, -4.0, epsilon = 1e-12);
        assert_abs_diff_eq!(vh, 16.0, epsilon = 1e-9);
        // Second step with the same gradient: m = 0.9·0.02 + 0.1·0.2 = 0.038, m̂ = 0.038/0.19 = 0.2.
        adam.step(&mut net, &g).unwrap();
        let (mh, _) = adam.corrected_weight_moments(1, 0, 0).unwrap();
        assert_abs_diff_eq!(mh, 0.2, epsilon = 1e-12);
        assert_abs_diff_eq!(net.layers()[0].w[[0, 0]], 0.8, epsilon = 1e-6);
        adam.reset();
        assert_eq!(adam.state().t, 0);
        assert!(adam.corrected_weight_moments(1, 0, 0).is_none());
    }
}
