//! [`Network`] → ONNX graph: one block of nodes per layer l = 1..=L (see the op mapping in
//! the [module docs](super)).

use super::Precision;
use super::proto::{
    AttributeProto, AttributeType, GraphProto, ModelProto, NodeProto, OperatorSetIdProto,
    StringStringEntryProto, TensorProto, TensorShapeProto, TypeProto, ValueInfoProto,
    tensor_shape_proto::{Dimension, dimension},
    type_proto,
};
use ann_core::conv::{Conv2d, Image};
use ann_core::layer::{Layer, LayerKind};
use ann_core::normalization::Normalization;
use ann_core::{Activation, AnnError, Network, Result};

/// The IR version written: 9 (ONNX 1.15), the first with opset 20.
pub const IR_VERSION: i64 = 9;
/// The `ai.onnx` opset written: 20, the first with `Gelu` (and with `LayerNormalization`,
/// which came in 17).
pub const OPSET: i64 = 20;
/// The symbol of the batch dimension of `x` and `y`.
pub const BATCH: &str = "batch";

/// How a row of `x` and of `y` relates to the course's column-per-example matrices; written
/// into the model's metadata as `layout`.
pub const LAYOUT: &str = "x is [batch, n_x]: row i of x is example i, column i of the course's \
X (n_x, m), so x = Xᵀ; y is [batch, n_L] = A[L]ᵀ, the transpose of Network::predict_proba's \
output. An image input holds its C×H×W pixels channel after channel, pixel (c, h, w) at \
position (c·H + h)·W + w of the row: an NCHW tensor flattened.";

/// ann_core's version, read from its manifest when this crate is compiled (ann_core exports no
/// version constant of its own).
fn ann_core_version() -> &'static str {
    const MANIFEST: &str = include_str!("../../../ann_core/Cargo.toml");
    MANIFEST
        .lines()
        .find_map(|line| line.trim().strip_prefix("version = \"")?.strip_suffix('"'))
        .unwrap_or("unknown")
}

/// A tensor being built: its name and what it holds (rows of `n` numbers, or images).
#[derive(Clone)]
struct Value {
    name: String,
    shape: Shape,
}

#[derive(Clone, Copy, PartialEq)]
enum Shape {
    /// [batch, n].
    Rows(usize),
    /// [batch, C, H, W].
    Image(Image),
}

impl Shape {
    fn len(self) -> usize {
        match self {
            Shape::Rows(n) => n,
            Shape::Image(image) => image.len(),
        }
    }
}

fn attr_int(name: &str, i: i64) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        r#type: Some(AttributeType::Int as i32),
        i: Some(i),
        ..Default::default()
    }
}

fn attr_ints(name: &str, ints: &[usize]) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        r#type: Some(AttributeType::Ints as i32),
        ints: ints.iter().map(|&i| i as i64).collect(),
        ..Default::default()
    }
}

fn attr_float(name: &str, f: f32) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        r#type: Some(AttributeType::Float as i32),
        f: Some(f),
        ..Default::default()
    }
}

fn attr_string(name: &str, s: &str) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        r#type: Some(AttributeType::String as i32),
        s: Some(s.as_bytes().to_vec()),
        ..Default::default()
    }
}

/// `[batch, n]` (or any other dims) of the element type of `precision`.
fn value_info(name: &str, precision: Precision, dims: &[Option<usize>]) -> ValueInfoProto {
    let dim = dims
        .iter()
        .map(|d| Dimension {
            value: Some(match d {
                Some(n) => dimension::Value::DimValue(*n as i64),
                None => dimension::Value::DimParam(BATCH.into()),
            }),
            denotation: None,
        })
        .collect();
    ValueInfoProto {
        name: Some(name.into()),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: Some(precision.data_type() as i32),
                shape: Some(TensorShapeProto { dim }),
            })),
            denotation: None,
        }),
        ..Default::default()
    }
}

struct Builder {
    precision: Precision,
    nodes: Vec<NodeProto>,
    initializers: Vec<TensorProto>,
}

