//! Convolutional layers: Z[l] = W[l] ⋆ A[l−1] + b[l], A[l] = pool(g\[l\](Z[l])).
//!
//! **Images in columns.** X stays (n_x, m), one column per example. A column of an image
//! layer holds one C × H × W image, channel after channel and each channel row after row:
//! pixel (c, h, w) is row (c·H + h)·W + w. So a dense layer after a convolutional one takes
//! the image as n_{l−1} = C·H·W numbers (flattening costs nothing), and every function of
//! the crate that works on columns (activations, dropout, losses, batches) works unchanged.
//!
//! **The filters.** Layer l has F filters of C × k × k and one bias per filter. W[l] is
//! stored as a matrix (F, C·k·k): row f is filter f, entry (c, i, j) in column (c·k + i)·k + j
//! (its 4-D view (F, C, k, k): [`Conv2d::filters`]); b[l] is (F, 1). The optimizers, L2,
//! gradient checking and saving treat them as any W[l] and b[l].
//!
//! **Forward: cross-correlation** (what every framework calls convolution: the filter is not
//! flipped). With stride s and p rows and columns of zeros around the image (A_pad),
//!
//! Z[f, y, x] = b[f] + Σ_c Σ_i Σ_j W[f, c, i, j] · A_pad[c, y·s + i, x·s + j],
//!
//! for y < H′ = ⌊(H + 2p − k)/s⌋ + 1 and x < W′ = ⌊(W + 2p − k)/s⌋ + 1 (this crate asks
//! the division to be exact, so no row or column of the input is silently left out).
//!
//! **Backward.** Z is linear in W, b and A, each term of the sum above once:
//!
//! - dW[f, c, i, j] = Σ_examples Σ_y Σ_x dZ[f, y, x] · A_pad[c, y·s + i, x·s + j]
//!   (the filter is shared by every position, so its gradient sums over all of them);
//! - db[f] = Σ_examples Σ_y Σ_x dZ[f, y, x];
//! - dA_pad[c, y·s + i, x·s + j] += Σ_f W[f, c, i, j] · dZ[f, y, x], and dA is dA_pad
//!   without its border of padding.
//!
//! **Pooling** ([`MaxPool2d`], `pool.rs`) follows g: A[l] = maxpool(g(Z[l])), and its
//! gradient goes to the arg-max of each window.
//!
//! **Where each form lives.** `loops.rs` computes these equations as written, loop by loop:
//! the definition, slow. `im2col.rs` copies every k × k patch into a column of a matrix, so
//! the sums become one matrix product, Z = W · im2col(A) + b; the network's passes
//! ([`Conv2d::forward`], [`Conv2d::backward`]) use that form, and the training path runs the
//! same products in place. The two forms add the same terms in a different order, so they
//! agree to rounding (tested: within 1e-12).

mod im2col;
mod loops;
mod pool;

use crate::error::{AnnError, Result, shape_str};
pub use im2col::{col2im, im2col};
use im2col::{col2im_unchecked, im2col_unchecked};
pub use loops::{ConvGrads, conv_backward_loops, conv_forward_loops};
use ndarray::{Array2, ArrayView2, ArrayView4, Axis};
pub use pool::{MaxPool2d, PoolCache, max_pool_backward, max_pool_forward};
pub(crate) use pool::{pool_unchecked, unpool_unchecked};
use serde::{Deserialize, Serialize};

/// The shape of an image layer: C channels of H × W pixels, stored in a column as
/// pixel (c, h, w) → row (c·H + h)·W + w.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Image {
    /// C.
    pub channels: usize,
    /// H, rows of pixels.
    pub height: usize,
    /// W, columns of pixels.
    pub width: usize,
}

impl Image {
    /// A C × H × W image.
    pub fn new(channels: usize, height: usize, width: usize) -> Self {
        Image { channels, height, width }
    }

    /// C·H·W: the rows of a column holding this image.
    pub fn len(&self) -> usize {
        self.channels * self.height * self.width
    }

    /// Whether the image has no pixels.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The row of pixel (c, h, w): (c·H + h)·W + w.
    pub fn row(&self, c: usize, h: usize, w: usize) -> usize {
        (c * self.height + h) * self.width + w
    }
}

