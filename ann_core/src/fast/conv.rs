//! A convolutional layer's products for a whole batch, without ever holding its whole patch
//! matrix, and max pooling with its gradient.
//!
//! The patch matrix P = im2col(A[l−1]) of a batch has one column per (position, example),
//! position-major: P[(c, i, j), (y·W′ + x)·m + e] = A_pad[c, y·s + i, x·s + j] of example e.
//! So for one row and one position the m examples are one contiguous run, copied from one
//! row of A[l−1] (one pixel of every example), and W · P lands in Z[l]'s memory as it is:
//! (F, H′·W′·m) row-major is (F·H′·W′, m) row-major. The readable path (`conv::patches`)
//! builds the same matrix.
//!
//! P is k² times bigger than the image it comes from (25× for 5 × 5 filters): built whole,
//! it would be written, read by the product, and read again by dW from memory. Here it is
//! built a slice of columns at a time, small enough to stay in the core's cache, and each
//! slice goes straight into the products:
//!
//! - Z[l] = W[l] P slice by slice (each entry of Z is one slice's);
//! - dW[l] = dZ[l] Pᵀ summed over the slices with `matmul_acc_into`: the slices are multiples
//!   of 256 columns, the matrix kernel's k-block, so the sum has the bits of one product;
//! - dP = W[l]ᵀ dZ[l] slice by slice, each slice added into dA[l−1] at once (col2im), in the
//!   readable col2im's order (positions, then rows).
//!
//! Two cores split Z by columns, and dW, dP, col2im by input channels (the rows of P of a
//! channel only reach that channel's pixels). Without AVX-512 (no `matmul_acc_into`) dW
//! takes one product over the whole P, as the readable path does.

use super::matmul::{Direct, direct_kernel, matmul_acc_into, matmul_into};
use super::simd::wide;
use super::threads::{OWN_THREADS, cores, join};
use crate::conv::{Conv2d, Image, MaxPool2d};
use ndarray::{ArrayView2, ArrayViewMut2, Axis, s};
use std::ops::Range;

/// Columns of P built at a time: about 1 MB of patches, a multiple of 256.
pub(super) fn slice_columns(patch_len: usize) -> usize {
    256 * ((1 << 17) / (patch_len * 256)).max(1)
}

/// Products of at least this many multiply-adds run on two cores (as `matmul_into` splits
/// its big products).
const SPLIT_MIN_WORK: usize = 1 << 23;

/// A convolution's reusable buffers, grown to the biggest layer and batch they served: per
/// core a slice of P and of dZᵀ, dWᵀ, and (without AVX-512) the whole P.
#[derive(Debug, Clone)]
pub(crate) struct ConvScratch<F = f64> {
    patches: [Vec<F>; 2],
    dzt: [Vec<F>; 2],
    dwt: Vec<F>,
    whole: Vec<F>,
}

impl<F> Default for ConvScratch<F> {
    fn default() -> Self {
        ConvScratch {
            patches: [Vec::new(), Vec::new()],
            dzt: [Vec::new(), Vec::new()],
            dwt: Vec::new(),
            whole: Vec::new(),
        }
    }
}

/// `buf` with at least `len` entries (grown once, then reused).
fn at_least<F: Direct>(buf: &mut Vec<F>, len: usize) -> &mut [F] {
    if buf.len() < len {
        buf.resize(len, F::of(0.0));
    }
    &mut buf[..len]
}

/// For the columns `q0..q1` of P (m examples): each run of one position's examples, as
/// (offset in the slice, position, first example, examples).
fn runs(q0: usize, q1: usize, m: usize) -> impl Iterator<Item = (usize, usize, usize, usize)> {
    let mut q = q0;
    std::iter::from_fn(move || {
        (q < q1).then(|| {
            let (p, e0) = (q / m, q % m);
            let len = (m - e0).min(q1 - q);
            let run = (q - q0, p, e0, len);
            q += len;
            run
        })
    })
}