impl Builder {
    /// An initializer `name` of `dims` holding `values` (row-major) in the export's precision,
    /// as little-endian raw bytes. Fails on a value that is not finite or, in f32, beyond
    /// f32's range.
    fn tensor(
        &mut self,
        name: &str,
        dims: &[usize],
        values: impl IntoIterator<Item = f64>,
    ) -> Result<String> {
        let mut raw = Vec::new();
        for v in values {
            if !v.is_finite() {
                return Err(AnnError::NonFinite(format!(
                    "{name} (value {v}), which ONNX export needs finite"
                )));
            }
            match self.precision {
                Precision::F32 => {
                    let f = v as f32;
                    if !f.is_finite() {
                        return Err(AnnError::Persistence(format!(
                            "{name} holds {v}, beyond the range of f32: export it with Precision::F64"
                        )));
                    }
                    raw.extend_from_slice(&f.to_le_bytes());
                }
                Precision::F64 => raw.extend_from_slice(&v.to_le_bytes()),
            }
        }
        self.initializers.push(TensorProto {
            dims: dims.iter().map(|&d| d as i64).collect(),
            data_type: Some(self.precision.data_type() as i32),
            name: Some(name.into()),
            raw_data: Some(raw),
            ..Default::default()
        });
        Ok(name.into())
    }

    /// An int64 initializer (a shape for `Reshape`).
    fn int64_tensor(&mut self, name: &str, values: &[i64]) -> String {
        self.initializers.push(TensorProto {
            dims: vec![values.len() as i64],
            data_type: Some(super::proto::DataType::Int64 as i32),
            name: Some(name.into()),
            raw_data: Some(values.iter().flat_map(|v| v.to_le_bytes()).collect()),
            ..Default::default()
        });
        name.into()
    }

    /// A scalar constant shared by every node that needs it (GELU's coefficients).
    fn constant(&mut self, name: &str, value: f64) -> Result<String> {
        if self.initializers.iter().any(|t| t.name.as_deref() == Some(name)) {
            return Ok(name.into());
        }
        self.tensor(name, &[], [value])
    }

    /// Appends `output = op(inputs; attributes)`, a node named `name`; returns `output`.
    fn node(
        &mut self,
        op: &str,
        name: &str,
        inputs: &[&str],
        output: &str,
        attribute: Vec<AttributeProto>,
    ) -> String {
        self.nodes.push(NodeProto {
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: vec![output.into()],
            name: Some(name.into()),
            op_type: Some(op.into()),
            attribute,
            ..Default::default()
        });
        output.into()
    }

