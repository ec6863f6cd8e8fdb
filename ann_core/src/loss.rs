//! Losses J(Ŷ, Y), averaged over the m examples (columns), computed without log(0),
//! overflow or NaN even when the output saturates.

use crate::activation::Activation;
use crate::error::{AnnError, Result, shape_str};
use ndarray::{Array2, ArrayView1, ArrayView2, Axis, Zip};
use serde::{Deserialize, Serialize};

/// The loss the network minimises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Loss {
    /// J = −(1/m) Σ [y log a + (1 − y) log(1 − a)], with a = σ(z) (sigmoid output).
    /// Stable form from the logits: (1/m) Σ [max(z, 0) − z y + log(1 + e^(−|z|))].
    BinaryCrossEntropy,
    /// J = −(1/m) Σ_columns Σ_i y_i log a_i, with a = softmax(z) and one-hot y.
    /// Stable form: −(1/m) Σ Σ_i y_i (z_i − max z − log Σ_j e^(z_j − max z)).
    CrossEntropy,
    /// J = (1/2m) Σ_columns ‖a − y‖², any output activation (linear for regression).
    MeanSquaredError,
}

impl Loss {
    /// Every loss, in a fixed order.
    pub const ALL: [Loss; 3] = [Loss::BinaryCrossEntropy, Loss::CrossEntropy, Loss::MeanSquaredError];

    /// Short name, e.g. "binary cross-entropy".
    pub fn name(self) -> &'static str {
        match self {
            Loss::BinaryCrossEntropy => "binary cross-entropy",
            Loss::CrossEntropy => "cross-entropy",
            Loss::MeanSquaredError => "mean squared error",
        }
    }

    /// The output activation this loss is paired with, if it requires one:
    /// sigmoid for BCE, softmax for CE (their fused gradient is dZ[L] = A[L] − Y).
    pub fn required_output(self) -> Option<Activation> {
        match self {
            Loss::BinaryCrossEntropy => Some(Activation::Sigmoid),
            Loss::CrossEntropy => Some(Activation::Softmax),
            Loss::MeanSquaredError => None,
        }
    }

    /// Checks that Y has the shape of the output and values this loss accepts:
    /// BCE: every y in [0, 1]; CE: every column a probability vector (one-hot);
    /// MSE: finite.
    pub fn check_labels(self, y: ArrayView2<f64>, n_out: usize, m: usize) -> Result<()> {
        if y.dim() != (n_out, m) {
            return Err(AnnError::ShapeMismatch {
                context: format!("labels Y for {}", self.name()),
                expected: format!("({n_out}, {m})"),
                got: shape_str(y.shape()),
            });
        }
        if y.iter().any(|v| !v.is_finite()) {
            return Err(AnnError::NonFinite("labels Y".into()));
        }
        match self {
            Loss::BinaryCrossEntropy => {
                if let Some(bad) = y.iter().find(|&&v| !(0.0..=1.0).contains(&v)) {
                    return Err(AnnError::InvalidLabels(format!(
                        "binary cross-entropy needs labels in [0, 1], found {bad}"
                    )));
                }
            }
            Loss::CrossEntropy => {
                for (j, col) in y.axis_iter(Axis(1)).enumerate() {
                    let sum = col.sum();
                    if col.iter().any(|&v| v < 0.0) || (sum - 1.0).abs() > 1e-9 {
                        return Err(AnnError::InvalidLabels(format!(
                            "cross-entropy needs one-hot (probability) columns; column {j} sums to {sum}"
                        )));
                    }
                }
            }
            Loss::MeanSquaredError => {}
        }
        Ok(())
    }

    /// J = (1/m) Σ_j ℓ(z_j, a_j, y_j) from the output layer's Z[L] and A[L] = g(Z[L]) (both
    /// in the cache): the mean over the m columns of [`Loss::example_loss`], summed column
    /// after column. BCE and CE use the logits Z[L] so that saturated outputs never give
    /// log(0).
    pub fn cost(self, z: ArrayView2<f64>, a: ArrayView2<f64>, y: ArrayView2<f64>) -> f64 {
        let columns = z.columns().into_iter().zip(a.columns()).zip(y.columns());
        let total = columns.fold(0.0, |total, ((z, a), y)| total + self.example_loss(z, a, y));
        total / y.ncols().max(1) as f64
    }

    /// ℓ, the loss of one example (one column z, a = g(z), y):
    /// BCE Σ_i [max(z_i, 0) − z_i y_i + log(1 + e^(−|z_i|))] (= −[y log a + (1 − y) log(1 − a)]),
    /// CE −Σ_i y_i (z_i − log Σ_k e^(z_k)) (= −Σ_i y_i log a_i),
    /// MSE ½ ‖a − y‖².
    pub fn example_loss(self, z: ArrayView1<f64>, a: ArrayView1<f64>, y: ArrayView1<f64>) -> f64 {
        match self {
            Loss::BinaryCrossEntropy => z
                .iter()
                .zip(y.iter())
                .fold(0.0, |t, (&z, &y)| t + (z.max(0.0) - z * y + (-z.abs()).exp().ln_1p())),
            Loss::CrossEntropy => {
                // log Σ_k e^(z_k) = max z + log Σ_k e^(z_k − max z): no overflow.
                let max = z.fold(f64::NEG_INFINITY, |acc, &v| acc.max(v));
                let lse = max + z.iter().map(|v| (v - max).exp()).sum::<f64>().ln();
                -z.iter().zip(y.iter()).map(|(z, y)| y * (z - lse)).sum::<f64>()
            }
            Loss::MeanSquaredError => {
                0.5 * a.iter().zip(y.iter()).fold(0.0, |t, (&a, &y)| t + (a - y) * (a - y))
            }
        }
    }

    /// J computed from probabilities A[L] only (when the logits are not at hand), with
    /// A clipped to [1e-15, 1 − 1e-15] so log never sees 0.
    pub fn cost_from_output(self, a: ArrayView2<f64>, y: ArrayView2<f64>) -> f64 {
        let m = y.ncols().max(1) as f64;
        let clip = |v: f64| v.clamp(1e-15, 1.0 - 1e-15);
        match self {
            Loss::BinaryCrossEntropy => {
                let mut total = 0.0;
                Zip::from(&a).and(&y).for_each(|&a, &y| {
                    let a = clip(a);
                    total -= y * a.ln() + (1.0 - y) * (1.0 - a).ln();
                });
                total / m
            }
            Loss::CrossEntropy => {
                let mut total = 0.0;
                Zip::from(&a).and(&y).for_each(|&a, &y| total -= y * clip(a).ln());
                total / m
            }
            Loss::MeanSquaredError => self.cost(a, a, y),
        }
    }

    /// dZ[L] · m (the 1/m is applied with dW): A[L] − Y for sigmoid+BCE and softmax+CE;
    /// for MSE dA[L] = A[L] − Y pushed through g'[L].
    pub fn output_delta(
        self,
        activation: Activation,
        z: ArrayView2<f64>,
        a: ArrayView2<f64>,
        y: ArrayView2<f64>,
    ) -> Array2<f64> {
        let diff = &a - &y;
        match self {
            Loss::BinaryCrossEntropy | Loss::CrossEntropy => diff,
            Loss::MeanSquaredError => activation.backward(z, a, diff.view()),
        }
    }
}

