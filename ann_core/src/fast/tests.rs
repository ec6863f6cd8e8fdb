//! The fast path (`Workspace`, used by `fit`) against the readable reference path
//! (`Network::forward_train` / `cost` / `backward`): same masks, same numbers.

use super::Workspace;
use crate::*;
use ndarray::{Array2, ArrayView2};
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};

const TOL: f64 = 1e-12;

fn max_diff(a: ArrayView2<f64>, b: ArrayView2<f64>) -> f64 {
    assert_eq!(a.dim(), b.dim());
    a.iter().zip(b.iter()).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max)
}

/// A random convolutional network: a random image, 1-2 convolutional layers (kernel 1, 3 or
/// 5, stride 1 or 2, padding 0-2, pooling or not), 0-1 dense hidden layers; redrawn until the
/// shapes fit.
fn random_cnn(rng: &mut ChaCha8Rng, task: Task, n_out: usize) -> Network {
    loop {
        let image = Image::new(rng.random_range(1..4), rng.random_range(3..11), rng.random_range(3..11));
        let mut specs: Vec<LayerSpec> = (0..rng.random_range(1..3))
            .map(|_| {
                let conv = Conv2dConfig::new(rng.random_range(1..5), [1, 3, 5][rng.random_range(0..3)])
                    .stride(rng.random_range(1..3))
                    .padding(rng.random_range(0..3));
                match rng.random_range(0..3) {
                    0 => conv.pool(2),
                    1 => Conv2dConfig { pool: Some(MaxPool2d { window: 2, stride: 1 }), ..conv },
                    _ => conv,
                }
                .into()
            })
            .collect();
        if rng.random_range(0..2) == 0 {
            specs.push(LayerSpec::Dense(rng.random_range(1..8)));
        }
        specs.push(LayerSpec::Dense(n_out));
        let hidden = Activation::ALL[rng.random_range(0..Activation::ALL.len())];
        if let Ok(net) =
            Network::convolutional(image, &specs, hidden, task, Init::Xavier, rng.random_range(0..1000))
        {
            return net;
        }
    }
}

/// A random network: 1-3 hidden layers of random width and activation, or a random
/// convolutional network; a random task.
fn random_case(rng: &mut ChaCha8Rng) -> (Network, Array2<f64>, Array2<f64>) {
    let hidden_layers = rng.random_range(1..4);
    let n_x = rng.random_range(1..9);
    let mut sizes = vec![n_x];
    sizes.extend((0..hidden_layers).map(|_| rng.random_range(1..24)));
    let task = [Task::Binary, Task::MultiClass, Task::Regression][rng.random_range(0..3)];
    let n_out = match task {
        Task::Binary => 1,
        _ => rng.random_range(2..6),
    };
    sizes.push(n_out);
    let mut acts: Vec<Activation> =
        (0..hidden_layers).map(|_| Activation::ALL[rng.random_range(0..Activation::ALL.len())]).collect();
    acts.push(task.output().0);
    let net =
        Network::with_activations(&sizes, &acts, task.output().1, Init::Xavier, rng.random_range(0..1000))
            .unwrap();
    let m = [1, 2, 7, 33][rng.random_range(0..4)];
    // A normalization on the hidden layers of some cases (batch norm needs 2 examples, layer
    // norm 2 units); a convolutional network instead in others.
    let net = match rng.random_range(0..5) {
        1 if m >= 2 => net.with_normalization(BatchNormConfig::default()).unwrap(),
        3 if sizes[1..sizes.len() - 1].iter().all(|&n| n >= 2) => {
            net.with_normalization(LayerNormConfig::default()).unwrap()
        }
        4 => random_cnn(rng, task, n_out),
        _ => net,
    };
    let n_x = net.input_size();
    let x = Array2::from_shape_simple_fn((n_x, m), || rng.random_range(-2.0..2.0));
    let labels: Vec<usize> = (0..m).map(|_| rng.random_range(0..n_out.max(2))).collect();
    let y = match task {
        Task::Binary => Array2::from_shape_fn((1, m), |(_, j)| labels[j] as f64),
        Task::MultiClass => one_hot(&labels, n_out),
        Task::Regression => Array2::from_shape_simple_fn((n_out, m), || rng.random_range(-1.0..1.0)),
    };
    (net, x, y)
}

