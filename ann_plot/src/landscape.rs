//! Loss landscapes: a [`Grid2D`] of values drawn as a log-scaled map with filled contours,
//! iso-lines and a colour bar of the values 10^v.

use crate::axes::{Chart2d, pow10_tick};
use crate::colorbar;
use crate::contour;
use crate::error::{AnnError, Result};
use crate::experiments::Grid2D;
use crate::figure::plot_error;
use crate::range;
use crate::raster;
use crate::style::{self, Colormap};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::ops::Range;

/// log₁₀ v for plotting, with values ≤ 0 (or below `floor`) pinned to log₁₀ `floor`.
pub(crate) fn log10_floor(v: f64, floor: f64) -> f64 {
    v.max(floor).log10()
}

/// The log₁₀ colour scale of a loss landscape: [log₁₀ min, log₁₀ max] of the finite,
/// positive values of the grid, at most `decades` wide above the minimum.
pub(crate) fn log_scale(grid: &Grid2D, decades: f64) -> Result<(f64, f64)> {
    let (lo, hi) = range::finite_range(grid.values.iter().copied().filter(|v| *v > 0.0))
        .ok_or_else(|| AnnError::NonFinite("the loss grid has no finite positive value".into()))?;
    let (a, b) = (lo.log10(), hi.log10());
    Ok(if b - a > decades {
        (a, a + decades)
    } else if b > a {
        (a, b)
    } else {
        (a - 0.5, a + 0.5)
    })
}

/// Landscape colour of a log₁₀ value on the scale (lo, hi): Viridis, lightened so that
/// paths and lines drawn over it stay visible.
pub(crate) fn landscape_color(logv: f64, (lo, hi): (f64, f64)) -> RGBColor {
    style::blend(Colormap::Viridis.color_in(logv, lo, hi), style::BACKGROUND, 0.35)
}

/// Bilinear interpolation of the grid at (x, y) (clamped to the grid's box).
pub(crate) fn interpolate(grid: &Grid2D, x: f64, y: f64) -> f64 {
    let locate = |axis: &[f64], v: f64| -> (usize, f64) {
        let n = axis.len();
        if n < 2 {
            return (0, 0.0);
        }
        // Axes are increasing; find the cell i with axis[i] <= v <= axis[i + 1].
        let i = axis.partition_point(|&a| a <= v).saturating_sub(1).min(n - 2);
        let span = axis[i + 1] - axis[i];
        let t = if span > 0.0 { ((v - axis[i]) / span).clamp(0.0, 1.0) } else { 0.0 };
        (i, t)
    };
    let (i, tx) = locate(&grid.xs, x);
    let (j, ty) = locate(&grid.ys, y);
    let v = |j: usize, i: usize| grid.values[[j.min(grid.ys.len() - 1), i.min(grid.xs.len() - 1)]];
    let (i1, j1) = (if grid.xs.len() > 1 { i + 1 } else { i }, if grid.ys.len() > 1 { j + 1 } else { j });
    let bottom = v(j, i) * (1.0 - tx) + v(j, i1) * tx;
    let top = v(j1, i) * (1.0 - tx) + v(j1, i1) * tx;
    bottom * (1.0 - ty) + top * ty
}

/// Marching squares on the grid: segments where `f(value)` crosses 0.
pub(crate) fn iso_segments(grid: &Grid2D, f: impl Fn(f64) -> f64) -> Vec<[(f64, f64); 2]> {
    let v = grid.values.mapv(f);
    contour::cell_segments(grid.xs.len(), grid.ys.len(), |(ia, ja), (ib, jb)| {
        let t = contour::zero_crossing(v[[ja, ia]], v[[jb, ib]])?;
        let (xa, ya) = (grid.xs[ia], grid.ys[ja]);
        let (xb, yb) = (grid.xs[ib], grid.ys[jb]);
        Some((xa + t * (xb - xa), ya + t * (yb - ya)))
    })
}

/// Fills the chart with the grid's values on the log₁₀ colour scale `scale`, in bands of
/// `step` / 2 decades (filled contours), and draws iso-lines every `step` decades.
pub(crate) fn draw_landscape<'c, DB: DrawingBackend + 'c>(
    chart: &mut Chart2d<'c, DB>,
    grid: &Grid2D,
    scale: (f64, f64),
    step: f64,
) -> Result<()> {
    let floor = 10f64.powf(scale.0 - 3.0);
    // Filled contours: the colour is constant within bands of half the iso-line step.
    let band = step / 2.0;
    raster::raster(chart, |x, y| {
        let v = log10_floor(interpolate(grid, x, y), floor);
        landscape_color(((v / band).floor() + 0.5) * band, scale)
    })?;
    let line = style::INK.mix(0.35).stroke_width(1);
    let first = (scale.0 / step).ceil() as i64;
    let last = (scale.1 / step).floor() as i64;
    for k in first..=last {
        let level = k as f64 * step;
        let segs = iso_segments(grid, |v| log10_floor(v, floor) - level);
        chart
            .draw_series(segs.into_iter().map(|s| PathElement::new(s.to_vec(), line)))
            .map_err(plot_error)?;
    }
    Ok(())
}

/// Colour bar of a log₁₀ landscape scale, with value labels 10^v.
pub(crate) fn log_colorbar<DB: DrawingBackend>(
    strip: &DrawingArea<DB, Shift>,
    rows: Range<i32>,
    scale: (f64, f64),
    label: &str,
) -> Result<()> {
    // Ticks drawn by hand (see `colorbar::colorbar`), labelled with the values 10^v.
    colorbar::colorbar_with(strip, rows, |v| landscape_color(v, scale), scale, label, pow10_tick)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpolation_and_iso_lines_on_a_plane() {
        let g = Grid2D::sample(vec![0.0, 1.0, 2.0], vec![0.0, 2.0], |x, y| Ok(x + 10.0 * y)).unwrap();
        assert!((interpolate(&g, 0.5, 1.0) - 10.5).abs() < 1e-12);
        assert!((interpolate(&g, 9.0, 9.0) - 22.0).abs() < 1e-12);
        // x + 10 y = 11 crosses the two cells once each.
        let segs = iso_segments(&g, |v| v - 11.0);
        assert_eq!(segs.len(), 2);
        for s in segs {
            for (x, y) in s {
                assert!((x + 10.0 * y - 11.0).abs() < 1e-12);
            }
        }
    }
}