impl std::fmt::Display for Image {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}×{}×{}", self.channels, self.height, self.width)
    }
}

/// The geometry of a convolutional layer (its W[l] and b[l] live in the
/// [`Layer`](crate::Layer)): the input image, the k × k filters' stride and zero padding,
/// and an optional max pooling after the activation. F, the number of filters, is the rows
/// of W[l].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Conv2d {
    /// C × H × W of A[l−1].
    pub input: Image,
    /// k: each filter is C × k × k.
    pub kernel: usize,
    /// s: the filter moves s pixels at a time.
    pub stride: usize,
    /// p: rows and columns of zeros around each channel.
    pub padding: usize,
    /// Max pooling of g(Z[l]), or None.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool: Option<MaxPool2d>,
}

/// H′ = (H + 2p − k)/s + 1, or why it does not exist.
fn out_len(len: usize, kernel: usize, stride: usize, padding: usize) -> std::result::Result<usize, String> {
    let padded = len + 2 * padding;
    if kernel > padded {
        return Err(format!("a {kernel}-wide window is larger than the padded {padded}"));
    }
    if !(padded - kernel).is_multiple_of(stride) {
        return Err(format!(
            "({len} + 2·{padding} − {kernel}) = {} is not a multiple of the stride {stride}: the last \
             {} pixels would be left out",
            padded - kernel,
            (padded - kernel) % stride
        ));
    }
    Ok((padded - kernel) / stride + 1)
}

impl Conv2d {
    /// The layer in words, e.g. "1×28×28 → 16 filters 5×5, stride 1, padding 2 → 16×28×28,
    /// max pool 2×2 stride 2 → 16×14×14".
    pub fn describe(&self, filters: usize) -> String {
        let k = self.kernel;
        let conv = format!(
            "{} → {filters} filters {k}×{k}, stride {}, padding {} → {}",
            self.input,
            self.stride,
            self.padding,
            self.conv_output(filters)
        );
        match self.pool {
            None => conv,
            Some(p) => format!(
                "{conv}, max pool {w}×{w} stride {} → {}",
                p.stride,
                self.output(filters),
                w = p.window
            ),
        }
    }

    /// C·k·k: the columns of W[l], the numbers each filter multiplies (its fan-in).
    pub fn patch_len(&self) -> usize {
        self.input.channels * self.kernel * self.kernel
    }

    /// F × H′ × W′: the image of Z[l] for `filters` filters, before pooling.
    pub fn conv_output(&self, filters: usize) -> Image {
        let side = |len: usize| out_len(len, self.kernel, self.stride, self.padding).unwrap_or(0);
        Image::new(filters, side(self.input.height), side(self.input.width))
    }

    /// The image of A[l]: [`Conv2d::conv_output`], pooled if the layer pools.
    pub fn output(&self, filters: usize) -> Image {
        let z = self.conv_output(filters);
        match self.pool {
            None => z,
            Some(pool) => pool.output(z),
        }
    }

