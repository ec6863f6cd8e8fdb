//! Exercise 6, batch normalization: the training forward step (Ẑ, Z̃ and s = 1/√(σ² + ε) of
//! the batch), the backward step through μ and σ² (checked against `ann_core` and against
//! central differences), and the evaluation step with the running averages.

use crate::forward::prefix;
use crate::grade::{
    Grader, Mistake, attempt, compare, gradient_check, parts, random, rng, run_mistakes, shape,
};
use crate::report::Report;
use ann_core::{BatchNorm, BatchNormConfig, NormalizationCache};
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
fn row_sum(x: ArrayView2<f64>) -> Array2<f64> {
    x.sum_axis(Axis(1)).insert_axis(Axis(1))
}

/// Σᵢ X[i, :] as a (1, m) row: the sum along the wrong axis.
fn column_sum(x: ArrayView2<f64>) -> Array2<f64> {
    x.sum_axis(Axis(0)).insert_axis(Axis(0))
}

/// What the forward step returns, (Z̃, Ẑ, s), and the backward step, (dZ, dγ, dβ).
type Three = (Array2<f64>, Array2<f64>, Array2<f64>);

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
    cache: NormalizationCache,
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

/// The training step on one batch, computed right: a planted mistake replaces one of its
/// outputs (Z̃, Ẑ, s) by a wrong one made from these.
struct TrainStep {
    m: f64,
    centered: Array2<f64>,
    var: Array2<f64>,
    s: Array2<f64>,
    z_hat: Array2<f64>,
    z_tilde: Array2<f64>,
}

impl TrainStep {
    fn new(z: ArrayView2<f64>, gamma: ArrayView2<f64>, beta: ArrayView2<f64>, epsilon: f64) -> Self {
        let m = z.ncols() as f64;
        let centered = &z - &(row_sum(z) / m);
        let var = row_sum(centered.mapv(|v| v * v).view()) / m;
        let s = var.mapv(|v| 1.0 / (v + epsilon).sqrt());
        let z_hat = &centered * &s;
        let z_tilde = &z_hat * &gamma + beta;
        TrainStep { m, centered, var, s, z_hat, z_tilde }
    }

    fn with_s(self, wrong: impl FnOnce(&Self) -> Array2<f64>) -> Three {
        let s = wrong(&self);
        (self.z_tilde, self.z_hat, s)
    }

    fn with_z_hat(self, wrong: impl FnOnce(&Self) -> Array2<f64>) -> Three {
        let z_hat = wrong(&self);
        (self.z_tilde, z_hat, self.s)
    }

    fn with_z_tilde(self, wrong: impl FnOnce(&Self) -> Array2<f64>) -> Three {
        (wrong(&self), self.z_hat, self.s)
    }
}

/// Z − μ and s with μ and σ² along the wrong axis: one per example (column), shape (1, m).
fn per_example(z: ArrayView2<f64>, epsilon: f64) -> (Array2<f64>, Array2<f64>) {
    let n = z.nrows() as f64;
    let centered = &z - &(column_sum(z) / n);
    let s = (column_sum(centered.mapv(|v| v * v).view()) / n).mapv(|v| 1.0 / (v + epsilon).sqrt());
    (centered, s)
}

const NO_EPSILON: &str =
    "A unit with no spread has σ² = 0, and 1/√0 is inf: ε keeps the division finite. | s = 1/√(σ² + ε).";
const PER_UNIT: &str = "Each unit (row) is normalized over the examples of the batch (columns), not each example \
                        over its units. | μ and σ² are means along axis 1, one per unit, shape (n, 1).";

