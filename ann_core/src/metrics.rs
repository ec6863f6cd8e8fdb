//! Evaluation: predicted classes, accuracy, the confusion matrix and the examples a model
//! gets wrong.

use crate::error::{AnnError, Result};
use ndarray::{Array2, ArrayView1, ArrayView2};

/// Class labels from an output A[L] (threshold 0.5 for one row, argmax otherwise).
pub fn labels_from_output(a: ArrayView2<f64>) -> Vec<usize> {
    a.columns().into_iter().map(|col| column_label(col)).collect()
}

/// The class of one column: 1 if its only entry is > 0.5 else 0; for several rows the
/// index of the first largest entry.
fn column_label(col: ArrayView1<f64>) -> usize {
    if col.len() == 1 {
        usize::from(col[0] > 0.5)
    } else {
        col.iter()
            .enumerate()
            .fold((0, f64::NEG_INFINITY), |best, (i, &v)| if v > best.1 { (i, v) } else { best })
            .0
    }
}

/// How many columns of A[L] have the class of the same column of Y (accuracy · m, exact).
pub fn count_correct(a: ArrayView2<f64>, y: ArrayView2<f64>) -> usize {
    a.columns().into_iter().zip(y.columns()).filter(|(p, t)| column_label(*p) == column_label(*t)).count()
}

/// Accuracy of output A[L] against labels Y of the same shape (0/1 row or one-hot).
pub fn accuracy(a: ArrayView2<f64>, y: ArrayView2<f64>) -> f64 {
    let m = a.ncols();
    if m == 0 {
        return 0.0;
    }
    count_correct(a, y) as f64 / m as f64
}

/// C[i, j] = number of examples of true class i predicted as class j (k × k).
/// The diagonal holds the correct predictions; accuracy = trace(C) / m.
pub fn confusion_matrix(truth: &[usize], predicted: &[usize], k: usize) -> Result<Array2<usize>> {
    if truth.len() != predicted.len() {
        return Err(AnnError::ShapeMismatch {
            context: "confusion matrix: one prediction per label".into(),
            expected: format!("{} predictions", truth.len()),
            got: format!("{} predictions", predicted.len()),
        });
    }
    let mut c = Array2::zeros((k, k));
    for (&t, &p) in truth.iter().zip(predicted) {
        if t >= k || p >= k {
            return Err(AnnError::InvalidLabels(format!("class {} is not in 0..{k}", t.max(p))));
        }
        c[[t, p]] += 1;
    }
    Ok(c)
}

/// Indices j where predicted[j] ≠ truth[j], in order.
pub fn misclassified(truth: &[usize], predicted: &[usize]) -> Vec<usize> {
    truth.iter().zip(predicted).enumerate().filter(|(_, (t, p))| t != p).map(|(j, _)| j).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn labels_and_accuracy() {
        assert_eq!(labels_from_output(array![[0.2, 0.7, 0.5]].view()), vec![0, 1, 0]);
        let a = array![[0.1, 0.8], [0.9, 0.2]];
        assert_eq!(labels_from_output(a.view()), vec![1, 0]);
        let y = array![[0.0, 0.0], [1.0, 1.0]];
        assert_eq!(accuracy(a.view(), y.view()), 0.5);
    }

    #[test]
    fn counts_and_errors() {
        let c = confusion_matrix(&[0, 1, 1, 2], &[0, 2, 1, 2], 3).unwrap();
        assert_eq!(c, array![[1, 0, 0], [0, 1, 1], [0, 0, 1]]);
        assert_eq!(misclassified(&[0, 1, 1, 2], &[0, 2, 1, 2]), vec![1]);
        assert!(confusion_matrix(&[0], &[0, 1], 2).is_err());
        assert!(confusion_matrix(&[0, 3], &[0, 1], 2).is_err());
    }
}
