//! Batch normalization of one layer's pre-activations, unit by unit over the mini-batch.
//!
//! For Z of shape (n, m) (n units, m examples of the mini-batch), in training:
//!
//! μ = (1/m) Σⱼ Z[:, j],  σ² = (1/m) Σⱼ (Z[:, j] − μ)²,
//! Ẑ = (Z − μ) / √(σ² + ε),  Z̃ = γ ⊙ Ẑ + β,
//!
//! with γ and β of shape (n, 1) learned like W and b. The running averages
//! μ_run ← momentum · μ_run + (1 − momentum) · μ and the same for σ² stand in for the batch's
//! statistics in evaluation, where Ẑ = (Z − μ_run) / √(σ²_run + ε): a prediction must not
//! depend on the other examples of its batch. The forward step only reads the layer (a
//! gradient check evaluates it thousands of times); [`BatchNorm::update_running`] moves the
//! averages, once per training step.
//!
//! Backward, from dZ̃ = ∂J/∂Z̃:
//!
//! dβ = Σⱼ dZ̃[:, j],  dγ = Σⱼ (dZ̃ ⊙ Ẑ)[:, j],  dẐ = γ ⊙ dZ̃,
//! dZ = (1 / m) · (1 / √(σ² + ε)) ⊙ (m dẐ − Σⱼ dẐ[:, j] − Ẑ ⊙ Σⱼ (dẐ ⊙ Ẑ)[:, j]),
//!
//! the compact form of the chain rule through μ and σ², which both depend on every column.
//! Z − μ cancels the layer's b (μ moves with it), so db = 0: β does b's job.

use super::{
    Normalization, NormalizationCache, NormalizationConfig, NormalizationGrads, Normalize, backward_along,
    check_epsilon, checked_backward, checked_eval, checked_train, inv_std, normalize_along,
};
use crate::error::{AnnError, Result, bad_hyper, shape_str};
use ndarray::{Array2, ArrayView2, Axis};
use serde::{Deserialize, Serialize};

/// The hyperparameters of batch normalization.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchNormConfig {
    /// ε > 0, added to σ² so that a unit with no spread does not divide by zero.
    pub epsilon: f64,
    /// Weight of the old value in the running averages, in [0, 1).
    pub momentum: f64,
}

impl Default for BatchNormConfig {
    /// ε = 10⁻⁵, momentum 0.9.
    fn default() -> Self {
        BatchNormConfig { epsilon: 1e-5, momentum: 0.9 }
    }
}

impl BatchNormConfig {
    /// Checks ε > 0 (finite) and momentum in [0, 1).
    pub fn validate(&self) -> Result<()> {
        check_epsilon("batch norm", self.epsilon)?;
        if !(0.0..1.0).contains(&self.momentum) {
            return Err(bad_hyper("batch norm momentum", self.momentum, "must lie in [0, 1)"));
        }
        Ok(())
    }
}

impl NormalizationConfig for BatchNormConfig {
    fn build(&self, units: usize) -> Result<Normalization> {
        Ok(Normalization::BatchNorm(BatchNorm::new(units, *self)?))
    }
}

/// One layer's batch normalization: its learned γ, β and its running statistics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchNorm {
    /// γ, shape (n, 1); starts at 1.
    pub gamma: Array2<f64>,
    /// β, shape (n, 1); starts at 0.
    pub beta: Array2<f64>,
    /// μ_run, shape (n, 1); starts at 0.
    pub running_mean: Array2<f64>,
    /// σ²_run, shape (n, 1); starts at 1.
    pub running_var: Array2<f64>,
    /// ε and the momentum.
    pub config: BatchNormConfig,
}

impl BatchNorm {
    /// Batch normalization of `units` units: γ = 1, β = 0, μ_run = 0, σ²_run = 1.
    pub fn new(units: usize, config: BatchNormConfig) -> Result<Self> {
        config.validate()?;
        if units == 0 {
            return Err(AnnError::InvalidArchitecture("batch norm of a layer with no units".into()));
        }
        let (ones, zeros) = (Array2::ones((units, 1)), Array2::zeros((units, 1)));
        Ok(BatchNorm {
            gamma: ones.clone(),
            beta: zeros.clone(),
            running_mean: zeros,
            running_var: ones,
            config,
        })
    }

    /// n, the number of units.
    pub fn units(&self) -> usize {
        self.gamma.nrows()
    }