    /// A[l] = g(Z) for `z` [batch, n] or [batch, C, H, W]; returns A's name (Z's for linear).
    fn activation(&mut self, l: usize, g: Activation, z: &Value) -> Result<String> {
        let p = format!("layer{l}.{}", act_tag(g));
        let out = format!("layer{l}.A");
        let z_name = z.name.as_str();
        Ok(match g {
            Activation::Linear => z.name.clone(),
            Activation::Relu => self.node("Relu", &p, &[z_name], &out, vec![]),
            Activation::Tanh => self.node("Tanh", &p, &[z_name], &out, vec![]),
            Activation::Sigmoid => match self.precision {
                Precision::F32 => self.node("Sigmoid", &p, &[z_name], &out, vec![]),
                // tract 0.23 has no f64 Sigmoid: 1 / (1 + e^(−z)) from Neg, Exp, Add, Div
                Precision::F64 => {
                    let one = self.constant("const.one", 1.0)?;
                    let neg = self.node("Neg", &format!("{p}.neg"), &[z_name], &format!("{p}.neg"), vec![]);
                    let exp = self.node("Exp", &format!("{p}.exp"), &[&neg], &format!("{p}.exp"), vec![]);
                    let den =
                        self.node("Add", &format!("{p}.den"), &[&one, &exp], &format!("{p}.den"), vec![]);
                    self.node("Div", &p, &[&one, &den], &out, vec![])
                }
            },
            Activation::LeakyRelu(alpha) => match self.precision {
                Precision::F32 => {
                    self.node("LeakyRelu", &p, &[z_name], &out, vec![attr_float("alpha", alpha as f32)])
                }
                // LeakyRelu's alpha attribute is a 32-bit float (and onnxruntime has no f64
                // PRelu): g(z) = z if z > 0 else α z, as Where(z > 0, z, α z) with an f64 α.
                Precision::F64 => {
                    let zero = self.constant("const.zero", 0.0)?;
                    let slope = self.tensor(&format!("layer{l}.alpha"), &[], [alpha])?;
                    let positive = self.node(
                        "Greater",
                        &format!("{p}.positive"),
                        &[z_name, &zero],
                        &format!("{p}.positive"),
                        vec![],
                    );
                    let scaled = self.node(
                        "Mul",
                        &format!("{p}.scaled"),
                        &[&slope, z_name],
                        &format!("{p}.scaled"),
                        vec![],
                    );
                    self.node("Where", &p, &[&positive, z_name, &scaled], &out, vec![])
                }
            },
            Activation::Gelu => match self.precision {
                Precision::F32 => {
                    self.node("Gelu", &p, &[z_name], &out, vec![attr_string("approximate", "tanh")])
                }
                Precision::F64 => self.gelu_composed(&p, z_name, &out)?,
            },
            Activation::Softmax => match z.shape {
                Shape::Rows(_) => self.node("Softmax", &p, &[z_name], &out, vec![attr_int("axis", 1)]),
                // ann_core's softmax normalizes a whole column, all C·H·W entries of an image.
                Shape::Image(image) => {
                    let flat = self.node(
                        "Flatten",
                        &format!("{p}.flatten"),
                        &[z_name],
                        &format!("{p}.flat"),
                        vec![attr_int("axis", 1)],
                    );
                    let soft =
                        self.node("Softmax", &p, &[&flat], &format!("{p}.out"), vec![attr_int("axis", 1)]);
                    let shape = self.int64_tensor(&format!("{p}.image_shape"), &image_dims(image));
                    self.node("Reshape", &format!("{p}.reshape"), &[&soft, &shape], &out, vec![])
                }
            },
        })
    }

    /// ½ z (1 + tanh(√(2/π) (z + 0.044715 z³))) from Mul, Add and Tanh, in ann_core's order of
    /// operations: ((0.044715 z) z) z, then (½ z)(1 + tanh u).
    fn gelu_composed(&mut self, p: &str, z: &str, out: &str) -> Result<String> {
        let cubic = self.constant("gelu.cubic", 0.044_715)?;
        let k = self.constant("gelu.sqrt_2_over_pi", (2.0 / std::f64::consts::PI).sqrt())?;
        let one = self.constant("const.one", 1.0)?;
        let half = self.constant("const.half", 0.5)?;
        let cz = self.node("Mul", &format!("{p}.cz"), &[&cubic, z], &format!("{p}.cz"), vec![]);
        let cz2 = self.node("Mul", &format!("{p}.cz2"), &[&cz, z], &format!("{p}.cz2"), vec![]);
        let cz3 = self.node("Mul", &format!("{p}.cz3"), &[&cz2, z], &format!("{p}.cz3"), vec![]);
        let inner = self.node("Add", &format!("{p}.inner"), &[z, &cz3], &format!("{p}.inner"), vec![]);
        let u = self.node("Mul", &format!("{p}.u"), &[&k, &inner], &format!("{p}.u"), vec![]);
        let t = self.node("Tanh", &format!("{p}.tanh"), &[&u], &format!("{p}.tanh"), vec![]);
        let one_t = self.node("Add", &format!("{p}.one_plus"), &[&one, &t], &format!("{p}.one_plus"), vec![]);
        let half_z = self.node("Mul", &format!("{p}.half_z"), &[&half, z], &format!("{p}.half_z"), vec![]);
        Ok(self.node("Mul", p, &[&half_z, &one_t], out, vec![]))
    }

