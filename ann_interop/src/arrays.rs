//! Data in and out: matrices of examples as named tensors of a safetensors file, the way
//! NumPy and PyTorch hold them.
//!
//! The course keeps one example per **column**: X is (n_x, m). Every framework keeps one
//! example per **row**: x is [m, n_x] = Xᵀ. [`save_examples`] writes Xᵀ, [`load_examples`]
//! reads a [m, n] tensor back as the course's (n, m), so a file written here is
//! `safetensors.numpy.load_file(path)["x"]` in Python, ready for `session.run` or a
//! `torch.from_numpy`, and the other way round.

use crate::safetensors::{Dtype, decode};
use ::safetensors::SafeTensors;
use ::safetensors::tensor::{Dtype as StDtype, TensorView};
use ann_core::{AnnError, Result};
use ndarray::{Array2, ArrayView2};
use std::path::Path;

fn io_error(path: &Path, e: impl std::fmt::Display) -> AnnError {
    AnnError::Persistence(format!("{}: {e}", path.display()))
}

/// Writes each named (n, m) matrix of the course as a [m, n] tensor (one example per row) in
/// `dtype`, to a safetensors file at `path`.
///
/// Errors: no matrix, a repeated name, an empty name, a file that cannot be written.
pub fn save_examples(path: impl AsRef<Path>, named: &[(&str, ArrayView2<f64>)], dtype: Dtype) -> Result<()> {
    let path = path.as_ref();
    if named.is_empty() {
        return Err(AnnError::EmptyInput("save_examples: no matrix to write".into()));
    }
    let mut buffers: Vec<(String, Vec<u8>, Vec<usize>)> = Vec::with_capacity(named.len());
    for (name, a) in named {
        if name.is_empty() || buffers.iter().any(|(n, _, _)| n == name) {
            return Err(AnnError::Persistence(format!(
                "save_examples: tensor name {name:?} is empty or repeated"
            )));
        }
        let (n, m) = a.dim();
        // row r of the tensor is column r of the matrix: Aᵀ in row-major order, example after example
        buffers.push((name.to_string(), dtype.encode(a.t().iter()), vec![m, n]));
    }
    let st_dtype = dtype.tensor_dtype();
    let mut views = Vec::with_capacity(buffers.len());
    for (name, bytes, shape) in &buffers {
        let view = TensorView::new(st_dtype, shape.clone(), bytes).map_err(|e| io_error(path, e))?;
        views.push((name.clone(), view));
    }
    let out = ::safetensors::serialize(views, None).map_err(|e| io_error(path, e))?;
    std::fs::write(path, out).map_err(|e| io_error(path, e))
}

/// Reads the tensor `name`, [m, n] in F32 or F64, from the safetensors file at `path`, as the
/// course's (n, m): one example per column.
///
/// Errors: no such file, not a safetensors file, no tensor of that name, a tensor that is not
/// 2-D or not F32/F64.
pub fn load_examples(path: impl AsRef<Path>, name: &str) -> Result<Array2<f64>> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| io_error(path, e))?;
    let file = SafeTensors::deserialize(&bytes)
        .map_err(|e| io_error(path, format!("not a safetensors file: {e}")))?;
    let t = file.tensor(name).map_err(|_| {
        let mut names: Vec<&str> = file.names();
        names.sort();
        io_error(path, format!("no tensor {name:?} (it holds {names:?})"))
    })?;
    let &[m, n] = t.shape() else {
        return Err(io_error(path, format!("tensor {name:?} has shape {:?}, expected [m, n]", t.shape())));
    };
    let values = match t.dtype() {
        StDtype::F32 | StDtype::F64 => decode(t.dtype(), t.data()).unwrap_or_default(),
        other => return Err(io_error(path, format!("tensor {name:?} is {other:?}, expected F32 or F64"))),
    };
    // the file holds [m, n] row by row; the course's matrix is its transpose
    let rows = Array2::from_shape_vec((m, n), values).map_err(|e| io_error(path, e))?;
    Ok(rows.reversed_axes().as_standard_layout().into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn examples_are_rows_in_the_file_and_columns_again_when_read() {
        let path =
            std::env::temp_dir().join(format!("ann_interop_arrays_{}.safetensors", std::process::id()));
        let x = array![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]; // 2 features, 3 examples
        save_examples(&path, &[("x", x.view())], Dtype::F64).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let file = SafeTensors::deserialize(&bytes).unwrap();
        let t = file.tensor("x").unwrap();
        assert_eq!(t.shape(), &[3, 2]);
        let first: Vec<f64> =
            t.data()[..16].chunks_exact(8).map(|b| f64::from_le_bytes(b.try_into().unwrap())).collect();
        assert_eq!(first, vec![1.0, 4.0]); // example 0: column 0
        assert_eq!(load_examples(&path, "x").unwrap(), x);
        save_examples(&path, &[("x", x.view())], Dtype::F32).unwrap();
        assert_eq!(load_examples(&path, "x").unwrap(), x);
        let msg = load_examples(&path, "y").unwrap_err().to_string();
        assert!(msg.contains("no tensor \"y\"") && msg.contains("\"x\""), "{msg}");
        assert!(save_examples(&path, &[("x", x.view()), ("x", x.view())], Dtype::F32).is_err());
        std::fs::write(&path, b"not a file").unwrap();
        assert!(load_examples(&path, "x").unwrap_err().to_string().contains("not a safetensors file"));
        std::fs::remove_file(&path).ok();
    }
}
