//! Activation functions g(z) and their derivatives g'(z).
//!
//! Applied column by column: Z[l] has shape (n_l, m), one column per example.

use ndarray::{Array2, ArrayView2, ArrayViewMut2, Axis, Zip};
use serde::{Deserialize, Serialize};

/// The activation g of a layer: A[l] = g(Z[l]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Activation {
    /// g(z) = max(0, z),  g'(z) = 1 if z > 0 else 0.
    Relu,
    /// g(z) = tanh(z),  g'(z) = 1 − tanh²(z).
    Tanh,
    /// g(z) = σ(z) = 1 / (1 + e^(−z)),  g'(z) = σ(z)(1 − σ(z)); computed without overflow.
    Sigmoid,
    /// g(z)_i = e^(z_i − max z) / Σ_j e^(z_j − max z), per column; its Jacobian is
    /// diag(a) − a aᵀ.
    Softmax,
    /// g(z) = z,  g'(z) = 1.
    Linear,
}

/// Numerically stable logistic function σ(z) = 1 / (1 + e^(−z)).
///
/// For z < 0 it uses e^z / (1 + e^z), so e^(−z) never overflows.
pub fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// ReLU for one number: max(0, z).
pub fn relu(z: f64) -> f64 {
    if z > 0.0 { z } else { 0.0 }
}

impl Activation {
    /// Every activation, in a fixed order (for tests and plots).
    pub const ALL: [Activation; 5] =
        [Activation::Relu, Activation::Tanh, Activation::Sigmoid, Activation::Softmax, Activation::Linear];

    /// Human-readable name, e.g. "ReLU".
    pub fn name(self) -> &'static str {
        match self {
            Activation::Relu => "ReLU",
            Activation::Tanh => "tanh",
            Activation::Sigmoid => "sigmoid",
            Activation::Softmax => "softmax",
            Activation::Linear => "linear",
        }
    }

    /// A[l] = g(Z[l]).
    pub fn forward(self, z: ArrayView2<f64>) -> Array2<f64> {
        let mut a = z.to_owned();
        self.forward_inplace(a.view_mut());
        a
    }

    /// Overwrites `z` with g(z) (used by the allocation-free training path).
    pub fn forward_inplace(self, mut z: ArrayViewMut2<f64>) {
        match self {
            Activation::Relu => z.mapv_inplace(relu),
            Activation::Tanh => z.mapv_inplace(f64::tanh),
            Activation::Sigmoid => z.mapv_inplace(sigmoid),
            Activation::Linear => {}
            Activation::Softmax => {
                for mut col in z.axis_iter_mut(Axis(1)) {
                    // Subtracting the column max keeps every exponent <= 0: no overflow.
                    let max = col.fold(f64::NEG_INFINITY, |m, &v| m.max(v));
                    col.mapv_inplace(|v| (v - max).exp());
                    let sum = col.sum();
                    col.mapv_inplace(|v| v / sum);
                }
            }
        }
    }

    /// Element-wise derivative g'(Z). For softmax this is only the diagonal of the
    /// Jacobian, a(1 − a); use [`Activation::backward`] for the exact product.
    pub fn derivative(self, z: ArrayView2<f64>) -> Array2<f64> {
        match self {
            Activation::Relu => z.mapv(|v| if v > 0.0 { 1.0 } else { 0.0 }),
            Activation::Tanh => z.mapv(|v| 1.0 - v.tanh().powi(2)),
            Activation::Sigmoid => z.mapv(|v| {
                let s = sigmoid(v);
                s * (1.0 - s)
            }),
            Activation::Linear => z.mapv(|_| 1.0),
            Activation::Softmax => {
                let a = self.forward(z);
                a.mapv(|s| s * (1.0 - s))
            }
        }
    }

    /// dZ = dA ⊙ g'(Z) for element-wise activations; for softmax the Jacobian–vector
    /// product dZ = A ⊙ (dA − 1 (Σ_i dA_i A_i)), column by column.
    ///
    /// `a` must be g(z) (the cache holds both, so nothing is recomputed).
    pub fn backward(self, z: ArrayView2<f64>, a: ArrayView2<f64>, da: ArrayView2<f64>) -> Array2<f64> {
        let mut dz = da.to_owned();
        self.backward_inplace(z, a, dz.view_mut());
        dz
    }

    /// Overwrites `da` with dZ (see [`Activation::backward`]).
    pub fn backward_inplace(self, z: ArrayView2<f64>, a: ArrayView2<f64>, mut da: ArrayViewMut2<f64>) {
        match self {
            Activation::Relu => Zip::from(&mut da).and(&z).for_each(|d, &zv| {
                if zv <= 0.0 {
                    *d = 0.0;
                }
            }),
            // g'(z) from the cached A: 1 − a² and a(1 − a) avoid a second exp/tanh.
            Activation::Tanh => Zip::from(&mut da).and(&a).for_each(|d, &av| *d *= 1.0 - av * av),
            Activation::Sigmoid => Zip::from(&mut da).and(&a).for_each(|d, &av| *d *= av * (1.0 - av)),
            Activation::Linear => {}
            Activation::Softmax => {
                for (mut dcol, acol) in da.axis_iter_mut(Axis(1)).zip(a.axis_iter(Axis(1))) {
                    let dot: f64 = dcol.iter().zip(acol.iter()).map(|(d, a)| d * a).sum();
                    Zip::from(&mut dcol).and(&acol).for_each(|d, &av| *d = av * (*d - dot));
                }
            }
        }
    }
}

