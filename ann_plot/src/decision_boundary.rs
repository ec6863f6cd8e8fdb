//! Decision boundary of a trained 2-D classifier: the model's class probabilities over the
//! input plane, the P = ½ boundary, and the data coloured by class.

use crate::axes::{self, Axes};
use crate::checks;
use crate::colorbar;
use crate::error::{PlotError, Result};
use crate::figure::{Draw, Figure, plot_error};
use crate::grid::Grid;
use crate::legend;
use crate::points;
use crate::range;
use crate::raster;
use crate::style::{self, Colormap};
use crate::text;
use ann_core::Network;
use ndarray::{Array2, ArrayView2};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::ops::Range;

/// Grid points per side at which the model is evaluated (bilinear in between): 40,000
/// columns, one forward pass well under a second, smooth at the default figure size.
pub(crate) const GRID_POINTS: usize = 200;

/// Decision regions of a trained classifier on 2-D inputs X (2, m), with the examples
/// coloured by their true class `labels[j]`.
///
/// - Binary (one sigmoid output unit): the background is P(y = 1 | x) = A[L], in bands of
///   0.1 from blue (class 0) through white (½) to vermillion (class 1), with the decision
///   boundary P = ½ drawn as a line and a colour bar.
/// - Multi-class (softmax over k units): the background takes the colour of the predicted
///   class argmax_k P(y = k | x), stronger where that probability is higher; class
///   boundaries are drawn as lines.
///
/// The model is evaluated on a 200 × 200 grid over the data's range (plus 8 % margin).
/// The caption gives the model's accuracy on these points. An empty `title` gives a
/// default one.
///
/// Errors: X not (2, m) or empty, non-finite X, one label per column missing, a network
/// whose input is not 2-D or whose output is not sigmoid/softmax.
pub fn decision_boundary(net: &Network, x: ArrayView2<f64>, labels: &[usize], title: &str) -> Result<Figure> {
    checks::check_points(x, labels, "decision_boundary")?;
    checks::check_classifier(net, "decision_boundary")?;
    let pred = net.predict(x)?;
    let acc = pred.iter().zip(labels).filter(|(p, l)| p == l).count() as f64 / labels.len() as f64;
    let xr = range::axis_range(x.row(0).iter().copied(), 0.08);
    let yr = range::axis_range(x.row(1).iter().copied(), 0.08);
    let map = ClassMap::new(xr, yr, |p| Ok(net.predict_proba(p)?))?;
    let sizes: Vec<String> = net.sizes().iter().map(|n| n.to_string()).collect();
    let title = if title.is_empty() {
        format!("Decision boundary of a [{}] network", sizes.join(", "))
    } else {
        title.to_string()
    };
    let caption = format!("accuracy on these {} points: {:.1} %", labels.len(), 100.0 * acc);
    let drawing = Boundary {
        title: &title,
        caption: &caption,
        map,
        xs: x.row(0).to_vec(),
        ys: x.row(1).to_vec(),
        labels,
    };
    Figure::from_drawing(1000, 760, &title, &drawing)
}

/// Class probabilities over a region of a plane, sampled on a grid.
pub(crate) struct ClassMap {
    grid: Grid,
}

/// Width of a probability band of the binary map: ten bands between 0 and 1 read like
/// contour lines.
const BAND: f64 = 0.1;

/// Background colour of the binary map at probability p: banded diverging colormap,
/// lightened so the data points stay visible on top.
pub(crate) fn binary_color(p: f64) -> RGBColor {
    let band = ((p / BAND).floor().clamp(0.0, 1.0 / BAND - 1.0) + 0.5) * BAND;
    style::blend(Colormap::Diverging.color(band), style::BACKGROUND, 0.45)
}

/// Background colour for predicted class `c` with probability `conf` among `k` classes:
/// five shades from faint (conf = 1/k) to strong (conf = 1).
pub(crate) fn class_shade(c: usize, conf: f64, k: usize) -> RGBColor {
    let chance = 1.0 / k.max(2) as f64;
    let t = ((conf - chance) / (1.0 - chance)).clamp(0.0, 1.0);
    let level = (t * 5.0).floor().min(4.0);
    style::blend(style::BACKGROUND, style::class_color(c), 0.12 + 0.11 * level)
}

impl ClassMap {
    /// Evaluates `proba` (a batch (2, n) → (1 or k, n) of probabilities) over x × y.
    pub(crate) fn new(
        x: Range<f64>,
        y: Range<f64>,
        proba: impl FnOnce(ArrayView2<f64>) -> Result<Array2<f64>>,
    ) -> Result<ClassMap> {
        let grid = Grid::eval(x, y, GRID_POINTS, proba)?;
        if grid.outputs() == 0 {
            return Err(PlotError::Draw("the model returned no output rows".into()));
        }
        checks::check_finite(
            (0..grid.outputs()).flat_map(|k| grid.row(k).to_vec()).collect::<Vec<_>>().iter(),
            "model output over the plotted region",
        )?;
        Ok(ClassMap { grid })
    }

