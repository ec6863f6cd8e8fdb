//! Evaluating a trained classifier or regressor: the confusion matrix, a grid of the
//! images it gets wrong, and a fitted 1-D curve against its data.

use crate::axes::{self, Axes};
use crate::checks;
use crate::error::{AnnError, Result, bad_hyper, shape_str};
use crate::figure::{Draw, Figure, plot_error};
use crate::legend::{self, Swatch};
use crate::range;
use crate::raster;
use crate::style;
use crate::text;
use ann_core::Network;
use ndarray::{Array2, ArrayView2};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// The confusion matrix C (C[i, j] = examples of true class i predicted as j, e.g. from
/// [`ann_core::confusion_matrix`]) as a heatmap with the count in each cell. Rows are
/// normalised for the colour (the share of class i predicted as j), so a rare class's
/// errors are as visible as a frequent one's; the title gives the accuracy trace(C)/m.
///
/// Errors: a non-square or empty matrix, or one with no examples.
pub fn confusion_matrix(cm: ArrayView2<usize>, title: &str) -> Result<Figure> {
    let title = confusion_title(cm, title)?;
    let k = cm.nrows();
    let side = (560 + 40 * k as u32).min(style::COLUMN_WIDTH - 60);
    Figure::from_drawing(side + 60, side, &title, &Confusion { cm: cm.to_owned(), title: &title })
}

/// Checks that C is square, non-empty and counts examples; returns `title`, or when it is
/// empty the default one with the accuracy trace(C)/m.
pub(crate) fn confusion_title(cm: ArrayView2<usize>, title: &str) -> Result<String> {
    let (k, k2) = cm.dim();
    if k == 0 || k != k2 {
        return Err(AnnError::ShapeMismatch {
            context: "confusion matrix (true class × predicted class)".into(),
            expected: "(k, k) with k ≥ 1".into(),
            got: shape_str(cm.shape()),
        }
        .into());
    }
    let total: usize = cm.iter().sum();
    if total == 0 {
        return Err(AnnError::EmptyInput("the confusion matrix counts no examples".into()).into());
    }
    let correct: usize = (0..k).map(|i| cm[[i, i]]).sum();
    // 100 · correct / total in this order: 8865 of 10000 prints 88.7, not 88.6.
    let percent = 100.0 * correct as f64 / total as f64;
    Ok(if title.is_empty() {
        format!("Confusion matrix: {correct} of {total} correct ({percent:.1} %)")
    } else {
        title.to_string()
    })
}

/// The axes of a confusion-matrix heatmap over k classes: "predicted class" along x, "true
/// class" along y, a tick at every cell centre labelled by `xf` and `yf`, no grid.
pub(crate) fn draw_confusion_axes<DB: DrawingBackend>(
    chart: &mut axes::Chart2d<'_, DB>,
    k: usize,
    xf: &dyn Fn(&f64) -> String,
    yf: &dyn Fn(&f64) -> String,
) -> Result<()> {
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc("predicted class")
        .y_desc("true class")
        .axis_desc_style(text::text(style::AXIS_LABEL_SIZE))
        .label_style(text::text(style::TICK_LABEL_SIZE))
        .axis_style(style::NEUTRAL)
        .x_labels(k + 1)
        .y_labels(k + 1)
        .x_label_formatter(xf)
        .y_label_formatter(yf)
        .draw()
        .map_err(plot_error)
}

/// The cells of a confusion-matrix heatmap on a chart over [−0.5, k − 0.5]², row i of C at
/// the top for i = 0: each cell coloured by its share of the row, its count written in it
/// (in `font` px) when it is not 0.
pub(crate) fn draw_confusion_cells<DB: DrawingBackend>(
    chart: &mut axes::Chart2d<'_, DB>,
    cm: ArrayView2<usize>,
    font: u32,
) -> Result<()> {
    let k = cm.nrows();
    let kf = k as f64;
    for i in 0..k {
        let row_total = cm.row(i).sum().max(1) as f64;
        for j in 0..k {
            let n = cm[[i, j]];
            let share = n as f64 / row_total;
            let y = kf - 1.0 - i as f64;
            let fill = style::blend(style::BACKGROUND, style::series_color(0), share);
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(j as f64 - 0.5, y - 0.5), (j as f64 + 0.5, y + 0.5)],
                    fill.filled(),
                )))
                .map_err(plot_error)?;
            if n > 0 {
                let ink = if share > 0.55 { style::BACKGROUND } else { style::INK };
                let t = text::text(font).color(&ink).pos(Pos::new(HPos::Center, VPos::Center));
                chart
                    .draw_series(std::iter::once(Text::new(n.to_string(), (j as f64, y), t)))
                    .map_err(plot_error)?;
            }
        }
    }
    Ok(())
}

