//! What a layer's neurons respond to: firing patterns over examples, and each neuron's
//! output over the input plane.

use crate::axes;
use crate::checks;
use crate::colorbar;
use crate::error::{AnnError, PlotError, Result, bad_hyper};
use crate::figure::{Draw, Figure, plot_error};
use crate::grid::Grid;
use crate::heatmap;
use crate::range;
use crate::raster;
use crate::style::{self, Colormap};
use crate::text;
use ann_core::Network;
use ndarray::{Array2, ArrayView2, Axis};
use plotters::coord::Shift;
use plotters::prelude::*;

/// Most neurons drawn by [`neuron_maps`]: beyond a 4 × 4 grid the maps get too small to read.
pub const MAX_NEURON_MAPS: usize = 16;

/// Most examples drawn as dots on each neuron map: more hide the map underneath.
const MAX_DOTS: usize = 200;

/// Grid points per side of each neuron map: smooth at the size drawn, and 16 maps stay one
/// quick forward pass.
const MAP_GRID: usize = 120;

fn check_layer(net: &Network, layer: usize) -> Result<()> {
    if layer == 0 || layer > net.num_layers() {
        return Err(bad_hyper(
            "layer",
            layer,
            &format!("must lie in 1..={} (the network's layers)", net.num_layers()),
        ));
    }
    Ok(())
}

/// Firing pattern of layer `layer` (1-based): a heatmap of A[l] (from `net.forward(x)`),
/// one row per neuron, one column per example, the examples sorted (stably) by class
/// `labels[j]` so that class-specific neurons show as blocks; within a class the
/// examples keep the order of X's columns.
///
/// Colour scale: viridis on [0, max] when all activations are ≥ 0 (ReLU, sigmoid),
/// otherwise blue–white–vermillion on [−M, M] (tanh). X may have any number of features.
/// An empty `title` gives a default one.
///
/// Errors: `layer` outside 1..=L, X empty/non-finite/wrong n_x, wrong number of labels.
pub fn layer_activations(
    net: &Network,
    x: ArrayView2<f64>,
    labels: &[usize],
    layer: usize,
    title: &str,
) -> Result<Figure> {
    check_layer(net, layer)?;
    checks::check_labels(x.ncols(), labels, "layer_activations")?;
    let cache = net.forward(x)?;
    let a = cache.a(layer).ok_or_else(|| PlotError::Draw(format!("the cache has no A[{layer}]")))?;
    checks::check_finite(a.iter(), &format!("A[{layer}]"))?;
    let mut order: Vec<usize> = (0..labels.len()).collect();
    order.sort_by_key(|&j| labels[j]);
    let sorted = a.select(Axis(1), &order);
    let sorted_labels: Vec<usize> = order.iter().map(|&j| labels[j]).collect();
    let act = net.layers()[layer - 1].activation;
    let title = if title.is_empty() {
        format!(
            "Firing pattern of layer {layer} ({} {} units) on {} examples",
            a.nrows(),
            act.name(),
            a.ncols()
        )
    } else {
        title.to_string()
    };
    let drawing = Pattern { title: &title, layer, a: sorted, labels: sorted_labels };
    Figure::from_drawing(style::COLUMN_WIDTH, 560, &title, &drawing)
}

struct Pattern<'a> {
    title: &'a str,
    layer: usize,
    a: Array2<f64>,
    labels: Vec<usize>,
}

