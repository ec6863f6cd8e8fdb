//! Building blocks shared by the figure functions: text styles, titled areas, themed 2-D
//! charts, rasters (probability maps, heatmaps) embedded as one bitmap, colour bars,
//! robust axis ranges and input checks.

use crate::error::{AnnError, PlotError, Result, shape_str};
use crate::figure::plot_error;
use crate::style;
use ndarray::{Array2, ArrayView2};
use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::ops::Range;

/// A 2-D chart on f64 axes.
pub(crate) type Chart2d<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// Theme text of `size` px in the ink colour.
pub(crate) fn text(size: u32) -> TextStyle<'static> {
    (style::FONT, f64::from(size)).into_font().color(&style::INK)
}

/// Bold theme text.
pub(crate) fn bold(size: u32) -> TextStyle<'static> {
    (style::FONT, f64::from(size), FontStyle::Bold).into_font().color(&style::INK)
}

/// Draws the figure title at the top of `area`; returns the area below it.
pub(crate) fn titled<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
) -> Result<DrawingArea<DB, Shift>> {
    // A long title shrinks (down to the tick-label size) rather than run off the edges.
    let (w, _) = area.dim_in_pixel();
    let mut size = style::TITLE_SIZE;
    while size > style::TICK_LABEL_SIZE
        && area.estimate_text_size(title, &bold(size)).map_or(0, |(tw, _)| tw) + 20 > w
    {
        size -= 1;
    }
    area.margin(10, 0, 0, 0).titled(title, bold(size)).map_err(plot_error)
}

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

/// Fails with [`AnnError::NonFinite`] if any value is NaN or infinite.
pub(crate) fn check_finite<'a>(values: impl IntoIterator<Item = &'a f64>, what: &str) -> Result<()> {
    Ok(ann_core::error::check_finite(values, what)?)
}

/// Checks a 2-D input set X (2, m): non-empty, finite, one label per column.
pub(crate) fn check_points(x: ArrayView2<f64>, labels: &[usize], what: &str) -> Result<()> {
    if x.ncols() == 0 {
        return Err(AnnError::EmptyInput(format!("{what}: X has shape {}", shape_str(x.shape()))).into());
    }
    if x.nrows() != 2 {
        return Err(AnnError::ShapeMismatch {
            context: format!("{what}: this figure draws 2-D inputs"),
            expected: "(2, m)".into(),
            got: shape_str(x.shape()),
        }
        .into());
    }
    check_labels(x.ncols(), labels, what)?;
    check_finite(x.iter(), &format!("{what}: X"))
}

/// Checks that there is one label per example.
pub(crate) fn check_labels(m: usize, labels: &[usize], what: &str) -> Result<()> {
    if labels.len() != m {
        return Err(AnnError::ShapeMismatch {
            context: format!("{what}: one class label per column of X"),
            expected: format!("{m} labels"),
            got: format!("{} labels", labels.len()),
        }
        .into());
    }
    Ok(())
}

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
    let mut builder = ChartBuilder::on(area);
    builder.margin(12).margin_right(24).x_label_area_size(62).y_label_area_size(axes.y_label_area);
    if !axes.caption.is_empty() {
        builder.caption(axes.caption, text(style::PANEL_TITLE_SIZE));
    }
    let mut chart = builder.build_cartesian_2d(axes.x.clone(), axes.y.clone()).map_err(plot_error)?;
    mesh(&mut chart, axes.x_desc, axes.y_desc, true)?;
    Ok(chart)
}

