//! The capstone: the learner's functions of exercises 1–6 assembled into one `model`, which
//! must train a network as [`ann_core::fit`] does (two moons, the 8×8 digits), then a
//! Fashion-MNIST challenge graded on the validation split (the last 5,000 training images).
//!
//! `fit` computes four roundings in another order than the exercises write the equations
//! (products by 1/m, 1/keep_prob and Adam's 1/(1 − β^t) where the learner divides, and
//! ((1 − β2) dW) dW), so the learner's `model` cannot give its bits: the graders compare within
//! [`MODEL_TOLERANCE`] (1e-10, relative), far above the few units in the last place that
//! separate the reference model below (the solutions' code) from `fit`. With those four
//! roundings done as `fit` does them, the reference model gives `fit`'s bits ([`rounding_report`]).

use crate::grade::{Attempt, Grader, Mistake, Wrong, attempt, close_within, hint_of, run_mistakes};
use crate::report::{FAILED, Outcome, Report, TODO};
use ann_core::dropout::draw_mask;
use ann_core::{
    Activation, Dropout, FashionMnist, History, Init, Layer, Loss, Network, Optimizer, StandardScaler, Task,
    TrainConfig, digits, fit, gather_columns, shuffled_batches, train_test_split, two_moons,
};
use ndarray::{Array2, ArrayView2, Axis, s};
use rand::SeedableRng;
use rand::rngs::ChaCha8Rng;
use std::fmt;
use std::time::Instant;

/// The parameters of a dense network, layer 1 first: (W[l], b[l]), W[l] of shape
/// (n_l, n_{l−1}) and b[l] of shape (n_l, 1).
pub type Params = Vec<(Array2<f64>, Array2<f64>)>;

/// The settings of one run of the learner's `model`: Adam (β1 = 0.9, β2 = 0.999, ε = 1e-8)
/// with learning rate α, mini-batches of `batch_size`, inverted dropout with `keep_prob` on
/// the hidden layers (1: none), one generator `ChaCha8Rng::seed_from_u64(seed)` for the whole
/// run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ModelConfig {
    /// α.
    pub learning_rate: f64,
    /// Examples per mini-batch (the last batch of an epoch may be smaller).
    pub batch_size: usize,
    /// Passes over the training set.
    pub epochs: usize,
    /// keep_prob of every hidden layer; the output layer is never dropped.
    pub keep_prob: f64,
    /// The seed of the run's one generator (batch order and dropout masks).
    pub seed: u64,
}

impl ModelConfig {
    /// The same run for [`fit`]: its [`TrainConfig`] (no L2, no schedule) and Adam(α).
    pub fn for_fit(&self) -> ann_core::Result<(TrainConfig, Optimizer)> {
        let dropout = if self.keep_prob < 1.0 { Dropout::Hidden(self.keep_prob) } else { Dropout::Off };
        let config =
            TrainConfig { batch_size: self.batch_size, seed: self.seed, dropout, ..TrainConfig::default() };
        Ok((config, Optimizer::adam(self.learning_rate)?))
    }
}

/// `fn model(x, y, params, config) -> (the trained params, J on the whole training set after
/// every epoch)`: ReLU hidden layers; a sigmoid output with binary cross-entropy when Y has one
/// row, softmax with cross-entropy otherwise.
pub type Model = fn(ArrayView2<f64>, ArrayView2<f64>, Params, &ModelConfig) -> (Params, Vec<f64>);

/// How far the learner's `model` may be from `fit`, relative to the value (absolute below 1),
/// for every cost J and every trained weight: 1e-10, the course's [`TOLERANCE`](crate::TOLERANCE).
/// The reference model written with the exercises' equations ends within 8e-16 of `fit` on
/// the graded runs, a few units in the last place (the test
/// `the_reference_model_agrees_with_fit_within_the_tolerance` requires less than 1e-12), and
/// every planted slip ends further than 1e-10 from `fit`.
pub const MODEL_TOLERANCE: f64 = crate::grade::TOLERANCE;

/// One graded run: the data, the initial network, the settings.
#[derive(Debug, Clone)]
pub struct ModelCase {
    /// What the run is, e.g. "moons, no dropout".
    pub name: &'static str,
    /// X, one example per column.
    pub x: Array2<f64>,
    /// Y: one row of 0/1 labels, or one-hot columns.
    pub y: Array2<f64>,
    /// The initial weights (He, seeded).
    pub net: Network,
    /// The run's settings.
    pub config: ModelConfig,
}

