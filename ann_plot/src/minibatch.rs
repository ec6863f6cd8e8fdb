//! Batch vs mini-batch vs stochastic gradient descent: loss curves, and the
//! (w, b) paths of a 1-unit linear model over its loss contours.

use crate::axes::{self, Axes};
use crate::checks;
use crate::colorbar;
use crate::error::{AnnError, Result};
use crate::experiments::{MiniBatchCurves, MiniBatchPaths};
use crate::figure::{Draw, Figure, plot_error};
use crate::landscape;
use crate::legend::{self, Swatch};
use crate::paths;
use crate::range;
use crate::style;
use crate::text;
use plotters::coord::Shift;
use plotters::prelude::*;

/// How many steps the right panel of [`batch_size_curves`] shows: the start, where the
/// batch sizes differ most.
const FIRST_STEPS: usize = 100;

/// Loss curves of the same network trained with different batch sizes (plain SGD, same α,
/// same initial weights), from [`minibatch_curves`](crate::experiments::minibatch_curves).
///
/// Left: J on the whole training set after every step, against epochs (passes over the
/// data), so every run has seen the same examples at the same x. Right: the mini-batch
/// loss J{t} the optimizer actually sees over the first 100 steps: smooth for batch
/// gradient descent, noisy for small batches. An empty `title` gives a default one.
///
/// Errors: no curves, an empty or non-finite curve.
pub fn batch_size_curves(result: &MiniBatchCurves, title: &str) -> Result<Figure> {
    if result.curves.is_empty() {
        return Err(AnnError::EmptyInput("no batch-size curves to plot".into()).into());
    }
    for c in &result.curves {
        if c.full_loss.is_empty() || c.step_loss.is_empty() {
            return Err(AnnError::EmptyInput(format!("the curve \"{}\" has no steps", c.label)).into());
        }
        checks::check_finite(c.full_loss.iter().chain(&c.step_loss), &c.label)?;
        checks::check_finite([c.initial_loss].iter(), "initial loss")?;
    }
    let title = if title.is_empty() {
        format!(
            "Batch size and gradient descent: m = {} examples, SGD α = {}",
            result.m, result.learning_rate
        )
    } else {
        title.to_string()
    };
    Figure::from_drawing(style::COLUMN_WIDTH, 500, &title, &CurvesDrawing { r: result, title: &title })
}

struct CurvesDrawing<'a> {
    r: &'a MiniBatchCurves,
    title: &'a str,
}

impl Draw for CurvesDrawing<'_> {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        let body = text::titled(area, self.title)?;
        let curves = &self.r.curves;
        // One legend above both panels (same colours), not over the curves.
        let entries: Vec<(String, Swatch)> = curves
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let dot = if c.full_loss.len() < 30 { Swatch::LineDot } else { Swatch::Line };
                (
                    format!("{} — {} steps", c.label, c.full_loss.len()),
                    dot(style::series_color(i).stroke_width(3)),
                )
            })
            .collect();
        let (key, body) = body.split_vertically(legend::legend_height(&body, &entries, 2, 92) + 4);
        legend::legend_strip(&key, &entries, 2, 92)?;
        let panels = body.split_evenly((1, 2));
        let init = curves[0].initial_loss;

        // Left: full training loss against epochs.
        let x_max = curves.iter().flat_map(|c| c.epochs_axis().last().copied()).fold(1.0, f64::max);
        let hi = curves.iter().flat_map(|c| c.full_loss.iter().copied()).fold(init, f64::max);
        let y = 0.0..range::padded((0.0, hi), 0.05).end;
        let mut chart = axes::chart2d(
            &panels[0],
            &Axes::new(
                "Loss on the whole training set",
                0.0..x_max * 1.02,
                y,
                "epoch (passes over the data)",
                "J",
            ),
        )?;
        for (i, c) in curves.iter().enumerate() {
            let color = style::series_color(i);
            let width = if c.full_loss.len() > 500 { 1 } else { 3 };
            let pts: Vec<(f64, f64)> = std::iter::once((0.0, c.initial_loss))
                .chain(c.epochs_axis().into_iter().zip(c.full_loss.iter().copied()))
                .collect();
            let line = color.stroke_width(width);
            chart.draw_series(LineSeries::new(pts.clone(), line)).map_err(plot_error)?;
            if pts.len() <= 30 {
                chart
                    .draw_series(pts.iter().map(|&p| Circle::new(p, 4, color.filled())))
                    .map_err(plot_error)?;
            }
        }

        // Right: mini-batch loss J{t} over the first steps.
        let n = curves.iter().map(|c| c.step_loss.len()).max().unwrap_or(1).min(FIRST_STEPS);
        let hi = curves.iter().flat_map(|c| c.step_loss.iter().take(n).copied()).fold(0.0, f64::max);
        let mut chart = axes::chart2d(
            &panels[1],
            &Axes::new(
                &format!("Mini-batch loss J{{t}}, first {n} steps"),
                0.0..n as f64 + 1.0,
                0.0..range::padded((0.0, hi), 0.05).end,
                "step t",
                "J{t}",
            ),
        )?;
        // Draw the noisiest (smallest batch) first so the smooth curves stay on top.
        for (i, c) in curves.iter().enumerate().rev() {
            let color = style::series_color(i);
            let pts: Vec<(f64, f64)> =
                c.step_loss.iter().take(n).enumerate().map(|(t, &v)| ((t + 1) as f64, v)).collect();
            let line = color.stroke_width(2);
            chart.draw_series(LineSeries::new(pts.clone(), line)).map_err(plot_error)?;
            if pts.len() <= 30 {
                chart
                    .draw_series(pts.iter().map(|&p| Circle::new(p, 4, color.filled())))
                    .map_err(plot_error)?;
            }
        }
        Ok(())
    }
}

