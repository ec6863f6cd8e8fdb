//! Legends: the series legend inside a chart, and legends drawn outside the charts (strips,
//! rows and centred keys) for figures whose panels share one legend.

use crate::axes::Chart2d;
use crate::error::Result;
use crate::figure::plot_error;
use crate::style;
use crate::text::text;
use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

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
    /// A filled triangle (the second kind of data point).
    Triangle(RGBColor),
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
        Swatch::Triangle(c) => area.draw(&TriangleMarker::new((x + 15, y), 7, c.filled())),
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

/// A number for a legend: plain with 2 decimals in [0.01, 1000), else scientific.
pub(crate) fn short_number(v: f64) -> String {
    if v.is_finite() && v != 0.0 && !(0.01..1000.0).contains(&v.abs()) {
        format!("{v:.1e}")
    } else {
        format!("{v:.2}")
    }
}

/// A centred row of legend entries (a disc, or a line if `line`, then the label), drawn
/// once for all panels of a figure instead of a legend box inside each chart.
pub(crate) fn key_row<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    items: &[(String, RGBColor)],
    line: bool,
) -> Result<()> {
    let font = text(style::LEGEND_SIZE);
    let (width, height) = area.dim_in_pixel();
    let (marker, gap) = (if line { 30 } else { 14 }, 34);
    let mut sizes = Vec::with_capacity(items.len());
    for (label, _) in items {
        sizes.push(area.estimate_text_size(label, &font).map_err(plot_error)?.0 as i32);
    }
    let total: i32 =
        sizes.iter().map(|w| marker + 8 + w).sum::<i32>() + gap * (items.len() as i32 - 1).max(0);
    let mut x = ((width as i32 - total) / 2).max(4);
    let y = height as i32 / 2;
    for ((label, color), w) in items.iter().zip(sizes) {
        if line {
            area.draw(&PathElement::new(vec![(x, y), (x + marker, y)], color.stroke_width(3)))
                .map_err(plot_error)?;
        } else {
            area.draw(&Circle::new((x + marker / 2, y), 6, color.mix(0.8).filled())).map_err(plot_error)?;
        }
        let pos = Pos::new(HPos::Left, VPos::Center);
        area.draw(&Text::new(label.clone(), (x + marker + 8, y), font.pos(pos))).map_err(plot_error)?;
        x += marker + 8 + w + gap;
    }
    Ok(())
}
