//! Inverted dropout: during training each unit of A[l] is kept with probability
//! keep_prob[l] and the survivors are scaled by 1/keep_prob[l], so E[A[l]] is unchanged
//! and nothing needs rescaling at test time.
//!
//! D[l] ~ Bernoulli(keep_prob[l]) (0/1, shape (n_l, m)),  A[l] ← A[l] ⊙ D[l] / keep_prob[l],
//! and in backprop dA[l] ← dA[l] ⊙ D[l] / keep_prob[l].

use crate::error::{AnnError, Result, bad_hyper};
use ndarray::{Array2, ArrayViewMut2};
use rand::RngExt;
use rand::rngs::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// Which units inverted dropout may drop: keep_prob[l] for every layer l = 1..=L. The output
/// layer is never dropped. `Default` is [`Dropout::Off`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub enum Dropout {
    /// No dropout: keep_prob[l] = 1 everywhere.
    #[default]
    Off,
    /// The same keep_prob on every hidden layer 1..L−1, 1 on the output layer L.
    Hidden(f64),
    /// One keep_prob per layer 1..=L; each in (0, 1], the last 1.
    PerLayer(Vec<f64>),
}

impl Dropout {
    /// keep_prob[l] of layer l (1-based) in a network of `num_layers` layers; 1 out of range.
    pub fn keep(&self, l: usize, num_layers: usize) -> f64 {
        match self {
            Dropout::Off => 1.0,
            Dropout::Hidden(k) => {
                if (1..num_layers).contains(&l) {
                    *k
                } else {
                    1.0
                }
            }
            Dropout::PerLayer(v) => v.get(l.wrapping_sub(1)).copied().unwrap_or(1.0),
        }
    }

    /// [keep_prob[1], ..., keep_prob[L]] for a network of `num_layers` layers, after
    /// [`Dropout::check`].
    pub fn keep_probs(&self, num_layers: usize) -> Result<Vec<f64>> {
        self.check(num_layers)?;
        Ok((1..=num_layers).map(|l| self.keep(l, num_layers)).collect())
    }

    /// Whether any layer drops units.
    pub fn is_active(&self) -> bool {
        match self {
            Dropout::Off => false,
            Dropout::Hidden(k) => *k < 1.0,
            Dropout::PerLayer(v) => v.iter().any(|&k| k < 1.0),
        }
    }

    /// Checks the keep probabilities for a network of `num_layers` layers: each in (0, 1],
    /// one per layer for [`Dropout::PerLayer`], and 1 for the output layer.
    pub fn check(&self, num_layers: usize) -> Result<()> {
        // The name is only formatted for an error: a valid check (every training step makes
        // one) allocates nothing.
        let valid = |name: &dyn Fn() -> String, k: f64| {
            if k > 0.0 && k <= 1.0 { Ok(()) } else { Err(bad_hyper(&name(), k, "must lie in (0, 1]")) }
        };
        match self {
            Dropout::Off => Ok(()),
            Dropout::Hidden(k) => valid(&|| "keep_prob (hidden layers)".into(), *k),
            Dropout::PerLayer(v) => {
                if v.len() != num_layers {
                    return Err(AnnError::ShapeMismatch {
                        context: "dropout keep_probs (one per layer)".into(),
                        expected: format!("{num_layers} values"),
                        got: format!("{} values", v.len()),
                    });
                }
                for (i, &k) in v.iter().enumerate() {
                    valid(&|| format!("keep_prob[{}]", i + 1), k)?;
                }
                match v.last() {
                    Some(&last) if last != 1.0 => Err(bad_hyper(
                        &format!("keep_prob[{}]", v.len()),
                        last,
                        "the output layer cannot be dropped: use 1",
                    )),
                    _ => Ok(()),
                }
            }
        }
    }
}

/// Draws a 0/1 mask D of shape (rows, cols) with P(D = 1) = keep, row-major from `rng`
/// (see [`fill_mask`] for how each entry is drawn).
pub fn draw_mask(rows: usize, cols: usize, keep: f64, rng: &mut ChaCha8Rng) -> Array2<f64> {
    let mut d = Array2::zeros((rows, cols));
    fill_mask(d.view_mut(), keep, rng);
    d
}

/// The 16-bit threshold t = round(keep · 2¹⁶): an entry is kept iff w < t for a uniform
/// 16-bit word w, so P(D = 1) = t / 2¹⁶, within 7.7e-6 of keep (exactly 1 for keep = 1).
pub(crate) fn keep_threshold(keep: f64) -> u32 {
    (keep.clamp(0.0, 1.0) * 65_536.0).round() as u32
}

