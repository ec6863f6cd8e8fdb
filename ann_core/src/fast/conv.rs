//! The convolution's bookkeeping for a whole batch, in place: im2col and col2im over the m
//! examples at once, max pooling and its gradient. The products themselves are
//! `matmul_into`'s.
//!
//! The patch matrix has one column per (position, example), position-major:
//! P[(c, i, j), (y·W′ + x)·m + e] = A_pad[c, y·s + i, x·s + j] of example e. So for one row
//! and one position the m examples are one contiguous run, copied from one row of A[l−1]
//! (one pixel of every example), and W · P lands in Z[l]'s memory as it is: (F, H′·W′·m)
//! row-major is (F·H′·W′, m) row-major. The readable path (`conv::patches`) builds the same
//! matrix column by column, and every entry of every result is computed with its operations
//! in its order.

use crate::conv::{Conv2d, Image, MaxPool2d};
use ndarray::{ArrayView2, ArrayViewMut2};

/// For each row (c, i, j) of the patch matrix and each output position, the input row the
/// m entries come from (None in the padding).
fn for_each_patch_row(conv: &Conv2d, mut visit: impl FnMut(usize, usize, Option<usize>)) {
    let Conv2d { input, kernel: k, stride: s, padding: p, .. } = *conv;
    let out = conv.conv_output(1);
    for c in 0..input.channels {
        for i in 0..k {
            for j in 0..k {
                let r = (c * k + i) * k + j;
                for y in 0..out.height {
                    for x in 0..out.width {
                        let (h, w) = ((y * s + i).wrapping_sub(p), (x * s + j).wrapping_sub(p));
                        let src = (h < input.height && w < input.width).then(|| input.row(c, h, w));
                        visit(r, y * out.width + x, src);
                    }
                }
            }
        }
    }
}

/// P = im2col of the batch `a_prev` (C·H·W, m) into `p` (C·k·k, H′·W′·m), row-major.
pub(super) fn im2col_batch(conv: &Conv2d, a_prev: ArrayView2<f64>, mut p: ArrayViewMut2<f64>) {
    let m = a_prev.ncols();
    let rows_contiguous = a_prev.strides()[1] == 1 || m == 1;
    for_each_patch_row(conv, |r, q, src| {
        let mut dst = p.row_mut(r);
        let dst = dst.as_slice_mut().expect("a row-major patch matrix");
        let dst = &mut dst[q * m..(q + 1) * m];
        match src {
            None => dst.fill(0.0),
            Some(row) if rows_contiguous => {
                dst.copy_from_slice(a_prev.row(row).as_slice().expect("a contiguous row"))
            }
            Some(row) => dst.iter_mut().zip(a_prev.row(row)).for_each(|(d, &v)| *d = v),
        }
    });
}

/// dA[l−1] (C·H·W, m) = col2im of the batch's dP (C·k·k, H′·W′·m): every entry added to the
/// pixel it was copied from, rows in order, then positions (the readable `col2im`'s order),
/// the padding's entries dropped.
pub(super) fn col2im_batch(conv: &Conv2d, dp: ArrayView2<f64>, mut da: ArrayViewMut2<f64>) {
    let m = da.ncols();
    da.fill(0.0);
    for_each_patch_row(conv, |r, q, dst| {
        if let Some(row) = dst {
            let src = dp.row(r);
            let src = &src.as_slice().expect("a row-major patch matrix")[q * m..(q + 1) * m];
            let mut d = da.row_mut(row);
            match d.as_slice_mut() {
                Some(d) => d.iter_mut().zip(src).for_each(|(d, &g)| *d += g),
                None => d.iter_mut().zip(src).for_each(|(d, &g)| *d += g),
            }
        }
    });
}

/// A (C·H″·W″, m) = maxpool of `g` (C·H′·W′, m), one `image` per column, and the arg-max of
/// every window: the first maximum scanning the window row by row, as the readable
/// pooling finds it.
pub(super) fn pool_batch(
    pool: &MaxPool2d,
    image: Image,
    g: ArrayView2<f64>,
    mut a: ArrayViewMut2<f64>,
    mut argmax: ArrayViewMut2<usize>,
) {
    let out = pool.output(image);
    for c in 0..out.channels {
        for y in 0..out.height {
            for x in 0..out.width {
                let r = out.row(c, y, x);
                let first = image.row(c, y * pool.stride, x * pool.stride);
                let (mut best, mut arg) = (a.row_mut(r), argmax.row_mut(r));
                best.assign(&g.row(first));
                arg.fill(first);
                for i in 0..pool.window {
                    for j in 0..pool.window {
                        let src = image.row(c, y * pool.stride + i, x * pool.stride + j);
                        let candidates = g.row(src);
                        for ((b, w), &v) in best.iter_mut().zip(arg.iter_mut()).zip(&candidates) {
                            if v > *b {
                                *b = v;
                                *w = src;
                            }
                        }
                    }
                }
            }
        }
    }
}

/// dG (C·H′·W′, m) from dA (C·H″·W″, m): each entry added at its window's arg-max, rows of
/// dA in order (the readable pooling's order).
pub(super) fn unpool_batch(argmax: ArrayView2<usize>, da: ArrayView2<f64>, mut dg: ArrayViewMut2<f64>) {
    dg.fill(0.0);
    for (winners, grads) in argmax.rows().into_iter().zip(da.rows()) {
        for (e, (&w, &d)) in winners.iter().zip(&grads).enumerate() {
            dg[[w, e]] += d;
        }
    }
}
