//! One dense layer: Z[l] = W[l] A[l−1] + b[l],  A[l] = g\[l\](Z[l]), or, with batch
//! normalization, A[l] = g\[l\](Z̃[l]) where Z̃[l] = γ[l] ⊙ Ẑ[l] + β[l] normalizes Z[l] unit by
//! unit (see [`crate::batchnorm`]).

use crate::activation::Activation;
use crate::batchnorm::BatchNorm;
use ndarray::Array2;
use serde::{Deserialize, Serialize};

/// A dense layer. `w` is W[l] with shape (n_l, n_{l−1}); `b` is b[l] with shape (n_l, 1),
/// broadcast over the m columns (examples).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Layer {
    /// W[l], shape (n_l, n_{l−1}).
    pub w: Array2<f64>,
    /// b[l], shape (n_l, 1).
    pub b: Array2<f64>,
    /// g[l].
    pub activation: Activation,
    /// Batch normalization of Z[l] before g[l] (hidden layers only), or None.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_norm: Option<BatchNorm>,
}

impl Layer {
    /// A layer without batch normalization.
    pub fn new(w: Array2<f64>, b: Array2<f64>, activation: Activation) -> Self {
        Layer { w, b, activation, batch_norm: None }
    }

    /// n_{l−1}: inputs to this layer.
    pub fn fan_in(&self) -> usize {
        self.w.ncols()
    }

    /// n_l: units of this layer.
    pub fn units(&self) -> usize {
        self.w.nrows()
    }

    /// Number of trainable numbers: n_l · n_{l−1} + n_l, and 2 n_l more (γ[l], β[l]) with
    /// batch normalization.
    pub fn n_params(&self) -> usize {
        let norm = self.batch_norm.as_ref().map_or(0, |bn| bn.gamma.len() + bn.beta.len());
        self.w.len() + self.b.len() + norm
    }
}
