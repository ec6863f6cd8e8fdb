//! Checkpoints and time budgets: a run stopped at any epoch and resumed from its checkpoint
//! ends with the bits of the run that was never stopped, for every optimizer, with dropout,
//! L2, a learning-rate schedule and early stopping; a checkpoint that does not fit the
//! resuming call is an error.

use ann_core::*;
use ndarray::Array2;
use std::path::PathBuf;
use std::time::Duration;

struct Data {
    x: Array2<f64>,
    y: Array2<f64>,
    x_val: Array2<f64>,
    y_val: Array2<f64>,
}

fn data() -> Data {
    let d = two_moons(360, 0.25, 3).unwrap();
    let (train, val) = train_test_split(&d, 0.25, 4).unwrap();
    let (y, y_val) = (train.targets(Task::Binary), val.targets(Task::Binary));
    Data { x: train.x, y, x_val: val.x, y_val }
}

fn optimizers() -> [OptimizerConfig; 5] {
    [
        SgdConfig { lr: 0.1 }.into(),
        MomentumConfig { lr: 0.05, beta: 0.9 }.into(),
        RmsPropConfig { lr: 0.005, ..RmsPropConfig::default() }.into(),
        AdamConfig { lr: 0.01, ..AdamConfig::default() }.into(),
        AdamWConfig { lr: 0.01, weight_decay: 0.01, ..AdamWConfig::default() }.into(),
    ]
}

/// The runs to reproduce (settings and epochs): dropout with L2, a step schedule, early
/// stopping that fires, and a layer-normalized network.
fn configs() -> Vec<(&'static str, TrainConfig, usize)> {
    let base = TrainConfig { batch_size: 32, seed: 11, ..TrainConfig::default() };
    vec![
        ("dropout + L2", TrainConfig { dropout: Dropout::Hidden(0.7), l2: 0.02, ..base.clone() }, 7),
        (
            "exponential schedule + dropout",
            TrainConfig {
                dropout: Dropout::Hidden(0.9),
                schedule: LrSchedule::Exponential { rate: 0.3 },
                ..base.clone()
            },
            7,
        ),
        (
            "step schedule + early stopping",
            TrainConfig {
                schedule: LrSchedule::Step { every: 3, factor: 0.5 },
                early_stopping: Some(EarlyStopping { patience: 2, min_delta: 1e-3 }),
                ..base.clone()
            },
            40,
        ),
        // In f32: the values a checkpoint holds are the f32 run's, widened exactly, so the
        // resumed run rounds them back to the same f32 values.
        (
            "f32, dropout + L2",
            TrainConfig {
                dropout: Dropout::Hidden(0.7),
                l2: 0.02,
                precision: Precision::F32,
                ..base.clone()
            },
            7,
        ),
        (
            "f32, step schedule + early stopping",
            TrainConfig {
                schedule: LrSchedule::Step { every: 3, factor: 0.5 },
                early_stopping: Some(EarlyStopping { patience: 2, min_delta: 1e-3 }),
                precision: Precision::F32,
                ..base
            },
            40,
        ),
    ]
}

fn start() -> Network {
    Network::new(&[2, 12, 6, 1], Activation::Tanh, Task::Binary, Init::Xavier, 8).unwrap()
}

/// `start()` with every hidden layer normalized by `kind`.
fn start_normalized(kind: &str) -> Network {
    match kind {
        "batch norm" => start().with_normalization(BatchNormConfig::default()).unwrap(),
        "layer norm" => start().with_normalization(LayerNormConfig::default()).unwrap(),
        _ => start(),
    }
}

fn temp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("ann_ckpt_{}_{name}.json", std::process::id()))
}

/// A run of `epochs` epochs with `d`'s validation set.
fn trainer<'a>(d: &'a Data, c: &'a TrainConfig, epochs: usize) -> Trainer<'a> {
    Trainer::new(c, epochs).validation((&d.x_val, &d.y_val))
}

/// Exact bits: JSON writes every f64 in its shortest round-trip form, −0.0 included.
fn bits<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap()
}

