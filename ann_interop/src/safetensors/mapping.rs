//! The network as a list of `nn.Sequential` modules and the tensors they hold (the table of
//! the module docs).

use ann_core::normalization::Normalization;
use ann_core::{Activation, AnnError, Image, LayerKind, Network, Result};

/// One module of the `nn.Sequential` equivalent to a network, in order. Its `Display` is
/// the Python source, e.g. `nn.Linear(784, 256)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TorchModule {
    /// `nn.Unflatten(1, (C, H, W))`: a row of C·H·W values to a C × H × W image, in C order
    /// (pixel (c, h, w) at (c·H + h)·W + w, ann_core's column layout).
    Unflatten(Image),
    /// `nn.Flatten()`: an image back to a row of C·H·W values, in C order.
    Flatten,
    /// `nn.Linear(n_{l−1}, n_l)`: z = W x + b for each example x; `weight` is W[l]
    /// (n_l, n_{l−1}), `bias` is b[l] (n_l,).
    Linear {
        /// n_{l−1}.
        in_features: usize,
        /// n_l.
        out_features: usize,
    },
    /// `nn.Conv2d(C, F, k, stride=s, padding=p)`: Z[f, y, x] = b[f] + Σ_c Σ_i Σ_j
    /// W[f, c, i, j] · A_pad[c, y·s + i, x·s + j]; `weight` is W[l] seen as (F, C, k, k),
    /// `bias` is b[l] (F,).
    Conv2d {
        /// C.
        in_channels: usize,
        /// F.
        out_channels: usize,
        /// k.
        kernel_size: usize,
        /// s.
        stride: usize,
        /// p.
        padding: usize,
    },
    /// `nn.MaxPool2d(w, stride=s)`: the maximum of each w × w window, s apart.
    MaxPool2d {
        /// w.
        kernel_size: usize,
        /// s.
        stride: usize,
    },
    /// `nn.BatchNorm1d(n_l, eps=ε, momentum=1 − momentum)`: in evaluation
    /// z̃ = γ ⊙ (z − μ_run) / √(σ²_run + ε) + β.
    BatchNorm1d {
        /// n_l.
        num_features: usize,
        /// ε.
        eps: f64,
        /// PyTorch's momentum, the weight of the new value: 1 − ann_core's momentum.
        momentum: f64,
    },
    /// `nn.LayerNorm(n_l, eps=ε)`: z̃ = γ ⊙ (z − μ) / √(σ² + ε) + β with μ, σ² of each
    /// example over its n_l values.
    LayerNorm {
        /// n_l.
        normalized_shape: usize,
        /// ε.
        eps: f64,
    },
    /// `nn.ReLU()`: max(0, z).
    Relu,
    /// `nn.LeakyReLU(α)`: z if z > 0 else α z.
    LeakyRelu {
        /// α.
        negative_slope: f64,
    },
    /// `nn.Tanh()`.
    Tanh,
    /// `nn.Sigmoid()`: 1 / (1 + e^(−z)).
    Sigmoid,
    /// `nn.GELU(approximate='tanh')`: ½ z (1 + tanh(√(2/π) (z + 0.044715 z³))).
    GeluTanh,
    /// `nn.Softmax(dim=1)`: e^(z_i) / Σ_j e^(z_j) over each example's row.
    Softmax,
}

/// Python's spelling of a float: the shortest decimal that reads back as `v` once rounded to
/// 15 significant digits, so 1 − 0.9 prints as 0.1.
fn py_float(v: f64) -> String {
    let rounded: f64 = format!("{v:.14e}").parse().unwrap_or(v);
    format!("{rounded:?}")
}

