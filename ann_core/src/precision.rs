//! Precision: how many bits each number of a training run has.
//!
//! f64 (the default) carries about 16 significant digits; f32 about 7, in half the bytes, so
//! a vector instruction holds twice as many of them and the memory traffic halves: a big
//! matrix product runs about 1.8 times as fast, a whole epoch of [784, 256, 128, 10] about 1.4
//! times (the rest of a step does not halve; `bench/RESULTS.md` has the measurements). What it
//! changes is rounding: every
//! product W[l] A[l−1], every activation and every update is rounded to 24 bits of mantissa
//! (a relative error of about 6·10⁻⁸ per operation, against 1.1·10⁻¹⁶ in f64). A network
//! trained in f32 follows the same steps as in f64 (the same batches, the same dropout
//! masks) and drifts from that run by the accumulated rounding, far below what the
//! gradient noise of a mini-batch moves it.
//!
//! An f32 run repeats bit for bit on one machine (same seed, same bits). On another CPU the
//! products may run other kernels (the register-tile kernel needs AVX-512; matrixmultiply
//! picks its kernel when the program starts), which may round some sums differently: two
//! machines agree to rounding, step by step, not bit for bit, and long runs drift apart as
//! an f32 run drifts from its f64 twin.
//!
//! What stays f64: the network you get back (the f32 parameters widened, exactly, at the end
//! of every epoch), the recorded history, and everything outside `fit`. Gradient checking
//! needs f64: its central differences (J(θ + ε) − J(θ − ε)) / 2ε with ε = 10⁻⁷ lose all
//! their digits in f32, where J itself is only known to about 10⁻⁷.

use serde::{Deserialize, Serialize};

/// The precision of a training run's arithmetic and stored numbers (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Precision {
    /// 64-bit floats: the reference, whose bits the fast path reproduces.
    #[default]
    F64,
    /// 32-bit floats: parameters, optimizer averages, batches, activations and products; each
    /// update rule's, activation's and loss's equations evaluated in f64 per entry and rounded.
    F32,
}

impl Precision {
    /// "f64" or "f32".
    pub fn name(self) -> &'static str {
        match self {
            Precision::F64 => "f64",
            Precision::F32 => "f32",
        }
    }
}

impl std::fmt::Display for Precision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
