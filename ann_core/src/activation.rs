//! Activation functions g(z) and their derivatives g'(z): every activation is written here
//! once, its g in [`Activation::g`] and its g' in [`Activation::g_prime`].
//!
//! Applied column by column: Z[l] has shape (n_l, m), one column per example. All but
//! softmax act on each entry alone; softmax normalizes a whole column, and is the one
//! activation with code of its own ([`Activation::forward_inplace`] and
//! [`Activation::backward_inplace`]).

use crate::error::{Result, bad_hyper};
use ndarray::{Array2, ArrayView2, ArrayViewMut2, Axis, Zip};
use serde::{Deserialize, Serialize};

/// The activation g of a layer: A[l] = g(Z[l]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Activation {
    /// g(z) = max(0, z),  g'(z) = 1 if z > 0 else 0.
    Relu,
    /// Leaky ReLU with slope α for z ≤ 0: g(z) = z if z > 0 else α z,  g'(z) = 1 if z > 0
    /// else α; α in [0, 1) (0.01 is usual), so a unit below zero still passes a gradient.
    LeakyRelu(f64),
    /// g(z) = tanh(z),  g'(z) = 1 − tanh²(z).
    Tanh,
    /// g(z) = σ(z) = 1 / (1 + e^(−z)),  g'(z) = σ(z)(1 − σ(z)); computed without overflow.
    Sigmoid,
    /// GELU in its tanh approximation (Hendrycks and Gimpel; GPT-2's and BERT's):
    /// g(z) = ½ z (1 + tanh u) with u = √(2/π) (z + 0.044715 z³), an approximation of
    /// z Φ(z) (Φ the standard normal CDF) within about 10⁻³;
    /// g'(z) = ½ (1 + tanh u) + ½ z (1 − tanh² u) √(2/π) (1 + 3 · 0.044715 z²).
    Gelu,
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

/// √(2/π), GELU's constant.
const SQRT_2_OVER_PI: f64 = 0.797_884_560_802_865_4;
/// The cubic coefficient of GELU's tanh approximation.
const GELU_CUBIC: f64 = 0.044_715;

impl Activation {
    /// Every activation, in a fixed order (for tests and plots); leaky ReLU with α = 0.01.
    pub const ALL: [Activation; 7] = [
        Activation::Relu,
        Activation::LeakyRelu(0.01),
        Activation::Tanh,
        Activation::Sigmoid,
        Activation::Gelu,
        Activation::Softmax,
        Activation::Linear,
    ];

