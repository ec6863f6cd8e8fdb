//! Heatmaps of matrices: one cell per entry, counted from 1 on both axes.

use crate::axes::{Chart2d, frame};
use crate::error::{AnnError, Result, shape_str};
use crate::figure::plot_error;
use crate::raster::raster;
use crate::style;
use crate::text::text;
use ndarray::ArrayView2;
use plotters::coord::Shift;
use plotters::prelude::*;

/// Tick label of a matrix axis: cell k (1-based) sits at v = k; `reversed` numbers rows
/// from the top. Non-integer ticks stay blank.
fn cell_tick(v: f64, n: usize, reversed: bool) -> String {
    let k = v.round();
    if (v - k).abs() > 1e-9 || k < 1.0 || k > n as f64 {
        String::new()
    } else if reversed {
        format!("{}", n as i64 + 1 - k as i64)
    } else {
        format!("{}", k as i64)
    }
}

/// A heatmap of `values` (rows × cols): row 1 at the top, column 1 at the left, cell
/// (r, c) coloured `color(values[[r, c]])`; axes count cells from 1. Cell k of an axis
/// is centred at coordinate k. Drawn as one bitmap.
pub(crate) fn heatmap<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    caption: &str,
    values: ArrayView2<'_, f64>,
    color: impl Fn(f64) -> RGBColor,
    x_desc: &str,
    y_desc: &str,
) -> Result<Chart2d<'a, DB>> {
    let (rows, cols) = values.dim();
    if rows == 0 || cols == 0 {
        return Err(AnnError::EmptyInput(format!("heatmap of shape {}", shape_str(&[rows, cols]))).into());
    }
    let mut builder = ChartBuilder::on(area);
    builder.margin(12).margin_right(20).x_label_area_size(58).y_label_area_size(70);
    if !caption.is_empty() {
        builder.caption(caption, text(style::PANEL_TITLE_SIZE));
    }
    let mut chart =
        builder.build_cartesian_2d(0.5..cols as f64 + 0.5, 0.5..rows as f64 + 0.5).map_err(plot_error)?;
    let xf = |v: &f64| cell_tick(*v, cols, false);
    let yf = |v: &f64| cell_tick(*v, rows, true);
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .axis_desc_style(text(style::AXIS_LABEL_SIZE))
        .label_style(text(style::TICK_LABEL_SIZE))
        .axis_style(style::NEUTRAL)
        .x_labels(cols.min(10))
        .y_labels(rows.min(12))
        .x_label_formatter(&xf)
        .y_label_formatter(&yf)
        .draw()
        .map_err(plot_error)?;
    raster(&mut chart, |x, y| {
        let c = ((x.round() as i64) - 1).clamp(0, cols as i64 - 1) as usize;
        let r = (rows as i64 - y.round() as i64).clamp(0, rows as i64 - 1) as usize;
        color(values[[r, c]])
    })?;
    frame(&mut chart)?;
    Ok(chart)
}