#[test]
fn a_run_resumed_from_any_checkpoint_ends_bit_identical() {
    let d = data();
    let mut cases = 0;
    for opt_config in optimizers() {
        for (name, config, epochs) in configs() {
            let (mut whole, mut opt_whole) = (start(), Optimizer::new(opt_config).unwrap());
            let h_whole = trainer(&d, &config, epochs).fit(&mut whole, &mut opt_whole, (&d.x, &d.y)).unwrap();
            if config.early_stopping.is_some() {
                assert_eq!(
                    h_whole.stop,
                    StopReason::EarlyStopping,
                    "{opt_config} {name}: early stopping fires"
                );
            }
            // Checkpoints after epoch k (a run of k epochs that writes one at its end), each
            // saved to a file, loaded and resumed.
            for k in [1, 3, h_whole.epochs() - 1] {
                let path = temp(&format!("k{k}"));
                let every_k = Checkpointing { path: path.clone(), every: k };
                let (mut net, mut opt) = (start(), Optimizer::new(opt_config).unwrap());
                trainer(&d, &config, k).checkpoint(every_k).fit(&mut net, &mut opt, (&d.x, &d.y)).unwrap();
                let checkpoint = Checkpoint::load(&path).unwrap();
                assert_eq!(checkpoint.state.epochs_done, k);
                // A fresh network and optimizer (as after a restarted kernel) go on from it.
                let (mut net, mut opt) = (start(), Optimizer::new(opt_config).unwrap());
                let h = trainer(&d, &config, epochs)
                    .resume(&checkpoint)
                    .fit(&mut net, &mut opt, (&d.x, &d.y))
                    .unwrap();
                let what = format!("{opt_config}, {name}, resumed after epoch {k}");
                assert_eq!(bits(&net), bits(&whole), "{what}: weights");
                assert_eq!(bits(&h), bits(&h_whole), "{what}: history");
                assert_eq!(opt, opt_whole, "{what}: optimizer state");
                std::fs::remove_file(&path).unwrap();
                cases += 1;
            }
        }
    }
    assert_eq!(cases, 5 * 5 * 3);
}

/// A zero budget stops every call after one epoch, writing a checkpoint; resuming until
/// the run completes gives the uninterrupted run's bits.
#[test]
fn a_run_stopped_by_its_time_budget_goes_on_from_its_checkpoint() {
    let d = data();
    let cases = configs().into_iter().map(|(name, config, epochs)| (name, config, epochs, ""));
    // Batch- and layer-normalized networks: the running averages are part of the network.
    let normalized = ["batch norm", "layer norm"].map(|kind| (kind, configs()[0].1.clone(), 7, kind));
    for (name, config, epochs, kind) in cases.chain(normalized) {
        let opt_config = AdamConfig { lr: 0.01, ..AdamConfig::default() };
        let (mut whole, mut opt_whole) = (start_normalized(kind), Optimizer::new(opt_config).unwrap());
        let h_whole = trainer(&d, &config, epochs).fit(&mut whole, &mut opt_whole, (&d.x, &d.y)).unwrap();
        let path = temp(&format!("budget_{}", name.len()));
        let every = Checkpointing { path: path.clone(), every: 1000 };
        let mut lines = Vec::new();
        let stopping = |d: &Data,
                        net: &mut Network,
                        opt: &mut Optimizer,
                        from: Option<&Checkpoint>,
                        lines: &mut Vec<String>| {
            let mut t = trainer(d, &config, epochs)
                .time_budget(Duration::ZERO)
                .checkpoint(every.clone())
                .progress(Progress::EachEpoch, |line| lines.push(line.to_string()));
            if let Some(c) = from {
                t = t.resume(c);
            }
            t.fit(net, opt, (&d.x, &d.y)).unwrap()
        };
        let (mut net, mut opt) = (start_normalized(kind), Optimizer::new(opt_config).unwrap());
        let mut h = stopping(&d, &mut net, &mut opt, None, &mut lines);
        let mut calls = 1;
        while let StopReason::TimeBudget { elapsed, budget } = h.stop {
            assert_eq!(budget, Duration::ZERO);
            assert!(elapsed >= budget);
            assert_eq!(h.epochs(), calls, "{name}: one epoch per call");
            assert!(h.stop.to_string().starts_with("time budget"), "{}", h.stop);
            let checkpoint = Checkpoint::load(&path).unwrap();
            // The same variables go on (the optimizer is bound to this network already).
            h = stopping(&d, &mut net, &mut opt, Some(&checkpoint), &mut lines);
            calls += 1;
        }
        assert_eq!(calls, h_whole.epochs(), "{name}");
        assert_eq!(lines.len(), calls, "{name}: a progress line per epoch");
        assert!(lines[0].starts_with(&format!("epoch 1/{epochs} · J ")), "{}", lines[0]);
        assert_eq!(bits(&net), bits(&whole), "{name}: weights");
        assert_eq!(bits(&h), bits(&h_whole), "{name}: history");
        std::fs::remove_file(&path).unwrap();
    }
}

