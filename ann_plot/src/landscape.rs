//! Helpers shared by the experiments' figures: loss landscapes (a [`Grid2D`] drawn as a log-scaled
//! heatmap with iso-lines), parameter paths over them, and log₁₀ value axes.

use crate::axes::{self, Chart2d};
use crate::colorbar;
use crate::error::{AnnError, Result};
use crate::experiments::Grid2D;
use crate::figure::plot_error;
use crate::range;
use crate::raster;
use crate::style::{self, Colormap};
use crate::text;
use plotters::prelude::*;
use std::ops::Range;

/// log₁₀ v for plotting, with values ≤ 0 (or below `floor`) pinned to log₁₀ `floor`.
pub(crate) fn log10_floor(v: f64, floor: f64) -> f64 {
    v.max(floor).log10()
}

/// Tick label of a log₁₀ axis: the value 10^v, "1e-6" style for whole powers far from 1,
/// otherwise the plain number (e.g. "0.05", "200").
pub(crate) fn pow10_tick(v: f64) -> String {
    let k = v.round();
    if (v - k).abs() < 1e-9 && k.abs() >= 3.0 { format!("1e{}", k as i64) } else { axes::tick(10f64.powf(v)) }
}

/// Axis descriptions and formatters of a themed chart whose axes may be log₁₀ scaled
/// (the chart then holds log₁₀ values).
pub(crate) struct LogAxes<'s> {
    pub caption: &'s str,
    pub x: Range<f64>,
    pub y: Range<f64>,
    pub x_desc: &'s str,
    pub y_desc: &'s str,
    pub x_log: bool,
    pub y_log: bool,
}

/// A themed 2-D chart like [`axes::chart2d`], with log₁₀ tick labels where asked.
pub(crate) fn chart<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, plotters::coord::Shift>,
    axes: &LogAxes<'_>,
) -> Result<Chart2d<'a, DB>> {
    let mut builder = ChartBuilder::on(area);
    builder.margin(12).margin_right(24).x_label_area_size(62).y_label_area_size(84);
    if !axes.caption.is_empty() {
        builder.caption(axes.caption, text::text(style::PANEL_TITLE_SIZE));
    }
    let mut chart = builder.build_cartesian_2d(axes.x.clone(), axes.y.clone()).map_err(plot_error)?;
    let (xl, yl) = (axes.x_log, axes.y_log);
    // Tick positions like 1.7e-18 are 0 up to rounding: snap them.
    let (xe, ye) = (1e-9 * (axes.x.end - axes.x.start).abs(), 1e-9 * (axes.y.end - axes.y.start).abs());
    let xf = move |v: &f64| if xl { pow10_tick(*v) } else { axes::tick(if v.abs() < xe { 0.0 } else { *v }) };
    let yf = move |v: &f64| if yl { pow10_tick(*v) } else { axes::tick(if v.abs() < ye { 0.0 } else { *v }) };
    chart
        .configure_mesh()
        .x_desc(axes.x_desc)
        .y_desc(axes.y_desc)
        .axis_desc_style(text::text(style::AXIS_LABEL_SIZE))
        .label_style(text::text(style::TICK_LABEL_SIZE))
        .axis_style(style::NEUTRAL)
        .bold_line_style(style::GRID)
        .max_light_lines(0)
        .x_labels(8)
        .y_labels(8)
        .x_label_formatter(&xf)
        .y_label_formatter(&yf)
        .draw()
        .map_err(plot_error)?;
    Ok(chart)
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
    let (nx, ny) = (grid.xs.len(), grid.ys.len());
    let mut segments = Vec::new();
    if nx < 2 || ny < 2 {
        return segments;
    }
    for j in 0..ny - 1 {
        for i in 0..nx - 1 {
            let c = [(i, j), (i + 1, j), (i + 1, j + 1), (i, j + 1)];
            let v = c.map(|(a, b)| f(grid.values[[b, a]]));
            let mut hits = Vec::with_capacity(4);
            for e in 0..4 {
                let (a, b) = (e, (e + 1) % 4);
                if (v[a] < 0.0) != (v[b] < 0.0) && v[a].is_finite() && v[b].is_finite() {
                    let t = v[a] / (v[a] - v[b]);
                    let (xa, ya) = (grid.xs[c[a].0], grid.ys[c[a].1]);
                    let (xb, yb) = (grid.xs[c[b].0], grid.ys[c[b].1]);
                    hits.push((xa + t * (xb - xa), ya + t * (yb - ya)));
                }
            }
            for pair in hits.chunks_exact(2) {
                segments.push([pair[0], pair[1]]);
            }
        }
    }
    segments
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