/// [`batch_norm_forward`]'s planted mistakes, each in one output (named first).
const BATCH_NORM_FORWARD: &[Mistake<BatchNormForward>] = &[
    Mistake {
        name: "s: no ε",
        hint: NO_EPSILON,
        wrong: |z, g, b, e| TrainStep::new(z, g, b, e).with_s(|k| k.var.mapv(|v| 1.0 / v.sqrt())),
    },
    Mistake {
        name: "s: 1/(m − 1)",
        hint: "σ² is the batch's own variance, not an estimate of a population's (no 1/(m − 1)). | σ² = (1/m) Σⱼ (Z − μ)².",
        wrong: |z, g, b, e| {
            TrainStep::new(z, g, b, e).with_s(|k| {
                (row_sum(k.centered.mapv(|v| v * v).view()) / (k.m - 1.0)).mapv(|v| 1.0 / (v + e).sqrt())
            })
        },
    },
    Mistake {
        name: "s: √(σ² + ε)",
        hint: "s is the inverse of the standard deviation, not the standard deviation. | s = 1/√(σ² + ε).",
        wrong: |z, g, b, e| TrainStep::new(z, g, b, e).with_s(|k| k.var.mapv(|v| (v + e).sqrt())),
    },
    Mistake {
        name: "s: no root",
        hint: "σ² is a variance: its square root is the standard deviation. | s = 1/√(σ² + ε).",
        wrong: |z, g, b, e| TrainStep::new(z, g, b, e).with_s(|k| k.var.mapv(|v| 1.0 / (v + e))),
    },
    Mistake {
        name: "s: mean of Z²",
        hint: "The variance measures the spread around the mean μ, not around 0. | σ² = (1/m) Σⱼ (Z − μ)².",
        wrong: |z, g, b, e| {
            TrainStep::new(z, g, b, e)
                .with_s(|k| (row_sum(z.mapv(|v| v * v).view()) / k.m).mapv(|v| 1.0 / (v + e).sqrt()))
        },
    },
    Mistake {
        name: "s: per example",
        hint: PER_UNIT,
        wrong: |z, g, b, e| TrainStep::new(z, g, b, e).with_s(|_| per_example(z, e).1),
    },
    Mistake {
        name: "Ẑ: not centered",
        hint: "Ẑ must have mean 0: center Z on μ before scaling. | Ẑ = (Z − μ) ⊙ s.",
        wrong: |z, g, b, e| TrainStep::new(z, g, b, e).with_z_hat(|k| &z * &k.s),
    },
    Mistake {
        name: "Ẑ: not scaled",
        hint: "Ẑ must have variance 1: scale after centering. | Ẑ = (Z − μ) ⊙ s with s = 1/√(σ² + ε).",
        wrong: |z, g, b, e| TrainStep::new(z, g, b, e).with_z_hat(|k| k.centered.clone()),
    },
    Mistake {
        name: "Ẑ: over σ² + ε",
        hint: "Divide by the standard deviation, not by the variance. | Ẑ = (Z − μ) / √(σ² + ε).",
        wrong: |z, g, b, e| TrainStep::new(z, g, b, e).with_z_hat(|k| &k.centered / &k.var.mapv(|v| v + e)),
    },
    Mistake {
        name: "Ẑ: no ε",
        hint: NO_EPSILON,
        wrong: |z, g, b, e| TrainStep::new(z, g, b, e).with_z_hat(|k| &k.centered / &k.var.mapv(f64::sqrt)),
    },
    Mistake {
        name: "Ẑ: per example",
        hint: PER_UNIT,
        wrong: |z, g, b, e| {
            TrainStep::new(z, g, b, e).with_z_hat(|_| {
                let (centered, s) = per_example(z, e);
                centered * s
            })
        },
    },
    Mistake {
        name: "Z̃: γ and β swapped",
        hint: "γ scales and β shifts: they are swapped. | Z̃ = γ ⊙ Ẑ + β.",
        wrong: |z, g, b, e| TrainStep::new(z, g, b, e).with_z_tilde(|k| &k.z_hat * &b + g),
    },
    Mistake {
        name: "Z̃: no β",
        hint: "The learned shift β is missing. | Z̃ = γ ⊙ Ẑ + β.",
        wrong: |z, g, b, e| TrainStep::new(z, g, b, e).with_z_tilde(|k| &k.z_hat * &g),
    },
    Mistake {
        name: "Z̃: no γ",
        hint: "The learned scale γ is missing. | Z̃ = γ ⊙ Ẑ + β.",
        wrong: |z, g, b, e| TrainStep::new(z, g, b, e).with_z_tilde(|k| &k.z_hat + &b),
    },
    Mistake {
        name: "Z̃: from Z",
        hint: "γ and β act on the normalized Ẑ, not on Z itself. | Z̃ = γ ⊙ Ẑ + β.",
        wrong: |z, g, b, e| TrainStep::new(z, g, b, e).with_z_tilde(|_| &z * &g + b),
    },
    Mistake {
        name: "Z̃: neither γ nor β",
        hint: "The learned scale and shift are missing. | Z̃ = γ ⊙ Ẑ + β.",
        wrong: |z, g, b, e| TrainStep::new(z, g, b, e).with_z_tilde(|k| k.z_hat.clone()),
    },
];

