//! Optimizer updates, entry by entry over the memory of a parameter and its averages.
//!
//! An update rule changes every entry of θ (W[l], b[l], γ[l] or β[l]) from the same entry
//! of dθ and of the rule's running averages, and nothing else: there is no sum, so any order
//! of the entries gives the same bits. That lets the rule run as one loop over the memory
//! compiled for the CPU's widest vectors, and a big parameter in two halves on two cores.
//! One entry point per number of running averages: [`each_entry`] (none),
//! [`each_entry_with`] (one, e.g. Momentum's m) and [`each_entry_with_two`] (Adam's m and v).
//!
//! Each loop takes its slices as separate arguments: that is what tells the compiler they do
//! not overlap, without which it does not vectorize the loop (measured: 4× slower).

use super::real::Real;
use super::simd::wide;
use super::threads::{cores, join};
use ndarray::{ArrayView2, ArrayViewMut2, Zip};

/// Parameters with at least this many entries are updated on two cores: an update streams
/// θ, its averages and dθ through memory once, and a 784 → 256 layer's W (200,704 entries,
/// 6.4 MB with two averages and dθ) takes two cores' bandwidth; smaller ones stay on one.
const PARALLEL_MIN_ENTRIES: usize = 1 << 16;

// The rules are f64 functions (the equations of `optim/`): an f32 entry is widened, updated
// in f64 and rounded back, so the equations are written once. For f64 the copies in and out
// are no-ops and the loops are the rule itself.

/// `rule(θ, dθ)` for every entry of the parameter `p` and its gradient `g`.
pub(crate) fn each_entry<F: Real>(
    mut p: ArrayViewMut2<F>,
    g: ArrayView2<F>,
    rule: impl Fn(&mut f64, f64) + Copy + Sync,
) {
    let rule = move |p: &mut F, g: F| {
        let mut x = p.wide();
        rule(&mut x, g.wide());
        *p = F::of(x);
    };
    if let (Some(p), Some(g)) = (p.as_slice_mut(), g.as_slice()) {
        whole_or_halves((p, g), |(p, g)| {
            wide(|| p.iter_mut().zip(g).for_each(|(p, &g)| rule(p, g)));
        });
    } else {
        Zip::from(p).and(g).for_each(|p, &g| rule(p, g));
    }
}

/// `rule(θ, s, dθ)` for every entry of `p`, its running average `s` and its gradient `g`.
pub(crate) fn each_entry_with<F: Real>(
    mut p: ArrayViewMut2<F>,
    mut s: ArrayViewMut2<F>,
    g: ArrayView2<F>,
    rule: impl Fn(&mut f64, &mut f64, f64) + Copy + Sync,
) {
    let rule = move |p: &mut F, s: &mut F, g: F| {
        let (mut x, mut y) = (p.wide(), s.wide());
        rule(&mut x, &mut y, g.wide());
        (*p, *s) = (F::of(x), F::of(y));
    };
    if let (Some(p), Some(s), Some(g)) = (p.as_slice_mut(), s.as_slice_mut(), g.as_slice()) {
        whole_or_halves((p, s, g), |(p, s, g)| loop_with(p, s, g, rule));
    } else {
        Zip::from(p).and(s).and(g).for_each(|p, s, &g| rule(p, s, g));
    }
}

/// `rule(θ, s1, s2, dθ)` for every entry of `p`, its two running averages and its gradient.
pub(crate) fn each_entry_with_two<F: Real>(
    mut p: ArrayViewMut2<F>,
    mut s1: ArrayViewMut2<F>,
    mut s2: ArrayViewMut2<F>,
    g: ArrayView2<F>,
    rule: impl Fn(&mut f64, &mut f64, &mut f64, f64) + Copy + Sync,
) {
    let rule = move |p: &mut F, s1: &mut F, s2: &mut F, g: F| {
        let (mut x, mut y, mut w) = (p.wide(), s1.wide(), s2.wide());
        rule(&mut x, &mut y, &mut w, g.wide());
        (*p, *s1, *s2) = (F::of(x), F::of(y), F::of(w));
    };
    if let (Some(p), Some(s1), Some(s2), Some(g)) =
        (p.as_slice_mut(), s1.as_slice_mut(), s2.as_slice_mut(), g.as_slice())
    {
        whole_or_halves((p, s1, s2, g), |(p, s1, s2, g)| loop_with_two(p, s1, s2, g, rule));
    } else {
        Zip::from(p).and(s1).and(s2).and(g).for_each(|p, s1, s2, &g| rule(p, s1, s2, g));
    }
}

fn loop_with<F: Real>(p: &mut [F], s: &mut [F], g: &[F], rule: impl Fn(&mut F, &mut F, F) + Copy) {
    wide(|| p.iter_mut().zip(s).zip(g).for_each(|((p, s), &g)| rule(p, s, g)));
}

