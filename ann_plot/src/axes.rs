//! Themed 2-D charts: axes with tick labels, descriptions and grid lines (linear, or log₁₀
//! with the values 10^v as labels), and the frame around the plotting area.

use crate::error::Result;
use crate::figure::plot_error;
use crate::style;
use crate::text::text;
use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use std::ops::Range;

/// A 2-D chart on f64 axes.
pub(crate) type Chart2d<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// Options of [`chart2d`].
pub(crate) struct Axes<'s> {
    pub caption: &'s str,
    pub x: Range<f64>,
    pub y: Range<f64>,
    pub x_desc: &'s str,
    pub y_desc: &'s str,
    /// Width of the y tick-label area (wider for long tick labels).
    pub y_label_area: u32,
}

impl<'s> Axes<'s> {
    pub(crate) fn new(
        caption: &'s str,
        x: Range<f64>,
        y: Range<f64>,
        x_desc: &'s str,
        y_desc: &'s str,
    ) -> Self {
        Axes { caption, x, y, x_desc, y_desc, y_label_area: 80 }
    }
}

/// A themed 2-D chart with caption, grid and axis descriptions, mesh drawn.
pub(crate) fn chart2d<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    axes: &Axes<'_>,
) -> Result<Chart2d<'a, DB>> {
    let mut chart = build(area, axes.caption, axes.x.clone(), axes.y.clone(), axes.y_label_area)?;
    let fmt = |v: &f64| tick(*v);
    mesh(&mut chart, axes.x_desc, axes.y_desc, 7, &fmt, &fmt)?;
    Ok(chart)
}

/// A themed chart over `x` × `y` on `area`: margins, label areas (`y_label_area` px for the
/// y tick labels) and the caption, if any.
fn build<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    caption: &str,
    x: Range<f64>,
    y: Range<f64>,
    y_label_area: u32,
) -> Result<Chart2d<'a, DB>> {
    let mut builder = ChartBuilder::on(area);
    builder.margin(12).margin_right(24).x_label_area_size(62).y_label_area_size(y_label_area);
    if !caption.is_empty() {
        builder.caption(caption, text(style::PANEL_TITLE_SIZE));
    }
    builder.build_cartesian_2d(x, y).map_err(plot_error)
}

/// Draws axes, axis descriptions, about `labels` tick labels per axis (written by `x_fmt`
/// and `y_fmt`) and major grid lines in the theme.
fn mesh<'c, DB: DrawingBackend + 'c>(
    chart: &mut Chart2d<'c, DB>,
    x_desc: &str,
    y_desc: &str,
    labels: usize,
    x_fmt: &dyn Fn(&f64) -> String,
    y_fmt: &dyn Fn(&f64) -> String,
) -> Result<()> {
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .axis_desc_style(text(style::AXIS_LABEL_SIZE))
        .label_style(text(style::TICK_LABEL_SIZE))
        .axis_style(style::NEUTRAL)
        .bold_line_style(style::GRID)
        .max_light_lines(0)
        .x_labels(labels)
        .y_labels(labels)
        .x_label_formatter(x_fmt)
        .y_label_formatter(y_fmt)
        .draw()
        .map_err(plot_error)
}

/// Tick label: up to 3 significant decimals, no trailing zeros, no "-0".
pub(crate) fn tick(v: f64) -> String {
    let a = v.abs();
    let s = if a != 0.0 && !(1e-3..1e5).contains(&a) {
        format!("{v:.1e}")
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    };
    let s = if s.contains('.') && !s.contains('e') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    };
    if s == "-0" { "0".into() } else { s }
}

/// A thin frame around the plotting area (over rasters' edges).
pub(crate) fn frame<'c, DB: DrawingBackend + 'c>(chart: &mut Chart2d<'c, DB>) -> Result<()> {
    let (x, y) = (chart.x_range(), chart.y_range());
    chart
        .draw_series(std::iter::once(Rectangle::new([(x.start, y.start), (x.end, y.end)], style::NEUTRAL)))
        .map_err(plot_error)?;
    Ok(())
}

/// Tick label of a log₁₀ axis: the value 10^v, "1e-6" style for whole powers far from 1,
/// otherwise the plain number (e.g. "0.05", "200").
pub(crate) fn pow10_tick(v: f64) -> String {
    let k = v.round();
    if (v - k).abs() < 1e-9 && k.abs() >= 3.0 { format!("1e{}", k as i64) } else { tick(10f64.powf(v)) }
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

/// A themed 2-D chart like [`chart2d`], with log₁₀ tick labels where asked.
pub(crate) fn log_chart<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    axes: &LogAxes<'_>,
) -> Result<Chart2d<'a, DB>> {
    let mut chart = build(area, axes.caption, axes.x.clone(), axes.y.clone(), 84)?;
    let (xl, yl) = (axes.x_log, axes.y_log);
    // Tick positions like 1.7e-18 are 0 up to rounding: snap them.
    let (xe, ye) = (1e-9 * (axes.x.end - axes.x.start).abs(), 1e-9 * (axes.y.end - axes.y.start).abs());
    let xf = move |v: &f64| if xl { pow10_tick(*v) } else { tick(if v.abs() < xe { 0.0 } else { *v }) };
    let yf = move |v: &f64| if yl { pow10_tick(*v) } else { tick(if v.abs() < ye { 0.0 } else { *v }) };
    mesh(&mut chart, axes.x_desc, axes.y_desc, 8, &xf, &yf)?;
    Ok(chart)
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
    fn ticks_are_short() {
        assert_eq!(tick(0.5), "0.5");
        assert_eq!(tick(0.125), "0.125");
        assert_eq!(tick(2.0), "2");
        assert_eq!(tick(-0.0), "0");
        assert_eq!(tick(12.25), "12.2");
        assert_eq!(tick(250.0), "250");
        assert_eq!(tick(1e-5), "1.0e-5");
        assert_eq!(pow10_tick(-6.0), "1e-6");
        assert_eq!(pow10_tick(2.0), "100");
        assert_eq!(pow10_tick((0.05f64).log10()), "0.05");
    }
}