/// The input row that entry (row r, position p) of P copies (None in the padding).
fn source(conv: &Conv2d, out_width: usize, r: usize, p: usize) -> Option<usize> {
    let Conv2d { input, kernel: k, stride: s, padding: pad, .. } = *conv;
    let (c, i, j) = (r / (k * k), (r / k) % k, r % k);
    let (y, x) = (p / out_width, p % out_width);
    let (h, w) = ((y * s + i).wrapping_sub(pad), (x * s + j).wrapping_sub(pad));
    (h < input.height && w < input.width).then(|| input.row(c, h, w))
}

/// Rows `rows` and columns `q0..q1` of P for the batch `a_prev` (C·H·W, m), into `out`
/// (row-major, rows.len() × (q1 − q0)).
fn im2col_slice<F: Direct>(
    conv: &Conv2d,
    a_prev: ArrayView2<F>,
    rows: Range<usize>,
    q0: usize,
    q1: usize,
    out: &mut [F],
) {
    let (m, n, ow) = (a_prev.ncols(), q1 - q0, conv.conv_output(1).width);
    for (t, r) in rows.enumerate() {
        let dst_row = &mut out[t * n..(t + 1) * n];
        for (at, p, e0, len) in runs(q0, q1, m) {
            let dst = &mut dst_row[at..at + len];
            match source(conv, ow, r, p) {
                None => dst.fill(F::of(0.0)),
                Some(src) => {
                    let src = a_prev.row(src);
                    match src.as_slice() {
                        Some(src) => dst.copy_from_slice(&src[e0..e0 + len]),
                        None => dst.iter_mut().zip(src.slice(s![e0..e0 + len])).for_each(|(d, &v)| *d = v),
                    }
                }
            }
        }
    }
}

/// Adds the slice `dp` (rows `rows`, columns `q0..q1` of dP, row-major) into `da`, the rows
/// `da_first..` of dA[l−1] (m examples): positions in order, then rows, as the readable
/// col2im adds them.
fn col2im_slice<F: Direct>(
    conv: &Conv2d,
    dp: &[F],
    rows: Range<usize>,
    q0: usize,
    q1: usize,
    mut da: ArrayViewMut2<F>,
    da_first: usize,
) {
    let (m, n, ow) = (da.ncols(), q1 - q0, conv.conv_output(1).width);
    for (at, p, e0, len) in runs(q0, q1, m) {
        for (t, r) in rows.clone().enumerate() {
            if let Some(dst) = source(conv, ow, r, p) {
                let src = &dp[t * n + at..t * n + at + len];
                let mut dst = da.row_mut(dst - da_first);
                let dst = dst.as_slice_mut().expect("a row-major dA");
                dst[e0..e0 + len].iter_mut().zip(src).for_each(|(d, &g)| *d += g);
            }
        }
    }
}

/// Z = W P for the batch `a_prev` (C·H·W, m) into `z` (F, H′·W′·m), slice by slice of P.
pub(super) fn conv_forward<F: Direct>(
    conv: &Conv2d,
    w: ArrayView2<F>,
    a_prev: ArrayView2<F>,
    z: ArrayViewMut2<F>,
    scratch: &mut ConvScratch<F>,
    split: bool,
) {
    let (k, n) = (conv.patch_len(), z.ncols());
    let step = slice_columns(k);
    let run = |cols: Range<usize>, buf: &mut Vec<F>, mut z: ArrayViewMut2<F>| {
        let base = cols.start;
        for q0 in cols.clone().step_by(step) {
            let q1 = (q0 + step).min(cols.end);
            let p = at_least(buf, k * (q1 - q0));
            im2col_slice(conv, a_prev, 0..k, q0, q1, p);
            let p = ArrayView2::from_shape((k, q1 - q0), &*p).expect("k · columns entries");
            matmul_into(w, p, z.slice_mut(s![.., q0 - base..q1 - base]), &mut Vec::new(), false);
        }
    };
    let [left, right] = &mut scratch.patches;
    if split && OWN_THREADS && cores() >= 2 && w.len() * n >= SPLIT_MIN_WORK && n >= 2 * step {
        let mid = (n / 2).next_multiple_of(step);
        let (z_left, z_right) = z.split_at(Axis(1), mid);
        join(|| run(0..mid, left, z_left), || run(mid..n, right, z_right));
    } else {
        run(0..n, left, z);
    }
}

