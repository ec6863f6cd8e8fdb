//! The learning rate: too small, good, too large (diverging).

use crate::common;
use crate::error::{AnnError, Result};
use crate::experiments::LrSweep;
use crate::figure::{Draw, Figure, plot_error};
use crate::landscape::{self, LogAxes};
use crate::style;
use plotters::coord::Shift;
use plotters::prelude::*;

/// Training curves of a [`learning_rate_sweep`](crate::experiments::learning_rate_sweep)
/// (plain SGD, same initial weights and batches, one curve per α).
///
/// Left: J on the training set after each epoch, log scale, zoomed on the useful range
/// (up to 10× the initial loss): a diverging run leaves through the top and is marked ✕
/// with the step at which its loss stopped being finite. Right: the mini-batch loss J{t}
/// of every step on a log scale wide enough to show the divergence in full (the loss
/// grows by hundreds of orders of magnitude before it overflows). An empty `title` gives
/// a default one.
///
/// Errors: no curves, a curve without any step.
pub fn learning_rate_curves(result: &LrSweep, title: &str) -> Result<Figure> {
    if result.curves.is_empty() {
        return Err(AnnError::EmptyInput("no learning-rate curves to plot".into()).into());
    }
    if let Some(c) = result.curves.iter().find(|c| c.step_loss.is_empty()) {
        return Err(AnnError::EmptyInput(format!("α = {} recorded no step", c.learning_rate)).into());
    }
    common::check_finite([result.initial_loss].iter(), "initial loss")?;
    let title = if title.is_empty() {
        format!("Learning rate α of plain SGD on {}", result.problem.describe())
    } else {
        title.to_string()
    };
    Figure::from_drawing(1450, 600, &title, &Sweep { r: result, title: &title })
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
                format!("α = {}: diverged at step {} (epoch {})", c.learning_rate, d.step, d.epoch + 1)
            }
            None => format!(
                "α = {}: final J = {:.3}",
                c.learning_rate,
                c.epoch_loss.last().copied().unwrap_or(f64::NAN)
            ),
        }
    }
}

impl Draw for Sweep<'_> {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        let body = common::titled(area, self.title)?;
        let panels = body.split_evenly((1, 2));
        let curves = &self.r.curves;
        let init = self.r.initial_loss;
        let spe = self.r.steps_per_epoch.max(1) as f64;
        let epochs = curves.iter().map(|c| c.epoch_loss.len()).max().unwrap_or(1).max(1) as f64;
        let epochs =
            epochs.max(curves.iter().map(|c| c.step_loss.len() as f64 / spe).fold(0.0, f64::max)).ceil();

        // Left: epoch losses, zoomed.
        let series: Vec<Vec<(f64, f64)>> = curves
            .iter()
            .map(|c| {
                landscape::log_points(
                    std::iter::once((0.0, init))
                        .chain(c.epoch_loss.iter().enumerate().map(|(e, &v)| ((e + 1) as f64, v))),
                )
            })
            .collect();
        let top = (10.0 * init).log10();
        let lo = series.iter().flatten().map(|p| p.1).fold(init.log10(), f64::min);
        let y = (lo - 0.05 * (top - lo))..top;
        let mut chart = landscape::chart(
            &panels[0],
            &LogAxes {
                caption: "Loss on the training set after each epoch",
                x: 0.0..epochs + 0.5,
                y: y.clone(),
                x_desc: "epoch",
                y_desc: "J (log scale)",
                x_log: false,
                y_log: true,
            },
        )?;
        for (i, (c, pts)) in curves.iter().zip(&series).enumerate() {
            let color = style::series_color(i);
            let line = color.stroke_width(3);
            // Keep the part below the top; end a run that leaves the range at the top edge.
            let mut shown: Vec<(f64, f64)> = Vec::new();
            let mut exit = None;
            for w in pts.windows(2) {
                if shown.is_empty() {
                    shown.push(w[0]);
                }
                if w[1].1 <= top {
                    shown.push(w[1]);
                } else {
                    exit = Some(cross_top(w[0], w[1], top));
                    break;
                }
            }
            if c.diverged.is_some() && exit.is_none() {
                // Diverged within an epoch: the next epoch's loss is infinite.
                if let Some(&last) = shown.last() {
                    exit = Some((last.0 + 1.0, top));
                }
            }
            if let Some(e) = exit {
                shown.push(e);
            }
            chart
                .draw_series(LineSeries::new(shown.clone(), line))
                .map_err(plot_error)?
                .label(self.label(i))
                .legend(landscape::line_legend(line));
            if let (Some(e), Some(_)) = (exit, c.diverged) {
                chart
                    .draw_series(std::iter::once(
                        EmptyElement::at(e)
                            + Cross::new((0, 0), 10, style::BACKGROUND.stroke_width(6))
                            + Cross::new((0, 0), 9, color.stroke_width(3)),
                    ))
                    .map_err(plot_error)?;
            }
        }
        common::legend(&mut chart, SeriesLabelPosition::UpperRight)?;

        // Right: every step, full range.
        let steps = curves.iter().map(|c| c.step_loss.len()).max().unwrap_or(1) as f64;
        let series: Vec<Vec<(f64, f64)>> = curves
            .iter()
            .map(|c| landscape::log_points(c.step_loss.iter().enumerate().map(|(t, &v)| ((t + 1) as f64, v))))
            .collect();
        let (lo, hi) = common::finite_range(series.iter().flatten().map(|p| p.1)).unwrap_or((-1.0, 0.0));
        let mut chart = landscape::chart(
            &panels[1],
            &LogAxes {
                caption: "Mini-batch loss J{t} of every step (full range)",
                x: 0.0..steps.max(epochs * spe) + 1.0,
                y: common::padded((lo, hi), 0.04),
                x_desc: "step t",
                y_desc: "J{t} (log scale)",
                x_log: false,
                y_log: true,
            },
        )?;
        for (i, (c, pts)) in curves.iter().zip(&series).enumerate() {
            let color = style::series_color(i);
            chart
                .draw_series(landscape::segments(pts, color.stroke_width(2)))
                .map_err(plot_error)?
                .label(format!("α = {}", c.learning_rate))
                .legend(landscape::line_legend(color.stroke_width(3)));
            if let (Some(_), Some(&last)) = (c.diverged, pts.last()) {
                chart
                    .draw_series(std::iter::once(
                        EmptyElement::at(last)
                            + Cross::new((0, 0), 10, style::BACKGROUND.stroke_width(6))
                            + Cross::new((0, 0), 9, color.stroke_width(3))
                            + Text::new("overflow", (-70, -8), common::text(style::LEGEND_SIZE)),
                    ))
                    .map_err(plot_error)?;
            }
        }
        common::legend(&mut chart, SeriesLabelPosition::UpperLeft)
    }
}
