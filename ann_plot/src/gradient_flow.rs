//! Gradient flow through a deep network: vanishing and exploding gradients
//! for several activation/initialization pairs.

use crate::axes::{self, LogAxes};
use crate::checks;
use crate::error::{AnnError, Result};
use crate::experiments::{FlowCase, GradientFlow, GradientFlowConfig};
use crate::figure::{Draw, Figure, plot_error};
use crate::legend::{self, Swatch};
use crate::range;
use crate::style;
use crate::text;
use plotters::coord::Shift;
use plotters::prelude::*;

/// Per-layer measurements of a [`gradient_flow`](fn@crate::experiments::gradient_flow) run,
/// one line per (activation, initialization) case, all on log scales:
///
/// - left: the forward signal, the standard deviation of A[l] for the hidden layers;
/// - middle: ‖dW[l]‖_F from one backward pass at initialization;
/// - right (if the run trained): ‖dW[l]‖_F averaged over the last training epoch.
///
/// The shared legend below gives each case's ‖dW[1]‖ / ‖dW[L]‖ (≪ 1: the gradient
/// vanishes on its way to the input) and its loss after training (or that it diverged).
///
/// A case keeps its colour from figure to figure: the colour of its activation and
/// initialization in [`GradientFlowConfig::default`]'s list (so "tanh + N(0, 0.01²)" has the
/// same colour in the five-case figure and in the batch-norm comparison). Its batch-norm twin
/// is drawn in the same colour, dashed, with hollow markers.
///
/// An empty `title` gives a default one. Errors: no runs, an empty or non-finite run.
pub fn gradient_norms(result: &GradientFlow, title: &str) -> Result<Figure> {
    if result.runs.is_empty() {
        return Err(AnnError::EmptyInput("no gradient-flow runs to plot".into()).into());
    }
    for r in &result.runs {
        if r.grad_norms.is_empty() {
            return Err(AnnError::EmptyInput(format!("{} has no layer", r.case.label())).into());
        }
        checks::check_finite(r.grad_norms.iter().chain(&r.activation_std), &r.case.label())?;
    }
    let depth = result.sizes.len().saturating_sub(1);
    let width = result.sizes.get(1).copied().unwrap_or(0);
    let title = if title.is_empty() {
        format!(
            "Gradient flow in a {depth}-layer network ({} hidden layers of {width} units) on two moons",
            depth - 1
        )
    } else {
        title.to_string()
    };
    let trained = result.train_epochs > 0;
    let w = style::COLUMN_WIDTH;
    Figure::from_drawing(w, 700, &title, &Flow { r: result, title: &title, trained })
}

struct Flow<'a> {
    r: &'a GradientFlow,
    title: &'a str,
    trained: bool,
}

/// The colour of `case` (and of its batch-norm twin): its position, without batch norm, in the
/// default configuration's cases; a case not in that list takes the colour after them, by
/// its position `i` among the plotted runs.
fn case_color(case: &FlowCase, i: usize) -> RGBColor {
    let base = FlowCase { batch_norm: false, ..*case };
    let known = GradientFlowConfig::default().cases;
    match known.iter().position(|c| *c == base) {
        Some(k) => style::series_color(k),
        None => style::series_color(known.len() + i),
    }
}

/// (l, log₁₀ v) for l = first, first + 1, ...
fn layer_points(values: &[f64], first: usize) -> Vec<(f64, f64)> {
    axes::log_points(values.iter().enumerate().map(|(i, &v)| ((i + first) as f64, v)))
}

