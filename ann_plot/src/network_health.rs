//! The health of every layer over the steps of a training run: update/weight ratios,
//! activations, dead or saturated units and gradients.

use crate::axes::{self, LogAxes};
use crate::checks;
use crate::error::{AnnError, Result};
use crate::experiments::{LayerHealth, NetworkHealth};
use crate::figure::{Draw, Figure, plot_error};
use crate::legend::{self, Swatch};
use crate::paths;
use crate::range;
use crate::style;
use crate::text;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// The rule-of-thumb healthy update/weight ratio (CS231n's "about 1e-3"), drawn as a
/// reference line.
const HEALTHY_RATIO: f64 = 1e-3;

/// A [`NetworkHealth`] recorded by a [`HealthRecorder`](crate::experiments::HealthRecorder),
/// in four panels over the recorded steps t, one colour per layer l = 1..=L:
///
/// - top left: r[l]_t = ‖W[l]_t − W[l]_{t−1}‖_F / ‖W[l]_{t−1}‖_F on a log scale, against the
///   rule-of-thumb 10⁻³;
/// - top right: the standard deviation of the activations A[l] of each mini-batch;
/// - bottom left: the share of the entries of A[l] in the flat region of g\[l\] (ReLU at zero,
///   tanh or sigmoid saturated; solid) and the share of units in it for the whole mini-batch
///   (dead on that batch; dashed), for the layers whose g\[l\] has one;
/// - bottom right: the standard deviation of the entries of dW[l] on a log scale.
///
/// The legend gives each layer's g\[l\], its units and its median ratio r[l]. An empty `title` gives
/// a default one.
///
/// Errors: no recorded step or no layer, a layer whose series do not have one value per
/// recorded step, non-finite values (a ratio to ‖W[l]‖_F = 0 among them).
pub fn network_health(health: &NetworkHealth, title: &str) -> Result<Figure> {
    if health.steps.is_empty() {
        return Err(AnnError::EmptyInput("no recorded training step to plot".into()).into());
    }
    if health.layers.is_empty() {
        return Err(AnnError::EmptyInput("no layer to plot".into()).into());
    }
    let n = health.steps.len();
    for h in &health.layers {
        let l = h.layer;
        let flat = if h.flat_region.is_some() { n } else { 0 };
        let series: [(&str, &[f64], usize); 7] = [
            ("update_ratio", &h.update_ratio, n),
            ("activation_mean", &h.activation_mean, n),
            ("activation_std", &h.activation_std, n),
            ("flat_fraction", &h.flat_fraction, flat),
            ("dead_units", &h.dead_units, flat),
            ("grad_std", &h.grad_std, n),
            ("grad_ratio", &h.grad_ratio, n),
        ];
        for (name, values, len) in series {
            if values.len() != len {
                return Err(AnnError::ShapeMismatch {
                    context: format!("{name} of layer {l} (one value per recorded step)"),
                    expected: format!("{len} values"),
                    got: format!("{} values", values.len()),
                }
                .into());
            }
            checks::check_finite(values, &format!("{name} of layer {l}"))?;
        }
    }
    let title = if title.is_empty() {
        format!("Health of a network over {} training steps", health.steps.last().copied().unwrap_or(0))
    } else {
        title.to_string()
    };
    Figure::from_drawing(style::COLUMN_WIDTH, 860, &title, &Health { h: health, title: &title })
}

struct Health<'a> {
    h: &'a NetworkHealth,
    title: &'a str,
}

/// What one panel draws per layer: a solid series and, optionally, a dashed one.
struct Panel<'s> {
    caption: &'s str,
    y_desc: &'s str,
    y_log: bool,
    /// Fixed y range (linear), or None to fit the data.
    y_range: Option<std::ops::Range<f64>>,
    /// A reference value drawn as a labelled dashed line (log axis).
    reference: Option<f64>,
    solid: fn(&LayerHealth) -> &[f64],
    dashed: Option<fn(&LayerHealth) -> &[f64]>,
}

