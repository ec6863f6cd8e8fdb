//! Convolutional layers and max pooling: the definition by hand, the loops against the
//! im2col products, gradient checks of whole convolutional networks (every activation,
//! strides, paddings, channels, pooling, dropout, L2), files, and errors for every shape
//! that does not fit.

use ann_core::conv::{
    ConvGrads, col2im, conv_backward_loops, conv_forward_loops, im2col, max_pool_backward, max_pool_forward,
};
use ann_core::*;
use ndarray::{Array1, Array2, array};
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};

fn uniform(shape: (usize, usize), seed: u64) -> Array2<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Array2::from_shape_simple_fn(shape, || rng.random_range(-1.0..1.0))
}

fn geometry(c: usize, h: usize, w: usize, k: usize, s: usize, p: usize) -> Conv2d {
    Conv2dConfig::new(1, k).stride(s).padding(p).on(Image::new(c, h, w))
}

/// The largest |a − b| over two arrays of the same shape.
fn max_diff(a: &Array2<f64>, b: &Array2<f64>) -> f64 {
    assert_eq!(a.dim(), b.dim());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max)
}

#[test]
fn cross_correlation_by_hand_does_not_flip_the_filter() {
    let image = array![[1.0], [2.0], [3.0], [4.0], [5.0], [6.0], [7.0], [8.0], [9.0]]; // 1×3×3
    let w = array![[1.0, 2.0, 3.0, 4.0]]; // one 2×2 filter [[1, 2], [3, 4]]
    let b = array![[0.5]];
    let conv = geometry(1, 3, 3, 2, 1, 0);
    let z = conv_forward_loops(&conv, w.view(), b.view(), image.view()).unwrap();
    // Z[0, 0] = 1·1 + 2·2 + 3·4 + 4·5 + 0.5 (a flipped filter would give 27.5)
    assert_eq!(z, array![[37.5], [47.5], [67.5], [77.5]]);
    assert_eq!(conv.forward(w.view(), b.view(), image.view()), z);
    // padding 1: 4×4 outputs; the corner sees only pixel (0, 0), under the filter's 4
    let padded = geometry(1, 3, 3, 2, 1, 1);
    let z = conv_forward_loops(&padded, w.view(), b.view(), image.view()).unwrap();
    assert_eq!(z.dim(), (16, 1));
    assert_eq!(z[[0, 0]], 4.0 * 1.0 + 0.5);
    assert_eq!(z[[15, 0]], 1.0 * 9.0 + 0.5);
}

#[test]
fn output_size_is_h_plus_2p_minus_k_over_s_plus_1() {
    for (h, k, s, p) in [(28, 5, 1, 2), (28, 5, 1, 0), (7, 3, 2, 1), (9, 3, 2, 0), (6, 1, 1, 0), (5, 5, 1, 2)]
    {
        let conv = geometry(2, h, h + 2 * s, k, s, p);
        let out = conv.conv_output(3);
        assert_eq!(out.height, (h + 2 * p - k) / s + 1);
        assert_eq!(out.width, (h + 2 * s + 2 * p - k) / s + 1);
        assert_eq!(out.channels, 3);
    }
}

/// Geometries (C, H, W, F, k, s, p) covering strides 1 and 2, paddings 0, 1, 2, one and
/// several channels, kernels 1, 3, 5 and images that are not square.
const GEOMETRIES: [(usize, usize, usize, usize, usize, usize, usize); 7] = [
    (1, 5, 5, 2, 3, 1, 0),
    (3, 6, 7, 4, 3, 1, 1),
    (2, 7, 7, 3, 3, 2, 1),
    (2, 8, 6, 2, 5, 1, 2),
    (3, 9, 9, 2, 3, 2, 0),
    (2, 4, 6, 3, 1, 1, 0),
    (1, 5, 5, 2, 5, 2, 2),
];

#[test]
fn the_im2col_products_agree_with_the_loops() {
    for (n, &(c, h, w, f, k, s, p)) in GEOMETRIES.iter().enumerate() {
        let conv = geometry(c, h, w, k, s, p);
        let seed = 10 * n as u64;
        let (wts, b, x) =
            (uniform((f, c * k * k), seed), uniform((f, 1), seed + 1), uniform((c * h * w, 3), seed + 2));
        let z_loops = conv_forward_loops(&conv, wts.view(), b.view(), x.view()).unwrap();
        let z = conv.forward(wts.view(), b.view(), x.view());
        assert!(max_diff(&z, &z_loops) < 1e-12, "{:?}", (c, h, w, f, k, s, p));
        let dz = uniform(z.dim(), seed + 3);
        let loops = conv_backward_loops(&conv, wts.view(), x.view(), dz.view()).unwrap();
        let ConvGrads { dw, db, da_prev } = conv.backward(wts.view(), x.view(), dz.view(), true);
        assert!(max_diff(&dw, &loops.dw) < 1e-12);
        assert!(max_diff(&db, &loops.db) < 1e-12);
        assert!(max_diff(&da_prev.unwrap(), &loops.da_prev.unwrap()) < 1e-12);
    }
}

