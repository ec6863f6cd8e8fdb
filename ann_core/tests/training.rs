//! End-to-end training: accuracy, determinism, divergence, validation and early stopping.

use ann_core::*;
use ndarray::Array2;

fn moons(m: usize, seed: u64) -> (Array2<f64>, Array2<f64>) {
    let d = two_moons(m, 0.2, seed).unwrap();
    let (_, x) = StandardScaler::fit_transform(d.x.view()).unwrap();
    (x, d.targets(Task::Binary))
}

fn config() -> TrainConfig {
    TrainConfig { batch_size: 64, dropout: Dropout::Hidden(0.8), seed: 7, ..TrainConfig::default() }
}

/// The end-to-end target: [2, 64, 32, 1] with Adam on 10,000 moons, >= 95% in 20 epochs.
#[test]
fn moons_reach_95_percent_in_20_epochs() {
    let (x, y) = moons(10_000, 1);
    let mut net = Network::new(&[2, 64, 32, 1], Activation::Relu, Task::Binary, Init::He, 3).unwrap();
    let mut adam = Optimizer::adam(0.01).unwrap();
    let h = fit(&mut net, &mut adam, DataView::new(x.view(), y.view()), &config(), 20).unwrap();
    let acc = h.final_train_accuracy().unwrap();
    assert!(acc >= 0.95, "training accuracy {acc}");
    assert_eq!(h.epochs(), 20);
    assert_eq!(h.steps_per_epoch, 157);
    assert_eq!(h.step_loss.len(), 20 * 157);
    assert_eq!(adam.state().t, 20 * 157);
    assert!(h.train_loss[19] < h.train_loss[0]);
    assert_eq!(h.grad_norms.len(), 20);
    assert_eq!(h.weight_norms[0].len(), 3);
    assert!(h.val_loss.is_empty());
}

#[test]
fn same_seed_gives_bit_identical_weights_and_history() {
    let run = || {
        let (x, y) = moons(1000, 2);
        let mut net = Network::new(&[2, 16, 8, 1], Activation::Relu, Task::Binary, Init::He, 5).unwrap();
        let mut adam = Optimizer::adam(0.01).unwrap();
        let h = fit(&mut net, &mut adam, DataView::new(x.view(), y.view()), &config(), 3).unwrap();
        (net, h)
    };
    let (n1, h1) = run();
    let (n2, h2) = run();
    assert_eq!(n1, n2);
    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&h1.step_loss), bits(&h2.step_loss));
    assert_eq!(h1, h2);
    // And another seed changes things.
    let (x, y) = moons(1000, 2);
    let mut net = Network::new(&[2, 16, 8, 1], Activation::Relu, Task::Binary, Init::He, 5).unwrap();
    let cfg = TrainConfig { seed: 8, ..config() };
    let h3 = fit(&mut net, &mut Optimizer::adam(0.01).unwrap(), DataView::new(x.view(), y.view()), &cfg, 3)
        .unwrap();
    assert_ne!(bits(&h1.step_loss), bits(&h3.step_loss));
}

#[test]
fn divergence_is_an_error_naming_epoch_and_step_and_weights_stay_finite() {
    let d = blobs(500, 3, 2, 3.0, 1).unwrap();
    let y = d.targets(Task::Regression).mapv(|v| v * 1000.0);
    let mut net = Network::new(&[2, 32, 32, 1], Activation::Relu, Task::Regression, Init::He, 1).unwrap();
    let mut sgd = Optimizer::sgd(10.0).unwrap();
    let err = fit(&mut net, &mut sgd, DataView::new(d.x.view(), y.view()), &config(), 50).unwrap_err();
    match err {
        AnnError::Diverged { epoch, step, loss } => {
            assert!(!loss.is_finite());
            assert!(epoch < 50 && step < 50 * 8);
        }
        other => panic!("expected divergence, got {other}"),
    }
    assert!(err.to_string().contains("epoch"));
    for l in net.layers() {
        assert!(l.w.iter().chain(l.b.iter()).all(|v| v.is_finite()));
    }
}

#[test]
fn validation_metrics_observer_and_multiclass() {
    let d = spirals(600, 3, 0.2, 4).unwrap();
    let (train, val) = train_test_split(&d, 0.25, 1).unwrap();
    let (scaler, xt) = StandardScaler::fit_transform(train.x.view()).unwrap();
    let xv = scaler.transform(val.x.view()).unwrap();
    let (yt, yv) = (train.targets(Task::MultiClass), val.targets(Task::MultiClass));
    let mut net = Network::new(&[2, 32, 32, 3], Activation::Relu, Task::MultiClass, Init::He, 2).unwrap();
    struct Count(usize, usize, Vec<u64>);
    impl Observer for Count {
        fn on_step(&mut self, info: &StepInfo<'_>) {
            self.0 += 1;
            self.2.push(info.optimizer.state().t);
        }
        fn on_epoch_end(&mut self, _: &EpochInfo<'_>) {
            self.1 += 1;
        }
    }
    let mut obs = Count(0, 0, Vec::new());
    let cfg = TrainConfig { batch_size: 32, dropout: Dropout::Hidden(1.0), ..config() };
    let h = Trainer::new(&cfg, 60)
        .validation(DataView::new(xv.view(), yv.view()))
        .observer(&mut obs)
        .fit(&mut net, &mut Optimizer::adam(0.01).unwrap(), DataView::new(xt.view(), yt.view()))
        .unwrap();
    assert_eq!(obs.1, 60);
    assert_eq!(obs.0, 60 * h.steps_per_epoch);
    assert_eq!(obs.2[..3], [1, 2, 3]);
    assert_eq!(h.val_loss.len(), 60);
    assert!(h.val_accuracy[59] > 0.9, "val accuracy {}", h.val_accuracy[59]);
}

