//! Gradient checking: compare backprop's dθ with the central difference
//! dθ_approx[i] = (J(θ + ε e_i) − J(θ − ε e_i)) / 2ε, tensor by tensor, with the relative
//! error ‖dθ − dθ_approx‖₂ / (‖dθ‖₂ + ‖dθ_approx‖₂). Below ~1e-7 backprop is right.
//!
//! J is the training-mode cost: batch norm normalizes with the batch's μ and σ² (which depend
//! on every θ), dropout uses the frozen masks if given. For a network without batch norm and
//! without dropout that is the evaluation pass. b[l] of a batch-normalized layer is not
//! perturbed: Z[l] − μ[l] cancels it, so J does not depend on it and backprop's db[l] is 0
//! by construction; its finite difference would only measure rounding.

use crate::backward::{Gradients, LayerGrad};
use crate::dropout::Dropout;
use crate::error::{Result, bad_hyper};
use crate::network::Network;
use ndarray::{Array2, ArrayView2};

/// The comparison of one tensor, e.g. dW[2].
#[derive(Debug, Clone, PartialEq)]
pub struct TensorCheck {
    /// "dW[l]" and "db[l]"; "dW[l]", "dγ[l]", "dβ[l]" for a batch-normalized layer.
    pub name: String,
    /// ‖analytic − numeric‖ / (‖analytic‖ + ‖numeric‖) (0 if both are 0).
    pub relative_error: f64,
    /// Largest absolute difference of one entry.
    pub max_abs_diff: f64,
}

/// Per-tensor results of a gradient check.
#[derive(Debug, Clone, PartialEq)]
pub struct GradCheckReport {
    /// dW[1], db[1] (or dγ[1], dβ[1]), dW[2], ... in order.
    pub tensors: Vec<TensorCheck>,
}

impl GradCheckReport {
    /// The worst relative error over all tensors.
    pub fn max_relative_error(&self) -> f64 {
        self.tensors.iter().map(|t| t.relative_error).fold(0.0, f64::max)
    }

    /// Whether every tensor's relative error is below `tolerance`.
    pub fn passes(&self, tolerance: f64) -> bool {
        self.max_relative_error() < tolerance
    }
}

impl std::fmt::Display for GradCheckReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for t in &self.tensors {
            writeln!(
                f,
                "{:>7}  relative error {:.3e}  max |diff| {:.3e}",
                t.name, t.relative_error, t.max_abs_diff
            )?;
        }
        write!(f, "worst relative error: {:.3e}", self.max_relative_error())
    }
}

/// Frozen dropout for a check: the keep probabilities and the masks D[l] of one pass.
#[derive(Debug, Clone, Copy)]
pub struct FrozenDropout<'a> {
    /// keep_prob per layer.
    pub dropout: &'a Dropout,
    /// D[l] per layer (`masks[l − 1]`), e.g. from [`crate::Cache::masks`].
    pub masks: &'a [Option<Array2<f64>>],
}

/// J(θ) (+ L2) of `net` on (X, Y), with frozen dropout masks if given.
pub fn cost_at(
    net: &Network,
    x: ArrayView2<f64>,
    y: ArrayView2<f64>,
    lambda: f64,
    dropout: Option<FrozenDropout<'_>>,
) -> Result<f64> {
    match dropout {
        None if !net.has_batch_norm() => net.cost(&net.forward(x)?, y, lambda),
        _ => net.cost(&training_pass(net, x, dropout)?, y, lambda),
    }
}

/// A training-mode pass with the frozen masks of `dropout`, or with none.
fn training_pass(
    net: &Network,
    x: ArrayView2<f64>,
    dropout: Option<FrozenDropout<'_>>,
) -> Result<crate::cache::Cache<crate::cache::Train>> {
    match dropout {
        None => net.forward_with_masks(x, &Dropout::Off, &vec![None; net.num_layers()]),
        Some(d) => net.forward_with_masks(x, d.dropout, d.masks),
    }
}

/// Backprop's gradients for the same pass [`cost_at`] evaluates.
pub fn analytic_gradients(
    net: &Network,
    x: ArrayView2<f64>,
    y: ArrayView2<f64>,
    lambda: f64,
    dropout: Option<FrozenDropout<'_>>,
) -> Result<Gradients> {
    match dropout {
        None if !net.has_batch_norm() => net.backward(&net.forward(x)?, y, lambda),
        _ => net.backward(&training_pass(net, x, dropout)?, y, lambda),
    }
}

/// The finite-difference formula for one parameter θ_i with step ε.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Difference {
    /// (J(θ+ε) − J(θ−ε)) / 2ε: the course's two-sided difference, error O(ε²).
    Central,
    /// (−J(θ+2ε) + 8J(θ+ε) − 8J(θ−ε) + J(θ−2ε)) / 12ε: error O(ε⁴), for checking networks
    /// whose gradients are so small that the O(ε²) term of [`Difference::Central`] shows
    /// in the relative error.
    FourthOrder,
}

/// Central-difference gradients of J with step `epsilon` (1e-7 is a good choice in f64),
/// one parameter at a time: 2 forward passes per parameter, so use small networks.
pub fn numerical_gradients(
    net: &Network,
    x: ArrayView2<f64>,
    y: ArrayView2<f64>,
    lambda: f64,
    epsilon: f64,
    dropout: Option<FrozenDropout<'_>>,
) -> Result<Gradients> {
    numerical_gradients_with(net, x, y, lambda, epsilon, dropout, Difference::Central)
}

