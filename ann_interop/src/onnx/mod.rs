//! ONNX export: a [`Network`] as a graph of standard operators that onnxruntime, tract and
//! other runtimes load and run.
//!
//! # Layout: one example per row
//!
//! The course stacks examples as columns, X (n_x, m). ONNX models (and PyTorch, and
//! onnxruntime's users) put the batch first, so the graph's input is `x`, `[batch, n_x]`, with
//! row i of `x` = column i of X, that is x = Xᵀ, and its output `y`, `[batch, n_L]`, is
//! A[L]ᵀ, the transpose of [`Network::predict_proba`]'s output. `batch` is a symbolic
//! dimension: any number of rows runs. An image input keeps ann_core's order of a column,
//! pixel (c, h, w) at (c·H + h)·W + w, which is an NCHW tensor flattened, so one
//! `Reshape` to `[batch, C, H, W]` gives the `Conv` operator its input.
//!
//! # Op mapping (opset 20, IR version 9)
//!
//! Layer l's nodes and initializers are named `layer{l}.…` (`layer1.W`, `layer1.gemm`).
//!
//! | ann_core | ONNX, row form | f64 export where it differs |
//! |---|---|---|
//! | dense Z[l] = W[l] A[l−1] + b[l] | `Gemm(A, W, b, transB=1)` = A Wᵀ + b, W as (n_l, n_{l−1}), b as (n_l) | |
//! | conv Z[l] = W[l] ⋆ A[l−1] + b[l] | `Reshape` to [batch, C, H, W] (if the layer before gives rows), `Conv(A, W, b)`, W (F, C·k·k) as (F, C, k, k), `kernel_shape` [k, k], `strides` [s, s], `pads` [p, p, p, p] | |
//! | max pooling after g | `MaxPool(kernel_shape [w, w], strides [s, s])` | |
//! | dense after conv | `Flatten(axis=1)` (NCHW → rows, ann_core's order) then `Gemm` | |
//! | conv output layer L | `Flatten(axis=1)`: y holds each image as A[L]'s column holds it | |
//! | batch norm (eval) (Z − μ_run)/√(σ²_run + ε) ⊙ γ + β | `BatchNormalization(Z, γ, β, μ_run, σ²_run, epsilon)` | the variance stored is σ²_run + (ε − ε₃₂) (`epsilon` is a 32-bit attribute) |
//! | layer norm over the n_l units of each example | `LayerNormalization(Z, γ, β, axis=−1, epsilon)` | written out: `ReduceMean`, `Sub`, `Mul`, `ReduceMean`, `Add(ε)`, `Sqrt`, `Div`, `Mul`, `Mul(γ)`, `Add(β)`, ε an f64 constant (`epsilon` is a 32-bit attribute) |
//! | ReLU | `Relu` | |
//! | leaky ReLU (α) | `LeakyRelu(alpha=α)` | `Where(Greater(Z, 0), Z, Mul(α, Z))` with an f64 α (`alpha` is a 32-bit attribute) |
//! | tanh | `Tanh` | |
//! | sigmoid | `Sigmoid` | `Div(1, Add(1, Exp(Neg(Z))))` (tract 0.23 has no f64 `Sigmoid`) |
//! | GELU, ½ z (1 + tanh(√(2/π)(z + 0.044715 z³))) | `Gelu(approximate="tanh")` | `Mul`, `Add`, `Tanh` with f64 constants `gelu.*`, in ann_core's order of operations |
//! | softmax of each example | `Softmax(axis=1)` (on an image: `Flatten`, `Softmax`, `Reshape`) | |
//! | linear | nothing | |
//! | dropout | nothing: inverted dropout is the identity in evaluation | |
//!
//! The last node's output is `y`. The model's `metadata_props` hold `architecture`
//! ([`Network::architecture`]), `layout` ([`LAYOUT`]), `ann_core_version` and `precision`.
//!
//! [`Precision::F32`] stores every initializer as float32 and runs in float32; the outputs
//! then agree with ann_core's f64 to about 1e-6 relative. [`Precision::F64`] keeps every
//! parameter's bits (batch norm's stored variance aside, see the table), and where an operator's attribute is a 32-bit float (ε, α) or the
//! runtime's own constants are (GELU's), the column above gives a form that keeps f64.
//! onnxruntime's CPU provider has no float64 `Conv`: the f64 export of a convolutional
//! network runs in tract but not in onnxruntime.

