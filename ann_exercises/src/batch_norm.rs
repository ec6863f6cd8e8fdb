//! Exercise 6, batch normalization: the training forward step (Ẑ, Z̃ and s = 1/√(σ² + ε) of
//! the batch), the backward step through μ and σ² (checked against `ann_core` and against
//! central differences), and the evaluation step with the running averages.

use crate::forward::prefix;
use crate::grade::{Grader, attempt, compare, compare_within, random, rng, shape};
use crate::report::Report;
use ann_core::{BatchNorm, BatchNormCache, BatchNormConfig};
use ndarray::{Array2, ArrayView2, Axis};
use rand::rngs::ChaCha8Rng;

/// `fn batch_norm_forward(z, gamma, beta, epsilon) -> (Z̃, Ẑ, s)`, training mode, with the
/// batch's μ and σ²; s = 1/√(σ² + ε) has shape (n, 1).
pub type BatchNormForward =
    fn(ArrayView2<f64>, ArrayView2<f64>, ArrayView2<f64>, f64) -> (Array2<f64>, Array2<f64>, Array2<f64>);
/// `fn batch_norm_backward(dz_tilde, z_hat, gamma, inv_std) -> (dZ, dγ, dβ)`, with
/// inv_std = s = 1/√(σ² + ε) of the forward step.
pub type BatchNormBackward = fn(
    ArrayView2<f64>,
    ArrayView2<f64>,
    ArrayView2<f64>,
    ArrayView2<f64>,
) -> (Array2<f64>, Array2<f64>, Array2<f64>);
/// `fn batch_norm_eval(z, gamma, beta, running_mean, running_var, epsilon) -> Z̃`, evaluation
/// mode, with the running averages.
pub type BatchNormEval = fn(
    ArrayView2<f64>,
    ArrayView2<f64>,
    ArrayView2<f64>,
    ArrayView2<f64>,
    ArrayView2<f64>,
    f64,
) -> Array2<f64>;

/// ε as the course writes it: 1e-5, 0.1.
fn epsilon_str(epsilon: f64) -> String {
    if epsilon < 1e-2 { format!("{epsilon:e}") } else { format!("{epsilon}") }
}

/// Σⱼ X[:, j] as an (n, 1) column.
fn row_sum(x: &Array2<f64>) -> Array2<f64> {
    x.sum_axis(Axis(1)).insert_axis(Axis(1))
}

/// Σᵢ X[i, :] as a (1, m) row: the sum along the wrong axis.
fn column_sum(x: &Array2<f64>) -> Array2<f64> {
    x.sum_axis(Axis(0)).insert_axis(Axis(0))
}

/// A batch-norm layer of `n` units with γ in [0.6, 1.4] and β in [−1, 1] (γ = 1, β = 0 if
/// `plain`).
fn layer(n: usize, epsilon: f64, plain: bool, r: &mut ChaCha8Rng) -> BatchNorm {
    let (gamma, beta) = if plain {
        (Array2::ones((n, 1)), Array2::zeros((n, 1)))
    } else {
        (random(n, 1, 1.0, r).mapv(|g| 1.0 + 0.4 * g), random(n, 1, 1.0, r))
    };
    BatchNorm {
        gamma,
        beta,
        running_mean: Array2::zeros((n, 1)),
        running_var: Array2::ones((n, 1)),
        config: BatchNormConfig { epsilon, momentum: 0.9 },
    }
}

/// One training-mode case: the layer, Z, and the crate's Z̃ and cache.
struct Case {
    bn: BatchNorm,
    z: Array2<f64>,
    z_tilde: Array2<f64>,
    cache: BatchNormCache,
}

/// Training-mode cases: the course's start (γ = 1, β = 0), shifted and scaled batches, the
/// smallest batch (m = 2), a unit with no spread (its σ² is 0: only ε keeps s finite), and a
/// large ε.
fn training_cases(seed: u64) -> Vec<Case> {
    let mut r = rng(seed);
    let mut out = Vec::new();
    for (n, m, epsilon, plain, constant_row) in [
        (3, 4, 1e-5, true, false),
        (5, 8, 1e-5, false, false),
        (1, 2, 1e-3, false, false),
        (3, 4, 1e-5, false, true),
        (4, 6, 0.1, false, false),
    ] {
        let bn = layer(n, epsilon, plain, &mut r);
        let mut z = random(n, m, 1.5, &mut r).mapv(|v| 2.0 * v + 1.0);
        if constant_row {
            // 0.75 · m / m is exactly 0.75: the row's μ is exact and its σ² exactly 0.
            z.row_mut(1).fill(0.75);
        }
        let Ok((z_tilde, cache)) = bn.forward_train(z.view()) else { continue };
        out.push(Case { bn, z, z_tilde, cache });
    }
    out
}