/// dW = dZ Pᵀ into `dw` (F, C·k·k), and dA[l−1] = col2im(Wᵀ dZ) into `da` (C·H·W, m) if
/// given, for the batch `a_prev` and `dz` (F, H′·W′·m).
#[allow(clippy::too_many_arguments)]
pub(super) fn conv_backward<F: Direct>(
    conv: &Conv2d,
    w: ArrayView2<F>,
    a_prev: ArrayView2<F>,
    dz: ArrayView2<F>,
    mut dw: ArrayViewMut2<F>,
    da: Option<ArrayViewMut2<F>>,
    scratch: &mut ConvScratch<F>,
    split: bool,
) {
    let (k, f, n) = (conv.patch_len(), w.nrows(), dz.ncols());
    let step = slice_columns(k);
    if !direct_kernel() {
        // dW = dZ Pᵀ as one product over the whole P; dA slice by slice.
        let whole = at_least(&mut scratch.whole, k * n);
        im2col_slice(conv, a_prev, 0..k, 0, n, whole);
        let whole = ArrayView2::from_shape((k, n), &*whole).expect("k · n entries");
        matmul_into(dz, whole.t(), dw, &mut Vec::new(), split);
        if let Some(da) = da {
            input_gradient(conv, w, dz, 0..k, da, 0, &mut scratch.patches[0], step);
        }
        return;
    }
    let ConvScratch { patches, dzt, dwt, .. } = scratch;
    let dwt = at_least(dwt, k * f);
    // The rows of P each core takes: by input channel when dA is wanted (a channel's rows
    // reach only its pixels), else any half.
    let per_channel = k / conv.input.channels;
    let mid = match &da {
        Some(_) if conv.input.channels >= 2 => (conv.input.channels / 2) * per_channel,
        None if k >= 16 => k / 2,
        _ => k,
    };
    let two = split && OWN_THREADS && cores() >= 2 && mid < k && w.len() * n >= SPLIT_MIN_WORK;
    let mid = if two { mid } else { k };
    let image_rows = conv.input.height * conv.input.width;
    let (da_low, da_high) = match da {
        Some(da) => {
            let (low, high) = da.split_at(Axis(0), (mid / per_channel) * image_rows);
            (Some(low), Some(high))
        }
        None => (None, None),
    };
    let (dwt_low, dwt_high) = dwt.split_at_mut(mid * f);
    let [p_low, p_high] = patches;
    let [t_low, t_high] = dzt;
    let part =
        |rows: Range<usize>, p: &mut Vec<F>, t: &mut Vec<F>, dwt: &mut [F], da: Option<ArrayViewMut2<F>>| {
            weight_and_input_gradients(conv, w, a_prev, dz, rows, p, t, dwt, da, step)
        };
    if two {
        join(
            || part(0..mid, p_low, t_low, dwt_low, da_low),
            || part(mid..k, p_high, t_high, dwt_high, da_high),
        );
    } else {
        part(0..k, p_low, t_low, dwt_low, da_low);
    }
    // dW = (dWᵀ)ᵀ
    let dwt = ArrayView2::from_shape((k, f), &*dwt).expect("k · F entries");
    dw.assign(&dwt.t());
}

