//! The ONNX export against tract (a pure-Rust ONNX runtime): for random networks of every
//! activation, task and normalization, and convolutional networks with pooling, tract's
//! output on a random batch equals `Network::predict_proba`'s, transposed.
//!
//! Tolerance: |a − b| ≤ tol · max(1, |b|), b = ann_core's value, with tol = 1e-5 for the
//! float32 export and 1e-12 for the float64 export.
//!
//! Every model runs on tract's optimized plan, except float64 models with a layer norm:
//! when it declutters, tract 0.23 recognizes the layer norm's mean–variance pattern (the
//! float64 export writes it out from ReduceMean, Sub, Mul, Add, Sqrt, Div) and fuses it into
//! its own layer-norm operator, which computes in f32 whatever the input type (differences
//! of 2.5e-8 from ann_core's output, against 1.7e-16 unfused), so those run on tract's typed
//! plan, which keeps the graph's operators as they are.

use ann_core::normalization::{Normalization, NormalizationConfig};
use ann_core::*;
use ann_interop::onnx::{Precision, decode_onnx, describe_onnx, to_onnx};
use ndarray::Array2;
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use tract_onnx::prelude::*;

const TOL_F32: f64 = 1e-5;
const TOL_F64: f64 = 1e-12;

/// tract's y for `x` (n_x, m), run on xᵀ in `precision`; returned in y's row-major order.
/// `optimized`: tract's optimized plan, else its typed plan (no decluttering, no fusion).
fn tract_run(bytes: &[u8], x: &Array2<f64>, precision: Precision, optimized: bool) -> TractResult<Vec<f64>> {
    let model = tract_onnx::onnx().model_for_read(&mut &bytes[..])?;
    let model = if optimized { model.into_optimized()? } else { model.into_typed()? }.into_runnable()?;
    let rows = x.t().as_standard_layout().to_owned();
    let shape = [rows.nrows(), rows.ncols()];
    let values = rows.as_slice().expect("standard layout");
    let input = match precision {
        Precision::F32 => Tensor::from_shape(&shape, &values.iter().map(|&v| v as f32).collect::<Vec<_>>())?,
        Precision::F64 => Tensor::from_shape(&shape, values)?,
    };
    let out = model.run(tvec!(input.into()))?;
    let y = out[0].cast_to::<f64>()?;
    Ok(y.to_plain_array_view::<f64>()?.iter().copied().collect())
}

/// The largest |a − b| / max(1, |b|) of tract's y against ann_core's A[L] (n_L, m).
fn largest_difference(y: &[f64], expected: &Array2<f64>) -> f64 {
    let rows = expected.t().as_standard_layout().to_owned();
    assert_eq!(y.len(), rows.len(), "y has {} numbers, A[L]ᵀ {}", y.len(), rows.len());
    y.iter().zip(rows.iter()).map(|(a, b)| (a - b).abs() / b.abs().max(1.0)).fold(0.0, f64::max)
}

/// Labels for `task` of `n_out` units and m examples.
fn targets(task: Task, n_out: usize, m: usize, rng: &mut ChaCha8Rng) -> Array2<f64> {
    match task {
        Task::Binary => Array2::from_shape_simple_fn((1, m), || f64::from(rng.random::<bool>())),
        Task::MultiClass => one_hot(&(0..m).map(|_| rng.random_range(0..n_out)).collect::<Vec<_>>(), n_out),
        Task::Regression => Array2::from_shape_simple_fn((n_out, m), || rng.random_range(-1.0..1.0)),
    }
}

/// A few epochs of SGD on random data, so that W, b, γ, β and batch norm's running
/// statistics are no longer their initial values.
fn train(net: &mut Network, task: Task, rng: &mut ChaCha8Rng) {
    let m = 24;
    let x = Array2::from_shape_simple_fn((net.input_size(), m), || rng.random_range(-1.5..1.5));
    let y = targets(task, net.output_size(), m, rng);
    let config = TrainConfig { batch_size: 8, ..TrainConfig::default() };
    let mut opt = Optimizer::sgd(0.05).unwrap();
    fit(net, &mut opt, DataView::new(x.view(), y.view()), &config, 3).unwrap();
}

/// Largest differences seen, per precision.
#[derive(Default)]
struct Worst {
    f32: f64,
    f64: f64,
    nets: usize,
}

