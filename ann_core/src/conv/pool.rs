//! Max pooling: each channel shrinks to the maximum of every window × window block, taken
//! `stride` pixels apart:
//!
//! A[c, y, x] = max_{i, j < window} G[c, y·s + i, x·s + j],  H″ = (H′ − window)/s + 1,
//!
//! where G = g(Z) is the convolution's activated output. It has no parameters. Its
//! gradient goes to the one pixel that won each window (the arg-max) and nowhere else:
//!
//! dG[c, y·s + i*, x·s + j*] += dA[c, y, x],  (i*, j*) = argmax of window (y, x);
//!
//! a tie goes to the first of the window's pixels in row-major order (the first maximum
//! found scanning row by row), so exactly one pixel per window receives the gradient.

use super::Image;
use crate::error::{AnnError, Result, shape_str};
use ndarray::{Array2, ArrayView2};
use serde::{Deserialize, Serialize};

/// Max pooling over window × window blocks, `stride` apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaxPool2d {
    /// The side of each block.
    pub window: usize,
    /// How far apart blocks start (the window, for blocks that do not overlap).
    pub stride: usize,
}

/// What the backward step of a max pooling needs: the image it pooled and, per output
/// entry, the row of the winning pixel.
#[derive(Debug, Clone, PartialEq)]
pub struct PoolCache {
    /// The image that was pooled (C × H′ × W′).
    pub input: Image,
    /// argmax[r, j]: the row of G whose value A[r, j] is, shape of A (C·H″·W″, m).
    pub argmax: Array2<usize>,
}

impl MaxPool2d {
    /// Non-overlapping window × window blocks (stride = window), the common choice.
    pub fn new(window: usize) -> Self {
        MaxPool2d { window, stride: window }
    }

    /// C × H″ × W″ of the pooled `input`.
    pub fn output(&self, input: Image) -> Image {
        let side = |len: usize| {
            if self.stride == 0 || len < self.window { 0 } else { (len - self.window) / self.stride + 1 }
        };
        Image::new(input.channels, side(input.height), side(input.width))
    }

    /// The window fits the image and the windows cover it exactly (no row or column left
    /// out); the error says why not.
    pub(crate) fn check(&self, input: Image) -> std::result::Result<(), String> {
        if self.window == 0 || self.stride == 0 {
            return Err(format!(
                "pooling window {} and stride {} must be at least 1",
                self.window, self.stride
            ));
        }
        for (name, len) in [("height", input.height), ("width", input.width)] {
            if len < self.window {
                return Err(format!(
                    "a {w}×{w} pooling window does not fit the {name} {len} of the {}×{} maps",
                    input.height,
                    input.width,
                    w = self.window
                ));
            }
            if !(len - self.window).is_multiple_of(self.stride) {
                return Err(format!(
                    "{w}×{w} pooling with stride {s} does not divide the {name} {len} of the {}×{} \
                     maps: the last {} pixels would be left out",
                    input.height,
                    input.width,
                    (len - self.window) % self.stride,
                    w = self.window,
                    s = self.stride
                ));
            }
        }
        Ok(())
    }
}

/// Max pooling of `g` (C·H′·W′, m), one `input` image per column: returns A (C·H″·W″, m)
/// and the arg-max of every window for the backward step.
pub fn max_pool_forward(
    pool: &MaxPool2d,
    input: Image,
    g: ArrayView2<f64>,
) -> Result<(Array2<f64>, PoolCache)> {
    pool.check(input).map_err(AnnError::InvalidArchitecture)?;
    if g.nrows() != input.len() || g.ncols() == 0 {
        return Err(AnnError::ShapeMismatch {
            context: format!("images to pool ({input}, one per column)"),
            expected: format!("({}, m ≥ 1)", input.len()),
            got: shape_str(g.shape()),
        });
    }
    Ok(pool_unchecked(pool, input, g))
}

/// [`max_pool_forward`] for checked shapes.
pub(crate) fn pool_unchecked(pool: &MaxPool2d, input: Image, g: ArrayView2<f64>) -> (Array2<f64>, PoolCache) {
    let out = pool.output(input);
    let mut a = Array2::zeros((out.len(), g.ncols()));
    let mut argmax = Array2::zeros((out.len(), g.ncols()));
    for j in 0..g.ncols() {
        for c in 0..out.channels {
            for y in 0..out.height {
                for x in 0..out.width {
                    // the first maximum of the window, scanning row by row
                    let mut best = input.row(c, y * pool.stride, x * pool.stride);
                    for i in 0..pool.window {
                        for jj in 0..pool.window {
                            let r = input.row(c, y * pool.stride + i, x * pool.stride + jj);
                            if g[[r, j]] > g[[best, j]] {
                                best = r;
                            }
                        }
                    }
                    a[[out.row(c, y, x), j]] = g[[best, j]];
                    argmax[[out.row(c, y, x), j]] = best;
                }
            }
        }
    }
    (a, PoolCache { input, argmax })
}

/// dG (C·H′·W′, m) from dA (C·H″·W″, m): each entry of dA goes to its window's arg-max.
pub fn max_pool_backward(cache: &PoolCache, da: ArrayView2<f64>) -> Result<Array2<f64>> {
    if da.dim() != cache.argmax.dim() || cache.argmax.iter().any(|&r| r >= cache.input.len()) {
        return Err(AnnError::ShapeMismatch {
            context: "dA of the pooled images (the shape of the pooling's output)".into(),
            expected: shape_str(cache.argmax.shape()),
            got: shape_str(da.shape()),
        });
    }
    Ok(unpool_unchecked(cache, da))
}

/// [`max_pool_backward`] for checked shapes.
pub(crate) fn unpool_unchecked(cache: &PoolCache, da: ArrayView2<f64>) -> Array2<f64> {
    let mut dg = Array2::zeros((cache.input.len(), da.ncols()));
    for ((r, j), &winner) in cache.argmax.indexed_iter() {
        dg[[winner, j]] += da[[r, j]];
    }
    dg
}
