//! One layer: Z[l] = W[l] A[l−1] + b[l] (dense) or Z[l] = W[l] ⋆ A[l−1] + b[l]
//! (convolutional, see [`crate::conv`]), then A[l] = g\[l\](Z[l]) (pooled, for a convolutional
//! layer that pools). With a normalization, A[l] = g\[l\](Z̃[l]) where Z̃[l] = γ[l] ⊙ Ẑ[l] + β[l]
//! normalizes Z[l] (see [`crate::normalization`]).

use crate::activation::Activation;
use crate::conv::{Conv2d, Image, MaxPool2d};
use crate::normalization::{BatchNorm, Normalization};
use crate::param::{Param, ParamId, ParamKind, ParamMut};
use ndarray::Array2;
use serde::{Deserialize, Serialize};

/// How a layer computes Z[l] from A[l−1]: the list of layer kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum LayerKind {
    /// Z[l] = W[l] A[l−1] + b[l]: W[l] is (n_l, n_{l−1}), b[l] is (n_l, 1).
    #[default]
    Dense,
    /// Z[l] = W[l] ⋆ A[l−1] + b[l] on images, and A[l] = maxpool(g(Z[l])) if it pools: W[l]
    /// is (F, C·k·k), b[l] is (F, 1) (see [`crate::conv`]).
    Conv2d(Conv2d),
}

impl LayerKind {
    fn is_dense(&self) -> bool {
        *self == LayerKind::Dense
    }
}

/// A layer. `w` is W[l]: (n_l, n_{l−1}) for a dense layer, (F, C·k·k) for a convolutional
/// one; `b` is b[l], (n_l, 1) or (F, 1), broadcast over the m columns (examples) and, in a
/// convolutional layer, over the positions of each filter's output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "LayerRepr")]
pub struct Layer {
    /// W[l].
    pub w: Array2<f64>,
    /// b[l].
    pub b: Array2<f64>,
    /// g[l].
    pub activation: Activation,
    /// A normalization of Z[l] before g[l] (hidden dense layers only), or None.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub normalization: Option<Normalization>,
    /// Dense or convolutional.
    #[serde(default, skip_serializing_if = "LayerKind::is_dense")]
    pub kind: LayerKind,
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
    #[serde(default)]
    kind: LayerKind,
}

impl From<LayerRepr> for Layer {
    fn from(r: LayerRepr) -> Self {
        let normalization = r.normalization.or(r.batch_norm.map(Normalization::BatchNorm));
        Layer { w: r.w, b: r.b, activation: r.activation, normalization, kind: r.kind }
    }
}

impl Layer {
    /// A dense layer without normalization.
    pub fn new(w: Array2<f64>, b: Array2<f64>, activation: Activation) -> Self {
        Layer { w, b, activation, normalization: None, kind: LayerKind::Dense }
    }

    /// A convolutional layer: filters W (F, C·k·k), biases b (F, 1), on `conv`'s input
    /// image.
    pub fn conv(w: Array2<f64>, b: Array2<f64>, activation: Activation, conv: Conv2d) -> Self {
        Layer { w, b, activation, normalization: None, kind: LayerKind::Conv2d(conv) }
    }

    /// n_{l−1}: the rows of A[l−1] this layer takes (C·H·W for a convolutional layer).
    pub fn fan_in(&self) -> usize {
        match &self.kind {
            LayerKind::Dense => self.w.ncols(),
            LayerKind::Conv2d(conv) => conv.input.len(),
        }
    }

    /// n_l: the rows of A[l], what the next layer takes (F·H″·W″ after a convolution and
    /// its pooling).
    pub fn units(&self) -> usize {
        self.output_image().map_or(self.w.nrows(), |image| image.len())
    }

    /// The rows of Z[l]: n_l, or F·H′·W′ for a convolutional layer (before pooling).
    pub fn z_units(&self) -> usize {
        match &self.kind {
            LayerKind::Dense => self.w.nrows(),
            LayerKind::Conv2d(conv) => conv.conv_output(self.w.nrows()).len(),
        }
    }

    /// The image of A[l] of a convolutional layer (None for a dense one).
    pub fn output_image(&self) -> Option<Image> {
        match &self.kind {
            LayerKind::Dense => None,
            LayerKind::Conv2d(conv) => Some(conv.output(self.w.nrows())),
        }
    }

    /// The pooling after g\[l\] and the image it pools (F × H′ × W′), if any.
    pub fn pooling(&self) -> Option<(MaxPool2d, Image)> {
        match &self.kind {
            LayerKind::Dense => None,
            LayerKind::Conv2d(conv) => conv.pool.map(|pool| (pool, conv.conv_output(self.w.nrows()))),
        }
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
