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

/// The runs to reproduce: dropout with L2, a step schedule, and early stopping that fires.
fn configs() -> Vec<(&'static str, TrainConfig)> {
    let base = TrainConfig { epochs: 7, batch_size: 32, seed: 11, ..TrainConfig::default() };
    vec![
        ("dropout + L2", TrainConfig { dropout: Dropout::Hidden(0.7), l2: 0.02, ..base.clone() }),
        (
            "exponential schedule + dropout",
            TrainConfig {
                dropout: Dropout::Hidden(0.9),
                schedule: LrSchedule::Exponential { rate: 0.3 },
                ..base.clone()
            },
        ),
        (
            "step schedule + early stopping",
            TrainConfig {
                epochs: 40,
                schedule: LrSchedule::Step { every: 3, factor: 0.5 },
                early_stopping: Some(EarlyStopping { patience: 2, min_delta: 1e-3 }),
                ..base
            },
        ),
    ]
}

fn start() -> Network {
    Network::new(&[2, 12, 6, 1], Activation::Tanh, Task::Binary, Init::Xavier, 8).unwrap()
}

fn temp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("ann_ckpt_{}_{name}.json", std::process::id()))
}

fn train(
    d: &Data,
    net: &mut Network,
    opt: &mut Optimizer,
    c: &TrainConfig,
    from: Option<&Checkpoint>,
) -> History {
    let mut t = Trainer::new(c).validation((&d.x_val, &d.y_val));
    if let Some(cp) = from {
        t = t.resume(cp);
    }
    t.fit(net, opt, (&d.x, &d.y)).unwrap()
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
        for (name, config) in configs() {
            let (mut whole, mut opt_whole) = (start(), Optimizer::new(opt_config).unwrap());
            let h_whole = train(&d, &mut whole, &mut opt_whole, &config, None);
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
                let first = TrainConfig {
                    epochs: k,
                    checkpoint: Some(Checkpointing { path: path.clone(), every: k }),
                    ..config.clone()
                };
                let (mut net, mut opt) = (start(), Optimizer::new(opt_config).unwrap());
                train(&d, &mut net, &mut opt, &first, None);
                let checkpoint = Checkpoint::load(&path).unwrap();
                assert_eq!(checkpoint.epochs_done, k);
                // A fresh network and optimizer (as after a restarted kernel) go on from it.
                let (mut net, mut opt) = (start(), Optimizer::new(opt_config).unwrap());
                let h = train(&d, &mut net, &mut opt, &config, Some(&checkpoint));
                let what = format!("{opt_config}, {name}, resumed after epoch {k}");
                assert_eq!(bits(&net), bits(&whole), "{what}: weights");
                assert_eq!(bits(&h), bits(&h_whole), "{what}: history");
                assert_eq!(opt, opt_whole, "{what}: optimizer state");
                std::fs::remove_file(&path).unwrap();
                cases += 1;
            }
        }
    }
    assert_eq!(cases, 5 * 3 * 3);
}

/// A zero budget stops every call after one epoch, writing a checkpoint; resuming until
/// the run completes gives the uninterrupted run's bits.
#[test]
fn a_run_stopped_by_its_time_budget_goes_on_from_its_checkpoint() {
    let d = data();
    for (name, config) in configs() {
        let opt_config = AdamConfig { lr: 0.01, ..AdamConfig::default() };
        let (mut whole, mut opt_whole) = (start(), Optimizer::new(opt_config).unwrap());
        let h_whole = train(&d, &mut whole, &mut opt_whole, &config, None);
        let path = temp(&format!("budget_{}", name.len()));
        let stopping = TrainConfig {
            time_budget: Some(Duration::ZERO),
            checkpoint: Some(Checkpointing { path: path.clone(), every: 1000 }),
            progress: Progress::EachEpoch,
            ..config.clone()
        };
        let (mut net, mut opt) = (start(), Optimizer::new(opt_config).unwrap());
        let mut h = train(&d, &mut net, &mut opt, &stopping, None);
        let mut calls = 1;
        while let StopReason::TimeBudget { elapsed, budget } = h.stop {
            assert_eq!(budget, Duration::ZERO);
            assert!(elapsed >= budget);
            assert_eq!(h.epochs(), calls, "{name}: one epoch per call");
            assert!(h.stop.to_string().starts_with("time budget"), "{}", h.stop);
            let checkpoint = Checkpoint::load(&path).unwrap();
            // The same variables go on (the optimizer is bound to this network already).
            h = train(&d, &mut net, &mut opt, &stopping, Some(&checkpoint));
            calls += 1;
        }
        assert_eq!(calls, h_whole.epochs(), "{name}");
        assert_eq!(bits(&net), bits(&whole), "{name}: weights");
        assert_eq!(bits(&h), bits(&h_whole), "{name}: history");
        std::fs::remove_file(&path).unwrap();
    }
}

