//! Adam's moments m, v and their bias-corrected forms m̂, v̂ for a few weights
//! during a real training run.

use crate::axes::{self, LogAxes};
use crate::checks;
use crate::error::{AnnError, Result};
use crate::experiments::{AdamMomentsRun, WeightMoments};
use crate::figure::{Draw, Figure, plot_error};
use crate::legend::{self, Swatch};
use crate::paths;
use crate::range;
use crate::style;
use crate::text;
use plotters::coord::Shift;
use plotters::prelude::*;

/// Adam's state for the tracked weights of an
/// [`adam_moments`](fn@crate::experiments::adam_moments) run, one row per weight:
///
/// - left: the gradient g_t, the first moment m_t = β1 m_{t−1} + (1 − β1) g_t and its
///   bias-corrected form m̂_t = m_t / (1 − β1^t) (m starts near 0, m̂ does not);
/// - middle (log scale): g_t², v_t = β2 v_{t−1} + (1 − β2) g_t² and v̂_t = v_t / (1 − β2^t);
/// - right: the step taken, α m̂_t / (√v̂_t + ε) (w ← w − step), which stays within
///   about ±α whatever the gradient's scale.
///
/// The figure writes m̂, v̂ as "m hat", "v hat": the text renderer places a combining
/// circumflex beside its letter, not over it.
///
/// An empty `title` gives a default one. Errors: no weights, empty or non-finite records.
pub fn adam_moment_traces(run: &AdamMomentsRun, title: &str) -> Result<Figure> {
    if run.weights.is_empty() {
        return Err(AnnError::EmptyInput("no tracked weights to plot".into()).into());
    }
    for w in &run.weights {
        if w.grad.is_empty() {
            return Err(AnnError::EmptyInput(format!("no steps recorded for {}", w.index.label())).into());
        }
        let all = w.grad.iter().chain(&w.m).chain(&w.v).chain(&w.m_hat).chain(&w.v_hat).chain(&w.update);
        checks::check_finite(all, &w.index.label())?;
    }
    let (lr, b1, b2, _) = run.hyper;
    let title = if title.is_empty() {
        format!(
            "Adam's moments of {} weights during training (α = {lr}, β1 = {b1}, β2 = {b2})",
            run.weights.len()
        )
    } else {
        title.to_string()
    };
    let height = 50 + LEGEND + 300 * run.weights.len() as u32;
    Figure::from_drawing(1000, height, &title, &Moments { run, title: &title })
}

/// Height of the legends above the three columns, in pixels.
const LEGEND: u32 = 86;

struct Moments<'a> {
    run: &'a AdamMomentsRun,
    title: &'a str,
}

fn steps(values: &[f64]) -> Vec<(f64, f64)> {
    values.iter().enumerate().map(|(t, &v)| ((t + 1) as f64, v)).collect()
}

