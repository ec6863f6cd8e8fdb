//! The fast path: every optimisation of the crate, behind one seam.
//!
//! The modules of the math (`forward`, `backward`, `loss`, `optim`, ...) compute each
//! equation the plain way, one line per equation and a fresh array per result: they are the
//! reference. Training runs the same arithmetic here, faster, and gets the same bits:
//!
//! | what | where |
//! |---|---|
//! | a training step's buffers, allocated once and filled in place: [`Workspace`] | `workspace.rs` |
//! | the whole data set evaluated in chunks, on two cores when it is big | `evaluate.rs` |
//! | small matrix products from the arrays themselves (AVX-512 register tiles) | `matmul.rs` |
//! | Z += b and A = g(Z) ⊙ D / keep_prob fused per layer; dZ in place; batch gathering | `kernels.rs` |
//! | element-wise loops compiled for the CPU's widest vectors | `simd.rs` |
//! | a second core | `threads.rs` |
//! | optimizer updates as one loop over a parameter's memory | `update.rs` |
//! | sums in a fixed order that vectorizes (‖M‖_F) | `reduce.rs` |
//!
//! Why the bits do not change: every entry is computed with the reference's operations in
//! the reference's order. The matrix kernel sums over k exactly as matrixmultiply (ndarray's
//! product) does; the vectorized loops do the same IEEE operations per entry (Rust never
//! fuses a·b + c on its own); work is split across cores only where the pieces write
//! disjoint entries; and the loss of a data set is summed column after column, as
//! [`Loss::cost`](crate::Loss::cost) sums it. The tests compare both paths bit for bit on
//! random networks. `ANN_CORE_THREADS=1` keeps everything on one core.

mod evaluate;
mod kernels;
mod matmul;
mod reduce;
mod simd;
mod threads;
mod update;
mod workspace;

pub use evaluate::EVAL_CHUNK;
pub use reduce::frobenius;
pub(crate) use simd::wide;
pub(crate) use update::{each_entry, each_entry1, each_entry2};
pub use workspace::Workspace;
