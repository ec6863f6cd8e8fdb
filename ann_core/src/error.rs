//! Errors: every user-facing function returns `Result<_, AnnError>` instead of panicking,
//! because a panic inside a notebook cell can kill the kernel.

use thiserror::Error;

/// Everything that can go wrong when building, running or training a network.
///
/// Messages name the layer or argument and the shapes involved, so a learner can fix the
/// cell without reading the crate.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum AnnError {
    /// Two arrays whose shapes must agree do not.
    #[error("shape mismatch in {context}: expected {expected}, got {got}")]
    ShapeMismatch {
        /// Where it happened, e.g. "layer 2 forward (W[2] · A[1])".
        context: String,
        /// The shape that was required, e.g. "(64, m)".
        expected: String,
        /// The shape that was passed.
        got: String,
    },
    /// An input with no examples or no features.
    #[error("empty input: {0}")]
    EmptyInput(String),
    /// NaN or ±inf where finite numbers are required.
    #[error("non-finite value in {0}")]
    NonFinite(String),
    /// Labels that the loss cannot use (e.g. 0.3 for binary cross-entropy).
    #[error("invalid labels: {0}")]
    InvalidLabels(String),
    /// A hyperparameter outside its valid range (learning rate, batch size, keep_prob, ...).
    #[error("invalid hyperparameter {name} = {value}: {reason}")]
    InvalidHyperparameter {
        /// Name of the argument, e.g. "learning_rate".
        name: String,
        /// The value passed, formatted.
        value: String,
        /// What the valid range is.
        reason: String,
    },
    /// An architecture that cannot be built (e.g. an empty layer list).
    #[error("invalid architecture: {0}")]
    InvalidArchitecture(String),
    /// Training produced a NaN or infinite loss; the weights are the last finite ones.
    #[error(
        "training diverged in epoch {} (counted from 1), at step {} of the run: loss = {loss} (try a smaller learning rate); the network keeps its last finite weights",
        epoch + 1,
        step + 1
    )]
    Diverged {
        /// Epoch in which the loss stopped being finite, as an index from 0 (the message counts from 1).
        epoch: usize,
        /// Optimizer step of the whole run at which it happened, as an index from 0 (the message counts from 1).
        step: usize,
        /// The non-finite loss.
        loss: f64,
    },
    /// An optimizer's state does not belong to the network it is asked to update.
    #[error("optimizer state: {0}")]
    OptimizerState(String),
    /// Saving or loading a network failed.
    #[error("persistence: {0}")]
    Persistence(String),
    /// A checkpoint does not belong to the run that is asked to resume from it.
    #[error("cannot resume from this checkpoint: {0}")]
    Resume(String),
}

/// Shorthand used throughout the crate.
pub type Result<T> = std::result::Result<T, AnnError>;

/// Formats a shape as `(rows, cols)` for error messages.
pub fn shape_str(shape: &[usize]) -> String {
    let parts: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    format!("({})", parts.join(", "))
}

/// Fails with [`AnnError::NonFinite`] if any entry of `values` is NaN or infinite.
pub fn check_finite<'a>(values: impl IntoIterator<Item = &'a f64>, what: &str) -> Result<()> {
    if values.into_iter().all(|v| v.is_finite()) {
        Ok(())
    } else {
        Err(AnnError::NonFinite(what.to_string()))
    }
}

/// [`check_finite`] for a matrix, read in memory order when it is contiguous (a big
/// column-major X would otherwise be read with a stride of n_x entries).
pub(crate) fn check_finite_matrix(x: ndarray::ArrayView2<f64>, what: &str) -> Result<()> {
    match x.as_slice_memory_order() {
        // Without early exit the loop vectorizes; a data set is finite in the common case.
        Some(s) if s.iter().fold(true, |ok, v| ok & v.is_finite()) => Ok(()),
        Some(_) => Err(AnnError::NonFinite(what.to_string())),
        None => check_finite(x.iter(), what),
    }
}

/// Builds an [`AnnError::InvalidHyperparameter`]: `name` is the argument, `reason` its
/// valid range.
pub fn bad_hyper(name: &str, value: impl std::fmt::Display, reason: &str) -> AnnError {
    AnnError::InvalidHyperparameter {
        name: name.to_string(),
        value: value.to_string(),
        reason: reason.to_string(),
    }
}