/// A checkpoint written at the epoch where early stopping fired records the stop, and a run
/// resumed from it trains no further: it ends as the uninterrupted run did.
#[test]
fn a_run_resumed_after_early_stopping_fired_is_over() {
    let d = data();
    let (_, config, epochs) = configs().remove(2);
    let (mut whole, mut opt_whole) = (start(), Optimizer::adam(0.01).unwrap());
    let h_whole = trainer(&d, &config, epochs).fit(&mut whole, &mut opt_whole, (&d.x, &d.y)).unwrap();
    assert_eq!(h_whole.stop, StopReason::EarlyStopping);
    let path = temp("early");
    let every_epoch = Checkpointing { path: path.clone(), every: 1 };
    let (mut net, mut opt) = (start(), Optimizer::adam(0.01).unwrap());
    trainer(&d, &config, epochs).checkpoint(every_epoch).fit(&mut net, &mut opt, (&d.x, &d.y)).unwrap();
    let checkpoint = Checkpoint::load(&path).unwrap();
    assert_eq!(checkpoint.state.history.stop, StopReason::EarlyStopping);
    assert_eq!(checkpoint.state.epochs_done, h_whole.epochs());
    let (mut net, mut opt) = (start(), Optimizer::adam(0.01).unwrap());
    let h = trainer(&d, &config, epochs).resume(&checkpoint).fit(&mut net, &mut opt, (&d.x, &d.y)).unwrap();
    assert_eq!((bits(&net), bits(&h)), (bits(&whole), bits(&h_whole)));
    std::fs::remove_file(&path).unwrap();
}