impl std::fmt::Display for Activation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_abs_diff_eq;
    use ndarray::array;

    #[test]
    fn sigmoid_is_stable_for_large_inputs() {
        assert_eq!(sigmoid(1000.0), 1.0);
        assert_eq!(sigmoid(-1000.0), 0.0);
        assert_abs_diff_eq!(sigmoid(0.0), 0.5);
        assert!(sigmoid(-745.0) >= 0.0);
    }

    #[test]
    fn relu_tanh_linear_values() {
        let z = array![[-2.0, 0.0, 3.0]];
        assert_eq!(Activation::Relu.forward(z.view()), array![[0.0, 0.0, 3.0]]);
        assert_eq!(Activation::Linear.forward(z.view()), z);
        assert_abs_diff_eq!(
            Activation::Tanh.forward(z.view()),
            array![[(-2.0f64).tanh(), 0.0, 3.0f64.tanh()]],
            epsilon = 1e-15
        );
        assert_eq!(Activation::Relu.derivative(z.view()), array![[0.0, 0.0, 1.0]]);
    }

    #[test]
    fn softmax_columns_sum_to_one_and_survive_huge_logits() {
        let z = array![[1000.0, 1.0], [1000.0, 2.0], [-1000.0, 3.0]];
        let a = Activation::Softmax.forward(z.view());
        for col in a.axis_iter(Axis(1)) {
            assert_abs_diff_eq!(col.sum(), 1.0, epsilon = 1e-12);
        }
        assert_abs_diff_eq!(a[[0, 0]], 0.5, epsilon = 1e-12);
        assert!(a.iter().all(|v| v.is_finite()));
        // Hand-computed: softmax(1,2,3) = (0.0900, 0.2447, 0.6652).
        assert_abs_diff_eq!(a[[0, 1]], 0.09003057317038046, epsilon = 1e-12);
        assert_abs_diff_eq!(a[[2, 1]], 0.6652409557748219, epsilon = 1e-12);
    }

    #[test]
    fn derivatives_match_central_differences() {
        let z = array![[-1.3, -0.2, 0.4, 2.5]];
        let h = 1e-6;
        for act in [Activation::Relu, Activation::Tanh, Activation::Sigmoid, Activation::Linear] {
            let d = act.derivative(z.view());
            let num = (act.forward((&z + h).view()) - act.forward((&z - h).view())) / (2.0 * h);
            assert_abs_diff_eq!(d, num, epsilon = 1e-8);
            let a = act.forward(z.view());
            let ones = Array2::ones(z.dim());
            assert_abs_diff_eq!(act.backward(z.view(), a.view(), ones.view()), d, epsilon = 1e-12);
        }
    }

    #[test]
    fn softmax_backward_is_jacobian_product() {
        let z = array![[0.3], [-1.0], [2.0]];
        let da = array![[0.5], [-0.25], [1.0]];
        let a = Activation::Softmax.forward(z.view());
        let dz = Activation::Softmax.backward(z.view(), a.view(), da.view());
        // Explicit Jacobian J = diag(a) − a aᵀ (symmetric), dz = J da.
        for i in 0..3 {
            let mut expect = 0.0;
            for j in 0..3 {
                let jij = if i == j { a[[i, 0]] * (1.0 - a[[i, 0]]) } else { -a[[i, 0]] * a[[j, 0]] };
                expect += jij * da[[j, 0]];
            }
            assert_abs_diff_eq!(dz[[i, 0]], expect, epsilon = 1e-15);
        }
    }
}
