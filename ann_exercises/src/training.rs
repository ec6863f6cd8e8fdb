//! Exercise 4, mini-batches and the training loop: shuffling into batches, one epoch, and the
//! whole loop, which must reproduce [`ann_core::fit`] on the same seed.

use crate::forward::prefix;
use crate::grade::{Attempt, Grader, Mistake, Wrong, attempt, close, compare, hint_of, run_mistakes};
use crate::report::Report;
use ann_core::{
    Activation, Dropout, Init, L2, Network, Optimizer, Task, TrainConfig, evaluate, fit, gather_columns,
    shuffled_batches as reference_batches, two_moons,
};
use ndarray::{Array2, ArrayView2};
use rand::SeedableRng;
use rand::rngs::ChaCha8Rng;

/// `fn shuffled_batches(m, batch_size, rng) -> the batches' column indices`.
pub type ShuffledBatches = fn(usize, usize, &mut ChaCha8Rng) -> Vec<Vec<usize>>;
/// `fn train_epoch(net, optimizer, x, y, batch_size, rng) -> J{t} of every step`.
pub type TrainEpoch = fn(
    &mut Network,
    &mut Optimizer,
    ArrayView2<f64>,
    ArrayView2<f64>,
    usize,
    &mut ChaCha8Rng,
) -> ann_core::Result<Vec<f64>>;
/// `fn train(net, optimizer, x, y, config, epochs) -> J on the training set after every
/// epoch`.
pub type Train = fn(
    &mut Network,
    &mut Optimizer,
    ArrayView2<f64>,
    ArrayView2<f64>,
    &TrainConfig,
    usize,
) -> ann_core::Result<Vec<f64>>;

fn wrong_result(problem: String, hint: Option<&str>, expected: String, got: String) -> Wrong {
    Wrong { problem, hint: hint.map(str::to_string), expected, got }
}

/// 0..m cut into batches in order.
fn in_order(m: usize, batch_size: usize) -> Vec<Vec<usize>> {
    (0..m).collect::<Vec<_>>().chunks(batch_size).map(<[usize]>::to_vec).collect()
}

/// [`shuffled_batches`]'s planted mistake. Its other hints come from the form of the batches
/// (an example missing or twice, batches of other sizes, another permutation, the generator
/// drawn from more than once): properties that many implementations share.
const SHUFFLED_BATCHES: &[Mistake<ShuffledBatches>] = &[Mistake {
    name: "in order",
    hint: "The batches are not shuffled: every epoch must see the examples in a new random order. | Shuffle the order 0..m once with the generator, then cut it into chunks of batch_size.",
    wrong: |m, batch_size, _| in_order(m, batch_size),
}];

/// Checks the batches, and that the generator is left where `ann_core` leaves it (so that the
/// training loop's next draws, dropout masks and the next epoch's shuffle, are the same).
pub fn shuffled_batches(f: ShuffledBatches) -> Report {
    let cases = [(10, 4, 1), (64, 64, 2), (100, 32, 3), (7, 1, 4)];
    let mut g = Grader::new("shuffled_batches", cases.len());
    for (m, b, seed) in cases {
        let mut r_ref = ChaCha8Rng::seed_from_u64(seed);
        let expected = reference_batches(m, b, &mut r_ref).unwrap_or_default();
        let wrong = run_mistakes(SHUFFLED_BATCHES, |f| f(m, b, &mut ChaCha8Rng::seed_from_u64(seed)));
        let mut r = ChaCha8Rng::seed_from_u64(seed);
        let inputs = || format!("m = {m}, batch_size = {b}, seed {seed}");
        let result = attempt(|| f(m, b, &mut r));
        let check = |got: Vec<Vec<usize>>| {
            let show = |v: &Vec<Vec<usize>>| format!("{v:?}");
            if got == expected {
                return if r == r_ref {
                    Ok(())
                } else {
                    Err(wrong_result(
                        "the batches are right, but the generator was used more than once".into(),
                        Some(
                            "The generator is shared with the rest of the training loop: draw from it only what fit draws. | Shuffle the order once, with `SliceRandom::shuffle`, and draw nothing else.",
                        ),
                        show(&expected),
                        show(&got),
                    ))
                };
            }
            let mut all: Vec<usize> = got.concat();
            all.sort_unstable();
            let hint = hint_of(&wrong, |w| *w == got).or_else(|| {
                Some(if all != (0..m).collect::<Vec<_>>() {
                    "Every example must be in exactly one batch, the last (smaller) batch included."
                } else if got.iter().map(Vec::len).collect::<Vec<_>>()
                    != expected.iter().map(Vec::len).collect::<Vec<_>>()
                {
                    "Cut the order into chunks of batch_size; only the last may be smaller."
                } else {
                    "Same examples, another permutation: shuffle 0..m once with `SliceRandom::shuffle` (what fit does), not your own swaps."
                })
            });
            Err(wrong_result(
                format!(
                    "expected {} batches {:?}…, got {} {:?}…",
                    expected.len(),
                    expected.first(),
                    got.len(),
                    got.first()
                ),
                hint,
                show(&expected),
                show(&got),
            ))
        };
        if let Err(report) = g.case(inputs, result, check) {
            return report;
        }
    }
    g.finish()
}

