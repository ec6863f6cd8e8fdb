//! The learning rate: too small, good, too large (diverging).

use crate::axes::{self, LogAxes};
use crate::checks;
use crate::error::{AnnError, Result};
use crate::experiments::LrSweep;
use crate::figure::{Draw, Figure, plot_error};
use crate::legend::{self, Swatch};
use crate::paths;
use crate::range;
use crate::style;
use crate::text;
use plotters::coord::Shift;
use plotters::prelude::*;

/// Training curves of a [`learning_rate_sweep`](crate::experiments::learning_rate_sweep)
/// (plain SGD, same initial weights and batches, one curve per α), log scale throughout.
///
/// Top left: J on the training set after each epoch, zoomed on the useful range (up to
/// 10× the initial loss). Top right: the mini-batch loss J{t} of every step, zoomed on the
/// runs that stay finite. A diverging run leaves such a panel through the top; a dotted
/// line along the top edge leads to a ✕ at the epoch (counted from 1) or step where its
/// loss stopped being finite. Bottom: every J{t} on a scale wide enough to show the
/// divergence in full (the loss grows by hundreds of orders of magnitude before it
/// overflows). An empty `title` gives a default one.
///
/// Errors: no curves, a curve without any step.
pub fn learning_rate_curves(result: &LrSweep, title: &str) -> Result<Figure> {
    if result.curves.is_empty() {
        return Err(AnnError::EmptyInput("no learning-rate curves to plot".into()).into());
    }
    if let Some(c) = result.curves.iter().find(|c| c.step_loss.is_empty()) {
        return Err(AnnError::EmptyInput(format!("α = {} recorded no step", c.learning_rate)).into());
    }
    checks::check_finite([result.initial_loss].iter(), "initial loss")?;
    let title = if title.is_empty() {
        format!("Learning rate α of plain SGD on {}", result.problem.describe())
    } else {
        title.to_string()
    };
    Figure::from_drawing(1000, 860, &title, &Sweep { r: result, title: &title })
}

struct Sweep<'a> {
    r: &'a LrSweep,
    title: &'a str,
}

/// The point where the segment a→b crosses y = top (both in chart coordinates).
fn cross_top(a: (f64, f64), b: (f64, f64), top: f64) -> (f64, f64) {
    let t = if b.1 != a.1 { ((top - a.1) / (b.1 - a.1)).clamp(0.0, 1.0) } else { 0.0 };
    (a.0 + t * (b.0 - a.0), top)
}

impl Sweep<'_> {
    fn label(&self, i: usize) -> String {
        let c = &self.r.curves[i];
        match c.diverged {
            Some(d) => {
                format!("α = {}: diverged in epoch {} (step {})", c.learning_rate, d.epoch + 1, d.step + 1)
            }
            None => format!(
                "α = {}: final J = {:.3}",
                c.learning_rate,
                c.epoch_loss.last().copied().unwrap_or(f64::NAN)
            ),
        }
    }
}

/// A point in chart coordinates.
type Point = (f64, f64);

/// The part of `pts` (chart coordinates) below `top`, ending where it first crosses the top
/// edge, and that crossing.
fn below_top(pts: &[(f64, f64)], top: f64) -> (Vec<Point>, Option<Point>) {
    let mut shown: Vec<(f64, f64)> = pts.first().copied().into_iter().collect();
    for w in pts.windows(2) {
        if w[1].1 > top {
            let e = cross_top(w[0], w[1], top);
            shown.push(e);
            return (shown, Some(e));
        }
        shown.push(w[1]);
    }
    (shown, None)
}

/// A run that diverged: a dotted line along the top edge from where it left the chart
/// (`exit`) to `x` (where its loss overflowed), a ✕ there and `label` beside it.
fn mark_divergence<'c, DB: DrawingBackend + 'c>(
    chart: &mut axes::Chart2d<'c, DB>,
    exit: (f64, f64),
    x: f64,
    color: RGBColor,
    label: &str,
) -> Result<()> {
    let top = exit.1;
    chart
        .draw_series(DashedLineSeries::new(vec![exit, (x, top)], 3, 5, color.stroke_width(2)))
        .map_err(plot_error)?;
    let (x0, x1) = (chart.x_range().start, chart.x_range().end);
    // The label goes left of the ✕ when the ✕ is in the right half.
    let right_half = (x - x0) / (x1 - x0) > 0.5;
    let font = text::text(style::TICK_LABEL_SIZE);
    let width = chart.plotting_area().estimate_text_size(label, &font).map_or(0, |(tw, _)| tw as i32);
    let dx = if right_half { -width - 14 } else { 14 };
    chart
        .draw_series(std::iter::once(
            EmptyElement::at((x, top))
                + Cross::new((0, 0), 10, style::BACKGROUND.stroke_width(6))
                + Cross::new((0, 0), 9, color.stroke_width(3))
                + Text::new(label.to_string(), (dx, 8), font),
        ))
        .map_err(plot_error)?;
    Ok(())
}

