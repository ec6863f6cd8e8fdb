//! Layer normalization of one layer's pre-activations, example by example over its units
//! (Ba, Kiros and Hinton).
//!
//! For Z of shape (n, m) (n units, m examples), for each column j:
//!
//! μⱼ = (1/n) Σᵢ Z[i, j],  σ²ⱼ = (1/n) Σᵢ (Z[i, j] − μⱼ)²,
//! Ẑ[:, j] = (Z[:, j] − μⱼ) / √(σ²ⱼ + ε),  Z̃ = γ ⊙ Ẑ + β,
//!
//! with γ and β of shape (n, 1), one per unit, learned like W and b. Batch normalization
//! averages along the other axis (each unit over the batch). Here every example is
//! normalized by its own statistics, so training and evaluation compute the same thing:
//! there are no running averages, a batch of one example works, and a prediction never
//! depends on the rest of its batch.
//!
//! Backward, from dZ̃ = ∂J/∂Z̃ (dγ and dβ sum over the examples, as γ and β are per unit;
//! the chain rule through μⱼ and σ²ⱼ sums over the units of each column):
//!
//! dβ = Σⱼ dZ̃[:, j],  dγ = Σⱼ (dZ̃ ⊙ Ẑ)[:, j],  dẐ = γ ⊙ dZ̃,
//! dZ[:, j] = (1/n) · (1/√(σ²ⱼ + ε)) (n dẐ[:, j] − Σᵢ dẐ[i, j] − Ẑ[:, j] Σᵢ (dẐ ⊙ Ẑ)[i, j]).

use super::{
    Normalization, NormalizationCache, NormalizationConfig, NormalizationGrads, Normalize, backward_along,
    check_epsilon, normalize_along,
};
use crate::error::{AnnError, Result};
use ndarray::{Array2, ArrayView2, Axis};
use serde::{Deserialize, Serialize};

/// The hyperparameters of layer normalization.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayerNormConfig {
    /// ε > 0, added to σ² so that an example whose units are all equal does not divide by 0.
    pub epsilon: f64,
}

impl Default for LayerNormConfig {
    /// ε = 10⁻⁵.
    fn default() -> Self {
        LayerNormConfig { epsilon: 1e-5 }
    }
}

impl NormalizationConfig for LayerNormConfig {
    fn build(&self, units: usize) -> Result<Normalization> {
        Ok(Normalization::LayerNorm(LayerNorm::new(units, *self)?))
    }
}

/// One layer's layer normalization: its learned γ and β.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayerNorm {
    /// γ, shape (n, 1); starts at 1.
    pub gamma: Array2<f64>,
    /// β, shape (n, 1); starts at 0.
    pub beta: Array2<f64>,
    /// ε.
    pub config: LayerNormConfig,
}

impl LayerNorm {
    /// Layer normalization of `units` ≥ 2 units (the σ² of one unit is 0): γ = 1, β = 0.
    pub fn new(units: usize, config: LayerNormConfig) -> Result<Self> {
        check_epsilon("layer norm", config.epsilon)?;
        if units < 2 {
            return Err(AnnError::InvalidArchitecture(format!(
                "layer norm of a layer with {units} unit(s): it averages over the units of each \
                 example and needs at least 2"
            )));
        }
        Ok(LayerNorm { gamma: Array2::ones((units, 1)), beta: Array2::zeros((units, 1)), config })
    }
}

impl Normalize for LayerNorm {
    fn name(&self) -> &'static str {
        "layer norm"
    }

    fn describe(&self) -> String {
        format!("layer norm (ε = {})", self.config.epsilon)
    }

    fn gamma_beta(&self) -> (&Array2<f64>, &Array2<f64>) {
        (&self.gamma, &self.beta)
    }

    fn gamma_beta_mut(&mut self) -> (&mut Array2<f64>, &mut Array2<f64>) {
        (&mut self.gamma, &mut self.beta)
    }

    /// Each example over its n units: μ and σ² are (1, m).
    fn axis(&self) -> Axis {
        Axis(0)
    }

    fn train(&self, z: ArrayView2<f64>) -> (Array2<f64>, NormalizationCache) {
        normalize_along(z, Axis(0), self.config.epsilon, &self.gamma, &self.beta)
    }

    /// The training step's Z̃: each example has its own statistics.
    fn eval(&self, z: ArrayView2<f64>) -> Array2<f64> {
        self.train(z).0
    }

    fn backward_step(&self, cache: &NormalizationCache, dz_tilde: ArrayView2<f64>) -> NormalizationGrads {
        backward_along(cache, dz_tilde, Axis(0), &self.gamma)
    }

    fn check_tensors(&self, units: usize) -> Result<()> {
        check_epsilon("layer norm", self.config.epsilon)?;
        if units < 2 {
            return Err(AnnError::InvalidArchitecture(format!(
                "layer norm of {units} unit(s): needs at least 2"
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalization::tests::{random, spread};
    use crate::normalization::{checked_backward, checked_train};

    /// A layer norm with γ and β away from 1 and 0.
    fn layer(n: usize) -> LayerNorm {
        let mut ln = LayerNorm::new(n, LayerNormConfig::default()).unwrap();
        spread(&mut ln);
        ln
    }

    #[test]
    fn every_example_has_zero_mean_and_unit_variance_over_its_units() {
        let ln = LayerNorm::new(5, LayerNormConfig::default()).unwrap();
        let z = random(5, 7, 1).mapv(|v| 4.0 * v - 2.0);
        let (zt, cache) = ln.train(z.view());
        assert_eq!(cache.mean.dim(), (1, 7));
        for col in zt.columns() {
            let mean = col.mean().unwrap();
            let var = col.mapv(|v| (v - mean) * (v - mean)).mean().unwrap();
            assert!(mean.abs() < 1e-12 && (var - 1.0).abs() < 1e-4, "mean {mean}, var {var}");
        }
        // Evaluation computes the same; one column alone gives its column of the batch.
        assert_eq!(ln.eval(z.view()), zt);
        let one = ln.eval(z.slice(ndarray::s![.., 2..3]));
        assert_eq!(one.column(0), zt.column(2));
    }

    #[test]
    fn a_batch_of_one_works_and_bad_input_is_an_error() {
        let ln = layer(3);
        assert!(checked_train(&ln, random(3, 1, 4).view()).is_ok());
        assert!(checked_train(&ln, random(2, 4, 4).view()).unwrap_err().to_string().contains("(3, m)"));
        assert!(LayerNorm::new(1, LayerNormConfig::default()).is_err());
        assert!(LayerNorm::new(3, LayerNormConfig { epsilon: 0.0 }).is_err());
        let (_, cache) = ln.train(random(3, 4, 5).view());
        assert!(checked_backward(&ln, &cache, random(3, 5, 6).view()).is_err());
        let (_, other) = layer(4).train(random(4, 4, 5).view());
        assert!(checked_backward(&ln, &other, random(4, 4, 6).view()).is_err());
    }
}
