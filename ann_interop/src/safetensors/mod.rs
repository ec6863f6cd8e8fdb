//! safetensors export and import: a network's parameters as the `state_dict` of the
//! equivalent PyTorch `nn.Sequential`, which `load_state_dict(strict=True)` accepts unchanged.
//!
//! A safetensors file is an 8-byte little-endian header length, a JSON header naming each
//! tensor with its dtype, shape and byte range, then the tensors' bytes, row-major
//! (C order), little-endian. The header's `__metadata__` holds strings; this module puts
//! the network's [`Network::architecture`](ann_core::Network::architecture), the
//! `nn.Sequential` source, the layout and the dtype there.
//!
//! # The mapping to `nn.Sequential`
//!
//! The layers l = 1..=L become modules in order; every module takes an index, parameter-free
//! ones too, and a tensor is named `"{index}.{field}"` as `nn.Sequential(...).state_dict()`
//! names it:
//!
//! | ann_core | PyTorch module | tensors (shape) |
//! |---|---|---|
//! | dense layer l: Z[l] = W[l] A[l−1] + b[l] | `nn.Linear(n_{l−1}, n_l)` | `weight` = W[l] (n_l, n_{l−1}); `bias` = b[l] (n_l,) |
//! | batch norm of layer l | `nn.BatchNorm1d(n_l, eps=ε, momentum=1 − momentum)` | `weight` = γ[l] (n_l,); `bias` = β[l] (n_l,); `running_mean` = μ_run (n_l,); `running_var` = σ²_run (n_l,); `num_batches_tracked` = 0, int64, shape () |
//! | layer norm of layer l | `nn.LayerNorm(n_l, eps=ε)` | `weight` = γ[l] (n_l,); `bias` = β[l] (n_l,) |
//! | g\[l\] = ReLU | `nn.ReLU()` | — |
//! | g\[l\] = leaky ReLU (α) | `nn.LeakyReLU(α)` | — |
//! | g\[l\] = tanh | `nn.Tanh()` | — |
//! | g\[l\] = σ | `nn.Sigmoid()` | — |
//! | g\[l\] = GELU (tanh form) | `nn.GELU(approximate='tanh')` | — |
//! | g\[l\] = softmax of a dense layer | `nn.Softmax(dim=1)` | — |
//! | g\[l\] = linear | no module | — |
//! | convolutional layer l: F filters C × k × k, stride s, padding p | `nn.Conv2d(C, F, k, stride=s, padding=p)` | `weight` = W[l] (F, C·k·k) seen as (F, C, k, k); `bias` = b[l] (F,) |
//! | its max pooling (window w, stride s) | `nn.MaxPool2d(w, stride=s)`, after the activation | — |
//! | g\[l\] = softmax of a convolutional layer | `nn.Flatten()`, `nn.Softmax(dim=1)`, `nn.Unflatten(1, (F, H′, W′))` | — |
//! | an image layer's input as a column (C·H·W rows) | `nn.Unflatten(1, (C, H, W))` before the first convolutional layer (and any after a dense one) | — |
//! | a dense layer after a convolutional one | `nn.Flatten()` before its `nn.Linear` | — |
//!
//! A normalized dense layer is `Linear`, then the normalization, then the activation:
//! A[l] = g\[l\](γ[l] ⊙ Ẑ[l] + β[l]). Softmax of a convolutional layer normalizes the whole
//! column of F·H′·W′ values in ann_core, hence the flattening around it.
//!
//! # Layouts
//!
//! - **Examples in rows.** The course stacks m examples as the columns of X (n_x, m); PyTorch
//!   takes a batch as rows, [m, n_x]: the `nn.Sequential` maps Xᵀ to A[L]ᵀ, [m, n_L]. A
//!   convolutional network's rows are images flattened channel after channel and row after
//!   row, pixel (c, h, w) at (c·H + h)·W + w, which is C order on (C, H, W): `nn.Unflatten`
//!   and `nn.Flatten` reshape without moving a number.
//! - **W[l] is `weight` as it is.** `nn.Linear` computes x Wᵀ + b for a row x, which is
//!   W x + b for the column: W[l] (n_l, n_{l−1}) is stored unchanged, not transposed. A
//!   filter bank W[l] (F, C·k·k) holds filter f's entry (c, i, j) at column (c·k + i)·k + j,
//!   the C order of (F, C, k, k): the same bytes. Both compute a cross-correlation (no
//!   flipped filter).
//! - **Vectors lose their column.** b[l], γ[l], β[l] and the running statistics, (n, 1) in
//!   the course, are 1-D tensors (n,).
//!
//! # Batch norm conventions
//!
//! - ann_core: μ_run ← momentum · μ_run + (1 − momentum) · μ with momentum 0.9 (the weight of
//!   the old value). PyTorch: running_mean ← (1 − momentum′) · running_mean + momentum′ · μ
//!   with momentum′ = 0.1 (the weight of the new value). So momentum′ = 1 − momentum, which
//!   [`torch_sequential`] writes.
//! - σ²: in training both normalize with the biased variance (1/m) Σⱼ (Z[:, j] − μ)². The
//!   running averages differ: ann_core averages that biased σ², PyTorch the unbiased
//!   m/(m − 1) · σ². Evaluation reads σ²_run as it is in both, so a copied network predicts
//!   alike; training it further in PyTorch moves σ²_run as PyTorch does.
//! - ε is added to σ² in both: Ẑ = (Z − μ_run) / √(σ²_run + ε) in evaluation.
//! - `num_batches_tracked` counts training steps in PyTorch and only matters there with
//!   `momentum=None` (a cumulative average). ann_core keeps no count: export writes 0, import
//!   accepts the tensor (int64, shape ()) or its absence and ignores its value, as PyTorch's
//!   strict `load_state_dict` fills a missing one with 0.
//!
//! Layer norm has no running statistics; PyTorch's `nn.LayerNorm` also normalizes each
//! example over its n_l features with the biased variance, and ε inside the square root.
//!
//! # Import
//!
//! A file holds numbers, not the architecture: [`from_safetensors`] fills a template network
//! (built with the same constructor) tensor by tensor, each name and shape as
//! [`tensor_specs`] lists them, and refuses a missing, extra, misshapen or non-float tensor
//! with an error naming it. A file written here also names its architecture in the header,
//! which must then be the template's (same sizes, activations, normalizations and loss); a
//! file from PyTorch has no such entry and the tensors alone decide.
//!
//! # Dtypes
//!
//! Export writes F32 ([`Dtype::F32`], what frameworks train in: rounding each parameter to
//! 24 significant bits) or F64 (bit-exact). Import reads F64, F32, F16 and BF16 and widens
//! each value to f64 exactly.

