//! Paths over a chart: parameter paths (with a halo, start and end), polylines drawn as
//! separate segments, and crosses marking a point.

use crate::axes::Chart2d;
use crate::error::Result;
use crate::figure::plot_error;
use crate::style;
use plotters::prelude::*;

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