/// Exports `net` in both precisions, runs both in tract on a random batch and checks them.
fn check(net: &Network, rng: &mut ChaCha8Rng, worst: &mut Worst) {
    let m = rng.random_range(1..=9);
    let x = Array2::from_shape_simple_fn((net.input_size(), m), || rng.random_range(-2.0..2.0));
    let expected = net.predict_proba(x.view()).unwrap();
    for (precision, tol) in [(Precision::F32, TOL_F32), (Precision::F64, TOL_F64)] {
        let bytes = to_onnx(net, precision).unwrap();
        let fused_in_f32 = precision == Precision::F64
            && net.layers().iter().any(|l| matches!(l.normalization, Some(Normalization::LayerNorm(_))));
        let y = tract_run(&bytes, &x, precision, !fused_in_f32)
            .unwrap_or_else(|e| panic!("tract, {precision:?}, {}: {e:?}", net.architecture()));
        let d = largest_difference(&y, &expected);
        assert!(d <= tol, "{precision:?}: difference {d:e} > {tol:e} for {}", net.architecture());
        match precision {
            Precision::F32 => worst.f32 = worst.f32.max(d),
            Precision::F64 => worst.f64 = worst.f64.max(d),
        }
    }
    worst.nets += 1;
}

#[test]
fn dense_networks_of_every_activation_task_and_normalization_agree_with_tract() {
    let mut rng = ChaCha8Rng::seed_from_u64(2024);
    let mut worst = Worst::default();
    for hidden in Activation::ALL {
        for task in [Task::Binary, Task::MultiClass, Task::Regression] {
            for norm in 0..3 {
                let n_out = match task {
                    Task::Binary => 1,
                    Task::MultiClass => rng.random_range(2..=5),
                    Task::Regression => rng.random_range(1..=3),
                };
                let depth = rng.random_range(1..=3);
                let mut sizes = vec![rng.random_range(1..=8)];
                sizes.extend((0..depth).map(|_| rng.random_range(2..=12)));
                sizes.push(n_out);
                let seed = rng.random();
                let mut net = Network::new(&sizes, hidden, task, Init::Xavier, seed).unwrap();
                net = match norm {
                    1 => net.with_normalization(BatchNormConfig { epsilon: 1e-3, momentum: 0.5 }).unwrap(),
                    2 => net.with_normalization(LayerNormConfig::default()).unwrap(),
                    _ => net,
                };
                train(&mut net, task, &mut rng);
                check(&net, &mut rng, &mut worst);
            }
        }
    }
    println!(
        "{} dense networks: largest difference {:.2e} (float32), {:.2e} (float64)",
        worst.nets, worst.f32, worst.f64
    );
}

#[test]
fn leaky_relu_slopes_and_normalization_parameters_away_from_their_defaults_agree_with_tract() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut worst = Worst::default();
    for (alpha, eps) in [(0.01, 1e-5), (0.3, 1e-7), (0.0, 0.1)] {
        let acts = [Activation::LeakyRelu(alpha), Activation::Gelu, Activation::Softmax];
        let mut net =
            Network::with_activations(&[5, 9, 6, 3], &acts, Loss::CrossEntropy, Init::He, 3).unwrap();
        for (i, layer) in net.layers_mut().iter_mut().take(2).enumerate() {
            let mut norm = if i == 0 {
                BatchNormConfig { epsilon: eps, momentum: 0.9 }.build(layer.units()).unwrap()
            } else {
                LayerNormConfig { epsilon: eps }.build(layer.units()).unwrap()
            };
            let (gamma, beta) = norm.kind_mut().gamma_beta_mut();
            gamma.mapv_inplace(|_| rng.random_range(0.5..1.5));
            beta.mapv_inplace(|_| rng.random_range(-0.5..0.5));
            if let Normalization::BatchNorm(bn) = &mut norm {
                bn.running_mean.mapv_inplace(|_| rng.random_range(-1.0..1.0));
                // small running variances make ε matter
                bn.running_var.mapv_inplace(|_| rng.random_range(1e-4..0.1));
            }
            layer.normalization = Some(norm);
        }
        let net = Network::from_layers(net.layers().to_vec(), Loss::CrossEntropy).unwrap();
        check(&net, &mut rng, &mut worst);
    }
    println!(
        "hand-set slopes and ε: largest difference {:.2e} (float32), {:.2e} (float64)",
        worst.f32, worst.f64
    );
}

