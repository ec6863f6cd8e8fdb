//! Fixtures for checking the safetensors files against NumPy and PyTorch
//! (`scripts/interop_safetensors.py` runs both steps).
//!
//! `safetensors_fixtures DIR` writes, for each architecture of [`architectures`]:
//! `NAME.f64.safetensors` and `NAME.f32.safetensors` (the parameters),
//! `NAME.data.safetensors` (`x` [m, n_x] = Xᵀ and `y_hat` [m, n_L] = A[L]ᵀ of
//! `predict_proba`, both F64: one example per row, the transpose of the course's columns),
//! and `manifest.json` listing them with the `nn.Sequential` source, its modules and
//! tensors.
//!
//! `safetensors_fixtures --import DIR` reads `DIR/manifest.json` written by the Python side
//! (entries `name`, `architecture`, `weights`, `data`, `tolerance`, `what`), imports each
//! file into its architecture, predicts `x` and compares with `y_hat`; it prints the largest
//! difference of each and exits with 1 if one exceeds its tolerance.

use ::safetensors::SafeTensors;
use ::safetensors::tensor::{Dtype as StDtype, TensorView};
use ann_core::normalization::Normalization;
use ann_core::*;
use ann_interop::safetensors::{
    Dtype, TorchModule, load_safetensors, save_safetensors, tensor_specs, torch_modules, torch_sequential,
};
use ndarray::Array2;
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use serde_json::{Value, json};
use std::path::Path;
use std::process::ExitCode;

/// The examples per data file.
const M: usize = 7;

/// The architectures checked, by name: dense for each task, with batch norm, with layer
/// norm, and convolutional networks with pooling. `seeded` draws their parameters
/// (biases, γ, β and running statistics included); the import step builds the same
/// architectures with other values as templates.
fn architectures(seeded: bool) -> Vec<(&'static str, Network)> {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut nets = vec![
        (
            "multiclass",
            Network::new(&[6, 16, 8, 4], Activation::Relu, Task::MultiClass, Init::He, 1).unwrap(),
        ),
        ("binary", Network::new(&[5, 12, 1], Activation::Tanh, Task::Binary, Init::Xavier, 2).unwrap()),
        (
            "regression",
            Network::with_activations(
                &[4, 10, 10, 2],
                &[Activation::LeakyRelu(0.1), Activation::Gelu, Activation::Linear],
                Loss::MeanSquaredError,
                Init::Xavier,
                3,
            )
            .unwrap(),
        ),
        (
            "batchnorm",
            Network::new(&[6, 12, 8, 3], Activation::Relu, Task::MultiClass, Init::He, 4)
                .unwrap()
                .with_normalization(BatchNormConfig::default())
                .unwrap(),
        ),
        (
            "layernorm",
            Network::new(&[6, 12, 8, 3], Activation::Sigmoid, Task::MultiClass, Init::Xavier, 5)
                .unwrap()
                .with_normalization(LayerNormConfig::default())
                .unwrap(),
        ),
        (
            "conv",
            Network::convolutional(
                Image::new(2, 8, 8),
                &[
                    Conv2dConfig::new(4, 3).padding(1).pool(2).into(),
                    Conv2dConfig::new(6, 3).stride(1).into(),
                    LayerSpec::Dense(5),
                    LayerSpec::Dense(3),
                ],
                Activation::Relu,
                Task::MultiClass,
                Init::He,
                6,
            )
            .unwrap(),
        ),
        (
            // Softmax over a whole image (ann_core normalizes the column), a strided
            // convolution and an overlapping pooling.
            "conv_softmax",
            Network::convolutional(
                Image::new(1, 7, 7),
                &[
                    Conv2dConfig {
                        pool: Some(MaxPool2d { window: 2, stride: 1 }),
                        ..Conv2dConfig::new(3, 3).stride(2)
                    }
                    .into(),
                    LayerSpec::Dense(2),
                ],
                Activation::Softmax,
                Task::Binary,
                Init::Xavier,
                8,
            )
            .unwrap(),
        ),
    ];
    if seeded {
        for (_, net) in &mut nets {
            spread(net, &mut rng);
        }
    }
    nets
}

