//! # ann_core — a deep neural network from first principles
//!
//! Course notation throughout: X is (n_x, m) with one column per example; layer l has
//! W[l] of shape (n_l, n_{l−1}) and b[l] of shape (n_l, 1);
//! Z[l] = W[l] A[l−1] + b[l], A[l] = g\[l\](Z[l]), A[0] = X, Ŷ = A[L].
//!
//! | math | module |
//! |---|---|
//! | architecture, layers | [`network`], [`layer`] |
//! | the parameters θ as one list (W, b, γ, β), their gradients dθ in the same order | [`param`], [`gradients`] |
//! | activations g, g' | [`activation`] |
//! | initialization | [`init`] |
//! | forward propagation | [`forward`] |
//! | the cache (Z, A, D) | [`cache`] |
//! | losses J, the cost of a forward pass | [`loss`], [`cost`] |
//! | backpropagation | [`backward`] |
//! | convolution (cross-correlation), im2col, max pooling | [`conv`] (`loops.rs`, `im2col.rs`, `pool.rs`) |
//! | inverted dropout | [`dropout`] |
//! | normalization of a layer: batch norm, layer norm | [`normalization`] (`batchnorm.rs`, `layernorm.rs`) |
//! | mini-batches | [`batch`] |
//! | SGD, Momentum, RMSProp, Adam, AdamW | [`optim`] |
//! | learning-rate schedules | [`schedule`] |
//! | the learning-rate range test | [`lr_range_test`] |
//! | random search of α and λ on a validation set, coarse to fine | [`search`] |
//! | the settings of a run | [`config`] |
//! | the training loop, written with the readable functions | [`reference`](mod@reference) |
//! | the training loop as `fit` runs it, History | [`train`], [`history`] |
//! | evaluation (J and accuracy on a data set) | [`evaluate`](mod@evaluate) |
//! | ‖M‖_F | [`matrix_norm`] |
//! | the fast, allocation-free training path, and every other optimisation | [`fast`] |
//! | gradient checking | [`gradcheck`] |
//! | data sets, scaling | [`data`], [`scaler`] |
//! | Fashion-MNIST (60,000 + 10,000 images of 28×28, IDX files) | [`fashion_mnist`](mod@fashion_mnist) |
//! | confusion matrix | [`metrics`] |
//! | saving and loading | [`persist`] |
//! | checkpoints, resuming a run | [`checkpoint`] |
//! | errors | [`error`] |
//!
//! [`prelude`] brings the names a notebook or a small program needs in one line:
//! `use ann_core::prelude::*;`.
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
pub mod cache;
pub mod checkpoint;
pub mod config;
pub mod conv;
pub mod cost;
pub mod data;
pub mod dropout;
pub mod error;
pub mod evaluate;
pub mod fashion_mnist;
pub mod fast;
pub mod forward;
pub mod gradcheck;
pub mod gradients;
pub mod history;
pub mod init;
pub mod l2;
pub mod layer;
pub mod loss;
pub mod lr_range_test;
pub mod matrix_norm;
pub mod metrics;
pub mod network;
pub mod normalization;
pub mod optim;
pub mod param;
pub mod persist;
pub mod precision;
pub mod prelude;
pub mod reference;
pub mod scaler;
pub mod schedule;
pub mod search;
pub mod train;

pub use activation::{Activation, relu, sigmoid};
pub use batch::{gather_columns, shuffled_batches};
pub use cache::{Cache, Eval, Train};
pub use checkpoint::{BestEpoch, Checkpoint, Checkpointing, RunState};
pub use config::{EarlyStopping, TrainConfig};
pub use conv::{Conv2d, Conv2dConfig, Image, LayerSpec, MaxPool2d};
pub use data::{
    DataView, Dataset, blobs, circles, digits, noisy_sine, one_hot, spirals, train_test_split, two_moons, xor,
};
pub use dropout::Dropout;
pub use error::{AnnError, Result};
pub use evaluate::evaluate;
pub use fashion_mnist::{
    FashionMnist, PixelScale, fashion_mnist, fashion_mnist_dir, fashion_mnist_installed,
};
pub use gradcheck::{FrozenDropout, GradCheckReport, compare_gradients, gradient_check, numerical_gradients};
pub use gradients::Gradients;
pub use history::{History, StopReason};
pub use init::Init;
pub use l2::L2;
pub use layer::{Layer, LayerKind};
pub use loss::Loss;
pub use lr_range_test::{LrRange, LrRangeTest};
pub use matrix_norm::frobenius;
pub use metrics::{accuracy, confusion_matrix, misclassified};
pub use network::{Network, Task};
pub use normalization::{
    BatchNorm, BatchNormConfig, LayerNorm, LayerNormConfig, Normalization, NormalizationCache,
    NormalizationConfig, NormalizationGrads, Normalize,
};
pub use optim::{
    AdamConfig, AdamWConfig, MomentumConfig, Optimizer, OptimizerConfig, OptimizerState, ParamState,
    RmsPropConfig, SgdConfig,
};
pub use param::{Param, ParamId, ParamKind, ParamMut};
pub use persist::SavedModel;
pub use precision::Precision;
pub use reference::fit_reference;
pub use scaler::StandardScaler;
pub use schedule::LrSchedule;
pub use search::{Hyperparameters, LogUniform, RandomSearch, SearchSpace, Trial, best_trial};
pub use train::{EpochInfo, Observer, Progress, StepInfo, Trainer, fit};

/// The README's Rust examples are compiled and run as doctests, so they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;
