//! Training in f32: the f64 run's algorithm (same batches, same masks) in another precision.
//! The tolerances below bound how far rounding takes an f32 run from its f64 twin.

use ann_core::*;
use ndarray::Array2;

/// X and Y with each example contiguous (column-major), as the data sets of the benchmarks.
fn column_major(a: Array2<f64>) -> Array2<f64> {
    a.reversed_axes().as_standard_layout().into_owned().reversed_axes()
}

/// W1: 10,000 standardized moons, [2, 64, 32, 1], Adam 0.01, batches of 64, keep_prob 0.8.
fn w1(precision: Precision, epochs: usize) -> (Network, History) {
    let d = two_moons(10_000, 0.2, 42).unwrap();
    let (_, x) = StandardScaler::fit_transform(d.x.view()).unwrap();
    let y = d.targets(Task::Binary);
    let mut net = Network::new(&[2, 64, 32, 1], Activation::Relu, Task::Binary, Init::He, 1).unwrap();
    let config = TrainConfig {
        batch_size: 64,
        dropout: Dropout::Hidden(0.8),
        seed: 7,
        precision,
        ..Default::default()
    };
    let h = fit(&mut net, &mut Optimizer::adam(0.01).unwrap(), (&x, &y), &config, epochs).unwrap();
    (net, h)
}

/// W2: 20,000 examples of 10 Gaussian classes in 784 dimensions, [784, 256, 128, 10],
/// Adam 0.001, batches of 128, keep_prob 0.9.
fn w2(precision: Precision, epochs: usize) -> (Network, History) {
    let d = blobs(20_000, 10, 784, 25.0, 42).unwrap();
    let (_, x) = StandardScaler::fit_transform(d.x.view()).unwrap();
    let (x, y) = (column_major(x), column_major(d.targets(Task::MultiClass)));
    let mut net =
        Network::new(&[784, 256, 128, 10], Activation::Relu, Task::MultiClass, Init::He, 1).unwrap();
    let config = TrainConfig {
        batch_size: 128,
        dropout: Dropout::Hidden(0.9),
        seed: 7,
        precision,
        ..Default::default()
    };
    let h = fit(&mut net, &mut Optimizer::adam(0.001).unwrap(), (&x, &y), &config, epochs).unwrap();
    (net, h)
}

fn report(name: &str, h64: &History, h32: &History) -> (f64, f64, f64) {
    let final_loss = (h64.train_loss.last().unwrap() - h32.train_loss.last().unwrap()).abs();
    let final_acc = (h64.final_train_accuracy().unwrap() - h32.final_train_accuracy().unwrap()).abs();
    let steps = h64.step_loss.iter().zip(&h32.step_loss).map(|(a, b)| (a - b).abs());
    let step_max = steps.fold(0.0, f64::max);
    println!(
        "{name}: final loss f64 {:.6} f32 {:.6} (|Δ| {final_loss:.2e}), accuracy f64 {:.4} f32 {:.4}, \
         largest step-loss |Δ| {step_max:.2e} over {} steps",
        h64.train_loss.last().unwrap(),
        h32.train_loss.last().unwrap(),
        h64.final_train_accuracy().unwrap(),
        h32.final_train_accuracy().unwrap(),
        h64.step_loss.len()
    );
    (final_loss, final_acc, step_max)
}

#[test]
fn w1_in_f32_ends_where_f64_does() {
    let (_, h64) = w1(Precision::F64, 20);
    let (net32, h32) = w1(Precision::F32, 20);
    let (loss, acc, step) = report("W1", &h64, &h32);
    assert!(loss < 5e-3 && acc < 5e-3 && step < 5e-2, "{loss} {acc} {step}");
    // Same seed, same bits.
    let (again, h_again) = w1(Precision::F32, 20);
    assert_eq!(net32, again);
    assert_eq!(h32, h_again);
    // Every weight returned is an f32 value.
    assert!(net32.layers().iter().all(|l| l.w.iter().all(|&v| f64::from(v as f32) == v)));
}

#[test]
fn w2_in_f32_ends_where_f64_does() {
    let (_, h64) = w2(Precision::F64, 3);
    let (_, h32) = w2(Precision::F32, 3);
    let (loss, acc, step) = report("W2", &h64, &h32);
    assert!(loss < 5e-3 && acc < 5e-3 && step < 5e-2, "{loss} {acc} {step}");
}

#[test]
fn what_f32_does_not_train_is_an_error_that_says_so() {
    let d = two_moons(200, 0.2, 1).unwrap();
    let y = d.targets(Task::Binary);
    let config = TrainConfig { precision: Precision::F32, ..Default::default() };
    let adam = || Optimizer::adam(0.01).unwrap();
    let dense = Network::new(&[2, 8, 1], Activation::Relu, Task::Binary, Init::He, 1).unwrap();
    let normalized = dense.clone().with_normalization(BatchNormConfig::default()).unwrap();
    let err = fit(&mut normalized.clone(), &mut adam(), (&d.x, &y), &config, 1).unwrap_err().to_string();
    assert!(err.contains("precision") && err.contains("layer 1 is batch norm"), "{err}");
    let softmax_hidden = Network::with_activations(
        &[2, 4, 1],
        &[Activation::Softmax, Activation::Sigmoid],
        Loss::BinaryCrossEntropy,
        Init::He,
        1,
    )
    .unwrap();
    let err = fit(&mut softmax_hidden.clone(), &mut adam(), (&d.x, &y), &config, 1).unwrap_err().to_string();
    assert!(err.contains("layer 1 is a softmax hidden layer"), "{err}");
    // An observer of every step needs the f64 cache; one of epochs only is welcome.
    struct Steps;
    impl Observer for Steps {}
    let err = Trainer::new(&config, 1).observer(&mut Steps).fit(&mut dense.clone(), &mut adam(), (&d.x, &y));
    assert!(err.unwrap_err().to_string().contains("observer of steps"));
    struct Epochs(usize);
    impl Observer for Epochs {
        fn observes_steps(&self) -> bool {
            false
        }
        fn on_epoch_end(&mut self, _: &EpochInfo<'_>) {
            self.0 += 1;
        }
    }
    let mut epochs = Epochs(0);
    Trainer::new(&config, 3).observer(&mut epochs).fit(&mut dense.clone(), &mut adam(), (&d.x, &y)).unwrap();
    assert_eq!(epochs.0, 3);
    // The network is untouched by a refused run.
    let mut untouched = normalized.clone();
    let _ = fit(&mut untouched, &mut adam(), (&d.x, &y), &config, 1);
    assert_eq!(untouched, normalized);
}

