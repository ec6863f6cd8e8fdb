//! Learning curves from a [`History`]: loss and accuracy per epoch, train and validation,
//! with the per-step mini-batch loss as a faint line.

use crate::axes::{self, Axes};
use crate::checks;
use crate::error::{AnnError, Result};
use crate::figure::{Draw, Figure, plot_error};
use crate::legend::{self, Swatch};
use crate::range;
use crate::style;
use crate::text;
use ann_core::{History, Loss};
use plotters::coord::Shift;
use plotters::prelude::*;

/// Loss (left) and accuracy (right) curves of a training run.
///
/// The epoch-end values J and accuracy of epoch index k (0 for the first) are drawn at x = k + 1, after
/// the epoch's steps; the mini-batch loss J{t} of global step t sits at
/// x = t / steps_per_epoch, so step and epoch values share the "epoch" axis. The loss axis
/// reaches at most twice the largest epoch value; larger J{t} (the first steps under a big
/// L2 penalty, say) are drawn on its top edge rather than squash the curves. Validation
/// curves appear when the history has them; the best epoch of early stopping is marked.
/// A regression history (no accuracy) gives the loss panel alone. `loss` names the y axis;
/// an empty `title` gives a default one.
///
/// A run with L2 (a non-empty [`History::l2_penalty`]) has its two terms drawn apart: the
/// epoch curves are the data term J − (λ/2N) Σ‖W[l]‖² of each set, and the L2 term itself
/// (the same for both sets) is its own line; the axis and the legend say which is which. The
/// per-step J{t} stays the whole mini-batch cost, data and L2 term.
///
/// Errors: an empty history, or a NaN/infinite value in it.
pub fn training_curves(history: &History, loss: Loss, title: &str) -> Result<Figure> {
    if history.train_loss.is_empty() {
        return Err(AnnError::EmptyInput("the history has no completed epoch to plot".into()).into());
    }
    for (series, name) in [
        (&history.train_loss, "train_loss"),
        (&history.val_loss, "val_loss"),
        (&history.train_accuracy, "train_accuracy"),
        (&history.val_accuracy, "val_accuracy"),
        (&history.step_loss, "step_loss"),
        (&history.l2_penalty, "l2_penalty"),
    ] {
        checks::check_finite(series.iter(), &format!("History::{name}"))?;
    }
    let title = if title.is_empty() {
        format!("Training curves ({} epochs)", history.epochs())
    } else {
        title.to_string()
    };
    if !history.l2_penalty.is_empty() && history.l2_penalty.len() != history.train_loss.len() {
        return Err(AnnError::ShapeMismatch {
            context: "History::l2_penalty (one entry per epoch)".into(),
            expected: format!("{} entries", history.train_loss.len()),
            got: format!("{} entries", history.l2_penalty.len()),
        }
        .into());
    }
    let has_acc = !history.train_accuracy.is_empty() || !history.val_accuracy.is_empty();
    let size = if has_acc { (style::COLUMN_WIDTH, 480) } else { style::DEFAULT_SIZE };
    let drawing = Curves { h: history, loss, title: &title, has_acc };
    Figure::from_drawing(size.0, size.1, &title, &drawing)
}

struct Curves<'a> {
    h: &'a History,
    loss: Loss,
    title: &'a str,
    has_acc: bool,
}

/// Epoch curves longer than this are drawn without markers (they would merge).
const MAX_MARKERS: usize = 60;

/// Epoch-end points at x = e + 1.
fn epoch_points(values: &[f64]) -> Vec<(f64, f64)> {
    values.iter().enumerate().map(|(e, &v)| ((e + 1) as f64, v)).collect()
}

