//! SGD, Momentum, RMSProp and Adam: loss curves on a network, and paths on a
//! 2-D ill-conditioned function.

use crate::axes::{self, Axes, LogAxes};
use crate::checks;
use crate::colorbar;
use crate::error::{AnnError, Result};
use crate::experiments::{OptimizerCurves, OptimizerPaths};
use crate::figure::{Draw, Figure, plot_error};
use crate::landscape;
use crate::legend::{self, Swatch};
use crate::paths;
use crate::range;
use crate::style;
use crate::text;
use plotters::coord::Shift;
use plotters::prelude::*;

/// Loss curves of the optimizers of an
/// [`optimizer_curves`](crate::experiments::optimizer_curves) run (same network, initial
/// weights, data and batch order). Left: J on the training set after each epoch (log
/// scale). Right: the training accuracy after each epoch. A diverged run is drawn up to
/// its divergence and marked in the legend. An empty `title` gives a default.
///
/// Errors: no curves, a curve with no finished epoch.
pub fn optimizer_loss_curves(result: &OptimizerCurves, title: &str) -> Result<Figure> {
    if result.curves.is_empty() {
        return Err(AnnError::EmptyInput("no optimizer curves to plot".into()).into());
    }
    if let Some(c) = result.curves.iter().find(|c| c.step_loss.is_empty()) {
        return Err(AnnError::EmptyInput(format!("{} recorded no step", c.spec)).into());
    }
    checks::check_finite([result.initial_loss].iter(), "initial loss")?;
    let title = if title.is_empty() {
        let sizes: Vec<String> = result.sizes.iter().map(|n| n.to_string()).collect();
        format!(
            "Optimizers on {}, [{}] ReLU: same initial weights and batches",
            result.data.describe(),
            sizes.join(", ")
        )
    } else {
        title.to_string()
    };
    Figure::from_drawing(style::COLUMN_WIDTH, 500, &title, &CurvesDrawing { r: result, title: &title })
}

struct CurvesDrawing<'a> {
    r: &'a OptimizerCurves,
    title: &'a str,
}

impl Draw for CurvesDrawing<'_> {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        let body = text::titled(area, self.title)?;
        let curves = &self.r.curves;
        // One legend above both panels, not over the curves.
        let entries: Vec<(String, Swatch)> = curves
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let last = c.epoch_loss.last().map_or(String::new(), |v| format!(": final J = {v:.3}"));
                let acc = c.epoch_accuracy.last().map_or(String::new(), |v| format!(", {:.1} %", 100.0 * v));
                let diverged =
                    c.diverged.map_or(String::new(), |d| format!(", diverged at step {}", d.step + 1));
                let swatch = Swatch::LineDot(style::series_color(i).stroke_width(3));
                (format!("{}{last}{acc}{diverged}", c.spec), swatch)
            })
            .collect();
        let (key, body) = body.split_vertically(legend::legend_height(&body, &entries, 2, 96) + 4);
        legend::legend_strip(&key, &entries, 2, 96)?;
        let panels = body.split_evenly((1, 2));
        let epochs = curves.iter().map(|c| c.epoch_loss.len()).max().unwrap_or(1).max(1);
        let epoch_pts: Vec<Vec<(f64, f64)>> = curves
            .iter()
            .map(|c| {
                axes::log_points(
                    std::iter::once((0.0, self.r.initial_loss))
                        .chain(c.epoch_loss.iter().enumerate().map(|(e, &v)| ((e + 1) as f64, v))),
                )
            })
            .collect();
        let (lo, hi) = range::finite_range(epoch_pts.iter().flatten().map(|p| p.1)).unwrap_or((-1.0, 0.0));
        let mut chart = axes::log_chart(
            &panels[0],
            &LogAxes {
                caption: "Loss on the training set after each epoch",
                x: 0.0..epochs as f64 + 0.5,
                y: range::padded((lo, hi), 0.05),
                x_desc: "epoch",
                y_desc: "J (log scale)",
                x_log: false,
                y_log: true,
            },
        )?;
        for (i, pts) in epoch_pts.iter().enumerate() {
            let color = style::series_color(i);
            let line = color.stroke_width(3);
            chart.draw_series(LineSeries::new(pts.clone(), line)).map_err(plot_error)?;
            if pts.len() <= 40 {
                chart
                    .draw_series(pts.iter().map(|&p| Circle::new(p, 3, color.filled())))
                    .map_err(plot_error)?;
            }
        }

        let (lo, _) = range::finite_range(curves.iter().flat_map(|c| c.epoch_accuracy.iter().copied()))
            .unwrap_or((0.5, 1.0));
        let bottom = (((lo - 0.05) * 20.0).floor() / 20.0).clamp(0.0, 0.95);
        let mut chart = axes::log_chart(
            &panels[1],
            &LogAxes {
                caption: "Training accuracy after each epoch",
                x: 0.0..epochs as f64 + 0.5,
                y: bottom..1.005,
                x_desc: "epoch",
                y_desc: "accuracy (fraction correct)",
                x_log: false,
                y_log: false,
            },
        )?;
        for (i, c) in curves.iter().enumerate() {
            let color = style::series_color(i);
            let line = color.stroke_width(3);
            let pts: Vec<(f64, f64)> =
                c.epoch_accuracy.iter().enumerate().map(|(e, &v)| ((e + 1) as f64, v)).collect();
            chart.draw_series(LineSeries::new(pts.clone(), line)).map_err(plot_error)?;
            if pts.len() <= 40 {
                chart
                    .draw_series(pts.iter().map(|&p| Circle::new(p, 3, color.filled())))
                    .map_err(plot_error)?;
            }
        }
        Ok(())
    }
}

