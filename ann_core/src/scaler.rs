//! Feature scaling: x_std = (x − μ) / σ per feature (row), with μ and σ fitted on the
//! training set only and applied unchanged to the test set.

use crate::error::{AnnError, Result, check_finite_matrix, shape_str};
use ndarray::{Array2, ArrayView2, Axis};
use serde::{Deserialize, Serialize};

/// Per-feature mean μ and standard deviation σ (both shape (n_x, 1)).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StandardScaler {
    /// μ_i = (1/m) Σ_j x_ij.
    pub mean: Array2<f64>,
    /// σ_i = √((1/m) Σ_j (x_ij − μ_i)²); a constant feature gets σ = 1 so it maps to 0.
    pub std: Array2<f64>,
}

impl StandardScaler {
    /// Fits μ and σ on X (n_x, m).
    pub fn fit(x: ArrayView2<f64>) -> Result<Self> {
        if x.ncols() == 0 || x.nrows() == 0 {
            return Err(AnnError::EmptyInput(format!("cannot fit a scaler on X {}", shape_str(x.shape()))));
        }
        check_finite_matrix(x, "X passed to StandardScaler::fit")?;
        let mean = x
            .mean_axis(Axis(1))
            .map(|m| m.insert_axis(Axis(1)))
            .ok_or_else(|| AnnError::EmptyInput("X".into()))?;
        let var = (&x - &mean)
            .mapv(|v| v * v)
            .mean_axis(Axis(1))
            .ok_or_else(|| AnnError::EmptyInput("X".into()))?;
        let std = var.mapv(|v| if v > 1e-24 { v.sqrt() } else { 1.0 }).insert_axis(Axis(1));
        Ok(StandardScaler { mean, std })
    }

    /// (X − μ) / σ, for X with the same number of features.
    pub fn transform(&self, x: ArrayView2<f64>) -> Result<Array2<f64>> {
        if x.nrows() != self.mean.nrows() {
            return Err(AnnError::ShapeMismatch {
                context: "StandardScaler::transform (features are rows)".into(),
                expected: format!("({}, m)", self.mean.nrows()),
                got: shape_str(x.shape()),
            });
        }
        check_finite_matrix(x, "X passed to StandardScaler::transform")?;
        Ok((&x - &self.mean) / &self.std)
    }

    /// Fits on X and returns the scaled X.
    pub fn fit_transform(x: ArrayView2<f64>) -> Result<(Self, Array2<f64>)> {
        let s = Self::fit(x)?;
        let t = s.transform(x)?;
        Ok((s, t))
    }

    /// X_std · σ + μ (back to the original units).
    pub fn inverse_transform(&self, x: ArrayView2<f64>) -> Result<Array2<f64>> {
        if x.nrows() != self.mean.nrows() {
            return Err(AnnError::ShapeMismatch {
                context: "StandardScaler::inverse_transform".into(),
                expected: format!("({}, m)", self.mean.nrows()),
                got: shape_str(x.shape()),
            });
        }
        Ok(&x * &self.std + &self.mean)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_abs_diff_eq;
    use ndarray::array;

    #[test]
    fn standardizes_rows_and_handles_constant_features() {
        let x = array![[1.0, 2.0, 3.0], [5.0, 5.0, 5.0]];
        let (s, t) = StandardScaler::fit_transform(x.view()).unwrap();
        assert_abs_diff_eq!(s.mean, array![[2.0], [5.0]]);
        assert_abs_diff_eq!(t.row(0).mean().unwrap(), 0.0);
        assert_abs_diff_eq!(t.row(0).mapv(|v| v * v).mean().unwrap(), 1.0, epsilon = 1e-12);
        assert_eq!(t.row(1), array![0.0, 0.0, 0.0]);
        assert_abs_diff_eq!(s.inverse_transform(t.view()).unwrap(), x, epsilon = 1e-12);
        assert!(s.transform(array![[1.0]].view()).is_err());
        assert!(StandardScaler::fit(Array2::<f64>::zeros((2, 0)).view()).is_err());
        assert!(StandardScaler::fit(array![[f64::INFINITY]].view()).is_err());
    }
}