/// Checks Z̃ = γ ⊙ (Z − μ) / √(σ² + ε) + β with the batch's μ and σ², and what the backward
/// step needs: Ẑ and s = 1/√(σ² + ε), against [`BatchNorm::forward_train`].
pub fn batch_norm_forward(f: BatchNormForward) -> Report {
    let cases = training_cases(71);
    let mut g = Grader::new("batch_norm_forward", cases.len());
    for Case { bn, z, z_tilde, cache } in &cases {
        let (gamma, beta, epsilon) = (&bn.gamma, &bn.beta, bn.config.epsilon);
        let m = z.ncols() as f64;
        let mu = row_sum(z) / m;
        let centered = z - &mu;
        let var = row_sum(&centered.mapv(|v| v * v)) / m;
        let s = &cache.inv_std;
        // The wrong axis: one μ, σ² per example (column) instead of per unit (row).
        let mu0 = column_sum(z) / z.nrows() as f64;
        let var0 = column_sum(&(z - &mu0).mapv(|v| v * v)) / z.nrows() as f64;
        let s0 = var0.mapv(|v| 1.0 / (v + epsilon).sqrt());
        let axis = "Normalize every unit (row) over the examples of the batch (columns): μ and σ² are \
                    means along axis 1, one per unit, shape (n, 1).";
        let no_eps = "Add ε under the square root, 1/√(σ² + ε): a unit with no spread has σ² = 0.";
        let inputs = || {
            format!(
                "Z {}, γ {}, β {}, ε = {}",
                shape(z.view()),
                shape(gamma.view()),
                shape(beta.view()),
                epsilon_str(epsilon)
            )
        };
        let result = attempt(|| f(z.view(), gamma.view(), beta.view(), epsilon));
        let check = |(gzt, gzh, gs): (Array2<f64>, Array2<f64>, Array2<f64>)| {
            compare(
                s.view(),
                gs.view(),
                &[
                    (var.mapv(|v| 1.0 / v.sqrt()), no_eps),
                    (
                        (row_sum(&centered.mapv(|v| v * v)) / (m - 1.0)).mapv(|v| 1.0 / (v + epsilon).sqrt()),
                        "σ² is the batch's own variance, (1/m) Σⱼ (Z − μ)², not the sample variance with 1/(m − 1).",
                    ),
                    (
                        var.mapv(|v| (v + epsilon).sqrt()),
                        "Return s = 1/√(σ² + ε), the inverse of the standard deviation, not √(σ² + ε).",
                    ),
                    (var.mapv(|v| 1.0 / (v + epsilon)), "s = 1/√(σ² + ε): take the square root of σ² + ε."),
                    (
                        (row_sum(&z.mapv(|v| v * v)) / m).mapv(|v| 1.0 / (v + epsilon).sqrt()),
                        "σ² is the mean of (Z − μ)², centered on μ, not the mean of Z².",
                    ),
                    (s0.clone(), axis),
                ],
            )
            .map_err(|w| prefix(w, "s = 1/√(σ² + ε)"))?;
            compare(
                cache.z_hat.view(),
                gzh.view(),
                &[
                    (z * s, "Subtract μ before scaling: Ẑ = (Z − μ) ⊙ s."),
                    (centered.clone(), "Scale by s = 1/√(σ² + ε) after subtracting μ."),
                    (&centered / &var.mapv(|v| v + epsilon), "Divide by √(σ² + ε), not by σ² + ε."),
                    (&centered / &var.mapv(f64::sqrt), no_eps),
                    ((z - &mu0) * &s0, axis),
                ],
            )
            .map_err(|w| prefix(w, "Ẑ"))?;
            let z_hat = &cache.z_hat;
            compare(
                z_tilde.view(),
                gzt.view(),
                &[
                    (z_hat * beta + gamma, "Z̃ = γ ⊙ Ẑ + β: γ scales, β shifts (they are swapped)."),
                    (z_hat * gamma, "Add β: Z̃ = γ ⊙ Ẑ + β."),
                    (z_hat + beta, "Multiply by γ: Z̃ = γ ⊙ Ẑ + β."),
                    (z * gamma + beta, "Scale and shift Ẑ, the normalized Z, not Z itself."),
                    (z_hat.clone(), "Z̃ = γ ⊙ Ẑ + β: apply γ and β to Ẑ."),
                ],
            )
            .map_err(|w| prefix(w, "Z̃"))
        };
        if let Err(report) = g.case(inputs, result, check) {
            return report;
        }
    }
    g.finish()
}