/// A workspace for `net` holding the whole batch (X, Y).
fn loaded(net: &Network, x: &Array2<f64>, y: &Array2<f64>) -> Workspace {
    let mut ws = Workspace::new(net, x.ncols()).unwrap();
    let idx: Vec<usize> = (0..x.ncols()).collect();
    ws.load_batch_unchecked(DataView::new(x.view(), y.view()), &idx);
    ws
}

#[test]
fn fast_forward_and_backward_match_the_reference_on_random_networks() {
    let mut rng = ChaCha8Rng::seed_from_u64(2024);
    let mut worst = 0.0f64;
    let mut convolutional = 0;
    for case in 0..200 {
        let (mut net, x, y) = random_case(&mut rng);
        convolutional += net.layers().iter().any(|l| l.kind != LayerKind::Dense) as usize;
        // Non-zero biases, so that Z[l] is not just W A.
        for layer in net.layers_mut() {
            layer.b.mapv_inplace(|_| rng.random_range(-0.5..0.5));
        }
        let l = net.num_layers();
        let keep = [1.0, 0.8, 0.5][case % 3];
        let dropout = Dropout::Hidden(keep);
        let lambda = [0.0, 0.3][case % 2];
        let seed = rng.random_range(0..u64::MAX);
        let (mut r_ref, mut r_fast) = (ChaCha8Rng::seed_from_u64(seed), ChaCha8Rng::seed_from_u64(seed));

        // The batch as the readable loop gathers it (its layout may differ from X's).
        let all: Vec<usize> = (0..x.ncols()).collect();
        let x_gathered = gather_columns(x.view(), &all);
        let cache = net.forward_train(x_gathered.view(), &dropout, &mut r_ref).unwrap();
        let cost = net.cost(&cache, y.view(), lambda).unwrap();
        let grads = net.backward(&cache, y.view(), lambda).unwrap();

        // A workspace first sized for another batch width: the batch gets buffers of its own.
        let mut ws = Workspace::new(&net, x.ncols().max(2) - 1).unwrap();
        let idx: Vec<usize> = (0..x.ncols()).collect();
        ws.load_batch_unchecked(DataView::new(x.view(), y.view()), &idx);
        let fast = ws.forward_train(&net, &dropout, &mut r_fast).unwrap();
        assert_eq!(r_ref, r_fast, "case {case}: both paths must consume the same random draws");
        for k in 1..=l {
            assert_eq!(fast.mask(k), cache.mask(k), "case {case}: mask D[{k}]");
            worst = worst.max(max_diff(fast.z(k).unwrap(), cache.z(k).unwrap()));
            worst = worst.max(max_diff(fast.a(k).unwrap(), cache.a(k).unwrap()));
            assert_eq!(fast.normalization_stats(k), cache.normalization_stats(k), "case {case}: Ẑ[{k}]");
        }
        let fast_cost = ws.cost(&net, lambda).unwrap();
        worst = worst.max((fast_cost - cost).abs());
        let fast_grads = ws.backward(&net, lambda).unwrap();
        assert_eq!(fast_grads.len(), grads.len());
        for ((id, f), (_, r)) in fast_grads.iter().zip(grads.iter()) {
            let d = max_diff(f.view(), r.view());
            assert!(d <= TOL, "case {case}: d{id} differs by {d}");
            worst = worst.max(d);
        }
        // In the default build the two paths agree to the last bit.
        #[cfg(not(feature = "blas"))]
        assert_eq!(fast_grads, &grads, "case {case}: {}", net.architecture());
        assert!(worst <= TOL, "case {case}: forward differs by {worst}");
    }
    eprintln!(
        "largest |fast − reference| over 200 random networks ({convolutional} convolutional): {worst:e}"
    );
}

