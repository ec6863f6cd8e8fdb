//! The convolution's equations as written, loop by loop (see the module docs of
//! [`crate::conv`]): the definition, slow, and the reference every faster form is tested
//! against.

use super::{Conv2d, Image};
use crate::error::{AnnError, Result, shape_str};
use ndarray::{Array2, ArrayView2};

/// The gradients of a convolution, from dZ = ∂J/∂Z: summed over the examples, as the
/// derivative of J needs (a network's mean over m divides afterwards).
#[derive(Debug, Clone, PartialEq)]
pub struct ConvGrads {
    /// dW (F, C·k·k).
    pub dw: Array2<f64>,
    /// db (F, 1).
    pub db: Array2<f64>,
    /// dA[l−1] (C·H·W, m), when asked for.
    pub da_prev: Option<Array2<f64>>,
}

/// A_pad[c, h, w] of example `j`: the pixel of `a` (C·H·W, m) at (c, h − p, w − p), or 0
/// in the border of padding.
fn padded(a: ArrayView2<f64>, input: Image, p: usize, c: usize, h: usize, w: usize, j: usize) -> f64 {
    let inside = (p..p + input.height).contains(&h) && (p..p + input.width).contains(&w);
    if inside { a[[input.row(c, h - p, w - p), j]] } else { 0.0 }
}

/// The shapes of one call: W (F, C·k·k), b (F, 1), the input (C·H·W, m), dZ
/// (F·H′·W′, m) where given.
fn check(conv: &Conv2d, w: ArrayView2<f64>, b: Option<ArrayView2<f64>>, a: ArrayView2<f64>) -> Result<()> {
    let b_dim = b.map_or((w.nrows(), 1), |b| b.dim());
    conv.check_geometry(|| "the convolution".into())?;
    conv.check_params(w.dim(), b_dim, || "W".into(), || "b".into())?;
    if a.nrows() != conv.input.len() || a.ncols() == 0 {
        return Err(AnnError::ShapeMismatch {
            context: format!("input images ({}, one per column)", conv.input),
            expected: format!("({}, m ≥ 1)", conv.input.len()),
            got: shape_str(a.shape()),
        });
    }
    Ok(())
}

/// Z = W ⋆ A + b by the definition: for each example, filter and output position,
///
/// Z[f, y, x] = b[f] + Σ_c Σ_i Σ_j W[f, c, i, j] · A_pad[c, y·s + i, x·s + j].
///
/// `a` is (C·H·W, m), one image per column; returns Z (F·H′·W′, m).
pub fn conv_forward_loops(
    conv: &Conv2d,
    w: ArrayView2<f64>,
    b: ArrayView2<f64>,
    a: ArrayView2<f64>,
) -> Result<Array2<f64>> {
    check(conv, w, Some(b), a)?;
    let Conv2d { input, kernel: k, stride: s, padding: p, .. } = *conv;
    let out = conv.conv_output(w.nrows());
    let filters = conv.filters(w.as_standard_layout().view())?.to_owned();
    let mut z = Array2::zeros((out.len(), a.ncols()));
    for j in 0..a.ncols() {
        for f in 0..out.channels {
            for y in 0..out.height {
                for x in 0..out.width {
                    let mut sum = 0.0;
                    for c in 0..input.channels {
                        for i in 0..k {
                            for jj in 0..k {
                                sum +=
                                    filters[[f, c, i, jj]] * padded(a, input, p, c, y * s + i, x * s + jj, j);
                            }
                        }
                    }
                    z[[out.row(f, y, x), j]] = sum + b[[f, 0]];
                }
            }
        }
    }
    Ok(z)
}

/// The backward equations by the definition: for each example, filter and output position,
/// the one term W[f, c, i, j] · A_pad[c, y·s + i, x·s + j] of Z[f, y, x] sends dZ[f, y, x]
///
/// to dW[f, c, i, j]: += dZ[f, y, x] · A_pad[c, y·s + i, x·s + j],
/// to db[f]: += dZ[f, y, x],
/// to dA_pad[c, y·s + i, x·s + j]: += W[f, c, i, j] · dZ[f, y, x];
///
/// dA[l−1] is dA_pad without the border. `a` is the input (C·H·W, m) of the forward pass,
/// `dz` (F·H′·W′, m).
pub fn conv_backward_loops(
    conv: &Conv2d,
    w: ArrayView2<f64>,
    a: ArrayView2<f64>,
    dz: ArrayView2<f64>,
) -> Result<ConvGrads> {
    check(conv, w, None, a)?;
    let Conv2d { input, kernel: k, stride: s, padding: p, .. } = *conv;
    let out = conv.conv_output(w.nrows());
    if dz.dim() != (out.len(), a.ncols()) {
        return Err(AnnError::ShapeMismatch {
            context: format!("dZ ({out} per column)"),
            expected: shape_str(&[out.len(), a.ncols()]),
            got: shape_str(dz.shape()),
        });
    }
    let filters = conv.filters(w.as_standard_layout().view())?.to_owned();
    let mut dw = ndarray::Array4::<f64>::zeros(filters.raw_dim());
    let mut db = Array2::zeros((out.channels, 1));
    let padded_image = Image::new(input.channels, input.height + 2 * p, input.width + 2 * p);
    let mut da_pad = Array2::zeros((padded_image.len(), a.ncols()));
    for j in 0..a.ncols() {
        for f in 0..out.channels {
            for y in 0..out.height {
                for x in 0..out.width {
                    let g = dz[[out.row(f, y, x), j]];
                    db[[f, 0]] += g;
                    for c in 0..input.channels {
                        for i in 0..k {
                            for jj in 0..k {
                                let (h, v) = (y * s + i, x * s + jj);
                                dw[[f, c, i, jj]] += g * padded(a, input, p, c, h, v, j);
                                da_pad[[padded_image.row(c, h, v), j]] += filters[[f, c, i, jj]] * g;
                            }
                        }
                    }
                }
            }
        }
    }
    // dA = dA_pad without its border
    let da_prev = Array2::from_shape_fn((input.len(), a.ncols()), |(r, j)| {
        let (c, rest) = (r / (input.height * input.width), r % (input.height * input.width));
        let (h, v) = (rest / input.width, rest % input.width);
        da_pad[[padded_image.row(c, h + p, v + p), j]]
    });
    let dw = dw.into_shape_with_order(w.dim()).expect("F·C·k·k entries");
    Ok(ConvGrads { dw, db, da_prev: Some(da_prev) })
}