impl std::fmt::Display for TorchModule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            TorchModule::Unflatten(im) => {
                write!(f, "nn.Unflatten(1, ({}, {}, {}))", im.channels, im.height, im.width)
            }
            TorchModule::Flatten => f.write_str("nn.Flatten()"),
            TorchModule::Linear { in_features, out_features } => {
                write!(f, "nn.Linear({in_features}, {out_features})")
            }
            TorchModule::Conv2d { in_channels, out_channels, kernel_size, stride, padding } => write!(
                f,
                "nn.Conv2d({in_channels}, {out_channels}, {kernel_size}, stride={stride}, padding={padding})"
            ),
            TorchModule::MaxPool2d { kernel_size, stride } => {
                write!(f, "nn.MaxPool2d({kernel_size}, stride={stride})")
            }
            TorchModule::BatchNorm1d { num_features, eps, momentum } => write!(
                f,
                "nn.BatchNorm1d({num_features}, eps={}, momentum={})",
                py_float(eps),
                py_float(momentum)
            ),
            TorchModule::LayerNorm { normalized_shape, eps } => {
                write!(f, "nn.LayerNorm({normalized_shape}, eps={})", py_float(eps))
            }
            TorchModule::Relu => f.write_str("nn.ReLU()"),
            TorchModule::LeakyRelu { negative_slope } => {
                write!(f, "nn.LeakyReLU({})", py_float(negative_slope))
            }
            TorchModule::Tanh => f.write_str("nn.Tanh()"),
            TorchModule::Sigmoid => f.write_str("nn.Sigmoid()"),
            TorchModule::GeluTanh => f.write_str("nn.GELU(approximate='tanh')"),
            TorchModule::Softmax => f.write_str("nn.Softmax(dim=1)"),
        }
    }
}

/// Which number of the network a tensor holds (l counted from 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TensorSource {
    /// W[l].
    Weight(usize),
    /// b[l].
    Bias(usize),
    /// γ[l] of layer l's normalization.
    Gamma(usize),
    /// β[l] of layer l's normalization.
    Beta(usize),
    /// μ_run of layer l's batch norm.
    RunningMean(usize),
    /// σ²_run of layer l's batch norm.
    RunningVar(usize),
    /// PyTorch's count of training steps of layer l's batch norm (int64, shape ()); ann_core
    /// keeps none: written as 0, its value ignored when read.
    BatchesTracked(usize),
}

impl TensorSource {
    /// l.
    pub fn layer(self) -> usize {
        match self {
            TensorSource::Weight(l)
            | TensorSource::Bias(l)
            | TensorSource::Gamma(l)
            | TensorSource::Beta(l)
            | TensorSource::RunningMean(l)
            | TensorSource::RunningVar(l)
            | TensorSource::BatchesTracked(l) => l,
        }
    }
}

impl std::fmt::Display for TensorSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            TensorSource::Weight(l) => write!(f, "W[{l}]"),
            TensorSource::Bias(l) => write!(f, "b[{l}]"),
            TensorSource::Gamma(l) => write!(f, "γ[{l}]"),
            TensorSource::Beta(l) => write!(f, "β[{l}]"),
            TensorSource::RunningMean(l) => write!(f, "μ_run of layer {l}'s batch norm"),
            TensorSource::RunningVar(l) => write!(f, "σ²_run of layer {l}'s batch norm"),
            TensorSource::BatchesTracked(l) => write!(f, "the step count of layer {l}'s batch norm"),
        }
    }
}

/// One tensor of the file: its `state_dict` name, its shape and which numbers it holds.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TensorSpec {
    /// `"{module index}.{field}"`, e.g. `"0.weight"`.
    pub name: String,
    /// The PyTorch shape, e.g. [n_l, n_{l−1}] for a `Linear` weight, [] for a scalar.
    pub shape: Vec<usize>,
    /// The network's numbers it holds.
    pub source: TensorSource,
}

impl TensorSpec {
    /// Whether it holds floats (all but `num_batches_tracked`, an int64 count).
    pub fn is_float(&self) -> bool {
        !matches!(self.source, TensorSource::BatchesTracked(_))
    }
}