struct Confusion<'a> {
    cm: Array2<usize>,
    title: &'a str,
}

impl Draw for Confusion<'_> {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        let body = text::titled(area, self.title)?;
        let k = self.cm.nrows();
        let kf = k as f64;
        let mut chart = ChartBuilder::on(&body)
            .margin(16)
            .margin_right(30)
            .x_label_area_size(62)
            .y_label_area_size(80)
            .build_cartesian_2d(-0.5..kf - 0.5, -0.5..kf - 0.5)
            .map_err(plot_error)?;
        // Integer ticks at cell centres; y runs top to bottom like a matrix.
        let xf = |v: &f64| format!("{}", v.round() as i64);
        let yf = |v: &f64| format!("{}", (kf - 1.0 - v).round() as i64);
        draw_confusion_axes(&mut chart, k, &xf, &yf)?;
        let font = if k > 12 { 11 } else { style::TICK_LABEL_SIZE };
        draw_confusion_cells(&mut chart, self.cm.view(), font)?;
        axes::frame(&mut chart)
    }
}

/// Up to `max_images` square grey-scale images (columns of X, e.g. the 64 pixels of an 8×8
/// digit, row-major) in a grid, each captioned "true t → predicted p". Pass the indices of
/// the misclassified examples (from [`ann_core::misclassified`]) to see what the model gets
/// wrong; darker is more ink.
///
/// Errors: no indices, an index outside X, labels of the wrong length, or a column length
/// that is not a square.
pub fn image_grid(
    x: ArrayView2<f64>,
    truth: &[usize],
    predicted: &[usize],
    indices: &[usize],
    max_images: usize,
    title: &str,
) -> Result<Figure> {
    let side = (x.nrows() as f64).sqrt().round() as usize;
    if side == 0 || side * side != x.nrows() {
        return Err(AnnError::ShapeMismatch {
            context: "image_grid: each column of X must be a square image".into(),
            expected: "(s², m)".into(),
            got: shape_str(x.shape()),
        }
        .into());
    }
    checks::check_labels(x.ncols(), truth, "image_grid (true labels)")?;
    checks::check_labels(x.ncols(), predicted, "image_grid (predictions)")?;
    if max_images == 0 {
        return Err(bad_hyper("max_images", 0, "must be at least 1"));
    }
    if indices.is_empty() {
        return Err(
            AnnError::EmptyInput("image_grid: no images selected (nothing misclassified?)".into()).into()
        );
    }
    if let Some(&bad) = indices.iter().find(|&&j| j >= x.ncols()) {
        return Err(bad_hyper("index", bad, &format!("must be below m = {}", x.ncols())));
    }
    checks::check_finite(x.iter(), "image_grid: X")?;
    let shown: Vec<usize> = indices.iter().copied().take(max_images).collect();
    let cols = (shown.len() as f64).sqrt().ceil().max(1.0) as usize;
    let cols = cols.max(shown.len().min(6));
    let rows = shown.len().div_ceil(cols);
    let title = if title.is_empty() {
        format!("{} of {} selected images (true → predicted)", shown.len(), indices.len())
    } else {
        title.to_string()
    };
    let cell = 150u32;
    let drawing = Grid { x: x.to_owned(), truth, predicted, shown, side, cols, rows, title: &title };
    Figure::from_drawing(cell * cols as u32 + 20, cell * rows as u32 + 70, &title, &drawing)
}

struct Grid<'a> {
    x: Array2<f64>,
    truth: &'a [usize],
    predicted: &'a [usize],
    shown: Vec<usize>,
    side: usize,
    cols: usize,
    rows: usize,
    title: &'a str,
}

impl Draw for Grid<'_> {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        let body = text::titled(area, self.title)?.margin(4, 4, 10, 10);
        let cells = body.split_evenly((self.rows, self.cols));
        let s = self.side as f64;
        for (cell, &j) in cells.iter().zip(&self.shown) {
            let caption = format!("true {} → {}", self.truth[j], self.predicted[j]);
            let mut chart = ChartBuilder::on(cell)
                .margin(6)
                .caption(caption, text::text(style::LEGEND_SIZE))
                .build_cartesian_2d(0.0..s, 0.0..s)
                .map_err(plot_error)?;
            let col = self.x.column(j);
            let (lo, hi) = range::finite_range(col.iter().copied()).unwrap_or((0.0, 1.0));
            let span = if hi > lo { hi - lo } else { 1.0 };
            raster::raster(&mut chart, |px, py| {
                let c = (px.floor() as usize).min(self.side - 1);
                let r = ((s - py).floor() as usize).min(self.side - 1);
                let ink = (col[r * self.side + c] - lo) / span;
                style::blend(style::BACKGROUND, style::INK, ink)
            })?;
            axes::frame(&mut chart)?;
        }
        Ok(())
    }
}

