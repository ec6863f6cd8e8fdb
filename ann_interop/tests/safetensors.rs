//! safetensors export and import: round trips on random architectures (dense with every
//! activation and loss, batch and layer norm, convolutional with pooling) bit for bit in F64
//! and to f32 rounding in F32, the same predictions, the `nn.Sequential` mapping, and every
//! kind of bad file as an error naming the tensor.

use ::safetensors::SafeTensors;
use ::safetensors::tensor::{Dtype as StDtype, TensorView};
use ann_core::normalization::{Normalization, NormalizationConfig};
use ann_core::*;
use ann_interop::safetensors::*;
use ndarray::Array2;
use proptest::prelude::*;
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use std::collections::HashMap;

/// Every number of the network, parameters and running statistics, in a fixed order.
fn numbers(net: &Network) -> Vec<f64> {
    let mut out: Vec<f64> = net.params().flat_map(|p| p.value.iter().copied().collect::<Vec<_>>()).collect();
    for layer in net.layers() {
        if let Some(Normalization::BatchNorm(bn)) = &layer.normalization {
            out.extend(bn.running_mean.iter().chain(bn.running_var.iter()));
        }
    }
    out
}

/// The same architecture with every number set to a constant: what import must overwrite.
fn blank(net: &Network) -> Network {
    let mut t = net.clone();
    for layer in t.layers_mut() {
        layer.w.fill(0.25);
        layer.b.fill(0.25);
        if let Some(norm) = &mut layer.normalization {
            let (g, b) = norm.kind_mut().gamma_beta_mut();
            g.fill(0.25);
            b.fill(0.25);
            if let Normalization::BatchNorm(bn) = norm {
                bn.running_mean.fill(0.25);
                bn.running_var.fill(0.25);
            }
        }
    }
    Network::from_layers(t.layers().to_vec(), t.loss()).unwrap()
}

fn signed(rng: &mut ChaCha8Rng, lo: f64, hi: f64) -> f64 {
    let v: f64 = rng.random_range(lo..hi);
    if rng.random::<bool>() { v } else { -v }
}

/// Random biases, γ, β and running statistics (so that none is left at its initial value).
fn spread(net: &mut Network, rng: &mut ChaCha8Rng) {
    for layer in net.layers_mut() {
        layer.b.mapv_inplace(|_| signed(rng, 0.1, 0.6));
        if let Some(norm) = &mut layer.normalization {
            let (g, b) = norm.kind_mut().gamma_beta_mut();
            g.mapv_inplace(|_| signed(rng, 0.5, 1.5));
            b.mapv_inplace(|_| signed(rng, 0.1, 0.6));
            if let Normalization::BatchNorm(bn) = norm {
                bn.running_mean.mapv_inplace(|_| signed(rng, 0.0, 1.0));
                bn.running_var.mapv_inplace(|_| rng.random_range(0.1..3.0));
            }
        }
    }
}

/// A random dense network: 1-5 layers of 1-12 units, any activations, any loss (with the
/// output it requires), batch or layer norm on a random subset of the hidden layers.
fn random_dense() -> impl Strategy<Value = Network> {
    (
        prop::collection::vec(1usize..=12, 2..=6),
        prop::collection::vec(prop::sample::select(Activation::ALL.to_vec()), 6),
        prop::sample::select(Loss::ALL.to_vec()),
        any::<u64>(),
        prop::collection::vec(0u8..3, 5),
        prop::sample::select(vec![0.01, 0.2]),
    )
        .prop_map(|(sizes, acts, loss, seed, normalized, alpha)| {
            let l = sizes.len() - 1;
            let mut acts: Vec<Activation> = acts[..l]
                .iter()
                .map(|&g| if let Activation::LeakyRelu(_) = g { Activation::LeakyRelu(alpha) } else { g })
                .collect();
            if let Some(out) = loss.required_output() {
                acts[l - 1] = out;
            }
            let mut net = Network::with_activations(&sizes, &acts, loss, Init::Xavier, seed).unwrap();
            for (i, layer) in net.layers_mut().iter_mut().enumerate() {
                let units = layer.units();
                layer.normalization = match normalized[i] {
                    _ if i + 1 == l => None,
                    1 => Some(BatchNormConfig { epsilon: 1e-3, momentum: 0.8 }.build(units).unwrap()),
                    2 if units >= 2 => Some(LayerNormConfig::default().build(units).unwrap()),
                    _ => None,
                };
            }
            let mut net = Network::from_layers(net.layers().to_vec(), loss).unwrap();
            spread(&mut net, &mut ChaCha8Rng::seed_from_u64(seed));
            net
        })
}

