//! The decision boundary forming during training: a multi-panel figure of a
//! few epochs, single frames, and an animated GIF of every recorded epoch.

use crate::axes::{self, Axes};
use crate::checks;
use crate::decision_boundary::ClassMap;
use crate::error::{AnnError, PlotError, Result};
use crate::experiments::{BoundaryFrame, BoundaryRun};
use crate::figure::{Draw, Figure, plot_error};
use crate::legend;
use crate::points;
use crate::range;
use crate::style;
use crate::text;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::ops::Range;
use std::path::Path;

/// Size of one GIF frame / single-frame figure, in pixels.
const FRAME_SIZE: (u32, u32) = (640, 640);

fn check_run(run: &BoundaryRun) -> Result<()> {
    if run.frames.is_empty() {
        return Err(AnnError::EmptyInput("the run recorded no frame".into()).into());
    }
    if run.xs.len() < 2 || run.ys.len() < 2 {
        return Err(AnnError::EmptyInput("the probability grid needs at least 2 × 2 points".into()).into());
    }
    checks::check_points(run.x.view(), &run.labels, "boundary frames")?;
    for f in &run.frames {
        checks::check_classifier(&f.network, "boundary frames")?;
        checks::check_finite([f.loss].iter(), &format!("loss of epoch {}", f.epoch))?;
    }
    Ok(())
}

fn ranges(run: &BoundaryRun) -> (Range<f64>, Range<f64>) {
    (run.xs[0]..run.xs[run.xs.len() - 1], run.ys[0]..run.ys[run.ys.len() - 1])
}

fn arch(run: &BoundaryRun) -> String {
    let sizes: Vec<String> = run.sizes.iter().map(|n| n.to_string()).collect();
    format!("[{}] ReLU, {}", sizes.join(", "), run.optimizer)
}

/// The probability map of one frame, evaluated from the frame's network copy.
fn class_map(run: &BoundaryRun, frame: &BoundaryFrame) -> Result<ClassMap> {
    let (xr, yr) = ranges(run);
    ClassMap::new(xr, yr, |p| Ok(frame.network.predict_proba(p)?))
}

fn frame_caption(frame: &BoundaryFrame, last_epoch: usize) -> String {
    format!(
        "epoch {} / {last_epoch}: J = {:.3}, accuracy {:.1} %",
        frame.epoch,
        frame.loss,
        100.0 * frame.accuracy
    )
}

/// Draws the map, the boundary lines and the data points of one frame on `area`.
fn draw_map<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    run: &BoundaryRun,
    map: &ClassMap,
    caption: &str,
    radius: i32,
    legend: bool,
) -> Result<()> {
    let (xr, yr) = ranges(run);
    let mut chart = axes::chart2d(area, &Axes::new(caption, xr, yr, "x₁", "x₂"))?;
    map.draw(&mut chart)?;
    let (xs, ys) = (run.x.row(0).to_vec(), run.x.row(1).to_vec());
    points::class_points(&mut chart, &xs, &ys, &run.labels, radius, legend)?;
    if legend {
        legend::legend(&mut chart, SeriesLabelPosition::UpperRight)?;
    }
    axes::frame(&mut chart)
}

/// Evenly spread frame indices, first and last included.
fn pick(n_frames: usize, panels: usize) -> Vec<usize> {
    let k = panels.clamp(1, n_frames);
    if k == 1 {
        return vec![n_frames - 1];
    }
    let mut idx: Vec<usize> = (0..k).map(|i| (i * (n_frames - 1) + (k - 1) / 2) / (k - 1)).collect();
    idx.dedup();
    idx
}

