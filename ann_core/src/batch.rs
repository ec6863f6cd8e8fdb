//! Mini-batches: each epoch the m example indices are shuffled with a seeded RNG and cut
//! into batches of `batch_size` columns; the last, partial batch is kept.
//!
//! Batch GD is batch_size = m, stochastic GD is batch_size = 1.

use crate::error::{AnnError, Result, bad_hyper};
use ndarray::{Array2, ArrayView2, Axis};
use rand::rngs::ChaCha8Rng;
use rand::seq::SliceRandom;

/// A shuffled permutation of 0..m cut into batches of at most `batch_size` indices.
pub fn shuffled_batches(m: usize, batch_size: usize, rng: &mut ChaCha8Rng) -> Result<Vec<Vec<usize>>> {
    if batch_size == 0 {
        return Err(bad_hyper("batch_size", 0, "must be at least 1"));
    }
    if m == 0 {
        return Err(AnnError::EmptyInput("no examples to batch (m = 0)".into()));
    }
    let mut order = Vec::new();
    shuffle_order(&mut order, m, rng);
    Ok(order.chunks(batch_size).map(<[usize]>::to_vec).collect())
}

/// Refills `order` with 0..m and shuffles it: the permutation of [`shuffled_batches`]
/// (same RNG draws), in a buffer that is reused from epoch to epoch.
pub fn shuffle_order(order: &mut Vec<usize>, m: usize, rng: &mut ChaCha8Rng) {
    order.clear();
    order.extend(0..m);
    order.shuffle(rng);
}

/// The columns `idx` of X (n, m) as a new (n, |idx|) matrix: the batch X{t}.
/// Only the batch is copied, never the whole permuted dataset.
pub fn gather_columns(x: ArrayView2<f64>, idx: &[usize]) -> Array2<f64> {
    x.select(Axis(1), idx)
}

/// Number of batches per epoch: ⌈m / batch_size⌉.
pub fn num_batches(m: usize, batch_size: usize) -> usize {
    m.div_ceil(batch_size.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;
    use rand::SeedableRng;

    #[test]
    fn batches_cover_every_example_once_and_keep_the_tail() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let b = shuffled_batches(10, 4, &mut rng).unwrap();
        assert_eq!(b.iter().map(Vec::len).collect::<Vec<_>>(), vec![4, 4, 2]);
        let mut all: Vec<usize> = b.concat();
        assert_ne!(all, (0..10).collect::<Vec<_>>(), "should be shuffled");
        all.sort();
        assert_eq!(all, (0..10).collect::<Vec<_>>());
        assert_eq!(num_batches(10, 4), 3);
        assert!(shuffled_batches(10, 0, &mut rng).is_err());
        assert!(shuffled_batches(0, 3, &mut rng).is_err());
    }

    #[test]
    fn gather() {
        let x = array![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]];
        assert_eq!(gather_columns(x.view(), &[2, 0]), array![[3.0, 1.0], [6.0, 4.0]]);
    }
}