/// The paths of (w, b) of the linear unit ŷ = w x + b under plain SGD with different
/// batch sizes, over the contours of the real loss J(w, b) = (1/2m) Σ (w x + b − y)²
/// (log colour scale, iso-lines every ¼ decade), from
/// [`minibatch_paths`](crate::experiments::minibatch_paths). The cross marks the
/// least-squares optimum. An empty `title` gives a default one.
///
/// Errors: no paths, an empty path, non-finite points, an empty loss grid.
pub fn batch_size_paths(result: &MiniBatchPaths, title: &str) -> Result<Figure> {
    if result.paths.is_empty() {
        return Err(AnnError::EmptyInput("no parameter paths to plot".into()).into());
    }
    for p in &result.paths {
        if p.points.is_empty() {
            return Err(AnnError::EmptyInput(format!("the path \"{}\" is empty", p.label)).into());
        }
        checks::check_finite(p.points.iter().flat_map(|(a, b)| [a, b]), &p.label)?;
    }
    let scale = landscape::log_scale(&result.contour, 3.0)?;
    let steps = result.paths.iter().map(|p| p.points.len() - 1).max().unwrap_or(0);
    let title = if title.is_empty() {
        format!("SGD paths of (w, b) for ŷ = w·x + b: {steps} steps with each batch size")
    } else {
        title.to_string()
    };
    Figure::from_drawing(1000, 780, &title, &PathsDrawing { r: result, title: &title, scale })
}

struct PathsDrawing<'a> {
    r: &'a MiniBatchPaths,
    title: &'a str,
    scale: (f64, f64),
}

impl Draw for PathsDrawing<'_> {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        let body = text::titled(area, self.title)?;
        let (w, _) = body.dim_in_pixel();
        let (main, strip) = body.split_horizontally(w.saturating_sub(150));
        let g = &self.r.contour;
        let (xr, yr) = (g.xs[0]..g.xs[g.xs.len() - 1], g.ys[0]..g.ys[g.ys.len() - 1]);
        let m = self.r.x.ncols();
        let caption = format!("mean squared error J(w, b) on m = {m} points");
        let mut chart = axes::chart2d(&main, &Axes::new(&caption, xr, yr, "weight w", "bias b"))?;
        landscape::draw_landscape(&mut chart, g, self.scale, 0.25)?;
        for (i, p) in self.r.paths.iter().enumerate() {
            let width = if p.batch_size == 1 { 1 } else { 2 };
            let label = format!(
                "{} — J = {:.3} after {} steps",
                p.label,
                p.loss.last().copied().unwrap_or(f64::NAN),
                p.points.len() - 1
            );
            paths::draw_path(&mut chart, &p.points, style::series_color(i), width, &label)?;
        }
        let (ws, bs, js) = self.r.optimum;
        paths::draw_marker(
            &mut chart,
            (ws, bs),
            &format!("least squares (w*, b*) = ({ws:.2}, {bs:.2}), J* = {js:.3}"),
        )?;
        if let Some(&start) = self.r.paths[0].points.first() {
            chart
                .draw_series(std::iter::once(
                    EmptyElement::at(start)
                        + Circle::new((0, 0), 7, style::INK.stroke_width(2))
                        + Text::new("start", (10, -22), text::text(style::LEGEND_SIZE)),
                ))
                .map_err(plot_error)?;
        }
        legend::legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
        axes::frame(&mut chart)?;
        let rows = colorbar::plot_rows(&chart);
        landscape::log_colorbar(&strip, rows, self.scale, "J (log scale)")
    }
}