/// Finite-difference gradients of J with the given [`Difference`] formula.
pub fn numerical_gradients_with(
    net: &Network,
    x: ArrayView2<f64>,
    y: ArrayView2<f64>,
    lambda: f64,
    epsilon: f64,
    dropout: Option<FrozenDropout<'_>>,
    difference: Difference,
) -> Result<Gradients> {
    if !(epsilon.is_finite() && epsilon > 0.0) {
        return Err(bad_hyper("epsilon", epsilon, "must be finite and > 0"));
    }
    let mut probe = net.clone();
    let mut grads = Gradients::zeros_like(net);
    for l in 0..net.num_layers() {
        let tensors: &[Tensor] = if net.layers()[l].batch_norm.is_some() {
            &[Tensor::W, Tensor::Gamma, Tensor::Beta]
        } else {
            &[Tensor::W, Tensor::B]
        };
        for &t in tensors {
            let len = tensor(&mut probe, l, t).len();
            for k in 0..len {
                let original = *param_mut(&mut probe, l, t, k);
                let mut j_at = |shift: f64| -> Result<f64> {
                    *param_mut(&mut probe, l, t, k) = original + shift;
                    cost_at(&probe, x, y, lambda, dropout)
                };
                let estimate = match difference {
                    Difference::Central => (j_at(epsilon)? - j_at(-epsilon)?) / (2.0 * epsilon),
                    Difference::FourthOrder => {
                        (-j_at(2.0 * epsilon)? + 8.0 * j_at(epsilon)? - 8.0 * j_at(-epsilon)?
                            + j_at(-2.0 * epsilon)?)
                            / (12.0 * epsilon)
                    }
                };
                *param_mut(&mut probe, l, t, k) = original;
                let g: &mut LayerGrad = &mut grads.layers[l];
                let target = match (t, &mut g.norm) {
                    (Tensor::W, _) => &mut g.dw,
                    (Tensor::B, _) => &mut g.db,
                    (Tensor::Gamma, Some(n)) => &mut n.gamma,
                    (Tensor::Beta, Some(n)) => &mut n.beta,
                    _ => continue,
                };
                if let Some(v) = target.as_slice_mut().and_then(|s| s.get_mut(k)) {
                    *v = estimate;
                }
            }
        }
    }
    Ok(grads)
}

/// The trainable tensors of one layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tensor {
    W,
    B,
    Gamma,
    Beta,
}

/// W[l], b[l], or γ[l], β[l] of a batch-normalized layer (only asked for where it exists).
fn tensor(net: &mut Network, l: usize, t: Tensor) -> &mut Array2<f64> {
    let layer = &mut net.layers_mut()[l];
    match (t, &mut layer.batch_norm) {
        (Tensor::Gamma, Some(bn)) => &mut bn.gamma,
        (Tensor::Beta, Some(bn)) => &mut bn.beta,
        (Tensor::B, _) => &mut layer.b,
        _ => &mut layer.w,
    }
}

fn param_mut(net: &mut Network, l: usize, t: Tensor, k: usize) -> &mut f64 {
    let t = tensor(net, l, t);
    // Layers built by this crate are standard (row-major) arrays; index k in that order.
    let cols = t.ncols();
    &mut t[[k / cols, k % cols]]
}

/// Compares two sets of gradients tensor by tensor (e.g. a deliberately buggy backprop
/// against [`numerical_gradients`]).
pub fn compare_gradients(analytic: &Gradients, numeric: &Gradients) -> GradCheckReport {
    let mut tensors = Vec::new();
    for (l, (a, n)) in analytic.layers.iter().zip(&numeric.layers).enumerate() {
        // A batch-normalized layer's db is 0 on both sides by construction (module docs):
        // reporting it would show a check that was never made.
        let mut pairs = vec![("dW", &a.dw, &n.dw)];
        match (&a.norm, &n.norm) {
            (Some(an), Some(nn)) => pairs.extend([("dγ", &an.gamma, &nn.gamma), ("dβ", &an.beta, &nn.beta)]),
            _ => pairs.push(("db", &a.db, &n.db)),
        }
        for (name, ta, tn) in pairs {
            let diff: f64 = ta.iter().zip(tn.iter()).map(|(p, q)| (p - q).powi(2)).sum::<f64>().sqrt();
            let na: f64 = ta.iter().map(|v| v * v).sum::<f64>().sqrt();
            let nn: f64 = tn.iter().map(|v| v * v).sum::<f64>().sqrt();
            let relative_error = if na + nn == 0.0 { 0.0 } else { diff / (na + nn) };
            let max_abs_diff = ta.iter().zip(tn.iter()).map(|(p, q)| (p - q).abs()).fold(0.0, f64::max);
            tensors.push(TensorCheck { name: format!("{name}[{}]", l + 1), relative_error, max_abs_diff });
        }
    }
    GradCheckReport { tensors }
}

/// Gradient check of backprop against central differences for `net` on (X, Y) with L2
/// strength `lambda` and, optionally, frozen dropout masks.
pub fn gradient_check(
    net: &Network,
    x: ArrayView2<f64>,
    y: ArrayView2<f64>,
    lambda: f64,
    epsilon: f64,
    dropout: Option<FrozenDropout<'_>>,
) -> Result<GradCheckReport> {
    let analytic = analytic_gradients(net, x, y, lambda, dropout)?;
    let numeric = numerical_gradients(net, x, y, lambda, epsilon, dropout)?;
    Ok(compare_gradients(&analytic, &numeric))
}