/// The exercises' data and network: 200 two-moons points, [2, 8, 8, 1] ReLU.
pub fn training_case() -> (Network, Array2<f64>, Array2<f64>) {
    let data = two_moons(200, 0.2, 41).expect("valid arguments");
    let y = data.targets(Task::Binary);
    let net = Network::new(&[2, 8, 8, 1], Activation::Relu, Task::Binary, Init::He, 42)
        .expect("a valid architecture");
    (net, data.x, y)
}

/// How a simulated loop differs from the reference (for the hints).
#[derive(Clone, Copy, PartialEq)]
enum Variant {
    Right,
    NoStep,
    InOrder,
    StepBeforeCost,
}

/// One epoch the reference way, or with one typical mistake.
#[allow(clippy::too_many_arguments)] // the arguments of a training step, spelled out
fn epoch(
    net: &mut Network,
    opt: &mut Optimizer,
    x: ArrayView2<f64>,
    y: ArrayView2<f64>,
    b: usize,
    dropout: &Dropout,
    l2: L2,
    rng: &mut ChaCha8Rng,
    v: Variant,
) -> ann_core::Result<Vec<f64>> {
    let batches =
        if v == Variant::InOrder { in_order(x.ncols(), b) } else { reference_batches(x.ncols(), b, rng)? };
    let mut losses = Vec::with_capacity(batches.len());
    for idx in batches {
        let (xt, yt) = (gather_columns(x, &idx), gather_columns(y, &idx));
        let cache = net.forward_train(xt.view(), dropout, rng)?;
        let grads = net.backward(&cache, yt.view(), l2)?;
        if v == Variant::StepBeforeCost {
            opt.step(net, &grads)?;
            losses.push(net.cost(&net.forward(xt.view())?, yt.view(), l2)?);
            continue;
        }
        losses.push(net.cost(&cache, yt.view(), l2)?);
        if v != Variant::NoStep {
            opt.step(net, &grads)?;
        }
    }
    Ok(losses)
}

fn losses_differ(expected: &[f64], got: &[f64]) -> Option<String> {
    if expected.len() != got.len() {
        return Some(format!("expected {} losses, got {}", expected.len(), got.len()));
    }
    expected
        .iter()
        .zip(got)
        .position(|(e, g)| !close(*e, *g))
        .map(|t| format!("loss {} is {:.10}, expected {:.10}", t + 1, got[t], expected[t]))
}

fn show(v: &[f64]) -> String {
    let head: Vec<String> = v.iter().take(6).map(|x| format!("{x:.6}")).collect();
    format!("[{}{}] ({} values)", head.join(", "), if v.len() > 6 { ", …" } else { "" }, v.len())
}

/// One epoch without dropout and L2, with the typical mistake `v`.
#[allow(clippy::too_many_arguments)] // the learner's arguments and the variant
fn epoch_without_dropout(
    net: &mut Network,
    opt: &mut Optimizer,
    x: ArrayView2<f64>,
    y: ArrayView2<f64>,
    b: usize,
    rng: &mut ChaCha8Rng,
    v: Variant,
) -> ann_core::Result<Vec<f64>> {
    epoch(net, opt, x, y, b, &Dropout::Off, L2::NONE, rng, v)
}

