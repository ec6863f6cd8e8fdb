//! Evaluation beyond accuracy: the confusion matrix and the examples a model gets wrong.

use crate::error::{AnnError, Result};
use ndarray::Array2;

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
    fn counts_and_errors() {
        let c = confusion_matrix(&[0, 1, 1, 2], &[0, 2, 1, 2], 3).unwrap();
        assert_eq!(c, array![[1, 0, 0], [0, 1, 1], [0, 0, 1]]);
        assert_eq!(misclassified(&[0, 1, 1, 2], &[0, 2, 1, 2]), vec![1]);
        assert!(confusion_matrix(&[0], &[0, 1], 2).is_err());
        assert!(confusion_matrix(&[0, 3], &[0, 1], 2).is_err());
    }
}