/// A random convolutional network: 1-2 convolutional layers (with or without pooling), a
/// dense hidden layer or not, a dense output for any task.
fn random_cnn() -> impl Strategy<Value = Network> {
    let conv = (1usize..=3, prop::sample::select(vec![1usize, 3]), 1usize..=2, 0usize..=1, 0u8..3);
    (
        (1usize..=2, 4usize..=8, 4usize..=8),
        prop::collection::vec(conv, 1..=2),
        prop::option::of(1usize..=5),
        prop::sample::select(Activation::ALL.to_vec()),
        prop::sample::select(vec![Task::Binary, Task::MultiClass, Task::Regression]),
        any::<u64>(),
    )
        .prop_filter_map("shapes that fit", |((c, h, w), convs, dense, hidden, task, seed)| {
            let mut specs: Vec<LayerSpec> = convs
                .iter()
                .map(|&(f, k, s, p, pool)| {
                    let pool = match pool {
                        0 => None,
                        1 => Some(MaxPool2d::new(2)),
                        _ => Some(MaxPool2d { window: 2, stride: 1 }),
                    };
                    Conv2dConfig { pool, ..Conv2dConfig::new(f, k).stride(s).padding(p) }.into()
                })
                .collect();
            specs.extend(dense.map(LayerSpec::Dense));
            specs.push(LayerSpec::Dense(if task == Task::Binary { 1 } else { 3 }));
            let mut net =
                Network::convolutional(Image::new(c, h, w), &specs, hidden, task, Init::Xavier, seed).ok()?;
            spread(&mut net, &mut ChaCha8Rng::seed_from_u64(seed));
            Some(net)
        })
}

fn inputs(net: &Network, m: usize, seed: u64) -> Array2<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Array2::from_shape_simple_fn((net.input_size(), m), || rng.random_range(-1.5..1.5))
}

/// The F64 round trip gives the same network bit for bit and the same predictions; F32 gives
/// each number rounded to the nearest f32.
fn check_round_trips(net: &Network) -> std::result::Result<(), TestCaseError> {
    let template = blank(net);
    let back = from_safetensors(&to_safetensors(net, Dtype::F64).unwrap(), &template).unwrap();
    prop_assert_eq!(&back, net);
    let bits = |n: &Network| numbers(n).iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    prop_assert_eq!(bits(&back), bits(net));
    let x = inputs(net, 5, 3);
    let (a, b) = (net.predict_proba(x.view()).unwrap(), back.predict_proba(x.view()).unwrap());
    prop_assert!(a.iter().zip(&b).all(|(u, v)| u.to_bits() == v.to_bits()), "{} vs {}", a, b);

    let back32 = from_safetensors(&to_safetensors(net, Dtype::F32).unwrap(), &template).unwrap();
    let rounded: Vec<f64> = numbers(net).iter().map(|&v| f64::from(v as f32)).collect();
    prop_assert_eq!(numbers(&back32), rounded);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn dense_networks_round_trip(net in random_dense()) {
        check_round_trips(&net)?;
    }

    #[test]
    fn convolutional_networks_round_trip(net in random_cnn()) {
        check_round_trips(&net)?;
        let names = tensor_names(&net).unwrap();
        prop_assert_eq!(names.len(), 2 * net.num_layers());
    }
}