    /// The 4-D view (F, C, k, k) of W[l], whose rows are the flattened filters.
    pub fn filters<'a>(&self, w: ArrayView2<'a, f64>) -> Result<ArrayView4<'a, f64>> {
        let (c, k) = (self.input.channels, self.kernel);
        let f = w.nrows();
        w.into_shape_with_order((f, c, k, k)).map_err(|_| AnnError::ShapeMismatch {
            context: "filters W (F, C·k·k), contiguous".into(),
            expected: format!("({f}, {})", self.patch_len()),
            got: format!("a view of another shape or layout ({})", shape_str(&[f, w.ncols()])),
        })
    }

    /// Checks the geometry and the shapes of W[l] (F, C·k·k) and b[l] (F, 1) of layer `l`.
    pub fn check(&self, w: (usize, usize), b: (usize, usize), l: usize) -> Result<()> {
        // The names are only formatted for an error: a valid check (every training step
        // makes one) allocates nothing.
        self.check_geometry(|| format!("convolutional layer {l}"))?;
        self.check_params(
            w,
            b,
            || format!("W[{l}] of convolutional layer {l}"),
            || format!("b[{l}] of convolutional layer {l}"),
        )
    }

    /// The geometry alone: the kernel fits the padded image, the stride and the pooling
    /// cover it exactly. `name` names the layer in the error.
    pub(crate) fn check_geometry(&self, name: impl Fn() -> String) -> Result<()> {
        let Image { channels, height, width } = self.input;
        let bad = |what: String| AnnError::InvalidArchitecture(format!("{}: {what}", name()));
        if channels == 0 || height == 0 || width == 0 {
            return Err(bad(format!("the input image {} is empty", self.input)));
        }
        if self.kernel == 0 || self.stride == 0 {
            return Err(bad(format!(
                "kernel size {} and stride {} must be at least 1",
                self.kernel, self.stride
            )));
        }
        for (side, len) in [("height", height), ("width", width)] {
            out_len(len, self.kernel, self.stride, self.padding).map_err(|why| {
                bad(format!(
                    "the input image {} does not fit {k}×{k} filters with stride {} and padding {} \
                     along its {side}: {why}",
                    self.input,
                    self.stride,
                    self.padding,
                    k = self.kernel
                ))
            })?;
        }
        if let Some(pool) = self.pool {
            pool.check(self.conv_output(1)).map_err(bad)?;
        }
        Ok(())
    }

    /// W (F, C·k·k) with F ≥ 1 and b (F, 1), named `w_name` and `b_name` in the error.
    pub(crate) fn check_params(
        &self,
        w: (usize, usize),
        b: (usize, usize),
        w_name: impl Fn() -> String,
        b_name: impl Fn() -> String,
    ) -> Result<()> {
        if w.0 == 0 || w.1 != self.patch_len() {
            return Err(AnnError::ShapeMismatch {
                context: format!("{} (F filters of C·k·k)", w_name()),
                expected: format!(
                    "(F ≥ 1, {}·{}·{} = {})",
                    self.input.channels,
                    self.kernel,
                    self.kernel,
                    self.patch_len()
                ),
                got: shape_str(&[w.0, w.1]),
            });
        }
        if b != (w.0, 1) {
            return Err(AnnError::ShapeMismatch {
                context: format!("{} (one bias per filter)", b_name()),
                expected: format!("({}, 1)", w.0),
                got: shape_str(&[b.0, b.1]),
            });
        }
        Ok(())
    }

    /// Z[l] = W[l] ⋆ A[l−1] + b[l] for the m columns of `a_prev` (C·H·W, m): returns Z[l]
    /// (F·H′·W′, m). One example at a time, as one matrix product:
    /// Z_j = W · im2col(A_j) + b (F, H′·W′), which is Z's column j, filter after filter.
    /// Shapes must be checked ([`Conv2d::check`]).
    pub fn forward(&self, w: ArrayView2<f64>, b: ArrayView2<f64>, a_prev: ArrayView2<f64>) -> Array2<f64> {
        let out = self.conv_output(w.nrows());
        let mut z = Array2::zeros((out.len(), a_prev.ncols()));
        for (a, mut z_col) in a_prev.columns().into_iter().zip(z.columns_mut()) {
            // Z_j = W · im2col(A_j) + b  (the product first, then + b: the training path's order)
            let z_j = w.dot(&im2col_unchecked(self, a)) + b;
            z_col.assign(&z_j.into_shape_with_order(out.len()).expect("F·H′·W′ entries"));
        }
        z
    }

    /// The sums of the backward equations (module docs) for a batch: dW (F, C·k·k) and db
    /// (F, 1) summed over the examples and positions, and dA[l−1] (C·H·W, m) if `input_grad`.
    /// As matrix products over the batch's patches, one column per (position, example):
    /// with P = im2col of the batch (C·k·k, H′·W′·m) and dZ seen as (F, H′·W′·m),
    ///
    /// dW = dZ · Pᵀ,  db = Σ_columns dZ,  dP = Wᵀ · dZ,  dA[l−1] = col2im(dP).
    pub fn backward(
        &self,
        w: ArrayView2<f64>,
        a_prev: ArrayView2<f64>,
        dz: ArrayView2<f64>,
        input_grad: bool,
    ) -> ConvGrads {
        let m = a_prev.ncols();
        let out = self.conv_output(w.nrows());
        let positions = out.height * out.width;
        let patches = patches(self, a_prev);
        // dZ (F·H′·W′, m) in memory order is (F, H′·W′·m): column (y·W′ + x)·m + j.
        let dz = dz.as_standard_layout();
        let dz = dz.view().into_shape_with_order((w.nrows(), positions * m)).expect("F·H′·W′·m entries");
        // dW = dZ · Pᵀ
        let dw = dz.dot(&patches.t());
        // db = Σ over positions and examples of dZ
        let db = dz.sum_axis(Axis(1)).insert_axis(Axis(1));
        // dA[l−1] = col2im(Wᵀ · dZ)
        let da_prev = input_grad.then(|| unpatch(self, w.t().dot(&dz).view(), m));
        ConvGrads { dw, db, da_prev }
    }
}

