//! Rasters: a chart's plotting area filled pixel by pixel (probability maps, landscapes,
//! heatmaps, images), embedded as one bitmap.

use crate::axes::Chart2d;
use crate::error::{PlotError, Result};
use crate::figure::plot_error;
use plotters::prelude::*;

/// Fills the chart's plotting area pixel by pixel with `color_at(x, y)` (data
/// coordinates of each pixel centre), drawn as one bitmap: an image in the SVG, so a
/// 600 × 500 map costs one `<image>`, not 300 000 rectangles.
pub(crate) fn raster<'c, DB: DrawingBackend + 'c>(
    chart: &mut Chart2d<'c, DB>,
    color_at: impl Fn(f64, f64) -> RGBColor,
) -> Result<()> {
    let (w, h) = chart.plotting_area().dim_in_pixel();
    if w == 0 || h == 0 {
        return Ok(());
    }
    let (xr, yr) = (chart.x_range(), chart.y_range());
    let mut buf = Vec::with_capacity(w as usize * h as usize * 3);
    for j in 0..h {
        let y = yr.end - (f64::from(j) + 0.5) / f64::from(h) * (yr.end - yr.start);
        for i in 0..w {
            let x = xr.start + (f64::from(i) + 0.5) / f64::from(w) * (xr.end - xr.start);
            let c = color_at(x, y);
            buf.extend_from_slice(&[c.0, c.1, c.2]);
        }
    }
    let elem = BitMapElement::with_owned_buffer((xr.start, yr.end), (w, h), buf)
        .ok_or_else(|| PlotError::Draw("raster buffer does not match its size".into()))?;
    chart.draw_series(std::iter::once(elem)).map_err(plot_error)?;
    Ok(())
}