/// The rows `rows` of dWᵀ = P dZᵀ (into `dwt`, rows.len() × F) and, if `da` (the pixels of
/// those rows' channels) is given, their share of dA[l−1], slice by slice of P.
#[allow(clippy::too_many_arguments)]
fn weight_and_input_gradients<F: Direct>(
    conv: &Conv2d,
    w: ArrayView2<F>,
    a_prev: ArrayView2<F>,
    dz: ArrayView2<F>,
    rows: Range<usize>,
    p_buf: &mut Vec<F>,
    t_buf: &mut Vec<F>,
    dwt: &mut [F],
    mut da: Option<ArrayViewMut2<F>>,
    step: usize,
) {
    let (f, n, r) = (w.nrows(), dz.ncols(), rows.len());
    if let Some(da) = da.as_mut() {
        da.fill(F::of(0.0));
    }
    let da_first =
        (rows.start / (conv.patch_len() / conv.input.channels)) * conv.input.height * conv.input.width;
    let mut dwt = ArrayViewMut2::from_shape((r, f), dwt).expect("rows · F entries");
    for q0 in (0..n).step_by(step) {
        let q1 = (q0 + step).min(n);
        let p = at_least(p_buf, r * (q1 - q0));
        im2col_slice(conv, a_prev, rows.clone(), q0, q1, p);
        // dZᵀ of the slice, rows contiguous for the kernel
        let t = at_least(t_buf, (q1 - q0) * f);
        transpose_into(dz.slice(s![.., q0..q1]), t);
        let t = ArrayView2::from_shape((q1 - q0, f), &*t).expect("columns · F entries");
        let pv = ArrayView2::from_shape((r, q1 - q0), &*p).expect("rows · columns entries");
        // dWᵀ += P dZᵀ, continuing the sum over the columns (q0 is a multiple of 256)
        if q0 == 0 {
            matmul_into(pv, t, dwt.view_mut(), &mut Vec::new(), false);
        } else {
            matmul_acc_into(pv, t, dwt.view_mut());
        }
        if let Some(da) = da.as_mut() {
            // dP = Wᵀ dZ for these rows and columns, over the slice of P, then col2im
            let mut dp = ArrayViewMut2::from_shape((r, q1 - q0), &mut *p).expect("rows · columns entries");
            let wt = w.slice(s![.., rows.clone()]);
            matmul_into(wt.t(), dz.slice(s![.., q0..q1]), dp.view_mut(), &mut Vec::new(), false);
            col2im_slice(conv, p, rows.clone(), q0, q1, da.view_mut(), da_first);
        }
    }
}

/// dA[l−1] (its rows from `da_first`) = col2im(Wᵀ dZ) for the rows `rows` of P, slice by slice.
#[allow(clippy::too_many_arguments)]
fn input_gradient<F: Direct>(
    conv: &Conv2d,
    w: ArrayView2<F>,
    dz: ArrayView2<F>,
    rows: Range<usize>,
    mut da: ArrayViewMut2<F>,
    da_first: usize,
    buf: &mut Vec<F>,
    step: usize,
) {
    da.fill(F::of(0.0));
    let (n, r) = (dz.ncols(), rows.len());
    for q0 in (0..n).step_by(step) {
        let q1 = (q0 + step).min(n);
        let p = at_least(buf, r * (q1 - q0));
        let mut dp = ArrayViewMut2::from_shape((r, q1 - q0), &mut *p).expect("rows · columns entries");
        matmul_into(
            w.slice(s![.., rows.clone()]).t(),
            dz.slice(s![.., q0..q1]),
            dp.view_mut(),
            &mut Vec::new(),
            false,
        );
        col2im_slice(conv, p, rows.clone(), q0, q1, da.view_mut(), da_first);
    }
}

