//! Input checks of the figure functions: bad input is an error, never a panic (a panic
//! inside a notebook cell can kill the kernel).

use crate::error::{AnnError, Result, shape_str};
use ann_core::{Activation, Network};
use ndarray::ArrayView2;

/// Fails with [`AnnError::NonFinite`] if any value is NaN or infinite.
pub(crate) fn check_finite<'a>(values: impl IntoIterator<Item = &'a f64>, what: &str) -> Result<()> {
    Ok(ann_core::error::check_finite(values, what)?)
}

/// Checks a 2-D input set X (2, m): non-empty, finite, one label per column.
pub(crate) fn check_points(x: ArrayView2<f64>, labels: &[usize], what: &str) -> Result<()> {
    if x.ncols() == 0 {
        return Err(AnnError::EmptyInput(format!("{what}: X has shape {}", shape_str(x.shape()))).into());
    }
    if x.nrows() != 2 {
        return Err(AnnError::ShapeMismatch {
            context: format!("{what}: this figure draws 2-D inputs"),
            expected: "(2, m)".into(),
            got: shape_str(x.shape()),
        }
        .into());
    }
    check_labels(x.ncols(), labels, what)?;
    check_finite(x.iter(), &format!("{what}: X"))
}

/// Checks that there is one label per example.
pub(crate) fn check_labels(m: usize, labels: &[usize], what: &str) -> Result<()> {
    if labels.len() != m {
        return Err(AnnError::ShapeMismatch {
            context: format!("{what}: one class label per column of X"),
            expected: format!("{m} labels"),
            got: format!("{} labels", labels.len()),
        }
        .into());
    }
    Ok(())
}

/// Checks that `net` maps 2-D inputs to class probabilities (sigmoid or softmax output).
pub(crate) fn check_classifier(net: &Network, what: &str) -> Result<()> {
    if net.input_size() != 2 {
        return Err(AnnError::ShapeMismatch {
            context: format!("{what}: the network must take 2-D inputs (n_x = 2)"),
            expected: "n_x = 2".into(),
            got: format!("n_x = {}", net.input_size()),
        }
        .into());
    }
    let last = net.layers()[net.num_layers() - 1].activation;
    let ok = matches!(last, Activation::Sigmoid) && net.output_size() == 1 || last == Activation::Softmax;
    if !ok {
        return Err(AnnError::InvalidArchitecture(format!(
            "{what} needs a classifier (1 sigmoid or k softmax output units); the output layer is {} with {} unit(s)",
            last.name(),
            net.output_size()
        )).into());
    }
    Ok(())
}