impl Health<'_> {
    /// (t, v) of one layer's series (log₁₀ v on a log axis; zeros and NaN left out there).
    fn points(&self, values: &[f64], log: bool) -> Vec<(f64, f64)> {
        let pts = self.h.steps.iter().zip(values).map(|(&t, &v)| (t as f64, v));
        if log { axes::log_points(pts) } else { pts.collect() }
    }

    fn x_range(&self) -> std::ops::Range<f64> {
        let first = self.h.steps.first().copied().unwrap_or(0) as f64;
        let last = self.h.steps.last().copied().unwrap_or(1) as f64;
        // One step (or none between first and last) still gets an axis.
        if last > first { first..last } else { (first - 1.0)..(last + 1.0) }
    }

    /// Thinner lines when there are many steps, so the layers stay apart.
    fn line_width(&self) -> u32 {
        if self.h.steps.len() > 250 { 1 } else { 2 }
    }

    fn panel<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>, p: &Panel<'_>) -> Result<()> {
        let layers = &self.h.layers;
        let solid: Vec<Vec<(f64, f64)>> = layers.iter().map(|l| self.points((p.solid)(l), p.y_log)).collect();
        let dashed: Vec<Vec<(f64, f64)>> = match p.dashed {
            Some(f) => layers.iter().map(|l| self.points(f(l), p.y_log)).collect(),
            None => Vec::new(),
        };
        let data = range::finite_range(solid.iter().chain(&dashed).flatten().map(|q| q.1));
        // The reference's label goes where no data is: below the line when every value lies
        // above it (the axis then reaches a band lower), above it otherwise.
        let reference = p.reference.map(f64::log10);
        let label_below = matches!((reference, data), (Some(r), Some((lo, _))) if r <= lo);
        let y = match &p.y_range {
            Some(r) => r.clone(),
            None => {
                let (lo, hi) = data.unwrap_or((0.0, 1.0));
                let (lo, hi) = match reference {
                    Some(r) => {
                        let band = 0.12 * (hi.max(r) - lo.min(r)).max(0.3);
                        if label_below {
                            (r - band, hi)
                        } else if r >= hi {
                            (lo, r + band)
                        } else {
                            (lo, hi)
                        }
                    }
                    // A spread or a share starts at 0 on a linear axis.
                    None if !p.y_log => (lo.min(0.0), hi),
                    None => (lo, hi),
                };
                range::padded((lo, hi), 0.05)
            }
        };
        let x = self.x_range();
        let mut chart = axes::log_chart(
            area,
            &LogAxes {
                caption: p.caption,
                x: x.clone(),
                y: y.clone(),
                x_desc: "step t",
                y_desc: p.y_desc,
                x_log: false,
                y_log: p.y_log,
            },
        )?;
        let width = self.line_width();
        for (i, pts) in solid.iter().enumerate() {
            let line = style::series_color(i).stroke_width(width);
            chart.draw_series(paths::segments(pts, line)).map_err(plot_error)?;
        }
        for (i, pts) in dashed.iter().enumerate() {
            let line = style::series_color(i).stroke_width(width + 1);
            chart.draw_series(DashedLineSeries::new(pts.clone(), 8, 5, line)).map_err(plot_error)?;
        }
        if let Some(ref_y) = reference {
            let line = style::INK.stroke_width(2);
            chart
                .draw_series(DashedLineSeries::new(vec![(x.start, ref_y), (x.end, ref_y)], 10, 6, line))
                .map_err(plot_error)?;
            // Labelled on the chart at the right end, so no legend entry is needed; on a light
            // box, in case a curve runs behind it.
            let label = format!("rule of thumb {}", axes::pow10_tick(ref_y));
            let font = text::text(style::TICK_LABEL_SIZE);
            let (w, h) = area.estimate_text_size(&label, &font).map_err(plot_error)?;
            let (w, h) = (w as i32, h as i32);
            let top = if label_below { 5 } else { -5 - h };
            let boxed = EmptyElement::at((x.end, ref_y))
                + Rectangle::new(
                    [(-w - 10, top - 1), (-4, top + h + 1)],
                    style::BACKGROUND.mix(0.8).filled(),
                )
                + Text::new(label, (-w - 7, top), font);
            chart.draw_series(std::iter::once(boxed)).map_err(plot_error)?;
        }
        if p.dashed.is_some() && layers.iter().all(|l| l.flat_region.is_none()) {
            let font = text::text(style::LEGEND_SIZE).pos(Pos::new(HPos::Center, VPos::Center));
            let mid = (0.5 * (x.start + x.end), 0.5 * (y.start + y.end));
            let label = EmptyElement::at(mid) + Text::new("no layer has a flat region", (0, 0), font);
            chart.draw_series(std::iter::once(label)).map_err(plot_error)?;
        }
        Ok(())
    }

    /// One entry per layer (its colour, g[l], units and median ratio r[l]), then the key of the
    /// line styles of the bottom-left panel.
    fn legend_entries(&self) -> Vec<(String, Swatch)> {
        let mut entries: Vec<(String, Swatch)> = self
            .h
            .layers
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let kind = if l.convolutional { " conv" } else { "" };
                let median = l.median_update_ratio().map_or("–".into(), |m| format!("{m:.1e}"));
                let label = format!(
                    "layer {}: {}{kind}, {} units, median update ratio {median}",
                    l.layer, l.activation, l.units
                );
                (label, Swatch::Line(style::series_color(i).stroke_width(3)))
            })
            .collect();
        if self.h.layers.iter().any(|l| l.flat_region.is_some()) {
            let ink = style::NEUTRAL.stroke_width(3);
            entries.push(("bottom left, solid: share of A[l] dead or saturated".into(), Swatch::Line(ink)));
            entries.push(("dashed: share of units so on all m examples".into(), Swatch::Dashed(ink)));
        }
        entries
    }
}