    fn binary(&self) -> bool {
        self.grid.outputs() == 1
    }

    /// (predicted class, its probability) at (x, y).
    fn predicted(&self, x: f64, y: f64) -> (usize, f64) {
        if self.binary() {
            let p = self.grid.at(0, x, y);
            if p > 0.5 { (1, p) } else { (0, 1.0 - p) }
        } else {
            (0..self.grid.outputs())
                .map(|k| (k, self.grid.at(k, x, y)))
                .fold((0, f64::NEG_INFINITY), |best, (k, p)| if p > best.1 { (k, p) } else { best })
        }
    }

    /// The background colour at (x, y).
    pub(crate) fn color(&self, x: f64, y: f64) -> RGBColor {
        if self.binary() {
            binary_color(self.grid.at(0, x, y))
        } else {
            let (c, p) = self.predicted(x, y);
            class_shade(c, p, self.grid.outputs())
        }
    }

    /// The decision boundaries as polylines (P = ½, or where the argmax changes).
    pub(crate) fn boundaries(&self) -> Vec<Vec<(f64, f64)>> {
        if self.binary() {
            self.grid.contour(|n| self.grid.node(0, n) - 0.5)
        } else {
            let k = self.grid.outputs();
            (0..k)
                .flat_map(|c| {
                    // Zero level of p_c − max_{j ≠ c} p_j: where class c stops winning.
                    self.grid.contour(move |n| {
                        let other =
                            (0..k).filter(|&j| j != c).map(|j| self.grid.node(j, n)).fold(0.0, f64::max);
                        self.grid.node(c, n) - other
                    })
                })
                .collect()
        }
    }

    /// Fills the chart with the map and draws the boundary lines.
    pub(crate) fn draw<'c, DB: DrawingBackend + 'c>(&self, chart: &mut axes::Chart2d<'c, DB>) -> Result<()> {
        raster::raster(chart, |x, y| self.color(x, y))?;
        let line = style::INK.mix(0.8).stroke_width(2);
        chart
            .draw_series(self.boundaries().into_iter().map(|s| PathElement::new(s, line)))
            .map_err(plot_error)?;
        Ok(())
    }

    /// The colour bar beside the map: P(y = 1) for a binary model, the winning class's
    /// probability (in grey shades) for a multi-class one.
    pub(crate) fn colorbar<DB: DrawingBackend>(
        &self,
        strip: &DrawingArea<DB, Shift>,
        rows: Range<i32>,
    ) -> Result<()> {
        if self.binary() {
            colorbar::colorbar(strip, rows, binary_color, (0.0, 1.0), "P(y = 1 | x)")
        } else {
            let k = self.grid.outputs();
            let grey = move |p: f64| {
                let c = class_shade(0, p, k);
                // Same strength as the class shades, but in grey: the bar explains the shade.
                let t = 1.0 - f64::from(c.0.min(c.1).min(c.2)) / 255.0;
                style::blend(style::BACKGROUND, style::NEUTRAL, t * 1.6)
            };
            colorbar::colorbar(strip, rows, grey, (1.0 / k as f64, 1.0), "max_k P(y = k | x)")
        }
    }
}

struct Boundary<'a> {
    title: &'a str,
    caption: &'a str,
    map: ClassMap,
    xs: Vec<f64>,
    ys: Vec<f64>,
    labels: &'a [usize],
}

impl Draw for Boundary<'_> {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        let body = text::titled(area, self.title)?;
        let (w, _) = body.dim_in_pixel();
        let (main, strip) = body.split_horizontally(w.saturating_sub(130));
        let (xr, yr) = (self.map.grid.x_range(), self.map.grid.y_range());
        let mut chart = axes::chart2d(&main, &Axes::new(self.caption, xr, yr, "x₁", "x₂"))?;
        self.map.draw(&mut chart)?;
        let radius = if self.labels.len() > 600 { 3 } else { 4 };
        points::class_points(&mut chart, &self.xs, &self.ys, self.labels, radius, true)?;
        legend::legend(&mut chart, SeriesLabelPosition::UpperRight)?;
        // Redraw the frame over the raster's edge.
        axes::frame(&mut chart)?;
        let rows = chart.plotting_area().get_pixel_range().1;
        self.map.colorbar(&strip, rows)
    }
}