#[test]
fn im2col_copies_each_patch_and_col2im_adds_back() {
    let conv = geometry(1, 3, 3, 2, 1, 0);
    let image = Array1::from_iter((1..=9).map(f64::from));
    let cols = im2col(&conv, image.view()).unwrap();
    // column y·W′ + x is the patch at (y, x); row (c·k + i)·k + j its pixel (i, j)
    assert_eq!(
        cols,
        array![[1.0, 2.0, 4.0, 5.0], [2.0, 3.0, 5.0, 6.0], [4.0, 5.0, 7.0, 8.0], [5.0, 6.0, 8.0, 9.0]]
    );
    // each pixel is counted once per patch that holds it
    let counts = col2im(&conv, Array2::ones((4, 4)).view()).unwrap();
    assert_eq!(counts, array![1.0, 2.0, 1.0, 2.0, 4.0, 2.0, 1.0, 2.0, 1.0]);
    assert!(im2col(&conv, Array1::zeros(8).view()).is_err());
    assert!(col2im(&conv, Array2::zeros((4, 3)).view()).is_err());
}

#[test]
fn max_pooling_by_hand_with_a_tie_to_the_first_pixel() {
    // one 1×4×4 image: windows 2×2; the top-left window has a tie (5 at (0, 1) and (1, 0))
    let g =
        Array2::from_shape_vec((16, 1), vec![1., 5., 2., 0., 5., 3., 7., 7., 0., 0., 9., 1., 0., 0., 1., 9.])
            .unwrap();
    let (a, cache) = max_pool_forward(&MaxPool2d::new(2), Image::new(1, 4, 4), g.view()).unwrap();
    assert_eq!(a, array![[5.0], [7.0], [0.0], [9.0]]);
    assert_eq!(cache.argmax, array![[1], [6], [8], [10]]);
    let dg = max_pool_backward(&cache, array![[1.0], [2.0], [3.0], [4.0]].view()).unwrap();
    let mut expected = Array2::zeros((16, 1));
    for (r, v) in [(1, 1.0), (6, 2.0), (8, 3.0), (10, 4.0)] {
        expected[[r, 0]] = v;
    }
    assert_eq!(dg, expected);
    // overlapping windows (3×3, stride 1) send the gradient of each window to its winner
    let pool = MaxPool2d { window: 3, stride: 1 };
    let (_, cache) = max_pool_forward(&pool, Image::new(1, 4, 4), g.view()).unwrap();
    let dg = max_pool_backward(&cache, Array2::ones((4, 1)).view()).unwrap();
    assert_eq!(dg.sum(), 4.0);
    assert!(max_pool_backward(&cache, Array2::ones((3, 1)).view()).is_err());
}

/// A convolutional network for a check: `specs` on `input`, Xavier weights, biases away
/// from 0.
fn cnn(input: Image, specs: &[LayerSpec], hidden: Activation, task: Task, seed: u64) -> Network {
    let mut net = Network::convolutional(input, specs, hidden, task, Init::Xavier, seed).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(seed + 50);
    for layer in net.layers_mut() {
        layer.b.mapv_inplace(|_| rng.random_range(0.05..0.3));
    }
    net
}

fn binary_labels(m: usize) -> Array2<f64> {
    Array2::from_shape_fn((1, m), |(_, j)| ((j * 5 + 1) % 3 == 0) as u8 as f64)
}

/// Whether a ReLU-like unit or a pooling window sits within `gap` of a kink, where a
/// central difference would straddle it.
fn near_a_kink(net: &Network, x: &Array2<f64>, gap: f64) -> bool {
    let cache = net.forward(x.view()).unwrap();
    net.layers().iter().enumerate().any(|(i, layer)| {
        let z = cache.z(i + 1).unwrap();
        let relu = matches!(layer.activation, Activation::Relu | Activation::LeakyRelu(_))
            && z.iter().any(|v| v.abs() < gap);
        let tie = layer.pooling().is_some_and(|(pool, image)| {
            let g = layer.activation.forward(z);
            (0..g.ncols()).any(|j| {
                let out = pool.output(image);
                (0..out.channels).any(|c| {
                    (0..out.height * out.width).any(|q| {
                        let (y, xx) = (q / out.width, q % out.width);
                        let mut v: Vec<f64> = (0..pool.window * pool.window)
                            .map(|t| {
                                let (di, dj) = (t / pool.window, t % pool.window);
                                g[[image.row(c, y * pool.stride + di, xx * pool.stride + dj), j]]
                            })
                            .collect();
                        v.sort_by(|a, b| b.total_cmp(a));
                        v[0] - v[1] < gap
                    })
                })
            })
        });
        relu || tie
    })
}