impl Draw for Sweep<'_> {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        let body = text::titled(area, self.title)?;
        let curves = &self.r.curves;
        let entries: Vec<(String, Swatch)> = (0..curves.len())
            .map(|i| (self.label(i), Swatch::Line(style::series_color(i).stroke_width(3))))
            .collect();
        let (key, body) = body.split_vertically(legend::legend_height(&body, &entries, 2, 96) + 4);
        legend::legend_strip(&key, &entries, 2, 96)?;
        let (_, h) = body.dim_in_pixel();
        let (top_row, bottom) = body.split_vertically(h * 57 / 100);
        let panels = top_row.split_evenly((1, 2));
        let init = self.r.initial_loss;
        let spe = self.r.steps_per_epoch.max(1) as f64;
        let epochs = curves.iter().map(|c| c.epoch_loss.len()).max().unwrap_or(1).max(1) as f64;
        let epochs =
            epochs.max(curves.iter().map(|c| c.step_loss.len() as f64 / spe).fold(0.0, f64::max)).ceil();

        // Top left: epoch losses, zoomed.
        let series: Vec<Vec<(f64, f64)>> = curves
            .iter()
            .map(|c| {
                axes::log_points(
                    std::iter::once((0.0, init))
                        .chain(c.epoch_loss.iter().enumerate().map(|(e, &v)| ((e + 1) as f64, v))),
                )
            })
            .collect();
        let top = (10.0 * init).log10();
        let lo = series.iter().flatten().map(|p| p.1).fold(init.log10(), f64::min);
        let mut chart = axes::log_chart(
            &panels[0],
            &LogAxes {
                caption: "J on the training set after each epoch",
                x: 0.0..epochs + 0.5,
                y: (lo - 0.05 * (top - lo))..top,
                x_desc: "epoch",
                y_desc: "J (log scale)",
                x_log: false,
                y_log: true,
            },
        )?;
        for (i, (c, pts)) in curves.iter().zip(&series).enumerate() {
            let color = style::series_color(i);
            let (shown, exit) = below_top(pts, top);
            let exit = match (exit, c.diverged, shown.last()) {
                (None, Some(_), Some(&last)) => Some((last.0, top)),
                (e, ..) => e,
            };
            chart.draw_series(LineSeries::new(shown, color.stroke_width(3))).map_err(plot_error)?;
            if let (Some(e), Some(d)) = (exit, c.diverged) {
                let epoch = (d.epoch + 1) as f64;
                mark_divergence(&mut chart, e, epoch, color, &format!("overflow in epoch {}", d.epoch + 1))?;
            }
        }

        // Top right: every step, zoomed on the runs that stay finite.
        let steps = curves.iter().map(|c| c.step_loss.len()).max().unwrap_or(1) as f64;
        let x_steps = 0.0..steps.max(epochs * spe) + 1.0;
        let step_series: Vec<Vec<(f64, f64)>> = curves
            .iter()
            .map(|c| axes::log_points(c.step_loss.iter().enumerate().map(|(t, &v)| ((t + 1) as f64, v))))
            .collect();
        let calm = curves.iter().zip(&step_series).filter(|(c, _)| c.diverged.is_none());
        let (clo, chi) = range::finite_range(calm.flat_map(|(_, p)| p.iter().map(|q| q.1)))
            .or_else(|| range::finite_range(step_series.iter().flatten().map(|p| p.1)))
            .unwrap_or((-1.0, 0.0));
        let zoom = range::padded((clo, chi.max(init.log10())), 0.05);
        let mut chart = axes::log_chart(
            &panels[1],
            &LogAxes {
                caption: "J{t} of every step (zoomed)",
                x: x_steps.clone(),
                y: zoom.clone(),
                x_desc: "step t",
                y_desc: "J{t} (log scale)",
                x_log: false,
                y_log: true,
            },
        )?;
        for (i, (c, pts)) in curves.iter().zip(&step_series).enumerate() {
            let color = style::series_color(i);
            let (shown, exit) = below_top(pts, zoom.end);
            chart.draw_series(paths::segments(&shown, color.stroke_width(1))).map_err(plot_error)?;
            if let (Some(e), Some(d)) = (exit, c.diverged) {
                mark_divergence(
                    &mut chart,
                    e,
                    (d.step + 1) as f64,
                    color,
                    &format!("overflow at step {}", d.step + 1),
                )?;
            }
        }

        // Bottom: every step, full range.
        let (lo, hi) = range::finite_range(step_series.iter().flatten().map(|p| p.1)).unwrap_or((-1.0, 0.0));
        let mut chart = axes::log_chart(
            &bottom,
            &LogAxes {
                caption: "J{t} of every step, full range",
                x: x_steps,
                y: range::padded((lo, hi), 0.06),
                x_desc: "step t",
                y_desc: "J{t} (log scale)",
                x_log: false,
                y_log: true,
            },
        )?;
        for (i, (c, pts)) in curves.iter().zip(&step_series).enumerate() {
            let color = style::series_color(i);
            chart.draw_series(paths::segments(pts, color.stroke_width(2))).map_err(plot_error)?;
            if let (Some(d), Some(&last)) = (c.diverged, pts.last()) {
                let label = format!("J{{t}} overflows at step {}", d.step + 1);
                chart
                    .draw_series(std::iter::once(
                        EmptyElement::at(last)
                            + Cross::new((0, 0), 10, style::BACKGROUND.stroke_width(6))
                            + Cross::new((0, 0), 9, color.stroke_width(3))
                            + Text::new(label, (16, -2), text::text(style::TICK_LABEL_SIZE)),
                    ))
                    .map_err(plot_error)?;
            }
        }
        Ok(())
    }
}
