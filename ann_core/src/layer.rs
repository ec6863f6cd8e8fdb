//! One dense layer: Z[l] = W[l] A[l−1] + b[l],  A[l] = g\[l\](Z[l]).

use crate::activation::Activation;
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
}

impl Layer {
    /// n_{l−1}: inputs to this layer.
    pub fn fan_in(&self) -> usize {
        self.w.ncols()
    }

    /// n_l: units of this layer.
    pub fn units(&self) -> usize {
        self.w.nrows()
    }

    /// Number of trainable numbers: n_l · n_{l−1} + n_l.
    pub fn n_params(&self) -> usize {
        self.w.len() + self.b.len()
    }
}
