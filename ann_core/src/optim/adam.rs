//! Adam, with bias correction (t counts optimizer steps, not epochs):
//!
//! m = β1 m + (1 − β1) dW,   v = β2 v + (1 − β2) dW²,
//! m̂ = m / (1 − β1^t),       v̂ = v / (1 − β2^t),
//! W ← W − α m̂ / (√v̂ + ε)   (and the same for b).

use super::{Moments, Optimizer, OptimizerState, check_beta, check_eps, check_grads, check_lr, ensure_state};
use crate::backward::Gradients;
use crate::error::Result;
use crate::fast::update_entries;
use crate::network::Network;

/// Adam with learning rate α, moment factors β1, β2 and ε.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Adam {
    lr: f64,
    beta1: f64,
    beta2: f64,
    eps: f64,
    /// First moments m[l], layer 1 first (uncorrected); empty until the first step.
    pub m: Vec<Moments>,
    /// Second moments v[l], layer 1 first (uncorrected).
    pub v: Vec<Moments>,
    /// Steps taken: the t in 1 − β^t.
    pub t: u64,
}

impl Adam {
    /// Adam with the usual β1 = 0.9, β2 = 0.999, ε = 1e-8.
    pub fn new(learning_rate: f64) -> Result<Self> {
        Self::with_params(learning_rate, 0.9, 0.999, 1e-8)
    }

    /// Adam with every hyperparameter given.
    pub fn with_params(learning_rate: f64, beta1: f64, beta2: f64, eps: f64) -> Result<Self> {
        Ok(Adam {
            lr: check_lr(learning_rate)?,
            beta1: check_beta("beta1", beta1)?,
            beta2: check_beta("beta2", beta2)?,
            eps: check_eps(eps)?,
            m: Vec::new(),
            v: Vec::new(),
            t: 0,
        })
    }

    /// (β1, β2, ε).
    pub fn betas(&self) -> (f64, f64, f64) {
        (self.beta1, self.beta2, self.eps)
    }

    /// Bias-corrected moments m̂ = m / (1 − β1^t) and v̂ = v / (1 − β2^t) of one entry:
    /// `layer` is l (1-based), `(row, col)` indexes W[l]. None before the first step.
    pub fn corrected_weight_moments(&self, layer: usize, row: usize, col: usize) -> Option<(f64, f64)> {
        let i = layer.checked_sub(1)?;
        let m = *self.m.get(i)?.w.get((row, col))?;
        let v = *self.v.get(i)?.w.get((row, col))?;
        let (s1, s2) = bias_corrections(self.beta1, self.beta2, self.t.min(i32::MAX as u64) as i32);
        Some((m * s1, v * s2))
    }
}

/// (1 / (1 − β1^t), 1 / (1 − β2^t)): the bias-correction factors of step t.
fn bias_corrections(beta1: f64, beta2: f64, t: i32) -> (f64, f64) {
    (1.0 / (1.0 - beta1.powi(t)), 1.0 / (1.0 - beta2.powi(t)))
}

impl Optimizer for Adam {
    fn name(&self) -> &'static str {
        "Adam"
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
        ensure_state(&mut self.m, net);
        ensure_state(&mut self.v, net);
        self.t += 1;
        let (b1, b2, eps, lr) = (self.beta1, self.beta2, self.eps, self.lr);
        let t = self.t.min(i32::MAX as u64) as i32;
        let (s1, s2) = bias_corrections(b1, b2, t);
        let update = |p: &mut f64, [m, v]: [&mut f64; 2], d: f64| {
            *m = b1 * *m + (1.0 - b1) * d;
            *v = b2 * *v + (1.0 - b2) * d * d;
            // m̂ = m · 1/(1 − β1^t), v̂ = v · 1/(1 − β2^t): one division per entry, not three.
            *p -= lr * (*m * s1) / ((*v * s2).sqrt() + eps);
        };
        for (((layer, g), m), v) in
            net.layers_mut().iter_mut().zip(&grads.layers).zip(&mut self.m).zip(&mut self.v)
        {
            update_entries(&mut layer.w, [&mut m.w, &mut v.w], &g.dw, update);
            update_entries(&mut layer.b, [&mut m.b, &mut v.b], &g.db, update);
        }
        Ok(())
    }
    fn state(&self) -> OptimizerState<'_> {
        OptimizerState::Adam { m: &self.m, v: &self.v, t: self.t, beta1: self.beta1, beta2: self.beta2 }
    }
    fn reset(&mut self) {
        self.m.clear();
        self.v.clear();
        self.t = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activation::Activation;
    use crate::backward::LayerGrad;
    use crate::layer::Layer;
    use crate::loss::Loss;
    use approx::assert_abs_diff_eq;
    use ndarray::array;

    /// Golden: the first Adam step moves every weight by ≈ α·sign(g) (m̂ = g, v̂ = g²).
    #[test]
    fn first_steps_by_hand() {
        let layer = Layer { w: array![[1.0, -2.0]], b: array![[0.5]], activation: Activation::Linear };
        let mut net = Network::from_layers(vec![layer], Loss::MeanSquaredError).unwrap();
        let g = Gradients { layers: vec![LayerGrad { dw: array![[0.2, -4.0]], db: array![[0.0]] }] };
        let mut adam = Adam::new(0.1).unwrap();
        adam.step(&mut net, &g).unwrap();
        assert_eq!(adam.t, 1);
        assert_abs_diff_eq!(net.layers()[0].w, array![[0.9, -1.9]], epsilon = 1e-7);
        assert_abs_diff_eq!(net.layers()[0].b, array![[0.5]]);
        assert_abs_diff_eq!(adam.m[0].w, array![[0.02, -0.4]], epsilon = 1e-15);
        assert_abs_diff_eq!(adam.v[0].w, array![[0.001 * 0.04, 0.001 * 16.0]], epsilon = 1e-15);
        let (mh, vh) = adam.corrected_weight_moments(1, 0, 1).unwrap();
        assert_abs_diff_eq!(mh, -4.0, epsilon = 1e-12);
        assert_abs_diff_eq!(vh, 16.0, epsilon = 1e-9);
        // Second step with the same gradient: m = 0.9·0.02 + 0.1·0.2 = 0.038, m̂ = 0.038/0.19 = 0.2.
        adam.step(&mut net, &g).unwrap();
        let (mh, _) = adam.corrected_weight_moments(1, 0, 0).unwrap();
        assert_abs_diff_eq!(mh, 0.2, epsilon = 1e-12);
        assert_abs_diff_eq!(net.layers()[0].w[[0, 0]], 0.8, epsilon = 1e-6);
        adam.reset();
        assert_eq!(adam.t, 0);
        assert!(adam.corrected_weight_moments(1, 0, 0).is_none());
    }
}