impl Moments<'_> {
    fn first<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>, w: &WeightMoments) -> Result<()> {
        let n = w.grad.len() as f64;
        let (lo, hi) =
            range::finite_range(w.grad.iter().chain(&w.m).chain(&w.m_hat).copied()).unwrap_or((-1.0, 1.0));
        let caption = format!("{}: first moment", w.index.label());
        let mut chart = axes::log_chart(
            area,
            &LogAxes {
                caption: &caption,
                x: 0.0..n + 1.0,
                y: range::padded((lo, hi), 0.05),
                x_desc: "step t",
                y_desc: "∂J/∂w",
                x_log: false,
                y_log: false,
            },
        )?;
        let g = style::NEUTRAL.mix(0.45).stroke_width(1);
        chart.draw_series(paths::segments(&steps(&w.grad), g)).map_err(plot_error)?;
        let m = style::series_color(1).stroke_width(2);
        chart.draw_series(DashedLineSeries::new(steps(&w.m), 7, 5, m)).map_err(plot_error)?;
        let mh = style::series_color(0).stroke_width(2);
        chart.draw_series(LineSeries::new(steps(&w.m_hat), mh)).map_err(plot_error)?;
        Ok(())
    }

    fn second<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>, w: &WeightMoments) -> Result<()> {
        let n = w.grad.len() as f64;
        let g2: Vec<f64> = w.grad.iter().map(|g| g * g).collect();
        let g2_pts = axes::log_points(steps(&g2));
        let v_pts = axes::log_points(steps(&w.v));
        let vh_pts = axes::log_points(steps(&w.v_hat));
        let (lo, hi) = range::finite_range(g2_pts.iter().chain(&v_pts).chain(&vh_pts).map(|p| p.1))
            .unwrap_or((-1.0, 0.0));
        // Squared gradients can touch 0: show at most 8 decades below the largest value.
        let lo = lo.max(hi - 8.0);
        let caption = format!("{}: second moment", w.index.label());
        let mut chart = axes::log_chart(
            area,
            &LogAxes {
                caption: &caption,
                x: 0.0..n + 1.0,
                y: range::padded((lo, hi), 0.05),
                x_desc: "step t",
                y_desc: "(∂J/∂w)²",
                x_log: false,
                y_log: true,
            },
        )?;
        let y0 = lo - 0.05 * (hi - lo);
        let clip = |p: &[(f64, f64)]| p.iter().map(|&(x, y)| (x, y.max(y0))).collect::<Vec<_>>();
        let g = style::NEUTRAL.mix(0.45).stroke_width(1);
        chart.draw_series(paths::segments(&clip(&g2_pts), g)).map_err(plot_error)?;
        let v = style::series_color(1).stroke_width(2);
        chart.draw_series(DashedLineSeries::new(clip(&v_pts), 7, 5, v)).map_err(plot_error)?;
        let vh = style::series_color(0).stroke_width(2);
        chart.draw_series(LineSeries::new(clip(&vh_pts), vh)).map_err(plot_error)?;
        Ok(())
    }

    fn update<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>, w: &WeightMoments) -> Result<()> {
        let n = w.grad.len() as f64;
        let lr = self.run.hyper.0;
        let (lo, hi) = range::finite_range(w.update.iter().copied()).unwrap_or((-lr, lr));
        let (lo, hi) = (lo.min(-1.1 * lr), hi.max(1.1 * lr));
        let caption = format!("{}: step", w.index.label());
        let mut chart = axes::log_chart(
            area,
            &LogAxes {
                caption: &caption,
                x: 0.0..n + 1.0,
                y: range::padded((lo, hi), 0.05),
                x_desc: "step t",
                y_desc: "step",
                x_log: false,
                y_log: false,
            },
        )?;
        let bound = style::NEUTRAL.stroke_width(1);
        for b in [lr, -lr] {
            chart
                .draw_series(DashedLineSeries::new(vec![(0.0, b), (n + 1.0, b)], 6, 6, bound))
                .map_err(plot_error)?;
        }
        let u = style::series_color(2).stroke_width(2);
        chart.draw_series(LineSeries::new(steps(&w.update), u)).map_err(plot_error)?;
        Ok(())
    }
}

impl Draw for Moments<'_> {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        let body = text::titled(area, self.title)?;
        let (legends, body) = body.split_vertically(LEGEND);
        let g = style::NEUTRAL.mix(0.45).stroke_width(1);
        let (m, mh) = (style::series_color(1).stroke_width(2), style::series_color(0).stroke_width(2));
        let columns = [
            vec![
                ("gradient g_t".to_string(), Swatch::Line(g)),
                ("m_t (uncorrected)".to_string(), Swatch::Dashed(m)),
                ("m hat_t = m_t / (1 − β1^t)".to_string(), Swatch::Line(mh)),
            ],
            vec![
                ("g_t²".to_string(), Swatch::Line(g)),
                ("v_t (uncorrected)".to_string(), Swatch::Dashed(m)),
                ("v hat_t = v_t / (1 − β2^t)".to_string(), Swatch::Line(mh)),
            ],
            vec![
                (
                    "step α·m hat / (√v hat + ε)".to_string(),
                    Swatch::Line(style::series_color(2).stroke_width(2)),
                ),
                ("±α".to_string(), Swatch::Dashed(style::NEUTRAL.stroke_width(1))),
            ],
        ];
        for (strip, entries) in legends.split_evenly((1, 3)).iter().zip(&columns) {
            legend::legend_strip(strip, entries, 1, 60)?;
        }
        let rows = self.run.weights.len();
        let cells = body.split_evenly((rows, 3));
        for (r, w) in self.run.weights.iter().enumerate() {
            self.first(&cells[3 * r], w)?;
            self.second(&cells[3 * r + 1], w)?;
            self.update(&cells[3 * r + 2], w)?;
        }
        Ok(())
    }
}