/// dZ of the compact formula for given dẐ, Ẑ, s and the sums over `sum` (axis 1 when right).
fn compact_dz(
    dz_hat: &Array2<f64>,
    z_hat: &Array2<f64>,
    s: &Array2<f64>,
    sum: fn(&Array2<f64>) -> Array2<f64>,
) -> Array2<f64> {
    let m = dz_hat.ncols() as f64;
    (dz_hat * m - &sum(dz_hat) - z_hat * &sum(&(dz_hat * z_hat))) * s / m
}

/// Step of the central differences in the gradient check.
const H: f64 = 1e-5;
/// Central differences of J agree with the exact gradient to about 1e-16 / h plus h² (the
/// rounding of J, and the third derivative): far below this.
const DIFFERENCE_TOLERANCE: f64 = 1e-7;

/// dZ, dγ, dβ by central differences of J(Z, γ, β) = Σ R ⊙ Z̃, whose dZ̃ is R, through the
/// crate's training forward step.
fn central_differences(
    bn: &BatchNorm,
    z: &Array2<f64>,
    r: &Array2<f64>,
) -> (Array2<f64>, Array2<f64>, Array2<f64>) {
    let j = |bn: &BatchNorm, z: &Array2<f64>| {
        bn.forward_train(z.view()).map(|(zt, _)| (&zt * r).sum()).unwrap_or(f64::NAN)
    };
    let dz = Array2::from_shape_fn(z.dim(), |(i, k)| {
        let (mut up, mut down) = (z.clone(), z.clone());
        up[[i, k]] += H;
        down[[i, k]] -= H;
        (j(bn, &up) - j(bn, &down)) / (2.0 * H)
    });
    let probe = |beta: bool| {
        Array2::from_shape_fn(bn.gamma.dim(), |(i, _)| {
            let (mut up, mut down) = (bn.clone(), bn.clone());
            let (u, d) = if beta { (&mut up.beta, &mut down.beta) } else { (&mut up.gamma, &mut down.gamma) };
            u[[i, 0]] += H;
            d[[i, 0]] -= H;
            (j(&up, z) - j(&down, z)) / (2.0 * H)
        })
    };
    (dz, probe(false), probe(true))
}