/// A (C·H″·W″, m) = maxpool of `g` (C·H′·W′, m), one `image` per column, and the arg-max of
/// every window: the first maximum scanning the window row by row, as the readable
/// pooling finds it.
pub(super) fn pool_batch<F: Direct>(
    pool: &MaxPool2d,
    image: Image,
    g: ArrayView2<F>,
    mut a: ArrayViewMut2<F>,
    mut argmax: ArrayViewMut2<usize>,
) {
    let out = pool.output(image);
    for c in 0..out.channels {
        for y in 0..out.height {
            for x in 0..out.width {
                let r = out.row(c, y, x);
                let first = image.row(c, y * pool.stride, x * pool.stride);
                let (mut best, mut arg) = (a.row_mut(r), argmax.row_mut(r));
                let (best, arg) = (
                    best.as_slice_mut().expect("a row-major A"),
                    arg.as_slice_mut().expect("a row-major arg-max"),
                );
                best.copy_from_slice(g.row(first).as_slice().expect("a row-major g(Z)"));
                arg.fill(first);
                for i in 0..pool.window {
                    for j in 0..pool.window {
                        let src = image.row(c, y * pool.stride + i, x * pool.stride + j);
                        let candidates = g.row(src);
                        let candidates = candidates.as_slice().expect("a row-major g(Z)");
                        wide(|| {
                            for ((b, w), &v) in best.iter_mut().zip(arg.iter_mut()).zip(candidates) {
                                // branch-free, so the loop vectorizes: the first maximum wins
                                let better = v > *b;
                                *b = if better { v } else { *b };
                                *w = if better { src } else { *w };
                            }
                        });
                    }
                }
            }
        }
    }
}

/// dG (C·H′·W′, m) from dA (C·H″·W″, m): each entry added at its window's arg-max, rows of
/// dA in order (the readable pooling's order). Windows that do not overlap (stride =
/// window, `image` pooled by `pool`) cover each pixel once: each row of dG is then written
/// once, dA where the pixel won and 0 elsewhere, instead of zeroed first and added to.
pub(super) fn unpool_batch<F: Direct>(
    pool: &MaxPool2d,
    image: Image,
    argmax: ArrayView2<usize>,
    da: ArrayView2<F>,
    mut dg: ArrayViewMut2<F>,
) {
    let out = pool.output(image);
    let covers_once = pool.stride == pool.window
        && out.height * pool.window == image.height
        && out.width * pool.window == image.width;
    if !covers_once {
        dg.fill(F::of(0.0));
        for (winners, grads) in argmax.rows().into_iter().zip(da.rows()) {
            for (e, (&w, &d)) in winners.iter().zip(&grads).enumerate() {
                dg[[w, e]] += d;
            }
        }
        return;
    }
    for c in 0..out.channels {
        for y in 0..out.height {
            for x in 0..out.width {
                let r = out.row(c, y, x);
                let (winners, grads) = (argmax.row(r), da.row(r));
                let (winners, grads) =
                    (winners.as_slice().expect("row-major"), grads.as_slice().expect("row-major"));
                for i in 0..pool.window {
                    for j in 0..pool.window {
                        let pixel = image.row(c, y * pool.stride + i, x * pool.stride + j);
                        let mut dst = dg.row_mut(pixel);
                        let dst = dst.as_slice_mut().expect("a row-major dG");
                        // 0 + dA where this pixel won: the readable sum's value, bit for bit
                        wide(|| {
                            for ((d, &w), &g) in dst.iter_mut().zip(winners).zip(grads) {
                                *d = if w == pixel { g } else { F::of(0.0) };
                            }
                        });
                    }
                }
            }
        }
    }
}

/// `dst` (n × F, row-major) = `src`ᵀ for `src` (F × n) with contiguous rows: read in blocks
/// of 8 columns so each block of `dst` is written whole.
fn transpose_into<F: Direct>(src: ArrayView2<F>, dst: &mut [F]) {
    let (f, n) = src.dim();
    for j0 in (0..n).step_by(8) {
        let j1 = (j0 + 8).min(n);
        for (i, row) in src.rows().into_iter().enumerate() {
            let row = row.as_slice().expect("contiguous rows");
            for (j, &v) in row[j0..j1].iter().enumerate() {
                dst[(j0 + j) * f + i] = v;
            }
        }
    }
}
