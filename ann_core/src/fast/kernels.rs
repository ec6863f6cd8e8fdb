//! The element-wise passes of a training step, each one loop over the memory: the batch
//! gathered from the data set, Z += b and A = g(Z) ⊙ D / keep_prob fused per layer, and
//! dZ = dA ⊙ D / keep_prob ⊙ g'(Z) in place. Each entry is computed with the reference's
//! operations in the reference's order, so the results are its bits.

use super::real::{Real, at};
use super::simd::wide;
use crate::activation::{Activation, Specialized};
use crate::dropout;
use crate::l2::L2;
use ndarray::{Array2, ArrayView2, ArrayViewMut2, ShapeBuilder, Zip};
use rand::rngs::ChaCha8Rng;

/// Writes the columns `idx` of X into `out` (shape (n, |idx|)), without allocating:
/// the batch X{t} gathered straight from the data set (each entry rounded to the precision
/// of `out`). `idx` must be in range.
///
/// The loop follows X's memory: row by row for a row-major X, column by column when X's
/// columns are contiguous (column-major, one example per contiguous block), where a batch
/// is a few block copies instead of one scattered read per entry.
pub(super) fn gather_columns_into<S: Real, F: Real>(
    x: ArrayView2<S>,
    idx: &[usize],
    mut out: ArrayViewMut2<F>,
) {
    if x.strides()[0] == 1 && x.nrows() > 1 {
        for (mut dst, &j) in out.columns_mut().into_iter().zip(idx) {
            let src = x.column(j);
            match (dst.as_slice_mut(), src.as_slice()) {
                (Some(d), Some(s)) => wide(|| d.iter_mut().zip(s).for_each(|(d, &s)| *d = F::of(s.wide()))),
                _ => Zip::from(dst).and(src).for_each(|d, &s| *d = F::of(s.wide())),
            }
        }
    } else {
        Zip::from(out.rows_mut()).and(x.rows()).for_each(|mut dst, src| {
            for (d, &j) in dst.iter_mut().zip(idx) {
                *d = F::of(src[j].wide());
            }
        });
    }
}

/// `buf` with `x`'s memory order: column-major (each example contiguous) when X is, else
/// row-major; reallocated (zeros) only when the order changes. Gathering from a column-major X
/// into a column-major batch copies one block per example.
pub(super) fn in_memory_order_of<S, F: Real>(buf: &mut Array2<F>, x: ArrayView2<S>) {
    let column_major = x.strides()[0] == 1 && x.nrows() > 1;
    if column_major == buf.is_standard_layout() {
        let shape = buf.raw_dim();
        *buf = if column_major { Array2::zeros(shape.f()) } else { Array2::zeros(shape) };
    }
}

/// dW[l] (holding dZ[l] A[l−1]ᵀ) = (1/m) dZ[l] A[l−1]ᵀ + (λ/N) W[l] in place, for a batch of
/// `m` examples (the L2 term only when λ ≠ 0).
pub(super) fn scale_weight_gradient<F: Real>(dw: &mut Array2<F>, w: ArrayView2<F>, l2: L2, m: usize) {
    let inv_m = F::of(1.0 / m as f64);
    if l2.lambda != 0.0 {
        let c = F::of(l2.coefficient(m));
        zip2_mut(dw, w, |d, w| *d = *d * inv_m + c * w);
    } else if let Some(dw) = dw.as_slice_mut() {
        wide(|| dw.iter_mut().for_each(|d| *d *= inv_m));
    } else {
        dw.mapv_inplace(|d| d * inv_m);
    }
}

/// db[l] = (1/m) Σ dZ[l] over each row of `dz` (the columns, and for a convolutional layer
/// seen per filter, the positions), for a batch of `m` examples.
pub(super) fn bias_gradient<F: Real>(db: &mut Array2<F>, dz: ArrayView2<F>, m: usize) {
    let m = F::of(m as f64);
    Zip::from(db.rows_mut()).and(dz.rows()).for_each(|mut b, row| b[0] = row.sum() / m);
}

