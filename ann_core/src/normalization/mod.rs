//! Normalizing a layer's pre-activations: Z̃[l] = γ[l] ⊙ Ẑ[l] + β[l] takes the place of
//! Z[l] as the input of g\[l\], where Ẑ[l] = (Z[l] − μ) / √(σ² + ε) and γ[l], β[l] (shape
//! (n_l, 1), learned like W and b) give each unit its scale and shift back.
//!
//! The kinds differ in what μ and σ² average over:
//!
//! | kind | μ, σ² of | shape of μ | file |
//! |---|---|---|---|
//! | batch normalization | each unit, over the m examples of the mini-batch | (n_l, 1) | `batchnorm.rs`: [`BatchNorm`] |
//! | layer normalization | each example, over its n_l units | (1, m) | `layernorm.rs`: [`LayerNorm`] |
//!
//! A kind is a file of this folder implementing [`Normalize`] plus a line in
//! [`Normalization`]; the network, the passes, the optimizers, gradient checking and saving
//! take every kind through them. This file holds what they share: the trait, the list, the
//! checks, and the forward and backward steps along either axis.

mod batchnorm;
mod layernorm;

use crate::error::{AnnError, Result, bad_hyper, check_finite_matrix, shape_str};
pub use batchnorm::{BatchNorm, BatchNormConfig};
pub use layernorm::{LayerNorm, LayerNormConfig};
use ndarray::{Array2, ArrayView2, Axis, CowArray, Ix2};
use serde::{Deserialize, Serialize};

/// What a training pass keeps of a normalization for its backward step (and batch norm for
/// its running averages).
#[derive(Debug, Clone, PartialEq)]
pub struct NormalizationCache {
    /// Ẑ, shape (n, m).
    pub z_hat: Array2<f64>,
    /// 1 / √(σ² + ε): (n, 1) for batch norm, (1, m) for layer norm.
    pub inv_std: Array2<f64>,
    /// μ, shaped like `inv_std`.
    pub mean: Array2<f64>,
    /// σ², shaped like `inv_std`.
    pub var: Array2<f64>,
}

/// The gradients of one normalization step, from dZ̃ = ∂J/∂Z̃.
#[derive(Debug, Clone, PartialEq)]
pub struct NormalizationGrads {
    /// dZ, shape (n, m): passed on to the layer's dW and db.
    pub dz: Array2<f64>,
    /// dγ = Σⱼ (dZ̃ ⊙ Ẑ)[:, j], shape (n, 1).
    pub dgamma: Array2<f64>,
    /// dβ = Σⱼ dZ̃[:, j], shape (n, 1).
    pub dbeta: Array2<f64>,
}

/// One kind of normalization: its equations, forward and backward. The functions here are
/// the math alone; [`Normalization`] checks shapes before it calls them.
pub trait Normalize {
    /// Name, e.g. "batch norm".
    fn name(&self) -> &'static str;
    /// The name with its hyperparameters, e.g. "batch norm (ε = 0.00001, momentum 0.9)":
    /// two normalizations with the same description compute alike.
    fn describe(&self) -> String;
    /// γ and β, shape (n, 1) each.
    fn gamma_beta(&self) -> (&Array2<f64>, &Array2<f64>);
    /// γ and β, to update them.
    fn gamma_beta_mut(&mut self) -> (&mut Array2<f64>, &mut Array2<f64>);
    /// Training pass: (Z̃, the cache), Z of shape (n, m).
    fn train(&self, z: ArrayView2<f64>) -> (Array2<f64>, NormalizationCache);
    /// Evaluation pass: Z̃, each column on its own.
    fn eval(&self, z: ArrayView2<f64>) -> Array2<f64>;
    /// dZ, dγ, dβ from dZ̃ and the cache of a training pass.
    fn backward_step(&self, cache: &NormalizationCache, dz_tilde: ArrayView2<f64>) -> NormalizationGrads;
    /// What μ and σ² average over: `Axis(1)`, along each unit's row, over the examples of
    /// the batch (μ of shape (n, 1)); `Axis(0)`, down each example's column, over its units
    /// (μ of shape (1, m)).
    fn axis(&self) -> Axis;
    /// The fewest examples a training pass needs (batch norm: 2, the σ² of one being 0).
    fn min_batch(&self) -> usize {
        1
    }
    /// Whether Z − μ cancels b[l]: so it does when μ is per unit (averaged over the examples,
    /// as b[l] is the same for all of them), and then J does not depend on b[l], db[l] = 0.
    fn cancels_bias(&self) -> bool {
        self.axis() == Axis(1)
    }
    /// Checks the hyperparameters, and the tensors other than γ and β (shape (`units`, 1)).
    fn check_tensors(&self, units: usize) -> Result<()>;
    /// Statistics kept across steps for evaluation, with their names (batch norm's running
    /// μ and σ²); none by default.
    fn running(&self) -> Vec<(&'static str, &Array2<f64>)> {
        Vec::new()
    }
    /// Moves the running statistics towards those of a training pass (after
    /// [`Normalize::check_running`]); nothing by default.
    fn move_running(&mut self, _cache: &NormalizationCache) {}
    /// Whether `cache` fits this layer's running statistics.
    fn check_running(&self, _cache: &NormalizationCache) -> Result<()> {
        Ok(())
    }
}

