//! Wider vectors for the element-wise loops, chosen at run time.
//!
//! Without `-C target-cpu`, Rust compiles for the x86-64 baseline: two f64 per vector
//! instruction. [`wide`] runs a loop body in a copy compiled with AVX-512 (eight f64) or
//! AVX2 (four) when the CPU has them. The operations are the same IEEE operations in the
//! same order (Rust never contracts a·b + c into an FMA by itself), so the results are
//! identical, bit for bit; only the speed changes.

/// Calls `f`, compiled with AVX-512F or AVX2 enabled when the CPU supports them.
///
/// Keep `f` a plain loop over slices: what it calls is only widened if it is inlined.
#[inline(always)]
pub(crate) fn wide<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU supports AVX-512F.
            return unsafe { avx512(f) };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2.
            return unsafe { avx2(f) };
        }
    }
    f()
}

// `#[inline]` keeps each instance in the caller's codegen unit, next to the closure it
// calls, so that the closure can be inlined (and so compiled with the wider vectors).
#[cfg(target_arch = "x86_64")]
#[inline]
#[target_feature(enable = "avx512f")]
fn avx512<R>(f: impl FnOnce() -> R) -> R {
    f()
}

#[cfg(target_arch = "x86_64")]
#[inline]
#[target_feature(enable = "avx2")]
fn avx2<R>(f: impl FnOnce() -> R) -> R {
    f()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_results_as_the_plain_loop() {
        let x: Vec<f64> = (0..1000).map(|i| (i as f64 * 0.37).sin() * 3.0 + 0.1).collect();
        let body = |x: &[f64], out: &mut [f64]| {
            for (o, &v) in out.iter_mut().zip(x) {
                *o = 0.01 * (v / 0.9) / ((v * v / 0.999).sqrt() + 1e-8);
            }
        };
        let mut plain = vec![0.0; 1000];
        body(&x, &mut plain);
        let mut widened = vec![0.0; 1000];
        wide(|| body(&x, &mut widened));
        assert!(plain.iter().zip(&widened).all(|(a, b)| a.to_bits() == b.to_bits()));
    }
}