/// Checks dβ = Σⱼ dZ̃, dγ = Σⱼ dZ̃ ⊙ Ẑ and dZ = (s/m) ⊙ (m dẐ − Σⱼ dẐ − Ẑ ⊙ Σⱼ dẐ ⊙ Ẑ) with
/// dẐ = γ ⊙ dZ̃. Case 1 is a gradient check: the expected values are central differences of
/// J = Σ R ⊙ Z̃ (so dZ̃ = R), computed through the crate's forward step; the other cases
/// compare with [`BatchNorm::backward`].
pub fn batch_norm_backward(f: BatchNormBackward) -> Report {
    let mut r = rng(72);
    let mut cases = Vec::new();
    let bn = layer(2, 1e-5, false, &mut r);
    let z = random(2, 3, 2.0, &mut r);
    if let Ok((z_tilde, cache)) = bn.forward_train(z.view()) {
        cases.push(Case { bn, z, z_tilde, cache });
    }
    // The course's start γ = 1 left out: there a missing γ would go unnoticed.
    cases.extend(training_cases(73).into_iter().skip(1));
    let mut g = Grader::new("batch_norm_backward", cases.len());
    for (k, Case { bn, z, cache, .. }) in cases.iter().enumerate() {
        let gradient_check = k == 0;
        let dz_tilde = random(z.nrows(), z.ncols(), 1.5, &mut r);
        let (z_hat, s, gamma) = (&cache.z_hat, &cache.inv_std, &bn.gamma);
        let expected = if gradient_check {
            central_differences(bn, z, &dz_tilde)
        } else {
            let Ok(grads) = bn.backward(cache, dz_tilde.view()) else { continue };
            (grads.dz, grads.dgamma, grads.dbeta)
        };
        let (tolerance, against) = if gradient_check {
            (DIFFERENCE_TOLERANCE, " (central differences)")
        } else {
            (crate::TOLERANCE, "")
        };
        let m = z.ncols() as f64;
        let dz_hat = &dz_tilde * gamma;
        let sums = "Σⱼ runs over the examples (columns, axis 1): one sum per unit, shape (n, 1).";
        let inputs = || {
            let shapes = format!(
                "dZ̃ {}, Ẑ {}, γ {}, s {}",
                shape(dz_tilde.view()),
                shape(z_hat.view()),
                shape(gamma.view()),
                shape(s.view())
            );
            if gradient_check {
                format!("gradient check, J = Σ R ⊙ Z̃ so dZ̃ = R, central differences with h = {H:e}: {shapes}")
            } else {
                shapes
            }
        };
        let result = attempt(|| f(dz_tilde.view(), z_hat.view(), gamma.view(), s.view()));
        let check = |(gdz, gdgamma, gdbeta): (Array2<f64>, Array2<f64>, Array2<f64>)| {
            compare_within(
                expected.2.view(),
                gdbeta.view(),
                &[
                    (
                        row_sum(&dz_tilde) / m,
                        "dβ = Σⱼ dZ̃, a sum over the examples with no 1/m (it comes with dZ̃).",
                    ),
                    (column_sum(&dz_tilde), sums),
                    (row_sum(&dz_hat), "dβ = Σⱼ dZ̃: β is added after γ, so no γ here."),
                ],
                tolerance,
            )
            .map_err(|w| prefix(w, &format!("dβ{against}")))?;
            compare_within(
                expected.1.view(),
                gdgamma.view(),
                &[
                    (row_sum(&dz_tilde), "dγ = Σⱼ dZ̃ ⊙ Ẑ: γ multiplies Ẑ, so Ẑ appears in dγ."),
                    (row_sum(&(&dz_hat * z_hat)), "dγ = Σⱼ dZ̃ ⊙ Ẑ: the γ belongs to dẐ, not to dγ."),
                    (row_sum(&(&dz_tilde * z_hat)) / m, "dγ = Σⱼ dZ̃ ⊙ Ẑ, with no 1/m (it comes with dZ̃)."),
                    (column_sum(&(&dz_tilde * z_hat)), sums),
                ],
                tolerance,
            )
            .map_err(|w| prefix(w, &format!("dγ{against}")))?;
            let full = compact_dz(&dz_hat, z_hat, s, row_sum);
            compare_within(
                expected.0.view(),
                gdz.view(),
                &[
                    (
                        &dz_hat * s,
                        "That treats μ and σ² as constants: every Z[i, j] also reaches J through the μ and σ² of \
                         its row. Use the compact formula.",
                    ),
                    (
                        (&dz_hat * m - z_hat * &row_sum(&(&dz_hat * z_hat))) * s / m,
                        "The − Σⱼ dẐ term is missing: it is the path through μ.",
                    ),
                    (
                        (&dz_hat * m - &row_sum(&dz_hat)) * s / m,
                        "The − Ẑ ⊙ Σⱼ (dẐ ⊙ Ẑ) term is missing: it is the path through σ².",
                    ),
                    (&full * m, "Divide by m: dZ = (s/m) ⊙ (m dẐ − ...)."),
                    (&full / s, "Multiply by s = 1/√(σ² + ε): dZ = (s/m) ⊙ (...)."),
                    (compact_dz(&dz_tilde, z_hat, s, row_sum), "dẐ = γ ⊙ dZ̃: multiply by γ first."),
                    (compact_dz(&dz_hat, z_hat, s, column_sum), sums),
                ],
                tolerance,
            )
            .map_err(|w| prefix(w, &format!("dZ{against}")))
        };
        if let Err(report) = g.case(inputs, result, check) {
            return report;
        }
    }
    g.finish()
}