    /// Z̃[l] = γ ⊙ Ẑ + β of `z` [batch, n]: BatchNormalization with the running statistics,
    /// or LayerNormalization over the last axis.
    fn normalization(&mut self, l: usize, norm: &Normalization, z: &str) -> Result<String> {
        let out = format!("layer{l}.Z_norm");
        let col = |a: &ndarray::Array2<f64>| a.iter().copied().collect::<Vec<_>>();
        match norm {
            Normalization::BatchNorm(bn) => {
                let n = bn.gamma.len();
                let eps = bn.config.epsilon;
                let eps32 = eps as f32;
                // ε is a 32-bit attribute; in f64 the variance absorbs ε − ε₃₂, so that the
                // runtime's σ²_run + ε₃₂ is ann_core's σ²_run + ε (to rounding).
                let shift = match self.precision {
                    Precision::F32 => 0.0,
                    Precision::F64 => eps - f64::from(eps32),
                };
                let gamma = self.tensor(&format!("layer{l}.bn.gamma"), &[n], col(&bn.gamma))?;
                let beta = self.tensor(&format!("layer{l}.bn.beta"), &[n], col(&bn.beta))?;
                let mean = self.tensor(&format!("layer{l}.bn.running_mean"), &[n], col(&bn.running_mean))?;
                let var = self.tensor(
                    &format!("layer{l}.bn.running_var"),
                    &[n],
                    bn.running_var.iter().map(|v| v + shift),
                )?;
                Ok(self.node(
                    "BatchNormalization",
                    &format!("layer{l}.batchnorm"),
                    &[z, &gamma, &beta, &mean, &var],
                    &out,
                    vec![attr_float("epsilon", eps32)],
                ))
            }
            Normalization::LayerNorm(ln) => {
                let n = ln.gamma.len();
                let gamma = self.tensor(&format!("layer{l}.ln.gamma"), &[n], col(&ln.gamma))?;
                let beta = self.tensor(&format!("layer{l}.ln.beta"), &[n], col(&ln.beta))?;
                match self.precision {
                    Precision::F32 => Ok(self.node(
                        "LayerNormalization",
                        &format!("layer{l}.layernorm"),
                        &[z, &gamma, &beta],
                        &out,
                        vec![attr_int("axis", -1), attr_float("epsilon", ln.config.epsilon as f32)],
                    )),
                    // LayerNormalization's ε is a 32-bit attribute: in f64 the normalization is
                    // written out, with ε an f64 constant.
                    Precision::F64 => self.layer_norm_composed(l, ln.config.epsilon, z, &gamma, &beta, &out),
                }
            }
        }
    }

    /// Layer norm from elementary operators, in ann_core's order: μ = mean(z), d = z − μ,
    /// σ² = mean(d²), Ẑ = d · (1 / √(σ² + ε)), Z̃ = Ẑ ⊙ γ + β (means over the last axis).
    fn layer_norm_composed(
        &mut self,
        l: usize,
        epsilon: f64,
        z: &str,
        gamma: &str,
        beta: &str,
        out: &str,
    ) -> Result<String> {
        let p = format!("layer{l}.layernorm");
        let axes = if self.initializers.iter().any(|t| t.name.as_deref() == Some("const.last_axis")) {
            "const.last_axis".to_string()
        } else {
            self.int64_tensor("const.last_axis", &[-1])
        };
        let eps = self.tensor(&format!("{p}.epsilon"), &[], [epsilon])?;
        let one = self.constant("const.one", 1.0)?;
        let keep = || vec![attr_int("keepdims", 1)];
        let mean = self.node("ReduceMean", &format!("{p}.mean"), &[z, &axes], &format!("{p}.mean"), keep());
        let d = self.node("Sub", &format!("{p}.centered"), &[z, &mean], &format!("{p}.centered"), vec![]);
        let d2 = self.node("Mul", &format!("{p}.squared"), &[&d, &d], &format!("{p}.squared"), vec![]);
        let var = self.node("ReduceMean", &format!("{p}.var"), &[&d2, &axes], &format!("{p}.var"), keep());
        let var_eps =
            self.node("Add", &format!("{p}.var_eps"), &[&var, &eps], &format!("{p}.var_eps"), vec![]);
        let std = self.node("Sqrt", &format!("{p}.std"), &[&var_eps], &format!("{p}.std"), vec![]);
        let inv = self.node("Div", &format!("{p}.inv_std"), &[&one, &std], &format!("{p}.inv_std"), vec![]);
        let z_hat = self.node("Mul", &format!("{p}.z_hat"), &[&d, &inv], &format!("{p}.z_hat"), vec![]);
        let scaled =
            self.node("Mul", &format!("{p}.scaled"), &[&z_hat, gamma], &format!("{p}.scaled"), vec![]);
        Ok(self.node("Add", &p, &[&scaled, beta], out, vec![]))
    }