/// The normalization of one layer: one of the kinds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Normalization {
    /// Each unit over the mini-batch ([`BatchNorm`], `batchnorm.rs`).
    BatchNorm(BatchNorm),
    /// Each example over its units ([`LayerNorm`], `layernorm.rs`).
    LayerNorm(LayerNorm),
}

impl Normalization {
    /// The kind's equations.
    pub fn kind(&self) -> &dyn Normalize {
        match self {
            Normalization::BatchNorm(n) => n,
            Normalization::LayerNorm(n) => n,
        }
    }

    /// The kind's equations, to change γ, β or the running statistics.
    pub fn kind_mut(&mut self) -> &mut dyn Normalize {
        match self {
            Normalization::BatchNorm(n) => n,
            Normalization::LayerNorm(n) => n,
        }
    }

    /// The training step of a network's pass: shapes and the batch size checked, Z not
    /// (the network checked X and its weights; an overflow shows as a non-finite loss, as in
    /// a layer without normalization).
    pub(crate) fn train_step(&self, z: ArrayView2<f64>) -> Result<(Array2<f64>, NormalizationCache)> {
        let kind = self.kind();
        check_shapes(kind, z, "forward (train) Z")?;
        check_batch(kind, z.ncols())?;
        Ok(kind.train(z))
    }

    /// The evaluation step of a network's pass (see [`Normalization::train_step`]).
    pub(crate) fn eval_step(&self, z: ArrayView2<f64>) -> Result<Array2<f64>> {
        check_shapes(self.kind(), z, "forward (eval) Z")?;
        Ok(self.kind().eval(z))
    }

    /// Training pass with every check (see [`checked_train`]).
    pub fn forward_train(&self, z: ArrayView2<f64>) -> Result<(Array2<f64>, NormalizationCache)> {
        checked_train(self.kind(), z)
    }

    /// Evaluation pass with every check (see [`checked_eval`]).
    pub fn forward_eval(&self, z: ArrayView2<f64>) -> Result<Array2<f64>> {
        checked_eval(self.kind(), z)
    }

    /// Backward step with every check (see [`checked_backward`]).
    pub fn backward(
        &self,
        cache: &NormalizationCache,
        dz_tilde: ArrayView2<f64>,
    ) -> Result<NormalizationGrads> {
        checked_backward(self.kind(), cache, dz_tilde)
    }

    /// Checks the layer as read from a file or assembled by hand: γ, β and the running
    /// statistics shaped for `units` units and finite, and the hyperparameters; `l` names the
    /// layer.
    pub fn validate(&self, units: usize, l: usize) -> Result<()> {
        let kind = self.kind();
        let of_layer = |e: AnnError| in_layer(e, l);
        check_gamma_beta(kind, units, &format!(" of layer {l}"))?;
        kind.check_tensors(units).map_err(of_layer)?;
        let (gamma, beta) = kind.gamma_beta();
        let running = kind.running();
        let tensors = [("γ", gamma), ("β", beta)].into_iter().chain(running);
        for (name, t) in tensors {
            check_finite_matrix(t.view(), &format!("{} {name} of layer {l}", kind.name()))?;
        }
        Ok(())
    }
}