mod export;
mod import;
mod mapping;

pub use export::{save_safetensors, to_safetensors};
pub(crate) use import::decode;
pub use import::{from_safetensors, load_safetensors};
pub use mapping::{
    TensorSource, TensorSpec, TorchModule, tensor_names, tensor_specs, torch_modules, torch_sequential,
};

/// The floating-point type of the parameters in an exported file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Dtype {
    /// IEEE 754 binary32: each θ rounded to the nearest f32 (relative error ≤ 2⁻²⁴), half the
    /// size. PyTorch's default.
    #[default]
    F32,
    /// IEEE 754 binary64: each θ bit for bit.
    F64,
}

impl Dtype {
    /// The name safetensors gives it: "F32" or "F64".
    pub fn name(self) -> &'static str {
        match self {
            Dtype::F32 => "F32",
            Dtype::F64 => "F64",
        }
    }

    /// The safetensors dtype it is written as.
    pub(crate) fn tensor_dtype(self) -> ::safetensors::tensor::Dtype {
        match self {
            Dtype::F32 => ::safetensors::tensor::Dtype::F32,
            Dtype::F64 => ::safetensors::tensor::Dtype::F64,
        }
    }

    /// The little-endian bytes of `values` in this type, in the order given.
    pub(crate) fn encode<'a>(self, values: impl Iterator<Item = &'a f64>) -> Vec<u8> {
        match self {
            Dtype::F64 => values.flat_map(|v| v.to_le_bytes()).collect(),
            Dtype::F32 => values.flat_map(|&v| (v as f32).to_le_bytes()).collect(),
        }
    }
}

impl std::fmt::Display for Dtype {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The `__metadata__` key holding [`Network::architecture`](ann_core::Network::architecture);
/// import checks it against the template's when the file has it.
pub const METADATA_ARCHITECTURE: &str = "architecture";
/// The `__metadata__` key holding [`torch_sequential`]'s source.
pub const METADATA_SEQUENTIAL: &str = "torch_sequential";
