//! Figures for image classes with names (Fashion-MNIST's "T-shirt/top" … "Ankle boot"):
//! a grid of images captioned with their class, or with the true and the predicted class,
//! and the confusion matrix with the class names on its axes.

use crate::axes;
use crate::checks;
use crate::error::{AnnError, Result, bad_hyper, shape_str};
use crate::figure::{Draw, Figure, plot_error};
use crate::range;
use crate::raster;
use crate::style;
use crate::text;
use ndarray::{Array2, ArrayView2, Axis};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// Images (columns of X, square, row-major pixels) at `indices`, `columns` to a row, each
/// captioned with the name of its class `class_names[truth[j]]`; with `predicted`, the
/// caption is the true class and, below it, "→ predicted class" (red when they differ).
/// More ink is darker (each image spans its own min..max). Only the selected columns are
/// copied, so X may be a whole data set.
///
/// Errors: no indices, an index outside X, labels of the wrong length or outside
/// `class_names`, `columns` = 0, non-finite pixels, or columns that are not square images.
pub fn class_image_grid(
    x: ArrayView2<f64>,
    indices: &[usize],
    truth: &[usize],
    predicted: Option<&[usize]>,
    class_names: &[&str],
    columns: usize,
    title: &str,
) -> Result<Figure> {
    let side = (x.nrows() as f64).sqrt().round() as usize;
    if side == 0 || side * side != x.nrows() {
        return Err(AnnError::ShapeMismatch {
            context: "class_image_grid: each column of X must be a square image".into(),
            expected: "(s², m)".into(),
            got: shape_str(x.shape()),
        }
        .into());
    }
    if columns == 0 {
        return Err(bad_hyper("columns", 0, "must be at least 1"));
    }
    if indices.is_empty() {
        return Err(AnnError::EmptyInput("class_image_grid: no images selected".into()).into());
    }
    if let Some(&bad) = indices.iter().find(|&&j| j >= x.ncols()) {
        return Err(bad_hyper("index", bad, &format!("must be below m = {}", x.ncols())));
    }
    checks::check_labels(x.ncols(), truth, "class_image_grid (true labels)")?;
    if let Some(p) = predicted {
        checks::check_labels(x.ncols(), p, "class_image_grid (predictions)")?;
    }
    let k = class_names.len();
    let out_of_range = |labels: &[usize]| indices.iter().map(|&j| labels[j]).find(|&c| c >= k);
    if let Some(c) = out_of_range(truth).or_else(|| predicted.and_then(out_of_range)) {
        return Err(AnnError::InvalidLabels(format!("class {c} has no name (class_names has {k})")).into());
    }
    let images = x.select(Axis(1), indices);
    checks::check_finite(images.iter(), "class_image_grid: X")?;
    let captions: Vec<(String, Option<(String, bool)>)> = indices
        .iter()
        .map(|&j| {
            let t = truth[j];
            let second = predicted.map(|p| (format!("→ {}", class_names[p[j]]), p[j] == t));
            (class_names[t].to_string(), second)
        })
        .collect();
    let cols = columns.min(indices.len());
    let rows = indices.len().div_ceil(cols);
    let caption_h = if predicted.is_some() { 44 } else { 24 };
    let cell_w = 130u32;
    let cell_h = cell_w - 14 + caption_h;
    let drawing = ClassGrid { images, captions, side, cols, rows, caption_h, title };
    Figure::from_drawing(cell_w * cols as u32 + 20, cell_h * rows as u32 + 60, title, &drawing)
}

struct ClassGrid<'a> {
    images: Array2<f64>,
    captions: Vec<(String, Option<(String, bool)>)>,
    side: usize,
    cols: usize,
    rows: usize,
    caption_h: u32,
    title: &'a str,
}

impl Draw for ClassGrid<'_> {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        let body =
            if self.title.is_empty() { area.margin(10, 0, 0, 0) } else { text::titled(area, self.title)? };
        let body = body.margin(4, 4, 10, 10);
        let cells = body.split_evenly((self.rows, self.cols));
        let s = self.side as f64;
        let wrong = RGBColor(213, 94, 0);
        for (n, (cell, (first, second))) in cells.iter().zip(&self.captions).enumerate() {
            let (w, h) = cell.dim_in_pixel();
            let (picture, caption) = cell.split_vertically(h.saturating_sub(self.caption_h));
            let pad = (w as i32 - (h.saturating_sub(self.caption_h)) as i32).max(0) as u32 / 2;
            let picture = picture.margin(3, 3, pad + 3, pad + 3);
            let mut chart =
                ChartBuilder::on(&picture).build_cartesian_2d(0.0..s, 0.0..s).map_err(plot_error)?;
            let col = self.images.column(n);
            let (lo, hi) = range::finite_range(col.iter().copied()).unwrap_or((0.0, 1.0));
            let span = if hi > lo { hi - lo } else { 1.0 };
            raster::raster(&mut chart, |px, py| {
                let c = (px.floor() as usize).min(self.side - 1);
                let r = ((s - py).floor() as usize).min(self.side - 1);
                style::blend(style::BACKGROUND, style::INK, (col[r * self.side + c] - lo) / span)
            })?;
            axes::frame(&mut chart)?;
            let centre = Pos::new(HPos::Center, VPos::Top);
            let (tw, _) = caption.dim_in_pixel();
            let x = tw as i32 / 2;
            caption.draw_text(first, &text::text(15).pos(centre), (x, 2)).map_err(plot_error)?;
            if let Some((p, right)) = second {
                let ink = if *right { style::INK } else { wrong };
                caption.draw_text(p, &text::text(15).color(&ink).pos(centre), (x, 22)).map_err(plot_error)?;
            }
        }
        Ok(())
    }
}

