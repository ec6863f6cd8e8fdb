//! The element-wise passes of a training step, each one loop over the memory: the batch
//! gathered from the data set, Z += b and A = g(Z) ⊙ D / keep_prob fused per layer, and
//! dZ = dA ⊙ D / keep_prob ⊙ g'(Z) in place. Each entry is computed with the reference's
//! operations in the reference's order, so the results are its bits.

use super::simd::wide;
use crate::activation::{Activation, relu, sigmoid};
use crate::layer::Layer;
use ndarray::{Array2, ArrayView2, ArrayViewMut2, Zip};

/// Writes the columns `idx` of X into `out` (shape (n, |idx|)), without allocating:
/// the batch X{t} gathered straight from the data set. `idx` must be in range.
///
/// The loop follows X's memory: row by row for a row-major X, column by column when X's
/// columns are contiguous (column-major, one example per contiguous block), where a batch
/// is a few block copies instead of one scattered read per entry.
pub(super) fn gather_columns_into(x: ArrayView2<f64>, idx: &[usize], mut out: ArrayViewMut2<f64>) {
    if x.strides()[0] == 1 && x.nrows() > 1 {
        for (mut dst, &j) in out.columns_mut().into_iter().zip(idx) {
            dst.assign(&x.column(j));
        }
    } else {
        Zip::from(out.rows_mut()).and(x.rows()).for_each(|mut dst, src| {
            for (d, &j) in dst.iter_mut().zip(idx) {
                *d = src[j];
            }
        });
    }
}

/// Z += b (broadcast over columns), then A = g(Z) ⊙ D / keep_prob, in one pass for the
/// element-wise activations. Z is the raw W A[l−1] on entry.
pub(super) fn bias_and_activate(
    layer: &Layer,
    mut z: ArrayViewMut2<f64>,
    mut a: ArrayViewMut2<f64>,
    mask: Option<(ArrayView2<f64>, f64)>,
) {
    let b = &layer.b;
    match layer.activation {
        Activation::Relu => fused_forward(b, z, a, mask, relu),
        Activation::Tanh => fused_forward(b, z, a, mask, f64::tanh),
        Activation::Sigmoid => fused_forward(b, z, a, mask, sigmoid),
        Activation::Linear => fused_forward(b, z, a, mask, |v| v),
        Activation::Softmax => {
            Zip::from(z.rows_mut()).and(b.rows()).for_each(|mut zr, br| {
                let bias = br[0];
                zr.mapv_inplace(|v| v + bias);
            });
            a.assign(&z);
            Activation::Softmax.forward_inplace(a.view_mut());
            if let Some((d, keep)) = mask {
                Zip::from(&mut a).and(&d).for_each(|a, &d| *a = *a * d / keep);
            }
        }
    }
}

