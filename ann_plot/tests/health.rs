//! The health recorder on real runs: one entry per step and layer, the update/weight ratio
//! against two snapshots of the weights, shares in [0, 1], the equations it records; and its
//! figure, which renders and rejects bad input.

use ann_core::*;
use ann_plot::experiments::{FlatRegion, HealthRecorder, NetworkHealth};
use ann_plot::{self as plot};
use ndarray::{Array2, Zip};

/// Forwards every step to a health recorder and keeps every W[l] after it, to check the
/// recorder against snapshots taken apart from it.
struct WithSnapshots {
    recorder: HealthRecorder,
    /// `weights[t][l − 1]`: W[l] after step t (t = 0: the initial weights).
    weights: Vec<Vec<Array2<f64>>>,
    /// dW[l] of each step.
    grads: Vec<Vec<Array2<f64>>>,
}

impl Observer for WithSnapshots {
    fn on_step(&mut self, info: &StepInfo<'_>) {
        self.recorder.on_step(info);
        self.weights.push(info.network.layers().iter().map(|l| l.w.clone()).collect());
        self.grads
            .push((1..=info.network.num_layers()).map(|l| info.gradients.dw(l).unwrap().clone()).collect());
    }
}

/// ‖a − b‖_F / ‖b‖_F, computed on its own.
fn relative_change(a: &Array2<f64>, b: &Array2<f64>) -> f64 {
    let mut d = 0.0;
    Zip::from(a).and(b).for_each(|x, y| d += (x - y).powi(2));
    d.sqrt() / b.iter().map(|v| v * v).sum::<f64>().sqrt()
}

/// A [2, 16, 16, 3] ReLU network trained on three spirals with `optimizer`, observed from
/// its start; returns the observer and the number of steps.
fn spirals_run(optimizer: Optimizer, every: usize, epochs: usize) -> (WithSnapshots, usize) {
    let data = spirals(300, 3, 0.2, 2).unwrap();
    let y = data.targets(Task::MultiClass);
    let mut net = Network::new(&[2, 16, 16, 3], Activation::Relu, Task::MultiClass, Init::He, 5).unwrap();
    let mut obs = WithSnapshots {
        recorder: HealthRecorder::new(&net).every(every).unwrap(),
        weights: vec![net.layers().iter().map(|l| l.w.clone()).collect()],
        grads: Vec::new(),
    };
    let config = TrainConfig { batch_size: 32, seed: 11, ..TrainConfig::default() };
    let mut opt = optimizer;
    let history =
        Trainer::new(&config, epochs).observer(&mut obs).fit(&mut net, &mut opt, (&data.x, &y)).unwrap();
    (obs, history.step_loss.len())
}

#[test]
fn the_recorder_keeps_one_entry_per_step_and_layer_and_its_ratios_match_snapshots() {
    let (obs, steps) = spirals_run(Optimizer::adam(0.01).unwrap(), 1, 4);
    assert_eq!(steps, 4 * 300usize.div_ceil(32));
    let health = obs.recorder.finish().unwrap();
    assert_eq!(health.steps, (1..=steps).collect::<Vec<_>>());
    assert_eq!(health.epochs.len(), steps);
    assert_eq!(health.loss.len(), steps);
    assert_eq!(*health.epochs.last().unwrap(), 3);
    assert_eq!(health.layers.len(), 3);
    for (i, layer) in health.layers.iter().enumerate() {
        assert_eq!(layer.layer, i + 1);
        for series in [
            &layer.update_ratio,
            &layer.activation_mean,
            &layer.activation_std,
            &layer.grad_std,
            &layer.grad_ratio,
        ] {
            assert_eq!(series.len(), steps, "layer {}", layer.layer);
        }
        for t in 0..steps {
            // r[l]_t = ‖W_t − W_{t−1}‖ / ‖W_{t−1}‖ from the snapshots before and after step t.
            let expected = relative_change(&obs.weights[t + 1][i], &obs.weights[t][i]);
            let got = layer.update_ratio[t];
            assert!(
                (got - expected).abs() <= 1e-12 * expected,
                "layer {} step {}: {got} vs {expected}",
                i + 1,
                t + 1
            );
            assert!(got > 0.0 && got < 1.0);
            // ‖dW‖ / ‖W_{t−1}‖ and the spread of dW.
            let dw = &obs.grads[t][i];
            let norm = dw.iter().map(|v| v * v).sum::<f64>().sqrt();
            let w_norm = obs.weights[t][i].iter().map(|v| v * v).sum::<f64>().sqrt();
            assert!((layer.grad_ratio[t] - norm / w_norm).abs() <= 1e-12 * norm / w_norm);
            let mean = dw.mean().unwrap();
            let std = (dw.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / dw.len() as f64).sqrt();
            assert!((layer.grad_std[t] - std).abs() <= 1e-12 * std);
            assert!(layer.activation_std[t] > 0.0);
        }
    }
    // Hidden ReLU layers: shares in [0, 1], and about half of the entries at zero (He init,
    // inputs centred); the softmax output has no flat region.
    for layer in &health.layers[..2] {
        assert_eq!(layer.flat_region, Some(FlatRegion::ReluZero));
        assert_eq!(layer.flat_fraction.len(), steps);
        assert_eq!(layer.dead_units.len(), steps);
        for (&f, &d) in layer.flat_fraction.iter().zip(&layer.dead_units) {
            assert!((0.0..=1.0).contains(&f) && (0.0..=1.0).contains(&d));
            // A unit dead on the whole batch has all its m entries at zero.
            assert!(d <= f + 1e-12);
        }
        let mean_flat = layer.flat_fraction.iter().sum::<f64>() / steps as f64;
        assert!(mean_flat > 0.2 && mean_flat < 0.8, "mean share at zero {mean_flat}");
    }
    let output = &health.layers[2];
    assert_eq!(output.flat_region, None);
    assert!(output.flat_fraction.is_empty() && output.dead_units.is_empty());
    // Softmax outputs lie in (0, 1) and each column sums to 1: the mean is exactly 1/K.
    assert!(output.activation_mean.iter().all(|&m| (m - 1.0 / 3.0).abs() < 1e-12));
    let median = health.layers[0].median_update_ratio().unwrap();
    assert!(median > 1e-4 && median < 1e-1, "median r[1] = {median}");
}