    /// Human-readable name, e.g. "ReLU" (without parameters; `Display` shows them).
    pub fn name(self) -> &'static str {
        match self {
            Activation::Relu => "ReLU",
            Activation::LeakyRelu(_) => "leaky ReLU",
            Activation::Tanh => "tanh",
            Activation::Sigmoid => "sigmoid",
            Activation::Gelu => "GELU",
            Activation::Softmax => "softmax",
            Activation::Linear => "linear",
        }
    }

    /// Checks the activation's parameters: leaky ReLU's α finite and in [0, 1).
    pub fn validate(self) -> Result<()> {
        match self {
            Activation::LeakyRelu(alpha) if !(0.0..1.0).contains(&alpha) => {
                Err(bad_hyper("leaky ReLU slope α", alpha, "must lie in [0, 1)"))
            }
            _ => Ok(()),
        }
    }

    /// g(z) of one entry z of Z.
    ///
    /// Softmax is a function of a whole column; for one entry alone (a column of one) it is
    /// e^z / e^z = 1. Use [`Activation::forward`] for matrices.
    #[inline(always)]
    pub fn g(self, z: f64) -> f64 {
        match self {
            Activation::Relu => relu(z),
            Activation::LeakyRelu(alpha) => {
                if z > 0.0 {
                    z
                } else {
                    alpha * z
                }
            }
            Activation::Tanh => z.tanh(),
            Activation::Sigmoid => sigmoid(z),
            Activation::Gelu => 0.5 * z * (1.0 + gelu_tanh(z)),
            Activation::Softmax => 1.0,
            Activation::Linear => z,
        }
    }

    /// g'(z) of one entry, given also a = g(z) (tanh and sigmoid read their derivative off
    /// a: 1 − a² and a(1 − a), no second exp or tanh).
    ///
    /// For softmax this is the diagonal of the Jacobian, a(1 − a); [`Activation::backward`]
    /// computes the exact product with the whole Jacobian.
    #[inline(always)]
    pub fn g_prime(self, z: f64, a: f64) -> f64 {
        match self {
            Activation::Relu => {
                if z > 0.0 {
                    1.0
                } else {
                    0.0
                }
            }
            Activation::LeakyRelu(alpha) => {
                if z > 0.0 {
                    1.0
                } else {
                    alpha
                }
            }
            Activation::Tanh => 1.0 - a * a,
            Activation::Sigmoid | Activation::Softmax => a * (1.0 - a),
            Activation::Gelu => {
                let t = gelu_tanh(z);
                0.5 * (1.0 + t) + 0.5 * z * (1.0 - t * t) * SQRT_2_OVER_PI * (1.0 + 3.0 * GELU_CUBIC * z * z)
            }
            Activation::Linear => 1.0,
        }
    }

    /// One entry of dZ = dA ⊙ g'(Z): `da` · g'(z), given a = g(z).
    ///
    /// For ReLU, whose g' is 0 or 1, the product is written as the choice it is, so that a
    /// unit below zero passes exactly 0 back (never −0 from a negative dA times 0).
    #[inline(always)]
    pub fn delta(self, z: f64, a: f64, da: f64) -> f64 {
        match self {
            Activation::Relu => {
                if z <= 0.0 {
                    0.0
                } else {
                    da
                }
            }
            Activation::Linear => da,
            _ => da * self.g_prime(z, a),
        }
    }

    /// A[l] = g(Z[l]).
    pub fn forward(self, z: ArrayView2<f64>) -> Array2<f64> {
        let mut a = z.to_owned();
        self.forward_inplace(a.view_mut());
        a
    }

    /// Overwrites `z` with g(z).
    pub fn forward_inplace(self, mut z: ArrayViewMut2<f64>) {
        match self {
            Activation::Softmax => {
                for mut col in z.axis_iter_mut(Axis(1)) {
                    // Subtracting the column max keeps every exponent <= 0: no overflow.
                    let max = col.fold(f64::NEG_INFINITY, |m, &v| m.max(v));
                    col.mapv_inplace(|v| (v - max).exp());
                    let sum = col.sum();
                    col.mapv_inplace(|v| v / sum);
                }
            }
            g => z.mapv_inplace(|v| g.g(v)),
        }
    }

    /// Element-wise derivative g'(Z). For softmax this is only the diagonal of the
    /// Jacobian, a(1 − a); use [`Activation::backward`] for the exact product.
    pub fn derivative(self, z: ArrayView2<f64>) -> Array2<f64> {
        let a = self.forward(z);
        let mut d = z.to_owned();
        Zip::from(&mut d).and(&a).for_each(|d, &a| *d = self.g_prime(*d, a));
        d
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
            Activation::Softmax => {
                for (mut dcol, acol) in da.axis_iter_mut(Axis(1)).zip(a.axis_iter(Axis(1))) {
                    let dot: f64 = dcol.iter().zip(acol.iter()).map(|(d, a)| d * a).sum();
                    Zip::from(&mut dcol).and(&acol).for_each(|d, &av| *d = av * (*d - dot));
                }
            }
            g => Zip::from(&mut da).and(&z).and(&a).for_each(|d, &z, &a| *d = g.delta(z, a, *d)),
        }
    }

    /// Runs `code` with this activation's g and dZ = dA ⊙ g'(Z) as closures that name the
    /// variant in their body, so that a loop calling them is compiled for this one
    /// activation (its `match` folded away); None for softmax, which is not element-wise.
    /// The fast kernels take every element-wise activation through here: a new activation
    /// needs nothing there.
    pub(crate) fn specialized<C: Specialized>(self, code: C) -> Option<C::Output> {
        // Pastes the variant into both closures' bodies (not a captured copy of it).
        macro_rules! with {
            ($g:expr) => {
                code.run(move |z| $g.g(z), move |z, a, da| $g.delta(z, a, da))
            };
        }
        Some(match self {
            Activation::Relu => with!(Activation::Relu),
            Activation::LeakyRelu(alpha) => with!(Activation::LeakyRelu(alpha)),
            Activation::Tanh => with!(Activation::Tanh),
            Activation::Sigmoid => with!(Activation::Sigmoid),
            Activation::Gelu => with!(Activation::Gelu),
            Activation::Linear => with!(Activation::Linear),
            Activation::Softmax => return None,
        })
    }
}

