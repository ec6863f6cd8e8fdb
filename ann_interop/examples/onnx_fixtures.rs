//! Writes ONNX exports of several networks, with an input batch and ann_core's outputs, for
//! `scripts/interop_onnx.py` to run in onnxruntime:
//!
//! ```text
//! cargo run --release -p ann_interop --example onnx_fixtures -- DIR
//! ```
//!
//! For each network NAME, DIR holds NAME.f32.onnx and NAME.f64.onnx ([`to_onnx`]),
//! NAME.x.npy (the batch as rows, [m, n_x], float64) and NAME.y.npy
//! (`predict_proba`'s output transposed, [m, n_L], float64); `manifest.json` lists them with
//! each network's architecture.

use ann_core::*;
use ann_interop::onnx::{Precision, to_onnx};
use ndarray::Array2;
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use std::path::Path;

/// A 2-D float64 array as a NumPy `.npy` file (format 1.0, C order).
fn npy(a: &Array2<f64>) -> Vec<u8> {
    let mut header =
        format!("{{'descr': '<f8', 'fortran_order': False, 'shape': ({}, {}), }}", a.nrows(), a.ncols());
    // magic (6) + version (2) + header length (2) + header, padded to a multiple of 64, ending in \n
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for v in a.as_standard_layout().iter() {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

/// Labels for `task` of `n_out` units and m examples.
fn targets(task: Task, n_out: usize, m: usize, rng: &mut ChaCha8Rng) -> Array2<f64> {
    match task {
        Task::Binary => Array2::from_shape_simple_fn((1, m), || f64::from(rng.random::<bool>())),
        Task::MultiClass => one_hot(&(0..m).map(|_| rng.random_range(0..n_out)).collect::<Vec<_>>(), n_out),
        Task::Regression => Array2::from_shape_simple_fn((n_out, m), || rng.random_range(-1.0..1.0)),
    }
}

/// A few epochs of SGD on random data (so that batch norm's running statistics move).
fn trained(mut net: Network, task: Task, rng: &mut ChaCha8Rng) -> Result<Network> {
    let m = 64;
    let x = Array2::from_shape_simple_fn((net.input_size(), m), || rng.random_range(-1.5..1.5));
    let y = targets(task, net.output_size(), m, rng);
    let config = TrainConfig { batch_size: 16, ..TrainConfig::default() };
    fit(&mut net, &mut Optimizer::sgd(0.05)?, DataView::new(x.view(), y.view()), &config, 3)?;
    Ok(net)
}

fn networks(rng: &mut ChaCha8Rng) -> Result<Vec<(&'static str, Network)>> {
    use Activation::*;
    let every = Network::with_activations(
        &[5, 8, 8, 8, 8, 8, 4],
        &[Relu, LeakyRelu(0.2), Tanh, Sigmoid, Gelu, Softmax],
        Loss::CrossEntropy,
        Init::Xavier,
        1,
    )?;
    let conv = Network::convolutional(
        Image::new(2, 8, 8),
        &[
            Conv2dConfig::new(4, 3).padding(1).pool(2).into(),
            Conv2dConfig::new(3, 3).stride(1).into(),
            LayerSpec::Dense(6),
            LayerSpec::Dense(3),
        ],
        Relu,
        Task::MultiClass,
        Init::He,
        2,
    )?;
    let conv_gelu = Network::convolutional(
        Image::new(1, 7, 7),
        &[Conv2dConfig::new(3, 3).stride(2).padding(1).into(), LayerSpec::Dense(1)],
        Gelu,
        Task::Binary,
        Init::He,
        3,
    )?;
    Ok(vec![
        (
            "binary_relu",
            trained(Network::new(&[2, 16, 8, 1], Relu, Task::Binary, Init::He, 4)?, Task::Binary, rng)?,
        ),
        (
            "multiclass_gelu_batchnorm",
            trained(
                Network::new(&[4, 12, 12, 3], Gelu, Task::MultiClass, Init::He, 5)?
                    .with_normalization(BatchNormConfig::default())?,
                Task::MultiClass,
                rng,
            )?,
        ),
        (
            "regression_leaky_relu_layernorm",
            trained(
                Network::new(&[3, 10, 10, 2], LeakyRelu(0.1), Task::Regression, Init::He, 6)?
                    .with_normalization(LayerNormConfig::default())?,
                Task::Regression,
                rng,
            )?,
        ),
        ("every_activation", trained(every, Task::MultiClass, rng)?),
        ("conv_pool_relu", trained(conv, Task::MultiClass, rng)?),
        ("conv_stride_gelu", trained(conv_gelu, Task::Binary, rng)?),
        ("mnist_784_256_128_10", Network::new(&[784, 256, 128, 10], Relu, Task::MultiClass, Init::He, 7)?),
    ])
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).map_err(|e| AnnError::Persistence(format!("writing {}: {e}", path.display())))
}

fn main() -> Result<()> {
    let Some(dir) = std::env::args().nth(1) else {
        eprintln!("usage: onnx_fixtures DIR");
        std::process::exit(2);
    };
    let dir = Path::new(&dir);
    std::fs::create_dir_all(dir).map_err(|e| AnnError::Persistence(format!("{}: {e}", dir.display())))?;
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let mut manifest = Vec::new();
    for (name, net) in networks(&mut rng)? {
        let m = 16;
        let x = Array2::from_shape_simple_fn((net.input_size(), m), || rng.random_range(-2.0..2.0));
        let y = net.predict_proba(x.view())?;
        write(&dir.join(format!("{name}.x.npy")), &npy(&x.t().to_owned()))?;
        write(&dir.join(format!("{name}.y.npy")), &npy(&y.t().to_owned()))?;
        let mut entry = serde_json::json!({
            "name": name,
            "architecture": net.architecture(),
            "x": format!("{name}.x.npy"),
            "y": format!("{name}.y.npy"),
        });
        for precision in [Precision::F32, Precision::F64] {
            let bytes = to_onnx(&net, precision)?;
            let file = format!(
                "{name}.{}.onnx",
                match precision {
                    Precision::F32 => "f32",
                    Precision::F64 => "f64",
                }
            );
            write(&dir.join(&file), &bytes)?;
            entry[precision.name()] = serde_json::json!({ "file": file, "bytes": bytes.len() });
        }
        println!("{name}: {}", net.architecture());
        manifest.push(entry);
    }
    let text = serde_json::to_string_pretty(&manifest).map_err(|e| AnnError::Persistence(e.to_string()))?;
    write(&dir.join("manifest.json"), text.as_bytes())?;
    println!("{} networks written to {}", manifest.len(), dir.display());
    Ok(())
}