/// [`train_epoch`]'s planted mistakes.
const TRAIN_EPOCH: &[Mistake<TrainEpoch>] = &[
    Mistake {
        name: "no step",
        hint: "The weights never changed: the gradients were computed but never used. | After each batch's backward pass, take the optimizer's step with its gradients.",
        wrong: |net, opt, x, y, b, rng| epoch_without_dropout(net, opt, x, y, b, rng, Variant::NoStep),
    },
    Mistake {
        name: "not shuffled",
        hint: "The batches are in order: an epoch starts by shuffling the examples. | Take the batches from shuffled_batches at the start of the epoch.",
        wrong: |net, opt, x, y, b, rng| epoch_without_dropout(net, opt, x, y, b, rng, Variant::InOrder),
    },
    Mistake {
        name: "cost after the step",
        hint: "J{t} is the cost of the batch as the step saw it, before the update. | forward pass → J{t} → backward pass → step, in that order.",
        wrong: |net, opt, x, y, b, rng| {
            epoch_without_dropout(net, opt, x, y, b, rng, Variant::StepBeforeCost)
        },
    },
];

/// Checks one epoch (no dropout here): losses of every step, and the weights after it.
pub fn train_epoch(f: TrainEpoch) -> Report {
    let (net0, x, y) = training_case();
    let cases = [(32, 5), (64, 6), (200, 7)];
    let mut g = Grader::new("train_epoch", cases.len());
    for (b, seed) in cases {
        let run = |f: TrainEpoch| -> Option<(Vec<f64>, Network)> {
            let (mut net, mut opt, mut rng) =
                (net0.clone(), Optimizer::adam(0.01).ok()?, ChaCha8Rng::seed_from_u64(seed));
            let losses = f(&mut net, &mut opt, x.view(), y.view(), b, &mut rng).ok()?;
            Some((losses, net))
        };
        let right = run(|n, o, x, y, b, r| epoch_without_dropout(n, o, x, y, b, r, Variant::Right));
        let Some((expected, expected_net)) = right else { continue };
        let wrong = run_mistakes(TRAIN_EPOCH, run);
        let Ok(mut opt) = Optimizer::adam(0.01) else { continue };
        let (mut net, mut rng) = (net0.clone(), ChaCha8Rng::seed_from_u64(seed));
        let inputs = || format!("[2, 8, 8, 1] on 200 moons, Adam α = 0.01, batch_size = {b}, seed {seed}");
        let result = match attempt(|| f(&mut net, &mut opt, x.view(), y.view(), b, &mut rng)) {
            Attempt::Done(Err(e)) => Attempt::Panicked(format!("it returned an error: {e}")),
            Attempt::Done(Ok(v)) => Attempt::Done(v),
            Attempt::NotImplemented => Attempt::NotImplemented,
            Attempt::Panicked(m) => Attempt::Panicked(m),
        };
        let check = |got: Vec<f64>| {
            let hint = hint_of(&wrong, |run| {
                run.as_ref().is_some_and(|(l, n)| {
                    losses_differ(l, &got).is_none()
                        && n.layers()
                            .iter()
                            .zip(net.layers())
                            .all(|(a, b)| crate::grade::same(a.w.view(), b.w.view()))
                })
            });
            if let Some(problem) = losses_differ(&expected, &got) {
                return Err(wrong_result(problem, hint, show(&expected), show(&got)));
            }
            for (l, (e, n)) in expected_net.layers().iter().zip(net.layers()).enumerate() {
                compare(e.w.view(), n.w.view(), &[]).map_err(|w| {
                    prefix(
                        Wrong { hint: hint.map(str::to_string).or(w.hint), ..w },
                        &format!("W[{}] after the epoch", l + 1),
                    )
                })?;
            }
            Ok(())
        };
        if let Err(report) = g.case(inputs, result, check) {
            return report;
        }
    }
    g.finish()
}

/// The two mistakes [`train_loop`] can make.
#[derive(Debug, Clone, Copy, PartialEq)]
enum LoopMistake {
    /// The generator seeded again every epoch.
    Reseed,
    /// No dropout in the training passes.
    NoDropout,
    /// The L2 term divided by the batch's m instead of the training set's N.
    L2PerBatch,
}