/// The graded runs: 400 two-moons points on [2, 16, 8, 1] without and with dropout, and the
/// 1,437 standardized training digits (the stratified 80 % of chapter 08) on [64, 32, 10].
pub fn model_cases() -> ann_core::Result<Vec<ModelCase>> {
    let moons = two_moons(400, 0.2, 3)?;
    let moons_net = Network::new(&[2, 16, 8, 1], Activation::Relu, Task::Binary, Init::He, 4)?;
    let data = digits()?;
    let (train, _) = train_test_split(&data, 0.2, 42)?;
    let (_, x_digits) = StandardScaler::fit_transform(train.x.view())?;
    let digits_net = Network::new(&[64, 32, 10], Activation::Relu, Task::MultiClass, Init::He, 5)?;
    let moons_config =
        ModelConfig { learning_rate: 0.01, batch_size: 32, epochs: 20, keep_prob: 1.0, seed: 1 };
    Ok(vec![
        ModelCase {
            name: "moons, no dropout",
            x: moons.x.clone(),
            y: moons.targets(Task::Binary),
            net: moons_net.clone(),
            config: moons_config,
        },
        ModelCase {
            name: "moons, dropout",
            x: moons.x.clone(),
            y: moons.targets(Task::Binary),
            net: moons_net,
            config: ModelConfig { keep_prob: 0.8, seed: 2, ..moons_config },
        },
        ModelCase {
            name: "digits, dropout",
            x: x_digits,
            y: train.targets(Task::MultiClass),
            net: digits_net,
            config: ModelConfig { learning_rate: 1e-3, batch_size: 64, epochs: 8, keep_prob: 0.9, seed: 6 },
        },
    ])
}

/// The (W[l], b[l]) of a network's layers, layer 1 first.
pub fn params_of(net: &Network) -> Params {
    net.layers().iter().map(|l| (l.w.clone(), l.b.clone())).collect()
}

/// The network of dense layers `params`: ReLU hidden layers, a sigmoid output with binary
/// cross-entropy for one output unit, softmax with cross-entropy for several. Errors: no
/// layers, or shapes that do not chain (W[l] (n_l, n_{l−1}), b[l] (n_l, 1)).
pub fn network_of(params: &[(Array2<f64>, Array2<f64>)]) -> ann_core::Result<Network> {
    let last = params.len().saturating_sub(1);
    let binary = params.last().is_some_and(|(w, _)| w.nrows() == 1);
    let layers = params
        .iter()
        .enumerate()
        .map(|(l, (w, b))| {
            let g = match (l == last, binary) {
                (false, _) => Activation::Relu,
                (true, true) => Activation::Sigmoid,
                (true, false) => Activation::Softmax,
            };
            Layer::new(w.clone(), b.clone(), g)
        })
        .collect();
    Network::from_layers(layers, if binary { Loss::BinaryCrossEntropy } else { Loss::CrossEntropy })
}

/// Trains a copy of the case's network with [`fit`]: the trained network and its History.
pub fn fit_case(case: &ModelCase) -> ann_core::Result<(Network, History)> {
    let (config, mut adam) = case.config.for_fit()?;
    let mut net = case.net.clone();
    let history = fit(&mut net, &mut adam, (case.x.view(), case.y.view()), &config, case.config.epochs)?;
    Ok((net, history))
}

/// A typical slip in a hand-written training loop (the planted mistakes of [`model`]).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Slip {
    /// The batches in the order of the data.
    NotShuffled,
    /// The generator seeded again at every epoch.
    Reseeded,
    /// dW and db without 1/m.
    NoOneOverM,
    /// Adam's t counted from 1 again at every epoch.
    StepCountPerEpoch,
    /// No mask on dA[l] on the way back.
    NoMaskBackward,
    /// The epoch's cost with dropout masks drawn.
    CostWithDropout,
}

/// Where a division or a product of three stands, and so how its result rounds.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Order {
    /// As the exercises write the equations: dW = dZ A_prevᵀ / m, A ⊙ D / keep_prob,
    /// m̂ = m / (1 − β1^t), (1 − β2) dW².
    Course,
    /// As `fit` computes them: dZ A_prevᵀ · (1/m), A ⊙ D · (1/keep_prob),
    /// m̂ = m · (1/(1 − β1^t)), ((1 − β2) dW) dW.
    Fit,
}

/// Adam's step for one array (the update rule of exercise 5).
fn adam_step(
    (w, m, v): (&mut Array2<f64>, &mut Array2<f64>, &mut Array2<f64>),
    dw: ArrayView2<f64>,
    t: u64,
    lr: f64,
    order: Order,
) {
    let (beta1, beta2, eps) = (0.9, 0.999, 1e-8);
    let (c1, c2) = (1.0 - f64::powi(beta1, t as i32), 1.0 - f64::powi(beta2, t as i32));
    *m = beta1 * &*m + (1.0 - beta1) * &dw;
    let (m_hat, v_hat) = match order {
        Order::Course => {
            *v = beta2 * &*v + (1.0 - beta2) * &dw.mapv(|d| d * d);
            (&*m / c1, &*v / c2)
        }
        Order::Fit => {
            *v = beta2 * &*v + &dw.mapv(|d| (1.0 - beta2) * d * d);
            (&*m * (1.0 / c1), &*v * (1.0 / c2))
        }
    };
    *w -= &(lr * &m_hat / &v_hat.mapv(|x| x.sqrt() + eps));
}