/// A wide layer (products big enough for the matrix backend's multi-threaded path in the
/// `threading` build): the fast path still has the reference's bits.
#[cfg(not(feature = "blas"))]
#[test]
fn big_products_give_the_bits_of_the_reference() {
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    // W[1] is 136 × 300 and the batch 130 wide: 136 · 300 · 130 ≈ 5.3M multiply-adds.
    let net = Network::new(&[300, 136, 10], Activation::Relu, Task::MultiClass, Init::He, 4).unwrap();
    let x = Array2::from_shape_simple_fn((300, 130), || rng.random_range(-1.0..1.0));
    let labels: Vec<usize> = (0..130).map(|j| j % 10).collect();
    let y = one_hot(&labels, 10);
    let dropout = Dropout::Hidden(0.9);
    let reference = net.forward_train(x.view(), &dropout, &mut ChaCha8Rng::seed_from_u64(1)).unwrap();
    let grads = net.backward(&reference, y.view(), 0.0).unwrap();
    let mut ws = loaded(&net, &x, &y);
    let fast = ws.forward_train(&net, &dropout, &mut ChaCha8Rng::seed_from_u64(1)).unwrap();
    assert_eq!(fast.z(1), reference.z(1));
    assert_eq!(fast.output(), reference.output());
    assert_eq!(ws.backward(&net, 0.0).unwrap(), &grads);
}

/// Layer 2 of [200, 160, 128, 10] with a batch of 128: dW[2] and dA[1] are 2.6M multiply-adds
/// each, so the default build computes them at the same time on two cores: same bits.
#[cfg(not(feature = "blas"))]
#[test]
fn concurrent_dw_and_da_give_the_bits_of_the_reference() {
    let mut rng = ChaCha8Rng::seed_from_u64(10);
    let net = Network::new(&[200, 160, 128, 10], Activation::Relu, Task::MultiClass, Init::He, 5).unwrap();
    let x = Array2::from_shape_simple_fn((200, 128), || rng.random_range(-1.0..1.0));
    let labels: Vec<usize> = (0..128).map(|j| j % 10).collect();
    let y = one_hot(&labels, 10);
    let dropout = Dropout::Hidden(0.8);
    let reference = net.forward_train(x.view(), &dropout, &mut ChaCha8Rng::seed_from_u64(2)).unwrap();
    let grads = net.backward(&reference, y.view(), 0.05).unwrap();
    let mut ws = loaded(&net, &x, &y);
    ws.forward_train(&net, &dropout, &mut ChaCha8Rng::seed_from_u64(2)).unwrap();
    assert_eq!(ws.backward(&net, 0.05).unwrap(), &grads);
}

#[test]
fn fast_path_still_passes_the_gradient_check() {
    let net = Network::new(&[3, 8, 6, 2], Activation::Tanh, Task::MultiClass, Init::Xavier, 8).unwrap();
    let d = blobs(6, 2, 3, 1.0, 3).unwrap();
    let y = d.targets(Task::MultiClass);
    let x = d.x;
    let dropout = Dropout::Hidden(0.6);
    let mut ws = loaded(&net, &x, &y);
    let masks = ws.forward_train(&net, &dropout, &mut ChaCha8Rng::seed_from_u64(1)).unwrap().masks();
    let fast = ws.backward(&net, 0.1).unwrap().clone();
    let frozen = FrozenDropout { dropout: &dropout, masks: &masks };
    let numeric = numerical_gradients(&net, x.view(), y.view(), 0.1, 1e-6, Some(frozen)).unwrap();
    let report = compare_gradients(&fast, &numeric);
    assert!(report.passes(1e-7), "{report}");
}