impl Draw for Pattern<'_> {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        let body = text::titled(area, self.title)?;
        let (w, _) = body.dim_in_pixel();
        let (main, strip) = body.split_horizontally(w.saturating_sub(130));
        let (cmap, lo, hi) = colorbar::activation_scale(self.a.iter().copied());
        let main = main.margin(28, 0, 0, 0);
        let mut chart = heatmap::heatmap(
            &main,
            "",
            self.a.view(),
            |v| cmap.color_in(v, lo, hi),
            "example (sorted by class)",
            &format!("neuron of layer {}", self.layer),
        )?;
        // Class blocks: a separator line between classes and the class name above each.
        let rows = self.a.nrows() as f64;
        let mut start = 0;
        let label_style = text::bold(style::LEGEND_SIZE).pos(plotters::style::text_anchor::Pos::new(
            plotters::style::text_anchor::HPos::Center,
            plotters::style::text_anchor::VPos::Bottom,
        ));
        for j in 1..=self.labels.len() {
            if j == self.labels.len() || self.labels[j] != self.labels[start] {
                let c = self.labels[start];
                if j < self.labels.len() {
                    let xb = j as f64 + 0.5;
                    chart
                        .draw_series(std::iter::once(PathElement::new(
                            vec![(xb, 0.5), (xb, rows + 0.5)],
                            style::BACKGROUND.stroke_width(3),
                        )))
                        .map_err(plot_error)?;
                }
                let mid = (start + j) as f64 / 2.0 + 0.5;
                let (px, py) = chart.backend_coord(&(mid, rows + 0.5));
                let color = style::class_color(c);
                area.draw(
                    &(EmptyElement::at((px, py - 6))
                        + Text::new(format!("class {c}"), (0, 0), label_style.color(&color))),
                )
                .map_err(plot_error)?;
                start = j;
            }
        }
        let rows_px = chart.plotting_area().get_pixel_range().1;
        colorbar::colorbar(
            &strip,
            rows_px,
            |v| cmap.color_in(v, lo, hi),
            (lo, hi),
            &format!("activation a[{}]", self.layer),
        )
    }
}

/// One small map per neuron of layer `layer` (1-based, at most the first
/// [`MAX_NEURON_MAPS`]): its activation a[l]_j(x) over the input plane, all on one colour
/// scale (set by the activations on the examples; values beyond it, e.g. ReLU growing
/// towards the corners, take the end colours), with up to 200 of the examples X (2, m)
/// drawn as small dots coloured by class `labels[j]`.
/// Shows which region of the input each neuron responds to (for ReLU: the half-plane where
/// w·x + b > 0 in layer 1, pieces of it in deeper layers).
///
/// Errors: `layer` outside 1..=L, X not (2, m) or empty/non-finite, wrong number of labels.
pub fn neuron_maps(
    net: &Network,
    x: ArrayView2<f64>,
    labels: &[usize],
    layer: usize,
    title: &str,
) -> Result<Figure> {
    check_layer(net, layer)?;
    checks::check_points(x, labels, "neuron_maps")?;
    if net.input_size() != 2 {
        return Err(AnnError::ShapeMismatch {
            context: "neuron_maps: the network must take 2-D inputs".into(),
            expected: "n_x = 2".into(),
            got: format!("n_x = {}", net.input_size()),
        }
        .into());
    }
    let units = net.layers()[layer - 1].units();
    let shown = units.min(MAX_NEURON_MAPS);
    let xr = range::axis_range(x.row(0).iter().copied(), 0.08);
    let yr = range::axis_range(x.row(1).iter().copied(), 0.08);
    let grid = Grid::eval(xr, yr, MAP_GRID, |p| {
        let cache = net.forward(p)?;
        let a = cache.a(layer).ok_or_else(|| PlotError::Draw(format!("the cache has no A[{layer}]")))?;
        Ok(a.slice(ndarray::s![..shown, ..]).to_owned())
    })?;
    let all: Vec<f64> = (0..shown).flat_map(|k| grid.row(k).to_vec()).collect();
    checks::check_finite(all.iter(), &format!("A[{layer}] over the input plane"))?;
    // The colour scale covers the activations on the examples; the margin around the
    // data (where ReLU units keep growing) is clamped to the scale's ends.
    let cache = net.forward(x)?;
    let on_data = cache.a(layer).ok_or_else(|| PlotError::Draw(format!("the cache has no A[{layer}]")))?;
    let scale = colorbar::activation_scale(on_data.slice(ndarray::s![..shown, ..]).iter().copied());
    let act = net.layers()[layer - 1].activation;
    let title = if title.is_empty() {
        let of = if shown < units { format!("first {shown} of {units}") } else { format!("{units}") };
        format!("Layer {layer} neurons ({of}, {}) over the input plane", act.name())
    } else {
        title.to_string()
    };
    let cols = (shown as f64).sqrt().ceil().max(1.0) as usize;
    let rows = shown.div_ceil(cols);
    let drawing = Maps { title: &title, layer, grid, shown, cols, rows, scale, x, labels };
    // Cells of up to 280 px, narrower where the columns would not fit the column width.
    let cell = ((style::COLUMN_WIDTH - 180) / cols as u32).min(280);
    let width = cell * cols as u32 + 180;
    let height = (cell - 15) * rows as u32 + 70;
    Figure::from_drawing(width.max(700), height, &title, &drawing)
}

