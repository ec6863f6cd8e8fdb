//! Property tests: backprop matches central differences on random architectures (with and
//! without batch or layer normalization, and convolutional ones with pooling), and
//! random bad input gives an error from every public entry point, never a panic.

use ann_core::gradcheck::{Difference, numerical_gradients_with};
use ann_core::normalization::NormalizationConfig;
use ann_core::*;
use ndarray::Array2;
use proptest::prelude::*;
use rand::SeedableRng;
use rand::rngs::ChaCha8Rng;

fn activation() -> impl Strategy<Value = Activation> {
    prop::sample::select(Activation::ALL.to_vec())
}

fn loss() -> impl Strategy<Value = Loss> {
    prop::sample::select(Loss::ALL.to_vec())
}

/// A random net: 1-5 layers, sizes 1-16, any hidden activation, any loss (with the output
/// activation it requires, or any activation for MSE), biases away from 0, and batch or
/// layer normalization on a random subset of the hidden layers with two inputs and units or
/// more (γ, β random; then m ≥ 3).
fn random_net() -> impl Strategy<Value = (Network, Array2<f64>, Array2<f64>, f64)> {
    (
        prop::collection::vec(1usize..=16, 2..=6),
        prop::collection::vec(activation(), 6),
        loss(),
        any::<u64>(),
        1usize..=6,
        prop::sample::select(vec![0.0, 0.3]),
        prop::collection::vec(0u8..3, 5),
    )
        .prop_map(|(sizes, acts, loss, seed, m, lambda, normalized)| {
            let l = sizes.len() - 1;
            let mut acts: Vec<Activation> = acts[..l].to_vec();
            if let Some(out) = loss.required_output() {
                acts[l - 1] = out;
            }
            let mut net = Network::with_activations(&sizes, &acts, loss, Init::Xavier, seed).unwrap();
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            use rand::RngExt;
            let sign = |rng: &mut ChaCha8Rng, lo: f64, hi: f64| {
                let v: f64 = rng.random_range(lo..hi);
                if rng.random::<bool>() { v } else { -v }
            };
            for (i, layer) in net.layers_mut().iter_mut().enumerate() {
                // Biases of ±(0.1..0.6) keep ReLU's Z off its kink at 0 (e.g. for dead units).
                layer.b.mapv_inplace(|_| sign(&mut rng, 0.1, 0.6));
                // Not behind a one-unit layer: normalized, w·a + b of a single a is ±(a's own
                // normalization) whatever w and b, so J hardly depends on anything before that
                // layer, and those differences are rounding (the zero-gradient case is tested
                // on its own in tests/normalization.rs).
                // Layer norm averages over the units: on three or more, as two units normalize
                // to ±1 whatever Z is, and J hardly depends on what comes before (the same
                // rounding-only differences as behind a one-unit layer).
                let kind = if normalized[i] == 2 && sizes[i + 1] < 3 { 0 } else { normalized[i] };
                if i + 1 < l && kind > 0 && sizes[..=i + 1].iter().all(|&n| n > 1) {
                    let mut norm = if kind == 1 {
                        BatchNormConfig::default().build(layer.units()).unwrap()
                    } else {
                        LayerNormConfig::default().build(layer.units()).unwrap()
                    };
                    let (gamma, beta) = norm.kind_mut().gamma_beta_mut();
                    gamma.mapv_inplace(|_| sign(&mut rng, 0.5, 1.5));
                    // β plays the bias's part after the normalization (which cancels batch
                    // norm's b).
                    beta.mapv_inplace(|_| sign(&mut rng, 0.1, 0.6));
                    layer.normalization = Some(norm);
                }
            }
            let net = Network::from_layers(net.layers().to_vec(), loss).unwrap();
            let m = if net.has_normalization() { m + 2 } else { m };
            let n_x = sizes[0];
            let n_out = sizes[l];
            let x = Array2::from_shape_simple_fn((n_x, m), || rng.random_range(-1.5..1.5));
            let y = match loss {
                Loss::BinaryCrossEntropy => {
                    Array2::from_shape_simple_fn((n_out, m), || f64::from(rng.random::<bool>()))
                }
                Loss::CrossEntropy => {
                    let labels: Vec<usize> = (0..m).map(|_| rng.random_range(0..n_out)).collect();
                    one_hot(&labels, n_out)
                }
                Loss::MeanSquaredError => {
                    Array2::from_shape_simple_fn((n_out, m), || rng.random_range(-1.0..1.0))
                }
            };
            (net, x, y, lambda)
        })
}