/// A grid of `panels` frames of a [`decision_boundary_frames`](crate::experiments::decision_boundary_frames)
/// run, evenly spread from the first to the last recorded epoch (3 per row): the model's
/// class probabilities over the input plane (as in
/// [`decision_boundary`](fn@crate::decision_boundary)), its boundaries and the training
/// points, captioned with the epoch, loss and accuracy. The static companion of
/// [`save_boundary_gif`]. An empty `title` gives a default one.
///
/// Errors: no frames, `panels` = 0, an inconsistent run (X not (2, m), labels missing,
/// a frame network that is not a 2-D classifier).
pub fn boundary_evolution(run: &BoundaryRun, panels: usize, title: &str) -> Result<Figure> {
    check_run(run)?;
    if panels == 0 {
        return Err(crate::error::bad_hyper("panels", 0, "must be at least 1"));
    }
    let idx = pick(run.frames.len(), panels);
    let maps = idx.iter().map(|&i| class_map(run, &run.frames[i])).collect::<Result<Vec<_>>>()?;
    let title = if title.is_empty() {
        format!("Decision boundary during training: {}", arch(run))
    } else {
        title.to_string()
    };
    // Two panels a row keep each map about 500 px wide in a notebook column.
    let cols = idx.len().min(2);
    let rows = idx.len().div_ceil(cols);
    let panel = style::COLUMN_WIDTH / cols as u32;
    let drawing = Evolution { run, idx, maps, title: &title, cols, rows };
    Figure::from_drawing(style::COLUMN_WIDTH, 70 + panel * 13 / 14 * rows as u32, &title, &drawing)
}

struct Evolution<'a> {
    run: &'a BoundaryRun,
    idx: Vec<usize>,
    maps: Vec<ClassMap>,
    title: &'a str,
    cols: usize,
    rows: usize,
}

impl Draw for Evolution<'_> {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        let body = text::titled(area, self.title)?;
        let cells = body.split_evenly((self.rows, self.cols));
        let last = self.run.frames.last().map_or(0, |f| f.epoch);
        for (k, (&i, map)) in self.idx.iter().zip(&self.maps).enumerate() {
            let frame = &self.run.frames[i];
            let caption = frame_caption(frame, last);
            // The class legend once, in the first panel.
            draw_map(&cells[k], self.run, map, &caption, 3, k == 0)?;
        }
        Ok(())
    }
}

/// One frame of the animation as a figure: the map of frame `index` (0-based, in the
/// run's epoch order) above the training-loss curve of all frames, the current epoch
/// marked. An empty `title` gives a default one.
///
/// Errors: `index` out of range, and those of [`boundary_evolution`].
pub fn boundary_frame(run: &BoundaryRun, index: usize, title: &str) -> Result<Figure> {
    check_run(run)?;
    let frame = run.frames.get(index).ok_or_else(|| {
        crate::error::bad_hyper("frame index", index, &format!("the run has {} frames", run.frames.len()))
    })?;
    let map = class_map(run, frame)?;
    let title = if title.is_empty() { default_frame_title(run) } else { title.to_string() };
    let drawing = FrameDrawing { run, index, map: &map, title: &title };
    Figure::from_drawing(FRAME_SIZE.0, FRAME_SIZE.1, &title, &drawing)
}

/// The architecture and optimizer alone: the frame's caption already says it is training
/// (a longer title is cut off at 640 px for a three-hidden-layer network).
fn default_frame_title(run: &BoundaryRun) -> String {
    arch(run)
}

struct FrameDrawing<'a> {
    run: &'a BoundaryRun,
    index: usize,
    map: &'a ClassMap,
    title: &'a str,
}