/// A ⊙ D / keep_prob in the given order.
fn scale_by_mask(a: &Array2<f64>, d: &Array2<f64>, keep: f64, order: Order) -> Array2<f64> {
    match order {
        Order::Course => a * d / keep,
        Order::Fit => a * d * (1.0 / keep),
    }
}

/// Z[l], A[l] (A[0] = X) and D[l] of one forward pass; masks drawn from `rng` when given.
struct Pass {
    z: Vec<Array2<f64>>,
    a: Vec<Array2<f64>>,
    d: Vec<Option<Array2<f64>>>,
}

fn sigmoid(z: ArrayView2<f64>) -> Array2<f64> {
    z.mapv(ann_core::sigmoid)
}

fn softmax(z: ArrayView2<f64>) -> Array2<f64> {
    let mut a = z.to_owned();
    for mut col in a.axis_iter_mut(Axis(1)) {
        let max = col.fold(f64::NEG_INFINITY, |m, &v| m.max(v));
        col.mapv_inplace(|v| (v - max).exp());
        let sum = col.sum();
        col.mapv_inplace(|v| v / sum);
    }
    a
}

fn forward(
    params: &[(Array2<f64>, Array2<f64>)],
    x: ArrayView2<f64>,
    keep: f64,
    rng: Option<&mut ChaCha8Rng>,
    order: Order,
) -> Pass {
    let last = params.len() - 1;
    let mut pass = Pass { z: Vec::new(), a: vec![x.to_owned()], d: Vec::new() };
    let mut rng = rng;
    for (l, (w, b)) in params.iter().enumerate() {
        let z = w.dot(&pass.a[l]) + b;
        let mut a = if l < last {
            z.mapv(|v| v.max(0.0))
        } else if w.nrows() == 1 {
            sigmoid(z.view())
        } else {
            softmax(z.view())
        };
        let mut mask = None;
        if l < last
            && keep < 1.0
            && let Some(r) = rng.as_deref_mut()
        {
            let d = draw_mask(a.nrows(), a.ncols(), keep, r);
            a = scale_by_mask(&a, &d, keep, order);
            mask = Some(d);
        }
        pass.z.push(z);
        pass.a.push(a);
        pass.d.push(mask);
    }
    pass
}

/// J from the output layer's logits: binary cross-entropy for one row, cross-entropy else.
fn cost(z: ArrayView2<f64>, y: ArrayView2<f64>) -> f64 {
    let m = y.ncols() as f64;
    if z.nrows() == 1 {
        return z
            .iter()
            .zip(y.iter())
            .map(|(&z, &y)| z.max(0.0) - z * y + (-z.abs()).exp().ln_1p())
            .sum::<f64>()
            / m;
    }
    let mut total = 0.0;
    for (zc, yc) in z.axis_iter(Axis(1)).zip(y.axis_iter(Axis(1))) {
        let max = zc.fold(f64::NEG_INFINITY, |a, &v| a.max(v));
        let lse = max + zc.iter().map(|v| (v - max).exp()).sum::<f64>().ln();
        total -= zc.iter().zip(yc.iter()).map(|(z, y)| y * (z - lse)).sum::<f64>();
    }
    total / m
}

/// dW[l], db[l] of one batch, layer 1 first.
fn backward(
    params: &[(Array2<f64>, Array2<f64>)],
    pass: &Pass,
    y: ArrayView2<f64>,
    keep: f64,
    slip: Option<Slip>,
    order: Order,
) -> Params {
    let m = if slip == Some(Slip::NoOneOverM) { 1.0 } else { y.ncols() as f64 };
    let n = params.len();
    let mut dz = &pass.a[n] - &y;
    let mut grads = Vec::with_capacity(n);
    for l in (0..n).rev() {
        let dw = match order {
            Order::Course => dz.dot(&pass.a[l].t()) / m,
            Order::Fit => dz.dot(&pass.a[l].t()) * (1.0 / m),
        };
        let db = dz.sum_axis(Axis(1)).insert_axis(Axis(1)) / m;
        if l > 0 {
            let mut da = params[l].0.t().dot(&dz);
            if let Some(d) = &pass.d[l - 1]
                && slip != Some(Slip::NoMaskBackward)
            {
                da = scale_by_mask(&da, d, keep, order);
            }
            let mut next = da;
            next.zip_mut_with(&pass.z[l - 1], |v, &z| {
                if z <= 0.0 {
                    *v = 0.0
                }
            });
            dz = next;
        }
        grads.push((dw, db));
    }
    grads.reverse();
    grads
}