/// Whether some (leaky) ReLU pre-activation lies within `h` of the kink, where a central difference
/// straddles it and legitimately disagrees with the one-sided derivative.
fn near_relu_kink(net: &Network, x: &Array2<f64>, h: f64) -> bool {
    // The pass the check differentiates: training mode (batch statistics), no dropout.
    let cache = net.forward_with_masks(x.view(), &Dropout::Off, &vec![None; net.num_layers()]).unwrap();
    net.layers().iter().enumerate().any(|(i, layer)| {
        matches!(layer.activation, Activation::Relu | Activation::LeakyRelu(_))
            && cache.z(i + 1).unwrap().iter().any(|z| z.abs() < 1e-3 + h)
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn gradient_check_passes_on_random_architectures((net, x, y, lambda) in random_net()) {
        prop_assume!(!near_relu_kink(&net, &x, 2e-4));
        // Fourth-order differences: deep sigmoid stacks have gradients ~1e-4, where the
        // O(ε²) error of the two-point formula alone reaches a relative 1e-7.
        let analytic = gradcheck::analytic_gradients(&net, x.view(), y.view(), lambda, None).unwrap();
        // Batch norm's J is far more curved where a unit's σ² is small (1/√(σ² + ε) changes
        // fast; e.g. units that all see one input): a smaller step, and 1e-6 (measured on such
        // cases: the difference falls towards backprop's dθ as the step shrinks).
        let (h, tol) = if net.has_normalization() { (1e-5, 1e-6) } else { (1e-4, 1e-7) };
        let numeric = numerical_gradients_with(&net, x.view(), y.view(), lambda, h, None, Difference::FourthOrder).unwrap();
        let report = compare_gradients(&analytic, &numeric);
        // Tensors whose gradient is ~0 (e.g. CE with one class) have no meaningful relative
        // error; require the absolute difference to be tiny there instead. Batch norm adds
        // such tensors: Ẑ does not change when W[l] is scaled, so the W[l] of a unit with one
        // input has dW ≈ 0, and a normalization cancels the b[l] of a linear layer before it.
        // The smaller step magnifies the difference's rounding, in proportion to the largest
        // gradient (the steep directions of 1/√(σ² + ε)).
        let largest = analytic.iter().flat_map(|(_, g)| g.iter()).fold(1.0_f64, |a, v| a.max(v.abs()));
        let floor = if net.has_normalization() { 1e-9 * largest } else { 1e-10 };
        for t in &report.tensors {
            prop_assert!(
                t.relative_error < tol || t.max_abs_diff < floor,
                "{} {:?} loss {} λ {}: {}\n{report}",
                t.name, net.sizes(), net.loss(), lambda, t.relative_error
            );
        }
    }
}

/// A random convolutional network: an image of 1-3 channels of 3-9 × 3-9 pixels, 1-2
/// convolutional layers (1-4 filters of side 1, 3 or 5, stride 1 or 2, padding 0-2, no
/// pooling or 2 × 2 pooling of stride 2 or 1), a dense hidden layer or not, then a dense
/// output layer with any loss; any hidden activation, biases away from 0. Drawings whose
/// shapes do not fit are discarded.
fn random_cnn() -> impl Strategy<Value = (Network, Array2<f64>, Array2<f64>, f64)> {
    let conv = (1usize..=4, prop::sample::select(vec![1usize, 3, 5]), 1usize..=2, 0usize..=2, 0u8..3);
    (
        (1usize..=3, 3usize..=9, 3usize..=9),
        prop::collection::vec(conv, 1..=2),
        prop::option::of(1usize..=6),
        1usize..=4,
        activation(),
        loss(),
        any::<u64>(),
        1usize..=4,
        prop::sample::select(vec![0.0, 0.3]),
    )
        .prop_filter_map(
            "shapes that fit",
            |((c, h, w), convs, dense, n_out, hidden, loss, seed, m, lambda)| {
                let mut specs: Vec<LayerSpec> = convs
                    .iter()
                    .map(|&(f, k, st, p, pool)| {
                        let conv = Conv2dConfig::new(f, k).stride(st).padding(p);
                        let pool = match pool {
                            0 => None,
                            1 => Some(MaxPool2d::new(2)),
                            _ => Some(MaxPool2d { window: 2, stride: 1 }),
                        };
                        Conv2dConfig { pool, ..conv }.into()
                    })
                    .collect();
                specs.extend(dense.map(LayerSpec::Dense));
                let n_out = if loss == Loss::BinaryCrossEntropy { 1 } else { n_out.max(2) };
                specs.push(LayerSpec::Dense(n_out));
                let task = match loss {
                    Loss::BinaryCrossEntropy => Task::Binary,
                    Loss::CrossEntropy => Task::MultiClass,
                    Loss::MeanSquaredError => Task::Regression,
                };
                let mut net =
                    Network::convolutional(Image::new(c, h, w), &specs, hidden, task, Init::Xavier, seed)
                        .ok()?;
                let mut rng = ChaCha8Rng::seed_from_u64(seed);
                use rand::RngExt;
                for layer in net.layers_mut() {
                    layer.b.mapv_inplace(|_| {
                        let v: f64 = rng.random_range(0.1..0.6);
                        if rng.random::<bool>() { v } else { -v }
                    });
                }
                let x = Array2::from_shape_simple_fn((net.input_size(), m), || rng.random_range(-1.5..1.5));
                let y = match loss {
                    Loss::BinaryCrossEntropy => {
                        Array2::from_shape_simple_fn((1, m), || f64::from(rng.random::<bool>()))
                    }
                    Loss::CrossEntropy => {
                        one_hot(&(0..m).map(|_| rng.random_range(0..n_out)).collect::<Vec<_>>(), n_out)
                    }
                    Loss::MeanSquaredError => {
                        Array2::from_shape_simple_fn((n_out, m), || rng.random_range(-1.0..1.0))
                    }
                };
                Some((net, x, y, lambda))
            },
        )
}

/// Whether a pooling window's two largest values of g(Z) lie within `h` of each other, where
/// a central difference can move the maximum from one pixel to the other.
fn near_a_pooling_tie(net: &Network, x: &Array2<f64>, h: f64) -> bool {
    let cache = net.forward(x.view()).unwrap();
    net.layers().iter().enumerate().any(|(i, layer)| {
        let Some((pool, image)) = layer.pooling() else { return false };
        let g = layer.activation.forward(cache.z(i + 1).unwrap());
        let out = pool.output(image);
        (0..g.ncols()).any(|e| {
            (0..out.len()).any(|r| {
                let (c, q) = (r / (out.height * out.width), r % (out.height * out.width));
                let (y, x) = (q / out.width, q % out.width);
                let mut v: Vec<f64> = (0..pool.window * pool.window)
                    .map(|t| {
                        g[[
                            image.row(
                                c,
                                y * pool.stride + t / pool.window,
                                x * pool.stride + t % pool.window,
                            ),
                            e,
                        ]]
                    })
                    .collect();
                v.sort_by(|a, b| b.total_cmp(a));
                v[0] - v[1] < 1e-3 + h
            })
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 120, ..ProptestConfig::default() })]

    #[test]
    fn gradient_check_passes_on_random_convolutional_networks((net, x, y, lambda) in random_cnn()) {
        prop_assume!(!near_relu_kink(&net, &x, 2e-4) && !near_a_pooling_tie(&net, &x, 2e-4));
        let analytic = gradcheck::analytic_gradients(&net, x.view(), y.view(), lambda, None).unwrap();
        let numeric = numerical_gradients_with(&net, x.view(), y.view(), lambda, 1e-4, None, Difference::FourthOrder).unwrap();
        let report = compare_gradients(&analytic, &numeric);
        for t in &report.tensors {
            prop_assert!(
                t.relative_error < 1e-7 || t.max_abs_diff < 1e-10,
                "{} {}: {}\n{report}",
                t.name, net.architecture(), t.relative_error
            );
        }
    }
}

/// A number that is sometimes not finite.
fn maybe_bad_f64() -> impl Strategy<Value = f64> {
    prop_oneof![
        6 => -3.0..3.0f64,
        1 => Just(f64::NAN),
        1 => Just(f64::INFINITY),
        1 => Just(f64::NEG_INFINITY),
    ]
}

/// A matrix of random (possibly empty) shape with possibly non-finite entries.
fn any_matrix() -> impl Strategy<Value = Array2<f64>> {
    (0usize..5, 0usize..6).prop_flat_map(|(r, c)| {
        prop::collection::vec(maybe_bad_f64(), r * c)
            .prop_map(move |v| Array2::from_shape_vec((r, c), v).unwrap_or_else(|_| Array2::zeros((0, 0))))
    })
}

/// A hyperparameter that is often invalid.
fn any_hyper() -> impl Strategy<Value = f64> {
    prop_oneof![
        Just(0.0),
        Just(-1.0),
        Just(1.0),
        Just(1.5),
        Just(f64::NAN),
        Just(f64::INFINITY),
        0.0..1.0f64,
        -10.0..10.0f64,
    ]
}

/// Runs `f`, failing the property if it panics (the result itself may be Ok or Err).
fn no_panic<T>(what: &str, f: impl FnOnce() -> T) -> std::result::Result<T, TestCaseError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
        .map_err(|_| TestCaseError::fail(format!("{what} panicked")))
}

fn valid(x: &Array2<f64>, rows: usize) -> bool {
    x.nrows() == rows && x.ncols() > 0 && x.iter().all(|v| v.is_finite())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

    /// Networks built from random (often invalid) sizes and hyperparameters.
    #[test]
    fn construction_never_panics(
        sizes in prop::collection::vec(0usize..5, 0..5),
        acts in prop::collection::vec(activation(), 0..5),
        loss in loss(),
        scale in any_hyper(),
        keep in any_hyper(),
        lr in any_hyper(),
        beta in any_hyper(),
    ) {
        let built = no_panic("Network::with_activations", || {
            Network::with_activations(&sizes, &acts, loss, Init::Random { scale }, 1)
        })?;
        let valid_arch = sizes.len() >= 2 && sizes.iter().all(|&n| n > 0) && acts.len() == sizes.len() - 1
            && scale.is_finite() && scale > 0.0
            && loss.required_output().is_none_or(|a| acts.last() == Some(&a));
        prop_assert_eq!(built.is_ok(), valid_arch, "sizes {:?} acts {:?} scale {}", sizes, acts, scale);
        let h = no_panic("Dropout::check", || Dropout::Hidden(keep).check(3))?;
        prop_assert_eq!(h.is_ok(), keep > 0.0 && keep <= 1.0);
        for (name, ok) in [
            ("Sgd", no_panic("Sgd", || Optimizer::sgd(lr).is_ok())?),
            ("Adam", no_panic("Adam", || Optimizer::adam(lr).is_ok())?),
            ("AdamW lr", no_panic("AdamW", || Optimizer::adamw(lr, 0.01).is_ok())?),
            ("Momentum", no_panic("Momentum", || Optimizer::momentum(0.1, beta).is_ok())?),
            ("RmsProp", no_panic("RmsProp", || Optimizer::rmsprop(0.1, beta).is_ok())?),
        ] {
            let expect = if name.contains("Sgd") || name.contains("Adam") {
                lr.is_finite() && lr > 0.0
            } else {
                (0.0..1.0).contains(&beta)
            };
            prop_assert_eq!(ok, expect, "{} lr {} beta {}", name, lr, beta);
        }
    }

    /// Every entry point of a valid network fed random (often malformed) X and Y.
    #[test]
    fn bad_data_is_an_error_everywhere(x in any_matrix(), y in any_matrix(), task_i in 0usize..3, batch in 0usize..4, l2 in any_hyper()) {
        let task = [Task::Binary, Task::MultiClass, Task::Regression][task_i];
        let n_out = if task == Task::MultiClass { 3 } else { 1 };
        let net = Network::new(&[2, 3, n_out], Activation::Tanh, task, Init::Xavier, 0).unwrap();
        let x_ok = valid(&x, 2);
        let labels_ok = net.loss().check_labels(y.view(), n_out, x.ncols()).is_ok();
        let l2_ok = l2.is_finite() && l2 >= 0.0;

        let fwd = no_panic("forward", || net.forward(x.view()))?;
        prop_assert_eq!(fwd.is_ok(), x_ok);
        prop_assert_eq!(no_panic("predict", || net.predict(x.view()))?.is_ok(), x_ok);
        let acc = no_panic("accuracy", || net.accuracy(x.view(), y.view()))?;
        if !x_ok { prop_assert!(acc.is_err()); }
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let dropout = Dropout::Hidden(0.5);
        prop_assert_eq!(no_panic("forward_train", || net.forward_train(x.view(), &dropout, &mut rng))?.is_ok(), x_ok);
        if let Ok(cache) = fwd {
            let b = no_panic("backward", || net.backward(&cache, y.view(), l2))?;
            prop_assert_eq!(b.is_ok(), labels_ok && l2_ok);
            let c = no_panic("cost", || net.cost(&cache, y.view(), l2))?;
            prop_assert_eq!(c.is_ok(), labels_ok && l2_ok);
            let g = no_panic("gradient_check", || gradient_check(&net, x.view(), y.view(), l2, 1e-6, None))?;
            prop_assert_eq!(g.is_ok(), labels_ok && l2_ok);
        }
        let config = TrainConfig { batch_size: batch, l2, ..TrainConfig::default() };
        let mut trained = net.clone();
        let r = no_panic("fit", || fit(&mut trained, &mut Optimizer::sgd(0.1).unwrap(), DataView::new(x.view(), y.view()), &config, 1))?;
        prop_assert_eq!(r.is_ok(), x_ok && labels_ok && batch > 0 && l2_ok, "fit: {:?}", r.err());
        prop_assert_eq!(no_panic("evaluate", || evaluate(&net, DataView::new(x.view(), y.view()), 0.0))?.is_ok(), x_ok && labels_ok);

        let scaler = no_panic("StandardScaler::fit", || StandardScaler::fit(x.view()))?;
        prop_assert_eq!(scaler.is_ok(), x.nrows() > 0 && x.ncols() > 0 && x.iter().all(|v| v.is_finite()));
        if let Ok(s) = scaler {
            let t = no_panic("transform", || s.transform(y.view()))?;
            prop_assert_eq!(t.is_ok(), y.nrows() == x.nrows() && y.iter().all(|v| v.is_finite()));
        }
    }

    /// Optimizer steps with gradients shaped for another network.
    #[test]
    fn optimizers_reject_mismatched_gradients(a in 1usize..4, b in 1usize..4) {
        let mut net = Network::new(&[2, 3, 1], Activation::Relu, Task::Binary, Init::He, 0).unwrap();
        let other = Network::new(&[a, b, 1], Activation::Relu, Task::Binary, Init::He, 0).unwrap();
        let grads = Gradients::zeros_like(&other);
        let same = (a, b) == (2, 3);
        let mut opts = [Optimizer::sgd(0.1).unwrap(),
            Optimizer::momentum(0.1, 0.9).unwrap(),
            Optimizer::rmsprop(0.1, 0.9).unwrap(),
            Optimizer::adam(0.1).unwrap(),
            Optimizer::adamw(0.1, 0.01).unwrap()];
        for opt in opts.iter_mut() {
            let r = no_panic("Optimizer::step", || opt.step(&mut net, &grads))?;
            prop_assert_eq!(r.is_ok(), same);
        }
    }

    /// Generators and splits with random (often invalid) arguments.
    #[test]
    fn data_functions_never_panic(m in 0usize..50, k in 0usize..6, noise in any_hyper(), frac in any_hyper(), seed in any::<u64>()) {
        let noise_ok = noise.is_finite() && noise >= 0.0;
        prop_assert_eq!(no_panic("two_moons", || two_moons(m, noise, seed))?.is_ok(), m >= 2 && noise_ok);
        prop_assert_eq!(no_panic("circles", || circles(m, noise, 0.5, seed))?.is_ok(), m >= 2 && noise_ok);
        prop_assert_eq!(no_panic("spirals", || spirals(m, k, noise, seed))?.is_ok(), k >= 2 && m >= k && noise_ok);
        prop_assert_eq!(no_panic("xor", || xor(m, noise, seed))?.is_ok(), m >= 1 && noise_ok);
        prop_assert_eq!(no_panic("blobs", || blobs(m, k, 2, noise, seed))?.is_ok(), k >= 1 && m >= k && noise_ok);
        prop_assert_eq!(no_panic("noisy_sine", || noisy_sine(m, noise, seed))?.is_ok(), m >= 1 && noise_ok);
        if let Ok(d) = blobs(m.max(1), 2, 2, 1.0, seed) {
            no_panic("train_test_split", || train_test_split(&d, frac, seed))?.ok();
        }
    }

    /// Arbitrary text and byte-level corruption of a saved network.
    #[test]
    fn loading_garbage_never_panics(text in ".{0,200}", cut in 0usize..2000, flip in 0usize..2000) {
        prop_assert!(no_panic("from_json", || SavedModel::from_json(&text))?.is_err());
        let net = Network::new(&[2, 3, 1], Activation::Relu, Task::Binary, Init::He, 0).unwrap();
        let good = SavedModel::new(net, None).to_json().unwrap();
        let cut = cut.min(good.len());
        if let Some(prefix) = good.get(..cut) {
            let r = no_panic("from_json(truncated)", || SavedModel::from_json(prefix))?;
            prop_assert_eq!(r.is_ok(), cut == good.len());
        }
        let mut bytes = good.into_bytes();
        let i = flip % bytes.len();
        bytes[i] = if bytes[i] == b'9' { b'x' } else { b'9' };
        if let Ok(s) = String::from_utf8(bytes) {
            no_panic("from_json(corrupted)", || SavedModel::from_json(&s))?.ok();
        }
    }
}