/// Draws axes, tick labels and (if `grid`) major grid lines in the theme.
pub(crate) fn mesh<'c, DB: DrawingBackend + 'c>(
    chart: &mut Chart2d<'c, DB>,
    x_desc: &str,
    y_desc: &str,
    grid: bool,
) -> Result<()> {
    let fmt = |v: &f64| tick(*v);
    let mut mesh = chart.configure_mesh();
    mesh.x_desc(x_desc)
        .y_desc(y_desc)
        .axis_desc_style(text(style::AXIS_LABEL_SIZE))
        .label_style(text(style::TICK_LABEL_SIZE))
        .axis_style(style::NEUTRAL)
        .bold_line_style(style::GRID)
        .max_light_lines(0)
        .x_labels(7)
        .y_labels(7)
        .x_label_formatter(&fmt)
        .y_label_formatter(&fmt);
    if !grid {
        mesh.disable_mesh();
    }
    mesh.draw().map_err(plot_error)
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

/// Draws the series legend in the theme at `pos`.
pub(crate) fn legend<'c, DB: DrawingBackend + 'c>(
    chart: &mut Chart2d<'c, DB>,
    pos: SeriesLabelPosition,
) -> Result<()> {
    chart
        .configure_series_labels()
        .position(pos)
        .label_font(text(style::LEGEND_SIZE))
        .background_style(style::BACKGROUND.mix(0.88))
        .border_style(style::GRID)
        .margin(10)
        .draw()
        .map_err(plot_error)
}

/// A legend entry drawn as dashes in `s`, for a dashed series (a solid swatch would stand
/// for a line style the chart does not show).
pub(crate) fn dashed_legend(
    s: ShapeStyle,
) -> impl Fn((i32, i32)) -> DashedPathElement<std::vec::IntoIter<(i32, i32)>, i32> {
    move |(x, y)| DashedPathElement::new(vec![(x, y), (x + 26, y)], 6, 4, s)
}

/// How a legend entry drawn outside a chart shows its series.
#[derive(Clone, Copy)]
pub(crate) enum Swatch {
    /// A solid line.
    Line(ShapeStyle),
    /// A dashed line.
    Dashed(ShapeStyle),
    /// A solid line with a dot (epoch curves with markers).
    LineDot(ShapeStyle),
    /// A filled dot (data points).
    Dot(RGBColor),
    /// A black-and-white cross (a marked point: a minimum, θ*).
    Cross,
}

/// Draws `swatch` from (x, y) to (x + 30, y) on `area` (pixel coordinates of the area).
fn draw_swatch<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    swatch: Swatch,
    (x, y): (i32, i32),
) -> Result<()> {
    match swatch {
        Swatch::Line(s) => area.draw(&PathElement::new(vec![(x, y), (x + 30, y)], s)),
        Swatch::Dashed(s) => area.draw(&DashedPathElement::new(vec![(x, y), (x + 30, y)], 7, 4, s)),
        Swatch::LineDot(s) => {
            area.draw(&PathElement::new(vec![(x, y), (x + 30, y)], s)).map_err(plot_error)?;
            area.draw(&Circle::new((x + 15, y), 4, s.color.filled()))
        }
        Swatch::Dot(c) => area.draw(&Circle::new((x + 15, y), 4, c.filled())),
        Swatch::Cross => area.draw(&Cross::new((x + 15, y), 7, style::INK.stroke_width(3))),
    }
    .map_err(plot_error)
}

/// Where each entry of a [`legend_strip`] goes: (x, row), filling a row left to right from
/// `left` (at most `per_row` entries, and only as many as fit the width) before the next.
fn legend_layout<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    entries: &[(String, Swatch)],
    per_row: usize,
    left: i32,
) -> Vec<(i32, i32)> {
    let (w, _) = area.dim_in_pixel();
    let font = text(style::LEGEND_SIZE);
    let (mut x, mut row, mut in_row) = (left, 0, 0);
    let mut out = Vec::with_capacity(entries.len());
    for (label, _) in entries {
        let tw = area.estimate_text_size(label, &font).map_or(8 * label.len() as u32, |(tw, _)| tw) as i32;
        let need = 38 + tw;
        if in_row > 0 && (in_row >= per_row.max(1) || x + need > w as i32 - 8) {
            (x, row, in_row) = (left, row + 1, 0);
        }
        out.push((x, row));
        x += need + 30;
        in_row += 1;
    }
    out
}