/// The confusion matrix C (C[i, j] = examples of true class i predicted as j) as a heatmap
/// with the count in each cell and the class names on both axes (rotated under the
/// columns). Colour is the share of row i (how class i's examples are predicted); the
/// title, if empty, gives the accuracy trace(C)/m.
///
/// Errors: a non-square or empty matrix, one with no examples, or a number of names other
/// than k.
pub fn class_confusion_matrix(cm: ArrayView2<usize>, class_names: &[&str], title: &str) -> Result<Figure> {
    let title = crate::evaluation::confusion_title(cm, title)?;
    let k = cm.nrows();
    if class_names.len() != k {
        return Err(AnnError::ShapeMismatch {
            context: "class_confusion_matrix: one name per class".into(),
            expected: format!("{k} names"),
            got: format!("{} names", class_names.len()),
        }
        .into());
    }
    let longest = class_names.iter().map(|n| n.chars().count()).max().unwrap_or(1) as u32;
    let label_px = 20 + 9 * longest;
    let below_px = 80;
    let side = (460 + 40 * k as u32).min(1000);
    let drawing = NamedConfusion { cm: cm.to_owned(), names: class_names, title: &title, label_px };
    Figure::from_drawing(side + label_px + 40, side + below_px, &title, &drawing)
}

struct NamedConfusion<'a> {
    cm: Array2<usize>,
    names: &'a [&'a str],
    title: &'a str,
    label_px: u32,
}

impl Draw for NamedConfusion<'_> {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        let body = text::titled(area, self.title)?;
        let k = self.cm.nrows();
        let kf = k as f64;
        let mut chart = ChartBuilder::on(&body)
            .margin(16)
            .margin_right(30)
            .x_label_area_size(70)
            .y_label_area_size(self.label_px + 20)
            .build_cartesian_2d(-0.5..kf - 0.5, -0.5..kf - 0.5)
            .map_err(plot_error)?;
        let name = |i: i64| usize::try_from(i).ok().and_then(|i| self.names.get(i)).copied().unwrap_or("");
        // The column names are drawn below, on up to two lines each.
        let xf = |_: &f64| String::new();
        let yf = |v: &f64| name((kf - 1.0 - v).round() as i64).to_string();
        crate::evaluation::draw_confusion_axes(&mut chart, k, &xf, &yf)?;
        crate::evaluation::draw_confusion_cells(&mut chart, self.cm.view(), style::TICK_LABEL_SIZE)?;
        axes::frame(&mut chart)?;
        // `area` is the figure's root, so the chart's backend coordinates are its own.
        let below = Pos::new(HPos::Center, VPos::Top);
        for j in 0..k {
            let (px, py) = chart.backend_coord(&(j as f64, -0.5));
            for (line, part) in two_lines(name(j as i64)).iter().enumerate() {
                let t = text::text(style::TICK_LABEL_SIZE).pos(below);
                area.draw_text(part, &t, (px, py + 8 + 19 * line as i32)).map_err(plot_error)?;
            }
        }
        Ok(())
    }
}

/// A class name on at most two lines: split after a '/' or at the first space
/// ("T-shirt/" "top", "Ankle" "boot").
fn two_lines(name: &str) -> Vec<&str> {
    if let Some(i) = name.find('/') {
        vec![&name[..=i], &name[i + 1..]]
    } else if let Some(i) = name.find(' ') {
        vec![&name[..i], &name[i + 1..]]
    } else {
        vec![name]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    fn names() -> Vec<&'static str> {
        vec!["T-shirt/top", "Trouser", "Ankle boot"]
    }

    #[test]
    fn grid_with_and_without_predictions() {
        let x = Array2::from_shape_fn((16, 5), |(i, j)| (i * j) as f64);
        let truth = [0, 1, 2, 0, 1];
        let a = class_image_grid(x.view(), &[0, 2, 4], &truth, None, &names(), 2, "classes").unwrap();
        let b =
            class_image_grid(x.view(), &[0, 2, 4], &truth, Some(&[0, 2, 2, 1, 0]), &names(), 3, "").unwrap();
        assert!(a.height() > 0 && b.width() > a.width());
        assert!(class_image_grid(x.view(), &[], &truth, None, &names(), 2, "").is_err());
        assert!(class_image_grid(x.view(), &[5], &truth, None, &names(), 2, "").is_err());
        assert!(class_image_grid(x.view(), &[0], &truth, None, &names(), 0, "").is_err());
        assert!(class_image_grid(x.view(), &[0], &truth, Some(&[3, 0, 0, 0, 0]), &names(), 1, "").is_err());
        assert!(
            class_image_grid(x.slice(ndarray::s![..15, ..]), &[0], &truth, None, &names(), 1, "").is_err()
        );
    }

    #[test]
    fn named_confusion_matrix() {
        let cm = array![[5, 1, 0], [0, 6, 0], [2, 0, 3]];
        let fig = class_confusion_matrix(cm.view(), &names(), "").unwrap();
        assert!(fig.title().contains("14 of 17 correct"));
        assert!(class_confusion_matrix(cm.view(), &names()[..2], "").is_err());
        assert_eq!(two_lines("T-shirt/top"), ["T-shirt/", "top"]);
        assert_eq!(two_lines("Ankle boot"), ["Ankle", "boot"]);
        assert_eq!(two_lines("Bag"), ["Bag"]);
        assert!(class_confusion_matrix(Array2::<usize>::zeros((3, 3)).view(), &names(), "").is_err());
    }
}