#[test]
fn the_sequential_of_a_convolutional_network() {
    let net = Network::convolutional(
        Image::new(1, 8, 8),
        &[Conv2dConfig::new(4, 3).padding(1).pool(2).into(), LayerSpec::Dense(5), LayerSpec::Dense(3)],
        Activation::Relu,
        Task::MultiClass,
        Init::He,
        0,
    )
    .unwrap();
    assert_eq!(
        torch_sequential(&net).unwrap(),
        "nn.Sequential(
    nn.Unflatten(1, (1, 8, 8)),  # 0
    nn.Conv2d(1, 4, 3, stride=1, padding=1),  # 1
    nn.ReLU(),  # 2
    nn.MaxPool2d(2, stride=2),  # 3
    nn.Flatten(),  # 4
    nn.Linear(64, 5),  # 5
    nn.ReLU(),  # 6
    nn.Linear(5, 3),  # 7
    nn.Softmax(dim=1),  # 8
)"
    );
    let specs = tensor_specs(&net).unwrap();
    let listed: Vec<(String, Vec<usize>, String)> =
        specs.iter().map(|s| (s.name.clone(), s.shape.clone(), s.source.to_string())).collect();
    assert_eq!(
        listed,
        [
            ("1.weight".to_string(), vec![4, 1, 3, 3], "W[1]".to_string()),
            ("1.bias".into(), vec![4], "b[1]".into()),
            ("5.weight".into(), vec![5, 64], "W[2]".into()),
            ("5.bias".into(), vec![5], "b[2]".into()),
            ("7.weight".into(), vec![3, 5], "W[3]".into()),
            ("7.bias".into(), vec![3], "b[3]".into()),
        ]
    );
}

#[test]
fn every_activation_and_normalization_has_its_module() {
    let acts = [
        Activation::LeakyRelu(0.2),
        Activation::Gelu,
        Activation::Tanh,
        Activation::Sigmoid,
        Activation::Softmax,
        Activation::Linear,
    ];
    let net =
        Network::with_activations(&[2, 3, 3, 3, 3, 3, 2], &acts, Loss::MeanSquaredError, Init::Xavier, 0)
            .unwrap();
    let mut layers = net.layers().to_vec();
    layers[0].normalization = Some(BatchNormConfig::default().build(3).unwrap());
    layers[1].normalization = Some(LayerNormConfig { epsilon: 1e-6 }.build(3).unwrap());
    let net = Network::from_layers(layers, Loss::MeanSquaredError).unwrap();
    let source = torch_sequential(&net).unwrap();
    let modules: Vec<String> = torch_modules(&net).unwrap().iter().map(ToString::to_string).collect();
    assert_eq!(
        modules,
        [
            "nn.Linear(2, 3)",
            "nn.BatchNorm1d(3, eps=1e-5, momentum=0.1)",
            "nn.LeakyReLU(0.2)",
            "nn.Linear(3, 3)",
            "nn.LayerNorm(3, eps=1e-6)",
            "nn.GELU(approximate='tanh')",
            "nn.Linear(3, 3)",
            "nn.Tanh()",
            "nn.Linear(3, 3)",
            "nn.Sigmoid()",
            "nn.Linear(3, 3)",
            "nn.Softmax(dim=1)",
            "nn.Linear(3, 2)",
        ],
        "{source}"
    );
    let names = tensor_names(&net).unwrap();
    assert_eq!(
        names[..9],
        [
            "0.weight",
            "0.bias",
            "1.weight",
            "1.bias",
            "1.running_mean",
            "1.running_var",
            "1.num_batches_tracked",
            "3.weight",
            "3.bias"
        ]
    );
    assert_eq!(names[9..11], ["4.weight", "4.bias"]);
    assert_eq!(names.last().unwrap(), "12.bias");
}

/// A dense network with batch norm on its hidden layer, random values everywhere.
fn small() -> Network {
    let mut net = Network::new(&[3, 4, 2], Activation::Relu, Task::MultiClass, Init::He, 5)
        .unwrap()
        .with_normalization(BatchNormConfig::default())
        .unwrap();
    spread(&mut net, &mut ChaCha8Rng::seed_from_u64(1));
    net
}

