//! Data points over a chart: the examples of a 2-D data set, coloured by class.

use crate::axes::Chart2d;
use crate::error::Result;
use crate::figure::plot_error;
use crate::style;
use plotters::prelude::*;

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
