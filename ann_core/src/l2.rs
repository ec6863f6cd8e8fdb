//! L2 regularization, scaled by the size of the training set:
//!
//! J_L2 = J + (λ / 2N) Σ_l ‖W[l]‖²_F,   dW[l] += (λ / N) W[l],
//!
//! with N the number of training examples, not the m of a mini-batch. Why N: the cost of the
//! whole training set is (1/N) Σ_i L_i + (λ/2N) Σ‖W‖²; a mini-batch of m examples estimates its
//! data term by (1/m) Σ_batch L_i, and the penalty, which does not depend on the examples, stays
//! (λ/2N) Σ‖W‖². So every step (the last, smaller batch of an epoch included) gets the same
//! decay, the strength does not change with the batch size, and the training and validation
//! costs carry the same penalty. Only the weights W[l] are penalized, never b[l], γ[l], β[l].
//!
//! Plain gradient descent then shrinks every weight by the factor (1 − αλ/N) per step. In
//! PyTorch the same term is `weight_decay` = λ/N (`SGD` and `Adam` add weight_decay · W to the
//! gradient, as here; `AdamW` instead decays the weights apart from the gradient).
//!
//! A network trained elsewhere with the per-batch convention (λ_b/2m, m the batch size b) has
//! the same full-batch steps with λ_N = λ_b · N / b.

use crate::error::{Result, bad_hyper};
use ndarray::ArrayView2;

/// The strength λ of the L2 term and the N it is divided by.
///
/// `L2::new(λ, N)` is the penalty of a training set of N examples; a bare `f64` λ converts to
/// the penalty of the examples of the pass itself (N = m, the cost of the whole set passed),
/// which is what a full-batch computation or a gradient check wants:
///
/// ```
/// use ann_core::L2;
/// let per_step = L2::new(0.1, 1000); // training on N = 1000 examples, in batches of any size
/// assert_eq!(per_step.coefficient(32), 0.1 / 1000.0);
/// let full: L2 = 0.1.into(); // N = the m of each pass
/// assert_eq!(full.coefficient(32), 0.1 / 32.0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct L2 {
    /// λ ≥ 0; 0 switches the term off.
    pub lambda: f64,
    /// N, the number of training examples; `None`: the m of each pass.
    pub n: Option<usize>,
}

impl L2 {
    /// No penalty.
    pub const NONE: L2 = L2 { lambda: 0.0, n: None };

    /// (λ / 2N) Σ‖W[l]‖²_F for a training set of `n` examples.
    pub fn new(lambda: f64, n: usize) -> Self {
        L2 { lambda, n: Some(n) }
    }

    /// λ / N, the factor of W[l] in dW[l], for a pass over `m` examples.
    pub fn coefficient(self, m: usize) -> f64 {
        self.lambda / self.n.unwrap_or(m) as f64
    }

    /// (λ / 2N) Σ_l ‖W[l]‖²_F for a pass over `m` examples.
    pub fn penalty<'a>(self, weights: impl IntoIterator<Item = ArrayView2<'a, f64>>, m: usize) -> f64 {
        if self.lambda == 0.0 {
            return 0.0;
        }
        let sq: f64 = weights.into_iter().map(|w| w.iter().map(|v| v * v).sum::<f64>()).sum();
        self.of_squares(sq, m)
    }

    /// (λ / 2N) · `sq`, for `sq` = Σ_l ‖W[l]‖²_F summed elsewhere (the f32 path sums its f32
    /// weights).
    pub(crate) fn of_squares(self, sq: f64, m: usize) -> f64 {
        self.lambda / (2.0 * self.n.unwrap_or(m) as f64) * sq
    }

    /// λ is finite and ≥ 0, and N ≥ 1.
    pub(crate) fn check(self, name: &str) -> Result<()> {
        check_l2(name, self.lambda)?;
        if self.n == Some(0) {
            return Err(bad_hyper(
                &format!("{name}: N"),
                0,
                "the number of training examples N must be >= 1",
            ));
        }
        Ok(())
    }
}

impl From<f64> for L2 {
    /// λ with N = the m of each pass.
    fn from(lambda: f64) -> Self {
        L2 { lambda, n: None }
    }
}

/// λ is finite and ≥ 0.
pub(crate) fn check_l2(name: &str, lambda: f64) -> Result<()> {
    if lambda.is_finite() && lambda >= 0.0 {
        Ok(())
    } else {
        Err(bad_hyper(name, lambda, "must be finite and >= 0"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn the_penalty_is_divided_by_n_not_by_the_batch() {
        let w = array![[1.0, -2.0], [0.5, 0.0]]; // Σ w² = 5.25
        let l2 = L2::new(0.4, 100);
        assert_eq!(l2.penalty([w.view()], 7), 0.4 / 200.0 * 5.25);
        assert_eq!(l2.penalty([w.view()], 7), l2.penalty([w.view()], 64));
        let full = L2::from(0.4);
        assert_eq!(full.penalty([w.view()], 8), 0.4 / 16.0 * 5.25);
        assert_eq!(L2::NONE.penalty([w.view()], 8), 0.0);
    }

    #[test]
    fn bad_strengths_and_sizes_are_errors() {
        assert!(L2::new(-1.0, 10).check("l2").is_err());
        assert!(L2::new(f64::NAN, 10).check("l2").is_err());
        let err = L2::new(0.1, 0).check("l2").unwrap_err().to_string();
        assert!(err.contains("N"), "{err}");
        assert!(L2::new(0.1, 1).check("l2").is_ok());
    }
}