#[test]
fn under_plain_gradient_descent_the_update_ratio_is_alpha_times_the_gradient_ratio() {
    // ΔW[l] = −α dW[l], so ‖ΔW[l]‖ / ‖W[l]‖ = α ‖dW[l]‖ / ‖W[l]‖.
    let alpha = 0.3;
    let (obs, _) = spirals_run(Optimizer::sgd(alpha).unwrap(), 1, 2);
    let health = obs.recorder.finish().unwrap();
    for layer in &health.layers {
        for (r, g) in layer.update_ratio.iter().zip(&layer.grad_ratio) {
            assert!((r - alpha * g).abs() <= 1e-9 * r, "layer {}: {r} vs α·{g}", layer.layer);
        }
    }
}

#[test]
fn every_kth_step_is_recorded_against_the_weights_just_before_it() {
    let (obs, steps) = spirals_run(Optimizer::adam(0.01).unwrap(), 5, 2);
    let health = obs.recorder.finish().unwrap();
    assert_eq!(health.every, 5);
    let expected: Vec<usize> = (5..=steps).step_by(5).collect();
    assert_eq!(health.steps, expected);
    for (k, &t) in health.steps.iter().enumerate() {
        for (i, layer) in health.layers.iter().enumerate() {
            let r = relative_change(&obs.weights[t][i], &obs.weights[t - 1][i]);
            assert!((layer.update_ratio[k] - r).abs() <= 1e-12 * r, "step {t}, layer {}", i + 1);
        }
    }
    let net = Network::new(&[2, 4, 1], Activation::Relu, Task::Binary, Init::He, 1).unwrap();
    assert!(HealthRecorder::new(&net).every(0).is_err());
}

#[test]
fn tanh_layers_report_saturation_and_another_network_is_an_error() {
    let data = two_moons(128, 0.2, 1).unwrap();
    let y = data.targets(Task::Binary);
    // N(0, 1) weights into tanh units with large inputs: many saturate.
    let x = data.x.mapv(|v| 4.0 * v);
    let mut net =
        Network::new(&[2, 32, 1], Activation::Tanh, Task::Binary, Init::Random { scale: 1.0 }, 3).unwrap();
    let mut rec = HealthRecorder::new(&net);
    let config = TrainConfig { batch_size: 64, ..TrainConfig::default() };
    Trainer::new(&config, 1)
        .observer(&mut rec)
        .fit(&mut net, &mut Optimizer::adam(0.01).unwrap(), (&x, &y))
        .unwrap();
    let health = rec.finish().unwrap();
    assert_eq!(health.layers[0].flat_region, Some(FlatRegion::TanhSaturated));
    assert_eq!(health.layers[1].flat_region, Some(FlatRegion::SigmoidSaturated));
    assert!(health.layers[0].flat_fraction[0] > 0.2, "{:?}", health.layers[0].flat_fraction);
    // A recorder made for another network refuses to report.
    let other = Network::new(&[2, 8, 1], Activation::Tanh, Task::Binary, Init::He, 3).unwrap();
    let mut rec = HealthRecorder::new(&other);
    Trainer::new(&config, 1)
        .observer(&mut rec)
        .fit(&mut net, &mut Optimizer::adam(0.01).unwrap(), (&x, &y))
        .unwrap();
    let err = rec.finish().unwrap_err().to_string();
    assert!(err.contains("W[1]") && err.contains("(8, 2)") && err.contains("(32, 2)"), "{err}");
}

