//! Scatter plots of 2-D data sets: the points X (2, m) coloured by class, one panel or a
//! grid of panels (to compare data sets, noise levels, or raw and scaled features).

use crate::axes::{self, Axes};
use crate::checks;
use crate::error::{AnnError, Result};
use crate::figure::{Draw, Figure, plot_error};
use crate::legend;
use crate::range;
use crate::style;
use crate::text;
use ann_core::Dataset;
use ndarray::ArrayView2;
use plotters::coord::Shift;
use plotters::prelude::*;

/// Most panels [`datasets`] draws in one figure: a 3 × 3 grid.
pub const MAX_DATASET_PANELS: usize = 9;

/// Panels per row in [`datasets`].
const PER_ROW: usize = 3;

/// One data set X (2, m) as a scatter plot, each point coloured by its class `labels[j]`
/// (class 0 blue, class 1 vermillion, ...), with a legend per class. Axes are in the units
/// of X, so unscaled features show their real ranges. An empty `title` gives a default one.
///
/// Errors: X not (2, m), empty or non-finite X, not one label per column.
pub fn dataset(x: ArrayView2<f64>, labels: &[usize], title: &str) -> Result<Figure> {
    checks::check_points(x, labels, "dataset plot")?;
    let title = if title.is_empty() { format!("Data set (m = {})", x.ncols()) } else { title.to_string() };
    let panel = Panel { x, labels, caption: String::new() };
    Figure::from_drawing(900, 700, &title, &Scatter { panels: vec![panel], title: &title })
}

/// Several 2-D data sets side by side, three per row, each panel captioned with its name
/// and m; every panel has its own axes (in the units of its X). At most
/// [`MAX_DATASET_PANELS`] panels. An empty `title` gives a default one.
///
/// Errors: no panels or too many, a data set whose X is not (2, m), empty or non-finite.
pub fn datasets(panels: &[(&Dataset, &str)], title: &str) -> Result<Figure> {
    if panels.is_empty() {
        return Err(AnnError::EmptyInput("no data sets to plot".into()).into());
    }
    if panels.len() > MAX_DATASET_PANELS {
        return Err(AnnError::InvalidArchitecture(format!(
            "{} data sets: at most {MAX_DATASET_PANELS} panels fit in one figure",
            panels.len()
        ))
        .into());
    }
    let mut drawn = Vec::with_capacity(panels.len());
    for (k, (data, name)) in panels.iter().enumerate() {
        checks::check_points(data.x.view(), &data.labels, &format!("data set {} ({name})", k + 1))?;
        drawn.push(Panel {
            x: data.x.view(),
            labels: &data.labels,
            caption: format!("{name} (m = {})", data.len()),
        });
    }
    let title = if title.is_empty() { format!("{} data sets", panels.len()) } else { title.to_string() };
    let cols = panels.len().min(PER_ROW);
    let rows = panels.len().div_ceil(PER_ROW);
    // Title, plus a colour key row when there are several panels (a single panel has its
    // legend inside).
    let key = if panels.len() > 1 { 36 } else { 0 };
    // Several panels share the width of a notebook column, so their text keeps its size.
    let (w, panel_h) = if cols == 1 {
        (700, 470)
    } else {
        (style::COLUMN_WIDTH, style::COLUMN_WIDTH / cols as u32 * 11 / 10)
    };
    Figure::from_drawing(
        w,
        panel_h * rows as u32 + 50 + key,
        &title,
        &Scatter { panels: drawn, title: &title },
    )
}

struct Panel<'a> {
    x: ArrayView2<'a, f64>,
    labels: &'a [usize],
    caption: String,
}

struct Scatter<'a> {
    panels: Vec<Panel<'a>>,
    title: &'a str,
}

impl Panel<'_> {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>, legend: bool) -> Result<()> {
        let xs: Vec<f64> = self.x.row(0).to_vec();
        let ys: Vec<f64> = self.x.row(1).to_vec();
        let xr = range::axis_range(xs.iter().copied(), 0.05);
        let yr = range::axis_range(ys.iter().copied(), 0.05);
        let mut axes = Axes::new(&self.caption, xr, yr, "x₁", "x₂");
        axes.y_label_area = 60;
        let mut chart = axes::chart2d(area, &axes)?;
        let radius = if xs.len() > 1500 { 2 } else { 3 };
        let n_classes = self.labels.iter().copied().max().map_or(0, |c| c + 1);
        for c in 0..n_classes {
            let pts: Vec<(f64, f64)> =
                (0..xs.len()).filter(|&j| self.labels[j] == c).map(|j| (xs[j], ys[j])).collect();
            if pts.is_empty() {
                continue;
            }
            // One slightly transparent disc per point (no rim): overlaps stay visible and
            // the SVG stays small.
            let color = style::class_color(c).mix(0.8).filled();
            let series =
                chart.draw_series(pts.iter().map(|&p| Circle::new(p, radius, color))).map_err(plot_error)?;
            if legend {
                series
                    .label(format!("class {c}"))
                    .legend(move |(x, y)| Circle::new((x, y), radius + 1, color));
            }
        }
        if legend {
            legend::legend(&mut chart, SeriesLabelPosition::UpperRight)?;
        }
        Ok(())
    }
}

impl Draw for Scatter<'_> {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        let body = text::titled(area, self.title)?;
        if let [single] = &self.panels[..] {
            return single.draw(&body, true);
        }
        // One colour key for all panels, under the title.
        let n_classes = self.panels.iter().flat_map(|p| p.labels.iter()).copied().max().map_or(0, |c| c + 1);
        let (key, body) = body.split_vertically(36);
        let items: Vec<(String, RGBColor)> =
            (0..n_classes).map(|c| (format!("class {c}"), style::class_color(c))).collect();
        legend::key_row(&key, &items, false)?;
        let cols = self.panels.len().min(PER_ROW);
        let rows = self.panels.len().div_ceil(PER_ROW);
        let cells = body.split_evenly((rows, cols));
        for (panel, cell) in self.panels.iter().zip(&cells) {
            panel.draw(cell, false)?;
        }
        Ok(())
    }
}