/// `fit` runs on the workspace; `fit_reference`, the loop written with the readable
/// functions, must give the very same history and weights, for every optimizer, with and
/// without a normalization.
#[test]
fn fit_equals_the_reference_loop() {
    let d = two_moons(300, 0.2, 4).unwrap();
    let (_, x) = StandardScaler::fit_transform(d.x.view()).unwrap();
    let y = d.targets(Task::Binary);
    // One input feature too: the readable path's gathered batch and product then come out
    // column-major, which must not change a normalization's sums.
    let (sine_x, sine_y) = noisy_sine(300, 0.1, 2).unwrap();
    let plain = Network::new(&[2, 16, 8, 1], Activation::Relu, Task::Binary, Init::He, 6).unwrap();
    let sine = Network::new(&[1, 16, 8, 1], Activation::Tanh, Task::Regression, Init::Xavier, 6).unwrap();
    // A convolutional network on 300 of the 8×8 digits: 4 filters 3×3, pooled to 4×4×4, 10 classes.
    let digits = digits().unwrap();
    let digits_x = digits.x.slice(ndarray::s![.., ..300]).mapv(|p| p / 16.0);
    let digits_y = digits.targets(Task::MultiClass).slice(ndarray::s![.., ..300]).to_owned();
    let specs = [Conv2dConfig::new(4, 3).padding(1).pool(2).into(), LayerSpec::Dense(10)];
    let cnn =
        Network::convolutional(Image::new(1, 8, 8), &specs, Activation::Relu, Task::MultiClass, Init::He, 2)
            .unwrap();
    let cases = [
        (cnn, digits_x.view(), digits_y.view()),
        (plain.clone(), x.view(), y.view()),
        (plain.clone().with_normalization(BatchNormConfig::default()).unwrap(), x.view(), y.view()),
        (plain.with_normalization(LayerNormConfig::default()).unwrap(), x.view(), y.view()),
        (sine.clone().with_normalization(BatchNormConfig::default()).unwrap(), sine_x.view(), sine_y.view()),
        (sine.with_normalization(LayerNormConfig::default()).unwrap(), sine_x.view(), sine_y.view()),
    ];
    let config = TrainConfig {
        batch_size: 64,
        dropout: Dropout::Hidden(0.8),
        l2: 0.01,
        seed: 3,
        schedule: LrSchedule::Exponential { rate: 0.1 },
        ..TrainConfig::default()
    };
    let optimizers: [OptimizerConfig; 5] = [
        SgdConfig { lr: 0.1 }.into(),
        MomentumConfig { lr: 0.1, beta: 0.9 }.into(),
        RmsPropConfig { lr: 0.01, ..RmsPropConfig::default() }.into(),
        AdamConfig { lr: 0.01, ..AdamConfig::default() }.into(),
        AdamWConfig { lr: 0.01, weight_decay: 0.1, ..AdamWConfig::default() }.into(),
    ];
    for (start, x, y) in &cases {
        for opt in optimizers {
            let (mut fast, mut slow) = (start.clone(), start.clone());
            let (mut o_fast, mut o_slow) = (Optimizer::new(opt).unwrap(), Optimizer::new(opt).unwrap());
            let data = DataView::new(*x, *y);
            let h_fast = fit(&mut fast, &mut o_fast, data, &config, 3).unwrap();
            let h_slow = fit_reference(&mut slow, &mut o_slow, data, &config, 3).unwrap();
            let what = format!("{opt} on {}", start.architecture());
            assert_eq!(h_fast.epochs(), 3, "{what}");
            // With the default pure-Rust matrix products the two paths agree to the last bit.
            #[cfg(not(feature = "blas"))]
            {
                assert_eq!(h_fast, h_slow, "{what}");
                assert_eq!(fast, slow, "{what}");
                assert_eq!(o_fast, o_slow, "{what}");
            }
            let close = |a: &[f64], b: &[f64]| a.iter().zip(b).all(|(p, q)| (p - q).abs() <= 1e-12);
            assert!(close(&h_fast.step_loss, &h_slow.step_loss), "{what}");
        }
    }
    // Layer norm in batches of one example: statistics over the units of a single column.
    let one = TrainConfig { batch_size: 1, ..config };
    let start = Network::new(&[1, 8, 6, 1], Activation::Tanh, Task::Regression, Init::Xavier, 3).unwrap();
    let start = start.with_normalization(LayerNormConfig::default()).unwrap();
    let few = (sine_x.slice(ndarray::s![.., ..20]), sine_y.slice(ndarray::s![.., ..20]));
    let (mut fast, mut slow) = (start.clone(), start);
    let h_fast = fit(&mut fast, &mut Optimizer::adam(0.01).unwrap(), few, &one, 2).unwrap();
    let h_slow = fit_reference(&mut slow, &mut Optimizer::adam(0.01).unwrap(), few, &one, 2).unwrap();
    #[cfg(not(feature = "blas"))]
    assert_eq!((h_fast, fast), (h_slow, slow));
}