/// The model the solutions assemble from the exercises' functions, or with one slip.
fn reference_model(
    x: ArrayView2<f64>,
    y: ArrayView2<f64>,
    params: Params,
    c: &ModelConfig,
    slip: Option<Slip>,
) -> (Params, Vec<f64>) {
    model_in_order(x, y, params, c, slip, Order::Course)
}

/// [`reference_model`] with its divisions and products of three in the given order.
fn model_in_order(
    x: ArrayView2<f64>,
    y: ArrayView2<f64>,
    params: Params,
    c: &ModelConfig,
    slip: Option<Slip>,
    order: Order,
) -> (Params, Vec<f64>) {
    let mut params = params;
    let zeros = |p: &Params| -> Params {
        p.iter().map(|(w, b)| (Array2::zeros(w.dim()), Array2::zeros(b.dim()))).collect()
    };
    let (mut first, mut second) = (zeros(&params), zeros(&params));
    let mut rng = ChaCha8Rng::seed_from_u64(c.seed);
    let (mut t, mut costs) = (0u64, Vec::with_capacity(c.epochs));
    for _ in 0..c.epochs {
        if slip == Some(Slip::Reseeded) {
            rng = ChaCha8Rng::seed_from_u64(c.seed);
        }
        if slip == Some(Slip::StepCountPerEpoch) {
            t = 0;
        }
        let batches = if slip == Some(Slip::NotShuffled) {
            (0..x.ncols()).collect::<Vec<_>>().chunks(c.batch_size).map(<[usize]>::to_vec).collect()
        } else {
            shuffled_batches(x.ncols(), c.batch_size, &mut rng).unwrap_or_default()
        };
        for idx in batches {
            let (xt, yt) = (gather_columns(x, &idx), gather_columns(y, &idx));
            let pass = forward(&params, xt.view(), c.keep_prob, Some(&mut rng), order);
            let grads = backward(&params, &pass, yt.view(), c.keep_prob, slip, order);
            t += 1;
            for (l, (dw, db)) in grads.iter().enumerate() {
                let ((w, b), (mw, mb), (vw, vb)) = (&mut params[l], &mut first[l], &mut second[l]);
                adam_step((w, mw, vw), dw.view(), t, c.learning_rate, order);
                adam_step((b, mb, vb), db.view(), t, c.learning_rate, order);
            }
        }
        let rng = (slip == Some(Slip::CostWithDropout)).then_some(&mut rng);
        let pass = forward(&params, x, c.keep_prob, rng, order);
        costs.push(cost(pass.z[params.len() - 1].view(), y));
    }
    (params, costs)
}

/// [`model`]'s planted mistakes.
const MODEL: &[Mistake<Model>] = &[
    Mistake {
        name: "not shuffled",
        hint: "The batches follow the order of the data: shuffle 0..m at the start of every epoch with your shuffled_batches, from the run's one generator.",
        wrong: |x, y, p, c| reference_model(x, y, p, c, Some(Slip::NotShuffled)),
    },
    Mistake {
        name: "seeded every epoch",
        hint: "Seed the generator once, before the first epoch: seeded again at every epoch, each epoch draws the same batches and masks.",
        wrong: |x, y, p, c| reference_model(x, y, p, c, Some(Slip::Reseeded)),
    },
    Mistake {
        name: "no 1/m",
        hint: "dW and db lack the 1/m of the batch. Adam hides most of it (m̂/√v̂ does not change when every gradient is scaled alike), but the last, smaller batch of each epoch is scaled differently.",
        wrong: |x, y, p, c| reference_model(x, y, p, c, Some(Slip::NoOneOverM)),
    },
    Mistake {
        name: "t per epoch",
        hint: "Adam's t counts every step since the start of the run (1 at the first), not the steps of the current epoch.",
        wrong: |x, y, p, c| reference_model(x, y, p, c, Some(Slip::StepCountPerEpoch)),
    },
    Mistake {
        name: "no mask on the way back",
        hint: "On the way back, dA[l] takes the same mask D[l] and 1/keep_prob as A[l] did on the way forward (your dropout_backward).",
        wrong: |x, y, p, c| reference_model(x, y, p, c, Some(Slip::NoMaskBackward)),
    },
    Mistake {
        name: "cost with dropout",
        hint: "The epoch's J is an evaluation: a forward pass on the whole training set without dropout, drawing nothing from the generator.",
        wrong: |x, y, p, c| reference_model(x, y, p, c, Some(Slip::CostWithDropout)),
    },
];

/// The first entry of `got` that is not within [`MODEL_TOLERANCE`] of `expected`, as a
/// sentence, or None.
fn costs_differ(expected: &[f64], got: &[f64]) -> Option<String> {
    if expected.len() != got.len() {
        return Some(format!("expected {} costs (one per epoch), got {}", expected.len(), got.len()));
    }
    let e = expected.iter().zip(got).position(|(e, g)| !close_within(*e, *g, MODEL_TOLERANCE))?;
    Some(format!("J after epoch {} is {:.12}, fit's {:.12}", e + 1, got[e], expected[e]))
}