/// Checks Z̃ = γ ⊙ (Z − μ) / √(σ² + ε) + β with the batch's μ and σ², and what the backward
/// step needs: Ẑ and s = 1/√(σ² + ε), against [`BatchNorm::forward_train`].
pub fn batch_norm_forward(f: BatchNormForward) -> Report {
    let cases = training_cases(71);
    let mut g = Grader::new("batch_norm_forward", cases.len());
    for Case { bn, z, z_tilde, cache } in &cases {
        let (gamma, beta, epsilon) = (&bn.gamma, &bn.beta, bn.config.epsilon);
        let inputs = || {
            format!(
                "Z {}, γ {}, β {}, ε = {}",
                shape(z.view()),
                shape(gamma.view()),
                shape(beta.view()),
                epsilon_str(epsilon)
            )
        };
        let call = |f: BatchNormForward| f(z.view(), gamma.view(), beta.view(), epsilon);
        g.explain(
            vec![("Z", z.dim()), ("γ", gamma.dim()), ("β", beta.dim())],
            Some(format!(
                "Z is {}; μ, σ², s, γ and β are columns {}, one entry per unit, broadcast over the m columns: a sum \
                 over the examples must keep its axis (a column), not become a row.",
                shape(z.view()),
                shape(gamma.view())
            )),
        );
        let wrong = run_mistakes(BATCH_NORM_FORWARD, call);
        let check = |(gzt, gzh, gs): Three| {
            compare(cache.inv_std.view(), gs.view(), &parts(&wrong, |r| Some(&r.2)))
                .map_err(|w| prefix(w, "s = 1/√(σ² + ε)"))?;
            compare(cache.z_hat.view(), gzh.view(), &parts(&wrong, |r| Some(&r.1)))
                .map_err(|w| prefix(w, "Ẑ"))?;
            compare(z_tilde.view(), gzt.view(), &parts(&wrong, |r| Some(&r.0))).map_err(|w| prefix(w, "Z̃"))
        };
        if let Err(report) = g.case(inputs, attempt(|| call(f)), check) {
            return report;
        }
    }
    g.finish()
}

/// dZ of the compact formula for given dẐ, Ẑ, s and the sums over `sum` (axis 1 when right).
fn compact_dz(
    dz_hat: ArrayView2<f64>,
    z_hat: ArrayView2<f64>,
    s: ArrayView2<f64>,
    sum: fn(ArrayView2<f64>) -> Array2<f64>,
) -> Array2<f64> {
    let m = dz_hat.ncols() as f64;
    (&dz_hat * m - &sum(dz_hat) - &z_hat * &sum((&dz_hat * &z_hat).view())) * s / m
}

/// The backward step computed right from its inputs: a planted mistake replaces one of its
/// outputs (dZ, dγ, dβ) by a wrong one made from these.
struct BackwardStep {
    m: f64,
    dz_tilde: Array2<f64>,
    z_hat: Array2<f64>,
    s: Array2<f64>,
    dz_hat: Array2<f64>,
    dz: Array2<f64>,
    dgamma: Array2<f64>,
    dbeta: Array2<f64>,
}

impl BackwardStep {
    fn new(
        dz_tilde: ArrayView2<f64>,
        z_hat: ArrayView2<f64>,
        gamma: ArrayView2<f64>,
        s: ArrayView2<f64>,
    ) -> Self {
        let dz_hat = &dz_tilde * &gamma;
        BackwardStep {
            m: dz_tilde.ncols() as f64,
            dz: compact_dz(dz_hat.view(), z_hat, s, row_sum),
            dgamma: row_sum((&dz_tilde * &z_hat).view()),
            dbeta: row_sum(dz_tilde),
            dz_tilde: dz_tilde.to_owned(),
            z_hat: z_hat.to_owned(),
            s: s.to_owned(),
            dz_hat,
        }
    }

