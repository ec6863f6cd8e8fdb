//! Learning-rate decay: the α each epoch of a real run used (as `fit` recorded it in
//! [`History::learning_rates`]) next to that run's training loss.

use crate::axes::{self, Axes};
use crate::checks;
use crate::error::{AnnError, Result};
use crate::figure::{Draw, Figure, plot_error};
use crate::legend;
use crate::range;
use crate::style;
use crate::text;
use ann_core::History;
use plotters::coord::Shift;
use plotters::prelude::*;

/// Learning-rate schedules compared on real runs: one `(label, history)` per run.
///
/// Left panel: α_k against the epoch, drawn as a staircase (epoch index k, 0 for the first
/// epoch, trains with α_k over x ∈ [k, k + 1]), from [`History::learning_rates`] — the rates
/// `fit` actually set, e.g. for [`LrSchedule::Step`](ann_core::LrSchedule::Step)
/// α₀ · factor^⌊k / every⌋ and for [`LrSchedule::Exponential`](ann_core::LrSchedule::Exponential)
/// α₀ · exp(−rate · k). Right panel: J on the training set at the end of each epoch (x = k + 1, as in
/// [`training_curves`](crate::training_curves)). An empty `title` gives a default one.
///
/// Errors: no runs, a run with no completed epoch or no recorded learning rate, or a
/// NaN/infinite value.
pub fn learning_rate_schedules(runs: &[(&str, &History)], title: &str) -> Result<Figure> {
    if runs.is_empty() {
        return Err(AnnError::EmptyInput("no runs to compare".into()).into());
    }
    for (label, h) in runs {
        if h.learning_rates.is_empty() || h.train_loss.is_empty() {
            return Err(AnnError::EmptyInput(format!(
                "run \"{label}\" has no completed epoch (learning_rates and train_loss are empty)"
            ))
            .into());
        }
        checks::check_finite(h.learning_rates.iter(), &format!("learning_rates of run \"{label}\""))?;
        checks::check_finite(h.train_loss.iter(), &format!("train_loss of run \"{label}\""))?;
    }
    let title = if title.is_empty() { "Learning-rate schedules".to_string() } else { title.to_string() };
    let drawing = Schedules { runs, title: &title };
    Figure::from_drawing(style::COLUMN_WIDTH, 480, &title, &drawing)
}

/// Space above the highest value, as a fraction of the range: the legend sits there, so it
/// never hides a curve.
const HEADROOM: f64 = 0.4;

struct Schedules<'a> {
    runs: &'a [(&'a str, &'a History)],
    title: &'a str,
}

impl Schedules<'_> {
    fn x_max(&self) -> f64 {
        let e = self.runs.iter().map(|(_, h)| h.learning_rates.len().max(h.train_loss.len())).max();
        e.unwrap_or(1) as f64
    }

    fn rate_panel<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        let all = self.runs.iter().flat_map(|(_, h)| h.learning_rates.iter().copied());
        let (_, hi) = range::finite_range(all).unwrap_or((0.0, 1.0));
        let y = 0.0..range::padded((0.0, hi), HEADROOM).end;
        let x = 0.0..self.x_max() * 1.02;
        let mut chart = axes::chart2d(area, &Axes::new("Learning rate α per epoch", x, y, "epoch", "α"))?;
        for (i, (label, h)) in self.runs.iter().enumerate() {
            let color = style::series_color(i);
            let line = color.stroke_width(3);
            let stairs: Vec<(f64, f64)> = h
                .learning_rates
                .iter()
                .enumerate()
                .flat_map(|(e, &a)| [(e as f64, a), ((e + 1) as f64, a)])
                .collect();
            chart
                .draw_series(LineSeries::new(stairs, line))
                .map_err(plot_error)?
                .label(*label)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], line));
        }
        legend::legend(&mut chart, SeriesLabelPosition::UpperRight)
    }

    fn loss_panel<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        let all = self.runs.iter().flat_map(|(_, h)| h.train_loss.iter().copied());
        let (lo, hi) = range::finite_range(all).unwrap_or((0.0, 1.0));
        let y = if lo >= 0.0 {
            0.0..range::padded((0.0, hi), HEADROOM).end
        } else {
            range::padded((lo, hi), HEADROOM)
        };
        let x = 0.0..self.x_max() * 1.02;
        let mut chart =
            axes::chart2d(area, &Axes::new("Training loss (end of epoch)", x, y, "epoch", "loss J"))?;
        for (i, (label, h)) in self.runs.iter().enumerate() {
            let color = style::series_color(i);
            let line = color.stroke_width(3);
            let pts: Vec<(f64, f64)> =
                h.train_loss.iter().enumerate().map(|(e, &v)| ((e + 1) as f64, v)).collect();
            chart
                .draw_series(LineSeries::new(pts.clone(), line))
                .map_err(plot_error)?
                .label(*label)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], line));
            if pts.len() <= 60 {
                chart
                    .draw_series(pts.iter().map(|&p| Circle::new(p, 3, color.filled())))
                    .map_err(plot_error)?;
            }
        }
        legend::legend(&mut chart, SeriesLabelPosition::UpperRight)
    }
}

impl Draw for Schedules<'_> {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        let body = text::titled(area, self.title)?;
        let panels = body.split_evenly((1, 2));
        self.rate_panel(&panels[0])?;
        self.loss_panel(&panels[1])
    }
}