/// The first parameter of `got` that differs from `expected` in shape or beyond
/// [`MODEL_TOLERANCE`], as a sentence, or None.
fn params_differ(
    expected: &[(Array2<f64>, Array2<f64>)],
    got: &[(Array2<f64>, Array2<f64>)],
) -> Option<String> {
    if expected.len() != got.len() {
        return Some(format!("expected {} layers of parameters, got {}", expected.len(), got.len()));
    }
    for (l, ((ew, eb), (gw, gb))) in expected.iter().zip(got).enumerate() {
        for (name, e, g) in [("W", ew, gw), ("b", eb, gb)] {
            if e.dim() != g.dim() {
                return Some(format!("{name}[{}] has shape {:?}, expected {:?}", l + 1, g.dim(), e.dim()));
            }
            if let Some(((i, j), v)) =
                g.indexed_iter().find(|(ij, v)| !close_within(e[*ij], **v, MODEL_TOLERANCE))
            {
                return Some(format!(
                    "{name}[{}] entry ({i}, {j}) is {v:.12} after training, fit's {:.12}",
                    l + 1,
                    e[[i, j]]
                ));
            }
        }
    }
    None
}

fn show(v: &[f64]) -> String {
    let head: Vec<String> = v.iter().take(5).map(|x| format!("{x:.10}")).collect();
    let tail = v.last().filter(|_| v.len() > 5).map(|x| format!(", …, {x:.10}")).unwrap_or_default();
    format!("[{}{tail}] ({} values)", head.join(", "), v.len())
}

/// The largest relative difference (absolute below 1) between two runs' costs and weights.
pub fn largest_difference(
    a: &[(Array2<f64>, Array2<f64>)],
    a_costs: &[f64],
    b: &[(Array2<f64>, Array2<f64>)],
    b_costs: &[f64],
) -> f64 {
    let rel = |e: f64, g: f64| (e - g).abs() / e.abs().max(1.0);
    let costs = a_costs.iter().zip(b_costs).map(|(e, g)| rel(*e, *g));
    let weights = a.iter().zip(b).flat_map(|((ew, eb), (gw, gb))| {
        ew.iter().zip(gw.iter()).chain(eb.iter().zip(gb.iter())).map(|(e, g)| rel(*e, *g)).collect::<Vec<_>>()
    });
    costs.chain(weights).fold(0.0, f64::max)
}

/// Checks the learner's `model` against [`fit`] on the runs of [`model_cases`]: from the same
/// initial weights with the same seed, every epoch's J and every trained weight must agree
/// within [`MODEL_TOLERANCE`]. A run that matches a typical slip instead gets its hint.
pub fn model(f: Model) -> Report {
    let Ok(cases) = model_cases() else {
        return Grader::new("model", 0).finish();
    };
    let mut g = Grader::new("model", cases.len());
    for case in &cases {
        let Ok((fit_net, history)) = fit_case(case) else { continue };
        let (expected, expected_costs) = (params_of(&fit_net), history.train_loss);
        let p0 = params_of(&case.net);
        let run = |f: Model| f(case.x.view(), case.y.view(), p0.clone(), &case.config);
        let wrong = run_mistakes(MODEL, run);
        let c = case.config;
        let inputs = || {
            format!(
                "{}: {:?}, α = {}, batch_size {}, {} epochs, keep_prob {}, seed {}",
                case.name,
                case.net.sizes(),
                c.learning_rate,
                c.batch_size,
                c.epochs,
                c.keep_prob,
                c.seed
            )
        };
        let check = |(params, costs): (Params, Vec<f64>)| {
            let problem = costs_differ(&expected_costs, &costs).or_else(|| params_differ(&expected, &params));
            let Some(problem) = problem else { return Ok(()) };
            let hint = hint_of(&wrong, |(p, j)| costs_differ(j, &costs).is_none() && params_differ(p, &params).is_none())
                .map(str::to_string)
                .or_else(|| {
                    (costs.len() == expected_costs.len() && costs.first().is_some_and(|j| !j.is_finite())).then(|| {
                        "J is not finite: compute it from the output layer's logits Z[L] (your cross-entropy of exercise 2), never log of A[L].".to_string()
                    })
                });
            Err(Wrong { problem, hint, expected: show(&expected_costs), got: show(&costs) })
        };
        if let Err(report) = g.case(inputs, attempt(|| run(f)), check) {
            return report;
        }
    }
    g.finish()
}