fn assert_gradients_check(
    net: &Network,
    x: &Array2<f64>,
    y: &Array2<f64>,
    lambda: f64,
    d: Option<FrozenDropout<'_>>,
) {
    let report = gradient_check(net, x.view(), y.view(), lambda, 1e-6, d).unwrap();
    assert_eq!(report.tensors.len(), 2 * net.num_layers());
    assert!(report.passes(1e-7), "{}\n{report}", net.architecture());
}

#[test]
fn every_activation_passes_the_gradient_check_in_a_convolutional_network() {
    let input = Image::new(2, 6, 6);
    let specs = [Conv2dConfig::new(3, 3).padding(1).pool(2).into(), LayerSpec::Dense(1)];
    let x = uniform((input.len(), 4), 7);
    for (n, hidden) in Activation::ALL.into_iter().enumerate() {
        let net = (0..20)
            .map(|s| cnn(input, &specs, hidden, Task::Binary, 100 * n as u64 + s))
            .find(|net| !near_a_kink(net, &x, 1e-4))
            .expect("a draw without kinks near the inputs");
        for lambda in [0.0, 0.3] {
            assert_gradients_check(&net, &x, &binary_labels(4), lambda, None);
        }
    }
}

#[test]
fn strides_paddings_channels_and_stacked_convolutions_pass_the_gradient_check() {
    let cases: [(Image, Vec<LayerSpec>); 5] = [
        (Image::new(1, 5, 5), vec![Conv2dConfig::new(2, 3).into(), LayerSpec::Dense(3)]),
        (Image::new(3, 7, 7), vec![Conv2dConfig::new(2, 3).stride(2).padding(1).into(), LayerSpec::Dense(3)]),
        (Image::new(2, 6, 6), vec![Conv2dConfig::new(2, 5).padding(2).pool(2).into(), LayerSpec::Dense(3)]),
        (
            Image::new(2, 8, 8),
            vec![
                Conv2dConfig::new(3, 3).padding(1).pool(2).into(),
                Conv2dConfig::new(2, 3).padding(1).pool(2).into(),
                LayerSpec::Dense(4),
                LayerSpec::Dense(3),
            ],
        ),
        (
            Image::new(1, 7, 7),
            vec![
                Conv2dConfig::new(2, 3).stride(2).into(),
                Conv2dConfig { pool: Some(MaxPool2d { window: 2, stride: 1 }), ..Conv2dConfig::new(2, 1) }
                    .into(),
                LayerSpec::Dense(3),
            ],
        ),
    ];
    for (n, (input, specs)) in cases.iter().enumerate() {
        let x = uniform((input.len(), 5), 40 + n as u64);
        let y = one_hot(&[0, 2, 1, 1, 0], 3);
        let net = (0..20)
            .map(|s| cnn(*input, specs, Activation::Tanh, Task::MultiClass, 10 * n as u64 + s))
            .find(|net| !near_a_kink(net, &x, 1e-4))
            .expect("a draw without ties near the inputs");
        assert_gradients_check(&net, &x, &y, 0.1, None);
    }
}

#[test]
fn frozen_dropout_on_the_feature_maps_passes_the_gradient_check() {
    let input = Image::new(2, 6, 6);
    let specs = [Conv2dConfig::new(3, 3).padding(1).pool(2).into(), LayerSpec::Dense(5), LayerSpec::Dense(1)];
    let x = uniform((input.len(), 4), 3);
    let net = (0..20)
        .map(|s| cnn(input, &specs, Activation::Relu, Task::Binary, 900 + s))
        .find(|net| !near_a_kink(net, &x, 1e-4))
        .expect("a draw without kinks near the inputs");
    let dropout = Dropout::PerLayer(vec![0.7, 0.8, 1.0]);
    let pass = net.forward_train(x.view(), &dropout, &mut ChaCha8Rng::seed_from_u64(5)).unwrap();
    let masks = pass.masks();
    assert_eq!(masks[0].as_ref().unwrap().dim(), (3 * 3 * 3, 4), "the mask covers the pooled maps");
    let frozen = FrozenDropout { dropout: &dropout, masks: &masks };
    assert_gradients_check(&net, &x, &binary_labels(4), 0.2, Some(frozen));
}