/// A parameter path: a line with a white halo (visible on any background), small dots at
/// the iterates when there are few, a hollow circle at the start and a filled one at the end.
pub(crate) fn draw_path<'c, DB: DrawingBackend + 'c>(
    chart: &mut Chart2d<'c, DB>,
    points: &[(f64, f64)],
    color: RGBColor,
    width: u32,
    label: &str,
) -> Result<()> {
    if points.is_empty() {
        return Ok(());
    }
    let halo = style::BACKGROUND.mix(0.8).stroke_width(width + 3);
    chart.draw_series(segments(points, halo)).map_err(plot_error)?;
    let line = color.stroke_width(width);
    chart.draw_series(segments(points, line)).map_err(plot_error)?.label(label).legend(move |(x, y)| {
        EmptyElement::at((x, y))
            + PathElement::new(vec![(0, 0), (24, 0)], line)
            + Circle::new((12, 0), 4, color.filled())
    });
    if points.len() <= 120 {
        chart.draw_series(points.iter().map(|&p| Circle::new(p, 2, color.filled()))).map_err(plot_error)?;
    }
    if let Some(&end) = points.last() {
        chart
            .draw_series(std::iter::once(
                EmptyElement::at(end)
                    + Circle::new((0, 0), 7, style::BACKGROUND.filled())
                    + Circle::new((0, 0), 5, color.filled()),
            ))
            .map_err(plot_error)?;
    }
    Ok(())
}

/// A polyline as separate two-point segments: plotters joins thick polylines with miter
/// joins, which shoot long spikes out of sharp turns (zig-zagging SGD paths).
pub(crate) fn segments(points: &[(f64, f64)], s: ShapeStyle) -> Vec<PathElement<(f64, f64)>> {
    points.windows(2).map(|w| PathElement::new(vec![w[0], w[1]], s)).collect()
}

/// Marks a point with a black-and-white cross (a minimum, a start) and labels it.
pub(crate) fn draw_marker<'c, DB: DrawingBackend + 'c>(
    chart: &mut Chart2d<'c, DB>,
    at: (f64, f64),
    label: &str,
) -> Result<()> {
    let ink = style::INK.stroke_width(3);
    chart
        .draw_series(std::iter::once(
            EmptyElement::at(at)
                + Cross::new((0, 0), 9, style::BACKGROUND.stroke_width(6))
                + Cross::new((0, 0), 8, ink),
        ))
        .map_err(plot_error)?
        .label(label)
        .legend(move |(x, y)| Cross::new((x + 12, y), 7, ink));
    Ok(())
}

/// Colour bar of a log₁₀ landscape scale, with value labels 10^v.
pub(crate) fn log_colorbar<DB: DrawingBackend>(
    strip: &DrawingArea<DB, plotters::coord::Shift>,
    rows: Range<i32>,
    scale: (f64, f64),
    label: &str,
) -> Result<()> {
    // Ticks drawn by hand (see `colorbar::colorbar`), labelled with the values 10^v.
    colorbar::colorbar_with(strip, rows, |v| landscape_color(v, scale), scale, label, pow10_tick)
}

/// The pixel rows of a chart's plotting area (for a colour bar beside it).
pub(crate) fn plot_rows<DB: DrawingBackend>(chart: &Chart2d<'_, DB>) -> Range<i32> {
    let area = chart.plotting_area();
    let (_, y0) = area.get_base_pixel();
    let (_, h) = area.dim_in_pixel();
    y0..y0 + h as i32
}

/// A legend drawn as rows of entries (line and dot in the entry's colour, then its text)
/// across `area`, `per_row` entries per row: for figures whose panels share one legend.
pub(crate) fn legend_row<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    entries: &[(String, RGBColor)],
    per_row: usize,
) -> Result<()> {
    let per_row = per_row.max(1);
    let (w, _) = area.dim_in_pixel();
    let col_w = (w.saturating_sub(40) / per_row as u32) as i32;
    let font = text::text(style::LEGEND_SIZE);
    for (k, (label, color)) in entries.iter().enumerate() {
        let (row, col) = ((k / per_row) as i32, (k % per_row) as i32);
        let (x, y) = (40 + col * col_w, 14 + row * 30);
        let line = color.stroke_width(3);
        area.draw(&PathElement::new(vec![(x, y), (x + 30, y)], line)).map_err(plot_error)?;
        area.draw(&Circle::new((x + 15, y), 4, color.filled())).map_err(plot_error)?;
        area.draw(&Text::new(label.clone(), (x + 40, y - 10), font.clone())).map_err(plot_error)?;
    }
    Ok(())
}

/// A number for a legend: plain with 2 decimals in [0.01, 1000), else scientific.
pub(crate) fn short_number(v: f64) -> String {
    if v.is_finite() && v != 0.0 && !(0.01..1000.0).contains(&v.abs()) {
        format!("{v:.1e}")
    } else {
        format!("{v:.2}")
    }
}

/// Finite points of a series on a log₁₀ axis: (x, log₁₀ y) for y > 0.
pub(crate) fn log_points(points: impl IntoIterator<Item = (f64, f64)>) -> Vec<(f64, f64)> {
    points
        .into_iter()
        .filter(|(x, y)| x.is_finite() && y.is_finite() && *y > 0.0)
        .map(|(x, y)| (x, y.log10()))
        .collect()
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
        assert_eq!(pow10_tick(-6.0), "1e-6");
        assert_eq!(pow10_tick(2.0), "100");
        assert_eq!(pow10_tick((0.05f64).log10()), "0.05");
    }
}
