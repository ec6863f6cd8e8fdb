//! AdamW: Adam with decoupled weight decay (Loshchilov and Hutter). The moments are
//! Adam's; the decay is a step of its own, not a term of the gradient:
//!
//! m = β1 m + (1 − β1) dθ,   v = β2 v + (1 − β2) dθ²,
//! m̂ = m / (1 − β1^t),       v̂ = v / (1 − β2^t),
//! W ← W − α (m̂ / (√v̂ + ε) + λ W) for the weights W[l],
//! θ ← θ − α m̂ / (√v̂ + ε) for every other parameter (b, γ, β).
//!
//! With L2 in the loss instead, (λ/N) W enters dW and is divided by √v̂ like the rest of the
//! gradient, so weights with large gradients are barely decayed; here every weight shrinks
//! by the same factor αλ per step. As with L2 in this course, only W decays, not b.

use super::adam::{bias_corrections, check_moments};
use super::{Optimizer, OptimizerConfig, Rule, Update};
use crate::error::{Result, bad_hyper};
use crate::param::ParamKind;
use serde::{Deserialize, Serialize};

/// AdamW with learning rate α, moment factors β1, β2, ε and weight decay λ.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AdamWConfig {
    /// α.
    pub lr: f64,
    /// β1, in [0, 1).
    pub beta1: f64,
    /// β2, in [0, 1).
    pub beta2: f64,
    /// ε > 0.
    pub eps: f64,
    /// λ ≥ 0: each step multiplies W by about (1 − αλ).
    pub weight_decay: f64,
}

impl Default for AdamWConfig {
    /// Adam's defaults and λ = 0.01.
    fn default() -> Self {
        AdamWConfig { lr: 0.001, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.01 }
    }
}

impl Optimizer {
    /// AdamW with learning rate α and weight decay λ (Adam's β1, β2, ε).
    pub fn adamw(lr: f64, weight_decay: f64) -> Result<Optimizer> {
        Optimizer::new(AdamWConfig { lr, weight_decay, ..AdamWConfig::default() })
    }
}

impl From<AdamWConfig> for OptimizerConfig {
    fn from(c: AdamWConfig) -> Self {
        OptimizerConfig::AdamW(c)
    }
}

impl Rule for AdamWConfig {
    fn name(&self) -> &'static str {
        "AdamW"
    }
    fn label(&self) -> String {
        format!("AdamW (α = {}, λ = {})", self.lr, self.weight_decay)
    }
    fn lr(&self) -> &f64 {
        &self.lr
    }
    fn lr_mut(&mut self) -> &mut f64 {
        &mut self.lr
    }
    fn validate(&self) -> Result<()> {
        check_moments(self.beta1, self.beta2, self.eps)?;
        if self.weight_decay.is_finite() && self.weight_decay >= 0.0 {
            Ok(())
        } else {
            Err(bad_hyper("weight_decay", self.weight_decay, "must be finite and >= 0"))
        }
    }
    /// m in the state's `first`, v in its `second`.
    fn averages(&self) -> (bool, bool) {
        (true, true)
    }
    fn update(&self, theta: Update<'_>, t: u64) {
        let AdamWConfig { lr, beta1, beta2, eps, weight_decay } = *self;
        let (c1, c2) = bias_corrections(beta1, beta2, t);
        let moments = move |m: &mut f64, v: &mut f64, d: f64| {
            *m = beta1 * *m + (1.0 - beta1) * d;
            *v = beta2 * *v + (1.0 - beta2) * d * d;
            (*m * c1) / ((*v * c2).sqrt() + eps)
        };
        if theta.kind == ParamKind::Weight {
            theta.each_with_both(|w, m, v, d| {
                let adam = moments(m, v, d);
                *w -= lr * (adam + weight_decay * *w);
            });
        } else {
            theta.each_with_both(|b, m, v, d| *b -= lr * moments(m, v, d));
        }
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
    use ndarray::array;

    /// Three steps checked against the formula written out by hand, entry by entry.
    #[test]
    fn steps_follow_the_formula() {
        let (lr, wd, b1, b2, eps) = (0.05, 0.1, 0.9, 0.999, 1e-8);
        let layer = Layer::new(array![[1.5, -2.0]], array![[0.5]], Activation::Linear);
        let mut net = Network::from_layers(vec![layer], Loss::MeanSquaredError).unwrap();
        let mut opt = Optimizer::adamw(lr, wd).unwrap();
        let (mut w, mut b) = ([1.5f64, -2.0], 0.5f64);
        let (mut m, mut v, mut mb, mut vb) = ([0.0f64; 2], [0.0f64; 2], 0.0f64, 0.0f64);
        for (t, g) in [[0.3, -1.0, 0.2], [0.1, 0.4, -0.5], [-0.2, 0.0, 0.1]].iter().enumerate() {
            let t = t as i32 + 1;
            let grads = Gradients::from_layers(vec![(array![[g[0], g[1]]], array![[g[2]]])]);
            opt.step(&mut net, &grads).unwrap();
            #[allow(clippy::needless_range_loop)] // the formula, index by index
            for k in 0..2 {
                m[k] = b1 * m[k] + (1.0 - b1) * g[k];
                v[k] = b2 * v[k] + (1.0 - b2) * g[k] * g[k];
                let (m_hat, v_hat) = (m[k] / (1.0 - b1.powi(t)), v[k] / (1.0 - b2.powi(t)));
                w[k] -= lr * (m_hat / (v_hat.sqrt() + eps) + wd * w[k]);
            }
            mb = b1 * mb + (1.0 - b1) * g[2];
            vb = b2 * vb + (1.0 - b2) * g[2] * g[2];
            b -= lr * (mb / (1.0 - b1.powi(t))) / ((vb / (1.0 - b2.powi(t))).sqrt() + eps);
            for (k, &want) in w.iter().enumerate() {
                assert!((net.layers()[0].w[[0, k]] - want).abs() < 1e-14, "step {t}, w[{k}]");
            }
            assert!((net.layers()[0].b[[0, 0]] - b).abs() < 1e-14, "step {t}, b");
        }
        // No gradient at all: AdamW still shrinks W by αλ per step, Adam does not move it.
        let mut net = Network::from_layers(
            vec![Layer::new(array![[2.0]], array![[0.0]], Activation::Linear)],
            Loss::MeanSquaredError,
        )
        .unwrap();
        let zero = Gradients::zeros_like(&net);
        let mut opt = Optimizer::adamw(0.1, 0.5).unwrap();
        opt.step(&mut net, &zero).unwrap();
        assert!((net.layers()[0].w[[0, 0]] - 2.0 * (1.0 - 0.1 * 0.5)).abs() < 1e-15);
        let decayed = net.layers()[0].w[[0, 0]];
        let mut adam = Optimizer::adam(0.1).unwrap();
        adam.step(&mut net, &zero).unwrap();
        assert_eq!(net.layers()[0].w[[0, 0]], decayed);
    }
}
