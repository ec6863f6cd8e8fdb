//! Weights and the size of their updates over the iterations.

use crate::axes::{self, LogAxes};
use crate::checks;
use crate::error::{AnnError, Result};
use crate::experiments::WeightUpdates;
use crate::figure::{Draw, Figure, plot_error};
use crate::legend::{self, Swatch};
use crate::paths;
use crate::range;
use crate::style;
use crate::text;
use plotters::coord::Shift;
use plotters::prelude::*;

/// The rule-of-thumb healthy update/weight ratio (CS231n's "about 1e-3"), drawn as a
/// reference line.
const HEALTHY_RATIO: f64 = 1e-3;

/// A [`weight_updates`](fn@crate::experiments::weight_updates) run. Left: the tracked weights
/// W[l]_{ij} at every step (t = 0 is the initialization), dashed for one layer, solid for
/// the next, and so on, coloured per weight. Right: the relative update
/// ‖W[l]_t − W[l]_{t−1}‖ / ‖W[l]_{t−1}‖ of every layer at every step (log scale) against
/// the rule-of-thumb 10⁻³. An empty `title` gives a default one.
///
/// Errors: no tracked weights or no steps, non-finite values.
pub fn weight_update_traces(result: &WeightUpdates, title: &str) -> Result<Figure> {
    if result.trajectories.is_empty() || result.update_ratio.is_empty() {
        return Err(AnnError::EmptyInput("no weights or layers to plot".into()).into());
    }
    if result.step_loss.is_empty() {
        return Err(AnnError::EmptyInput("no training steps recorded".into()).into());
    }
    if result.weights.len() != result.trajectories.len() {
        return Err(AnnError::ShapeMismatch {
            context: "one trajectory per tracked weight".into(),
            expected: format!("{} trajectories", result.weights.len()),
            got: format!("{} trajectories", result.trajectories.len()),
        }
        .into());
    }
    for t in &result.trajectories {
        checks::check_finite(t.iter(), "weight trajectory")?;
    }
    let title = if title.is_empty() {
        format!("Weights and their updates over {} steps of {}", result.step_loss.len(), result.optimizer)
    } else {
        title.to_string()
    };
    Figure::from_drawing(1000, 600, &title, &Updates { r: result, title: &title })
}

struct Updates<'a> {
    r: &'a WeightUpdates,
    title: &'a str,
}

impl Draw for Updates<'_> {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        let body = text::titled(area, self.title)?;
        // Legends above the panels, not over the curves.
        let (legends, body) = body.split_vertically(3 * 26 + 8);
        let legends = legends.split_evenly((1, 2));
        let panels = body.split_evenly((1, 2));
        let steps = self.r.step_loss.len() as f64;
        let spe = self.r.steps_per_epoch;

        let (lo, hi) =
            range::finite_range(self.r.trajectories.iter().flatten().copied()).unwrap_or((-1.0, 1.0));
        let mut chart = axes::log_chart(
            &panels[0],
            &LogAxes {
                caption: "Individual weights",
                x: 0.0..steps,
                y: range::padded((lo, hi), 0.05),
                x_desc: "step t",
                y_desc: "weight value",
                x_log: false,
                y_log: false,
            },
        )?;
        let mut weights = Vec::new();
        for (k, (w, traj)) in self.r.weights.iter().zip(&self.r.trajectories).enumerate() {
            let color = style::series_color(k);
            let line = color.stroke_width(2);
            let pts: Vec<(f64, f64)> = traj.iter().enumerate().map(|(t, &v)| (t as f64, v)).collect();
            if w.layer % 2 == 0 {
                chart.draw_series(DashedLineSeries::new(pts, 8, 5, line)).map_err(plot_error)?;
                weights.push((w.label(), Swatch::Dashed(line)));
            } else {
                chart.draw_series(LineSeries::new(pts, line)).map_err(plot_error)?;
                weights.push((w.label(), Swatch::Line(line)));
            }
        }
        legend::legend_strip(&legends[0], &weights, 2, 96)?;

        let series: Vec<Vec<(f64, f64)>> = self
            .r
            .update_ratio
            .iter()
            .map(|r| axes::log_points(r.iter().enumerate().map(|(t, &v)| ((t + 1) as f64, v))))
            .collect();
        let (lo, hi) =
            range::finite_range(series.iter().flatten().map(|p| p.1).chain([HEALTHY_RATIO.log10()]))
                .unwrap_or((-4.0, -1.0));
        let caption = format!("Relative update per layer ({spe} steps/epoch)");
        let mut chart = axes::log_chart(
            &panels[1],
            &LogAxes {
                caption: &caption,
                x: 0.0..steps + 1.0,
                y: range::padded((lo, hi), 0.05),
                x_desc: "step t",
                y_desc: "‖ΔW[l]‖ / ‖W[l]‖ (log scale)",
                x_log: false,
                y_log: true,
            },
        )?;
        let mut layers = Vec::new();
        for (i, pts) in series.iter().enumerate() {
            let color = style::series_color(i);
            let mean =
                self.r.update_ratio[i].iter().sum::<f64>() / self.r.update_ratio[i].len().max(1) as f64;
            chart.draw_series(paths::segments(pts, color.stroke_width(1))).map_err(plot_error)?;
            layers
                .push((format!("layer {} (mean {:.1e})", i + 1, mean), Swatch::Line(color.stroke_width(3))));
        }
        let reference = style::INK.stroke_width(2);
        let y = HEALTHY_RATIO.log10();
        chart
            .draw_series(DashedLineSeries::new(vec![(0.0, y), (steps + 1.0, y)], 10, 6, reference))
            .map_err(plot_error)?;
        layers.push(("rule of thumb 1e-3".to_string(), Swatch::Dashed(reference)));
        legend::legend_strip(&legends[1], &layers, 2, 96)
    }
}