/// X and Y held in f32 (half the memory) train exactly like f64 arrays of the same values:
/// the batches are rounded to f32 either way.
#[test]
fn f32_examples_train_like_f64_examples_of_the_same_values() {
    let d = two_moons(2_000, 0.2, 3).unwrap();
    let (_, x) = StandardScaler::fit_transform(d.x.view()).unwrap();
    let x = x.mapv(|v| f64::from(v as f32));
    let y = d.targets(Task::Binary);
    let (x32, y32) = (x.mapv(|v| v as f32), y.mapv(|v| v as f32));
    let (xv, yv) = (x.slice(ndarray::s![.., ..500]).to_owned(), y.slice(ndarray::s![.., ..500]).to_owned());
    let (xv32, yv32) = (xv.mapv(|v| v as f32), yv.mapv(|v| v as f32));
    let start = Network::new(&[2, 32, 16, 1], Activation::Tanh, Task::Binary, Init::Xavier, 5).unwrap();
    let config = TrainConfig {
        batch_size: 50,
        dropout: Dropout::Hidden(0.8),
        l2: 0.1,
        precision: Precision::F32,
        ..Default::default()
    };
    let (mut a, mut b) = (start.clone(), start.clone());
    let ha = Trainer::new(&config, 4).validation((&xv, &yv)).fit(
        &mut a,
        &mut Optimizer::adam(0.01).unwrap(),
        (&x, &y),
    );
    let hb = Trainer::new(&config, 4).validation((&xv32, &yv32)).fit(
        &mut b,
        &mut Optimizer::adam(0.01).unwrap(),
        (&x32, &y32),
    );
    assert_eq!(ha.unwrap(), hb.unwrap());
    assert_eq!(a, b);
    // An f64 run takes f64 examples only.
    let f64_run = TrainConfig { precision: Precision::F64, ..config.clone() };
    let err =
        fit(&mut start.clone(), &mut Optimizer::adam(0.01).unwrap(), (&x32, &y32), &f64_run, 1).unwrap_err();
    assert!(err.to_string().contains("Precision::F32"), "{err}");
    // f32 examples are checked like f64 ones: a NaN, a wrong label, a wrong shape.
    let mut bad = x32.clone();
    bad[[1, 7]] = f32::NAN;
    let e =
        fit(&mut start.clone(), &mut Optimizer::adam(0.01).unwrap(), (&bad, &y32), &config, 1).unwrap_err();
    assert!(e.to_string().contains("training X"), "{e}");
    let mut bad_y = y32.clone();
    bad_y[[0, 3]] = 2.0;
    assert!(
        fit(&mut start.clone(), &mut Optimizer::adam(0.01).unwrap(), (&x32, &bad_y), &config, 1).is_err()
    );
    let short_y = y32.slice(ndarray::s![.., ..10]).to_owned();
    let e = fit(&mut start.clone(), &mut Optimizer::adam(0.01).unwrap(), (&x32, &short_y), &config, 1)
        .unwrap_err();
    assert!(e.to_string().contains("training Y"), "{e}");
}

/// A convolutional network (two convolutions, max pooling, dropout) on the 1,797 digits of
/// 8×8 pixels: the f32 run follows the f64 one.
#[test]
fn a_convolutional_network_in_f32_ends_where_f64_does() {
    let d = digits().unwrap();
    let (x, y) = (d.x.mapv(|p| p / 16.0), d.targets(Task::MultiClass));
    let specs = [
        Conv2dConfig::new(6, 3).padding(1).pool(2).into(),
        Conv2dConfig::new(8, 3).padding(1).into(),
        LayerSpec::Dense(10),
    ];
    let run = |precision| {
        let mut net = Network::convolutional(
            Image::new(1, 8, 8),
            &specs,
            Activation::Relu,
            Task::MultiClass,
            Init::He,
            2,
        )
        .unwrap();
        let config = TrainConfig {
            batch_size: 32,
            dropout: Dropout::Hidden(0.9),
            seed: 5,
            precision,
            ..Default::default()
        };
        let h = fit(&mut net, &mut Optimizer::adam(0.01).unwrap(), (&x, &y), &config, 8).unwrap();
        (net, h)
    };
    let (_, h64) = run(Precision::F64);
    let (net32, h32) = run(Precision::F32);
    let (loss, acc, step) = report("digits, convolutional", &h64, &h32);
    assert!(loss < 5e-3 && acc < 5e-3 && step < 5e-2, "{loss} {acc} {step}");
    assert!(h32.final_train_accuracy().unwrap() > 0.9);
    let (again, h_again) = run(Precision::F32);
    assert_eq!((net32, h32), (again, h_again));
}