/// Names layer l in an error of one of its normalization's checks.
pub(crate) fn in_layer(e: AnnError, l: usize) -> AnnError {
    match e {
        AnnError::InvalidHyperparameter { name, value, reason } => {
            AnnError::InvalidHyperparameter { name: format!("{name} of layer {l}"), value, reason }
        }
        AnnError::ShapeMismatch { context, expected, got } => {
            AnnError::ShapeMismatch { context: format!("{context} of layer {l}"), expected, got }
        }
        other => other,
    }
}

/// γ and β of shape (`units`, 1): the public fields may have been replaced.
fn check_gamma_beta(kind: &dyn Normalize, units: usize, of: &str) -> Result<()> {
    let (gamma, beta) = kind.gamma_beta();
    for (name, t) in [("γ", gamma), ("β", beta)] {
        if t.dim() != (units, 1) {
            return Err(AnnError::ShapeMismatch {
                context: format!("{} {name}{of}", kind.name()),
                expected: format!("({units}, 1)"),
                got: shape_str(t.shape()),
            });
        }
    }
    Ok(())
}

/// Z of shape (n, m), m ≥ 1, for a normalization of n units whose tensors and
/// hyperparameters are valid (its public fields may have been replaced).
fn check_shapes(kind: &dyn Normalize, z: ArrayView2<f64>, what: &str) -> Result<()> {
    let n = kind.gamma_beta().0.nrows();
    check_gamma_beta(kind, n, "")?;
    kind.check_tensors(n)?;
    if z.nrows() != n || z.ncols() == 0 {
        return Err(AnnError::ShapeMismatch {
            context: format!("{} {what}", kind.name()),
            expected: format!("({n}, m) with m ≥ 1"),
            got: shape_str(z.shape()),
        });
    }
    Ok(())
}

/// [`check_shapes`], and Z finite.
fn check_input(kind: &dyn Normalize, z: ArrayView2<f64>, what: &str) -> Result<()> {
    check_shapes(kind, z, what)?;
    check_finite_matrix(z, &format!("{} {what}", kind.name()))
}

/// [`Normalize::train`] after checking Z (shape, finite) and the batch size: a batch
/// smaller than the kind's [`Normalize::min_batch`] is an error.
pub fn checked_train(kind: &dyn Normalize, z: ArrayView2<f64>) -> Result<(Array2<f64>, NormalizationCache)> {
    check_input(kind, z, "forward (train) Z")?;
    check_batch(kind, z.ncols())?;
    Ok(kind.train(z))
}

/// A training pass of `m` examples is possible.
pub(crate) fn check_batch(kind: &dyn Normalize, m: usize) -> Result<()> {
    if m < kind.min_batch() {
        return Err(bad_hyper(
            &format!("{} mini-batch size m", kind.name()),
            m,
            &format!(
                "must be at least {}: the σ² of one example is 0, there is nothing to normalize over",
                kind.min_batch()
            ),
        ));
    }
    Ok(())
}

/// [`Normalize::eval`] after checking Z.
pub fn checked_eval(kind: &dyn Normalize, z: ArrayView2<f64>) -> Result<Array2<f64>> {
    check_input(kind, z, "forward (eval) Z")?;
    Ok(kind.eval(z))
}

/// [`Normalize::backward_step`] after checking that the cache is this layer's and dZ̃ has Ẑ's
/// shape.
pub fn checked_backward(
    kind: &dyn Normalize,
    cache: &NormalizationCache,
    dz_tilde: ArrayView2<f64>,
) -> Result<NormalizationGrads> {
    let n = kind.gamma_beta().0.nrows();
    check_gamma_beta(kind, n, "")?;
    let m = cache.z_hat.ncols();
    let stats = if kind.axis() == Axis(1) { (n, 1) } else { (1, m) };
    if cache.z_hat.nrows() != n || cache.inv_std.dim() != stats {
        return Err(AnnError::ShapeMismatch {
            context: format!("{} backward: the cache of another layer", kind.name()),
            expected: format!("Ẑ ({n}, m) and 1/√(σ² + ε) {}", shape_str(&[stats.0, stats.1])),
            got: format!("{} and {}", shape_str(cache.z_hat.shape()), shape_str(cache.inv_std.shape())),
        });
    }
    if dz_tilde.dim() != cache.z_hat.dim() {
        return Err(AnnError::ShapeMismatch {
            context: format!("{} backward: dZ̃ must have the shape of Ẑ", kind.name()),
            expected: shape_str(cache.z_hat.shape()),
            got: shape_str(dz_tilde.shape()),
        });
    }
    Ok(kind.backward_step(cache, dz_tilde))
}