/// Z += b (broadcast over columns; no bias for a normalized layer, whose Z̃ replaced Z
/// already), then A = g(Z) ⊙ D / keep_prob: one pass per row for the element-wise
/// activations, softmax column by column.
pub(super) fn activate<F: Real>(
    act: Activation,
    b: Option<ArrayView2<F>>,
    mut z: ArrayViewMut2<F>,
    mut a: ArrayViewMut2<F>,
    mask: Option<(ArrayView2<F>, F)>,
) {
    let fused = FusedForward { b, z: z.view_mut(), a: a.view_mut(), mask };
    if act.specialized(fused).is_some() {
        return;
    }
    // Softmax: a function of each whole column.
    if let Some(b) = b {
        add_bias(z.view_mut(), b);
    }
    a.assign(&z);
    F::softmax_columns(a.view_mut());
    if let Some((d, keep)) = mask {
        let scale = F::one() / keep;
        Zip::from(&mut a).and(&d).for_each(|a, &d| *a = *a * d * scale);
    }
}

/// Z[l] += b[l], b broadcast over the columns.
pub(super) fn add_bias<F: Real>(mut z: ArrayViewMut2<F>, b: ArrayView2<F>) {
    Zip::from(z.rows_mut()).and(b.rows()).for_each(|mut zr, br| {
        let bias = br[0];
        zr.mapv_inplace(|v| v + bias);
    });
}

/// [`activate`] for an element-wise activation, g compiled into the loop.
struct FusedForward<'a, F> {
    b: Option<ArrayView2<'a, F>>,
    z: ArrayViewMut2<'a, F>,
    a: ArrayViewMut2<'a, F>,
    mask: Option<(ArrayView2<'a, F>, F)>,
}

impl<F: Real> Specialized for FusedForward<'_, F> {
    type Output = ();
    fn run(self, g: impl Fn(f64) -> f64 + Copy, _delta: impl Fn(f64, f64, f64) -> f64 + Copy) {
        fused_forward(self.b, self.z, self.a, self.mask, at::<F>(g));
    }
}

fn fused_forward<F: Real>(
    b: Option<ArrayView2<F>>,
    z: ArrayViewMut2<F>,
    a: ArrayViewMut2<F>,
    mask: Option<(ArrayView2<F>, F)>,
    g: impl Fn(F) -> F + Copy,
) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") {
        // SAFETY: the CPU supports AVX-512F.
        return unsafe { fused_forward_avx512(b, z, a, mask, g) };
    }
    fused_forward_rows(b, z, a, mask, g);
}

/// [`fused_forward_rows`] compiled with AVX-512 (see `simd.rs`: same results). Too big a
/// body for `wide`'s closure to be inlined, so it gets its own copy.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn fused_forward_avx512<F: Real>(
    b: Option<ArrayView2<F>>,
    z: ArrayViewMut2<F>,
    a: ArrayViewMut2<F>,
    mask: Option<(ArrayView2<F>, F)>,
    g: impl Fn(F) -> F + Copy,
) {
    fused_forward_rows(b, z, a, mask, g);
}