/// tanh(√(2/π) (z + 0.044715 z³)), the inner term of GELU and of its derivative.
#[inline(always)]
fn gelu_tanh(z: f64) -> f64 {
    (SQRT_2_OVER_PI * (z + GELU_CUBIC * z * z * z)).tanh()
}

/// Code generic over an element-wise activation (see [`Activation::specialized`]): `g`
/// gives g(z), `delta` gives dA · g'(z) from (z, a = g(z), dA).
pub(crate) trait Specialized {
    /// What the code returns.
    type Output;
    /// Runs the code with one activation's functions.
    fn run(
        self,
        g: impl Fn(f64) -> f64 + Copy + Send + Sync,
        delta: impl Fn(f64, f64, f64) -> f64 + Copy + Send + Sync,
    ) -> Self::Output;
}

impl std::fmt::Display for Activation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Activation::LeakyRelu(alpha) => write!(f, "leaky ReLU (α = {alpha})"),
            other => f.write_str(other.name()),
        }
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
    fn leaky_relu_and_gelu_values() {
        let z = array![[-2.0, 0.0, 3.0]];
        let leaky = Activation::LeakyRelu(0.1);
        assert_eq!(leaky.forward(z.view()), array![[-0.2, 0.0, 3.0]]);
        assert_eq!(leaky.derivative(z.view()), array![[0.1, 0.1, 1.0]]);
        assert!(Activation::LeakyRelu(1.0).validate().is_err());
        assert!(Activation::LeakyRelu(f64::NAN).validate().is_err());
        assert!(Activation::LeakyRelu(0.0).validate().is_ok());
        // GELU(0) = 0, GELU'(0) = ½; far out it is ReLU.
        let gelu = Activation::Gelu;
        assert_eq!(gelu.g(0.0), 0.0);
        assert_abs_diff_eq!(gelu.g_prime(0.0, 0.0), 0.5, epsilon = 1e-15);
        assert_abs_diff_eq!(gelu.g(10.0), 10.0, epsilon = 1e-12);
        assert_abs_diff_eq!(gelu.g(-10.0), 0.0, epsilon = 1e-12);
        // The tanh form against the exact z Φ(z) at z = 1: 0.841192 vs 0.841345.
        assert_abs_diff_eq!(gelu.g(1.0), 0.841_191_990_607_477, epsilon = 1e-12);
        assert!((gelu.g(1.0) - 0.841_344_746_068_543).abs() < 2e-4);
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
        for act in Activation::ALL.into_iter().filter(|&a| a != Activation::Softmax) {
            let d = act.derivative(z.view());
            let num = (act.forward((&z + h).view()) - act.forward((&z - h).view())) / (2.0 * h);
            assert_abs_diff_eq!(d, num, epsilon = 1e-8);
            let a = act.forward(z.view());
            let ones = Array2::ones(z.dim());
            assert_abs_diff_eq!(act.backward(z.view(), a.view(), ones.view()), d, epsilon = 1e-12);
        }
    }

    #[test]
    fn relu_passes_back_exact_zeros() {
        let z = array![[-1.0, 2.0]];
        let a = Activation::Relu.forward(z.view());
        let dz = Activation::Relu.backward(z.view(), a.view(), array![[-3.0, -3.0]].view());
        assert_eq!(dz[[0, 0]].to_bits(), 0.0f64.to_bits(), "not −0");
        assert_eq!(dz[[0, 1]], -3.0);
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