mod describe;
mod export;
pub mod proto;

pub use export::{BATCH, IR_VERSION, LAYOUT, OPSET};

use ann_core::{AnnError, Network, Result};
use prost::Message;
use std::path::Path;

/// The element type of the exported graph: its input, output and initializers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Precision {
    /// float32 (ONNX `FLOAT`): half the file, the type most runtimes and accelerators run.
    F32,
    /// float64 (ONNX `DOUBLE`): ann_core's numbers bit for bit.
    F64,
}

impl Precision {
    /// The ONNX element type code: 1 (`FLOAT`) or 11 (`DOUBLE`).
    pub fn data_type(self) -> proto::DataType {
        match self {
            Precision::F32 => proto::DataType::Float,
            Precision::F64 => proto::DataType::Double,
        }
    }

    /// "float32" or "float64".
    pub fn name(self) -> &'static str {
        match self {
            Precision::F32 => "float32",
            Precision::F64 => "float64",
        }
    }
}

/// The ONNX model of `net` in evaluation mode, serialized: y = A[L]ᵀ for x = Xᵀ (see the
/// [module docs](self) for the layout and the op mapping).
///
/// Errors: a layer whose shapes no longer chain (after [`Network::layers_mut`]), a
/// non-finite parameter, a value beyond f32's range in [`Precision::F32`], or a layer the
/// export has no mapping for (a normalized convolutional layer); the error names the layer.
///
/// ```
/// use ann_core::*;
/// use ann_interop::onnx::{Precision, describe_onnx, to_onnx};
/// let net = Network::new(&[2, 4, 1], Activation::Relu, Task::Binary, Init::He, 0)?;
/// let bytes = to_onnx(&net, Precision::F32)?;
/// assert!(describe_onnx(&bytes)?.contains("layer1.gemm: Gemm(x, layer1.W, layer1.b) → layer1.Z"));
/// # Ok::<(), AnnError>(())
/// ```
pub fn to_onnx(net: &Network, precision: Precision) -> Result<Vec<u8>> {
    Ok(export::model(net, precision)?.encode_to_vec())
}

/// Writes [`to_onnx`]'s bytes to `path` (conventionally `*.onnx`).
pub fn save_onnx(net: &Network, path: impl AsRef<Path>, precision: Precision) -> Result<()> {
    let path = path.as_ref();
    let bytes = to_onnx(net, precision)?;
    std::fs::write(path, bytes).map_err(|e| AnnError::Persistence(format!("writing {}: {e}", path.display())))
}

/// Decodes an ONNX file: the model, or [`AnnError::Persistence`] if the bytes are not a
/// protobuf `ModelProto` with a graph and an opset.
pub fn decode_onnx(bytes: &[u8]) -> Result<proto::ModelProto> {
    let model = proto::ModelProto::decode(bytes)
        .map_err(|e| AnnError::Persistence(format!("not an ONNX model ({} bytes): {e}", bytes.len())))?;
    if model.graph.is_none() || model.opset_import.is_empty() {
        return Err(AnnError::Persistence(format!(
            "not an ONNX model ({} bytes): the protobuf decodes but has {}",
            bytes.len(),
            if model.graph.is_none() { "no graph" } else { "no opset_import" }
        )));
    }
    Ok(model)
}

/// A listing of an ONNX file, one line per item: IR version, opsets and producer; the
/// metadata; the graph's inputs and outputs with element type and shape (`batch` for a
/// symbolic dimension); every node as `name: Op(inputs) → outputs  attributes`; every
/// initializer with its type and shape. Bytes that are not an ONNX model are an
/// [`AnnError::Persistence`] (see [`decode_onnx`]).
pub fn describe_onnx(bytes: &[u8]) -> Result<String> {
    Ok(describe::describe(&decode_onnx(bytes)?))
}