    /// Training mode: Z̃ = γ ⊙ (Z − μ) / √(σ² + ε) + β with the batch's μ and σ² (kept in
    /// the cache for [`BatchNorm::update_running`]). Errors: Z not (n, m), a batch of one
    /// example (its σ² is 0: nothing to normalize), a non-finite Z.
    pub fn forward_train(&self, z: ArrayView2<f64>) -> Result<(Array2<f64>, NormalizationCache)> {
        checked_train(self, z)
    }

    /// Evaluation mode: Z̃ = γ ⊙ (Z − μ_run) / √(σ²_run + ε) + β; each column on its own.
    pub fn forward_eval(&self, z: ArrayView2<f64>) -> Result<Array2<f64>> {
        checked_eval(self, z)
    }

    /// dZ, dγ, dβ from dZ̃ and the cache of the training forward step (module docs).
    pub fn backward(
        &self,
        cache: &NormalizationCache,
        dz_tilde: ArrayView2<f64>,
    ) -> Result<NormalizationGrads> {
        checked_backward(self, cache, dz_tilde)
    }

    /// μ_run ← momentum · μ_run + (1 − momentum) · μ and σ²_run ← momentum · σ²_run +
    /// (1 − momentum) · σ², with the batch's μ and σ² from `cache`.
    pub fn update_running(&mut self, cache: &NormalizationCache) -> Result<()> {
        self.check_running(cache)?;
        self.move_running(cache);
        Ok(())
    }
}