/// Height in pixels of the [`legend_strip`] of `entries` on an area as wide as `area`.
pub(crate) fn legend_height<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    entries: &[(String, Swatch)],
    per_row: usize,
    left: i32,
) -> u32 {
    let rows = legend_layout(area, entries, per_row, left).last().map_or(0, |&(_, r)| r + 1);
    rows as u32 * 26 + 4
}

/// A legend outside the charts: rows of entries (swatch, then text) across `area` from
/// `left`, at most `per_row` to a row, each row 26 px high (size the area with
/// [`legend_height`]).
pub(crate) fn legend_strip<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    entries: &[(String, Swatch)],
    per_row: usize,
    left: i32,
) -> Result<()> {
    let font = text(style::LEGEND_SIZE).pos(Pos::new(HPos::Left, VPos::Center));
    for ((label, swatch), (x, row)) in entries.iter().zip(legend_layout(area, entries, per_row, left)) {
        let y = 13 + row * 26;
        draw_swatch(area, *swatch, (x, y))?;
        area.draw_text(label, &font, (x + 38, y)).map_err(plot_error)?;
    }
    Ok(())
}

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

/// A thin frame around the plotting area (over rasters' edges).
pub(crate) fn frame<'c, DB: DrawingBackend + 'c>(chart: &mut Chart2d<'c, DB>) -> Result<()> {
    let (x, y) = (chart.x_range(), chart.y_range());
    chart
        .draw_series(std::iter::once(Rectangle::new([(x.start, y.start), (x.end, y.end)], style::NEUTRAL)))
        .map_err(plot_error)?;
    Ok(())
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

/// Values of a function of the input plane sampled on an nx × ny grid over
/// `x` × `y`: `values[[k, j * nx + i]]` is output k at grid point (i, j); read back
/// with bilinear interpolation.
pub(crate) struct Grid {
    x: Range<f64>,
    y: Range<f64>,
    nx: usize,
    ny: usize,
    values: Array2<f64>,
}

impl Grid {
    /// Evaluates `f` on the grid points, passed as one (2, nx·ny) batch in course layout;
    /// `f` returns (k, nx·ny).
    pub(crate) fn eval(
        x: Range<f64>,
        y: Range<f64>,
        n: usize,
        f: impl FnOnce(ArrayView2<f64>) -> Result<Array2<f64>>,
    ) -> Result<Grid> {
        let (nx, ny) = (n.max(2), n.max(2));
        let pts = Array2::from_shape_fn((2, nx * ny), |(r, c)| {
            let (i, j) = (c % nx, c / nx);
            if r == 0 {
                x.start + (x.end - x.start) * i as f64 / (nx - 1) as f64
            } else {
                y.start + (y.end - y.start) * j as f64 / (ny - 1) as f64
            }
        });
        let values = f(pts.view())?;
        if values.ncols() != nx * ny {
            return Err(PlotError::Draw(format!(
                "grid function returned {} columns, expected {}",
                values.ncols(),
                nx * ny
            )));
        }
        Ok(Grid { x, y, nx, ny, values })
    }

    /// Number of outputs k.
    pub(crate) fn outputs(&self) -> usize {
        self.values.nrows()
    }

    /// All sampled values of output k.
    pub(crate) fn row(&self, k: usize) -> ndarray::ArrayView1<'_, f64> {
        self.values.row(k)
    }

    /// The x range covered.
    pub(crate) fn x_range(&self) -> Range<f64> {
        self.x.clone()
    }

    /// The y range covered.
    pub(crate) fn y_range(&self) -> Range<f64> {
        self.y.clone()
    }

    /// Output k at grid node n = j·nx + i.
    pub(crate) fn node(&self, k: usize, n: usize) -> f64 {
        self.values[[k, n]]
    }

    /// Marching squares: the curves where `f(node)` crosses 0, as polylines in data
    /// coordinates (segments of neighbouring cells joined, so a boundary is a few long
    /// lines, not thousands of pieces).
    pub(crate) fn contour(&self, f: impl Fn(usize) -> f64) -> Vec<Vec<(f64, f64)>> {
        let (nx, ny) = (self.nx, self.ny);
        let vals: Vec<f64> = (0..nx * ny).map(f).collect();
        // A crossing is identified by its grid edge: (vertical?, i, j) is the edge from node
        // (i, j) to (i + 1, j) (horizontal) or to (i, j + 1) (vertical).
        type Edge = (bool, usize, usize);
        let point = |(vertical, i, j): Edge| -> Option<(f64, f64)> {
            let (i2, j2) = if vertical { (i, j + 1) } else { (i + 1, j) };
            let (a, b) = (vals[j * nx + i], vals[j2 * nx + i2]);
            if (a < 0.0) == (b < 0.0) || !a.is_finite() || !b.is_finite() {
                return None;
            }
            let t = a / (a - b);
            let gx = i as f64 + t * (i2 as f64 - i as f64);
            let gy = j as f64 + t * (j2 as f64 - j as f64);
            Some((
                self.x.start + (self.x.end - self.x.start) * gx / (nx - 1) as f64,
                self.y.start + (self.y.end - self.y.start) * gy / (ny - 1) as f64,
            ))
        };
        let mut segments: Vec<[Edge; 2]> = Vec::new();
        for j in 0..ny - 1 {
            for i in 0..nx - 1 {
                // The cell's edges in order around it: bottom, right, top, left.
                let edges = [(false, i, j), (true, i + 1, j), (false, i, j + 1), (true, i, j)];
                let hits: Vec<Edge> = edges.into_iter().filter(|&e| point(e).is_some()).collect();
                for pair in hits.chunks_exact(2) {
                    segments.push([pair[0], pair[1]]);
                }
            }
        }
        // Join segments that share a crossing into polylines (each crossing lies on one
        // edge shared by at most two cells, so it ends at most two segments).
        let mut at: std::collections::HashMap<Edge, Vec<usize>> = std::collections::HashMap::new();
        for (k, seg) in segments.iter().enumerate() {
            for &e in seg {
                at.entry(e).or_default().push(k);
            }
        }
        let mut used = vec![false; segments.len()];
        let mut lines = Vec::new();
        for start in 0..segments.len() {
            if used[start] {
                continue;
            }
            used[start] = true;
            let mut chain: std::collections::VecDeque<Edge> = segments[start].iter().copied().collect();
            for forward in [true, false] {
                loop {
                    let end = if forward { chain[chain.len() - 1] } else { chain[0] };
                    let next = at.get(&end).and_then(|ks| ks.iter().copied().find(|&k| !used[k]));
                    let Some(k) = next else { break };
                    used[k] = true;
                    let other = if segments[k][0] == end { segments[k][1] } else { segments[k][0] };
                    if forward {
                        chain.push_back(other);
                    } else {
                        chain.push_front(other);
                    }
                }
            }
            lines.push(chain.into_iter().filter_map(point).collect());
        }
        lines
    }

    /// Output k at (x, y), bilinear between grid points (clamped at the edges).
    pub(crate) fn at(&self, k: usize, x: f64, y: f64) -> f64 {
        let fx = ((x - self.x.start) / (self.x.end - self.x.start) * (self.nx - 1) as f64)
            .clamp(0.0, (self.nx - 1) as f64);
        let fy = ((y - self.y.start) / (self.y.end - self.y.start) * (self.ny - 1) as f64)
            .clamp(0.0, (self.ny - 1) as f64);
        let (i, j) = ((fx as usize).min(self.nx - 2), (fy as usize).min(self.ny - 2));
        let (tx, ty) = (fx - i as f64, fy - j as f64);
        let v = |i: usize, j: usize| self.values[[k, j * self.nx + i]];
        let top = v(i, j) * (1.0 - tx) + v(i + 1, j) * tx;
        let bottom = v(i, j + 1) * (1.0 - tx) + v(i + 1, j + 1) * tx;
        top * (1.0 - ty) + bottom * ty
    }
}