/// Checks Z̃ = γ ⊙ (Z − μ_run) / √(σ²_run + ε) + β against [`BatchNorm::forward_eval`], with
/// running averages moved by a few training batches, on batches of several examples and of
/// one.
pub fn batch_norm_eval(f: BatchNormEval) -> Report {
    let mut r = rng(74);
    let mut cases = Vec::new();
    for (n, m, epsilon, steps) in [(3, 5, 1e-5, 4), (4, 1, 1e-5, 3), (2, 3, 0.1, 6)] {
        let mut bn = layer(n, epsilon, false, &mut r);
        for _ in 0..steps {
            let batch = random(n, 8, 1.5, &mut r).mapv(|v| 2.0 * v + 1.0);
            if let Ok((_, cache)) = bn.forward_train(batch.view()) {
                // The batch's μ and σ² have the layer's shape: the update cannot fail.
                let _ = bn.update_running(&cache);
            }
        }
        let z = random(n, m, 1.5, &mut r).mapv(|v| 2.0 * v + 1.0);
        let Ok(expected) = bn.forward_eval(z.view()) else { continue };
        cases.push((bn, z, expected));
    }
    let mut g = Grader::new("batch_norm_eval", cases.len());
    for (bn, z, expected) in &cases {
        let (gamma, beta, mean, var, epsilon) =
            (&bn.gamma, &bn.beta, &bn.running_mean, &bn.running_var, bn.config.epsilon);
        let batch_stats = "At evaluation normalize with the running averages μ_run and σ²_run, not the batch's \
                           own μ and σ²: a prediction must not depend on the other examples of its batch.";
        // The batch's statistics: for a batch of one, Ẑ = 0 · (1/√ε) and Z̃ = β.
        let with_batch = match bn.forward_train(z.view()) {
            Ok((zt, _)) => zt,
            Err(_) => Array2::zeros(z.dim()) + beta,
        };
        let centered = z - mean;
        let mistakes = [
            (with_batch, batch_stats),
            (&centered / &var.mapv(f64::sqrt) * gamma + beta, "Add ε under the square root: √(σ²_run + ε)."),
            (
                &centered / &var.mapv(|v| v + epsilon) * gamma + beta,
                "σ²_run is a variance: divide by its square root, √(σ²_run + ε).",
            ),
            (z / &var.mapv(|v| (v + epsilon).sqrt()) * gamma + beta, "Subtract μ_run first: Z − μ_run."),
            (
                &centered / &var.mapv(|v| (v + epsilon).sqrt()),
                "Then scale and shift, as in training: γ ⊙ Ẑ + β.",
            ),
        ];
        let inputs = || {
            format!(
                "Z {}, γ {}, β {}, μ_run {}, σ²_run {}, ε = {}",
                shape(z.view()),
                shape(gamma.view()),
                shape(beta.view()),
                shape(mean.view()),
                shape(var.view()),
                epsilon_str(epsilon)
            )
        };
        let result = attempt(|| f(z.view(), gamma.view(), beta.view(), mean.view(), var.view(), epsilon));
        if let Err(report) = g.case(inputs, result, |got| compare(expected.view(), got.view(), &mistakes)) {
            return report;
        }
    }
    g.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Outcome;

    type Three = (Array2<f64>, Array2<f64>, Array2<f64>);

    fn sum1(x: &Array2<f64>) -> Array2<f64> {
        x.sum_axis(Axis(1)).insert_axis(Axis(1))
    }

    /// The forward step with σ² computed by `var_of(Z − μ, m)`.
    fn forward_with(
        z: ArrayView2<f64>,
        gamma: ArrayView2<f64>,
        beta: ArrayView2<f64>,
        epsilon: f64,
        var_of: impl Fn(&Array2<f64>, f64) -> Array2<f64>,
    ) -> Three {
        let m = z.ncols() as f64;
        let mu = sum1(&z.to_owned()) / m;
        let centered = &z - &mu;
        let inv_std = var_of(&centered, m).mapv(|v| 1.0 / (v + epsilon).sqrt());
        let z_hat = &centered * &inv_std;
        (&z_hat * &gamma + beta, z_hat, inv_std)
    }

    fn fwd_ok(z: ArrayView2<f64>, g: ArrayView2<f64>, b: ArrayView2<f64>, e: f64) -> Three {
        forward_with(z, g, b, e, |c, m| sum1(&c.mapv(|v| v * v)) / m)
    }
    /// Right too: σ² = E[Z²] − μ², Ẑ divided by √(σ² + ε) rather than multiplied by s.
    fn fwd_other_form(z: ArrayView2<f64>, g: ArrayView2<f64>, b: ArrayView2<f64>, e: f64) -> Three {
        let mu = z.mean_axis(Axis(1)).unwrap().insert_axis(Axis(1));
        let var = z.mapv(|v| v * v).mean_axis(Axis(1)).unwrap().insert_axis(Axis(1)) - &mu * &mu;
        let std = var.mapv(|v| (v + e).sqrt());
        let z_hat = (&z - &mu) / &std;
        (&z_hat * &g + b, z_hat, std.mapv(|v| 1.0 / v))
    }
    fn fwd_no_eps(z: ArrayView2<f64>, g: ArrayView2<f64>, b: ArrayView2<f64>, _e: f64) -> Three {
        fwd_ok(z, g, b, 0.0)
    }
    fn fwd_sample_var(z: ArrayView2<f64>, g: ArrayView2<f64>, b: ArrayView2<f64>, e: f64) -> Three {
        forward_with(z, g, b, e, |c, m| sum1(&c.mapv(|v| v * v)) / (m - 1.0))
    }
    fn fwd_wrong_axis(z: ArrayView2<f64>, g: ArrayView2<f64>, b: ArrayView2<f64>, e: f64) -> Three {
        let n = z.nrows() as f64;
        let col = |x: &Array2<f64>| x.sum_axis(Axis(0)).insert_axis(Axis(0));
        let mu = col(&z.to_owned()) / n;
        let centered = &z - &mu;
        let inv_std = (col(&centered.mapv(|v| v * v)) / n).mapv(|v| 1.0 / (v + e).sqrt());
        let z_hat = &centered * &inv_std;
        (&z_hat * &g + b, z_hat, inv_std)
    }
    fn fwd_swapped(z: ArrayView2<f64>, g: ArrayView2<f64>, b: ArrayView2<f64>, e: f64) -> Three {
        let (_, z_hat, s) = fwd_ok(z, g, b, e);
        (&z_hat * &b + g, z_hat, s)
    }
    fn fwd_uncentered(z: ArrayView2<f64>, g: ArrayView2<f64>, b: ArrayView2<f64>, e: f64) -> Three {
        let (_, _, s) = fwd_ok(z, g, b, e);
        let z_hat = &z * &s;
        (&z_hat * &g + b, z_hat, s)
    }
    fn fwd_s_broadcast(z: ArrayView2<f64>, g: ArrayView2<f64>, b: ArrayView2<f64>, e: f64) -> Three {
        let (zt, zh, s) = fwd_ok(z, g, b, e);
        let wide = Array2::zeros(z.dim()) + &s;
        (zt, zh, wide)
    }
    fn fwd_panics(z: ArrayView2<f64>, _g: ArrayView2<f64>, _b: ArrayView2<f64>, _e: f64) -> Three {
        let row = z[[z.nrows(), 0]];
        (Array2::from_elem((1, 1), row), Array2::zeros((1, 1)), Array2::zeros((1, 1)))
    }
    fn fwd_todo(_z: ArrayView2<f64>, _g: ArrayView2<f64>, _b: ArrayView2<f64>, _e: f64) -> Three {
        todo!("Ẑ = (Z − μ) ⊙ s")
    }

    #[test]
    fn batch_norm_forward_grader() {
        let r = batch_norm_forward(fwd_ok);
        assert!(r.is_passed() && r.total == 5, "{r}");
        let r = batch_norm_forward(fwd_other_form);
        assert!(r.is_passed(), "{r}");
        let r = batch_norm_forward(fwd_no_eps);
        assert!(r.hint().unwrap().contains("Add ε") && r.to_string().contains("s = 1/√(σ² + ε)"), "{r}");
        assert!(batch_norm_forward(fwd_sample_var).hint().unwrap().contains("1/(m − 1)"));
        let r = batch_norm_forward(fwd_wrong_axis);
        assert!(
            r.hint().unwrap().contains("axis 1") && r.to_string().contains("expected shape (3, 1)"),
            "{r}"
        );
        assert!(batch_norm_forward(fwd_swapped).hint().unwrap().contains("swapped"));
        let r = batch_norm_forward(fwd_uncentered);
        assert!(r.hint().unwrap().contains("Subtract μ") && r.to_string().contains("Ẑ: entry"), "{r}");
        let r = batch_norm_forward(fwd_s_broadcast);
        assert!(!r.is_passed() && r.to_string().contains("expected shape (3, 1), got (3, 4)"), "{r}");
        assert!(matches!(batch_norm_forward(fwd_panics).outcome, Outcome::Panicked { case: 1, .. }));
        assert_eq!(batch_norm_forward(fwd_todo).outcome, Outcome::NotImplemented);
    }

    fn bwd_ok(dzt: ArrayView2<f64>, z_hat: ArrayView2<f64>, g: ArrayView2<f64>, s: ArrayView2<f64>) -> Three {
        let m = dzt.ncols() as f64;
        let (dzt, z_hat) = (dzt.to_owned(), z_hat.to_owned());
        let dz_hat = &dzt * &g;
        let dz = (&dz_hat * m - &sum1(&dz_hat) - &z_hat * &sum1(&(&dz_hat * &z_hat))) * s / m;
        (dz, sum1(&(&dzt * &z_hat)), sum1(&dzt))
    }
    /// Right too: the three terms of the chain rule, written out.
    fn bwd_expanded(
        dzt: ArrayView2<f64>,
        z_hat: ArrayView2<f64>,
        g: ArrayView2<f64>,
        s: ArrayView2<f64>,
    ) -> Three {
        let (_, dgamma, dbeta) = bwd_ok(dzt, z_hat, g, s);
        let m = dzt.ncols() as f64;
        let dz_hat = &dzt * &g;
        let dz = &dz_hat * &s - &sum1(&dz_hat) * &s / m - &z_hat * &sum1(&(&dz_hat * &z_hat)) * s / m;
        (dz, dgamma, dbeta)
    }
    fn with_dz(base: Three, dz: Array2<f64>) -> Three {
        (dz, base.1, base.2)
    }
    fn bwd_no_mean_term(
        dzt: ArrayView2<f64>,
        z_hat: ArrayView2<f64>,
        g: ArrayView2<f64>,
        s: ArrayView2<f64>,
    ) -> Three {
        let m = dzt.ncols() as f64;
        let dz_hat = &dzt * &g;
        let dz = (&dz_hat * m - &z_hat * &sum1(&(&dz_hat * &z_hat))) * s / m;
        with_dz(bwd_ok(dzt, z_hat, g, s), dz)
    }
    fn bwd_no_var_term(
        dzt: ArrayView2<f64>,
        z_hat: ArrayView2<f64>,
        g: ArrayView2<f64>,
        s: ArrayView2<f64>,
    ) -> Three {
        let m = dzt.ncols() as f64;
        let dz_hat = &dzt * &g;
        let dz = (&dz_hat * m - &sum1(&dz_hat)) * s / m;
        with_dz(bwd_ok(dzt, z_hat, g, s), dz)
    }
    fn bwd_naive(
        dzt: ArrayView2<f64>,
        z_hat: ArrayView2<f64>,
        g: ArrayView2<f64>,
        s: ArrayView2<f64>,
    ) -> Three {
        with_dz(bwd_ok(dzt, z_hat, g, s), &dzt * &g * s)
    }
    fn bwd_no_gamma(
        dzt: ArrayView2<f64>,
        z_hat: ArrayView2<f64>,
        g: ArrayView2<f64>,
        s: ArrayView2<f64>,
    ) -> Three {
        let ones = Array2::ones(g.dim());
        with_dz(bwd_ok(dzt, z_hat, g, s), bwd_ok(dzt, z_hat, ones.view(), s).0)
    }
    fn bwd_wrong_axis(
        dzt: ArrayView2<f64>,
        z_hat: ArrayView2<f64>,
        g: ArrayView2<f64>,
        s: ArrayView2<f64>,
    ) -> Three {
        let m = dzt.ncols() as f64;
        let col = |x: &Array2<f64>| x.sum_axis(Axis(0)).insert_axis(Axis(0));
        let dz_hat = &dzt * &g;
        let dz = (&dz_hat * m - &col(&dz_hat) - &z_hat * &col(&(&dz_hat * &z_hat))) * s / m;
        with_dz(bwd_ok(dzt, z_hat, g, s), dz)
    }
    fn bwd_dbeta_mean(
        dzt: ArrayView2<f64>,
        z_hat: ArrayView2<f64>,
        g: ArrayView2<f64>,
        s: ArrayView2<f64>,
    ) -> Three {
        let (dz, dgamma, dbeta) = bwd_ok(dzt, z_hat, g, s);
        (dz, dgamma, dbeta / dzt.ncols() as f64)
    }
    fn bwd_dgamma_gamma(
        dzt: ArrayView2<f64>,
        z_hat: ArrayView2<f64>,
        g: ArrayView2<f64>,
        s: ArrayView2<f64>,
    ) -> Three {
        let (dz, dgamma, dbeta) = bwd_ok(dzt, z_hat, g, s);
        (dz, dgamma * g, dbeta)
    }
    fn bwd_dgamma_row(
        dzt: ArrayView2<f64>,
        z_hat: ArrayView2<f64>,
        g: ArrayView2<f64>,
        s: ArrayView2<f64>,
    ) -> Three {
        let (dz, dgamma, dbeta) = bwd_ok(dzt, z_hat, g, s);
        (dz, dgamma.reversed_axes(), dbeta)
    }
    fn bwd_panics(
        dzt: ArrayView2<f64>,
        _z: ArrayView2<f64>,
        g: ArrayView2<f64>,
        _s: ArrayView2<f64>,
    ) -> Three {
        let product = dzt.dot(&g);
        (product.clone(), product.clone(), product)
    }

    #[test]
    fn batch_norm_backward_grader() {
        let r = batch_norm_backward(bwd_ok);
        assert!(r.is_passed() && r.total == 5, "{r}");
        let r = batch_norm_backward(bwd_expanded);
        assert!(r.is_passed(), "{r}");
        // Case 1, the gradient check, already catches every wrong dZ.
        for (bug, hint) in [
            (bwd_no_mean_term as BatchNormBackward, "through μ"),
            (bwd_no_var_term, "through σ²"),
            (bwd_naive, "as constants"),
            (bwd_no_gamma, "multiply by γ first"),
            (bwd_wrong_axis, "axis 1"),
        ] {
            let r = batch_norm_backward(bug);
            assert!(r.hint().unwrap().contains(hint), "{hint}: {r}");
            let text = r.to_string();
            assert!(
                text.contains("case 1 (gradient check") && text.contains("dZ (central differences)"),
                "{r}"
            );
        }
        assert!(batch_norm_backward(bwd_dbeta_mean).hint().unwrap().contains("no 1/m"));
        assert!(batch_norm_backward(bwd_dgamma_gamma).hint().unwrap().contains("belongs to dẐ"));
        let r = batch_norm_backward(bwd_dgamma_row);
        assert!(
            !r.is_passed()
                && r.to_string().contains("dγ (central differences): expected shape (2, 1), got (1, 2)")
        );
        assert!(matches!(batch_norm_backward(bwd_panics).outcome, Outcome::Panicked { case: 1, .. }));
    }

    #[test]
    fn the_gradient_check_case_agrees_with_the_crate() {
        let mut r = rng(5);
        let bn = layer(3, 1e-5, false, &mut r);
        let z = random(3, 4, 2.0, &mut r);
        let dz_tilde = random(3, 4, 1.5, &mut r);
        let (_, cache) = bn.forward_train(z.view()).unwrap();
        let exact = bn.backward(&cache, dz_tilde.view()).unwrap();
        let (dz, dgamma, dbeta) = central_differences(&bn, &z, &dz_tilde);
        for (numeric, exact) in [(dz, exact.dz), (dgamma, exact.dgamma), (dbeta, exact.dbeta)] {
            assert!(compare_within(exact.view(), numeric.view(), &[], DIFFERENCE_TOLERANCE / 100.0).is_ok());
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn eval_with(
        z: ArrayView2<f64>,
        g: ArrayView2<f64>,
        b: ArrayView2<f64>,
        mean: ArrayView2<f64>,
        var: ArrayView2<f64>,
        e: f64,
        root: bool,
        scale: bool,
    ) -> Array2<f64> {
        let z_hat = (&z - &mean) / &var.mapv(|v| if root { (v + e).sqrt() } else { v + e });
        if scale { z_hat * g + b } else { z_hat }
    }
    fn eval_ok(
        z: ArrayView2<f64>,
        g: ArrayView2<f64>,
        b: ArrayView2<f64>,
        mean: ArrayView2<f64>,
        var: ArrayView2<f64>,
        e: f64,
    ) -> Array2<f64> {
        eval_with(z, g, b, mean, var, e, true, true)
    }
    fn eval_no_root(
        z: ArrayView2<f64>,
        g: ArrayView2<f64>,
        b: ArrayView2<f64>,
        mean: ArrayView2<f64>,
        var: ArrayView2<f64>,
        e: f64,
    ) -> Array2<f64> {
        eval_with(z, g, b, mean, var, e, false, true)
    }
    fn eval_no_affine(
        z: ArrayView2<f64>,
        g: ArrayView2<f64>,
        b: ArrayView2<f64>,
        mean: ArrayView2<f64>,
        var: ArrayView2<f64>,
        e: f64,
    ) -> Array2<f64> {
        eval_with(z, g, b, mean, var, e, true, false)
    }
    fn eval_no_eps(
        z: ArrayView2<f64>,
        g: ArrayView2<f64>,
        b: ArrayView2<f64>,
        mean: ArrayView2<f64>,
        var: ArrayView2<f64>,
        _e: f64,
    ) -> Array2<f64> {
        eval_with(z, g, b, mean, var, 0.0, true, true)
    }
    /// The training step at evaluation: the batch's μ and σ².
    fn eval_batch(
        z: ArrayView2<f64>,
        g: ArrayView2<f64>,
        b: ArrayView2<f64>,
        _mean: ArrayView2<f64>,
        _var: ArrayView2<f64>,
        e: f64,
    ) -> Array2<f64> {
        fwd_ok(z, g, b, e).0
    }
    fn eval_panics(
        z: ArrayView2<f64>,
        _g: ArrayView2<f64>,
        _b: ArrayView2<f64>,
        _mean: ArrayView2<f64>,
        var: ArrayView2<f64>,
        _e: f64,
    ) -> Array2<f64> {
        z.dot(&var)
    }

    #[test]
    fn batch_norm_eval_grader() {
        let r = batch_norm_eval(eval_ok);
        assert!(r.is_passed() && r.total == 3, "{r}");
        assert!(batch_norm_eval(eval_batch).hint().unwrap().contains("running averages"));
        assert!(batch_norm_eval(eval_no_root).hint().unwrap().contains("square root"));
        assert!(batch_norm_eval(eval_no_affine).hint().unwrap().contains("γ ⊙ Ẑ + β"));
        assert!(batch_norm_eval(eval_no_eps).hint().unwrap().contains("Add ε"));
        assert!(matches!(batch_norm_eval(eval_panics).outcome, Outcome::Panicked { case: 1, .. }));
    }

    #[test]
    fn a_batch_of_one_uses_the_running_averages() {
        // Case 2 has m = 1: the batch's own statistics give Z̃ = β there, the grader's hint too.
        fn batch_when_possible(
            z: ArrayView2<f64>,
            g: ArrayView2<f64>,
            b: ArrayView2<f64>,
            mean: ArrayView2<f64>,
            var: ArrayView2<f64>,
            e: f64,
        ) -> Array2<f64> {
            if z.ncols() == 1 { Array2::zeros(z.dim()) + b } else { eval_ok(z, g, b, mean, var, e) }
        }
        let r = batch_norm_eval(batch_when_possible);
        assert!(matches!(r.outcome, Outcome::Wrong { case: 2, .. }), "{r}");
        assert!(r.hint().unwrap().contains("running averages"), "{r}");
    }
}
