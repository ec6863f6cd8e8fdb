//! Writing a network's parameters as a safetensors file.

use super::mapping::{TensorSource, TensorSpec, plan, torch_sequential};
use super::{Dtype, METADATA_ARCHITECTURE, METADATA_SEQUENTIAL};
use ::safetensors::tensor::{Dtype as StDtype, View};
use ann_core::normalization::Normalization;
use ann_core::{AnnError, Network, Result};
use ndarray::Array2;
use std::borrow::Cow;
use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

/// A tensor's bytes, owned, for the serializer.
struct Bytes {
    dtype: StDtype,
    shape: Vec<usize>,
    data: Vec<u8>,
}

impl View for Bytes {
    fn dtype(&self) -> StDtype {
        self.dtype
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(&self.data)
    }
    fn data_len(&self) -> usize {
        self.data.len()
    }
}

/// The (n, 1) or (F, C·k·k) matrix of the network a source names; None for the step count.
pub(crate) fn source_matrix(net: &Network, source: TensorSource) -> Option<&Array2<f64>> {
    let layer = &net.layers()[source.layer() - 1];
    let bn = || match &layer.normalization {
        Some(Normalization::BatchNorm(bn)) => Some(bn),
        _ => None,
    };
    match source {
        TensorSource::Weight(_) => Some(&layer.w),
        TensorSource::Bias(_) => Some(&layer.b),
        TensorSource::Gamma(_) => layer.normalization.as_ref().map(|n| n.kind().gamma_beta().0),
        TensorSource::Beta(_) => layer.normalization.as_ref().map(|n| n.kind().gamma_beta().1),
        TensorSource::RunningMean(_) => bn().map(|bn| &bn.running_mean),
        TensorSource::RunningVar(_) => bn().map(|bn| &bn.running_var),
        TensorSource::BatchesTracked(_) => None,
    }
}

/// The bytes of one tensor: the matrix in row-major order (the C order of the PyTorch
/// shape), each value little-endian in `dtype`; the step count as int64 0.
fn tensor_bytes(net: &Network, spec: &TensorSpec, dtype: Dtype) -> Result<Bytes> {
    let shape = spec.shape.clone();
    if !spec.is_float() {
        return Ok(Bytes { dtype: StDtype::I64, shape, data: 0i64.to_le_bytes().to_vec() });
    }
    let m = source_matrix(net, spec.source).ok_or_else(|| {
        AnnError::InvalidArchitecture(format!("{} ({}) is not in the network", spec.name, spec.source))
    })?;
    if dtype == Dtype::F32
        && let Some(v) = m.iter().find(|v| (**v as f32).is_infinite())
    {
        return Err(AnnError::Persistence(format!(
            "tensor \"{}\" ({}) holds {v:e}, beyond the largest f32 ({:e}): save it as F64",
            spec.name,
            spec.source,
            f32::MAX
        )));
    }
    // `iter` walks the logical row-major order whatever the memory layout.
    Ok(Bytes { dtype: dtype.tensor_dtype(), shape, data: dtype.encode(m.iter()) })
}

/// The header's `__metadata__`: `format` = `pt` (what `safetensors.torch.save_file` writes),
/// the architecture, the `nn.Sequential` source, the layout and the dtype.
fn metadata(net: &Network, dtype: Dtype) -> Result<HashMap<String, String>> {
    let layout = "tensors named as nn.Sequential(...).state_dict() names them (see torch_sequential); \
                  Linear weight = W[l] (n_l, n_{l-1}) as it is; Conv2d weight = W[l] (F, C*k*k) seen as \
                  (F, C, k, k); biases, gamma, beta, running statistics 1-D (n_l,); the model takes one \
                  example per row, [m, n_x] = X^T of the course's X (n_x, m)";
    Ok(HashMap::from([
        ("format".to_string(), "pt".to_string()),
        (METADATA_ARCHITECTURE.to_string(), net.architecture()),
        (METADATA_SEQUENTIAL.to_string(), torch_sequential(net)?),
        ("layout".to_string(), layout.to_string()),
        ("dtype".to_string(), dtype.name().to_string()),
    ]))
}

/// The network's parameters as the bytes of a safetensors file: every tensor of
/// [`tensor_specs`](super::tensor_specs) (W[l] as `"{i}.weight"`, b[l] as `"{i}.bias"`, a
/// normalization's γ[l], β[l] and running statistics) in `dtype`, and the architecture in
/// the header's `__metadata__`. Errors: a network whose layers no longer chain (see
/// [`Network::from_layers`]) or with non-finite parameters; in F32, a value beyond the
/// largest f32 (≈ 3.4 · 10³⁸), which would become ∞.
///
/// ```
/// use ann_core::{Activation, Init, Network, Task};
/// use ann_interop::safetensors::{Dtype, from_safetensors, to_safetensors};
/// let net = Network::new(&[4, 8, 3], Activation::Relu, Task::MultiClass, Init::He, 1)?;
/// let bytes = to_safetensors(&net, Dtype::F64)?;
/// assert_eq!(from_safetensors(&bytes, &net)?, net); // bit for bit
/// # Ok::<(), ann_core::AnnError>(())
/// ```
pub fn to_safetensors(net: &Network, dtype: Dtype) -> Result<Vec<u8>> {
    let specs: Vec<TensorSpec> = plan(net)?.into_iter().flat_map(|(_, s)| s).collect();
    let tensors = specs
        .iter()
        .map(|spec| Ok((spec.name.clone(), tensor_bytes(net, spec, dtype)?)))
        .collect::<Result<Vec<_>>>()?;
    ::safetensors::serialize(tensors, Some(metadata(net, dtype)?))
        .map_err(|e| AnnError::Persistence(format!("cannot write the safetensors file: {e}")))
}

/// [`to_safetensors`] written to `path` atomically: a failed save leaves the file that was
/// there (see [`ann_core::persist::write_atomic`]).
pub fn save_safetensors(net: &Network, path: impl AsRef<Path>, dtype: Dtype) -> Result<()> {
    let bytes = to_safetensors(net, dtype)?;
    ann_core::persist::write_atomic(path.as_ref(), |file| file.write_all(&bytes))
}
