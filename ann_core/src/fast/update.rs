//! Optimizer updates, entry by entry over the memory of a parameter and its state.
//!
//! An update rule changes every entry of θ (W[l] or b[l]) from the same entry of dθ and of
//! the rule's running averages, and nothing else: there is no sum, so any order of the
//! entries gives the same bits. That lets [`update_entries`] run the rule in one loop over
//! the memory compiled for the CPU's widest vectors, and a big parameter in two halves on
//! two cores.

use super::simd::wide;
use super::threads::{cores, join};
use ndarray::{Array2, Zip};

/// Parameters with at least this many entries are updated on two cores: an update streams
/// θ, its averages and dθ through memory once, and a 784 → 256 layer's W (200,704 entries,
/// 6.4 MB with two averages and dθ) takes two cores' bandwidth; smaller ones stay on one.
const PARALLEL_MIN_ENTRIES: usize = 1 << 16;

/// Calls `rule(θ, [s_1, …, s_N], dθ)` for every entry of the parameter `p`, its `N` running
/// averages `states` (each of `p`'s shape) and the gradient `g`.
///
/// When all are in standard layout this is one loop over the memory, run by
/// [`wide`](super::simd::wide); a big parameter is split in two halves, the second updated
/// on another core. Otherwise entry by entry with `Zip`.
pub(crate) fn update_entries<const N: usize>(
    p: &mut Array2<f64>,
    mut states: [&mut Array2<f64>; N],
    g: &Array2<f64>,
    rule: impl Fn(&mut f64, [&mut f64; N], f64) + Copy + Send + Sync,
) {
    let contiguous = states.iter().all(|s| s.is_standard_layout() && s.dim() == p.dim());
    if let (true, Some(ps), Some(gs)) = (contiguous, p.as_slice_mut(), g.as_slice()) {
        let ss = states.each_mut().map(|s| s.as_slice_mut().unwrap_or_default());
        if ps.len() >= PARALLEL_MIN_ENTRIES && cores() >= 2 {
            let mid = ps.len() / 2;
            let (p1, p2) = ps.split_at_mut(mid);
            let (g1, g2) = gs.split_at(mid);
            let (s1, s2) = split_at(ss, mid);
            join(|| run(p1, s1, g1, rule), move || run(p2, s2, g2, rule));
        } else {
            run(ps, ss, gs, rule);
        }
    } else {
        // Any other layout: entry by entry, the same arithmetic.
        Zip::indexed(p).and(g).for_each(|ij, p, &d| rule(p, states.each_mut().map(|s| &mut s[ij]), d));
    }
}

/// The loop over memory: entry k of θ with entry k of every average and of dθ.
fn run<const N: usize>(
    p: &mut [f64],
    mut s: [&mut [f64]; N],
    g: &[f64],
    rule: impl Fn(&mut f64, [&mut f64; N], f64) + Copy,
) {
    let n = p.len().min(g.len());
    // Re-sliced to n, so the compiler sees that every index below is in bounds.
    let mut s = s.each_mut().map(|x| &mut x[..n]);
    wide(|| {
        for k in 0..n {
            rule(&mut p[k], s.each_mut().map(|x| &mut x[k]), g[k]);
        }
    })
}

/// Each slice of `s` cut at `mid`: (the first parts, the second parts).
fn split_at<const N: usize>(mut s: [&mut [f64]; N], mid: usize) -> ([&mut [f64]; N], [&mut [f64]; N]) {
    let mut second: [&mut [f64]; N] = std::array::from_fn(|_| Default::default());
    for (first, second) in s.iter_mut().zip(second.iter_mut()) {
        let (a, b) = std::mem::take(first).split_at_mut(mid);
        (*first, *second) = (a, b);
    }
    (s, second)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_big_parameter_updated_on_two_cores_has_the_bits_of_one_loop() {
        // 300 × 256 entries: above PARALLEL_MIN_ENTRIES, so split where there are two cores;
        // the column-major copies take the entry-by-entry path.
        let fill = |k: f64| Array2::from_shape_fn((300, 256), |(i, j)| ((i * 256 + j) as f64 * k).sin());
        let (mut p, mut s1, mut s2, g) = (fill(0.1), fill(0.2), fill(0.3).mapv(f64::abs), fill(0.7));
        let f_order = |a: &Array2<f64>| a.t().as_standard_layout().into_owned().reversed_axes();
        let (mut pf, mut s1f, mut s2f, gf) = (f_order(&p), f_order(&s1), f_order(&s2), f_order(&g));
        let rule = |p: &mut f64, [m, v]: [&mut f64; 2], d: f64| {
            *m = 0.9 * *m + 0.1 * d;
            *v = 0.999 * *v + 0.001 * d * d;
            *p -= 0.01 * (*m * 1.7) / ((*v * 3.1).sqrt() + 1e-8);
        };
        update_entries(&mut p, [&mut s1, &mut s2], &g, rule);
        update_entries(&mut pf, [&mut s1f, &mut s2f], &gf, rule);
        for (a, b) in [(&p, &pf), (&s1, &s1f), (&s2, &s2f)] {
            assert!(a.iter().zip(b.iter()).all(|(x, y)| x.to_bits() == y.to_bits()));
        }
        // No averages at all (plain gradient descent).
        let (mut q, mut qf) = (fill(0.1), f_order(&fill(0.1)));
        update_entries(&mut q, [], &g, |p, [], d| *p -= 0.5 * d);
        update_entries(&mut qf, [], &gf, |p, [], d| *p -= 0.5 * d);
        assert!(q.iter().zip(qf.iter()).all(|(x, y)| x.to_bits() == y.to_bits()));
    }
}
