//! Weight initialization: how W[l] is drawn before training. b[l] always starts at 0.

use ndarray::Array2;
use rand::rngs::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

/// How to draw W[l] (shape (n_l, n_{l−1})) from a standard normal N(0, 1).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Init {
    /// He et al.: W[l] ~ N(0, 1) · √(2 / n_{l−1}); keeps ReLU activations' variance constant.
    He,
    /// Xavier/Glorot (course form): W[l] ~ N(0, 1) · √(1 / n_{l−1}); for tanh/sigmoid.
    Xavier,
    /// W[l] ~ N(0, 1) · scale, ignoring the fan-in: scale 10 explodes, 0.01 vanishes
    /// in deep nets. For teaching why the scaled forms matter.
    Random {
        /// Standard deviation of every weight.
        scale: f64,
    },
}

impl Init {
    /// Standard deviation of the weights of a layer with `fan_in` = n_{l−1} inputs.
    pub fn std_dev(self, fan_in: usize) -> f64 {
        match self {
            Init::He => (2.0 / fan_in as f64).sqrt(),
            Init::Xavier => (1.0 / fan_in as f64).sqrt(),
            Init::Random { scale } => scale,
        }
    }

    /// Draws W of shape (n_out, n_in) from `rng`, row by row (row-major order, so the
    /// same seed gives the same matrix on every platform).
    pub fn weights(self, n_out: usize, n_in: usize, rng: &mut ChaCha8Rng) -> Array2<f64> {
        let std = self.std_dev(n_in);
        Array2::from_shape_simple_fn((n_out, n_in), || {
            let g: f64 = StandardNormal.sample(rng);
            g * std
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn he_has_the_right_spread_and_is_seeded() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let w = Init::He.weights(200, 50, &mut rng);
        let var = w.mapv(|v| v * v).mean().unwrap();
        assert!((var - 2.0 / 50.0).abs() < 0.004, "variance {var}");
        let mut rng2 = ChaCha8Rng::seed_from_u64(7);
        assert_eq!(w, Init::He.weights(200, 50, &mut rng2));
    }

    #[test]
    fn scales() {
        assert_eq!(Init::Xavier.std_dev(4), 0.5);
        assert_eq!(Init::Random { scale: 10.0 }.std_dev(4), 10.0);
    }
}