impl Normalize for BatchNorm {
    fn name(&self) -> &'static str {
        "batch norm"
    }

    fn describe(&self) -> String {
        format!("batch norm (ε = {}, momentum {})", self.config.epsilon, self.config.momentum)
    }

    fn gamma_beta(&self) -> (&Array2<f64>, &Array2<f64>) {
        (&self.gamma, &self.beta)
    }

    fn gamma_beta_mut(&mut self) -> (&mut Array2<f64>, &mut Array2<f64>) {
        (&mut self.gamma, &mut self.beta)
    }

    /// Each unit over the m examples: μ and σ² are (n, 1).
    fn axis(&self) -> Axis {
        Axis(1)
    }

    fn min_batch(&self) -> usize {
        2
    }

    fn train(&self, z: ArrayView2<f64>) -> (Array2<f64>, NormalizationCache) {
        normalize_along(z, Axis(1), self.config.epsilon, &self.gamma, &self.beta)
    }

    fn eval(&self, z: ArrayView2<f64>) -> Array2<f64> {
        let inv_std = inv_std(&self.running_var, self.config.epsilon);
        (&z - &self.running_mean) * &inv_std * &self.gamma + &self.beta
    }

    fn backward_step(&self, cache: &NormalizationCache, dz_tilde: ArrayView2<f64>) -> NormalizationGrads {
        backward_along(cache, dz_tilde, Axis(1), &self.gamma)
    }

    fn check_tensors(&self, units: usize) -> Result<()> {
        self.config.validate()?;
        for (name, t) in self.running() {
            if t.dim() != (units, 1) {
                return Err(AnnError::ShapeMismatch {
                    context: format!("batch norm {name}"),
                    expected: format!("({units}, 1)"),
                    got: shape_str(t.shape()),
                });
            }
        }
        if let Some(v) = self.running_var.iter().find(|v| **v < 0.0) {
            return Err(bad_hyper("batch norm running variance", *v, "must be >= 0"));
        }
        Ok(())
    }

    fn running(&self) -> Vec<(&'static str, &Array2<f64>)> {
        vec![("running mean", &self.running_mean), ("running variance", &self.running_var)]
    }

    fn check_running(&self, cache: &NormalizationCache) -> Result<()> {
        if cache.mean.dim() != self.running_mean.dim() || cache.var.dim() != self.running_var.dim() {
            return Err(AnnError::ShapeMismatch {
                context: "batch norm running statistics from a batch's μ and σ²".into(),
                expected: shape_str(self.running_mean.shape()),
                got: shape_str(cache.mean.shape()),
            });
        }
        Ok(())
    }

    fn move_running(&mut self, cache: &NormalizationCache) {
        let k = self.config.momentum;
        self.running_mean = &self.running_mean * k + &cache.mean * (1.0 - k);
        self.running_var = &self.running_var * k + &cache.var * (1.0 - k);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalization::tests::{random, spread};

    /// A batch-norm layer with γ and β away from 1 and 0.
    fn layer(n: usize) -> BatchNorm {
        let mut bn = BatchNorm::new(n, BatchNormConfig::default()).unwrap();
        spread(&mut bn);
        bn
    }

    #[test]
    fn training_output_has_zero_mean_and_unit_variance_per_unit_before_gamma_and_beta() {
        let bn = BatchNorm::new(3, BatchNormConfig::default()).unwrap();
        let z = random(3, 50, 1).mapv(|v| 5.0 * v + 3.0);
        let (zt, cache) = bn.forward_train(z.view()).unwrap();
        for i in 0..3 {
            let row = zt.row(i);
            let mean = row.mean().unwrap();
            let var = row.mapv(|v| (v - mean) * (v - mean)).mean().unwrap();
            assert!(mean.abs() < 1e-12 && (var - 1.0).abs() < 1e-5, "unit {i}: mean {mean}, var {var}");
        }
        assert_eq!(cache.z_hat, zt, "γ = 1, β = 0: Z̃ = Ẑ");
    }

    #[test]
    fn evaluation_uses_the_running_statistics_not_the_batch() {
        let mut bn = layer(2);
        bn.config.momentum = 0.5;
        let z = random(2, 8, 4).mapv(|v| 3.0 * v + 1.0);
        let (_, cache) = bn.forward_train(z.view()).unwrap();
        bn.update_running(&cache).unwrap();
        // μ_run = 0.5 · 0 + 0.5 · μ_B, σ²_run = 0.5 · 1 + 0.5 · σ²_B.
        let mu = z.mean_axis(Axis(1)).unwrap();
        for i in 0..2 {
            assert!((bn.running_mean[[i, 0]] - 0.5 * mu[i]).abs() < 1e-12);
            let var = z.row(i).mapv(|v| (v - mu[i]).powi(2)).mean().unwrap();
            assert!((bn.running_var[[i, 0]] - (0.5 + 0.5 * var)).abs() < 1e-12);
        }
        // One column alone gives the same output as inside the batch: no batch statistics.
        let all = bn.forward_eval(z.view()).unwrap();
        let one = bn.forward_eval(z.slice(ndarray::s![.., 3..4])).unwrap();
        assert_eq!(one.column(0), all.column(3));
        // And it differs from the training output, which normalized with the batch's μ, σ².
        let (train, _) = bn.forward_train(z.view()).unwrap();
        assert!((&train - &all).iter().any(|d| d.abs() > 1e-3));
    }

    #[test]
    fn bad_input_and_hyperparameters_are_errors() {
        let bn = BatchNorm::new(3, BatchNormConfig::default()).unwrap();
        let err = bn.forward_train(random(3, 1, 5).view()).unwrap_err();
        assert!(err.to_string().contains("at least 2"), "{err}");
        assert!(bn.forward_train(random(2, 5, 5).view()).unwrap_err().to_string().contains("(3, m)"));
        let mut nan = random(3, 4, 5);
        nan[[1, 1]] = f64::NAN;
        assert!(matches!(bn.forward_train(nan.view()), Err(AnnError::NonFinite(_))));
        for (epsilon, momentum) in [(0.0, 0.9), (-1e-5, 0.9), (f64::NAN, 0.9), (1e-5, 1.0), (1e-5, -0.1)] {
            let err = BatchNorm::new(3, BatchNormConfig { epsilon, momentum }).unwrap_err();
            assert!(matches!(err, AnnError::InvalidHyperparameter { .. }), "{err}");
        }
        assert!(BatchNorm::new(0, BatchNormConfig::default()).is_err());
        let (_, cache) = bn.forward_train(random(3, 4, 6).view()).unwrap();
        assert!(bn.backward(&cache, random(3, 5, 6).view()).is_err());
        // A batch of one in evaluation mode is fine: it uses the running statistics.
        assert!(bn.forward_eval(random(3, 1, 7).view()).is_ok());
        // Running statistics from another layer's batch; a layer as read from a bad file.
        let (_, other) = BatchNorm::new(2, BatchNormConfig::default())
            .unwrap()
            .forward_train(random(2, 4, 8).view())
            .unwrap();
        assert!(bn.clone().update_running(&other).is_err());
        let wrapped = |bn: &BatchNorm| Normalization::BatchNorm(bn.clone());
        assert!(wrapped(&bn).validate(3, 1).is_ok());
        let err = wrapped(&bn).validate(4, 2).unwrap_err().to_string();
        assert!(err.contains("γ of layer 2") && err.contains("(4, 1)"), "{err}");
        let mut bad = bn.clone();
        bad.running_var[[0, 0]] = -0.5;
        assert!(wrapped(&bad).validate(3, 1).unwrap_err().to_string().contains("running variance"));
        bad.running_var[[0, 0]] = f64::INFINITY;
        assert!(matches!(wrapped(&bad).validate(3, 1), Err(AnnError::NonFinite(_))));
    }
}
