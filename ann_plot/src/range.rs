//! Value ranges: the span of the finite values, and an axis range padded around it that
//! never collapses.

use std::ops::Range;

/// (lo, hi) of the finite values, None if there are none.
pub(crate) fn finite_range(values: impl IntoIterator<Item = f64>) -> Option<(f64, f64)> {
    values.into_iter().filter(|v| v.is_finite()).fold(None, |acc, v| match acc {
        None => Some((v, v)),
        Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
    })
}

/// `lo..hi` widened by `frac` of its span on each side; a zero span (constant data)
/// becomes ±0.5 (or ±10 % of |value|) around the value, so plotters never sees an empty
/// range.
pub(crate) fn padded((lo, hi): (f64, f64), frac: f64) -> Range<f64> {
    let span = hi - lo;
    if span.is_finite() && span > 1e-12 * (lo.abs() + hi.abs()).max(1e-300) {
        (lo - frac * span)..(hi + frac * span)
    } else {
        let half = (0.1 * lo.abs()).max(0.5);
        (lo - half)..(lo + half)
    }
}

/// The axis range that shows every finite value of `values`: their span [`padded`] by
/// `frac` on each side, or around (0, 1) if none is finite.
pub(crate) fn axis_range(values: impl IntoIterator<Item = f64>, frac: f64) -> Range<f64> {
    padded(finite_range(values).unwrap_or((0.0, 1.0)), frac)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_never_collapse() {
        assert_eq!(padded((1.0, 1.0), 0.1), 0.5..1.5);
        assert_eq!(padded((0.0, 10.0), 0.1), -1.0..11.0);
        let r = padded((100.0, 100.0), 0.0);
        assert!(r.end - r.start > 1.0);
        assert_eq!(finite_range([f64::NAN, 2.0, -1.0, f64::INFINITY]), Some((-1.0, 2.0)));
        assert_eq!(finite_range([f64::NAN]), None);
        assert_eq!(axis_range([f64::NAN, 0.0, 10.0], 0.1), -1.0..11.0);
        assert_eq!(axis_range([f64::NAN], 0.0), 0.0..1.0);
    }
}
