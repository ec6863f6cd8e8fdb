//! Activation functions g(z) and their derivatives g'(z), one panel per function.

use crate::axes::{self, Axes};
use crate::error::{PlotError, Result, bad_hyper};
use crate::figure::{Draw, Figure, plot_error};
use crate::legend;
use crate::range;
use crate::style;
use crate::text;
use ann_core::Activation;
use ndarray::Array2;
use plotters::coord::Shift;
use plotters::prelude::*;

/// Samples per curve: 800 intervals, so a symmetric range has a sample at 0 and ReLU's kink
/// is drawn sharp.
const SAMPLES: usize = 801;

/// g(z) and g'(z) of each activation on [z_min, z_max], side by side (three to a row),
/// computed with [`Activation::forward`] and [`Activation::derivative`] (ReLU: g = max(0, z),
/// g' = 1 if z > 0 else 0; tanh: g' = 1 − tanh²(z); sigmoid: g' = σ(z)(1 − σ(z)); leaky ReLU
/// and GELU as [`Activation`] states them).
///
/// Errors: no activations, more than 6, softmax (not element-wise: its derivative is a
/// Jacobian), or a range that is empty or not finite.
pub fn activation_functions(activations: &[Activation], z_range: (f64, f64), title: &str) -> Result<Figure> {
    let (z0, z1) = z_range;
    if !(z0.is_finite() && z1.is_finite() && z0 < z1) {
        return Err(bad_hyper("z_range", format!("({z0}, {z1})"), "must be finite with z_min < z_max"));
    }
    if activations.is_empty() || activations.len() > 6 {
        return Err(bad_hyper("activations", activations.len(), "pass 1 to 6 activations"));
    }
    if activations.contains(&Activation::Softmax) {
        return Err(PlotError::Draw(
            "softmax is not element-wise (g'(z) is a Jacobian): it has no curve to draw".into(),
        ));
    }
    let z = Array2::from_shape_fn((1, SAMPLES), |(_, j)| z0 + (z1 - z0) * j as f64 / (SAMPLES - 1) as f64);
    let curves = activations
        .iter()
        .map(|&act| {
            let g = act.forward(z.view());
            let d = act.derivative(z.view());
            let zs: Vec<f64> = z.iter().copied().collect();
            Curve {
                act,
                g: zs.iter().copied().zip(g.iter().copied()).collect(),
                d: zs.iter().copied().zip(d.iter().copied()).collect(),
            }
        })
        .collect::<Vec<_>>();
    let title = if title.is_empty() { "Activation functions g(z) and derivatives g′(z)" } else { title };
    // At most three panels a row, so that each keeps room for its formulas.
    let (rows, cols) = panel_grid(activations.len());
    let width = (460 * cols as u32).clamp(700, style::COLUMN_WIDTH);
    Figure::from_drawing(width, 460 * rows as u32, title, &Panels { curves, title })
}

struct Curve {
    act: Activation,
    g: Vec<(f64, f64)>,
    d: Vec<(f64, f64)>,
}

struct Panels<'a> {
    curves: Vec<Curve>,
    title: &'a str,
}

fn formulas(act: Activation) -> (&'static str, &'static str) {
    match act {
        Activation::Relu => ("g(z) = max(0, z)", "g′(z) = 1 if z > 0, else 0"),
        Activation::Tanh => ("g(z) = tanh(z)", "g′(z) = 1 − tanh²(z)"),
        // Short enough for a third of a notebook column.
        Activation::Sigmoid => ("g(z) = 1 / (1 + e^(−z))", "g′(z) = g(z)(1 − g(z))"),
        Activation::Linear => ("g(z) = z", "g′(z) = 1"),
        Activation::LeakyRelu(_) => ("g(z) = z if z > 0, else αz", "g′(z) = 1 if z > 0, else α"),
        // The tanh form (u = √(2/π)(z + 0.044715 z³)) of z Φ(z), whose derivative it follows.
        Activation::Gelu => ("g(z) = ½z(1 + tanh u)", "g′(z) ≈ Φ(z) + z φ(z)"),
        Activation::Softmax => ("softmax", "Jacobian"),
    }
}

/// (rows, columns) of the panels: one row of up to three, then rows of three.
fn panel_grid(n: usize) -> (usize, usize) {
    (n.div_ceil(3), n.min(3))
}

/// Splits a sampled curve where it jumps (ReLU's derivative at 0), so no vertical
/// segment is drawn where the function is discontinuous.
fn pieces(pts: &[(f64, f64)]) -> Vec<Vec<(f64, f64)>> {
    let mut out: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
    for (i, &p) in pts.iter().enumerate() {
        if i > 0 && (p.1 - pts[i - 1].1).abs() > 0.25 {
            out.push(Vec::new());
        }
        if let Some(last) = out.last_mut() {
            last.push(p);
        }
    }
    out
}

impl Draw for Panels<'_> {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        let body = text::titled(area, self.title)?;
        let panels = body.split_evenly(panel_grid(self.curves.len()));
        for (curve, panel) in self.curves.iter().zip(&panels) {
            let vals = curve.g.iter().chain(&curve.d).map(|p| p.1);
            let (lo, hi) = range::finite_range(vals).unwrap_or((0.0, 1.0));
            // Head room above the curves for the legend (below them for tanh).
            let span = (hi - lo.min(0.0)).max(1e-9);
            let y = if curve.act == Activation::Tanh {
                (lo.min(0.0) - 0.35 * span)..(hi + 0.08 * span)
            } else {
                (lo.min(0.0) - 0.08 * span)..(hi + 0.3 * span)
            };
            let x = curve.g[0].0..curve.g[curve.g.len() - 1].0;
            let caption = curve.act.to_string();
            let mut axes = Axes::new(&caption, x, y, "z", "g(z),  g′(z)");
            axes.y_label_area = 70;
            let mut chart = axes::chart2d(panel, &axes)?;
            let (fg, fd) = formulas(curve.act);
            let g_style = style::series_color(0).stroke_width(3);
            let d_style = style::series_color(1).stroke_width(3);
            chart
                .draw_series(LineSeries::new(curve.g.iter().copied(), g_style))
                .map_err(plot_error)?
                .label(fg)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], g_style));
            for (k, piece) in pieces(&curve.d).into_iter().enumerate() {
                let series =
                    chart.draw_series(DashedLineSeries::new(piece, 10, 5, d_style)).map_err(plot_error)?;
                if k == 0 {
                    series.label(fd).legend(legend::dashed_legend(d_style));
                }
            }
            // The corner each function leaves empty: tanh fills the upper left (g′ peaks at 0).
            let corner = match curve.act {
                Activation::Tanh => SeriesLabelPosition::LowerRight,
                _ => SeriesLabelPosition::UpperLeft,
            };
            legend::legend(&mut chart, corner)?;
        }
        Ok(())
    }
}