/// Where the learner's bits part from `fit`'s, measured: for each graded run, the largest
/// relative difference from `fit` of the solutions' model (the equations as the exercises
/// write them), and of the same model with four roundings done as `fit` does them
/// (dZ A_prevᵀ · (1/m), A ⊙ D · (1/keep_prob), m̂ = m · (1/(1 − β1^t)), ((1 − β2) dW) dW).
pub fn rounding_report() -> String {
    let Ok(cases) = model_cases() else { return "the graded data could not be built".into() };
    let mut lines = Vec::new();
    for case in &cases {
        let Ok((net, history)) = fit_case(case) else { continue };
        let expected = params_of(&net);
        let difference = |order| {
            let (p, j) =
                model_in_order(case.x.view(), case.y.view(), params_of(&case.net), &case.config, None, order);
            largest_difference(&expected, &history.train_loss, &p, &j)
        };
        lines.push(format!(
            "{:<18} the exercises' order: {:.1e}; fit's four roundings: {:.1e}",
            case.name,
            difference(Order::Course),
            difference(Order::Fit)
        ));
    }
    lines.join("\n")
}

/// The learner's `model` and `fit` side by side on each graded run: J after the last epoch,
/// the training accuracy, and the largest relative difference of costs and weights. Lines
/// never start with a grader's mark unless the model is missing (○) or fails (✗).
pub fn side_by_side(f: Model) -> String {
    let Ok(cases) = model_cases() else { return format!("{FAILED} the graded data could not be built") };
    let mut lines = Vec::new();
    for case in &cases {
        let Ok((fit_net, history)) = fit_case(case) else { continue };
        let run = attempt(|| f(case.x.view(), case.y.view(), params_of(&case.net), &case.config));
        let (params, costs) = match run {
            Attempt::Done(v) => v,
            Attempt::NotImplemented => return format!("{TODO} model: not implemented yet"),
            Attempt::Panicked(m) => return format!("{FAILED} model panicked on {}: {m}", case.name),
        };
        let accuracy = |p: &[(Array2<f64>, Array2<f64>)]| {
            network_of(p).and_then(|n| n.accuracy(case.x.view(), case.y.view())).unwrap_or(f64::NAN)
        };
        let last = |j: &[f64]| j.last().copied().unwrap_or(f64::NAN);
        lines.push(format!(
            "{:<18} fit: J = {:.12}, accuracy {:.4} | yours: J = {:.12}, accuracy {:.4} | largest relative difference {:.1e}",
            case.name,
            last(&history.train_loss),
            accuracy(&params_of(&fit_net)),
            last(&costs),
            accuracy(&params),
            largest_difference(&params_of(&fit_net), &history.train_loss, &params, &costs),
        ));
    }
    lines.join("\n")
}

/// Training images of Fashion-MNIST's 60,000; the last 5,000 are the validation split.
pub const FASHION_TRAIN: usize = 55_000;
/// The accuracy to beat on the validation split.
pub const FASHION_TARGET: f64 = 0.89;

/// `fn fashion_model(x_train, y_train) -> the trained parameters` of a dense network on
/// the 55,000 training images (784 rows, pixels in [0, 1]) and their one-hot labels.
pub type FashionModel = fn(ArrayView2<f64>, ArrayView2<f64>) -> Params;

/// What [`fashion_challenge`] found: the grader's report, and the trained parameters with
/// their validation accuracy and training time when the learner's function returned.
#[derive(Debug, Clone)]
pub struct Challenge {
    /// ✓ above [`FASHION_TARGET`], ✗ with what to change, ○ while `todo!()`.
    pub report: Report,
    /// The share of the 5,000 validation images classified right.
    pub validation_accuracy: Option<f64>,
    /// Seconds the learner's function took.
    pub seconds: Option<f64>,
    /// The trained parameters.
    pub params: Option<Params>,
}

impl Challenge {
    /// Shows the challenge's result in a Rust notebook.
    pub fn evcxr_display(&self) {
        evcxr_runtime::mime_type("text/plain").text(self.to_string());
    }
}

impl fmt::Display for Challenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.report)?;
        if let (Some(acc), Some(secs)) = (self.validation_accuracy, self.seconds) {
            let right = (acc * (60_000 - FASHION_TRAIN) as f64).round();
            write!(
                f,
                "\nvalidation accuracy {:.2} % ({right} of {} images), target above {:.0} %; trained in {secs:.1} s",
                100.0 * acc,
                60_000 - FASHION_TRAIN,
                100.0 * FASHION_TARGET
            )?;
        }
        Ok(())
    }
}

/// The Fashion-MNIST challenge: runs the learner's `f` on the first 55,000 training images
/// (it never sees the validation or the test images), then measures its network on the last
/// 5,000 training images, the validation split. It passes above [`FASHION_TARGET`].
pub fn fashion_challenge(f: FashionModel, data: &FashionMnist) -> Challenge {
    let y = data.train.targets(Task::MultiClass);
    let x = data.train.x.view();
    let train = (x.slice(s![.., ..FASHION_TRAIN]), y.slice(s![.., ..FASHION_TRAIN]));
    let validation = (x.slice(s![.., FASHION_TRAIN..]), y.slice(s![.., FASHION_TRAIN..]));
    challenge(f, train, validation)
}