/// The modules with their tensors, for a network whose layers chain.
pub(crate) fn plan(net: &Network) -> Result<Vec<(TorchModule, Vec<TensorSpec>)>> {
    // `layers_mut` may have left shapes that no longer chain; the constructor checks them all.
    Network::from_layers(net.layers().to_vec(), net.loss())?;
    let mut out: Vec<(TorchModule, Vec<TensorSpec>)> = Vec::new();
    let push = |out: &mut Vec<(TorchModule, Vec<TensorSpec>)>,
                module,
                fields: &[(&str, Vec<usize>, TensorSource)]| {
        let index = out.len();
        let specs = fields
            .iter()
            .map(|(field, shape, source)| TensorSpec {
                name: format!("{index}.{field}"),
                shape: shape.clone(),
                source: *source,
            })
            .collect();
        out.push((module, specs));
    };
    // Whether the running tensor is a row per example (true) or an image (false).
    let mut flat = true;
    for (i, layer) in net.layers().iter().enumerate() {
        let l = i + 1;
        let (rows, cols) = layer.w.dim();
        match layer.kind {
            LayerKind::Dense => {
                if !flat {
                    push(&mut out, TorchModule::Flatten, &[]);
                    flat = true;
                }
                push(
                    &mut out,
                    TorchModule::Linear { in_features: cols, out_features: rows },
                    &[
                        ("weight", vec![rows, cols], TensorSource::Weight(l)),
                        ("bias", vec![rows], TensorSource::Bias(l)),
                    ],
                );
                match &layer.normalization {
                    None => {}
                    Some(Normalization::BatchNorm(bn)) => push(
                        &mut out,
                        TorchModule::BatchNorm1d {
                            num_features: rows,
                            eps: bn.config.epsilon,
                            momentum: 1.0 - bn.config.momentum,
                        },
                        &[
                            ("weight", vec![rows], TensorSource::Gamma(l)),
                            ("bias", vec![rows], TensorSource::Beta(l)),
                            ("running_mean", vec![rows], TensorSource::RunningMean(l)),
                            ("running_var", vec![rows], TensorSource::RunningVar(l)),
                            ("num_batches_tracked", vec![], TensorSource::BatchesTracked(l)),
                        ],
                    ),
                    Some(Normalization::LayerNorm(ln)) => push(
                        &mut out,
                        TorchModule::LayerNorm { normalized_shape: rows, eps: ln.config.epsilon },
                        &[
                            ("weight", vec![rows], TensorSource::Gamma(l)),
                            ("bias", vec![rows], TensorSource::Beta(l)),
                        ],
                    ),
                }
                if let Some(g) = activation_module(layer.activation) {
                    push(&mut out, g, &[]);
                }
            }
            LayerKind::Conv2d(conv) => {
                if flat {
                    push(&mut out, TorchModule::Unflatten(conv.input), &[]);
                    flat = false;
                }
                let (c, k) = (conv.input.channels, conv.kernel);
                push(
                    &mut out,
                    TorchModule::Conv2d {
                        in_channels: c,
                        out_channels: rows,
                        kernel_size: k,
                        stride: conv.stride,
                        padding: conv.padding,
                    },
                    &[
                        ("weight", vec![rows, c, k, k], TensorSource::Weight(l)),
                        ("bias", vec![rows], TensorSource::Bias(l)),
                    ],
                );
                if layer.normalization.is_some() {
                    // `Network::from_layers` refuses it; kept as an error should that change.
                    return Err(AnnError::InvalidArchitecture(format!(
                        "layer {l}: a normalization of a convolutional layer has no nn.Sequential mapping"
                    )));
                }
                match layer.activation {
                    // ann_core's softmax normalizes the whole column of F·H′·W′ values.
                    Activation::Softmax => {
                        push(&mut out, TorchModule::Flatten, &[]);
                        push(&mut out, TorchModule::Softmax, &[]);
                        push(&mut out, TorchModule::Unflatten(conv.conv_output(rows)), &[]);
                    }
                    g => {
                        if let Some(g) = activation_module(g) {
                            push(&mut out, g, &[]);
                        }
                    }
                }
                if let Some(pool) = conv.pool {
                    push(
                        &mut out,
                        TorchModule::MaxPool2d { kernel_size: pool.window, stride: pool.stride },
                        &[],
                    );
                }
            }
        }
    }
    Ok(out)
}