impl Curves<'_> {
    /// The L2 term per epoch, when the run had one.
    fn penalty(&self) -> Option<&[f64]> {
        let p = &self.h.l2_penalty;
        (!p.is_empty() && p.iter().any(|&v| v != 0.0)).then_some(p.as_slice())
    }

    /// An epoch curve as drawn: the data term J − L2 term when the run had L2.
    fn data_term(&self, loss: &[f64]) -> Vec<f64> {
        match self.penalty() {
            Some(p) => loss.iter().zip(p).map(|(j, p)| j - p).collect(),
            None => loss.to_vec(),
        }
    }

    fn x_max(&self) -> f64 {
        let h = self.h;
        let epochs = [h.train_loss.len(), h.val_loss.len(), h.train_accuracy.len(), h.val_accuracy.len()];
        let e = epochs.into_iter().max().unwrap_or(1) as f64;
        let steps =
            if h.steps_per_epoch > 0 { h.step_loss.len() as f64 / h.steps_per_epoch as f64 } else { 0.0 };
        e.max(steps)
    }

    /// Epoch-end line with markers (markers only while they stay readable).
    fn epoch_series<'c, DB: DrawingBackend + 'c>(
        chart: &mut axes::Chart2d<'c, DB>,
        values: &[f64],
        color: RGBColor,
    ) -> Result<()> {
        if values.is_empty() {
            return Ok(());
        }
        let pts = epoch_points(values);
        let line = color.stroke_width(3);
        chart.draw_series(LineSeries::new(pts.clone(), line)).map_err(plot_error)?;
        let marker = if pts.len() <= MAX_MARKERS { 4 } else { 0 };
        if marker > 0 {
            chart
                .draw_series(pts.iter().map(|&p| Circle::new(p, marker, color.filled())))
                .map_err(plot_error)?;
        }
        Ok(())
    }

    fn best_epoch_marker<'c, DB: DrawingBackend + 'c>(
        &self,
        chart: &mut axes::Chart2d<'c, DB>,
    ) -> Result<()> {
        if let Some(best) = self.h.best_epoch {
            let x = (best + 1) as f64;
            let yr = chart.y_range();
            let style = style::NEUTRAL.stroke_width(2);
            chart
                .draw_series(DashedLineSeries::new(vec![(x, yr.start), (x, yr.end)], 8, 6, style))
                .map_err(plot_error)?;
        }
        Ok(())
    }

    /// Legend entry of the best-epoch marker, if there is one.
    fn best_entry(&self) -> Option<(String, Swatch)> {
        self.h.best_epoch.map(|b| {
            (format!("best epoch ({}), restored", b + 1), Swatch::Dashed(style::NEUTRAL.stroke_width(2)))
        })
    }

    /// Whether the per-step losses are drawn.
    fn steps_shown(&self) -> bool {
        self.h.steps_per_epoch > 0 && !self.h.step_loss.is_empty()
    }

    /// (lo, hi) of the loss axis, and whether step losses lie above it. The range reaches
    /// at most twice the epoch curves' largest value: larger J{t} (the first steps under a
    /// big L2 penalty, say) would squash the curves; they are drawn on the top edge.
    fn loss_range(&self) -> ((f64, f64), bool) {
        let h = self.h;
        let (train, val) = (self.data_term(&h.train_loss), self.data_term(&h.val_loss));
        let penalty = self.penalty().unwrap_or(&[]);
        let epoch_range = range::finite_range(train.iter().chain(&val).chain(penalty).copied());
        let step_range =
            if self.steps_shown() { range::finite_range(h.step_loss.iter().copied()) } else { None };
        let (lo, hi) = match (epoch_range, step_range) {
            (Some((lo, hi)), Some((slo, shi))) => (lo.min(slo), shi.clamp(hi, hi + hi.abs())),
            (Some(r), None) | (None, Some(r)) => r,
            (None, None) => (0.0, 1.0),
        };
        ((lo, hi), step_range.is_some_and(|(_, shi)| shi > hi))
    }

    fn step_range_clipped(&self) -> bool {
        self.loss_range().1
    }

    fn loss_panel<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        let h = self.h;
        let steps_ok = self.steps_shown();
        let ((lo, hi), _) = self.loss_range();
        let y =
            if lo >= 0.0 { 0.0..range::padded((0.0, hi), 0.05).end } else { range::padded((lo, hi), 0.05) };
        let x = 0.0..self.x_max() * 1.02;
        let y_desc = match self.penalty() {
            Some(_) => format!("{} and L2 term", self.loss.name()),
            None => format!("loss J ({})", self.loss.name()),
        };
        let top = y.end;
        let mut chart = axes::chart2d(area, &Axes::new("Loss", x, y, "epoch", &y_desc))?;
        if steps_ok {
            let spe = h.steps_per_epoch as f64;
            let faint = style::series_color(0).mix(0.35).stroke_width(1);
            chart
                .draw_series(LineSeries::new(
                    h.step_loss.iter().enumerate().map(|(t, &v)| (t as f64 / spe, v.min(top))),
                    faint,
                ))
                .map_err(plot_error)?;
        }
        Self::epoch_series(&mut chart, &self.data_term(&h.train_loss), style::series_color(0))?;
        Self::epoch_series(&mut chart, &self.data_term(&h.val_loss), style::series_color(1))?;
        if let Some(p) = self.penalty() {
            Self::epoch_series(&mut chart, p, style::series_color(2))?;
        }
        self.best_epoch_marker(&mut chart)?;
        Ok(())
    }

    fn accuracy_panel<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        let h = self.h;
        let (lo, _) = range::finite_range(h.train_accuracy.iter().chain(&h.val_accuracy).copied())
            .unwrap_or((0.0, 1.0));
        // Accuracy lives in [0, 1]: show from a little below the worst value up to 1.
        let bottom = ((lo - 0.05) * 20.0).floor() / 20.0;
        let y = bottom.clamp(0.0, 0.95)..1.005;
        let x = 0.0..self.x_max() * 1.02;
        let mut chart =
            axes::chart2d(area, &Axes::new("Accuracy", x, y, "epoch", "accuracy (fraction correct)"))?;
        Self::epoch_series(&mut chart, &h.train_accuracy, style::series_color(0))?;
        Self::epoch_series(&mut chart, &h.val_accuracy, style::series_color(1))?;
        self.best_epoch_marker(&mut chart)?;
        Ok(())
    }
}