impl Flow<'_> {
    fn panel<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        caption: &str,
        y_desc: &str,
        series: &[Vec<(f64, f64)>],
    ) -> Result<()> {
        let runs = &self.r.runs;
        let depth = self.r.sizes.len().saturating_sub(1) as f64;
        let (lo, hi) =
            range::finite_range(series.iter().flat_map(|p| p.iter().map(|q| q.1))).unwrap_or((-1.0, 0.0));
        let mut chart = axes::log_chart(
            area,
            &LogAxes {
                caption,
                x: 0.5..depth + 0.5,
                y: range::padded((lo.floor(), hi.ceil()), 0.03),
                x_desc: "layer l",
                y_desc,
                x_log: false,
                y_log: true,
            },
        )?;
        for (i, (pts, run)) in series.iter().zip(runs).enumerate() {
            let color = case_color(&run.case, i);
            let line = color.stroke_width(3);
            if run.case.batch_norm {
                chart.draw_series(DashedLineSeries::new(pts.clone(), 9, 5, line)).map_err(plot_error)?;
                let ring = color.stroke_width(2);
                chart.draw_series(pts.iter().map(|&p| Circle::new(p, 4, ring))).map_err(plot_error)?;
            } else {
                chart.draw_series(LineSeries::new(pts.clone(), line)).map_err(plot_error)?;
                chart
                    .draw_series(pts.iter().map(|&p| Circle::new(p, 4, color.filled())))
                    .map_err(plot_error)?;
            }
        }
        Ok(())
    }
}

impl Draw for Flow<'_> {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        let body = text::titled(area, self.title)?;
        let runs = &self.r.runs;
        let entries = self.legend_entries();
        let legend_h = 16 + 30 * runs.len() as u32;
        let (_, h) = body.dim_in_pixel();
        let (charts, legend) = body.split_vertically(h.saturating_sub(legend_h));
        let panels = charts.split_evenly((1, if self.trained { 3 } else { 2 }));
        let forward: Vec<_> = runs.iter().map(|r| layer_points(&r.activation_std, 1)).collect();
        self.panel(&panels[0], "Forward: spread of A[l]", "std of A[l] (log scale)", &forward)?;
        let backward: Vec<_> = runs.iter().map(|r| layer_points(&r.grad_norms, 1)).collect();
        self.panel(&panels[1], "Backward: at initialization", "‖dW[l]‖ (log scale)", &backward)?;
        if self.trained {
            let after: Vec<_> = runs
                .iter()
                .map(|r| r.trained_grad_norms.as_ref().map_or(Vec::new(), |g| layer_points(g, 1)))
                .collect();
            let caption = format!("After {} epochs of SGD", self.r.train_epochs);
            self.panel(&panels[2], &caption, "mean ‖dW[l]‖ over the last epoch (log)", &after)?;
        }
        let left = 40;
        let strip = legend.margin(4, 0, 0, 0);
        legend::legend_strip(&strip, &entries, 1, left)
    }
}

impl Flow<'_> {
    /// One legend entry per run: its case, ‖dW[1]‖/‖dW[L]‖ and how training ended; a solid
    /// line with a dot for a plain case, dashes for its batch-norm twin.
    fn legend_entries(&self) -> Vec<(String, Swatch)> {
        self.r
            .runs
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let mut label = format!(
                    "{}: ‖dW[1]‖/‖dW[L]‖ = {}",
                    r.case.label(),
                    legend::short_number(r.first_to_last_ratio())
                );
                if self.trained {
                    match (r.trained_loss, r.diverged) {
                        (_, true) => label.push_str(", training diverged"),
                        (Some(l), false) => label.push_str(&format!(", J = {l:.3} after training")),
                        (None, false) => {}
                    }
                }
                let line = case_color(&r.case, i).stroke_width(3);
                let swatch = if r.case.batch_norm { Swatch::Dashed(line) } else { Swatch::LineDot(line) };
                (label, swatch)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_case_and_its_batch_norm_twin_keep_the_colour_of_the_five_case_figure() {
        let default = GradientFlowConfig::default().cases;
        let comparison = GradientFlowConfig::batch_norm_comparison().cases;
        for (i, case) in comparison.iter().enumerate() {
            let base = FlowCase { batch_norm: false, ..*case };
            let k =
                default.iter().position(|c| *c == base).expect("every failing case is in the default list");
            assert_eq!(case_color(case, i), style::series_color(k), "{}", case.label());
        }
        // Twins share a colour; different cases do not.
        assert_eq!(case_color(&comparison[2], 2), case_color(&comparison[3], 3));
        assert_ne!(case_color(&comparison[0], 0), case_color(&comparison[2], 2));
        // A case outside the default list takes a colour after theirs.
        let other = FlowCase::new(ann_core::Activation::Sigmoid, ann_core::Init::He);
        assert_eq!(case_color(&other, 0), style::series_color(default.len()));
    }
}