/// g as a module; None for the identity (a linear layer adds no module).
fn activation_module(g: Activation) -> Option<TorchModule> {
    Some(match g {
        Activation::Relu => TorchModule::Relu,
        Activation::LeakyRelu(alpha) => TorchModule::LeakyRelu { negative_slope: alpha },
        Activation::Tanh => TorchModule::Tanh,
        Activation::Sigmoid => TorchModule::Sigmoid,
        Activation::Gelu => TorchModule::GeluTanh,
        Activation::Softmax => TorchModule::Softmax,
        Activation::Linear => return None,
    })
}

/// The modules of the `nn.Sequential` that computes what `net` computes in evaluation, in
/// order (the table of the module docs); module i holds the tensors named `"{i}.…"`.
///
/// ```
/// use ann_core::{Activation, Init, Network, Task};
/// use ann_interop::safetensors::{TorchModule, torch_modules};
/// let net = Network::new(&[4, 3, 2], Activation::Relu, Task::MultiClass, Init::He, 0)?;
/// let modules = torch_modules(&net)?;
/// assert_eq!(modules[0], TorchModule::Linear { in_features: 4, out_features: 3 });
/// assert_eq!(modules.len(), 4); // Linear, ReLU, Linear, Softmax
/// # Ok::<(), ann_core::AnnError>(())
/// ```
pub fn torch_modules(net: &Network) -> Result<Vec<TorchModule>> {
    Ok(plan(net)?.into_iter().map(|(m, _)| m).collect())
}

/// Every tensor of the network's `state_dict`, in module order: W[1] as `"0.weight"`, b[1]
/// as `"0.bias"`, … (the table of the module docs).
///
/// ```
/// use ann_core::{Activation, Init, Network, Task};
/// use ann_interop::safetensors::tensor_specs;
/// let net = Network::new(&[4, 3, 1], Activation::Tanh, Task::Binary, Init::Xavier, 0)?;
/// let specs = tensor_specs(&net)?;
/// assert_eq!(specs[0].name, "0.weight");
/// assert_eq!(specs[0].shape, vec![3, 4]); // W[1] is (n_1, n_0)
/// assert_eq!(specs[2].name, "2.weight"); // module 1 is nn.Tanh()
/// assert_eq!(specs[2].source.to_string(), "W[2]");
/// # Ok::<(), ann_core::AnnError>(())
/// ```
pub fn tensor_specs(net: &Network) -> Result<Vec<TensorSpec>> {
    Ok(plan(net)?.into_iter().flat_map(|(_, specs)| specs).collect())
}

/// The names of [`tensor_specs`], the keys of `nn.Sequential(...).state_dict()`.
pub fn tensor_names(net: &Network) -> Result<Vec<String>> {
    Ok(tensor_specs(net)?.into_iter().map(|s| s.name).collect())
}

/// The Python source of the `nn.Sequential` equivalent to `net` (with `from torch import
/// nn`), one module a line, each with its index as a comment:
///
/// ```
/// use ann_core::{Activation, BatchNormConfig, Init, Network, Task};
/// use ann_interop::safetensors::torch_sequential;
/// let net = Network::new(&[784, 256, 10], Activation::Relu, Task::MultiClass, Init::He, 0)?
///     .with_normalization(BatchNormConfig::default())?;
/// assert_eq!(
///     torch_sequential(&net)?,
///     "nn.Sequential(
///     nn.Linear(784, 256),  # 0
///     nn.BatchNorm1d(256, eps=1e-5, momentum=0.1),  # 1
///     nn.ReLU(),  # 2
///     nn.Linear(256, 10),  # 3
///     nn.Softmax(dim=1),  # 4
/// )"
/// );
/// # Ok::<(), ann_core::AnnError>(())
/// ```
pub fn torch_sequential(net: &Network) -> Result<String> {
    let lines: String =
        torch_modules(net)?.iter().enumerate().map(|(i, m)| format!("    {m},  # {i}\n")).collect();
    Ok(format!("nn.Sequential(\n{lines})"))
}
