//! The fast path: every optimisation of the crate, behind one seam.
//!
//! The modules of the math (`forward`, `backward`, `loss`, `normalization`, `optim`, ...)
//! compute each equation the plain way, one line per equation and a fresh array per result:
//! they are the reference. Training runs the same arithmetic here, faster, and gets the same
//! bits.
//!
//! Behind the seam:
//!
//! | what | where | used by |
//! |---|---|---|
//! | a training step's buffers, allocated once and filled in place (`Workspace`) | `workspace.rs` | the training loop |
//! | the whole data set evaluated in chunks, on two cores when it is big | `evaluate.rs` | the training loop, [`Network::predict_proba`](crate::Network::predict_proba) |
//! | a convolution's patch matrix (im2col) and its gradient (col2im) for a whole batch, max pooling | `conv.rs` | the two above |
//! | small matrix products from the arrays themselves (AVX-512 register tiles) | `matmul.rs` | the two above |
//! | Z += b and A = g(Z) ⊙ D / keep_prob fused per layer for every element-wise g; dZ in place; batch gathering; dropout masks | `kernels.rs` | the two above |
//! | element-wise loops compiled for the CPU's widest vectors | `simd.rs` | all of these |
//! | a second core | `threads.rs` | all of these |
//! | an update rule's equations run over a parameter's memory | `update.rs` | [`Optimizer::step`](crate::Optimizer::step) |
//! | a network trained in f32 (dense and convolutional layers): its parameters, gradients and the optimizer's averages copied into f32, with a step's buffers | `mirror.rs` | the training loop in [`Precision::F32`](crate::Precision) |
//! | the two precisions the kernels above are written for (generic over f64 and f32) | `real.rs` | all of these |
//!
//! Not behind it, so written once, in the math's own modules: the activations' g and g'
//! (`activation.rs`; the kernels compile them into their loops), the update rules (`optim/`;
//! `update.rs` only runs a rule's closure over the entries), the normalizations (a
//! normalized layer's step in the workspace calls `normalization/` itself, and allocates),
//! the losses, and ‖M‖_F (`matrix_norm.rs`, one fixed summation order for everyone).
//!
//! In f32 the kernels are the same code at the other precision (`real.rs`); g, g', the update
//! rules and the losses stay the f64 functions of the math's modules, evaluated per entry on
//! widened values and rounded once (only softmax's forward pass and the sum of ‖M‖_F have an
//! f32 body of their own). The f32 engine
//! (`mirror.rs`) run in f64 gives the workspace's bits (a test checks it): the two paths differ
//! in their precision only.
//!
//! Why the bits do not change: every entry is computed with the reference's operations in
//! the reference's order. The matrix kernel sums over k exactly as matrixmultiply (ndarray's
//! product) does; the vectorized loops do the same IEEE operations per entry (Rust never
//! fuses a·b + c on its own); work is split across cores only where the pieces write
//! disjoint entries; and the loss of a data set is summed column after column, as
//! [`Loss::cost`](crate::Loss::cost) sums it. The tests compare both paths bit for bit on
//! random networks. `ANN_CORE_THREADS=1` keeps everything on one core.

mod conv;
mod evaluate;
mod kernels;
mod matmul;
mod mirror;
pub(crate) mod real;
mod simd;
mod threads;
pub(crate) mod update;
mod workspace;

pub(crate) use mirror::{Mirror, check_f32};
pub(crate) use workspace::Workspace;

/// Ŷ = A[L] of `net` for the columns of `x` (checked against the network) in eval mode,
/// chunk by chunk: the bits of `Network::forward`'s output.
pub(crate) fn predict(
    net: &crate::Network,
    x: ndarray::ArrayView2<'_, f64>,
) -> crate::Result<ndarray::Array2<f64>> {
    Workspace::new(net, 1)?.predict_unchecked(net, x)
}

#[cfg(test)]
mod tests;