fn fused_forward(
    b: &Array2<f64>,
    z: ArrayViewMut2<f64>,
    a: ArrayViewMut2<f64>,
    mask: Option<(ArrayView2<f64>, f64)>,
    g: impl Fn(f64) -> f64 + Copy,
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
fn fused_forward_avx512(
    b: &Array2<f64>,
    z: ArrayViewMut2<f64>,
    a: ArrayViewMut2<f64>,
    mask: Option<(ArrayView2<f64>, f64)>,
    g: impl Fn(f64) -> f64 + Copy,
) {
    fused_forward_rows(b, z, a, mask, g);
}

/// The body of [`fused_forward`]: row by row, each row one loop over slices.
#[inline(always)]
fn fused_forward_rows(
    b: &Array2<f64>,
    mut z: ArrayViewMut2<f64>,
    mut a: ArrayViewMut2<f64>,
    mask: Option<(ArrayView2<f64>, f64)>,
    g: impl Fn(f64) -> f64 + Copy,
) {
    for r in 0..z.nrows() {
        let bias = b[[r, 0]];
        let (mut zr, mut ar) = (z.row_mut(r), a.row_mut(r));
        match mask {
            None => {
                let op = |z: &mut f64, a: &mut f64| {
                    *z += bias;
                    *a = g(*z);
                };
                if let (Some(zs), Some(xs)) = (zr.as_slice_mut(), ar.as_slice_mut()) {
                    zs.iter_mut().zip(xs).for_each(|(z, a)| op(z, a));
                } else {
                    Zip::from(&mut zr).and(&mut ar).for_each(op);
                }
            }
            Some((d, keep)) => {
                let scale = 1.0 / keep;
                let op = |z: &mut f64, a: &mut f64, d: f64| {
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
        }
    }
}

/// `op(x, y)` on every entry of two arrays of one shape: one loop over the memory, widened
/// by `wide`, when both are in standard layout; entry by entry otherwise.
pub(super) fn zip2_mut(x: &mut Array2<f64>, y: ArrayView2<f64>, op: impl Fn(&mut f64, f64) + Copy) {
    if let (Some(xs), Some(ys)) = (x.as_slice_mut(), y.as_slice()) {
        wide(|| xs.iter_mut().zip(ys).for_each(|(x, &y)| op(x, y)));
    } else {
        Zip::from(x).and(&y).for_each(|x, &y| op(x, y));
    }
}

/// `op(x, y, w)` on every entry of three arrays of one shape (see [`zip2_mut`]).
pub(super) fn zip3_mut(
    x: &mut Array2<f64>,
    y: ArrayView2<f64>,
    w: ArrayView2<f64>,
    op: impl Fn(&mut f64, f64, f64) + Copy,
) {
    if let (Some(xs), Some(ys), Some(ws)) = (x.as_slice_mut(), y.as_slice(), w.as_slice()) {
        wide(|| xs.iter_mut().zip(ys).zip(ws).for_each(|((x, &y), &w)| op(x, y, w)));
    } else {
        Zip::from(x).and(&y).and(&w).for_each(|x, &y, &w| op(x, y, w));
    }
}

/// dA[l] (in `da`) → dZ[l] = (dA[l] ⊙ D[l] / keep_prob[l]) ⊙ g'(Z[l]), in place.
/// `a` is the cached A[l]; when it carries dropout, g(Z[l]) is recomputed into `g_buf`
/// for the activations whose derivative needs it.
pub(super) fn hidden_delta(
    act: Activation,
    z: ArrayView2<f64>,
    a: ArrayView2<f64>,
    mask: Option<(ArrayView2<f64>, f64)>,
    g_buf: &mut Option<Array2<f64>>,
    da: &mut Array2<f64>,
) {
    // Written as selects (both sides computed), so the loops have no data-dependent branch.
    match (act, mask) {
        (Activation::Relu, None) => zip2_mut(da, z, |d, z| *d = if z <= 0.0 { 0.0 } else { *d }),
        (Activation::Relu, Some((mask, keep))) => {
            let scale = 1.0 / keep;
            zip3_mut(da, z, mask, |d, z, m| {
                let kept = *d * m * scale;
                *d = if z <= 0.0 { 0.0 } else { kept };
            })
        }
        (_, None) => act.backward_inplace(z, a, da.view_mut()),
        (_, Some((mask, keep))) => {
            let scale = 1.0 / keep;
            zip2_mut(da, mask, |d, m| *d = *d * m * scale);
            if matches!(act, Activation::Linear) {
                return;
            }
            let g = g_buf.get_or_insert_with(|| Array2::zeros(z.raw_dim()));
            g.assign(&z);
            act.forward_inplace(g.view_mut());
            act.backward_inplace(z, g.view(), da.view_mut());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn gather_follows_either_layout_of_x() {
        let x = array![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]];
        let mut out = Array2::zeros((2, 2));
        gather_columns_into(x.view(), &[2, 0], out.view_mut());
        assert_eq!(out, array![[3.0, 1.0], [6.0, 4.0]]);
        // The same from a column-major copy of X.
        let xf = x.t().as_standard_layout().into_owned().reversed_axes();
        assert_eq!(xf.strides(), &[1, 2]);
        let mut out = Array2::zeros((2, 2));
        gather_columns_into(xf.view(), &[2, 0], out.view_mut());
        assert_eq!(out, array![[3.0, 1.0], [6.0, 4.0]]);
    }
}