/// The body of [`fused_forward`]: row by row, each row one loop over slices.
#[inline(always)]
fn fused_forward_rows<F: Real>(
    b: Option<ArrayView2<F>>,
    mut z: ArrayViewMut2<F>,
    mut a: ArrayViewMut2<F>,
    mask: Option<(ArrayView2<F>, F)>,
    g: impl Fn(F) -> F + Copy,
) {
    for r in 0..z.nrows() {
        let bias = b.map(|b| b[[r, 0]]);
        let (mut zr, mut ar) = (z.row_mut(r), a.row_mut(r));
        match (bias, mask) {
            (Some(bias), None) => {
                let op = |z: &mut F, a: &mut F| {
                    *z += bias;
                    *a = g(*z);
                };
                if let (Some(zs), Some(xs)) = (zr.as_slice_mut(), ar.as_slice_mut()) {
                    zs.iter_mut().zip(xs).for_each(|(z, a)| op(z, a));
                } else {
                    Zip::from(&mut zr).and(&mut ar).for_each(op);
                }
            }
            (Some(bias), Some((d, keep))) => {
                let scale = F::one() / keep;
                let op = |z: &mut F, a: &mut F, d: F| {
                    *z += bias;
                    *a = g(*z) * d * scale;
                };
                let dr = d.row(r);
                if let (Some(zs), Some(xs), Some(ds)) = (zr.as_slice_mut(), ar.as_slice_mut(), dr.as_slice())
                {
                    zs.iter_mut().zip(xs).zip(ds).for_each(|((z, a), &d)| op(z, a, d));
                } else {
                    Zip::from(&mut zr).and(&mut ar).and(&dr).for_each(|z, a, &d| op(z, a, d));
                }
            }
            (None, None) => Zip::from(&mut ar).and(&zr).for_each(|a, &z| *a = g(z)),
            (None, Some((d, keep))) => {
                let scale = F::one() / keep;
                Zip::from(&mut ar).and(&zr).and(d.row(r)).for_each(|a, &z, &d| *a = g(z) * d * scale);
            }
        }
    }
}

/// `op(x, y)` on every entry of two arrays of one shape: one loop over the memory, widened
/// by `wide`, when both are in standard layout; entry by entry otherwise.
pub(super) fn zip2_mut<F: Real>(x: &mut Array2<F>, y: ArrayView2<F>, op: impl Fn(&mut F, F) + Copy) {
    if let (Some(xs), Some(ys)) = (x.as_slice_mut(), y.as_slice()) {
        wide(|| xs.iter_mut().zip(ys).for_each(|(x, &y)| op(x, y)));
    } else {
        Zip::from(x).and(&y).for_each(|x, &y| op(x, y));
    }
}

/// `op(x, y, w)` on every entry of three arrays of one shape (see [`zip2_mut`]).
pub(super) fn zip3_mut<F: Real>(
    x: &mut Array2<F>,
    y: ArrayView2<F>,
    w: ArrayView2<F>,
    op: impl Fn(&mut F, F, F) + Copy,
) {
    if let (Some(xs), Some(ys), Some(ws)) = (x.as_slice_mut(), y.as_slice(), w.as_slice()) {
        wide(|| xs.iter_mut().zip(ys).zip(ws).for_each(|((x, &y), &w)| op(x, y, w)));
    } else {
        Zip::from(x).and(&y).and(&w).for_each(|x, &y, &w| op(x, y, w));
    }
}

/// dA[l] (in `da`) → dZ[l] = (dA[l] ⊙ D[l] / keep_prob[l]) ⊙ g'(Z[l]), in place.
/// `a` is the cached A[l]; when it carries dropout, g(Z[l]) is recomputed entry by entry
/// (softmax: into `g_buf`) for the activations whose derivative needs it.
pub(super) fn hidden_delta(
    act: Activation,
    z: ArrayView2<f64>,
    a: ArrayView2<f64>,
    mask: Option<(ArrayView2<f64>, f64)>,
    g_buf: &mut Option<Array2<f64>>,
    da: &mut Array2<f64>,
) {
    if elementwise_delta(act, z, a, mask, da).is_some() {
        return;
    }
    // Softmax: its Jacobian–vector product, column by column.
    match mask {
        None => act.backward_inplace(z, a, da.view_mut()),
        Some((mask, keep)) => {
            let scale = 1.0 / keep;
            zip2_mut(da, mask, |d, m| *d = *d * m * scale);
            let g = g_buf.get_or_insert_with(|| Array2::zeros(z.raw_dim()));
            g.assign(&z);
            act.forward_inplace(g.view_mut());
            act.backward_inplace(z, g.view(), da.view_mut());
        }
    }
}