    fn with_dz(self, wrong: impl FnOnce(&Self) -> Array2<f64>) -> Three {
        (wrong(&self), self.dgamma, self.dbeta)
    }

    fn with_dgamma(self, wrong: impl FnOnce(&Self) -> Array2<f64>) -> Three {
        let dgamma = wrong(&self);
        (self.dz, dgamma, self.dbeta)
    }

    fn with_dbeta(self, wrong: impl FnOnce(&Self) -> Array2<f64>) -> Three {
        let dbeta = wrong(&self);
        (self.dz, self.dgamma, dbeta)
    }
}

const SUMS: &str = "γ and β are shared by the examples of the batch: their gradients sum over the examples, one per unit. | Σⱼ over the columns (axis 1), shape (n, 1).";

/// [`batch_norm_backward`]'s planted mistakes, each in one output (named first).
const BATCH_NORM_BACKWARD: &[Mistake<BatchNormBackward>] = &[
    Mistake {
        name: "dβ: 1/m",
        hint: "β is shared by the m examples: its gradient is a plain sum of theirs, any averaging is already in dZ̃. | dβ = Σⱼ dZ̃, no 1/m.",
        wrong: |dzt, zh, g, s| BackwardStep::new(dzt, zh, g, s).with_dbeta(|k| row_sum(dzt) / k.m),
    },
    Mistake {
        name: "dβ: per example",
        hint: SUMS,
        wrong: |dzt, zh, g, s| BackwardStep::new(dzt, zh, g, s).with_dbeta(|_| column_sum(dzt)),
    },
    Mistake {
        name: "dβ: with γ",
        hint: "β is added after γ multiplies: γ does not stand between β and J. | dβ = Σⱼ dZ̃, no γ.",
        wrong: |dzt, zh, g, s| BackwardStep::new(dzt, zh, g, s).with_dbeta(|k| row_sum(k.dz_hat.view())),
    },
    Mistake {
        name: "dγ: no Ẑ",
        hint: "γ multiplies Ẑ: the derivative of γ·Ẑ with respect to γ is Ẑ. | dγ = Σⱼ dZ̃ ⊙ Ẑ.",
        wrong: |dzt, zh, g, s| BackwardStep::new(dzt, zh, g, s).with_dgamma(|_| row_sum(dzt)),
    },
    Mistake {
        name: "dγ: with γ",
        hint: "The derivative of γ·Ẑ with respect to γ has no γ in it. | dγ = Σⱼ dZ̃ ⊙ Ẑ (the γ belongs to dẐ).",
        wrong: |dzt, zh, g, s| {
            BackwardStep::new(dzt, zh, g, s).with_dgamma(|k| row_sum((&k.dz_hat * &k.z_hat).view()))
        },
    },
    Mistake {
        name: "dγ: 1/m",
        hint: "γ is shared by the m examples: its gradient is a plain sum of theirs, any averaging is already in dZ̃. | dγ = Σⱼ dZ̃ ⊙ Ẑ, no 1/m.",
        wrong: |dzt, zh, g, s| BackwardStep::new(dzt, zh, g, s).with_dgamma(|k| &k.dgamma / k.m),
    },
    Mistake {
        name: "dγ: per example",
        hint: SUMS,
        wrong: |dzt, zh, g, s| {
            BackwardStep::new(dzt, zh, g, s).with_dgamma(|k| column_sum((&k.dz_tilde * &k.z_hat).view()))
        },
    },
    Mistake {
        name: "dZ: μ and σ² as constants",
        hint: "That treats μ and σ² as constants: every Z[i, j] also reaches J through the μ and σ² of its \
               row, which every example of the row uses. | Three paths: directly (s dẐ), through μ, and through σ²; \
               dZ = (s/m) ⊙ (m dẐ − Σⱼ dẐ − Ẑ ⊙ Σⱼ dẐ ⊙ Ẑ).",
        wrong: |dzt, zh, g, s| BackwardStep::new(dzt, zh, g, s).with_dz(|k| &k.dz_hat * &k.s),
    },
    Mistake {
        name: "dZ: no path through μ",
        hint: "The path through μ is missing: moving Z[i, j] moves μ_i, which shifts every Ẑ of row i. | ∂μ_i/∂Z[i, j] = 1/m and ∂Ẑ[i, k]/∂μ_i = −s_i: the term −(s/m) Σⱼ dẐ.",
        wrong: |dzt, zh, g, s| {
            BackwardStep::new(dzt, zh, g, s).with_dz(|k| {
                (&k.dz_hat * k.m - &k.z_hat * &row_sum((&k.dz_hat * &k.z_hat).view())) * &k.s / k.m
            })
        },
    },
    Mistake {
        name: "dZ: no path through σ²",
        hint: "The path through σ² is missing: moving Z[i, j] changes σ²_i, which rescales every Ẑ of row i. | The term −(s/m) Ẑ ⊙ Σⱼ (dẐ ⊙ Ẑ).",
        wrong: |dzt, zh, g, s| {
            BackwardStep::new(dzt, zh, g, s)
                .with_dz(|k| (&k.dz_hat * k.m - &row_sum(k.dz_hat.view())) * &k.s / k.m)
        },
    },
    Mistake {
        name: "dZ: no 1/m",
        hint: "Off by the factor m: μ and σ² are means, each example weighs 1/m in them. | dZ = (s/m) ⊙ (m dẐ − Σⱼ dẐ − ...).",
        wrong: |dzt, zh, g, s| BackwardStep::new(dzt, zh, g, s).with_dz(|k| &k.dz * k.m),
    },
    Mistake {
        name: "dZ: no s",
        hint: "Ẑ is Z − μ scaled by s: every path back to Z goes through that scaling. | dZ = (s/m) ⊙ (...).",
        wrong: |dzt, zh, g, s| BackwardStep::new(dzt, zh, g, s).with_dz(|k| &k.dz / &k.s),
    },
    Mistake {
        name: "dZ: no γ",
        hint: "γ stands between Ẑ and J: the gradient reaching Ẑ is scaled by it. | dẐ = γ ⊙ dZ̃.",
        wrong: |dzt, zh, g, s| BackwardStep::new(dzt, zh, g, s).with_dz(|_| compact_dz(dzt, zh, s, row_sum)),
    },
    Mistake {
        name: "dZ: per example",
        hint: SUMS,
        wrong: |dzt, zh, g, s| {
            BackwardStep::new(dzt, zh, g, s).with_dz(|k| compact_dz(k.dz_hat.view(), zh, s, column_sum))
        },
    },
];