fn loop_with_two<F: Real>(
    p: &mut [F],
    s1: &mut [F],
    s2: &mut [F],
    g: &[F],
    rule: impl Fn(&mut F, &mut F, &mut F, F) + Copy,
) {
    wide(|| p.iter_mut().zip(s1).zip(s2).zip(g).for_each(|(((p, s1), s2), &g)| rule(p, s1, s2, g)));
}

/// Slices of one parameter's entries that can be cut in two at the same place.
trait Halves: Sized + Send {
    fn len(&self) -> usize;
    fn split_at(self, mid: usize) -> (Self, Self);
}

impl<F: Real> Halves for (&mut [F], &[F]) {
    fn len(&self) -> usize {
        self.0.len()
    }
    fn split_at(self, mid: usize) -> (Self, Self) {
        let ((p1, p2), (g1, g2)) = (self.0.split_at_mut(mid), self.1.split_at(mid));
        ((p1, g1), (p2, g2))
    }
}

impl<F: Real> Halves for (&mut [F], &mut [F], &[F]) {
    fn len(&self) -> usize {
        self.0.len()
    }
    fn split_at(self, mid: usize) -> (Self, Self) {
        let (p, s, g) = self;
        let ((p1, p2), (s1, s2), (g1, g2)) = (p.split_at_mut(mid), s.split_at_mut(mid), g.split_at(mid));
        ((p1, s1, g1), (p2, s2, g2))
    }
}

impl<F: Real> Halves for (&mut [F], &mut [F], &mut [F], &[F]) {
    fn len(&self) -> usize {
        self.0.len()
    }
    fn split_at(self, mid: usize) -> (Self, Self) {
        let (p, a, b, g) = self;
        let ((p1, p2), (a1, a2)) = (p.split_at_mut(mid), a.split_at_mut(mid));
        let ((b1, b2), (g1, g2)) = (b.split_at_mut(mid), g.split_at(mid));
        ((p1, a1, b1, g1), (p2, a2, b2, g2))
    }
}

/// `run` on all the entries, or on their two halves at once, the second on another core,
/// when the parameter is big.
fn whole_or_halves<S: Halves>(entries: S, run: impl Fn(S) + Sync) {
    let len = entries.len();
    if len >= PARALLEL_MIN_ENTRIES && cores() >= 2 {
        let (first, second) = entries.split_at(len / 2);
        join(|| run(first), || run(second));
    } else {
        run(entries);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    #[test]
    fn a_big_parameter_updated_on_two_cores_has_the_bits_of_one_loop() {
        // 300 × 256 entries: above PARALLEL_MIN_ENTRIES, so split where there are two cores;
        // the column-major copies take the entry-by-entry path.
        let fill = |k: f64| Array2::from_shape_fn((300, 256), |(i, j)| ((i * 256 + j) as f64 * k).sin());
        let (mut p, mut s1, mut s2, g) = (fill(0.1), fill(0.2), fill(0.3).mapv(f64::abs), fill(0.7));
        let f_order = |a: &Array2<f64>| a.t().as_standard_layout().into_owned().reversed_axes();
        let (mut pf, mut s1f, mut s2f, gf) = (f_order(&p), f_order(&s1), f_order(&s2), f_order(&g));
        let same = |a: &Array2<f64>, b: &Array2<f64>| {
            a.iter().zip(b.iter()).all(|(x, y)| x.to_bits() == y.to_bits())
        };
        let rule = |p: &mut f64, m: &mut f64, v: &mut f64, d: f64| {
            *m = 0.9 * *m + 0.1 * d;
            *v = 0.999 * *v + 0.001 * d * d;
            *p -= 0.01 * (*m * 1.7) / ((*v * 3.1).sqrt() + 1e-8);
        };
        each_entry_with_two(p.view_mut(), s1.view_mut(), s2.view_mut(), g.view(), rule);
        each_entry_with_two(pf.view_mut(), s1f.view_mut(), s2f.view_mut(), gf.view(), rule);
        assert!(same(&p, &pf) && same(&s1, &s1f) && same(&s2, &s2f));
        let rule = |p: &mut f64, v: &mut f64, d: f64| {
            *v = 0.9 * *v + 0.1 * d;
            *p -= 0.1 * *v;
        };
        each_entry_with(p.view_mut(), s1.view_mut(), g.view(), rule);
        each_entry_with(pf.view_mut(), s1f.view_mut(), gf.view(), rule);
        assert!(same(&p, &pf) && same(&s1, &s1f));
        each_entry(p.view_mut(), g.view(), |p, d| *p -= 0.5 * d);
        each_entry(pf.view_mut(), gf.view(), |p, d| *p -= 0.5 * d);
        assert!(same(&p, &pf));
    }
}