/// Paths of the optimizers of an [`optimizer_paths`](crate::experiments::optimizer_paths)
/// run over the contours of the 2-D test function (log colour scale, iso-lines every ½
/// decade), and f along each path (log scale). A path that diverged stops at its last
/// finite point. An empty `title` gives a default one.
///
/// Errors: no paths, an empty path, non-finite points.
pub fn optimizer_trajectories(result: &OptimizerPaths, title: &str) -> Result<Figure> {
    if result.paths.is_empty() {
        return Err(AnnError::EmptyInput("no optimizer paths to plot".into()).into());
    }
    for p in &result.paths {
        if p.points.is_empty() {
            return Err(AnnError::EmptyInput(format!("the path of {} is empty", p.spec)).into());
        }
        checks::check_finite(p.points.iter().flat_map(|(a, b)| [a, b]), &p.spec.to_string())?;
    }
    let scale = landscape::log_scale(&result.contour, 4.0)?;
    let steps = result.paths.iter().map(|p| p.points.len() - 1).max().unwrap_or(0);
    let title = if title.is_empty() {
        format!("Optimizer paths on {}: {steps} steps from the same start", result.surface.formula())
    } else {
        title.to_string()
    };
    Figure::from_drawing(style::COLUMN_WIDTH, 540, &title, &PathsDrawing { r: result, title: &title, scale })
}

struct PathsDrawing<'a> {
    r: &'a OptimizerPaths,
    title: &'a str,
    scale: (f64, f64),
}

impl Draw for PathsDrawing<'_> {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        let body = text::titled(area, self.title)?;
        // One legend above both panels, not over the paths.
        let mut entries: Vec<(String, Swatch)> = self
            .r
            .paths
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let label = if p.diverged { format!("{} (diverged)", p.spec) } else { p.spec.to_string() };
                (label, Swatch::LineDot(style::series_color(i).stroke_width(2)))
            })
            .collect();
        entries.push(("minimum".to_string(), Swatch::Cross));
        let (key, body) = body.split_vertically(legend::legend_height(&body, &entries, 3, 96) + 4);
        legend::legend_strip(&key, &entries, 3, 96)?;
        let (w, _) = body.dim_in_pixel();
        let (left, right) = body.split_horizontally(w * 62 / 100);
        let right = right.margin(0, 0, 10, 0);
        let (lw, _) = left.dim_in_pixel();
        let (main, strip) = left.split_horizontally(lw.saturating_sub(120));
        let g = &self.r.contour;
        let (xr, yr) = (g.xs[0]..g.xs[g.xs.len() - 1], g.ys[0]..g.ys[g.ys.len() - 1]);
        let mut chart = axes::chart2d(&main, &Axes::new("Paths over the contours of f", xr, yr, "x", "y"))?;
        landscape::draw_landscape(&mut chart, g, self.scale, 0.5)?;
        for (i, p) in self.r.paths.iter().enumerate() {
            let label = if p.diverged { format!("{} (diverged)", p.spec) } else { p.spec.to_string() };
            paths::draw_path(&mut chart, &p.points, style::series_color(i), 2, &label)?;
        }
        paths::draw_marker(&mut chart, self.r.surface.minimum(), "minimum")?;
        axes::frame(&mut chart)?;
        let rows = colorbar::plot_rows(&chart);
        landscape::log_colorbar(&strip, rows, self.scale, "f (log scale)")?;

        let steps = self.r.paths.iter().map(|p| p.points.len()).max().unwrap_or(1);
        let pts: Vec<Vec<(f64, f64)>> = self
            .r
            .paths
            .iter()
            .map(|p| axes::log_points(p.values.iter().enumerate().map(|(t, &v)| (t as f64, v))))
            .collect();
        let (lo, hi) = range::finite_range(pts.iter().flatten().map(|p| p.1)).unwrap_or((-1.0, 0.0));
        // Converged paths reach 1e-30 and below; show 12 decades under the start.
        let lo = lo.max(hi - 12.0);
        let mut chart = axes::log_chart(
            &right,
            &LogAxes {
                caption: "f(x_t, y_t) along each path",
                x: 0.0..steps as f64,
                y: range::padded((lo, hi), 0.04),
                x_desc: "step t",
                y_desc: "f(x_t, y_t), log scale",
                x_log: false,
                y_log: true,
            },
        )?;
        let floor = lo - 0.04 * (hi - lo);
        for (i, pts) in pts.iter().enumerate() {
            let line = style::series_color(i).stroke_width(2);
            let clipped: Vec<(f64, f64)> = pts.iter().map(|&(x, y)| (x, y.max(floor))).collect();
            chart.draw_series(paths::segments(&clipped, line)).map_err(plot_error)?;
        }
        Ok(())
    }
}