/// The whole loop the reference way (the loop `fit` equals) or with a typical mistake.
fn train_loop(
    net: &mut Network,
    opt: &mut Optimizer,
    x: ArrayView2<f64>,
    y: ArrayView2<f64>,
    c: &TrainConfig,
    epochs: usize,
    mistake: Option<LoopMistake>,
) -> ann_core::Result<Vec<f64>> {
    let (reseed, no_dropout) =
        (mistake == Some(LoopMistake::Reseed), mistake == Some(LoopMistake::NoDropout));
    let mut rng = ChaCha8Rng::seed_from_u64(c.seed);
    let dropout = if no_dropout { Dropout::Off } else { c.dropout.clone() };
    let mut out = Vec::new();
    for _ in 0..epochs {
        if reseed {
            rng = ChaCha8Rng::seed_from_u64(c.seed);
        }
        let l2 = if mistake == Some(LoopMistake::L2PerBatch) { c.l2.into() } else { c.l2_term(x.ncols()) };
        epoch(net, opt, x, y, c.batch_size, &dropout, l2, &mut rng, Variant::Right)?;
        out.push(evaluate(net, (x, y), c.l2)?.0);
    }
    Ok(out)
}

/// [`train`]'s planted mistakes. A learner whose losses are none of these gets the grader's
/// own hint on what to return (a property of the result).
const TRAIN: &[Mistake<Train>] = &[
    Mistake {
        name: "seeded every epoch",
        hint: "Seeded again every epoch, the generator draws the same batches and masks each time: one generator for the whole run. | Seed it once, before the first epoch.",
        wrong: |net, opt, x, y, c, epochs| train_loop(net, opt, x, y, c, epochs, Some(LoopMistake::Reseed)),
    },
    Mistake {
        name: "no dropout",
        hint: "The run ignores some of its settings. | config.dropout goes to the training forward pass, config.l2 (as L2::new(config.l2, N)) to the backward pass.",
        wrong: |net, opt, x, y, c, epochs| {
            train_loop(net, opt, x, y, c, epochs, Some(LoopMistake::NoDropout))
        },
    },
    Mistake {
        name: "L2 per batch",
        hint: "The weight decay is too strong: the L2 term is divided by the size N of the whole training set, not by the m of the batch, so that every step decays the weights alike. | (λ/2N) Σ‖W[l]‖² and dW[l] += (λ/N) W[l] in every step, N the number of columns of x.",
        wrong: |net, opt, x, y, c, epochs| {
            train_loop(net, opt, x, y, c, epochs, Some(LoopMistake::L2PerBatch))
        },
    },
];

/// Checks the whole loop against [`fit`]: the same per-epoch losses and final weights.
pub fn train(f: Train) -> Report {
    let (net0, x, y) = training_case();
    let configs = [
        (TrainConfig { batch_size: 32, seed: 8, ..TrainConfig::default() }, 3),
        (
            TrainConfig {
                batch_size: 50,
                seed: 9,
                dropout: Dropout::Hidden(0.8),
                l2: 0.01,
                ..TrainConfig::default()
            },
            4,
        ),
    ];
    let mut g = Grader::new("train", configs.len());
    for (c, epochs) in &configs {
        let (c, epochs) = (c, *epochs);
        let mut fit_net = net0.clone();
        let Ok(mut fit_opt) = Optimizer::adam(0.01) else { continue };
        let Ok(history) = fit(&mut fit_net, &mut fit_opt, (x.view(), y.view()), c, epochs) else { continue };
        let expected = history.train_loss;
        let wrong = run_mistakes(TRAIN, |f| {
            let (mut n, mut o) = (net0.clone(), Optimizer::adam(0.01).ok()?);
            f(&mut n, &mut o, x.view(), y.view(), c, epochs).ok()
        });
        let (mut net, Ok(mut opt)) = (net0.clone(), Optimizer::adam(0.01)) else { continue };
        let inputs = || {
            format!(
                "epochs {epochs}, batch_size {}, seed {}, dropout {:?}, l2 {}",
                c.batch_size, c.seed, c.dropout, c.l2
            )
        };
        let result = match attempt(|| f(&mut net, &mut opt, x.view(), y.view(), c, epochs)) {
            Attempt::Done(Err(e)) => Attempt::Panicked(format!("it returned an error: {e}")),
            Attempt::Done(Ok(v)) => Attempt::Done(v),
            Attempt::NotImplemented => Attempt::NotImplemented,
            Attempt::Panicked(m) => Attempt::Panicked(m),
        };
        let check = |got: Vec<f64>| {
            if let Some(problem) = losses_differ(&expected, &got) {
                let hint = hint_of(&wrong, |m| m.as_ref().is_some_and(|m| losses_differ(m, &got).is_none()))
                    .or(Some("The costs to return are those of the whole training set, one after each epoch. | evaluate(net, (x, y), config.l2)?.0 after each epoch."))
                    .filter(|_| !got.is_empty());
                return Err(wrong_result(problem, hint, show(&expected), show(&got)));
            }
            for (l, (e, n)) in fit_net.layers().iter().zip(net.layers()).enumerate() {
                compare(e.w.view(), n.w.view(), &[])
                    .map_err(|w| prefix(w, &format!("W[{}] after training (fit's)", l + 1)))?;
            }
            Ok(())
        };
        if let Err(report) = g.case(inputs, result, check) {
            return report;
        }
    }
    g.finish()
}

