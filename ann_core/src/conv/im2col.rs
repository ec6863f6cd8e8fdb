//! im2col: every k × k patch the filters see, copied into a column of one matrix, so that
//! the convolution's sums become one matrix product (see the module docs of
//! [`crate::conv`]):
//!
//! cols[(c, i, j), (y, x)] = A_pad[c, y·s + i, x·s + j],  shape (C·k·k, H′·W′),
//! Z = W · cols + b,  shape (F, H′·W′): row f is filter f's output image.
//!
//! col2im goes the other way for the gradient: each entry of dcols = Wᵀ · dZ is added to
//! the pixel it was copied from, and the padding's entries are dropped.

use super::Conv2d;
use crate::error::{AnnError, Result, shape_str};
use ndarray::{Array1, Array2, ArrayView1, ArrayView2};

/// The patches of one image `a` (C·H·W entries): cols (C·k·k, H′·W′), row (c·k + i)·k + j
/// (the order of a filter's entries in W's rows), column y·W′ + x.
pub fn im2col(conv: &Conv2d, a: ArrayView1<f64>) -> Result<Array2<f64>> {
    conv.check_geometry(|| "the convolution".into())?;
    if a.len() != conv.input.len() {
        return Err(AnnError::ShapeMismatch {
            context: format!("the image to cut into patches ({})", conv.input),
            expected: format!("{} entries", conv.input.len()),
            got: format!("{} entries", a.len()),
        });
    }
    Ok(im2col_unchecked(conv, a))
}

/// [`im2col`] for a checked geometry and image.
pub(crate) fn im2col_unchecked(conv: &Conv2d, a: ArrayView1<f64>) -> Array2<f64> {
    let Conv2d { input, kernel: k, stride: s, padding: p, .. } = *conv;
    let out = conv.conv_output(1);
    let mut cols = Array2::zeros((conv.patch_len(), out.height * out.width));
    for c in 0..input.channels {
        for i in 0..k {
            for j in 0..k {
                for y in 0..out.height {
                    for x in 0..out.width {
                        // A_pad[c, y·s + i, x·s + j], 0 in the padding
                        let (h, w) = ((y * s + i).wrapping_sub(p), (x * s + j).wrapping_sub(p));
                        if h < input.height && w < input.width {
                            cols[[(c * k + i) * k + j, y * out.width + x]] = a[input.row(c, h, w)];
                        }
                    }
                }
            }
        }
    }
    cols
}

/// The gradient of one image from the gradient of its patches, dcols (C·k·k, H′·W′): every
/// entry added to the pixel [`im2col`] copied it from (positions in order, and for each
/// position its rows), entries from the padding dropped. Returns dA (C·H·W entries).
pub fn col2im(conv: &Conv2d, dcols: ArrayView2<f64>) -> Result<Array1<f64>> {
    conv.check_geometry(|| "the convolution".into())?;
    let out = conv.conv_output(1);
    if dcols.dim() != (conv.patch_len(), out.height * out.width) {
        return Err(AnnError::ShapeMismatch {
            context: format!(
                "the patches' gradient dcols (C·k·k, H′·W′) of the convolution of a {}",
                conv.input
            ),
            expected: shape_str(&[conv.patch_len(), out.height * out.width]),
            got: shape_str(dcols.shape()),
        });
    }
    Ok(col2im_unchecked(conv, dcols))
}

/// [`col2im`] for a checked geometry and shape.
pub(crate) fn col2im_unchecked(conv: &Conv2d, dcols: ArrayView2<f64>) -> Array1<f64> {
    let Conv2d { input, kernel: k, stride: s, padding: p, .. } = *conv;
    let out = conv.conv_output(1);
    let mut da = Array1::zeros(input.len());
    for y in 0..out.height {
        for x in 0..out.width {
            for c in 0..input.channels {
                for i in 0..k {
                    for j in 0..k {
                        let (h, w) = ((y * s + i).wrapping_sub(p), (x * s + j).wrapping_sub(p));
                        if h < input.height && w < input.width {
                            da[input.row(c, h, w)] += dcols[[(c * k + i) * k + j, y * out.width + x]];
                        }
                    }
                }
            }
        }
    }
    da
}
