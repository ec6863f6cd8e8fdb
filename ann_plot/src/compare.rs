//! Several training runs on one chart: loss and accuracy per epoch, one colour per run
//! (e.g. the same network trained on unscaled and on standardized features).

use crate::axes::{self, Axes};
use crate::checks;
use crate::error::{AnnError, Result};
use crate::figure::{Draw, Figure, plot_error};
use crate::legend;
use crate::range;
use crate::style;
use crate::text;
use ann_core::{History, Loss};
use plotters::coord::Shift;
use plotters::prelude::*;

/// Most runs [`compare_runs`] draws: one palette colour each, without the palette's black.
pub const MAX_RUNS: usize = 7;

/// Loss (left) and accuracy (right) per epoch of several runs, one colour per run: the
/// training loss J after each epoch as a solid line, the validation loss (if the history
/// has one) dashed; the validation accuracy if recorded, otherwise the training accuracy.
/// Epoch e (0-based) is drawn at x = e + 1. `runs` pairs a legend label with a
/// [`History`]; `loss` names the y axis. An empty `title` gives a default one.
///
/// Errors: no runs or more than [`MAX_RUNS`], a history without a completed epoch, or a
/// NaN/infinite value in one.
pub fn compare_runs(runs: &[(&str, &History)], loss: Loss, title: &str) -> Result<Figure> {
    if runs.is_empty() {
        return Err(AnnError::EmptyInput("no runs to compare".into()).into());
    }
    if runs.len() > MAX_RUNS {
        return Err(AnnError::InvalidArchitecture(format!(
            "{} runs: at most {MAX_RUNS} fit in one comparison",
            runs.len()
        ))
        .into());
    }
    for (label, h) in runs {
        if h.train_loss.is_empty() {
            return Err(AnnError::EmptyInput(format!("run \"{label}\" has no completed epoch")).into());
        }
        for series in [&h.train_loss, &h.val_loss, &h.train_accuracy, &h.val_accuracy] {
            checks::check_finite(series.iter(), &format!("history of run \"{label}\""))?;
        }
    }
    let title = if title.is_empty() { format!("{} training runs", runs.len()) } else { title.to_string() };
    Figure::from_drawing(style::COLUMN_WIDTH, 480, &title, &Compare { runs, loss, title: &title })
}

struct Compare<'a> {
    runs: &'a [(&'a str, &'a History)],
    loss: Loss,
    title: &'a str,
}

fn points(values: &[f64]) -> Vec<(f64, f64)> {
    values.iter().enumerate().map(|(e, &v)| ((e + 1) as f64, v)).collect()
}

impl Compare<'_> {
    fn x_range(&self) -> std::ops::Range<f64> {
        let epochs = self.runs.iter().map(|(_, h)| h.epochs()).max().unwrap_or(1);
        0.0..epochs as f64 * 1.02 + 0.1
    }

    /// The accuracy series of a run: validation if recorded, else training.
    fn accuracy(h: &History) -> (&[f64], &'static str) {
        if h.val_accuracy.is_empty() { (&h.train_accuracy, "train") } else { (&h.val_accuracy, "validation") }
    }

    fn loss_panel<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        let all = self.runs.iter().flat_map(|(_, h)| h.train_loss.iter().chain(&h.val_loss));
        let (_, hi) = range::finite_range(all.copied()).unwrap_or((0.0, 1.0));
        let y = 0.0..range::padded((0.0, hi.max(1e-12)), 0.05).end;
        let y_desc = format!("loss J ({})", self.loss.name());
        let mut chart = axes::chart2d(
            area,
            &Axes::new("Loss (solid: train, dashed: validation)", self.x_range(), y, "epoch", &y_desc),
        )?;
        for (i, (_, h)) in self.runs.iter().enumerate() {
            let color = style::series_color(i);
            let line = color.stroke_width(3);
            chart.draw_series(LineSeries::new(points(&h.train_loss), line)).map_err(plot_error)?;
            if !h.val_loss.is_empty() {
                chart
                    .draw_series(DashedLineSeries::new(points(&h.val_loss), 8, 5, color.stroke_width(2)))
                    .map_err(plot_error)?;
            }
        }
        Ok(())
    }

    fn accuracy_panel<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        let all = self.runs.iter().flat_map(|(_, h)| Self::accuracy(h).0.iter());
        let Some((lo, _)) = range::finite_range(all.copied()) else {
            return Ok(());
        };
        let bottom = (((lo - 0.05) * 20.0).floor() / 20.0).clamp(0.0, 0.95);
        let which = if self.runs.iter().all(|(_, h)| !h.val_accuracy.is_empty()) {
            "validation accuracy"
        } else {
            "accuracy (validation if recorded, else train)"
        };
        let mut chart =
            axes::chart2d(area, &Axes::new("Accuracy", self.x_range(), bottom..1.005, "epoch", which))?;
        for (i, (_, h)) in self.runs.iter().enumerate() {
            let (acc, _) = Self::accuracy(h);
            if acc.is_empty() {
                continue;
            }
            let color = style::series_color(i);
            let line = color.stroke_width(3);
            let pts = points(acc);
            chart.draw_series(LineSeries::new(pts.clone(), line)).map_err(plot_error)?;
            if pts.len() <= 60 {
                chart
                    .draw_series(pts.iter().map(|&p| Circle::new(p, 4, color.filled())))
                    .map_err(plot_error)?;
            }
        }
        Ok(())
    }
}

impl Draw for Compare<'_> {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        let body = text::titled(area, self.title)?;
        // One key for both panels, under the title, so no legend box hides a curve.
        let (key, body) = body.split_vertically(36);
        let items: Vec<(String, RGBColor)> = self
            .runs
            .iter()
            .enumerate()
            .map(|(i, (label, _))| (label.to_string(), style::series_color(i)))
            .collect();
        legend::key_row(&key, &items, true)?;
        let panels = body.split_evenly((1, 2));
        self.loss_panel(&panels[0])?;
        self.accuracy_panel(&panels[1])
    }
}