/// im2col of a whole batch: column (y·W′ + x)·m + j holds example j's patch at (y, x), so
/// W · P is Z's memory, filter after filter (see [`Conv2d::backward`]).
pub(crate) fn patches(conv: &Conv2d, a_prev: ArrayView2<f64>) -> Array2<f64> {
    let m = a_prev.ncols();
    let out = conv.conv_output(1);
    let positions = out.height * out.width;
    let mut p = Array2::zeros((conv.patch_len(), positions * m));
    for (j, a) in a_prev.columns().into_iter().enumerate() {
        let cols = im2col_unchecked(conv, a);
        for (q, col) in cols.columns().into_iter().enumerate() {
            p.column_mut(q * m + j).assign(&col);
        }
    }
    p
}

/// col2im of a whole batch: the inverse bookkeeping of [`patches`], summed into dA[l−1].
pub(crate) fn unpatch(conv: &Conv2d, dp: ArrayView2<f64>, m: usize) -> Array2<f64> {
    let out = conv.conv_output(1);
    let positions = out.height * out.width;
    let mut da = Array2::zeros((conv.input.len(), m));
    for (j, mut da_col) in da.columns_mut().into_iter().enumerate() {
        let cols = Array2::from_shape_fn((conv.patch_len(), positions), |(r, q)| dp[[r, q * m + j]]);
        da_col.assign(&col2im_unchecked(conv, cols.view()));
    }
    da
}

/// The settings of a convolutional layer to build (see
/// [`Network::convolutional`](crate::Network::convolutional)): F filters of k × k, stride,
/// padding and pooling; the input image comes from the layer before.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Conv2dConfig {
    /// F.
    pub filters: usize,
    /// k.
    pub kernel: usize,
    /// s (default 1).
    pub stride: usize,
    /// p (default 0).
    pub padding: usize,
    /// Max pooling after the activation (default none).
    pub pool: Option<MaxPool2d>,
}

impl Conv2dConfig {
    /// F filters of k × k, stride 1, no padding, no pooling.
    pub fn new(filters: usize, kernel: usize) -> Self {
        Conv2dConfig { filters, kernel, stride: 1, padding: 0, pool: None }
    }

    /// The same with stride s.
    pub fn stride(self, stride: usize) -> Self {
        Conv2dConfig { stride, ..self }
    }

    /// The same with p rows and columns of zeros around each channel.
    pub fn padding(self, padding: usize) -> Self {
        Conv2dConfig { padding, ..self }
    }

    /// The same followed by max pooling over `window` × `window`, stride `window`.
    pub fn pool(self, window: usize) -> Self {
        Conv2dConfig { pool: Some(MaxPool2d::new(window)), ..self }
    }

    /// The layer's geometry on an `input` image.
    pub fn on(self, input: Image) -> Conv2d {
        Conv2d { input, kernel: self.kernel, stride: self.stride, padding: self.padding, pool: self.pool }
    }
}

/// One layer of [`Network::convolutional`](crate::Network::convolutional): convolutional,
/// or dense with n_l units (after an image layer it takes the image as one column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum LayerSpec {
    /// A convolutional layer (and its pooling).
    Conv2d(Conv2dConfig),
    /// A dense layer of n_l units.
    Dense(usize),
}

impl From<Conv2dConfig> for LayerSpec {
    fn from(c: Conv2dConfig) -> Self {
        LayerSpec::Conv2d(c)
    }
}