/// The mean along `axis`, kept as a row or column: axis 1 gives (1/m) Σⱼ X[:, j] of shape
/// (n, 1) (per unit), axis 0 gives (1/n) Σᵢ X[i, :] of shape (1, m) (per example).
pub(crate) fn mean_along(x: ArrayView2<f64>, axis: Axis) -> Array2<f64> {
    sum_along(x, axis) / x.len_of(axis) as f64
}

/// Σ along `axis`, kept as a row or column (see [`mean_along`]).
pub(crate) fn sum_along(x: ArrayView2<f64>, axis: Axis) -> Array2<f64> {
    x.sum_axis(axis).insert_axis(axis)
}

/// The entries of `x` in row-major order with the strides of a fresh array, borrowed when they
/// already are: ndarray's sum along an axis picks its order of addition from the memory
/// layout, so both paths (the readable one may hold a product's column-major result) hand it
/// the same one.
fn row_major(x: ArrayView2<'_, f64>) -> CowArray<'_, f64, Ix2> {
    let fresh = [x.ncols() as isize, 1];
    if x.strides() == fresh {
        CowArray::from(x)
    } else {
        CowArray::from(Array2::from_shape_fn(x.dim(), |ij| x[ij]))
    }
}

/// Ẑ = (Z − μ) / √(σ² + ε) and Z̃ = γ ⊙ Ẑ + β with μ and σ² along `axis` (1: per unit over
/// the batch, 0: per example over the units): the forward step both kinds share.
pub(crate) fn normalize_along(
    z: ArrayView2<f64>,
    axis: Axis,
    epsilon: f64,
    gamma: &Array2<f64>,
    beta: &Array2<f64>,
) -> (Array2<f64>, NormalizationCache) {
    let z = row_major(z);
    let z = z.view();
    let mean = mean_along(z, axis);
    let centered = &z - &mean;
    let var = mean_along(centered.mapv(|v| v * v).view(), axis);
    let inv_std = inv_std(&var, epsilon);
    let z_hat = &centered * &inv_std;
    let z_tilde = &z_hat * gamma + beta;
    (z_tilde, NormalizationCache { z_hat, inv_std, mean, var })
}

/// 1 / √(σ² + ε), entry by entry.
pub(crate) fn inv_std(var: &Array2<f64>, epsilon: f64) -> Array2<f64> {
    var.mapv(|v| 1.0 / (v + epsilon).sqrt())
}

/// The backward step both kinds share, with k the number of values each μ averages
/// (m for batch norm, n for layer norm) and the sums along `axis`:
///
/// dβ = Σⱼ dZ̃[:, j],  dγ = Σⱼ (dZ̃ ⊙ Ẑ)[:, j],  dẐ = γ ⊙ dZ̃,
/// dZ = (1/k) · (1/√(σ² + ε)) ⊙ (k dẐ − Σ dẐ − Ẑ ⊙ Σ (dẐ ⊙ Ẑ)),
///
/// the compact form of the chain rule through μ and σ², which depend on every value they
/// average. dγ and dβ always sum over the examples: γ and β are per unit in both kinds.
pub(crate) fn backward_along(
    cache: &NormalizationCache,
    dz_tilde: ArrayView2<f64>,
    axis: Axis,
    gamma: &Array2<f64>,
) -> NormalizationGrads {
    let dz_tilde = row_major(dz_tilde);
    let dz_tilde = dz_tilde.view();
    let k = dz_tilde.len_of(axis) as f64;
    let dbeta = sum_along(dz_tilde, Axis(1));
    let dgamma = sum_along((&dz_tilde * &cache.z_hat).view(), Axis(1));
    let dz_hat = &dz_tilde * gamma;
    let sum_dz_hat = sum_along(dz_hat.view(), axis);
    let sum_dz_hat_z_hat = sum_along((&dz_hat * &cache.z_hat).view(), axis);
    let dz = (&dz_hat * k - &sum_dz_hat - &cache.z_hat * &sum_dz_hat_z_hat) * &cache.inv_std / k;
    NormalizationGrads { dz, dgamma, dbeta }
}

/// ε > 0 and finite.
pub(crate) fn check_epsilon(name: &str, epsilon: f64) -> Result<()> {
    if epsilon.is_finite() && epsilon > 0.0 {
        Ok(())
    } else {
        Err(bad_hyper(&format!("{name} epsilon"), epsilon, "must be finite and > 0"))
    }
}

/// The settings of a kind of normalization (its `Config`): what
/// [`Network::with_normalization`](crate::Network::with_normalization) needs to put one on
/// every hidden layer.
pub trait NormalizationConfig {
    /// A fresh normalization of `units` units (γ = 1, β = 0).
    fn build(&self, units: usize) -> Result<Normalization>;
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use rand::rngs::ChaCha8Rng;
    use rand::{RngExt, SeedableRng};

    /// Entries uniform in [−2, 2], seeded.
    pub(crate) fn random(rows: usize, cols: usize, seed: u64) -> Array2<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        Array2::from_shape_simple_fn((rows, cols), || rng.random_range(-2.0..2.0))
    }

    /// γ and β away from 1 and 0, so that their gradients are not special.
    pub(crate) fn spread(kind: &mut dyn Normalize) {
        let n = kind.gamma_beta().0.nrows();
        let (gamma, beta) = kind.gamma_beta_mut();
        *gamma = random(n, 1, 7).mapv(|g| 1.0 + 0.4 * g);
        *beta = random(n, 1, 8);
    }

    /// One normalization of every kind, of `n` units.
    fn every_kind(n: usize) -> Vec<Normalization> {
        let mut kinds =
            vec![BatchNormConfig::default().build(n).unwrap(), LayerNormConfig::default().build(n).unwrap()];
        kinds.iter_mut().for_each(|k| spread(k.kind_mut()));
        kinds
    }

    /// Backward against central differences of J = Σ R ⊙ Z̃ (so dZ̃ = R), for dZ, dγ and dβ of
    /// every kind.
    #[test]
    fn every_kind_backward_matches_central_differences() {
        let (n, m) = (4, 6);
        let (z, r) = (random(n, m, 2), random(n, m, 3));
        let objective =
            |norm: &Normalization, z: &Array2<f64>| (&norm.forward_train(z.view()).unwrap().0 * &r).sum();
        let rel = |a: f64, b: f64| (a - b).abs() / (a.abs() + b.abs()).max(1e-8);
        let h = 1e-5;
        for norm in every_kind(n) {
            let name = norm.kind().name();
            let (_, cache) = norm.forward_train(z.view()).unwrap();
            let g = norm.backward(&cache, r.view()).unwrap();
            for (i, j) in (0..n).flat_map(|i| (0..m).map(move |j| (i, j))) {
                let (mut up, mut down) = (z.clone(), z.clone());
                up[[i, j]] += h;
                down[[i, j]] -= h;
                let num = (objective(&norm, &up) - objective(&norm, &down)) / (2.0 * h);
                assert!(
                    rel(num, g.dz[[i, j]]) < 1e-6,
                    "{name} dZ[{i}, {j}]: numeric {num}, analytic {}",
                    g.dz[[i, j]]
                );
            }
            for (p, grad) in [(0, &g.dgamma), (1, &g.dbeta)] {
                for i in 0..n {
                    let shifted = |by: f64| {
                        let mut moved = norm.clone();
                        let (gamma, beta) = moved.kind_mut().gamma_beta_mut();
                        [gamma, beta][p][[i, 0]] += by;
                        objective(&moved, &z)
                    };
                    let num = (shifted(h) - shifted(-h)) / (2.0 * h);
                    assert!(
                        rel(num, grad[[i, 0]]) < 1e-6,
                        "{name} d{}[{i}]: numeric {num}, analytic {}",
                        ["γ", "β"][p],
                        grad[[i, 0]]
                    );
                }
            }
        }
    }
}
