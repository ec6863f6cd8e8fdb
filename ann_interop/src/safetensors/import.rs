//! Reading a safetensors file into a network of a known architecture.

use super::METADATA_ARCHITECTURE;
use super::mapping::{TensorSource, TensorSpec, tensor_specs};
use ::safetensors::SafeTensors;
use ::safetensors::tensor::Dtype as StDtype;
use ann_core::normalization::Normalization;
use ann_core::{AnnError, Network, Result};
use ndarray::Array2;
use std::collections::HashSet;
use std::path::Path;

/// IEEE 754 binary16 to f64, exactly: sign, 5 exponent bits (bias 15), 10 fraction bits;
/// exponent 0 is subnormal (frac · 2⁻²⁴), 31 is ±∞ or NaN.
fn f16_to_f64(h: u16) -> f64 {
    let sign = if h & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exp = i32::from((h >> 10) & 0x1f);
    let frac = f64::from(h & 0x3ff);
    match exp {
        0 => sign * frac * 2f64.powi(-24),
        31 if frac == 0.0 => sign * f64::INFINITY,
        31 => f64::NAN,
        e => sign * (1.0 + frac / 1024.0) * 2f64.powi(e - 15),
    }
}

/// bfloat16 to f64, exactly: the upper 16 bits of an f32.
fn bf16_to_f64(h: u16) -> f64 {
    f64::from(f32::from_bits(u32::from(h) << 16))
}

/// The little-endian values of a float tensor, widened to f64 (exact for every dtype read).
/// The byte count is the file's, checked against dtype and shape by the parser.
pub(crate) fn decode(dtype: StDtype, data: &[u8]) -> Option<Vec<f64>> {
    Some(match dtype {
        StDtype::F64 => {
            data.chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes"))).collect()
        }
        StDtype::F32 => data
            .chunks_exact(4)
            .map(|c| f64::from(f32::from_le_bytes(c.try_into().expect("4 bytes"))))
            .collect(),
        StDtype::F16 => data.chunks_exact(2).map(|c| f16_to_f64(u16::from_le_bytes([c[0], c[1]]))).collect(),
        StDtype::BF16 => {
            data.chunks_exact(2).map(|c| bf16_to_f64(u16::from_le_bytes([c[0], c[1]]))).collect()
        }
        _ => return None,
    })
}

fn dims(shape: &[usize]) -> String {
    let parts: Vec<String> = shape.iter().map(usize::to_string).collect();
    format!("[{}]", parts.join(", "))
}

/// The matrix of `net` a float tensor fills, as the constructor made it for the template.
fn target(net: &mut Network, source: TensorSource) -> Option<&mut Array2<f64>> {
    let layer = net.layers_mut().get_mut(source.layer() - 1)?;
    match source {
        TensorSource::Weight(_) => Some(&mut layer.w),
        TensorSource::Bias(_) => Some(&mut layer.b),
        TensorSource::Gamma(_) => layer.normalization.as_mut().map(|n| n.kind_mut().gamma_beta_mut().0),
        TensorSource::Beta(_) => layer.normalization.as_mut().map(|n| n.kind_mut().gamma_beta_mut().1),
        TensorSource::RunningMean(_) => match &mut layer.normalization {
            Some(Normalization::BatchNorm(bn)) => Some(&mut bn.running_mean),
            _ => None,
        },
        TensorSource::RunningVar(_) => match &mut layer.normalization {
            Some(Normalization::BatchNorm(bn)) => Some(&mut bn.running_var),
            _ => None,
        },
        TensorSource::BatchesTracked(_) => None,
    }
}

