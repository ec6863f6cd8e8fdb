//! The forward cache: everything backpropagation needs, kept per layer.
//!
//! Z[l] = W[l] A[l−1] + b[l] (W[l] ⋆ A[l−1] + b[l] in a convolutional layer),
//! A[l] = g\[l\](Z[l]) (pooled in a layer that pools; ⊙ D[l] / keep_prob[l] in training);
//! with a normalization, g\[l\] takes Z̃[l] = γ[l] ⊙ Ẑ[l] + β[l] instead of Z[l].

use crate::conv::PoolCache;
use crate::normalization::NormalizationCache;
use ndarray::{Array2, ArrayView2};
use std::marker::PhantomData;

/// Marker: the cache came from a training-mode pass (dropout masks drawn).
#[derive(Debug, Clone, Copy)]
pub struct Train;
/// Marker: the cache came from an evaluation pass (no dropout).
#[derive(Debug, Clone, Copy)]
pub struct Eval;

/// Z[l], A[l] (and D[l] in training) for l = 1..=L, plus A[0] = X.
///
/// The mode parameter keeps training and evaluation passes apart in the type system:
/// only a `Cache<Train>` has dropout masks.
#[derive(Debug, Clone)]
pub struct Cache<Mode> {
    pub(crate) a0: Array2<f64>,
    pub(crate) z: Vec<Array2<f64>>,
    pub(crate) a: Vec<Array2<f64>>,
    pub(crate) masks: Vec<Option<Array2<f64>>>,
    pub(crate) keep: Vec<f64>,
    /// Per layer, Ẑ and its statistics where a normalization ran in training mode.
    pub(crate) normalization: Vec<Option<NormalizationCache>>,
    /// Per layer, the arg-max of every window where the layer pools.
    pub(crate) pool: Vec<Option<PoolCache>>,
    pub(crate) mode: PhantomData<Mode>,
}

impl<Mode> Cache<Mode> {
    /// L, the number of layers cached.
    pub fn num_layers(&self) -> usize {
        self.z.len()
    }

    /// m, the number of examples (columns).
    pub fn batch_size(&self) -> usize {
        self.a0.ncols()
    }

    /// Z[l] for l in 1..=L (None out of range): the input of g\[l\], so Z̃[l] for a
    /// normalized layer.
    pub fn z(&self, l: usize) -> Option<ArrayView2<'_, f64>> {
        l.checked_sub(1).and_then(|i| self.z.get(i)).map(|z| z.view())
    }

    /// A[l] for l in 0..=L; A[0] is the input X. A pooling layer's A[l] is pooled; in
    /// training A[l] already includes the dropout mask and the 1/keep_prob scaling.
    pub fn a(&self, l: usize) -> Option<ArrayView2<'_, f64>> {
        if l == 0 { Some(self.a0.view()) } else { self.a.get(l - 1).map(|a| a.view()) }
    }

    /// The prediction Ŷ = A[L].
    pub fn output(&self) -> ArrayView2<'_, f64> {
        self.a.last().map(|a| a.view()).unwrap_or(self.a0.view())
    }

    /// Takes the prediction out of the cache.
    pub fn into_output(mut self) -> Array2<f64> {
        self.a.pop().unwrap_or(self.a0)
    }

    pub(crate) fn mask_index(&self, i: usize) -> Option<&Array2<f64>> {
        self.masks.get(i).and_then(Option::as_ref)
    }

    pub(crate) fn normalization_index(&self, i: usize) -> Option<&NormalizationCache> {
        self.normalization.get(i).and_then(Option::as_ref)
    }

    /// The arg-max of every pooling window of layer l (None where the layer does not pool).
    pub fn pooling(&self, l: usize) -> Option<&PoolCache> {
        l.checked_sub(1).and_then(|i| self.pool.get(i)).and_then(Option::as_ref)
    }
}

impl Cache<Train> {
    /// D[l], the 0/1 dropout mask of layer l (None where keep_prob[l] = 1).
    pub fn mask(&self, l: usize) -> Option<ArrayView2<'_, f64>> {
        l.checked_sub(1).and_then(|i| self.mask_index(i)).map(|d| d.view())
    }

    /// All masks D[1..=L] (for replaying a pass with frozen masks in gradient checking).
    pub fn masks(&self) -> Vec<Option<Array2<f64>>> {
        self.masks.clone()
    }

    /// The statistics of layer l's normalization in this pass, Ẑ[l] and its μ, σ² (None for
    /// other layers).
    pub fn normalization_stats(&self, l: usize) -> Option<&NormalizationCache> {
        l.checked_sub(1).and_then(|i| self.normalization_index(i))
    }

    /// keep_prob[l] used in this pass.
    pub fn keep_prob(&self, l: usize) -> f64 {
        l.checked_sub(1).and_then(|i| self.keep.get(i)).copied().unwrap_or(1.0)
    }
}