/// [`hidden_delta`] for an element-wise activation, at either precision: one loop, g and g'
/// compiled in. None (and `da` untouched) for softmax.
pub(super) fn elementwise_delta<F: Real>(
    act: Activation,
    z: ArrayView2<F>,
    a: ArrayView2<F>,
    mask: Option<(ArrayView2<F>, F)>,
    da: &mut Array2<F>,
) -> Option<()> {
    act.specialized(HiddenDelta { z, a, mask, da })
}

/// [`elementwise_delta`]'s loop.
struct HiddenDelta<'a, F> {
    z: ArrayView2<'a, F>,
    a: ArrayView2<'a, F>,
    mask: Option<(ArrayView2<'a, F>, F)>,
    da: &'a mut Array2<F>,
}

impl<F: Real> Specialized for HiddenDelta<'_, F> {
    type Output = ();
    fn run(self, g: impl Fn(f64) -> f64 + Copy, delta: impl Fn(f64, f64, f64) -> f64 + Copy) {
        let g = at::<F>(g);
        let delta = move |z: F, a: F, da: F| F::of(delta(z.wide(), a.wide(), da.wide()));
        match self.mask {
            None => zip3_mut(self.da, self.z, self.a, |d, z, a| *d = delta(z, a, *d)),
            Some((mask, keep)) => {
                let scale = F::one() / keep;
                zip3_mut(self.da, self.z, mask, |d, z, m| *d = delta(z, g(z), *d * m * scale));
            }
        }
    }
}

/// Overwrites `d` with a fresh 0/1 mask: the words and threshold of
/// [`fill_mask`](crate::dropout::fill_mask), compiled for the CPU's widest vectors (any
/// other layout than a contiguous one goes to `fill_mask` itself).
pub(super) fn fill_mask<F: Real>(mut d: ArrayViewMut2<F>, keep: f64, rng: &mut ChaCha8Rng) {
    let Some(entries) = d.as_slice_mut() else {
        return F::fill_mask_strided(d, keep, rng);
    };
    let t = dropout::keep_threshold(keep);
    let mut words = [0u16; dropout::MASK_CHUNK];
    for chunk in entries.chunks_mut(dropout::MASK_CHUNK) {
        let w = dropout::next_words(&mut words, chunk.len(), rng);
        wide(|| chunk.iter_mut().zip(w).for_each(|(v, &w)| *v = F::of(dropout::kept(w, t))));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn the_widened_mask_has_the_bits_of_the_readable_one() {
        use rand::SeedableRng;
        let (mut r1, mut r2) = (ChaCha8Rng::seed_from_u64(3), ChaCha8Rng::seed_from_u64(3));
        let (mut fast, mut plain) = (Array2::<f64>::zeros((7, 300)), Array2::zeros((7, 300)));
        fill_mask(fast.view_mut(), 0.7, &mut r1);
        dropout::fill_mask(plain.view_mut(), 0.7, &mut r2);
        assert_eq!(fast, plain);
        assert_eq!(r1, r2);
    }

    #[test]
    fn gather_follows_either_layout_of_x() {
        let x = array![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]];
        let mut out = Array2::<f64>::zeros((2, 2));
        gather_columns_into(x.view(), &[2, 0], out.view_mut());
        assert_eq!(out, array![[3.0, 1.0], [6.0, 4.0]]);
        // The same from a column-major copy of X.
        let xf = x.t().as_standard_layout().into_owned().reversed_axes();
        assert_eq!(xf.strides(), &[1, 2]);
        let mut out = Array2::<f64>::zeros((2, 2));
        gather_columns_into(xf.view(), &[2, 0], out.view_mut());
        assert_eq!(out, array![[3.0, 1.0], [6.0, 4.0]]);
    }
}