#[test]
fn convolutional_networks_with_pooling_agree_with_tract() {
    let mut rng = ChaCha8Rng::seed_from_u64(99);
    let mut worst = Worst::default();
    let mut built = 0;
    while built < 24 {
        let (c, h, w) = (rng.random_range(1..=3), rng.random_range(4..=9), rng.random_range(4..=9));
        let convs = rng.random_range(1..=2);
        let mut specs: Vec<LayerSpec> = (0..convs)
            .map(|_| {
                let k = [1, 3, 5][rng.random_range(0..3)];
                let conv = Conv2dConfig::new(rng.random_range(1..=4), k)
                    .stride(rng.random_range(1..=2))
                    .padding(rng.random_range(0..=2));
                let pool = match rng.random_range(0..3) {
                    0 => None,
                    1 => Some(MaxPool2d::new(2)),
                    _ => Some(MaxPool2d { window: 2, stride: 1 }),
                };
                Conv2dConfig { pool, ..conv }.into()
            })
            .collect();
        if rng.random::<bool>() {
            specs.push(LayerSpec::Dense(rng.random_range(2..=6)));
        }
        let task = [Task::Binary, Task::MultiClass, Task::Regression][built % 3];
        let n_out = if task == Task::Binary { 1 } else { rng.random_range(2..=4) };
        specs.push(LayerSpec::Dense(n_out));
        let hidden = Activation::ALL[built % Activation::ALL.len()];
        let seed = rng.random();
        let Ok(mut net) = Network::convolutional(Image::new(c, h, w), &specs, hidden, task, Init::He, seed)
        else {
            continue; // a geometry that does not fit
        };
        train(&mut net, task, &mut rng);
        check(&net, &mut rng, &mut worst);
        built += 1;
    }
    println!(
        "{} convolutional networks: largest difference {:.2e} (float32), {:.2e} (float64)",
        worst.nets, worst.f32, worst.f64
    );
}