#[test]
fn convolutional_layers_are_recorded_too() {
    let x = Array2::from_shape_fn((36, 40), |(i, j)| ((i * 7 + j * 3) % 11) as f64 / 11.0 - 0.4);
    let labels: Vec<usize> = (0..40).map(|j| j % 2).collect();
    let y = Array2::from_shape_fn((2, 40), |(k, j)| f64::from(labels[j] == k));
    // 4 filters of 3 × 3 on a 6 × 6 image, pooled 2 × 2: Z[1] is (4·4·4, m), A[1] (4·2·2, m).
    let specs =
        [LayerSpec::Conv2d(Conv2dConfig::new(4, 3).pool(2)), LayerSpec::Dense(8), LayerSpec::Dense(2)];
    let net_built =
        Network::convolutional(Image::new(1, 6, 6), &specs, Activation::Relu, Task::MultiClass, Init::He, 1);
    let mut net = net_built.unwrap();
    let mut rec = HealthRecorder::new(&net);
    let config = TrainConfig { batch_size: 20, ..TrainConfig::default() };
    Trainer::new(&config, 2)
        .observer(&mut rec)
        .fit(&mut net, &mut Optimizer::adam(0.01).unwrap(), (&x, &y))
        .unwrap();
    let health = rec.finish().unwrap();
    assert!(health.layers[0].convolutional && !health.layers[1].convolutional);
    assert_eq!(health.layers[0].update_ratio.len(), 4);
    assert!(health.layers[0].flat_fraction.iter().all(|f| (0.0..=1.0).contains(f)));
    plot::network_health(&health, "").unwrap();
}

fn small_health() -> NetworkHealth {
    let (obs, _) = spirals_run(Optimizer::adam(0.01).unwrap(), 1, 2);
    obs.recorder.finish().unwrap()
}

#[test]
fn the_figure_renders_and_rejects_bad_input() {
    let health = small_health();
    let fig = plot::network_health(&health, "").unwrap();
    assert!(fig.png_bytes().starts_with(b"\x89PNG"));
    assert!(fig.width() <= plot::style::COLUMN_WIDTH);
    assert_eq!(fig.title(), format!("Health of a network over {} training steps", health.steps.len()));
    assert_eq!(fig.png_bytes(), plot::network_health(&health, "").unwrap().png_bytes(), "deterministic");
    let svg = fig.svg();
    for text in ["rule of thumb 1e-3", "Dead or saturated units", "layer 3: softmax, 3 units"] {
        assert!(svg.contains(text), "missing {text:?}");
    }
    assert!(plot::network_health(&health, "custom").unwrap().svg().contains("custom"));

    let mut empty = health.clone();
    empty.steps.clear();
    assert!(plot::network_health(&empty, "").is_err());
    let mut no_layers = health.clone();
    no_layers.layers.clear();
    assert!(plot::network_health(&no_layers, "").is_err());
    let mut nan = health.clone();
    nan.layers[1].grad_std[3] = f64::NAN;
    let err = plot::network_health(&nan, "").unwrap_err().to_string();
    assert!(err.contains("grad_std of layer 2"), "{err}");
    let mut inf = health.clone();
    inf.layers[0].update_ratio[0] = f64::INFINITY;
    assert!(plot::network_health(&inf, "").is_err());
    let mut short = health.clone();
    short.layers[0].dead_units.pop();
    let err = plot::network_health(&short, "").unwrap_err().to_string();
    assert!(err.contains("dead_units of layer 1"), "{err}");
    // One recorded step still draws.
    let mut one = health;
    one.steps.truncate(1);
    for l in &mut one.layers {
        for v in [
            &mut l.update_ratio,
            &mut l.activation_mean,
            &mut l.activation_std,
            &mut l.grad_std,
            &mut l.grad_ratio,
        ] {
            v.truncate(1);
        }
        l.flat_fraction.truncate(usize::from(l.flat_region.is_some()));
        l.dead_units.truncate(usize::from(l.flat_region.is_some()));
    }
    plot::network_health(&one, "").unwrap();
}