#[test]
fn early_stopping_restores_the_best_weights() {
    let d = two_moons(80, 0.35, 3).unwrap();
    let (train, val) = train_test_split(&d, 0.5, 2).unwrap();
    let (yt, yv) = (train.targets(Task::Binary), val.targets(Task::Binary));
    let mut net = Network::new(&[2, 128, 128, 1], Activation::Relu, Task::Binary, Init::He, 2).unwrap();
    let cfg = TrainConfig {
        batch_size: 8,
        early_stopping: Some(EarlyStopping { patience: 10, min_delta: 0.0 }),
        ..config()
    };
    let (xt, xv) = (train.x.view(), val.x.view());
    let h = Trainer::new(&cfg, 400)
        .validation(DataView::new(xv, yv.view()))
        .fit(&mut net, &mut Optimizer::adam(0.01).unwrap(), DataView::new(xt, yt.view()))
        .unwrap();
    let best = h.best_epoch.unwrap();
    assert!(h.epochs() < 400, "should stop early, ran {}", h.epochs());
    assert_eq!(h.epochs(), best + 11);
    let (vloss, _) = evaluate(&net, DataView::new(xv, yv.view()), 0.0).unwrap();
    assert_eq!(vloss.to_bits(), h.val_loss[best].to_bits());
}

#[test]
fn bad_hyperparameters_and_data_are_errors() {
    let (x, y) = moons(100, 1);
    let mut net = Network::new(&[2, 4, 1], Activation::Relu, Task::Binary, Init::He, 1).unwrap();
    let mut adam = Optimizer::adam(0.01).unwrap();
    let data = DataView::new(x.view(), y.view());
    for cfg in [
        TrainConfig { batch_size: 0, ..config() },
        TrainConfig { dropout: Dropout::Hidden(0.0), ..config() },
        TrainConfig { dropout: Dropout::Hidden(1.2), ..config() },
        TrainConfig { dropout: Dropout::PerLayer(vec![0.5]), ..config() },
        TrainConfig { l2: -1.0, ..config() },
        TrainConfig { early_stopping: Some(EarlyStopping { patience: 3, min_delta: 0.0 }), ..config() },
    ] {
        assert!(fit(&mut net, &mut adam, data, &cfg, 1).is_err(), "{cfg:?}");
    }
    let bad_y = y.mapv(|v| v * 2.0);
    assert!(matches!(
        fit(&mut net, &mut adam, DataView::new(x.view(), bad_y.view()), &config(), 1),
        Err(AnnError::InvalidLabels(_))
    ));
    let short_y = y.slice(ndarray::s![.., ..50]).to_owned();
    let err = fit(&mut net, &mut adam, DataView::new(x.view(), short_y.view()), &config(), 1).unwrap_err();
    assert!(err.to_string().contains("(1, 50)"), "{err}");
    let mut xn = x.clone();
    xn[[0, 3]] = f64::NAN;
    assert!(matches!(
        fit(&mut net, &mut adam, DataView::new(xn.view(), y.view()), &config(), 1),
        Err(AnnError::NonFinite(_))
    ));
}

/// `fit` twice with one optimizer goes on with its state (t keeps counting), also after early
/// stopping restored the best weights into the network; the optimizer of one network refuses
/// another one, even of the same shapes, before any training step.
#[test]
fn an_optimizer_goes_on_with_its_network_and_refuses_another() {
    let (x, y) = moons(400, 3);
    let (xv, yv) = moons(200, 4);
    let mut net = Network::new(&[2, 16, 1], Activation::Relu, Task::Binary, Init::He, 1).unwrap();
    let mut adam = Optimizer::adam(0.05).unwrap();
    let stop =
        TrainConfig { early_stopping: Some(EarlyStopping { patience: 3, min_delta: 0.0 }), ..config() };
    let h = Trainer::new(&stop, 400).validation((&xv, &yv)).fit(&mut net, &mut adam, (&x, &y)).unwrap();
    assert!(h.best_epoch.is_some() && h.epochs() < 400, "early stopping ended the run");
    let t = adam.state().t;
    assert_eq!(t as usize, h.step_loss.len());
    fit(&mut net, &mut adam, (&x, &y), &config(), 2).unwrap();
    assert_eq!(adam.state().t, t + 2 * 7, "400 examples in batches of 64: 7 steps per epoch");

    let before = adam.clone();
    let mut twin = Network::new(&[2, 16, 1], Activation::Relu, Task::Binary, Init::He, 1).unwrap();
    let err = fit(&mut twin, &mut adam, (&x, &y), &config(), 1).unwrap_err();
    assert!(matches!(err, AnnError::OptimizerState(_)), "{err}");
    assert_eq!(adam, before, "nothing was trained");
    let mut copy = net.clone();
    assert!(fit(&mut copy, &mut adam, (&x, &y), &config(), 1).is_err());
    adam.reset();
    fit(&mut twin, &mut adam, (&x, &y), &config(), 1).unwrap();
}

