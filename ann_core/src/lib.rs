//! # ann_core — a deep neural network from first principles
//!
//! Course notation throughout: X is (n_x, m) with one column per example; layer l has
//! W[l] of shape (n_l, n_{l−1}) and b[l] of shape (n_l, 1);
//! Z[l] = W[l] A[l−1] + b[l], A[l] = g\[l\](Z[l]), A[0] = X, Ŷ = A[L].
//!
//! | math | module |
//! |---|---|
//! | architecture, layers | [`network`], [`layer`] |
//! | activations g, g' | [`activation`] |
//! | initialization | [`init`] |
//! | forward propagation | [`forward`] |
//! | the cache (Z, A, D) | [`cache`] |
//! | losses J | [`loss`] |
//! | backpropagation | [`backward`] |
//! | inverted dropout | [`dropout`] |
//! | batch normalization (one layer's step, forward and backward) | [`batchnorm`] |
//! | mini-batches | [`batch`] |
//! | SGD, Momentum, RMSProp, Adam, AdamW | [`optim`] |
//! | learning-rate schedules | [`schedule`] |
//! | training loop, History | [`train`], [`history`] |
//! | the fast, allocation-free training path, and every other optimisation | [`fast`] |
//! | gradient checking | [`gradcheck`] |
//! | data sets, scaling | [`data`], [`scaler`] |
//! | Fashion-MNIST (60,000 + 10,000 images of 28×28, IDX files) | [`fashion_mnist`](mod@fashion_mnist) |
//! | confusion matrix | [`metrics`] |
//! | saving and loading | [`persist`] |
//! | checkpoints, resuming a run | [`checkpoint`] |
//! | errors | [`error`] |
//!
//! Figures and the experiments behind them are the `ann_plot` crate.

// The course's notation (W[l], A[L], X[0]) reads to rustdoc as links that do not resolve;
// `make doc` checks the real links, written [`Name`], with this lint forced on.
#![allow(rustdoc::broken_intra_doc_links)]

// Links the BLAS that ndarray's `blas` feature calls (the system OpenBLAS).
#[cfg(feature = "blas")]
extern crate blas_src as _;

pub mod activation;
pub mod backward;
pub mod batch;
pub mod batchnorm;
pub mod cache;
pub mod checkpoint;
pub mod data;
pub mod dropout;
pub mod error;
pub mod fashion_mnist;
pub mod fast;
pub mod forward;
pub mod gradcheck;
pub mod history;
pub mod init;
pub mod layer;
pub mod loss;
pub mod metrics;
pub mod network;
pub mod optim;
pub mod persist;
pub mod scaler;
pub mod schedule;
pub mod train;

pub use activation::{Activation, relu, sigmoid};
pub use backward::{Gradients, LayerGrad};
pub use batch::{gather_columns, shuffled_batches};
pub use batchnorm::{BatchNorm, BatchNormCache, BatchNormConfig, BatchNormGrads};
pub use cache::{Cache, Eval, Train};
pub use checkpoint::{BestEpoch, Checkpoint, Checkpointing};
pub use data::{
    DataView, Dataset, blobs, circles, digits, noisy_sine, one_hot, spirals, train_test_split, two_moons, xor,
};
pub use dropout::{Dropout, fill_mask};
pub use error::{AnnError, Result};
pub use fashion_mnist::{
    FASHION_MNIST_CLASSES, FASHION_MNIST_DEFAULT_DIR, FASHION_MNIST_DIR_ENV, FASHION_MNIST_FILES,
    FASHION_MNIST_INSTALL, FashionMnist, IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, IdxImages, PixelScale,
    fashion_mnist, fashion_mnist_dir, fashion_mnist_installed, parse_idx_images, parse_idx_labels,
    read_idx_images, read_idx_labels,
};
pub use fast::{Workspace, frobenius};
pub use gradcheck::{FrozenDropout, GradCheckReport, compare_gradients, gradient_check, numerical_gradients};
pub use history::{History, StopReason};
pub use init::Init;
pub use layer::Layer;
pub use loss::Loss;
pub use metrics::{accuracy, confusion_matrix, count_correct, labels_from_output, misclassified};
pub use network::{Network, NetworkId, Task};
pub use optim::{
    AdamConfig, AdamWConfig, Moments, MomentumConfig, Optimizer, OptimizerConfig, OptimizerState,
    RmsPropConfig, SgdConfig,
};
pub use persist::SavedModel;
pub use scaler::StandardScaler;
pub use schedule::LrSchedule;
pub use train::{
    EarlyStopping, EpochInfo, Observer, Progress, StepInfo, TrainConfig, Trainer, evaluate, fit,
};

/// The README's Rust examples are compiled and run as doctests, so they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;