impl Draw for Health<'_> {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        let body = text::titled(area, self.title)?;
        // The legend above the panels, not over the curves.
        let entries = self.legend_entries();
        let (left, per_row) = (40, 2);
        let legend_h = legend::legend_height(&body, &entries, per_row, left) + 6;
        let (strip, charts) = body.split_vertically(legend_h);
        legend::legend_strip(&strip, &entries, per_row, left)?;
        let panels = charts.split_evenly((2, 2));
        let layer_word =
            if self.h.every > 1 { format!(", every {} steps", self.h.every) } else { String::new() };
        let caption_a = format!("Update / weight ratio{layer_word}");
        self.panel(
            &panels[0],
            &Panel {
                caption: &caption_a,
                y_desc: "‖ΔW[l]‖ / ‖W[l]‖ (log scale)",
                y_log: true,
                y_range: None,
                reference: Some(HEALTHY_RATIO),
                solid: |l| &l.update_ratio,
                dashed: None,
            },
        )?;
        self.panel(
            &panels[1],
            &Panel {
                caption: "Activations: spread of A[l]",
                y_desc: "std of A[l] on the batch",
                y_log: false,
                y_range: None,
                reference: None,
                solid: |l| &l.activation_std,
                dashed: None,
            },
        )?;
        self.panel(
            &panels[2],
            &Panel {
                caption: "Dead or saturated units",
                y_desc: "share (0 to 1)",
                y_log: false,
                y_range: Some(-0.02..1.02),
                reference: None,
                solid: |l| &l.flat_fraction,
                dashed: Some(|l| &l.dead_units),
            },
        )?;
        self.panel(
            &panels[3],
            &Panel {
                caption: "Gradients: spread of dW[l]",
                y_desc: "std of dW[l] (log scale)",
                y_log: true,
                y_range: None,
                reference: None,
                solid: |l| &l.grad_std,
                dashed: None,
            },
        )
    }
}
