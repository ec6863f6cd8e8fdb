//! Batch normalization seen unit by unit: the distribution of Z[l] over a mini-batch before
//! the normalization, and of Ẑ[l] = (Z[l] − μ) / √(σ² + ε) after it.

use crate::axes::{self, Axes};
use crate::checks;
use crate::error::{AnnError, Result, bad_hyper};
use crate::figure::{Draw, Figure, plot_error};
use crate::legend;
use crate::range;
use crate::style;
use crate::text;
use ndarray::ArrayView2;
use plotters::coord::Shift;
use plotters::prelude::*;

/// Most units drawn in one panel (more outlines than this no longer read apart).
pub const MAX_HISTOGRAM_UNITS: usize = 6;

/// Bins per histogram.
const BINS: usize = 30;

/// Histograms, one outline per unit, of `before` (left) and `after` (right), both (n, m):
/// row i holds unit i's values (`units` lists rows, counted from 0) over the m examples of a
/// mini-batch, e.g. Z[l] and Ẑ[l] of a training pass. Each panel bins its units over one common range, and each legend entry
/// gives the unit's mean and standard deviation: before, every unit has its own; after, all
/// have mean 0 and standard deviation ≈ 1. An empty `title` gives a default one.
///
/// Errors: shapes that differ, no examples, no units or more than [`MAX_HISTOGRAM_UNITS`],
/// a unit out of range, a non-finite value.
pub fn normalization_histograms(
    before: ArrayView2<f64>,
    after: ArrayView2<f64>,
    units: &[usize],
    title: &str,
) -> Result<Figure> {
    if before.dim() != after.dim() {
        return Err(AnnError::ShapeMismatch {
            context: "values after the normalization".into(),
            expected: format!("{:?}", before.dim()),
            got: format!("{:?}", after.dim()),
        }
        .into());
    }
    if before.ncols() == 0 {
        return Err(AnnError::EmptyInput("no examples to draw a distribution of".into()).into());
    }
    if units.is_empty() || units.len() > MAX_HISTOGRAM_UNITS {
        return Err(bad_hyper("units", units.len(), &format!("pass 1 to {MAX_HISTOGRAM_UNITS} units")));
    }
    if let Some(&u) = units.iter().find(|&&u| u >= before.nrows()) {
        return Err(bad_hyper("unit", u, &format!("must be below the {} units", before.nrows())));
    }
    checks::check_finite(before.iter(), "values before the normalization")?;
    checks::check_finite(after.iter(), "values after the normalization")?;
    let title = if title.is_empty() { "Each unit's distribution over the mini-batch" } else { title };
    let panels = [
        Panel::new("Before: Z[l] = W[l] A[l−1] + b[l]", "z", before, units),
        Panel::new("After: Ẑ[l] = (Z[l] − μ) / √(σ² + ε)", "ẑ", after, units),
    ];
    Figure::from_drawing(style::COLUMN_WIDTH, 460, title, &Histograms { panels, title })
}

struct Panel {
    caption: &'static str,
    x_desc: &'static str,
    /// (lower edge of bin 0, bin width)
    bins: (f64, f64),
    /// Per unit: its index, the fraction of examples in each bin, mean and std.
    units: Vec<(usize, Vec<f64>, f64, f64)>,
}

impl Panel {
    fn new(caption: &'static str, x_desc: &'static str, v: ArrayView2<f64>, units: &[usize]) -> Self {
        let all = units.iter().flat_map(|&u| v.row(u).to_vec());
        let (lo, hi) = range::finite_range(all).unwrap_or((-1.0, 1.0));
        let (lo, hi) = if hi > lo { (lo, hi) } else { (lo - 0.5, hi + 0.5) };
        let width = (hi - lo) / BINS as f64;
        let m = v.ncols() as f64;
        let units = units
            .iter()
            .map(|&u| {
                let row = v.row(u);
                let mut counts = vec![0.0; BINS];
                for &x in row {
                    let k = (((x - lo) / width) as usize).min(BINS - 1);
                    counts[k] += 1.0 / m;
                }
                let mean = row.sum() / m;
                let std = (row.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / m).sqrt();
                (u, counts, mean, std)
            })
            .collect();
        Panel { caption, x_desc, bins: (lo, width), units }
    }

    /// The outline of one histogram: a step from bin edge to bin edge, closed at 0.
    fn outline(&self, counts: &[f64]) -> Vec<(f64, f64)> {
        let (lo, w) = self.bins;
        let mut pts = vec![(lo, 0.0)];
        for (k, &c) in counts.iter().enumerate() {
            let x = lo + k as f64 * w;
            pts.extend([(x, c), (x + w, c)]);
        }
        pts.push((lo + counts.len() as f64 * w, 0.0));
        pts
    }
}

/// `v` with 2 decimals, without the "−0.00" of a mean that is 0 up to rounding.
fn two_decimals(v: f64) -> String {
    let s = format!("{v:.2}");
    if s == "-0.00" { "0.00".into() } else { s }
}

struct Histograms<'a> {
    panels: [Panel; 2],
    title: &'a str,
}

impl Draw for Histograms<'_> {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        let body = text::titled(area, self.title)?;
        let areas = body.split_evenly((1, 2));
        for (panel, area) in self.panels.iter().zip(&areas) {
            let top = panel.units.iter().flat_map(|u| u.1.iter().copied()).fold(0.0, f64::max);
            let (lo, w) = panel.bins;
            let x = range::padded((lo, lo + BINS as f64 * w), 0.03);
            // Head room for the legend above the bars.
            let y = 0.0..(top * 1.6).max(1e-9);
            let mut chart = axes::chart2d(
                area,
                &Axes::new(panel.caption, x, y, panel.x_desc, "fraction of the mini-batch"),
            )?;
            for (i, (u, counts, mean, std)) in panel.units.iter().enumerate() {
                let line = style::series_color(i).stroke_width(3);
                chart
                    .draw_series(LineSeries::new(panel.outline(counts), line))
                    .map_err(plot_error)?
                    .label(format!("unit {u}: mean {}, std {std:.2}", two_decimals(*mean)))
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], line));
            }
            legend::legend(&mut chart, SeriesLabelPosition::UpperRight)?;
        }
        Ok(())
    }
}