#[test]
fn a_planted_bug_in_the_filter_gradient_is_caught() {
    let input = Image::new(1, 5, 5);
    let net =
        cnn(input, &[Conv2dConfig::new(2, 3).into(), LayerSpec::Dense(1)], Activation::Tanh, Task::Binary, 3);
    let x = uniform((input.len(), 3), 4);
    let y = binary_labels(3);
    let numeric = numerical_gradients(&net, x.view(), y.view(), 0.0, 1e-6, None).unwrap();
    let mut analytic = net.backward(&net.forward(x.view()).unwrap(), y.view(), 0.0).unwrap();
    assert!(compare_gradients(&analytic, &numeric).passes(1e-7));
    // dW summed over the examples but not over the positions: one position's share only
    let dz_positions = 9.0;
    analytic.get_mut(ParamId::w(1)).unwrap().mapv_inplace(|g| g / dz_positions);
    let report = compare_gradients(&analytic, &numeric);
    assert!(!report.passes(1e-3), "{report}");
}

#[test]
fn a_convolutional_network_is_saved_and_loaded_bit_for_bit() {
    let net = cnn(
        Image::new(1, 8, 8),
        &[Conv2dConfig::new(4, 3).padding(1).pool(2).into(), LayerSpec::Dense(3)],
        Activation::Relu,
        Task::MultiClass,
        1,
    );
    let path = std::env::temp_dir().join(format!("ann_cnn_{}.json", std::process::id()));
    net.save(&path).unwrap();
    let loaded = Network::load(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(loaded, net);
    assert_eq!(loaded.architecture(), net.architecture());
    assert!(
        net.architecture()
            .contains("1×8×8 → 4 filters 3×3, stride 1, padding 1 → 4×8×8, max pool 2×2 stride 2 → 4×4×4")
    );
    let x = uniform((64, 5), 2);
    assert_eq!(loaded.predict_proba(x.view()).unwrap(), net.predict_proba(x.view()).unwrap());
}

#[test]
fn shapes_that_do_not_fit_are_errors_naming_the_layer() {
    let build = |input: Image, specs: &[LayerSpec]| {
        Network::convolutional(input, specs, Activation::Relu, Task::MultiClass, Init::He, 0)
            .unwrap_err()
            .to_string()
    };
    let dense = LayerSpec::Dense(3);
    // a kernel larger than the padded input
    let e = build(Image::new(1, 4, 4), &[Conv2dConfig::new(2, 7).padding(1).into(), dense]);
    assert!(
        e.contains("convolutional layer 1") && e.contains("7-wide window") && e.contains("padded 6"),
        "{e}"
    );
    // a stride of 0
    let e = build(Image::new(1, 4, 4), &[Conv2dConfig::new(2, 3).stride(0).into(), dense]);
    assert!(e.contains("stride 0"), "{e}");
    // an image the stride does not divide
    let e = build(Image::new(1, 8, 8), &[Conv2dConfig::new(2, 3).stride(2).into(), dense]);
    assert!(e.contains("not a multiple of the stride 2") && e.contains("1×8×8"), "{e}");
    // a pooling that does not divide the feature maps
    let e = build(Image::new(1, 7, 7), &[Conv2dConfig::new(2, 3).padding(1).pool(2).into(), dense]);
    assert!(e.contains("2×2 pooling with stride 2 does not divide the height 7 of the 7×7 maps"), "{e}");
    // a convolution after a dense layer
    let e = build(Image::new(1, 4, 4), &[LayerSpec::Dense(8), Conv2dConfig::new(2, 3).into(), dense]);
    assert!(e.contains("convolutional layer 2 follows dense layer 1"), "{e}");
    // the output layer must be dense
    let e = build(Image::new(1, 4, 4), &[Conv2dConfig::new(2, 3).into()]);
    assert!(e.contains("must be dense"), "{e}");
    // a flatten size that does not match the next dense layer
    let conv = Conv2dConfig::new(2, 3).padding(1).pool(2).on(Image::new(1, 4, 4)); // → 2×2×2 = 8
    let layers = vec![
        Layer::conv(Array2::zeros((2, 9)), Array2::zeros((2, 1)), Activation::Relu, conv),
        Layer::new(Array2::zeros((3, 9)), Array2::zeros((3, 1)), Activation::Softmax),
    ];
    let e = Network::from_layers(layers, Loss::CrossEntropy).unwrap_err().to_string();
    assert!(
        e.contains("W[2]")
            && e.contains("8 units (its output image 2×2×2, flattened)")
            && e.contains("(3, 9)"),
        "{e}"
    );
    // filters of the wrong size, a bias per position instead of per filter
    let bad_w = vec![
        Layer::conv(Array2::zeros((2, 8)), Array2::zeros((2, 1)), Activation::Relu, conv),
        Layer::new(Array2::zeros((3, 8)), Array2::zeros((3, 1)), Activation::Softmax),
    ];
    let e = Network::from_layers(bad_w, Loss::CrossEntropy).unwrap_err().to_string();
    assert!(e.contains("W[1]") && e.contains("1·3·3 = 9") && e.contains("(2, 8)"), "{e}");
    let bad_b = vec![
        Layer::conv(Array2::zeros((2, 9)), Array2::zeros((32, 1)), Activation::Relu, conv),
        Layer::new(Array2::zeros((3, 8)), Array2::zeros((3, 1)), Activation::Softmax),
    ];
    let e = Network::from_layers(bad_b, Loss::CrossEntropy).unwrap_err().to_string();
    assert!(e.contains("b[1]") && e.contains("one bias per filter") && e.contains("(32, 1)"), "{e}");
    // an input of the wrong size, normalization of an image layer
    let net = Network::convolutional(
        Image::new(1, 4, 4),
        &[Conv2dConfig::new(2, 3).padding(1).into(), dense],
        Activation::Relu,
        Task::MultiClass,
        Init::He,
        0,
    )
    .unwrap();
    let e = net.forward(Array2::zeros((15, 2)).view()).unwrap_err().to_string();
    assert!(e.contains("(16, m)") && e.contains("(15, 2)"), "{e}");
    let e = net.clone().with_normalization(BatchNormConfig::default()).unwrap_err().to_string();
    assert!(e.contains("layer 1 is convolutional"), "{e}");
    // the loops check their arguments too
    let e = conv_forward_loops(
        &conv,
        Array2::zeros((2, 9)).view(),
        Array2::zeros((2, 1)).view(),
        Array2::zeros((15, 1)).view(),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("(16, m ≥ 1)") && e.contains("(15, 1)"), "{e}");
    let e = conv_backward_loops(
        &conv,
        Array2::zeros((2, 9)).view(),
        Array2::zeros((16, 1)).view(),
        Array2::zeros((8, 1)).view(),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("dZ") && e.contains("(32, 1)"), "{e}");
}

/// A convolutional network's checkpoint goes through the same files as any other: resumed
/// after epoch 2 (with dropout on the feature maps, L2 and Adam), the run ends with the bits of
/// the run that never stopped.
#[test]
fn a_convolutional_run_resumed_from_its_checkpoint_ends_bit_identical() {
    let d = digits().unwrap();
    let x = d.x.slice(ndarray::s![.., ..400]).mapv(|p| p / 16.0);
    let y = d.targets(Task::MultiClass).slice(ndarray::s![.., ..400]).to_owned();
    let specs = [Conv2dConfig::new(4, 3).padding(1).pool(2).into(), LayerSpec::Dense(10)];
    let start = || {
        Network::convolutional(Image::new(1, 8, 8), &specs, Activation::Relu, Task::MultiClass, Init::He, 4)
            .unwrap()
    };
    let config = TrainConfig {
        batch_size: 32,
        dropout: Dropout::PerLayer(vec![0.8, 1.0]),
        l2: 0.01,
        seed: 9,
        ..TrainConfig::default()
    };
    let (mut whole, mut opt_whole) = (start(), Optimizer::adam(0.01).unwrap());
    let h_whole = fit(&mut whole, &mut opt_whole, (&x, &y), &config, 4).unwrap();
    let path = std::env::temp_dir().join(format!("ann_cnn_ckpt_{}.json", std::process::id()));
    let (mut net, mut opt) = (start(), Optimizer::adam(0.01).unwrap());
    Trainer::new(&config, 2)
        .checkpoint(Checkpointing { path: path.clone(), every: 2 })
        .fit(&mut net, &mut opt, (&x, &y))
        .unwrap();
    let checkpoint = Checkpoint::load(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    let (mut net, mut opt) = (start(), Optimizer::adam(0.01).unwrap());
    let h = Trainer::new(&config, 4).resume(&checkpoint).fit(&mut net, &mut opt, (&x, &y)).unwrap();
    assert_eq!(net, whole);
    assert_eq!(h, h_whole);
    assert_eq!(opt, opt_whole);
}