/// A budget that is not used up changes nothing; `every` writes at the right epochs.
#[test]
fn a_generous_budget_and_periodic_checkpoints_change_nothing() {
    let d = data();
    let (_, config) = configs().remove(0);
    let (mut a, mut opt_a) = (start(), Optimizer::adam(0.01).unwrap());
    let h_a = train(&d, &mut a, &mut opt_a, &config, None);
    let path = temp("every3");
    let config_b = TrainConfig {
        time_budget: Some(Duration::from_secs(3600)),
        checkpoint: Some(Checkpointing { path: path.clone(), every: 3 }),
        progress: Progress::Every(Duration::from_secs(3600)),
        ..config.clone()
    };
    let (mut b, mut opt_b) = (start(), Optimizer::adam(0.01).unwrap());
    let h_b = train(&d, &mut b, &mut opt_b, &config_b, None);
    assert_eq!((bits(&b), bits(&h_b)), (bits(&a), bits(&h_a)));
    assert_eq!(h_b.stop, StopReason::Completed);
    // 7 epochs, every 3: the last checkpoint is the one after epoch 6.
    let checkpoint = Checkpoint::load(&path).unwrap();
    assert_eq!((checkpoint.epochs_done, checkpoint.steps_done), (6, 6 * h_a.steps_per_epoch));
    assert_eq!(checkpoint.history.train_loss[..], h_a.train_loss[..6]);
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn a_checkpoint_that_does_not_fit_the_call_is_a_clear_error() {
    let d = data();
    let (_, config) = configs().remove(0);
    let path = temp("mismatch");
    let first = TrainConfig {
        epochs: 2,
        checkpoint: Some(Checkpointing { path: path.clone(), every: 1 }),
        ..config.clone()
    };
    train(&d, &mut start(), &mut Optimizer::adam(0.01).unwrap(), &first, None);
    let checkpoint = Checkpoint::load(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    let resume =
        |net: &mut Network, opt: &mut Optimizer, c: &TrainConfig, x: &Array2<f64>, y: &Array2<f64>| {
            Trainer::new(c)
                .validation((&d.x_val, &d.y_val))
                .resume(&checkpoint)
                .fit(net, opt, (x, y))
                .unwrap_err()
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
    // Another optimizer, or another α₀.
    expect(resume(&mut start(), &mut Optimizer::sgd(0.01).unwrap(), &config, &d.x, &d.y), &["Adam", "SGD"]);
    expect(resume(&mut start(), &mut Optimizer::adam(0.02).unwrap(), &config, &d.x, &d.y), &["0.01", "0.02"]);
    // Another config: seed, batch size, dropout.
    let other = TrainConfig { seed: 12, batch_size: 16, ..config.clone() };
    expect(
        resume(&mut start(), &mut adam(), &other, &d.x, &d.y),
        &["seed: checkpoint 11, this call 12", "batch_size"],
    );
    let no_dropout = TrainConfig { dropout: Dropout::Off, ..config.clone() };
    expect(resume(&mut start(), &mut adam(), &no_dropout, &d.x, &d.y), &["dropout"]);
    // Another training set size.
    let (x, y) = (d.x.slice(ndarray::s![.., ..200]).to_owned(), d.y.slice(ndarray::s![.., ..200]).to_owned());
    expect(resume(&mut start(), &mut adam(), &config, &x, &y), &["270", "200"]);
    // More epochs, another budget or progress are allowed: the run simply goes on further.
    let longer = TrainConfig { epochs: 9, progress: Progress::Silent, time_budget: None, ..config };
    let h = resume_ok(&d, &checkpoint, &longer);
    assert_eq!(h.epochs(), 9);
}

fn resume_ok(d: &Data, checkpoint: &Checkpoint, c: &TrainConfig) -> History {
    train(d, &mut start(), &mut Optimizer::adam(0.01).unwrap(), c, Some(checkpoint))
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
    let bad = TrainConfig {
        checkpoint: Some(Checkpointing { path: temp("zero"), every: 0 }),
        ..TrainConfig::default()
    };
    let err = fit(&mut start(), &mut Optimizer::adam(0.01).unwrap(), (&d.x, &d.y), &bad).unwrap_err();
    assert!(err.to_string().contains("checkpoint.every"), "{err}");
}