/// Layers replaced through `layers_mut` with shapes that no longer chain are an error in
/// every pass, never a panic.
#[test]
fn replaced_layers_of_the_wrong_shape_are_errors() {
    let (x, y) = moons(100, 1);
    let good = Network::new(&[2, 4, 1], Activation::Relu, Task::Binary, Init::He, 1).unwrap();
    let mut wrong_b = good.clone();
    wrong_b.layers_mut()[0].b = Array2::zeros((3, 1));
    let mut wrong_w = good.clone();
    wrong_w.layers_mut()[1].w = Array2::zeros((1, 5));
    for net in [wrong_b, wrong_w] {
        assert!(net.predict(x.view()).is_err());
        assert!(evaluate(&net, (&x, &y), 0.0).is_err());
        let mut n = net.clone();
        assert!(fit(&mut n, &mut Optimizer::adam(0.01).unwrap(), (&x, &y), &config(), 1).is_err());
        let mut n = net.clone();
        assert!(fit_reference(&mut n, &mut Optimizer::adam(0.01).unwrap(), (&x, &y), &config(), 1).is_err());
    }
    // Replaced between the forward and the backward pass.
    let cache = good.forward(x.view()).unwrap();
    let mut changed = good.clone();
    changed.layers_mut()[0].b = Array2::zeros((4, 2));
    assert!(changed.backward(&cache, y.view(), 0.0).is_err());
    assert!(changed.cost(&cache, y.view(), 0.0).is_err());
}

/// L2 is divided by the training set's size N: every step's decay is (λ/N) W whatever its
/// batch (the last, smaller one too), and the training and validation losses carry the same
/// penalty, recorded in History.
#[test]
fn l2_is_scaled_by_the_training_set_size() {
    let (x, y) = moons(100, 4);
    let (xv, yv) = moons(40, 5);
    let lambda = 0.3;
    let net0 = Network::new(&[2, 8, 1], Activation::Tanh, Task::Binary, Init::He, 6).unwrap();
    // One step of plain gradient descent on a batch of 4 examples of the 100 (the last batch
    // of an epoch in batches of 32): W ← W − α (dW_data + (λ/N) W), N = 100, not 4.
    let batch = gather_columns(x.view(), &[96, 97, 98, 99]);
    let batch_y = gather_columns(y.view(), &[96, 97, 98, 99]);
    let cache = net0.forward(batch.view()).unwrap();
    let data = net0.backward(&cache, batch_y.view(), 0.0).unwrap();
    let with_l2 = net0.backward(&cache, batch_y.view(), L2::new(lambda, 100)).unwrap();
    let decay = with_l2.dw(1).unwrap() - data.dw(1).unwrap();
    let expected = &net0.layers()[0].w * (lambda / 100.0);
    assert!((&decay - &expected).iter().all(|d| d.abs() < 1e-15), "{decay} vs {expected}");
    // A whole run: History.l2_penalty is the loss minus the data term, on both sets.
    let mut net = net0.clone();
    let config = TrainConfig { batch_size: 32, l2: lambda, seed: 1, ..TrainConfig::default() };
    let h = Trainer::new(&config, 3)
        .validation(DataView::new(xv.view(), yv.view()))
        .fit(&mut net, &mut Optimizer::adam(0.01).unwrap(), DataView::new(x.view(), y.view()))
        .unwrap();
    assert_eq!(h.l2_penalty.len(), 3);
    let sq: f64 = net.layers().iter().map(|l| l.w.iter().map(|v| v * v).sum::<f64>()).sum();
    assert!((h.l2_penalty[2] - lambda / 200.0 * sq).abs() < 1e-15);
    let (j_train, _) = evaluate(&net, DataView::new(x.view(), y.view()), 0.0).unwrap();
    let (j_val, _) = evaluate(&net, DataView::new(xv.view(), yv.view()), 0.0).unwrap();
    assert!((h.train_loss[2] - j_train - h.l2_penalty[2]).abs() < 1e-12);
    assert!((h.val_loss[2] - j_val - h.l2_penalty[2]).abs() < 1e-12);
    // Without L2 nothing is recorded.
    let mut plain = net0.clone();
    let h0 =
        fit(&mut plain, &mut Optimizer::adam(0.01).unwrap(), (&x, &y), &TrainConfig { l2: 0.0, ..config }, 1)
            .unwrap();
    assert!(h0.l2_penalty.is_empty());
}