#[test]
fn a_column_major_data_set_trains_exactly_like_a_row_major_one() {
    let d = blobs(500, 3, 12, 2.0, 5).unwrap();
    let y = d.targets(Task::MultiClass);
    let x_f = d.x.t().as_standard_layout().into_owned().reversed_axes();
    assert_eq!(x_f.strides(), &[1, 12]);
    let run = |x: ArrayView2<f64>| {
        let mut net = Network::new(&[12, 16, 3], Activation::Relu, Task::MultiClass, Init::He, 1).unwrap();
        let config = TrainConfig { batch_size: 32, dropout: Dropout::Hidden(0.9), ..TrainConfig::default() };
        let h = fit(&mut net, &mut Optimizer::adam(0.01).unwrap(), DataView::new(x, y.view()), &config, 2)
            .unwrap();
        (net, h)
    };
    let (net_c, h_c) = run(d.x.view());
    let (net_f, h_f) = run(x_f.view());
    assert_eq!(h_c, h_f);
    assert_eq!(net_c, net_f);
}

#[test]
fn chunked_evaluation_has_the_bits_of_evaluate() {
    for (task, n_out) in [(Task::Binary, 1), (Task::MultiClass, 3), (Task::Regression, 2)] {
        let d = blobs(2500, 3, 4, 1.5, 7).unwrap();
        let y = match task {
            Task::Regression => Array2::from_shape_fn((n_out, 2500), |(i, j)| ((i + j) as f64).sin()),
            Task::Binary => d.targets(Task::Binary),
            Task::MultiClass => d.targets(Task::MultiClass),
        };
        let net = Network::new(&[4, 12, n_out], Activation::Tanh, task, Init::Xavier, 2).unwrap();
        let data = DataView::new(d.x.view(), y.view());
        let mut ws = Workspace::new(&net, 32).unwrap();
        let (loss, acc) = ws.evaluate_unchecked(&net, data, 0.2).unwrap();
        let (ref_loss, ref_acc) = evaluate(&net, data, 0.2).unwrap();
        assert_eq!(loss.to_bits(), ref_loss.to_bits(), "{task:?}");
        assert_eq!(acc, ref_acc, "{task:?}");
    }
}

/// A convolutional network's evaluation runs in chunks narrower than a dense one's (its
/// feature maps are big), the last one shorter, on two cores: still the bits of `evaluate`.
#[test]
fn chunked_evaluation_of_a_convolutional_network_has_the_bits_of_evaluate() {
    let image = Image::new(3, 32, 32);
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let x = Array2::from_shape_simple_fn((image.len(), 1000), || rng.random_range(-1.0..1.0));
    let y = one_hot(&(0..1000).map(|j| (j * 7) % 4).collect::<Vec<_>>(), 4);
    let specs = [
        Conv2dConfig::new(6, 5).padding(2).pool(2).into(),
        Conv2dConfig::new(4, 2).stride(2).into(),
        LayerSpec::Dense(4),
    ];
    let net =
        Network::convolutional(image, &specs, Activation::Tanh, Task::MultiClass, Init::Xavier, 1).unwrap();
    let data = DataView::new(x.view(), y.view());
    let mut ws = Workspace::new(&net, 16).unwrap();
    let width = super::evaluate::chunk_width(&ws.shapes);
    assert!(width < super::evaluate::EVAL_CHUNK && !1000usize.is_multiple_of(width), "chunks of {width}");
    let (loss, acc) = ws.evaluate_unchecked(&net, data, 0.1).unwrap();
    let (ref_loss, ref_acc) = evaluate(&net, data, 0.1).unwrap();
    assert_eq!(loss.to_bits(), ref_loss.to_bits());
    assert_eq!(acc, ref_acc);
}