/// Step of the central differences in the gradient check.
const H: f64 = 1e-5;

/// dZ, dγ, dβ by central differences of J(Z, γ, β) = Σ R ⊙ Z̃, whose dZ̃ is R, through the
/// crate's training forward step.
fn central_differences(
    bn: &BatchNorm,
    z: &Array2<f64>,
    r: &Array2<f64>,
    h: f64,
) -> (Array2<f64>, Array2<f64>, Array2<f64>) {
    let j = |bn: &BatchNorm, z: &Array2<f64>| {
        bn.forward_train(z.view()).map(|(zt, _)| (&zt * r).sum()).unwrap_or(f64::NAN)
    };
    let dz = Array2::from_shape_fn(z.dim(), |(i, k)| {
        let (mut up, mut down) = (z.clone(), z.clone());
        up[[i, k]] += h;
        down[[i, k]] -= h;
        (j(bn, &up) - j(bn, &down)) / (2.0 * h)
    });
    let probe = |beta: bool| {
        Array2::from_shape_fn(bn.gamma.dim(), |(i, _)| {
            let (mut up, mut down) = (bn.clone(), bn.clone());
            let (u, d) = if beta { (&mut up.beta, &mut down.beta) } else { (&mut up.gamma, &mut down.gamma) };
            u[[i, 0]] += h;
            d[[i, 0]] -= h;
            (j(&up, z) - j(&down, z)) / (2.0 * h)
        })
    };
    (dz, probe(false), probe(true))
}