#[test]
fn describe_lists_the_graph_and_metadata() {
    let net = Network::new(&[3, 4, 2], Activation::Tanh, Task::MultiClass, Init::He, 1).unwrap();
    let bytes = to_onnx(&net, Precision::F64).unwrap();
    let text = describe_onnx(&bytes).unwrap();
    for line in [
        "opset ai.onnx 20",
        "x: float64 [batch, 3]",
        "y: float64 [batch, 2]",
        "layer1.gemm: Gemm(x, layer1.W, layer1.b) → layer1.Z  transB=1",
        "layer1.tanh: Tanh(layer1.Z) → layer1.A",
        "layer2.softmax: Softmax(layer2.Z) → y  axis=1",
        "layer1.W: float64 [4, 3]",
        "initializers (4, 26 numbers)",
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
    let model = decode_onnx(&bytes).unwrap();
    let meta = |key: &str| {
        model.metadata_props.iter().find(|p| p.key.as_deref() == Some(key)).unwrap().value.clone()
    };
    assert_eq!(meta("architecture").unwrap(), net.architecture());
    assert!(meta("layout").unwrap().contains("x = Xᵀ"));
}

#[test]
fn a_convolutional_layer_after_a_dense_one_reshapes_its_rows_into_images() {
    // from_layers accepts a convolution on a dense layer's 16 units read as a 1×4×4 image
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let mut random =
        |r: usize, c: usize| Array2::from_shape_simple_fn((r, c), || rng.random_range(-0.8..0.8));
    let conv = Conv2dConfig::new(2, 3).padding(1).pool(2).on(Image::new(1, 4, 4));
    let layers = vec![
        Layer::new(random(16, 3), random(16, 1), Activation::Tanh),
        Layer::conv(random(2, 9), random(2, 1), Activation::Relu, conv),
        Layer::new(random(2, 8), random(2, 1), Activation::Softmax),
    ];
    let net = Network::from_layers(layers, Loss::CrossEntropy).unwrap();
    let text = describe_onnx(&to_onnx(&net, Precision::F32).unwrap()).unwrap();
    for line in [
        "layer2.reshape: Reshape(layer1.A, layer2.image_shape) → layer2.image",
        "layer2.conv: Conv(layer2.image, layer2.W, layer2.b) → layer2.Z  kernel_shape=[3, 3], strides=[1, 1], pads=[1, 1, 1, 1]",
        "layer2.maxpool: MaxPool(layer2.A) → layer2.pooled  kernel_shape=[2, 2], strides=[2, 2]",
        "layer3.flatten: Flatten(layer2.pooled) → layer3.flat  axis=1",
        "layer2.W: float32 [2, 1, 3, 3]",
        "layer2.image_shape: int64 [4]",
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
    let mut worst = Worst::default();
    check(&net, &mut ChaCha8Rng::seed_from_u64(4), &mut worst);

    // and a convolutional output layer: y is its images, flattened as A[L]'s columns
    let conv = Conv2dConfig::new(3, 3).stride(2).on(Image::new(2, 5, 5));
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let mut random =
        |r: usize, c: usize| Array2::from_shape_simple_fn((r, c), || rng.random_range(-0.8..0.8));
    let layers = vec![Layer::conv(random(3, 18), random(3, 1), Activation::Linear, conv)];
    let net = Network::from_layers(layers, Loss::MeanSquaredError).unwrap();
    let text = describe_onnx(&to_onnx(&net, Precision::F64).unwrap()).unwrap();
    assert!(text.contains("output.flatten: Flatten(layer1.Z) → y  axis=1"), "{text}");
    assert!(text.contains("y: float64 [batch, 12]"), "{text}");
    check(&net, &mut ChaCha8Rng::seed_from_u64(6), &mut worst);
}

#[test]
fn bytes_that_are_not_onnx_are_an_error() {
    for bytes in [&b""[..], b"{\"layers\": []}", b"\x08\x09", &[0xff; 40]] {
        let err = describe_onnx(bytes).unwrap_err();
        assert!(
            matches!(err, AnnError::Persistence(_)) && err.to_string().contains("not an ONNX model"),
            "{err}"
        );
    }
}

#[test]
fn truncated_and_flipped_files_never_panic() {
    let net = Network::new(&[4, 5, 3], Activation::LeakyRelu(0.1), Task::MultiClass, Init::He, 2)
        .unwrap()
        .with_normalization(BatchNormConfig::default())
        .unwrap();
    let bytes = to_onnx(&net, Precision::F32).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let (mut ok, mut err) = (0, 0);
    for cut in 0..bytes.len() {
        match describe_onnx(&bytes[..cut]) {
            Ok(_) => ok += 1,
            Err(_) => err += 1,
        }
    }
    for _ in 0..3000 {
        let mut bad = bytes.clone();
        for _ in 0..rng.random_range(1..=4) {
            let i = rng.random_range(0..bad.len());
            bad[i] ^= 1 << rng.random_range(0..8);
        }
        match describe_onnx(&bad) {
            Ok(_) => ok += 1,
            Err(_) => err += 1,
        }
    }
    // most truncations cut a field in half
    assert!(err > bytes.len() / 2, "{err} errors, {ok} decoded");
}

#[test]
fn networks_the_export_cannot_write_are_errors_naming_the_layer() {
    let mut net = Network::new(&[3, 4, 2], Activation::Relu, Task::Regression, Init::He, 0).unwrap();
    net.layers_mut()[1].w = Array2::zeros((2, 5));
    let err = to_onnx(&net, Precision::F32).unwrap_err().to_string();
    assert!(err.contains("dense layer 2") && err.contains("(2, 5)"), "{err}");

    let mut net = Network::new(&[3, 4, 2], Activation::Relu, Task::Regression, Init::He, 0).unwrap();
    net.layers_mut()[0].w[[0, 0]] = 1e300;
    let err = to_onnx(&net, Precision::F32).unwrap_err().to_string();
    assert!(err.contains("layer1.W") && err.contains("f32"), "{err}");
    assert!(to_onnx(&net, Precision::F64).is_ok());

    let mut net = Network::convolutional(
        Image::new(1, 4, 4),
        &[Conv2dConfig::new(2, 3).into(), LayerSpec::Dense(1)],
        Activation::Relu,
        Task::Binary,
        Init::He,
        0,
    )
    .unwrap();
    net.layers_mut()[0].normalization = Some(BatchNormConfig::default().build(8).unwrap());
    let err = to_onnx(&net, Precision::F32).unwrap_err().to_string();
    assert!(err.contains("layer 1 is convolutional"), "{err}");
}