/// A budget that is not used up changes nothing; `every` writes at the right epochs.
#[test]
fn a_generous_budget_and_periodic_checkpoints_change_nothing() {
    let d = data();
    let (_, config, epochs) = configs().remove(0);
    let (mut a, mut opt_a) = (start(), Optimizer::adam(0.01).unwrap());
    let h_a = trainer(&d, &config, epochs).fit(&mut a, &mut opt_a, (&d.x, &d.y)).unwrap();
    let path = temp("every3");
    let (mut b, mut opt_b) = (start(), Optimizer::adam(0.01).unwrap());
    let mut lines = Vec::new();
    let h_b = trainer(&d, &config, epochs)
        .time_budget(Duration::from_secs(3600))
        .checkpoint(Checkpointing { path: path.clone(), every: 3 })
        .progress(Progress::Every(Duration::from_secs(3600)), |line| lines.push(line.to_string()))
        .fit(&mut b, &mut opt_b, (&d.x, &d.y))
        .unwrap();
    assert_eq!((bits(&b), bits(&h_b)), (bits(&a), bits(&h_a)));
    assert_eq!(h_b.stop, StopReason::Completed);
    // An hour between lines: the first epoch's and the last one's.
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines[1].starts_with("epoch 7/7"), "{lines:?}");
    // 7 epochs, every 3: the last checkpoint is the one after epoch 6.
    let checkpoint = Checkpoint::load(&path).unwrap();
    assert_eq!((checkpoint.state.epochs_done, checkpoint.state.steps_done), (6, 6 * h_a.steps_per_epoch));
    assert_eq!(checkpoint.state.history.train_loss[..], h_a.train_loss[..6]);
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn a_checkpoint_that_does_not_fit_the_call_is_a_clear_error() {
    let d = data();
    let (_, config, _) = configs().remove(0);
    let path = temp("mismatch");
    trainer(&d, &config, 2)
        .checkpoint(Checkpointing { path: path.clone(), every: 1 })
        .fit(&mut start(), &mut Optimizer::adam(0.01).unwrap(), (&d.x, &d.y))
        .unwrap();
    let checkpoint = Checkpoint::load(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    let resume =
        |net: &mut Network, opt: &mut Optimizer, c: &TrainConfig, x: &Array2<f64>, y: &Array2<f64>| {
            trainer(&d, c, 7).resume(&checkpoint).fit(net, opt, (x, y)).unwrap_err()
        };
    let expect = |err: AnnError, words: &[&str]| {
        assert!(matches!(err, AnnError::Resume(_)), "{err}");
        for w in words {
            assert!(err.to_string().contains(w), "{w:?} not in: {err}");
        }
    };
    let adam = || Optimizer::adam(0.01).unwrap();
    // Another architecture.
    let mut wide = Network::new(&[2, 16, 6, 1], Activation::Tanh, Task::Binary, Init::Xavier, 8).unwrap();
    expect(resume(&mut wide, &mut adam(), &config, &d.x, &d.y), &["[2, 12, 6, 1]", "[2, 16, 6, 1]"]);
    let mut relu = Network::new(&[2, 12, 6, 1], Activation::Relu, Task::Binary, Init::Xavier, 8).unwrap();
    expect(resume(&mut relu, &mut adam(), &config, &d.x, &d.y), &["tanh", "ReLU"]);
    expect(resume(&mut start_normalized("layer norm"), &mut adam(), &config, &d.x, &d.y), &["layer norm"]);
    // Another optimizer, or another α₀.
    expect(resume(&mut start(), &mut Optimizer::sgd(0.01).unwrap(), &config, &d.x, &d.y), &["Adam", "Sgd"]);
    expect(resume(&mut start(), &mut Optimizer::adam(0.02).unwrap(), &config, &d.x, &d.y), &["0.01", "0.02"]);
    // Another config: seed, batch size, dropout.
    let other = TrainConfig { seed: 12, batch_size: 16, ..config.clone() };
    expect(
        resume(&mut start(), &mut adam(), &other, &d.x, &d.y),
        &["(checkpoint vs this call)", "seed: 11 vs 12", "batch_size: 32 vs 16"],
    );
    let no_dropout = TrainConfig { dropout: Dropout::Off, ..config.clone() };
    expect(resume(&mut start(), &mut adam(), &no_dropout, &d.x, &d.y), &["dropout"]);
    // Another training set size.
    let (x, y) = (d.x.slice(ndarray::s![.., ..200]).to_owned(), d.y.slice(ndarray::s![.., ..200]).to_owned());
    expect(resume(&mut start(), &mut adam(), &config, &x, &y), &["270", "200"]);
    // More epochs, another budget or no checkpointing are allowed: the run goes on further.
    let h = trainer(&d, &config, 9)
        .resume(&checkpoint)
        .fit(&mut start(), &mut Optimizer::adam(0.01).unwrap(), (&d.x, &d.y))
        .unwrap();
    assert_eq!(h.epochs(), 9);
}

#[test]
fn progress_lines_and_stop_reasons_read_well() {
    let h = History {
        train_loss: vec![0.5, 0.41234],
        train_accuracy: vec![0.8, 0.85123],
        val_loss: vec![0.6, 0.43],
        val_accuracy: vec![0.7, 0.84],
        learning_rates: vec![1e-3, 8.19e-4],
        ..History::default()
    };
    assert_eq!(
        h.progress_line(10, Duration::from_millis(12_340)),
        "epoch 2/10 · J 0.4123, accuracy 85.12 % · validation J 0.4300, accuracy 84.00 % · α 8.19e-4 · 12.3 s"
    );
    let regression = History { train_loss: vec![0.25], learning_rates: vec![0.1], ..History::default() };
    assert_eq!(regression.progress_line(3, Duration::ZERO), "epoch 1/3 · J 0.2500 · α 1.00e-1 · 0.0 s");
    let budget =
        StopReason::TimeBudget { elapsed: Duration::from_millis(61_200), budget: Duration::from_secs(60) };
    assert_eq!(budget.to_string(), "time budget: 61.2 s used of 60.0 s, stopped at the end of the epoch");
    assert_eq!(StopReason::default(), StopReason::Completed);
    // A checkpoint every 0 epochs is an error.
    let d = data();
    let err = Trainer::new(&TrainConfig::default(), 3)
        .checkpoint(Checkpointing { path: temp("zero"), every: 0 })
        .fit(&mut start(), &mut Optimizer::adam(0.01).unwrap(), (&d.x, &d.y))
        .unwrap_err();
    assert!(err.to_string().contains("checkpoint.every"), "{err}");
}
