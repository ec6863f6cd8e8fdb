//! # ann_exercises — graders for the exercise notebooks
//!
//! In `notebooks/exercises/` the learner writes the network's functions one by one; after
//! each, a grader cell hands the function to the matching grader here:
//!
//! ```
//! use ann_exercises as check;
//! use ndarray::{Array2, ArrayView2};
//!
//! fn linear_forward(w: ArrayView2<f64>, a_prev: ArrayView2<f64>, b: ArrayView2<f64>) -> Array2<f64> {
//!     w.dot(&a_prev) + &b
//! }
//! let report = check::linear_forward(linear_forward);
//! assert!(report.is_passed());
//! println!("{report}"); // ✓ linear_forward: 5/5 cases
//! ```
//!
//! A grader runs the function on the course's fixed inputs and on seeded random cases,
//! compares shapes and then values with `ann_core` (within [`TOLERANCE`]), and returns a
//! [`Report`]: `✓` with the cases passed, `✗` with the first wrong case, what differs (the
//! entry, with enough decimals to see the difference, and the difference), the expected and
//! the actual result, and a hint when the result is that of a typical mistake (a product in
//! the wrong order, a missing 1/m, ...); `○` while the function is still `todo!()`.
//!
//! A hint comes in two levels: a first failure names the concept ("dW averages over the m
//! examples of the batch"); [`Report::more`] adds the equation, so a learner asks for it by
//! running the grader cell again as `check::linear_backward(linear_backward).more()` (the
//! report says so).
//!
//! A panic in the learner's function is caught, so the notebook goes on, and ndarray's
//! messages are told in the course's notation: which product of which arrays failed (the
//! matrix product A_prev·W where A_prev is (3, 2) and W is (1, 3): the inner sizes must
//! agree, did you mean Z = W·A_prev?), or which sum did not broadcast (a bias as a row).
//! Where a typical mistake would be shape-compatible, a square case lets the grader see its
//! value and name it.
//!
//! The derive-it graders ([`softmax_cross_entropy_backward`], [`dropout_backward`],
//! [`batch_norm_backward`]) check a gradient the learner derived on paper against central
//! differences of the cost, and list the entries that disagree.
//!
//! | exercise | graders |
//! |---|---|
//! | 1 · forward propagation | [`linear_forward`], [`relu`], [`sigmoid`], [`tanh`], [`softmax`], [`l_layer_forward`] |
//! | 2 · cost and backpropagation | [`binary_cross_entropy`], [`cross_entropy`], [`softmax_cross_entropy_backward`], [`linear_backward`], [`relu_backward`], [`sigmoid_backward`], [`tanh_backward`], [`l_layer_backward`] |
//! | 3 · gradient checking | [`two_sided_difference`], [`numerical_gradients`], [`relative_error`], [`planted_bug`] (with [`gradcheck_case`], [`buggy_backward`]) |
//! | 3b · autograd | [`backward_mul`], [`backward_tanh`], [`backward_powi`], [`topological_order`], [`backward_walk`] (with [`gradients_caught`]; against [`ann_autograd`], within [`AUTOGRAD_TOLERANCE`]) |
//! | 4 · mini-batches and the training loop | [`shuffled_batches`], [`train_epoch`], [`train`] (with [`training_case`]) |
//! | 5 · optimizers | [`momentum_step`], [`rmsprop_step`], [`adam_step`], [`adam_epochs`] |
//! | 6 · dropout | [`dropout_forward`], [`dropout_backward`], [`dropout_layer`], [`l_layer_backward`] (on a `Cache<Train>`, with dropout) |
//! | 6b · batch normalization | [`batch_norm_forward`], [`batch_norm_backward`], [`batch_norm_eval`] |
//! | 7 · convolution | [`conv_forward`], [`conv_backward`], [`max_pool_forward`], [`max_pool_backward`], [`im2col`] |
//! | 8 · capstone: your model against `fit`, the Fashion-MNIST challenge | [`model`], [`side_by_side`], [`rounding_report`], [`fashion_challenge`] (with [`model_cases`], [`ModelConfig`], [`MODEL_TOLERANCE`]) |

// The course's notation (W[l], dZ[L]) reads to rustdoc as links that do not resolve;
// `make doc` checks the real links, written [`Name`], with this lint forced on.
#![allow(rustdoc::broken_intra_doc_links)]

mod autograd;
mod backward;
mod batch_norm;
mod capstone;
mod conv;
mod dropout;
mod forward;
mod gradcheck;
mod grade;
mod optimizers;
mod report;
mod training;

pub use autograd::{
    AUTOGRAD_TOLERANCE, BackwardMul, BackwardPowi, BackwardTanh, BackwardWalk, TopologicalOrder,
    backward_mul, backward_powi, backward_tanh, backward_walk, gradients_caught, topological_order,
};
pub use backward::{
    ActivationBackward, BackwardPass, Cost, LLayerBackward, LinearBackward, OutputBackward,
    binary_cross_entropy, cross_entropy, l_layer_backward, linear_backward, relu_backward, sigmoid_backward,
    softmax_cross_entropy_backward, tanh_backward,
};
pub use batch_norm::{
    BatchNormBackward, BatchNormEval, BatchNormForward, batch_norm_backward, batch_norm_eval,
    batch_norm_forward,
};
pub use capstone::{
    Challenge, FASHION_TARGET, FASHION_TRAIN, FashionModel, MODEL_TOLERANCE, Model, ModelCase, ModelConfig,
    Params, fashion_challenge, fit_case, largest_difference, model, model_cases, network_of, params_of,
    rounding_report, side_by_side,
};
pub use conv::{
    ConvBackward, ConvForward, Im2col, MaxPoolBackward, MaxPoolForward, conv_backward, conv_forward, im2col,
    max_pool_backward, max_pool_forward,
};
pub use dropout::{
    DropoutBackward, DropoutForward, DropoutLayer, dropout_backward, dropout_forward, dropout_layer,
};
pub use forward::{
    ActivationForward, LLayerForward, LinearForward, l_layer_forward, linear_forward, relu, sigmoid, softmax,
    tanh,
};
pub use gradcheck::{
    GradientCheckTable, NumericalGradients, RelativeError, TwoSided, buggy_backward, gradcheck_case,
    gradient_check_table, numerical_gradients_check as numerical_gradients, planted_bug, relative_error,
    two_sided_difference,
};
pub use grade::TOLERANCE;
pub use optimizers::{
    AdamEpochs, AdamStep, MomentumStep, RmsPropStep, adam_epochs, adam_step, momentum_step, rmsprop_step,
};
pub use report::{FAILED, Outcome, PASSED, Report, Reports, TODO};
pub use training::{
    ShuffledBatches, Train, TrainEpoch, run_caught, shuffled_batches, train, train_epoch, training_case,
};
