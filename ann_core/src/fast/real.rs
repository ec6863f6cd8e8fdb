//! The two precisions the fast path runs in: f64 (the reference's, the default) and f32
//! (half the bytes per number, twice the numbers per vector instruction).
//!
//! The kernels are generic over [`Real`], so each is written once; with `F = f64` they are
//! the very code the reference's bits are proven against. An activation's g and g', an update
//! rule's equations and the losses stay the f64 functions of the math's modules: in f32 each
//! entry is widened to f64, put through that function, and rounded back ([`Real::of`]). Two
//! small pieces have an f32 body of their own, computed in f64 over the f32 values: softmax's
//! forward pass and the summation of ‖M‖_F. Only the storage, the products and the
//! element-wise plumbing are f32.

use crate::activation::Activation;
use crate::dropout;
use ndarray::{Array2, ArrayView2, ArrayViewMut2, Axis, LinalgScalar};
use rand::rngs::ChaCha8Rng;
use std::fmt::Debug;

/// A floating-point type the fast path computes in: f64 or f32.
pub(crate) trait Real:
    LinalgScalar + Send + Sync + Debug + PartialOrd + std::ops::AddAssign + std::ops::MulAssign
{
    /// The nearest value of this type to `v` (f64: `v` itself).
    fn of(v: f64) -> Self;
    /// The value as an f64 (exact for both types).
    fn wide(self) -> f64;
    /// ‖M‖_F in f64 (f64: [`crate::matrix_norm::frobenius`]; f32: its summation order on the
    /// widened values).
    fn frobenius(m: ArrayView2<Self>) -> f64;
    /// Softmax of every column of `a`, in place.
    fn softmax_columns(a: ArrayViewMut2<Self>);
    /// A dropout mask into a `d` whose entries are not contiguous: the words of
    /// [`dropout::fill_mask`].
    fn fill_mask_strided(d: ArrayViewMut2<Self>, keep: f64, rng: &mut ChaCha8Rng);
}

impl Real for f64 {
    #[inline(always)]
    fn of(v: f64) -> f64 {
        v
    }
    #[inline(always)]
    fn wide(self) -> f64 {
        self
    }
    fn frobenius(m: ArrayView2<f64>) -> f64 {
        crate::matrix_norm::frobenius(m)
    }
    fn softmax_columns(a: ArrayViewMut2<f64>) {
        Activation::Softmax.forward_inplace(a);
    }
    fn fill_mask_strided(d: ArrayViewMut2<f64>, keep: f64, rng: &mut ChaCha8Rng) {
        dropout::fill_mask(d, keep, rng);
    }
}

impl Real for f32 {
    #[inline(always)]
    fn of(v: f64) -> f32 {
        v as f32
    }
    #[inline(always)]
    fn wide(self) -> f64 {
        f64::from(self)
    }
    fn frobenius(m: ArrayView2<f32>) -> f64 {
        let Some(values) = m.as_slice_memory_order() else {
            return m.iter().map(|&v| f64::from(v) * f64::from(v)).sum::<f64>().sqrt();
        };
        let mut partial = [0.0f64; 8];
        let mut chunks = values.chunks_exact(8);
        for chunk in &mut chunks {
            for (p, &v) in partial.iter_mut().zip(chunk) {
                *p += f64::from(v) * f64::from(v);
            }
        }
        let tail: f64 = chunks.remainder().iter().map(|&v| f64::from(v) * f64::from(v)).sum();
        (partial.iter().sum::<f64>() + tail).sqrt()
    }
    /// Each column's softmax computed in f64 from its f32 logits (the max subtracted, as
    /// [`Activation::Softmax`] does) and rounded once per entry.
    fn softmax_columns(mut a: ArrayViewMut2<f32>) {
        for mut col in a.axis_iter_mut(Axis(1)) {
            let max = col.fold(f64::NEG_INFINITY, |m, &v| m.max(f64::from(v)));
            let sum = col.fold(0.0, |s, &v| s + (f64::from(v) - max).exp());
            col.mapv_inplace(|v| ((f64::from(v) - max).exp() / sum) as f32);
        }
    }
    fn fill_mask_strided(mut d: ArrayViewMut2<f32>, keep: f64, rng: &mut ChaCha8Rng) {
        let mut wide = Array2::zeros(d.raw_dim());
        dropout::fill_mask(wide.view_mut(), keep, rng);
        d.zip_mut_with(&wide, |d, &w| *d = w as f32);
    }
}

/// `g` of the math's modules (an f64 function) at precision `F`: exact for f64, the f64 value
/// rounded once for f32.
#[inline(always)]
pub(crate) fn at<F: Real>(g: impl Fn(f64) -> f64 + Copy) -> impl Fn(F) -> F + Copy {
    move |z: F| F::of(g(z.wide()))
}