/// The tensors of a file as (name, dtype, shape, bytes), and its `__metadata__`.
type Tensors = Vec<(String, StDtype, Vec<usize>, Vec<u8>)>;

fn open(bytes: &[u8]) -> (Tensors, Option<HashMap<String, String>>) {
    let file = SafeTensors::deserialize(bytes).unwrap();
    let tensors =
        file.iter().map(|(n, t)| (n.to_string(), t.dtype(), t.shape().to_vec(), t.data().to_vec())).collect();
    let (_, header) = SafeTensors::read_metadata(bytes).unwrap();
    (tensors, header.metadata().clone())
}

fn write(tensors: &Tensors, metadata: Option<HashMap<String, String>>) -> Vec<u8> {
    let views: Vec<(String, TensorView<'_>)> =
        tensors.iter().map(|(n, d, s, b)| (n.clone(), TensorView::new(*d, s.clone(), b).unwrap())).collect();
    ::safetensors::serialize(views, metadata).unwrap()
}

/// The file of `small()` changed by `edit`, read back into its architecture.
fn edited(edit: impl FnOnce(&mut Tensors, &mut Option<HashMap<String, String>>)) -> Result<Network> {
    let net = small();
    let (mut tensors, mut metadata) = open(&to_safetensors(&net, Dtype::F64).unwrap());
    edit(&mut tensors, &mut metadata);
    from_safetensors(&write(&tensors, metadata), &net)
}

fn find<'a>(tensors: &'a mut Tensors, name: &str) -> &'a mut (String, StDtype, Vec<usize>, Vec<u8>) {
    tensors.iter_mut().find(|t| t.0 == name).unwrap()
}

#[test]
fn the_header_holds_architecture_sequential_and_dtype() {
    let net = small();
    let (tensors, metadata) = open(&to_safetensors(&net, Dtype::F32).unwrap());
    let metadata = metadata.unwrap();
    assert_eq!(metadata["architecture"], net.architecture());
    assert_eq!(metadata["torch_sequential"], torch_sequential(&net).unwrap());
    assert_eq!(metadata["dtype"], "F32");
    assert_eq!(metadata["format"], "pt");
    assert!(metadata["layout"].contains("[m, n_x]"));
    let count = tensors.iter().find(|t| t.0 == "1.num_batches_tracked").unwrap();
    assert_eq!((count.1, count.2.as_slice(), count.3.as_slice()), (StDtype::I64, &[][..], &[0u8; 8][..]));
    let w = tensors.iter().find(|t| t.0 == "0.weight").unwrap();
    assert_eq!((w.1, w.2.as_slice()), (StDtype::F32, &[4, 3][..]));
    // Row-major: the second value is W[1][0, 1].
    let second = f32::from_le_bytes(w.3[4..8].try_into().unwrap());
    assert_eq!(second, net.layers()[0].w[[0, 1]] as f32);
}

#[test]
fn a_missing_tensor_is_an_error_naming_it() {
    let err = edited(|t, _| t.retain(|x| x.0 != "1.running_var")).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, AnnError::Persistence(_)), "{msg}");
    assert!(
        msg.contains("\"1.running_var\"") && msg.contains("σ²_run of layer 1") && msg.contains("[4]"),
        "{msg}"
    );
    // PyTorch's step count may be missing, as load_state_dict allows too.
    let net = edited(|t, _| t.retain(|x| x.0 != "1.num_batches_tracked")).unwrap();
    assert_eq!(net, small());
}

#[test]
fn an_extra_tensor_is_an_error_naming_it() {
    let msg = edited(|t, _| t.push(("4.weight".into(), StDtype::F64, vec![1], vec![0; 8])))
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("unexpected") && msg.contains("\"4.weight\" (F64 [1])") && msg.contains("\"3.bias\""),
        "{msg}"
    );
}