/// Biases, γ, β and running statistics away from their initial 0, 1.
fn spread(net: &mut Network, rng: &mut ChaCha8Rng) {
    for layer in net.layers_mut() {
        layer.b.mapv_inplace(|_| rng.random_range(-0.5..0.5));
        if let Some(norm) = &mut layer.normalization {
            let (g, b) = norm.kind_mut().gamma_beta_mut();
            g.mapv_inplace(|_| rng.random_range(0.5..1.5));
            b.mapv_inplace(|_| rng.random_range(-0.5..0.5));
            if let Normalization::BatchNorm(bn) = norm {
                bn.running_mean.mapv_inplace(|_| rng.random_range(-1.0..1.0));
                bn.running_var.mapv_inplace(|_| rng.random_range(0.2..3.0));
            }
        }
    }
}

/// A module as JSON for the NumPy forward pass: its kind and its hyperparameters.
fn module_json(index: usize, m: &TorchModule) -> Value {
    let mut body = match *m {
        TorchModule::Unflatten(im) => {
            json!({"module": "Unflatten", "shape": [im.channels, im.height, im.width]})
        }
        TorchModule::Flatten => json!({"module": "Flatten"}),
        TorchModule::Linear { in_features, out_features } => {
            json!({"module": "Linear", "in_features": in_features, "out_features": out_features})
        }
        TorchModule::Conv2d { in_channels, out_channels, kernel_size, stride, padding } => json!({
            "module": "Conv2d", "in_channels": in_channels, "out_channels": out_channels,
            "kernel_size": kernel_size, "stride": stride, "padding": padding
        }),
        TorchModule::MaxPool2d { kernel_size, stride } => {
            json!({"module": "MaxPool2d", "kernel_size": kernel_size, "stride": stride})
        }
        TorchModule::BatchNorm1d { num_features, eps, momentum } => {
            json!({"module": "BatchNorm1d", "num_features": num_features, "eps": eps, "momentum": momentum})
        }
        TorchModule::LayerNorm { normalized_shape, eps } => {
            json!({"module": "LayerNorm", "normalized_shape": normalized_shape, "eps": eps})
        }
        TorchModule::Relu => json!({"module": "ReLU"}),
        TorchModule::LeakyRelu { negative_slope } => {
            json!({"module": "LeakyReLU", "negative_slope": negative_slope})
        }
        TorchModule::Tanh => json!({"module": "Tanh"}),
        TorchModule::Sigmoid => json!({"module": "Sigmoid"}),
        TorchModule::GeluTanh => json!({"module": "GELU", "approximate": "tanh"}),
        TorchModule::Softmax => json!({"module": "Softmax", "dim": 1}),
    };
    body["index"] = json!(index);
    body
}

/// A matrix as an F64 tensor of the same shape, row-major.
fn f64_bytes(a: &Array2<f64>) -> Vec<u8> {
    a.iter().flat_map(|v| v.to_le_bytes()).collect()
}

fn write_fixtures(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| AnnError::Persistence(format!("{}: {e}", dir.display())))?;
    let mut entries = Vec::new();
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    for (name, net) in architectures(true) {
        let x = Array2::from_shape_simple_fn((net.input_size(), M), || rng.random_range(-2.0..2.0));
        let y_hat = net.predict_proba(x.view())?;
        let (xt, yt) = (x.t().to_owned(), y_hat.t().to_owned());
        let (xb, yb) = (f64_bytes(&xt), f64_bytes(&yt));
        let data = ::safetensors::serialize(
            [
                ("x", TensorView::new(StDtype::F64, vec![M, net.input_size()], &xb).unwrap()),
                ("y_hat", TensorView::new(StDtype::F64, vec![M, net.output_size()], &yb).unwrap()),
            ],
            None,
        )
        .map_err(|e| AnnError::Persistence(e.to_string()))?;
        let data_file = format!("{name}.data.safetensors");
        std::fs::write(dir.join(&data_file), data).map_err(|e| AnnError::Persistence(e.to_string()))?;
        let (f64_file, f32_file) = (format!("{name}.f64.safetensors"), format!("{name}.f32.safetensors"));
        save_safetensors(&net, dir.join(&f64_file), Dtype::F64)?;
        save_safetensors(&net, dir.join(&f32_file), Dtype::F32)?;
        let modules: Vec<Value> =
            torch_modules(&net)?.iter().enumerate().map(|(i, m)| module_json(i, m)).collect();
        let tensors: Vec<Value> = tensor_specs(&net)?
            .iter()
            .map(|s| json!({"name": s.name, "shape": s.shape, "source": s.source.to_string()}))
            .collect();
        println!("{name}: {}", net.architecture());
        entries.push(json!({
            "name": name,
            "architecture": net.architecture(),
            "sequential": torch_sequential(&net)?,
            "modules": modules,
            "tensors": tensors,
            "weights_f64": f64_file,
            "weights_f32": f32_file,
            "data": data_file,
        }));
    }
    let manifest = json!({
        "layout": "x is [m, n_x] = X^T (one example per row), y_hat is [m, n_L] = A[L]^T from predict_proba",
        "architectures": entries,
    });
    let text = serde_json::to_string_pretty(&manifest).map_err(|e| AnnError::Persistence(e.to_string()))?;
    std::fs::write(dir.join("manifest.json"), text).map_err(|e| AnnError::Persistence(e.to_string()))?;
    println!("wrote {} architectures to {}", architectures(false).len(), dir.display());
    // The size of a Fashion-MNIST classifier's file: 4 or 8 bytes a parameter, and the header.
    let fashion = Network::new(&[784, 256, 128, 10], Activation::Relu, Task::MultiClass, Init::He, 0)?;
    for dtype in [Dtype::F32, Dtype::F64] {
        let len = ann_interop::safetensors::to_safetensors(&fashion, dtype)?.len();
        println!("[784, 256, 128, 10], {} parameters, {dtype}: {len} bytes", fashion.num_params());
    }
    Ok(())
}