impl Draw for FrameDrawing<'_> {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        let body = text::titled(area, self.title)?;
        let (_, h) = body.dim_in_pixel();
        let (top, bottom) = body.split_vertically(h.saturating_sub(150));
        let frames = &self.run.frames;
        let frame = &frames[self.index];
        let last = frames.last().map_or(0, |f| f.epoch);
        draw_map(&top, self.run, self.map, &frame_caption(frame, last), 3, true)?;

        // The loss of every frame, the current one marked.
        let pts = axes::log_points(frames.iter().map(|f| (f.epoch as f64, f.loss)));
        let (lo, hi) = range::finite_range(pts.iter().map(|p| p.1)).unwrap_or((-1.0, 0.0));
        let mut chart = ChartBuilder::on(&bottom.margin(0, 6, 0, 0))
            .margin(8)
            .margin_right(24)
            .x_label_area_size(44)
            .y_label_area_size(84)
            .build_cartesian_2d(0.0..(last.max(1)) as f64, range::padded((lo, hi), 0.1))
            .map_err(plot_error)?;
        let yf = |v: &f64| axes::pow10_tick(*v);
        let xf = |v: &f64| axes::tick(*v);
        chart
            .configure_mesh()
            .x_desc("epoch")
            .y_desc("J (log)")
            .axis_desc_style(text::text(style::TICK_LABEL_SIZE))
            .label_style(text::text(style::TICK_LABEL_SIZE))
            .axis_style(style::NEUTRAL)
            .bold_line_style(style::GRID)
            .max_light_lines(0)
            .x_labels(9)
            .y_labels(3)
            .x_label_formatter(&xf)
            .y_label_formatter(&yf)
            .draw()
            .map_err(plot_error)?;
        let faint = style::NEUTRAL.mix(0.5).stroke_width(2);
        chart.draw_series(LineSeries::new(pts.clone(), faint)).map_err(plot_error)?;
        let done: Vec<(f64, f64)> = pts.iter().copied().filter(|p| p.0 <= frame.epoch as f64).collect();
        let ink = style::series_color(0).stroke_width(3);
        chart.draw_series(LineSeries::new(done.clone(), ink)).map_err(plot_error)?;
        if let Some(&now) = done.last() {
            chart
                .draw_series(std::iter::once(Circle::new(now, 6, style::series_color(1).filled())))
                .map_err(plot_error)?;
        }
        Ok(())
    }
}

/// Writes an animated GIF (looping) of every frame of the run to `path`, one frame per
/// recorded epoch, each shown for `frame_delay_ms` milliseconds (GIF stores hundredths
/// of a second). Frames look like [`boundary_frame`]. Deterministic: the same run gives
/// the same bytes.
///
/// Errors: `frame_delay_ms` = 0, an unwritable path ([`PlotError::Draw`]), and those of
/// [`boundary_evolution`]; a panic inside plotters is reported as an error too.
pub fn save_boundary_gif(run: &BoundaryRun, path: impl AsRef<Path>, frame_delay_ms: u32) -> Result<()> {
    check_run(run)?;
    if frame_delay_ms == 0 {
        return Err(crate::error::bad_hyper("frame_delay_ms", 0, "must be at least 1"));
    }
    style::register_fonts()?;
    let maps = run.frames.iter().map(|f| class_map(run, f)).collect::<Result<Vec<_>>>()?;
    let title = default_frame_title(run);
    let path = path.as_ref();
    let render = || -> Result<()> {
        let root = BitMapBackend::gif(path, FRAME_SIZE, frame_delay_ms)
            .map_err(|e| PlotError::Draw(format!("cannot write {}: {e}", path.display())))?
            .into_drawing_area();
        for (index, map) in maps.iter().enumerate() {
            root.fill(&style::BACKGROUND).map_err(plot_error)?;
            FrameDrawing { run, index, map, title: &title }.draw(&root)?;
            root.present().map_err(plot_error)?;
        }
        Ok(())
    };
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(render))
        .map_err(|_| PlotError::Draw("drawing the GIF panicked inside plotters".into()))?
}

#[cfg(test)]
mod tests {
    use super::pick;

    #[test]
    fn picks_spread_first_to_last() {
        assert_eq!(pick(41, 6), vec![0, 8, 16, 24, 32, 40]);
        assert_eq!(pick(3, 6), vec![0, 1, 2]);
        assert_eq!(pick(5, 1), vec![4]);
    }
}
