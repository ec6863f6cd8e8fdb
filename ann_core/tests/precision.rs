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