/// Predictions come from the fast path in chunks: the bits of the readable forward pass, for
/// dense, normalized and convolutional networks, small and big inputs.
#[test]
fn predictions_have_the_bits_of_the_forward_pass() {
    let mut rng = ChaCha8Rng::seed_from_u64(77);
    for _ in 0..40 {
        let (net, x, _) = random_case(&mut rng);
        assert_eq!(net.predict_proba(x.view()).unwrap(), net.forward(x.view()).unwrap().into_output());
    }
    let image = Image::new(2, 12, 12);
    let specs = [Conv2dConfig::new(5, 3).padding(1).pool(2).into(), LayerSpec::Dense(3)];
    let cnn = Network::convolutional(image, &specs, Activation::Relu, Task::MultiClass, Init::He, 5).unwrap();
    let x = Array2::from_shape_simple_fn((image.len(), 1300), || rng.random_range(-1.0..1.0));
    assert_eq!(cnn.predict_proba(x.view()).unwrap(), cnn.forward(x.view()).unwrap().into_output());
    let dense = Network::new(&[300, 150, 10], Activation::Tanh, Task::MultiClass, Init::Xavier, 3).unwrap();
    let x = Array2::from_shape_simple_fn((300, 3000), || rng.random_range(-1.0..1.0));
    assert_eq!(dense.predict_proba(x.view()).unwrap(), dense.forward(x.view()).unwrap().into_output());
}

/// Big enough (3000 · 46,500 ≈ 140M multiply-adds) for the default build to evaluate on two
/// cores: still the bits of `evaluate`.
#[test]
fn two_core_evaluation_has_the_bits_of_evaluate() {
    let d = blobs(3000, 10, 300, 3.0, 8).unwrap();
    let y = d.targets(Task::MultiClass);
    let net = Network::new(&[300, 150, 10], Activation::Relu, Task::MultiClass, Init::He, 3).unwrap();
    let data = DataView::new(d.x.view(), y.view());
    let (loss, acc) = Workspace::new(&net, 64).unwrap().evaluate_unchecked(&net, data, 0.1).unwrap();
    let (ref_loss, ref_acc) = evaluate(&net, data, 0.1).unwrap();
    assert_eq!(loss.to_bits(), ref_loss.to_bits());
    assert_eq!(acc, ref_acc);
}

#[test]
fn misuse_is_an_error_not_a_panic() {
    let net = Network::new(&[3, 4, 1], Activation::Relu, Task::Binary, Init::He, 0).unwrap();
    let other = Network::new(&[3, 5, 1], Activation::Relu, Task::Binary, Init::He, 0).unwrap();
    let dropout = Dropout::Off;
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    assert!(Workspace::new(&net, 0).is_err());
    let mut ws = Workspace::new(&net, 4).unwrap();
    assert!(ws.forward_train(&net, &dropout, &mut rng).is_err(), "no batch loaded yet");
    assert!(ws.cost(&net, 0.0).is_err());
    assert!(ws.backward(&net, 0.0).is_err());
    let x = Array2::zeros((3, 5));
    let y = Array2::zeros((1, 5));
    let data = DataView::new(x.view(), y.view());
    ws.load_batch_unchecked(data, &[4, 0, 1]);
    assert!(ws.forward_train(&other, &dropout, &mut rng).is_err(), "another network");
    assert!(ws.forward_train(&net, &Dropout::PerLayer(vec![0.5, 1.0, 1.0]), &mut rng).is_err());
    ws.forward_train(&net, &dropout, &mut rng).unwrap();
    assert!(ws.backward(&net, -1.0).is_err());
    assert!(ws.backward(&other, 0.0).is_err());
    assert_eq!(ws.cache().unwrap().batch_size(), 3);
    // A normalization added to the same sizes changes the parameters: another network.
    let normalized = net.clone().with_normalization(LayerNormConfig::default()).unwrap();
    assert!(ws.backward(&normalized, 0.0).is_err());
}