/// Overwrites `d` with a fresh 0/1 mask, P(D = 1) = round(keep · 2¹⁶) / 2¹⁶ ≈ keep.
///
/// Entry k in row-major order is kept iff w_k < round(keep · 2¹⁶), where w_0, w_1, … are
/// the 16-bit words of the ChaCha8 stream (each `next_u64` gives four, low half first).
/// Sixteen bits per entry rather than 32 halve the generator's work, the largest cost of
/// dropout in a small network. The training loop's fast path draws the same words with the
/// same threshold (in loops compiled for wider vectors), so the same seed gives the same
/// masks on both paths.
pub fn fill_mask(mut d: ArrayViewMut2<f64>, keep: f64, rng: &mut ChaCha8Rng) {
    let t = keep_threshold(keep);
    let mut words = [0u16; MASK_CHUNK];
    if let Some(entries) = d.as_slice_mut() {
        for chunk in entries.chunks_mut(MASK_CHUNK) {
            let w = next_words(&mut words, chunk.len(), rng);
            chunk.iter_mut().zip(w).for_each(|(v, &w)| *v = kept(w, t));
        }
    } else {
        // Any other layout: the same words, entry by entry in row-major order.
        let n = d.len();
        let mut entries = d.iter_mut();
        for start in (0..n).step_by(MASK_CHUNK) {
            let w = next_words(&mut words, (n - start).min(MASK_CHUNK), rng);
            // `w` first: zip then stops without taking one entry too many.
            w.iter().zip(entries.by_ref()).for_each(|(&w, v)| *v = kept(w, t));
        }
    }
}

/// Entries drawn at a time: their words are a 512-byte buffer on the stack, no allocation.
pub(crate) const MASK_CHUNK: usize = 256;

/// D's entry for the 16-bit word `w` and the threshold t: 1 (kept) iff w < t.
#[inline(always)]
pub(crate) fn kept(w: u16, t: u32) -> f64 {
    if u32::from(w) < t { 1.0 } else { 0.0 }
}

/// The next `n` (at most 256) 16-bit words of the stream, taking whole u64s (four words each).
pub(crate) fn next_words<'w>(words: &'w mut [u16], n: usize, rng: &mut ChaCha8Rng) -> &'w [u16] {
    let w = &mut words[..n.next_multiple_of(4)];
    rng.fill(w);
    w
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;
    use rand::SeedableRng;

    #[test]
    fn keep_probs_per_layer_and_validation() {
        assert!(Dropout::Hidden(0.0).check(3).is_err());
        assert!(Dropout::Hidden(1.5).check(3).is_err());
        assert!(Dropout::Hidden(f64::NAN).check(3).is_err());
        assert!(Dropout::PerLayer(vec![0.5, 0.5]).check(2).is_err(), "the output layer is dropped");
        assert!(Dropout::PerLayer(vec![0.5, 1.0]).check(3).is_err(), "one value per layer");
        assert_eq!(Dropout::Hidden(0.8).keep_probs(3).unwrap(), vec![0.8, 0.8, 1.0]);
        assert_eq!(Dropout::PerLayer(vec![0.9, 0.7, 1.0]).keep_probs(3).unwrap(), vec![0.9, 0.7, 1.0]);
        assert_eq!(Dropout::Off.keep_probs(2).unwrap(), vec![1.0, 1.0]);
        assert_eq!(Dropout::Hidden(0.8).keep(3, 3), 1.0);
        assert!(
            Dropout::Hidden(0.8).is_active()
                && !Dropout::Hidden(1.0).is_active()
                && !Dropout::Off.is_active()
        );
    }

    #[test]
    fn mask_keeps_about_keep_prob() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let d = draw_mask(100, 100, 0.8, &mut rng);
        let frac = d.sum() / 10_000.0;
        assert!((frac - 0.8).abs() < 0.02, "{frac}");
        assert!(d.iter().all(|&v| v == 0.0 || v == 1.0));
        // keep = 1 keeps everything; the threshold is exact at the ends.
        assert!(draw_mask(10, 10, 1.0, &mut rng).iter().all(|&v| v == 1.0));
        assert_eq!(keep_threshold(1.0), 1 << 16);
        assert_eq!(keep_threshold(0.5), 1 << 15);
    }

    #[test]
    fn fill_mask_draws_one_16_bit_word_per_entry_in_row_major_order() {
        // Strided (column-major) and contiguous targets give the same mask, entry by entry
        // equal to thresholding successive 16-bit words of next_u64 (low half first);
        // 450 entries cross the 256-word chunks and end inside a u64.
        let mut stream = ChaCha8Rng::seed_from_u64(11);
        let words: Vec<u16> = (0..450usize.div_ceil(4))
            .map(|_| stream.next_u64())
            .flat_map(|x| [x as u16, (x >> 16) as u16, (x >> 32) as u16, (x >> 48) as u16])
            .collect();
        let t = keep_threshold(0.7);
        let expect =
            Array2::from_shape_fn(
                (3, 150),
                |(i, j)| if u32::from(words[150 * i + j]) < t { 1.0 } else { 0.0 },
            );
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let mut c = Array2::zeros((3, 150));
        fill_mask(c.view_mut(), 0.7, &mut rng);
        assert_eq!(c, expect);
        assert_eq!(rng, stream);
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let mut f = Array2::zeros((150, 3));
        fill_mask(f.view_mut().reversed_axes(), 0.7, &mut rng);
        assert_eq!(f.t(), expect);
        assert_eq!(rng, stream);
    }

    #[test]
    fn fill_mask_matches_draw_mask_for_the_same_seed() {
        let mut r1 = ChaCha8Rng::seed_from_u64(5);
        let mut r2 = ChaCha8Rng::seed_from_u64(5);
        let a = draw_mask(7, 13, 0.6, &mut r1);
        let mut b = Array2::from_elem((7, 13), 9.0);
        fill_mask(b.view_mut(), 0.6, &mut r2);
        assert_eq!(a, b);
        assert_eq!(r1, r2);
    }
}