struct Maps<'a> {
    title: &'a str,
    layer: usize,
    grid: Grid,
    shown: usize,
    cols: usize,
    rows: usize,
    scale: (Colormap, f64, f64),
    x: ArrayView2<'a, f64>,
    labels: &'a [usize],
}

impl Draw for Maps<'_> {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        let body = text::titled(area, self.title)?;
        let (w, _) = body.dim_in_pixel();
        let (main, strip) = body.split_horizontally(w.saturating_sub(140));
        let (cmap, lo, hi) = self.scale;
        let cells = main.split_evenly((self.rows, self.cols));
        let (xr, yr) = (self.grid.x_range(), self.grid.y_range());
        // At most ~200 examples as dots, evenly spread over X, so the maps stay readable.
        let m = self.x.ncols();
        let picked: Vec<usize> = (0..m.min(MAX_DOTS)).map(|i| i * m / m.min(MAX_DOTS)).collect();
        let mut rows_px = None;
        for (k, cell) in cells.iter().enumerate().take(self.shown) {
            let mut chart = ChartBuilder::on(cell)
                .caption(format!("neuron {}", k + 1), text::text(style::LEGEND_SIZE))
                .margin(6)
                .x_label_area_size(26)
                .y_label_area_size(40)
                .build_cartesian_2d(xr.clone(), yr.clone())
                .map_err(plot_error)?;
            let fmt = |v: &f64| axes::tick(*v);
            chart
                .configure_mesh()
                .disable_mesh()
                .label_style(text::text(style::TICK_LABEL_SIZE - 3))
                .axis_style(style::NEUTRAL)
                .x_labels(4)
                .y_labels(4)
                .x_label_formatter(&fmt)
                .y_label_formatter(&fmt)
                .draw()
                .map_err(plot_error)?;
            // 32 colour levels: indistinguishable from a smooth map, and a much smaller PNG.
            raster::raster(&mut chart, |x, y| {
                let t = ((self.grid.at(k, x, y) - lo) / (hi - lo)).clamp(0.0, 1.0);
                cmap.color((t * 32.0).round() / 32.0)
            })?;
            chart
                .draw_series(picked.iter().map(|&j| {
                    EmptyElement::at((self.x[[0, j]], self.x[[1, j]]))
                        + Circle::new((0, 0), 3, style::BACKGROUND.filled())
                        + Circle::new((0, 0), 2, style::class_color(self.labels[j]).filled())
                }))
                .map_err(plot_error)?;
            axes::frame(&mut chart)?;
            if rows_px.is_none() {
                rows_px = Some(chart.plotting_area().get_pixel_range().1);
            }
        }
        let (_, main_h) = main.dim_in_pixel();
        let top = main.get_base_pixel().1;
        let rows = match rows_px {
            // One bar spanning all rows of maps: from the first map's top to the bottom.
            Some(r) => r.start..(top + main_h as i32 - 30),
            None => top..top + main_h as i32,
        };
        colorbar::colorbar(
            &strip,
            rows,
            |v| cmap.color_in(v, lo, hi),
            (lo, hi),
            &format!("activation a[{}]", self.layer),
        )
    }
}