/// The f32 path's engine, instantiated in f64, is the workspace's algorithm: the same steps
/// (with dropout, L2 and each update rule, dense and convolutional layers, pooling) and the
/// same evaluation give the same bits. So an
/// f32 run differs from the f64 one by its precision only.
#[test]
fn the_mirror_in_f64_has_the_bits_of_the_workspace() {
    use super::Mirror;
    let mut rng = ChaCha8Rng::seed_from_u64(29);
    let rules: [OptimizerConfig; 5] = [
        SgdConfig { lr: 0.1 }.into(),
        MomentumConfig::default().into(),
        RmsPropConfig::default().into(),
        AdamConfig { lr: 0.01, ..AdamConfig::default() }.into(),
        AdamWConfig::default().into(),
    ];
    let (mut compared, mut convolutional) = (0, 0);
    for case in 0..120 {
        let (net, x, y) = random_case(&mut rng);
        let opt = Optimizer::new(rules[case % rules.len()]).unwrap();
        let Ok(mut mirror) = Mirror::<f64>::new(&net, &opt, x.ncols()) else {
            continue; // normalized or softmax hidden layers: f64 only
        };
        convolutional += usize::from(net.layers()[0].kind != LayerKind::Dense);
        let (mut net_a, mut opt_a, mut opt_b, mut net_b) =
            (net.clone(), opt.clone(), opt.clone(), net.clone());
        let mut ws = Workspace::new(&net_a, x.ncols()).unwrap();
        let dropout = Dropout::Hidden([1.0, 0.8, 0.5][case % 3]);
        let l2 = L2::new([0.0, 0.3][case % 2], 100);
        let (mut rng_a, mut rng_b) =
            (ChaCha8Rng::seed_from_u64(case as u64), ChaCha8Rng::seed_from_u64(case as u64));
        let m = x.ncols();
        for step in 0..6 {
            // A batch of every example, then of the first ones only (a second set of buffers).
            let idx: Vec<usize> =
                if step % 2 == 0 { (0..m).rev().collect() } else { (0..m.div_ceil(2)).collect() };
            ws.load_batch_unchecked(DataView::new(x.view(), y.view()), &idx);
            ws.forward_train(&net_a, &dropout, &mut rng_a).unwrap();
            let loss_a = ws.cost(&net_a, l2).unwrap();
            ws.backward(&net_a, l2).unwrap();
            opt_a.step(&mut net_a, ws.gradients()).unwrap();
            mirror.load_batch(x.view(), y.view(), &idx);
            mirror.forward_train(&dropout, &mut rng_b).unwrap();
            let loss_b = mirror.cost(l2).unwrap();
            mirror.backward(l2).unwrap();
            let mut norms = vec![0.0; net.num_layers()];
            assert!(mirror.gradient_norms(&mut norms));
            mirror.step(&opt_b);
            assert_eq!(loss_a.to_bits(), loss_b.to_bits(), "case {case} step {step}: {loss_a} vs {loss_b}");
        }
        mirror.write_back(&mut net_b, &mut opt_b);
        for (a, b) in net_a.params().zip(net_b.params()) {
            assert!(
                a.value.iter().zip(b.value.iter()).all(|(p, q)| p.to_bits() == q.to_bits()),
                "case {case}"
            );
        }
        assert_eq!(opt_a.state(), opt_b.state(), "case {case}");
        let (loss_a, acc_a) = ws.evaluate_unchecked(&net_a, DataView::new(x.view(), y.view()), l2).unwrap();
        let (loss_b, acc_b) = mirror.evaluate(x.view(), y.view(), l2);
        assert_eq!((loss_a.to_bits(), acc_a), (loss_b.to_bits(), acc_b), "case {case}");
        compared += 1;
    }
    println!("{compared} networks compared, {convolutional} convolutional");
    assert!(compared >= 40 && convolutional >= 8, "{compared} networks, {convolutional} convolutional");
}