/// A network of `template`'s architecture with the parameters of the safetensors file
/// `bytes`: every tensor of [`tensor_specs`]`(template)` by its name (W[l] from
/// `"{i}.weight"`, b[l] from `"{i}.bias"`, …, the mapping of the module docs), in F64, F32,
/// F16 or BF16, each value widened to f64 exactly. `num_batches_tracked` may be missing
/// (PyTorch fills it in too); its value is not used.
///
/// Errors ([`AnnError`], naming the tensor, what was expected and what the file holds):
/// not a safetensors file or a truncated one ([`AnnError::Persistence`]); a missing tensor,
/// an unexpected extra tensor, a tensor of another dtype (`Persistence`); a tensor of
/// another shape ([`AnnError::ShapeMismatch`]); a file whose `__metadata__` names another
/// architecture than the template's, or whose values are not a valid network (NaN, a
/// negative σ²_run) ([`AnnError::InvalidArchitecture`], [`AnnError::NonFinite`], …).
pub fn from_safetensors(bytes: &[u8], template: &Network) -> Result<Network> {
    let specs = tensor_specs(template)?;
    let file = SafeTensors::deserialize(bytes).map_err(|e| {
        AnnError::Persistence(format!("not a readable safetensors file ({} bytes): {e}", bytes.len()))
    })?;
    let (_, header) = SafeTensors::read_metadata(bytes).map_err(|e| {
        AnnError::Persistence(format!("not a readable safetensors file ({} bytes): {e}", bytes.len()))
    })?;
    if let Some(arch) = header.metadata().as_ref().and_then(|m| m.get(METADATA_ARCHITECTURE))
        && *arch != template.architecture()
    {
        return Err(AnnError::InvalidArchitecture(format!(
            "the file holds a network of architecture \"{arch}\", the template is \"{}\"",
            template.architecture()
        )));
    }
    let expected: HashSet<&str> = specs.iter().map(|s| s.name.as_str()).collect();
    let mut extra: Vec<String> = file
        .iter()
        .filter(|(name, _)| !expected.contains(name))
        .map(|(name, t)| format!("\"{name}\" ({:?} {})", t.dtype(), dims(t.shape())))
        .collect();
    if !extra.is_empty() {
        extra.sort();
        return Err(AnnError::Persistence(format!(
            "unexpected tensor(s) {} in the file: a network of architecture \"{}\" has exactly {}",
            extra.join(", "),
            template.architecture(),
            specs.iter().map(|s| format!("\"{}\"", s.name)).collect::<Vec<_>>().join(", ")
        )));
    }
    let mut net = template.clone();
    for spec in &specs {
        fill(&mut net, &file, spec)?;
    }
    // The checks of a network built by hand: finite values, σ²_run ≥ 0.
    Network::from_layers(net.layers().to_vec(), net.loss())
}

/// Copies the tensor `spec` names from `file` into `net`, after checking dtype and shape.
fn fill(net: &mut Network, file: &SafeTensors<'_>, spec: &TensorSpec) -> Result<()> {
    let what = format!("tensor \"{}\" ({})", spec.name, spec.source);
    let Ok(tensor) = file.tensor(&spec.name) else {
        if !spec.is_float() {
            return Ok(());
        }
        return Err(AnnError::Persistence(format!(
            "{what} of shape {} is missing from the file",
            dims(&spec.shape)
        )));
    };
    if tensor.shape() != spec.shape.as_slice() {
        return Err(AnnError::ShapeMismatch {
            context: what,
            expected: dims(&spec.shape),
            got: dims(tensor.shape()),
        });
    }
    if !spec.is_float() {
        if tensor.dtype() != StDtype::I64 {
            return Err(AnnError::Persistence(format!(
                "{what} has dtype {:?}; expected I64 (PyTorch's int64 count)",
                tensor.dtype()
            )));
        }
        return Ok(());
    }
    let values = decode(tensor.dtype(), tensor.data()).ok_or_else(|| {
        AnnError::Persistence(format!(
            "{what} has dtype {:?}; expected a float: F64, F32, F16 or BF16",
            tensor.dtype()
        ))
    })?;
    let m = target(net, spec.source)
        .ok_or_else(|| AnnError::InvalidArchitecture(format!("{what} has no place in the template")))?;
    let filled = Array2::from_shape_vec(m.dim(), values).map_err(|_| AnnError::ShapeMismatch {
        context: what.clone(),
        expected: format!("{} values", m.len()),
        got: format!("{} bytes of {:?}", tensor.data().len(), tensor.dtype()),
    })?;
    *m = filled;
    Ok(())
}

/// [`from_safetensors`] of the file at `path`; an unreadable file is an error naming it.
pub fn load_safetensors(path: impl AsRef<Path>, template: &Network) -> Result<Network> {
    let path = path.as_ref();
    let bytes = std::fs::read(path)
        .map_err(|e| AnnError::Persistence(format!("cannot read {}: {e}", path.display())))?;
    from_safetensors(&bytes, template).map_err(|e| match e {
        AnnError::Persistence(msg) => AnnError::Persistence(format!("{}: {msg}", path.display())),
        other => other,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_precision_values_widen_exactly() {
        for (bits, v) in [
            (0x3c00, 1.0),
            (0xc000, -2.0),
            (0x7bff, 65504.0),
            (0x0001, 2f64.powi(-24)),
            (0x3555, 0.333_251_953_125),
            (0x0000, 0.0),
            (0xfc00, f64::NEG_INFINITY),
        ] {
            assert_eq!(f16_to_f64(bits), v, "{bits:#06x}");
        }
        assert!(f16_to_f64(0x7e00).is_nan());
        assert_eq!(bf16_to_f64(0x3f80), 1.0);
        assert_eq!(bf16_to_f64(0xc040), -3.0);
    }
}