/// A named noise-free function to draw beside a regression fit, e.g. `("sin(x)", f64::sin)`.
pub type Reference<'a> = (&'a str, fn(f64) -> f64);

/// A 1-input, 1-output regression network's prediction ŷ(x) over the range of the data,
/// with the training points (x_j, y_j) and, if given, the noise-free function it should
/// learn (`reference`, e.g. `f64::sin`) dashed.
///
/// Errors: a network that is not 1 → 1, X and Y not both (1, m), empty or non-finite data.
pub fn regression_fit(
    net: &Network,
    x: ArrayView2<f64>,
    y: ArrayView2<f64>,
    reference: Option<Reference<'_>>,
    title: &str,
) -> Result<Figure> {
    if net.input_size() != 1 || net.output_size() != 1 {
        return Err(AnnError::ShapeMismatch {
            context: "regression_fit draws a network with one input and one output".into(),
            expected: "[1, ..., 1]".into(),
            got: format!("{:?}", net.sizes()),
        }
        .into());
    }
    if x.dim() != y.dim() || x.nrows() != 1 || x.ncols() == 0 {
        return Err(AnnError::ShapeMismatch {
            context: "regression_fit: X and Y must both be (1, m), m ≥ 1".into(),
            expected: format!("(1, {})", x.ncols()),
            got: format!("X {} and Y {}", shape_str(x.shape()), shape_str(y.shape())),
        }
        .into());
    }
    checks::check_finite(x.iter().chain(y.iter()), "regression_fit: X, Y")?;
    let (lo, hi) = range::finite_range(x.iter().copied()).unwrap_or((0.0, 1.0));
    let xr = range::padded((lo, hi), 0.02);
    let n = 400;
    let grid =
        Array2::from_shape_fn((1, n), |(_, i)| xr.start + (xr.end - xr.start) * i as f64 / (n - 1) as f64);
    let pred = net.predict_proba(grid.view())?;
    let curve: Vec<(f64, f64)> = grid.iter().zip(pred.iter()).map(|(&a, &b)| (a, b)).collect();
    let reference = reference.map(|(name, f)| (name.to_string(), grid.iter().map(|&a| (a, f(a))).collect()));
    let points: Vec<(f64, f64)> = x.iter().zip(y.iter()).map(|(&a, &b)| (a, b)).collect();
    let title = if title.is_empty() { "Regression fit".to_string() } else { title.to_string() };
    let drawing = Fit { points, curve, reference, x: xr, title: &title };
    Figure::from_drawing(style::DEFAULT_SIZE.0, style::DEFAULT_SIZE.1, &title, &drawing)
}

struct Fit<'a> {
    points: Vec<(f64, f64)>,
    curve: Vec<(f64, f64)>,
    reference: Option<(String, Vec<(f64, f64)>)>,
    x: std::ops::Range<f64>,
    title: &'a str,
}

impl Draw for Fit<'_> {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        let body = text::titled(area, self.title)?;
        let data = style::series_color(0);
        let fit = style::series_color(1).stroke_width(3);
        let ink = style::NEUTRAL.stroke_width(2);
        // The legend sits above the chart: inside, it would cover points or curves.
        let mut entries = vec![(format!("training data (m = {})", self.points.len()), Swatch::Dot(data))];
        if let Some((name, _)) = &self.reference {
            entries.push((name.clone(), Swatch::Dashed(ink)));
        }
        entries.push(("network prediction ŷ(x)".to_string(), Swatch::Line(fit)));
        let (key, body) = body.split_vertically(legend::legend_height(&body, &entries, 3, 92) + 6);
        legend::legend_strip(&key, &entries, 3, 92)?;
        let ys = self.points.iter().chain(&self.curve).map(|p| p.1);
        let yr = range::axis_range(ys, 0.08);
        let mut chart = axes::chart2d(&body, &Axes::new("", self.x.clone(), yr, "input x", "target y"))?;
        chart
            .draw_series(self.points.iter().map(|&p| Circle::new(p, 3, data.mix(0.45).filled())))
            .map_err(plot_error)?;
        if let Some((_, pts)) = &self.reference {
            chart.draw_series(DashedLineSeries::new(pts.iter().copied(), 8, 6, ink)).map_err(plot_error)?;
        }
        chart.draw_series(LineSeries::new(self.curve.iter().copied(), fit)).map_err(plot_error)?;
        Ok(())
    }
}