    /// The nodes of layer l on `input`; returns A[l].
    fn layer(&mut self, l: usize, layer: &Layer, input: Value) -> Result<Value> {
        match &layer.kind {
            LayerKind::Dense => self.dense(l, layer, input),
            LayerKind::Conv2d(conv) => self.conv(l, layer, conv, input),
        }
    }

    fn dense(&mut self, l: usize, layer: &Layer, input: Value) -> Result<Value> {
        let (n, n_prev) = layer.w.dim();
        if n_prev != input.shape.len() || n == 0 {
            return Err(AnnError::ShapeMismatch {
                context: format!("ONNX export of dense layer {l}: W[{l}] takes layer {}'s units", l - 1),
                expected: format!("({n}, {}) with {n} ≥ 1", input.shape.len()),
                got: format!("({n}, {n_prev})"),
            });
        }
        if layer.b.dim() != (n, 1) {
            return Err(AnnError::ShapeMismatch {
                context: format!("ONNX export of b[{l}]"),
                expected: format!("({n}, 1)"),
                got: format!("{:?}", layer.b.dim()),
            });
        }
        let x = match input.shape {
            Shape::Rows(_) => input.name,
            // [batch, C, H, W] → [batch, C·H·W], the order of ann_core's columns
            Shape::Image(_) => self.node(
                "Flatten",
                &format!("layer{l}.flatten"),
                &[&input.name],
                &format!("layer{l}.flat"),
                vec![attr_int("axis", 1)],
            ),
        };
        let w = self.tensor(&format!("layer{l}.W"), &[n, n_prev], layer.w.iter().copied())?;
        let b = self.tensor(&format!("layer{l}.b"), &[n], layer.b.iter().copied())?;
        // Z = x Wᵀ + b, [batch, n_l]: the transpose of Z[l] = W[l] A[l−1] + b[l]
        let mut z = self.node(
            "Gemm",
            &format!("layer{l}.gemm"),
            &[&x, &w, &b],
            &format!("layer{l}.Z"),
            vec![attr_int("transB", 1)],
        );
        if let Some(norm) = &layer.normalization {
            z = self.normalization(l, norm, &z)?;
        }
        let name = self.activation(l, layer.activation, &Value { name: z, shape: Shape::Rows(n) })?;
        Ok(Value { name, shape: Shape::Rows(n) })
    }

    fn conv(&mut self, l: usize, layer: &Layer, conv: &Conv2d, input: Value) -> Result<Value> {
        let filters = layer.w.nrows();
        conv.check(layer.w.dim(), layer.b.dim(), l)?;
        let image = match input.shape {
            Shape::Image(image) if image == conv.input => input.name,
            // [batch, C·H·W] → [batch, C, H, W]: ann_core's row (c·H + h)·W + w is NCHW's order
            Shape::Rows(n) if n == conv.input.len() => {
                let shape = self.int64_tensor(&format!("layer{l}.image_shape"), &image_dims(conv.input));
                self.node(
                    "Reshape",
                    &format!("layer{l}.reshape"),
                    &[&input.name, &shape],
                    &format!("layer{l}.image"),
                    vec![],
                )
            }
            other => {
                return Err(AnnError::ShapeMismatch {
                    context: format!("ONNX export of convolutional layer {l}: its input image"),
                    expected: conv.input.to_string(),
                    got: match other {
                        Shape::Image(image) => image.to_string(),
                        Shape::Rows(n) => format!("{n} units"),
                    },
                });
            }
        };
        if let Some(norm) = &layer.normalization {
            return Err(AnnError::InvalidArchitecture(format!(
                "layer {l} is convolutional with a {}: ann_core does not normalize image layers, and \
                 the export has no mapping for it",
                norm.kind().name()
            )));
        }
        let (c, k) = (conv.input.channels, conv.kernel);
        // W[l] (F, C·k·k), entry (c, i, j) in column (c·k + i)·k + j: row-major (F, C, k, k)
        let w = self.tensor(&format!("layer{l}.W"), &[filters, c, k, k], layer.w.iter().copied())?;
        let b = self.tensor(&format!("layer{l}.b"), &[filters], layer.b.iter().copied())?;
        let z = self.node(
            "Conv",
            &format!("layer{l}.conv"),
            &[&image, &w, &b],
            &format!("layer{l}.Z"),
            vec![
                attr_ints("kernel_shape", &[k, k]),
                attr_ints("strides", &[conv.stride, conv.stride]),
                attr_ints("pads", &[conv.padding; 4]),
                attr_ints("dilations", &[1, 1]),
                attr_int("group", 1),
            ],
        );
        let z = Value { name: z, shape: Shape::Image(conv.conv_output(filters)) };
        let mut a = self.activation(l, layer.activation, &z)?;
        if let Some(pool) = conv.pool {
            a = self.node(
                "MaxPool",
                &format!("layer{l}.maxpool"),
                &[&a],
                &format!("layer{l}.pooled"),
                vec![
                    attr_ints("kernel_shape", &[pool.window, pool.window]),
                    attr_ints("strides", &[pool.stride, pool.stride]),
                ],
            );
        }
        Ok(Value { name: a, shape: Shape::Image(conv.output(filters)) })
    }
}