/// Checks the backward step of batch normalization, (dZ, dγ, dβ) from dZ̃, written from the
/// learner's own derivation: every case is a gradient check, whose expected values are central
/// differences of J = Σ R ⊙ Z̃ (so dZ̃ = R) through the crate's forward step; a mismatch lists
/// the entries that disagree.
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
    for Case { bn, z, cache, .. } in &cases {
        let dz_tilde = random(z.nrows(), z.ncols(), 1.5, &mut r);
        let (z_hat, s, gamma) = (&cache.z_hat, &cache.inv_std, &bn.gamma);
        // A unit with no spread has s = 1/√ε ≈ 316, and J's third derivative grows like s³: the
        // step shrinks with the largest s, so that the truncation h² s³ stays below the tolerance.
        let s_max = s.iter().fold(1.0_f64, |m, &v| m.max(v));
        let h = H / s_max;
        let expected = central_differences(bn, z, &dz_tilde, h);
        let inputs = || {
            format!(
                "gradient check, J = Σ R ⊙ Z̃ so dZ̃ = R, central differences with h = {h:.0e}: dZ̃ {}, Ẑ {}, γ {}, s {}",
                shape(dz_tilde.view()),
                shape(z_hat.view()),
                shape(gamma.view()),
                shape(s.view())
            )
        };
        let call = |f: BatchNormBackward| f(dz_tilde.view(), z_hat.view(), gamma.view(), s.view());
        g.explain(
            vec![("dZ̃", dz_tilde.dim()), ("Ẑ", z_hat.dim()), ("γ", gamma.dim()), ("s", s.dim())],
            Some(format!(
                "dZ̃ and Ẑ are {}; γ, s and every sum over the examples are columns {}, broadcast over the m columns.",
                shape(z_hat.view()),
                shape(gamma.view())
            )),
        );
        let wrong = run_mistakes(BATCH_NORM_BACKWARD, call);
        let check = |(gdz, gdgamma, gdbeta): Three| {
            gradient_check(expected.2.view(), gdbeta.view(), &parts(&wrong, |r| Some(&r.2)))
                .map_err(|w| prefix(w, "dβ (central differences)"))?;
            gradient_check(expected.1.view(), gdgamma.view(), &parts(&wrong, |r| Some(&r.1)))
                .map_err(|w| prefix(w, "dγ (central differences)"))?;
            gradient_check(expected.0.view(), gdz.view(), &parts(&wrong, |r| Some(&r.0)))
                .map_err(|w| prefix(w, "dZ (central differences)"))
        };
        if let Err(report) = g.case(inputs, attempt(|| call(f)), check) {
            return report;
        }
    }
    g.finish()
}