#[test]
fn a_wrong_shape_is_an_error_naming_tensor_and_shapes() {
    let err = edited(|t, _| find(t, "0.weight").2 = vec![3, 4]).unwrap_err();
    assert_eq!(
        err,
        AnnError::ShapeMismatch {
            context: "tensor \"0.weight\" (W[1])".into(),
            expected: "[4, 3]".into(),
            got: "[3, 4]".into()
        }
    );
    let err = edited(|t, _| find(t, "0.bias").2 = vec![4, 1]).unwrap_err().to_string();
    assert!(err.contains("\"0.bias\" (b[1])") && err.contains("expected [4], got [4, 1]"), "{err}");
    let err = edited(|t, _| find(t, "1.num_batches_tracked").2 = vec![1]).unwrap_err().to_string();
    assert!(err.contains("num_batches_tracked") && err.contains("expected [], got [1]"), "{err}");
}

#[test]
fn a_wrong_dtype_is_an_error_naming_tensor_and_dtypes() {
    let msg = edited(|t, _| {
        let w = find(t, "3.weight");
        w.1 = StDtype::I64;
    })
    .unwrap_err()
    .to_string();
    assert!(
        msg.contains("\"3.weight\" (W[2])")
            && msg.contains("dtype I64")
            && msg.contains("F64, F32, F16 or BF16"),
        "{msg}"
    );
    let msg = edited(|t, _| {
        let c = find(t, "1.num_batches_tracked");
        c.1 = StDtype::F64;
    })
    .unwrap_err()
    .to_string();
    assert!(msg.contains("num_batches_tracked") && msg.contains("dtype F64") && msg.contains("I64"), "{msg}");
}

#[test]
fn half_precision_files_are_read() {
    // W[2] of 0.5, −1.25, 3 and 0 in F16 and BF16, both exact in either format.
    let values = [0.5f64, -1.25, 3.0, 0.0, 0.5, -1.25, 3.0, 0.0];
    let f16 = [0x3800u16, 0xbd00, 0x4200, 0x0000, 0x3800, 0xbd00, 0x4200, 0x0000];
    let bf16 = [0x3f00u16, 0xbfa0, 0x4040, 0x0000, 0x3f00, 0xbfa0, 0x4040, 0x0000];
    for (dtype, bits) in [(StDtype::F16, f16), (StDtype::BF16, bf16)] {
        let net = edited(|t, _| {
            let w = find(t, "3.weight");
            w.1 = dtype;
            w.3 = bits.iter().flat_map(|b| b.to_le_bytes()).collect();
        })
        .unwrap();
        assert_eq!(net.layers()[1].w.iter().copied().collect::<Vec<_>>(), values, "{dtype:?}");
    }
}

#[test]
fn another_architecture_in_the_header_is_an_error() {
    let msg = edited(|_, m| {
        m.as_mut().unwrap().insert("architecture".into(), "sizes [3, 4, 2], activations [tanh]".into());
    })
    .unwrap_err()
    .to_string();
    assert!(msg.contains("sizes [3, 4, 2], activations [tanh]") && msg.contains("ReLU"), "{msg}");
    // Without the key (a file written by PyTorch) the tensors alone decide.
    assert_eq!(edited(|_, m| *m = None).unwrap(), small());
    // The same tensors under a template of other activations: the header tells them apart.
    let tanh = Network::new(&[3, 4, 2], Activation::Tanh, Task::MultiClass, Init::He, 0)
        .unwrap()
        .with_normalization(BatchNormConfig::default())
        .unwrap();
    let err = from_safetensors(&to_safetensors(&small(), Dtype::F64).unwrap(), &tanh).unwrap_err();
    assert!(matches!(err, AnnError::InvalidArchitecture(_)), "{err}");
}

