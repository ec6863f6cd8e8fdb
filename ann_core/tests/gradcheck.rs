//! Backprop against central differences for every activation, every loss, L2 and dropout.

use ann_core::*;
use ndarray::Array2;
use rand::SeedableRng;
use rand::rngs::ChaCha8Rng;

const TOL: f64 = 1e-7;

fn inputs(n_x: usize, m: usize, seed: u64) -> Array2<f64> {
    let d = blobs(m, 2, n_x, 1.0, seed).unwrap();
    StandardScaler::fit_transform(d.x.view()).unwrap().1
}

fn targets(loss: Loss, n_out: usize, m: usize, seed: u64) -> Array2<f64> {
    let labels: Vec<usize> = (0..m).map(|j| (j * 7 + seed as usize) % n_out.max(2)).collect();
    match loss {
        Loss::BinaryCrossEntropy => Array2::from_shape_fn((n_out, m), |(i, j)| ((i + j) % 2) as f64),
        Loss::CrossEntropy => one_hot(&labels, n_out),
        Loss::MeanSquaredError => Array2::from_shape_fn((n_out, m), |(i, j)| ((i * 3 + j) as f64).sin()),
    }
}

fn check(net: &Network, x: &Array2<f64>, y: &Array2<f64>, lambda: f64) {
    let report = gradient_check(net, x.view(), y.view(), lambda, 1e-6, None).unwrap();
    assert!(
        report.passes(TOL),
        "{:?}\n{report}",
        net.layers().iter().map(|l| l.activation).collect::<Vec<_>>()
    );
}

#[test]
fn every_hidden_activation_passes() {
    // Smooth activations everywhere; ReLU's kink is avoided by the seed and checked again below.
    for hidden in
        [Activation::Tanh, Activation::Sigmoid, Activation::Linear, Activation::Relu, Activation::Softmax]
    {
        let mut net = Network::with_activations(
            &[3, 5, 4, 1],
            &[hidden, hidden, Activation::Sigmoid],
            Loss::BinaryCrossEntropy,
            Init::Xavier,
            11,
        )
        .unwrap();
        // Non-zero biases keep ReLU's Z away from its kink at exactly 0 (a dead layer
        // gives Z = b = 0, where the one-sided derivative and the central difference differ).
        for layer in net.layers_mut() {
            layer.b.fill(0.1);
        }
        check(&net, &inputs(3, 6, 1), &targets(Loss::BinaryCrossEntropy, 1, 6, 0), 0.0);
    }
}

#[test]
fn every_output_activation_with_mse_passes() {
    for out in Activation::ALL {
        let net = Network::with_activations(
            &[2, 4, 3],
            &[Activation::Tanh, out],
            Loss::MeanSquaredError,
            Init::Xavier,
            3,
        )
        .unwrap();
        check(&net, &inputs(2, 5, 2), &targets(Loss::MeanSquaredError, 3, 5, 0), 0.0);
    }
}

#[test]
fn every_loss_passes_with_and_without_l2() {
    for (task, n_out) in [(Task::Binary, 1), (Task::MultiClass, 4), (Task::Regression, 2)] {
        let net = Network::new(&[3, 6, 5, n_out], Activation::Tanh, task, Init::Xavier, 5).unwrap();
        let y = targets(net.loss(), n_out, 7, 1);
        for lambda in [0.0, 0.7] {
            check(&net, &inputs(3, 7, 4), &y, lambda);
        }
    }
}

#[test]
fn dropout_with_a_frozen_mask_passes() {
    let net = Network::new(&[3, 8, 6, 1], Activation::Tanh, Task::Binary, Init::Xavier, 8).unwrap();
    let x = inputs(3, 6, 3);
    let y = targets(Loss::BinaryCrossEntropy, 1, 6, 0);
    let dropout = Dropout::Hidden(0.6);
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let cache = net.forward_train(x.view(), &dropout, &mut rng).unwrap();
    let masks = cache.masks();
    assert!(masks[0].as_ref().unwrap().iter().any(|&d| d == 0.0), "the mask should drop something");
    let frozen = FrozenDropout { dropout: &dropout, masks: &masks };
    let report = gradient_check(&net, x.view(), y.view(), 0.1, 1e-6, Some(frozen)).unwrap();
    assert!(report.passes(TOL), "{report}");
}

#[test]
fn a_planted_bug_is_caught() {
    let net = Network::new(&[2, 4, 1], Activation::Tanh, Task::Binary, Init::Xavier, 1).unwrap();
    let x = inputs(2, 5, 1);
    let y = targets(Loss::BinaryCrossEntropy, 1, 5, 0);
    let mut grads = net.backward(&net.forward(x.view()).unwrap(), y.view(), 0.0).unwrap();
    // The classic mistake: forgetting the 1/m in dW[1].
    *grads.get_mut(ParamId::w(1)).unwrap() *= 5.0;
    let numeric = numerical_gradients(&net, x.view(), y.view(), 0.0, 1e-6, None).unwrap();
    let report = compare_gradients(&grads, &numeric);
    assert!(!report.passes(TOL));
    assert!(report.tensors[0].relative_error > 0.1, "{report}");
    assert!(report.tensors[1].relative_error < TOL, "{report}");
}