impl Draw for Curves<'_> {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        let body = text::titled(area, self.title)?;
        // One legend above the panels (same colours in both), not over the curves.
        let h = self.h;
        let mut entries = Vec::new();
        let has = |a: &[f64], b: &[f64]| !a.is_empty() || (self.has_acc && !b.is_empty());
        let l2 = self.penalty().is_some();
        for (i, name, present) in [
            (
                0,
                if l2 { "train (end of epoch; loss: data term)" } else { "train (end of epoch)" },
                has(&h.train_loss, &h.train_accuracy),
            ),
            (
                1,
                if l2 { "validation (loss: data term)" } else { "validation" },
                has(&h.val_loss, &h.val_accuracy),
            ),
            (2, "L2 term (λ/2N) Σ‖W[l]‖², both sets", l2),
        ] {
            if present {
                let line = style::series_color(i).stroke_width(3);
                let swatch =
                    if h.epochs() <= MAX_MARKERS { Swatch::LineDot(line) } else { Swatch::Line(line) };
                entries.push((name.to_string(), swatch));
            }
        }
        if self.steps_shown() {
            let faint = style::series_color(0).mix(0.35).stroke_width(1);
            let clipped = if self.step_range_clipped() { "; clipped" } else { "" };
            let what = if l2 { "data + L2 term, " } else { "" };
            entries.push((format!("mini-batch loss J{{t}} ({what}per step{clipped})"), Swatch::Line(faint)));
        }
        entries.extend(self.best_entry());
        let per_row = if self.has_acc { 3 } else { 2 };
        let (key, body) = body.split_vertically(legend::legend_height(&body, &entries, per_row, 92) + 4);
        legend::legend_strip(&key, &entries, per_row, 92)?;
        if self.has_acc {
            let panels = body.split_evenly((1, 2));
            self.loss_panel(&panels[0])?;
            self.accuracy_panel(&panels[1])?;
        } else {
            self.loss_panel(&body)?;
        }
        Ok(())
    }
}