/// [−1, C, H, W]: a Reshape's target for images of a batch of any size.
fn image_dims(image: Image) -> [i64; 4] {
    [-1, image.channels as i64, image.height as i64, image.width as i64]
}

/// The short name of g in node names: `layer2.relu`.
fn act_tag(g: Activation) -> &'static str {
    match g {
        Activation::Relu => "relu",
        Activation::LeakyRelu(_) => "leaky_relu",
        Activation::Tanh => "tanh",
        Activation::Sigmoid => "sigmoid",
        Activation::Gelu => "gelu",
        Activation::Softmax => "softmax",
        Activation::Linear => "linear",
    }
}

/// The model of `net` (see [`to_onnx`](super::to_onnx)).
pub(crate) fn model(net: &Network, precision: Precision) -> Result<ModelProto> {
    let mut b = Builder { precision, nodes: Vec::new(), initializers: Vec::new() };
    let n_x = net.input_size();
    let mut value = Value { name: "x".into(), shape: Shape::Rows(n_x) };
    for (i, layer) in net.layers().iter().enumerate() {
        value = b.layer(i + 1, layer, value)?;
    }
    let n_out = value.shape.len();
    if let Shape::Image(_) = value.shape {
        // an image output layer: y holds each image as its column of A[L], NCHW flattened
        let name =
            b.node("Flatten", "output.flatten", &[&value.name], "output.flat", vec![attr_int("axis", 1)]);
        value = Value { name, shape: Shape::Rows(n_out) };
    }
    // The last node's output becomes y; a linear output layer without normalization ends on
    // its Gemm, which is always there.
    match b.nodes.last_mut().and_then(|n| n.output.first_mut()) {
        Some(out) if *out == value.name => *out = "y".into(),
        _ => return Err(AnnError::InvalidArchitecture("the network has no layer to export".into())),
    }
    let meta =
        |key: &str, value: String| StringStringEntryProto { key: Some(key.into()), value: Some(value) };
    Ok(ModelProto {
        ir_version: Some(IR_VERSION),
        opset_import: vec![OperatorSetIdProto { domain: Some(String::new()), version: Some(OPSET) }],
        producer_name: Some("ann_interop".into()),
        producer_version: Some(env!("CARGO_PKG_VERSION").into()),
        doc_string: Some(net.architecture()),
        graph: Some(GraphProto {
            node: b.nodes,
            name: Some("ann_core_network".into()),
            initializer: b.initializers,
            input: vec![value_info("x", precision, &[None, Some(n_x)])],
            output: vec![value_info("y", precision, &[None, Some(n_out)])],
            ..Default::default()
        }),
        metadata_props: vec![
            meta("architecture", net.architecture()),
            meta("layout", LAYOUT.into()),
            meta("ann_core_version", ann_core_version().into()),
            meta("precision", precision.name().into()),
        ],
        ..Default::default()
    })
}