#[test]
fn values_that_are_no_network_are_errors() {
    let nan = edited(|t, _| find(t, "0.weight").3[..8].copy_from_slice(&f64::NAN.to_le_bytes())).unwrap_err();
    assert!(matches!(nan, AnnError::NonFinite(_)), "{nan}");
    let negative =
        edited(|t, _| find(t, "1.running_var").3[..8].copy_from_slice(&(-1.0f64).to_le_bytes())).unwrap_err();
    assert!(negative.to_string().contains("running variance"), "{negative}");
}

#[test]
fn a_template_of_another_size_names_the_tensor() {
    let bytes = to_safetensors(&small(), Dtype::F32).unwrap();
    let wider = Network::new(&[3, 5, 2], Activation::Relu, Task::MultiClass, Init::He, 0)
        .unwrap()
        .with_normalization(BatchNormConfig::default())
        .unwrap();
    // The header names the architecture, so that check comes first; without it, the shapes.
    assert!(matches!(from_safetensors(&bytes, &wider), Err(AnnError::InvalidArchitecture(_))));
    let (tensors, _) = open(&bytes);
    let err = from_safetensors(&write(&tensors, None), &wider).unwrap_err();
    assert!(matches!(err, AnnError::ShapeMismatch { .. }), "{err}");
    assert!(err.to_string().contains("expected [5, 3], got [4, 3]"), "{err}");
}

#[test]
fn not_a_safetensors_file() {
    let net = small();
    for bytes in [&b""[..], b"hello", b"{\"a\": 1}", &[0xff; 64]] {
        let err = from_safetensors(bytes, &net).unwrap_err();
        assert!(err.to_string().contains("not a readable safetensors file"), "{err}");
    }
    let whole = to_safetensors(&net, Dtype::F64).unwrap();
    let err = from_safetensors(&whole[..whole.len() - 1], &net).unwrap_err().to_string();
    assert!(err.contains(&format!("({} bytes)", whole.len() - 1)), "{err}");
}

#[test]
fn files_save_and_load() {
    let dir = std::env::temp_dir().join(format!("ann_st_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("net.safetensors");
    save_safetensors(&small(), &path, Dtype::F64).unwrap();
    assert_eq!(load_safetensors(&path, &blank(&small())).unwrap(), small());
    let err = load_safetensors(dir.join("none.safetensors"), &small()).unwrap_err().to_string();
    assert!(err.contains("none.safetensors"), "{err}");
    assert!(save_safetensors(&small(), dir.join("no/such/dir.safetensors"), Dtype::F32).is_err());
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_network_with_broken_shapes_is_an_error_not_a_panic() {
    let mut net = small();
    net.layers_mut()[1].w = Array2::zeros((2, 7));
    assert!(matches!(to_safetensors(&net, Dtype::F32), Err(AnnError::ShapeMismatch { .. })));
    assert!(torch_sequential(&net).is_err());
    assert!(from_safetensors(&to_safetensors(&small(), Dtype::F32).unwrap(), &net).is_err());
}

#[test]
fn a_value_beyond_f32_is_an_error_in_f32_only() {
    let mut net = small();
    net.layers_mut()[1].w[[1, 2]] = 1e39;
    let err = to_safetensors(&net, Dtype::F32).unwrap_err().to_string();
    assert!(err.contains("\"3.weight\" (W[2])") && err.contains("1e39"), "{err}");
    let back = from_safetensors(&to_safetensors(&net, Dtype::F64).unwrap(), &small()).unwrap();
    assert_eq!(back, net);
}

#[test]
fn fashion_mnist_sized_files() {
    let net = Network::new(&[784, 256, 128, 10], Activation::Relu, Task::MultiClass, Init::He, 0).unwrap();
    let params = net.num_params();
    assert_eq!(params, 235_146);
    for (dtype, bytes_each) in [(Dtype::F32, 4), (Dtype::F64, 8)] {
        let len = to_safetensors(&net, dtype).unwrap().len();
        // The parameters and a header of under 2 kB (names, shapes, offsets, metadata).
        assert!(len > params * bytes_each && len < params * bytes_each + 2048, "{dtype}: {len} bytes");
    }
}
