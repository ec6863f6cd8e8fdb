//! ‖M‖_F = √(Σ m_ij²), the Frobenius norm of a matrix: the size of a weight matrix, of its
//! gradient or of its update, as training records and the figures draw them.

use ndarray::ArrayView2;

/// ‖M‖_F = √(Σ m_ij²).
///
/// A floating-point sum depends on its order; this one is fixed, so every result is
/// deterministic whatever the caller: the sum runs over eight interleaved partial sums, entry
/// k of memory into partial sum k mod 8 (an order that vectorizes), then the partial sums
/// and the tail are added in order.
pub fn frobenius(m: ArrayView2<f64>) -> f64 {
    let Some(values) = m.as_slice_memory_order() else {
        return m.iter().map(|v| v * v).sum::<f64>().sqrt();
    };
    let mut partial = [0.0f64; 8];
    let mut chunks = values.chunks_exact(8);
    for chunk in &mut chunks {
        for (p, v) in partial.iter_mut().zip(chunk) {
            *p += v * v;
        }
    }
    let tail: f64 = chunks.remainder().iter().map(|v| v * v).sum();
    (partial.iter().sum::<f64>() + tail).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array2, array};

    #[test]
    fn frobenius_is_the_root_of_the_sum_of_squares_in_any_layout() {
        assert_eq!(frobenius(array![[3.0, 0.0], [0.0, 4.0]].view()), 5.0);
        let m = Array2::from_shape_fn((7, 13), |(i, j)| ((i * 13 + j) as f64 * 0.37).sin());
        let plain = m.iter().map(|v| v * v).sum::<f64>().sqrt();
        assert!((frobenius(m.view()) - plain).abs() < 1e-14);
        // A transposed view reads the same memory: the same bits.
        assert_eq!(frobenius(m.t()).to_bits(), frobenius(m.view()).to_bits());
    }
}
