//! Colour bars beside a chart, and the colour scale of activations they explain.

use crate::axes::{Chart2d, frame, tick};
use crate::error::Result;
use crate::figure::plot_error;
use crate::range::{finite_range, padded};
use crate::raster::raster;
use crate::style;
use crate::text::text;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::ops::Range;

/// Width of a colour bar, in pixels.
const BAR_WIDTH: i32 = 28;

/// "Nice" tick values (steps of 1, 2 or 5 × 10^k) inside [lo, hi], about `n` of them.
pub(crate) fn nice_ticks(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    let span = hi - lo;
    if !(span.is_finite() && span > 0.0) || n == 0 {
        return if lo.is_finite() { vec![lo] } else { Vec::new() };
    }
    let raw = span / n as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * mag).find(|&s| s >= raw).unwrap_or(10.0 * mag);
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    (first..=last).map(|k| k as f64 * step).map(|v| if v.abs() < step * 1e-9 { 0.0 } else { v }).collect()
}

/// A vertical colour bar showing `color(v)` for v in [lo, hi], drawn in `strip`: the bar
/// spans the pixel rows `rows` (absolute backend coordinates, e.g. the main chart's
/// plotting area), with tick labels on its right and `label` along the strip's right edge
/// (reading upwards). Text is placed by hand: plotters' right-axis labels are not aligned
/// the same way by the bitmap and SVG backends.
pub(crate) fn colorbar<DB: DrawingBackend>(
    strip: &DrawingArea<DB, Shift>,
    rows: Range<i32>,
    color: impl Fn(f64) -> RGBColor,
    range: (f64, f64),
    label: &str,
) -> Result<()> {
    colorbar_with(strip, rows, color, range, label, tick)
}

/// [`colorbar`] with the tick labels written by `fmt` (e.g. 10^v for a bar of log₁₀ values).
pub(crate) fn colorbar_with<DB: DrawingBackend>(
    strip: &DrawingArea<DB, Shift>,
    rows: Range<i32>,
    color: impl Fn(f64) -> RGBColor,
    (lo, hi): (f64, f64),
    label: &str,
    fmt: impl Fn(f64) -> String,
) -> Result<()> {
    let base = strip.get_base_pixel();
    let (sw, sh) = strip.dim_in_pixel();
    let (sw, sh) = (sw as i32, sh as i32);
    let top = (rows.start - base.1).clamp(0, sh);
    let bottom = (base.1 + sh - rows.end).clamp(0, sh - top);
    let left = 10;
    let bar = strip.margin(top, bottom, left, (sw - left - BAR_WIDTH).max(0));
    let y = padded((lo, hi), 0.0);
    let mut chart = ChartBuilder::on(&bar).build_cartesian_2d(0.0..1.0, y.clone()).map_err(plot_error)?;
    raster(&mut chart, |_, v| color(v))?;
    frame(&mut chart)?;
    let tick_style = text(style::TICK_LABEL_SIZE).pos(Pos::new(HPos::Left, VPos::Center));
    for v in nice_ticks(y.start, y.end, 5) {
        let (px, py) = chart.backend_coord(&(1.0, v));
        let (px, py) = (px - base.0, py - base.1);
        strip.draw(&PathElement::new(vec![(px, py), (px + 5, py)], style::NEUTRAL)).map_err(plot_error)?;
        strip.draw_text(&fmt(v), &tick_style, (px + 8, py)).map_err(plot_error)?;
    }
    let mid = (top + (sh - bottom)) / 2;
    let label_style = text(style::AXIS_LABEL_SIZE)
        .transform(FontTransform::Rotate270)
        .pos(Pos::new(HPos::Center, VPos::Top));
    strip.draw_text(label, &label_style, (sw - 30, mid)).map_err(plot_error)?;
    Ok(())
}

/// The pixel rows of a chart's plotting area (for a colour bar beside it).
pub(crate) fn plot_rows<DB: DrawingBackend>(chart: &Chart2d<'_, DB>) -> Range<i32> {
    let area = chart.plotting_area();
    let (_, y0) = area.get_base_pixel();
    let (_, h) = area.dim_in_pixel();
    y0..y0 + h as i32
}

/// Colour scale for activations: Viridis on [0, max] when every value is ≥ 0 (ReLU,
/// sigmoid), otherwise the diverging map on [−M, M], M = max |value| (tanh), so 0 is
/// white. Returns (colormap, lo, hi).
pub(crate) fn activation_scale(values: impl IntoIterator<Item = f64>) -> (style::Colormap, f64, f64) {
    let (lo, hi) = finite_range(values).unwrap_or((0.0, 1.0));
    if lo >= 0.0 {
        (style::Colormap::Viridis, 0.0, if hi > 0.0 { hi } else { 1.0 })
    } else {
        let m = lo.abs().max(hi.abs());
        (style::Colormap::Diverging, -m, m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_ticks_cover_the_range() {
        let t = nice_ticks(0.0, 1.0, 5);
        assert_eq!(t.len(), 6);
        assert!(t.iter().zip([0.0, 0.2, 0.4, 0.6, 0.8, 1.0]).all(|(a, b)| (a - b).abs() < 1e-12), "{t:?}");
        assert_eq!(nice_ticks(-3.0, 3.0, 5), vec![-2.0, 0.0, 2.0]);
        assert_eq!(nice_ticks(1.0, 1.0, 5), vec![1.0]);
        assert!(nice_ticks(f64::NAN, 1.0, 5).is_empty());
    }
}
