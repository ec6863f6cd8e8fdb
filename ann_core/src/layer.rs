//! One dense layer: Z[l] = W[l] A[l−1] + b[l],  A[l] = g\[l\](Z[l]), or, with a
//! normalization, A[l] = g\[l\](Z̃[l]) where Z̃[l] = γ[l] ⊙ Ẑ[l] + β[l] normalizes Z[l] (see
//! [`crate::normalization`]).

use crate::activation::Activation;
use crate::normalization::{BatchNorm, Normalization};
use crate::param::{Param, ParamId, ParamKind, ParamMut};
use ndarray::Array2;
use serde::{Deserialize, Serialize};

/// A dense layer. `w` is W[l] with shape (n_l, n_{l−1}); `b` is b[l] with shape (n_l, 1),
/// broadcast over the m columns (examples).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "LayerRepr")]
pub struct Layer {
    /// W[l], shape (n_l, n_{l−1}).
    pub w: Array2<f64>,
    /// b[l], shape (n_l, 1).
    pub b: Array2<f64>,
    /// g[l].
    pub activation: Activation,
    /// A normalization of Z[l] before g[l] (hidden layers only), or None.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub normalization: Option<Normalization>,
}

/// A layer as files write it: version 2 of the network file named a batch norm
/// `batch_norm`; any other unknown field is an error.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LayerRepr {
    w: Array2<f64>,
    b: Array2<f64>,
    activation: Activation,
    #[serde(default)]
    normalization: Option<Normalization>,
    #[serde(default)]
    batch_norm: Option<BatchNorm>,
}

impl From<LayerRepr> for Layer {
    fn from(r: LayerRepr) -> Self {
        let normalization = r.normalization.or(r.batch_norm.map(Normalization::BatchNorm));
        Layer { w: r.w, b: r.b, activation: r.activation, normalization }
    }
}

impl Layer {
    /// A layer without normalization.
    pub fn new(w: Array2<f64>, b: Array2<f64>, activation: Activation) -> Self {
        Layer { w, b, activation, normalization: None }
    }

    /// n_{l−1}: inputs to this layer.
    pub fn fan_in(&self) -> usize {
        self.w.ncols()
    }

    /// n_l: units of this layer.
    pub fn units(&self) -> usize {
        self.w.nrows()
    }

    /// The layer's parameters, as layer `l`: W[l], b[l], then the normalization's γ[l], β[l].
    pub fn params(&self, l: usize) -> impl Iterator<Item = Param<'_>> {
        let dense = [(ParamId::w(l), &self.w), (ParamId::b(l), &self.b)];
        let norm = self.normalization.iter().flat_map(move |n| {
            let (gamma, beta) = n.kind().gamma_beta();
            [(ParamId::gamma(l), gamma), (ParamId::beta(l), beta)]
        });
        dense.into_iter().chain(norm).map(|(id, value)| Param { id, value: value.view() })
    }

    /// The layer's parameters, as layer `l`, to update in place (shapes must stay).
    pub fn params_mut(&mut self, l: usize) -> impl Iterator<Item = ParamMut<'_>> {
        let Layer { w, b, normalization, .. } = self;
        let dense = [(ParamKind::Weight, w), (ParamKind::Bias, b)];
        let norm = normalization.iter_mut().flat_map(|n| {
            let (gamma, beta) = n.kind_mut().gamma_beta_mut();
            [(ParamKind::Scale, gamma), (ParamKind::Shift, beta)]
        });
        dense
            .into_iter()
            .chain(norm)
            .map(move |(kind, value)| ParamMut { id: ParamId { layer: l, kind }, value: value.view_mut() })
    }

    /// Number of trainable numbers: n_l · n_{l−1} + n_l, and 2 n_l more (γ[l], β[l]) with a
    /// normalization.
    pub fn n_params(&self) -> usize {
        self.params(1).map(|p| p.value.len()).sum()
    }
}