/// [`fashion_challenge`] on any split (the tests use small data).
fn challenge(
    f: FashionModel,
    (x, y): (ArrayView2<f64>, ArrayView2<f64>),
    (x_val, y_val): (ArrayView2<f64>, ArrayView2<f64>),
) -> Challenge {
    let mut g = Grader::new("fashion_challenge", 2);
    let start = Instant::now();
    let result = attempt(|| f(x, y));
    let seconds = start.elapsed().as_secs_f64();
    let (n_x, k) = (x.nrows(), y.nrows());
    let inputs =
        || format!("{} training images of {n_x} pixels, {} validation images", x.ncols(), x_val.ncols());
    let mut out = Challenge {
        report: Report {
            name: "fashion_challenge",
            passed: 0,
            total: 2,
            outcome: Outcome::NotImplemented,
            level: 1,
        },
        validation_accuracy: None,
        seconds: matches!(result, Attempt::Done(_)).then_some(seconds),
        params: None,
    };
    // Case 1: a network that reads the images and gives the classes' scores.
    let mut net = None;
    let shapes = |params: Params| {
        let wrong = |problem: String, hint: &str| Wrong {
            problem,
            hint: Some(hint.to_string()),
            expected: format!("W[1] of shape (n_1, {n_x}), …, W[L] of shape ({k}, n_(L−1))"),
            got: format!("{:?}", params.iter().map(|(w, b)| (w.dim(), b.dim())).collect::<Vec<_>>()),
        };
        let first_ok = params.first().is_some_and(|(w, _)| w.ncols() == n_x);
        let last_ok = params.last().is_some_and(|(w, _)| w.nrows() == k);
        if !first_ok || !last_ok {
            return Err(wrong(
                format!("the network must read {n_x} pixels and give {k} class scores"),
                "Return (W[l], b[l]) for every layer, layer 1 first.",
            ));
        }
        if params.iter().any(|(w, b)| w.iter().chain(b.iter()).any(|v| !v.is_finite())) {
            return Err(wrong(
                "some parameters are not finite".into(),
                "The run diverged: try a smaller learning rate.",
            ));
        }
        match network_of(&params) {
            Ok(n) => {
                net = Some((n, params));
                Ok(())
            }
            Err(e) => Err(wrong(
                format!("the layers do not chain: {e}"),
                "W[l] is (n_l, n_(l−1)) and b[l] is (n_l, 1).",
            )),
        }
    };
    if let Err(report) = g.case(inputs, result, shapes) {
        out.report = report;
        return out;
    }
    let Some((net, params)) = net else { return out };
    out.params = Some(params);
    // Case 2: above the target on the validation images.
    let accuracy = net.accuracy(x_val, y_val).unwrap_or(0.0);
    out.validation_accuracy = Some(accuracy);
    let target = |acc: f64| {
        if acc > FASHION_TARGET {
            return Ok(());
        }
        Err(Wrong {
            problem: format!(
                "validation accuracy {:.2} %, not above {:.0} %",
                100.0 * acc,
                100.0 * FASHION_TARGET
            ),
            hint: Some(FASHION_HINT.to_string()),
            expected: format!("above {:.2} %", 100.0 * FASHION_TARGET),
            got: format!("{:.2} %", 100.0 * acc),
        })
    };
    out.report = match g.case(inputs, Attempt::Done(accuracy), target) {
        Ok(()) => g.finish(),
        Err(report) => report,
    };
    out
}