impl std::fmt::Display for Loss {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// λ of the L2 penalty must be finite and ≥ 0; `name` names the argument in the error.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::activation::sigmoid;
    use approx::assert_abs_diff_eq;
    use ndarray::array;

    #[test]
    fn bce_matches_the_textbook_formula_and_stays_finite_when_saturated() {
        let z = array![[0.5, -1.0, 2.0]];
        let y = array![[1.0, 0.0, 1.0]];
        let a = z.mapv(sigmoid);
        let naive =
            -(y.iter().zip(a.iter()).map(|(y, a)| y * a.ln() + (1.0 - y) * (1.0 - a).ln()).sum::<f64>())
                / 3.0;
        assert_abs_diff_eq!(
            Loss::BinaryCrossEntropy.cost(z.view(), a.view(), y.view()),
            naive,
            epsilon = 1e-12
        );
        assert_abs_diff_eq!(
            Loss::BinaryCrossEntropy.cost_from_output(a.view(), y.view()),
            naive,
            epsilon = 1e-12
        );
        // A confidently wrong output: the naive form gives −log(0) = inf.
        let z = array![[800.0]];
        let a = z.mapv(sigmoid);
        let y = array![[0.0]];
        assert_abs_diff_eq!(
            Loss::BinaryCrossEntropy.cost(z.view(), a.view(), y.view()),
            800.0,
            epsilon = 1e-9
        );
    }

    #[test]
    fn cross_entropy_hand_value_and_saturation() {
        let z = array![[1.0], [2.0], [3.0]];
        let a = Activation::Softmax.forward(z.view());
        let y = array![[0.0], [0.0], [1.0]];
        // −log softmax(3 | 1,2,3) = log(e^-2 + e^-1 + 1) = 0.40760596444437...
        assert_abs_diff_eq!(
            Loss::CrossEntropy.cost(z.view(), a.view(), y.view()),
            0.4076059644443803,
            epsilon = 1e-12
        );
        let z = array![[1000.0], [-1000.0]];
        let a = Activation::Softmax.forward(z.view());
        let y = array![[0.0], [1.0]];
        assert_abs_diff_eq!(Loss::CrossEntropy.cost(z.view(), a.view(), y.view()), 2000.0, epsilon = 1e-9);
    }

    #[test]
    fn mse() {
        let a = array![[1.0, 2.0]];
        let y = array![[0.0, 4.0]];
        assert_abs_diff_eq!(Loss::MeanSquaredError.cost(a.view(), a.view(), y.view()), (1.0 + 4.0) / 4.0);
    }

    #[test]
    fn bad_labels_are_rejected() {
        let y = array![[0.3, 1.5]];
        assert!(matches!(
            Loss::BinaryCrossEntropy.check_labels(y.view(), 1, 2),
            Err(AnnError::InvalidLabels(_))
        ));
        let y = array![[1.0, 0.0], [1.0, 0.0]];
        assert!(matches!(Loss::CrossEntropy.check_labels(y.view(), 2, 2), Err(AnnError::InvalidLabels(_))));
        let y = array![[1.0, 0.0]];
        assert!(matches!(
            Loss::MeanSquaredError.check_labels(y.view(), 2, 2),
            Err(AnnError::ShapeMismatch { .. })
        ));
        let y = array![[f64::NAN, 0.0]];
        assert!(matches!(Loss::MeanSquaredError.check_labels(y.view(), 1, 2), Err(AnnError::NonFinite(_))));
    }
}