/// [`batch_norm_eval`]'s planted mistakes.
const BATCH_NORM_EVAL: &[Mistake<BatchNormEval>] = &[
    Mistake {
        name: "the batch's statistics",
        hint: "A prediction must not depend on the other examples of its batch: at evaluation the running \
               averages replace the batch's statistics. | Ẑ = (Z − μ_run) / √(σ²_run + ε).",
        // For a batch of one, Ẑ = 0 · (1/√ε) and Z̃ = β.
        wrong: |z, g, b, _, _, e| TrainStep::new(z, g, b, e).z_tilde,
    },
    Mistake {
        name: "no ε",
        hint: "ε keeps the division finite, at evaluation as in training. | √(σ²_run + ε).",
        wrong: |z, g, b, mean, var, _| (&z - &mean) / &var.mapv(f64::sqrt) * g + b,
    },
    Mistake {
        name: "no root",
        hint: "σ²_run is a variance: divide by the standard deviation. | √(σ²_run + ε).",
        wrong: |z, g, b, mean, var, e| (&z - &mean) / &var.mapv(|v| v + e) * g + b,
    },
    Mistake {
        name: "not centered",
        hint: "Center Z first, on the running mean. | Z − μ_run.",
        wrong: |z, g, b, _, var, e| &z / &var.mapv(|v| (v + e).sqrt()) * g + b,
    },
    Mistake {
        name: "neither γ nor β",
        hint: "The learned scale and shift apply at evaluation too. | γ ⊙ Ẑ + β.",
        wrong: |z, _, _, mean, var, e| (&z - &mean) / &var.mapv(|v| (v + e).sqrt()),
    },
];

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
        let call =
            |f: BatchNormEval| f(z.view(), gamma.view(), beta.view(), mean.view(), var.view(), epsilon);
        if let Err(report) = g.array_case(inputs, expected.view(), BATCH_NORM_EVAL, call, f) {
            return report;
        }
    }
    g.finish()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::grade::tests::check_table;
    use crate::report::Outcome;

    fn fwd_ok(z: ArrayView2<f64>, g: ArrayView2<f64>, b: ArrayView2<f64>, e: f64) -> Three {
        let k = TrainStep::new(z, g, b, e);
        (k.z_tilde, k.z_hat, k.s)
    }
    fn bwd_ok(dzt: ArrayView2<f64>, z_hat: ArrayView2<f64>, g: ArrayView2<f64>, s: ArrayView2<f64>) -> Three {
        let k = BackwardStep::new(dzt, z_hat, g, s);
        (k.dz, k.dgamma, k.dbeta)
    }
    fn eval_ok(
        z: ArrayView2<f64>,
        g: ArrayView2<f64>,
        b: ArrayView2<f64>,
        mean: ArrayView2<f64>,
        var: ArrayView2<f64>,
        e: f64,
    ) -> Array2<f64> {
        (&z - &mean) / &var.mapv(|v| (v + e).sqrt()) * g + b
    }

    /// This file's graders, each with a reference implementation and its planted mistakes.
    pub(crate) fn tables() -> Vec<String> {
        [
            check_table(batch_norm_forward, BATCH_NORM_FORWARD, fwd_ok),
            check_table(batch_norm_backward, BATCH_NORM_BACKWARD, bwd_ok),
            check_table(batch_norm_eval, BATCH_NORM_EVAL, eval_ok),
        ]
        .concat()
    }

    /// Right too: σ² = E[Z²] − μ², Ẑ divided by √(σ² + ε) rather than multiplied by s.
    fn fwd_other_form(z: ArrayView2<f64>, g: ArrayView2<f64>, b: ArrayView2<f64>, e: f64) -> Three {
        let mu = z.mean_axis(Axis(1)).unwrap().insert_axis(Axis(1));
        let var = z.mapv(|v| v * v).mean_axis(Axis(1)).unwrap().insert_axis(Axis(1)) - &mu * &mu;
        let std = var.mapv(|v| (v + e).sqrt());
        let z_hat = (&z - &mu) / &std;
        (&z_hat * &g + b, z_hat, std.mapv(|v| 1.0 / v))
    }

    /// How a report names the output an entry named "s: ...", "dZ: ..." is wrong in.
    fn output_of(mistake: &str) -> &str {
        match mistake.split(':').next().unwrap_or_default() {
            "s" => "s = 1/√(σ² + ε): ",
            "Ẑ" => "Ẑ: ",
            "Z̃" => "Z̃: ",
            gradient => gradient,
        }
    }

    #[test]
    fn batch_norm_forward_grader() {
        let r = batch_norm_forward(fwd_ok);
        assert!(r.is_passed() && r.total == 5, "{r}");
        let r = batch_norm_forward(fwd_other_form);
        assert!(r.is_passed(), "{r}");
        for mistake in BATCH_NORM_FORWARD {
            let r = batch_norm_forward(mistake.wrong);
            assert!(r.to_string().contains(output_of(mistake.name)), "{}: {r}", mistake.name);
        }
        let r =
            batch_norm_forward(BATCH_NORM_FORWARD.iter().find(|m| m.name == "s: per example").unwrap().wrong);
        assert!(r.to_string().contains("expected shape (3, 1)"), "{r}");
        let r = batch_norm_forward(|z, g, b, e| {
            let (zt, zh, s) = fwd_ok(z, g, b, e);
            (zt, zh, Array2::zeros(z.dim()) + &s)
        });
        assert!(!r.is_passed() && r.to_string().contains("expected shape (3, 1), got (3, 4)"), "{r}");
        let out_of_bounds = batch_norm_forward(|z, _, _, _| {
            let row = z[[z.nrows(), 0]];
            (Array2::from_elem((1, 1), row), Array2::zeros((1, 1)), Array2::zeros((1, 1)))
        });
        assert!(matches!(out_of_bounds.outcome, Outcome::Panicked { case: 1, .. }));
        assert_eq!(
            batch_norm_forward(|_, _, _, _| todo!("Ẑ = (Z − μ) ⊙ s")).outcome,
            Outcome::NotImplemented
        );
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
        let dz = &dz_hat * &s
            - &row_sum(dz_hat.view()) * &s / m
            - &z_hat * &row_sum((&dz_hat * &z_hat).view()) * s / m;
        (dz, dgamma, dbeta)
    }

    #[test]
    fn batch_norm_backward_grader() {
        let r = batch_norm_backward(bwd_ok);
        assert!(r.is_passed() && r.total == 5, "{r}");
        let r = batch_norm_backward(bwd_expanded);
        assert!(r.is_passed(), "{r}");
        // Case 1, the gradient check, already catches every planted mistake.
        for mistake in BATCH_NORM_BACKWARD {
            let text = batch_norm_backward(mistake.wrong).to_string();
            let output = format!("{} (central differences)", output_of(mistake.name));
            assert!(
                text.contains("case 1 (gradient check") && text.contains(&output),
                "{}: {text}",
                mistake.name
            );
        }
        let r = batch_norm_backward(|dzt, z_hat, g, s| {
            let (dz, dgamma, dbeta) = bwd_ok(dzt, z_hat, g, s);
            (dz, dgamma.reversed_axes(), dbeta)
        });
        assert!(
            !r.is_passed()
                && r.to_string().contains("dγ (central differences): expected shape (2, 1), got (1, 2)")
        );
        let shapes_mismatch = batch_norm_backward(|dzt, _, g, _| {
            let product = dzt.dot(&g);
            (product.clone(), product.clone(), product)
        });
        assert!(matches!(shapes_mismatch.outcome, Outcome::Panicked { case: 1, .. }));
        let text = shapes_mismatch.to_string();
        // dZ̃ and Ẑ share a shape, and so do γ and s: the report says which arrays it can be.
        assert!(text.contains("in the matrix product (dZ̃ or Ẑ)·(γ or s): (dZ̃ or Ẑ) is (2, 3)"), "{text}");
    }

    #[test]
    fn the_gradient_check_case_agrees_with_the_crate() {
        let mut r = rng(5);
        let bn = layer(3, 1e-5, false, &mut r);
        let z = random(3, 4, 2.0, &mut r);
        let dz_tilde = random(3, 4, 1.5, &mut r);
        let (_, cache) = bn.forward_train(z.view()).unwrap();
        let exact = bn.backward(&cache, dz_tilde.view()).unwrap();
        let (dz, dgamma, dbeta) = central_differences(&bn, &z, &dz_tilde, H);
        for (numeric, exact) in [(dz, exact.dz), (dgamma, exact.dgamma), (dbeta, exact.dbeta)] {
            let tolerance = crate::grade::GRADIENT_CHECK_TOLERANCE / 100.0;
            assert!(crate::grade::compare_within(exact.view(), numeric.view(), &[], tolerance).is_ok());
        }
    }

    #[test]
    fn batch_norm_eval_grader() {
        let r = batch_norm_eval(eval_ok);
        assert!(r.is_passed() && r.total == 3, "{r}");
        let shapes_mismatch = batch_norm_eval(|z, _, _, _, var, _| z.dot(&var));
        assert!(matches!(shapes_mismatch.outcome, Outcome::Panicked { case: 1, .. }));
    }

    #[test]
    fn a_batch_of_one_uses_the_running_averages() {
        // Case 2 has m = 1: the batch's own statistics give Z̃ = β there, the grader's hint too.
        let r = batch_norm_eval(|z, g, b, mean, var, e| {
            if z.ncols() == 1 { Array2::zeros(z.dim()) + b } else { eval_ok(z, g, b, mean, var, e) }
        });
        assert!(matches!(r.outcome, Outcome::Wrong { case: 2, .. }), "{r}");
        assert!(r.hint().unwrap().contains("running averages"), "{r}");
    }
}