/// Draws labelled points coloured by class (filled circle with a white rim), one legend
/// entry per class present.
pub(crate) fn class_points<'c, DB: DrawingBackend + 'c>(
    chart: &mut Chart2d<'c, DB>,
    xs: &[f64],
    ys: &[f64],
    labels: &[usize],
    radius: i32,
    with_legend: bool,
) -> Result<()> {
    let classes: std::collections::BTreeSet<usize> = labels.iter().copied().collect();
    for c in classes {
        let pts: Vec<(f64, f64)> =
            labels.iter().enumerate().filter(|&(_, &l)| l == c).map(|(j, _)| (xs[j], ys[j])).collect();
        let color = style::class_color(c);
        let series = chart
            .draw_series(pts.iter().map(|&p| {
                EmptyElement::at(p)
                    + Circle::new((0, 0), radius + 1, style::BACKGROUND.filled())
                    + Circle::new((0, 0), radius, color.filled())
            }))
            .map_err(plot_error)?;
        if with_legend {
            series
                .label(format!("class {c}"))
                .legend(move |(x, y)| Circle::new((x, y), radius + 1, color.filled()));
        }
    }
    Ok(())
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
    }

    #[test]
    fn ranges_never_collapse() {
        assert_eq!(padded((1.0, 1.0), 0.1), 0.5..1.5);
        assert_eq!(padded((0.0, 10.0), 0.1), -1.0..11.0);
        let r = padded((100.0, 100.0), 0.0);
        assert!(r.end - r.start > 1.0);
        assert_eq!(finite_range([f64::NAN, 2.0, -1.0, f64::INFINITY]), Some((-1.0, 2.0)));
        assert_eq!(finite_range([f64::NAN]), None);
    }

    #[test]
    fn nice_ticks_cover_the_range() {
        let t = nice_ticks(0.0, 1.0, 5);
        assert_eq!(t.len(), 6);
        assert!(t.iter().zip([0.0, 0.2, 0.4, 0.6, 0.8, 1.0]).all(|(a, b)| (a - b).abs() < 1e-12), "{t:?}");
        assert_eq!(nice_ticks(-3.0, 3.0, 5), vec![-2.0, 0.0, 2.0]);
        assert_eq!(nice_ticks(1.0, 1.0, 5), vec![1.0]);
        assert!(nice_ticks(f64::NAN, 1.0, 5).is_empty());
    }

    #[test]
    fn contour_of_a_circle_is_one_closed_line() {
        let g = Grid::eval(-1.0..1.0, -1.0..1.0, 41, |p| {
            Ok(Array2::from_shape_fn((1, p.ncols()), |(_, c)| p[[0, c]].powi(2) + p[[1, c]].powi(2)))
        })
        .unwrap();
        let lines = g.contour(|n| g.node(0, n) - 0.25);
        assert_eq!(lines.len(), 1);
        let line = &lines[0];
        assert!(line.len() > 40);
        assert_eq!(line.first(), line.last());
        assert!(line.iter().all(|(x, y)| (x.hypot(*y) - 0.5).abs() < 0.01));
        assert!(g.contour(|_| 1.0).is_empty());
    }

    #[test]
    fn grid_interpolates_linear_functions_exactly() {
        let g = Grid::eval(0.0..1.0, -1.0..1.0, 11, |p| {
            Ok(Array2::from_shape_fn((1, p.ncols()), |(_, c)| 2.0 * p[[0, c]] + p[[1, c]]))
        })
        .unwrap();
        assert!((g.at(0, 0.33, 0.4) - (0.66 + 0.4)).abs() < 1e-12);
        assert!((g.at(0, 5.0, 5.0) - 3.0).abs() < 1e-12);
    }
}
