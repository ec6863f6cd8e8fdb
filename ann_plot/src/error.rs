//! Errors of figures and experiments: bad input never panics, because a panic inside a
//! notebook cell can kill the kernel.

pub use ann_core::AnnError;
use thiserror::Error;

/// What can go wrong when drawing or saving a figure.
///
/// Figures check their input (a network, a history, data) with `ann_core`'s own checks, so
/// most errors are an [`AnnError`] naming the argument and the shapes; only drawing and
/// writing files add errors of their own.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum PlotError {
    /// The input is invalid: an empty or non-finite series, a wrong shape, a bad setting.
    #[error(transparent)]
    Ann(#[from] AnnError),
    /// Drawing, encoding or saving a figure failed.
    #[error("plot: {0}")]
    Draw(String),
}

/// Shorthand for figure functions.
pub type Result<T> = std::result::Result<T, PlotError>;

/// An [`AnnError::InvalidHyperparameter`] for a figure argument.
pub(crate) fn bad_hyper(name: &str, value: impl std::fmt::Display, reason: &str) -> PlotError {
    ann_core::error::bad_hyper(name, value, reason).into()
}

pub(crate) use ann_core::error::shape_str;