/// An F64 or F32 matrix of a data file, by name.
fn read_matrix(file: &SafeTensors<'_>, name: &str) -> Result<Array2<f64>> {
    let t = file.tensor(name).map_err(|e| AnnError::Persistence(format!("{name}: {e}")))?;
    let values: Vec<f64> = match t.dtype() {
        StDtype::F64 => t.data().chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().unwrap())).collect(),
        StDtype::F32 => {
            t.data().chunks_exact(4).map(|c| f64::from(f32::from_le_bytes(c.try_into().unwrap()))).collect()
        }
        other => return Err(AnnError::Persistence(format!("{name}: dtype {other:?}, expected F64 or F32"))),
    };
    let &[rows, cols] = t.shape() else {
        return Err(AnnError::Persistence(format!("{name}: shape {:?}, expected 2-D", t.shape())));
    };
    Array2::from_shape_vec((rows, cols), values).map_err(|e| AnnError::Persistence(format!("{name}: {e}")))
}

/// Imports each file the Python side wrote and compares the predictions; Ok(false) on a
/// mismatch.
fn import_check(dir: &Path) -> Result<bool> {
    let text = std::fs::read_to_string(dir.join("manifest.json"))
        .map_err(|e| AnnError::Persistence(format!("{}: {e}", dir.join("manifest.json").display())))?;
    let manifest: Vec<Value> =
        serde_json::from_str(&text).map_err(|e| AnnError::Persistence(e.to_string()))?;
    let templates = architectures(false);
    let mut all_ok = true;
    for entry in &manifest {
        let field = |k: &str| entry[k].as_str().unwrap_or_default().to_string();
        let arch = field("architecture");
        let Some((_, template)) = templates.iter().find(|(n, _)| *n == arch) else {
            return Err(AnnError::InvalidArchitecture(format!("no architecture named {arch}")));
        };
        let net = load_safetensors(dir.join(field("weights")), template)?;
        let bytes =
            std::fs::read(dir.join(field("data"))).map_err(|e| AnnError::Persistence(e.to_string()))?;
        let data = SafeTensors::deserialize(&bytes).map_err(|e| AnnError::Persistence(e.to_string()))?;
        let (x, y) = (read_matrix(&data, "x")?, read_matrix(&data, "y_hat")?);
        // The file's rows are examples: the course's X is its transpose.
        let ours = net.predict_proba(x.t())?.t().to_owned();
        if ours.dim() != y.dim() {
            return Err(AnnError::ShapeMismatch {
                context: format!("predictions of {}", field("name")),
                expected: format!("{:?}", y.dim()),
                got: format!("{:?}", ours.dim()),
            });
        }
        let diff = (&ours - &y).iter().fold(0.0f64, |a, d| a.max(d.abs()));
        let tolerance = entry["tolerance"].as_f64().unwrap_or(0.0);
        let ok = diff <= tolerance;
        all_ok &= ok;
        println!(
            "{} {:<28} into {:<11} max |Δ| = {diff:.3e} (tolerance {tolerance:.0e}) — {}",
            if ok { "ok  " } else { "FAIL" },
            field("name"),
            arch,
            field("what")
        );
    }
    Ok(all_ok)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.as_slice() {
        [flag, dir] if flag == "--import" => import_check(Path::new(dir)),
        [dir] if !dir.starts_with('-') => write_fixtures(Path::new(dir)).map(|()| true),
        _ => {
            eprintln!("usage: safetensors_fixtures DIR | safetensors_fixtures --import DIR");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
