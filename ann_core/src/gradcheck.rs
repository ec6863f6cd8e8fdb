//! Gradient checking: compare backprop's dθ with the central difference
//! dθ_approx[i] = (J(θ + ε e_i) − J(θ − ε e_i)) / 2ε, tensor by tensor, with the relative
//! error ‖dθ − dθ_approx‖₂ / (‖dθ‖₂ + ‖dθ_approx‖₂). Below ~1e-7 backprop is right.
//!
//! Every parameter of [`Network::params`] is checked, whatever its kind (W, b, γ, β).
//!
//! J is the training-mode cost: a normalization uses the statistics of the pass (batch
//! norm's depend on every example), dropout uses the frozen masks if given. For a network
//! without normalization and without dropout that is the evaluation pass. b[l] of a
//! batch-normalized layer is not perturbed: Z[l] − μ[l] cancels it, so J does not depend on
//! it and backprop's db[l] is 0 by construction; its finite difference would only measure
//! rounding, and [`gradient_check`] does not report it.

use crate::dropout::Dropout;
use crate::error::{Result, bad_hyper};
use crate::gradients::Gradients;
use crate::network::Network;
use crate::param::ParamId;
use ndarray::{Array2, ArrayView2};

/// The comparison of one tensor, e.g. dW[2].
#[derive(Debug, Clone, PartialEq)]
pub struct TensorCheck {
    /// The parameter.
    pub id: ParamId,
    /// "dW[l]", "db[l]", "dγ[l]", "dβ[l]": d and the parameter's name.
    pub name: String,
    /// ‖analytic − numeric‖ / (‖analytic‖ + ‖numeric‖) (0 if both are 0).
    pub relative_error: f64,
    /// Largest absolute difference of one entry.
    pub max_abs_diff: f64,
}

/// Per-tensor results of a gradient check.
#[derive(Debug, Clone, PartialEq)]
pub struct GradCheckReport {
    /// dW[1], db[1] (and dγ[1], dβ[1]), dW[2], ... in parameter order.
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
        None if !net.has_normalization() => net.cost(&net.forward(x)?, y, lambda),
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
        None if !net.has_normalization() => net.backward(&net.forward(x)?, y, lambda),
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
    let cancelled = cancelled_biases(net);
    for (k, (id, target)) in grads.iter_mut().enumerate() {
        if cancelled.contains(&id) {
            continue;
        }
        for (rc, estimate) in target.indexed_iter_mut() {
            // θ_i: the parameter's entry (r, c), moved and put back in the copy `probe`.
            let original = entry(&mut probe, k, rc, None);
            let mut j_at = |shift: f64| -> Result<f64> {
                entry(&mut probe, k, rc, Some(original + shift));
                cost_at(&probe, x, y, lambda, dropout)
            };
            *estimate = match difference {
                Difference::Central => (j_at(epsilon)? - j_at(-epsilon)?) / (2.0 * epsilon),
                Difference::FourthOrder => {
                    (-j_at(2.0 * epsilon)? + 8.0 * j_at(epsilon)? - 8.0 * j_at(-epsilon)?
                        + j_at(-2.0 * epsilon)?)
                        / (12.0 * epsilon)
                }
            };
            entry(&mut probe, k, rc, Some(original));
        }
    }
    Ok(grads)
}

/// The b[l] that a normalization cancels (see the module docs): J does not depend on them.
fn cancelled_biases(net: &Network) -> Vec<ParamId> {
    (net.layers().iter().enumerate())
        .filter(|(_, l)| l.normalization.as_ref().is_some_and(|n| n.kind().cancels_bias()))
        .map(|(i, _)| ParamId::b(i + 1))
        .collect()
}

/// Entry (r, c) of the `k`-th parameter of `net` (a copy of the network whose gradients
/// were shaped from it, so the entry exists): returns it, and sets it to `value` if given.
fn entry(net: &mut Network, k: usize, (r, c): (usize, usize), value: Option<f64>) -> f64 {
    let Some(mut p) = net.params_mut().nth(k) else { return f64::NAN };
    let Some(v) = p.value.get_mut((r, c)) else { return f64::NAN };
    let old = *v;
    if let Some(value) = value {
        *v = value;
    }
    old
}

/// Compares two sets of gradients tensor by tensor (e.g. a deliberately buggy backprop
/// against [`numerical_gradients`]), pairing them in parameter order: both must be of one
/// network, as every `Gradients` of it are.
pub fn compare_gradients(analytic: &Gradients, numeric: &Gradients) -> GradCheckReport {
    let mut tensors = Vec::new();
    for ((id, ta), (_, tn)) in analytic.iter().zip(numeric.iter()) {
        let diff: f64 = ta.iter().zip(tn.iter()).map(|(p, q)| (p - q).powi(2)).sum::<f64>().sqrt();
        let na: f64 = ta.iter().map(|v| v * v).sum::<f64>().sqrt();
        let nn: f64 = tn.iter().map(|v| v * v).sum::<f64>().sqrt();
        let relative_error = if na + nn == 0.0 { 0.0 } else { diff / (na + nn) };
        let max_abs_diff = ta.iter().zip(tn.iter()).map(|(p, q)| (p - q).abs()).fold(0.0, f64::max);
        tensors.push(TensorCheck { id, name: format!("d{id}"), relative_error, max_abs_diff });
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
    let mut report = compare_gradients(&analytic, &numeric);
    // A cancelled db[l] is 0 on both sides by construction: reporting it would show a check
    // that was never made.
    let skipped = cancelled_biases(net);
    report.tensors.retain(|t| !skipped.contains(&t.id));
    Ok(report)
}