/// Runs a training function of the learner's (e.g. `|| train(...)`), catching a `todo!()`, a
/// panic or an error: the costs it returns, or what went wrong, as a line of text.
pub fn run_caught(f: impl FnOnce() -> ann_core::Result<Vec<f64>>) -> String {
    match attempt(f) {
        Attempt::Done(Ok(costs)) => {
            format!("{:?}", costs.iter().map(|j| format!("{j:.6}")).collect::<Vec<_>>())
        }
        Attempt::Done(Err(e)) => format!("{} it returned an error: {e}", crate::report::FAILED),
        Attempt::NotImplemented => format!("{} not implemented yet", crate::report::TODO),
        Attempt::Panicked(m) => format!("{} it panicked: {m}", crate::report::FAILED),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::grade::tests::check_table;
    use rand::seq::SliceRandom;

    fn sb_ok(m: usize, b: usize, rng: &mut ChaCha8Rng) -> Vec<Vec<usize>> {
        let mut order: Vec<usize> = (0..m).collect();
        order.shuffle(rng);
        order.chunks(b).map(<[usize]>::to_vec).collect()
    }

    /// This file's graders, each with a reference implementation and its planted mistakes.
    pub(crate) fn tables() -> Vec<String> {
        [
            check_table(shuffled_batches, SHUFFLED_BATCHES, sb_ok),
            check_table(train_epoch, TRAIN_EPOCH, |n, o, x, y, b, r| {
                epoch_without_dropout(n, o, x, y, b, r, Variant::Right)
            }),
            check_table(train, TRAIN, |n, o, x, y, c, e| train_loop(n, o, x, y, c, e, None)),
        ]
        .concat()
    }

    fn sb_drop_last(m: usize, b: usize, rng: &mut ChaCha8Rng) -> Vec<Vec<usize>> {
        let mut v = sb_ok(m, b, rng);
        if v.last().is_some_and(|l| l.len() < b) {
            v.pop();
        }
        v
    }
    fn sb_own_swaps(m: usize, b: usize, rng: &mut ChaCha8Rng) -> Vec<Vec<usize>> {
        use rand::RngExt;
        let mut order: Vec<usize> = (0..m).collect();
        for i in 0..m {
            let j = rng.random_range(0..m);
            order.swap(i, j);
        }
        order.chunks(b).map(<[usize]>::to_vec).collect()
    }

    #[test]
    fn shuffled_batches_reads_what_is_wrong_from_the_batches() {
        assert!(shuffled_batches(sb_drop_last).hint().unwrap().contains("last"));
        assert!(shuffled_batches(sb_own_swaps).hint().unwrap().contains("own swaps"));
    }

    #[test]
    fn train_says_what_to_return_when_the_losses_are_no_known_mistake() {
        // The losses of every step, not J on the training set after each epoch.
        let step_losses = train(|n, o, x, y, c, epochs| {
            let mut rng = ChaCha8Rng::seed_from_u64(c.seed);
            let mut all = Vec::new();
            for _ in 0..epochs {
                all.extend(epoch(
                    n,
                    o,
                    x,
                    y,
                    c.batch_size,
                    &c.dropout,
                    c.l2_term(x.ncols()),
                    &mut rng,
                    Variant::Right,
                )?);
            }
            Ok(all)
        });
        assert!(step_losses.hint().unwrap().contains("evaluate"), "{step_losses}");
    }
}