/// What to change when the challenge's network stays below the target.
const FASHION_HINT: &str = "Train longer or wider (more units in the first layer); a learning rate that decays over the epochs helps the last percent. Choose on the validation accuracy, never on the test set.";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grade::tests::check_table;
    use crate::report::Outcome;

    fn reference(x: ArrayView2<f64>, y: ArrayView2<f64>, p: Params, c: &ModelConfig) -> (Params, Vec<f64>) {
        reference_model(x, y, p, c, None)
    }

    #[test]
    fn the_reference_model_agrees_with_fit_within_the_tolerance() {
        for case in model_cases().unwrap() {
            let (net, history) = fit_case(&case).unwrap();
            let (p, j) = reference(case.x.view(), case.y.view(), params_of(&case.net), &case.config);
            let d = largest_difference(&params_of(&net), &history.train_loss, &p, &j);
            println!("{}: largest relative difference {d:.2e}, J {:?}", case.name, j.last());
            assert!(d < 1e-12, "{}: {d:e}", case.name);
        }
    }

    #[test]
    fn with_fits_four_roundings_the_reference_model_gives_fits_bits() {
        for case in model_cases().unwrap() {
            let (net, history) = fit_case(&case).unwrap();
            let (p, j) = model_in_order(
                case.x.view(),
                case.y.view(),
                params_of(&case.net),
                &case.config,
                None,
                Order::Fit,
            );
            assert_eq!(j, history.train_loss, "{}", case.name);
            assert_eq!(p, params_of(&net), "{}", case.name);
        }
        assert!(rounding_report().contains("fit's four roundings: 0.0e0"), "{}", rounding_report());
    }

    #[test]
    fn a_slip_is_named_whatever_the_order_of_the_learners_roundings() {
        // The slips written with fit's roundings: a few units in the last place away from the
        // grader's own slips, and still recognised.
        let unshuffled: Model = |x, y, p, c| model_in_order(x, y, p, c, Some(Slip::NotShuffled), Order::Fit);
        let no_one_over_m: Model =
            |x, y, p, c| model_in_order(x, y, p, c, Some(Slip::NoOneOverM), Order::Fit);
        for (f, name) in [(unshuffled, "not shuffled"), (no_one_over_m, "no 1/m")] {
            let report = model(f);
            assert!(report.to_string().starts_with(FAILED), "{report}");
            let hint = MODEL.iter().find(|m| m.name == name).map(|m| m.hint);
            assert_eq!(report.hint(), hint, "{report}");
        }
        let right: Model = |x, y, p, c| model_in_order(x, y, p, c, None, Order::Fit);
        assert!(model(right).is_passed());
    }

    #[test]
    fn the_model_grader_passes_the_reference_and_names_each_slip() {
        let problems = check_table(model, MODEL, reference);
        assert!(problems.is_empty(), "{}", problems.join("\n\n"));
    }

    #[test]
    fn a_model_still_todo_is_not_implemented_yet() {
        let report = model(|_, _, _, _| todo!("assemble the model"));
        assert_eq!(report.outcome, Outcome::NotImplemented, "{report}");
        assert!(side_by_side(|_, _, _, _| todo!()).starts_with(TODO));
    }

    /// Ten well-separated classes of 36-pixel "images": (train, validation).
    /// (X, Y) of one split.
    type Split = (Array2<f64>, Array2<f64>);

    fn small_split() -> (Split, Split) {
        let data = ann_core::blobs(1200, 10, 36, 1.0, 9).unwrap();
        let y = data.targets(Task::MultiClass);
        let split = |a: &Array2<f64>, r: std::ops::Range<usize>| a.slice(s![.., r]).to_owned();
        ((split(&data.x, 0..1000), split(&y, 0..1000)), (split(&data.x, 1000..1200), split(&y, 1000..1200)))
    }

    fn run(f: FashionModel) -> Challenge {
        let ((x, y), (xv, yv)) = small_split();
        challenge(f, (x.view(), y.view()), (xv.view(), yv.view()))
    }

    fn untrained(x: ArrayView2<f64>, y: ArrayView2<f64>) -> Params {
        params_of(
            &Network::new(&[x.nrows(), 16, y.nrows()], Activation::Relu, Task::MultiClass, Init::He, 3)
                .unwrap(),
        )
    }

    #[test]
    fn a_trained_network_passes_the_challenge_on_its_validation_split() {
        let trained = run(|x, y| {
            let mut net =
                Network::new(&[x.nrows(), 16, y.nrows()], Activation::Relu, Task::MultiClass, Init::He, 3)
                    .unwrap();
            let config = TrainConfig { batch_size: 50, seed: 1, ..TrainConfig::default() };
            fit(&mut net, &mut Optimizer::adam(0.01).unwrap(), (x, y), &config, 10).unwrap();
            params_of(&net)
        });
        assert!(trained.report.is_passed(), "{trained}");
        assert!(trained.validation_accuracy.unwrap() > FASHION_TARGET);
        assert!(trained.to_string().contains("validation accuracy"), "{trained}");
    }

    #[test]
    fn an_untrained_network_fails_the_challenge_with_what_to_change() {
        let report = run(untrained);
        assert!(report.validation_accuracy.unwrap() < FASHION_TARGET, "{report}");
        assert_eq!(report.report.hint(), Some(FASHION_HINT), "{report}");
        assert_eq!(report.report.passed, 1);
    }

    #[test]
    fn the_challenge_names_parameters_that_are_not_a_network_of_the_images() {
        // The layers in the wrong order: W[1] does not read the pixels.
        let reversed = run(|x, y| untrained(x, y).into_iter().rev().collect());
        assert_eq!(
            reversed.report.hint(),
            Some("Return (W[l], b[l]) for every layer, layer 1 first."),
            "{reversed}"
        );
        assert!(reversed.params.is_none() && reversed.validation_accuracy.is_none());
        let diverged =
            run(|x, y| untrained(x, y).into_iter().map(|(w, b)| (w.mapv(|_| f64::NAN), b)).collect());
        assert!(diverged.report.hint().unwrap().contains("diverged"), "{diverged}");
        let todo = run(|_, _| todo!("train a network"));
        assert_eq!(todo.report.outcome, Outcome::NotImplemented);
        assert!(todo.to_string().starts_with(TODO), "{todo}");
    }
}
