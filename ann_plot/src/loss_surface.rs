//! The cross-entropy loss on a 2-D slice of parameter space around trained
//! weights, as a 3-D surface and as a contour map.

use crate::axes::{self, Axes};
use crate::colorbar;
use crate::error::{AnnError, Result};
use crate::experiments::LossSurface;
use crate::figure::{Draw, Figure, plot_error};
use crate::landscape;
use crate::paths;
use crate::style::{self, Colormap};
use crate::text;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// The loss slice J(θ* + α d1 + β d2) of a [`loss_surface`](fn@crate::experiments::loss_surface)
/// run: left, a 3-D surface of J over (α, β) with a log-scaled J axis; right, the same values as a contour map
/// (log colour scale, iso-lines every ¼ decade) with θ* (α = β = 0) marked. An empty
/// `title` gives a default one.
///
/// Errors: a grid smaller than 2 × 2, or without any finite positive value.
pub fn loss_landscape(surface: &LossSurface, title: &str) -> Result<Figure> {
    let g = &surface.grid;
    if g.xs.len() < 2 || g.ys.len() < 2 {
        return Err(AnnError::EmptyInput("the loss grid needs at least 2 × 2 points".into()).into());
    }
    let scale = landscape::log_scale(g, 4.0)?;
    let title = if title.is_empty() {
        let dirs = if surface.filter_normalized { "filter-normalized" } else { "raw Gaussian" };
        format!("Cross-entropy loss around trained weights θ*: J(θ* + α·d1 + β·d2), {dirs} random directions")
    } else {
        title.to_string()
    };
    Figure::from_drawing(1000, 540, &title, &Landscape { s: surface, title: &title, scale })
}

struct Landscape<'a> {
    s: &'a LossSurface,
    title: &'a str,
    scale: (f64, f64),
}

impl Landscape<'_> {
    fn surface3d<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        let g = &self.s.grid;
        let (lo, hi) = self.scale;
        let floor = 10f64.powf(lo);
        let logv = |j: usize, i: usize| landscape::log10_floor(g.values[[j, i]], floor).min(hi);
        let (a0, a1) = (g.xs[0], g.xs[g.xs.len() - 1]);
        let (b0, b1) = (g.ys[0], g.ys[g.ys.len() - 1]);
        let area = area.margin(10, 10, 10, 10);
        let caption_area = area
            .titled("J as a surface (log scale)", text::text(style::PANEL_TITLE_SIZE))
            .map_err(plot_error)?;
        let mut chart = ChartBuilder::on(&caption_area)
            .margin(20)
            .margin_left(46)
            .build_cartesian_3d(a0..a1, lo..hi, b0..b1)
            .map_err(plot_error)?;
        chart.with_projection(|mut p| {
            p.pitch = 0.55;
            p.yaw = 0.7;
            p.scale = 0.8;
            p.into_matrix()
        });
        let fmt = |v: &f64| axes::tick(*v);
        chart
            .configure_axes()
            .label_style(text::text(style::TICK_LABEL_SIZE))
            .axis_panel_style(style::GRID.mix(0.3))
            .bold_grid_style(style::GRID)
            .light_grid_style(style::GRID.mix(0.4))
            .max_light_lines(1)
            .x_labels(5)
            .y_labels(5)
            .z_labels(5)
            .x_formatter(&fmt)
            .y_formatter(&landscape_pow)
            .z_formatter(&fmt)
            .draw()
            .map_err(plot_error)?;
        // One quad per grid cell, coloured by its mean height. Drawn far to near (the
        // projection looks from +α, +β towards the origin).
        let (nx, ny) = (g.xs.len(), g.ys.len());
        let mut quads = Vec::with_capacity((nx - 1) * (ny - 1));
        for j in 0..ny - 1 {
            for i in 0..nx - 1 {
                let corners = [(j, i), (j, i + 1), (j + 1, i + 1), (j + 1, i)];
                let mean = corners.iter().map(|&(j, i)| logv(j, i)).sum::<f64>() / 4.0;
                let pts: Vec<(f64, f64, f64)> =
                    corners.iter().map(|&(j, i)| (g.xs[i], logv(j, i), g.ys[j])).collect();
                quads.push((i + j, pts, mean));
            }
        }
        quads.sort_by_key(|q| std::cmp::Reverse(q.0));
        let edge = style::INK.mix(0.15);
        chart
            .draw_series(quads.iter().map(|(_, pts, mean)| {
                Polygon::new(pts.clone(), Colormap::Viridis.color_in(*mean, lo, hi).filled())
            }))
            .map_err(plot_error)?;
        chart
            .draw_series(quads.iter().map(|(_, pts, _)| {
                let mut ring = pts.clone();
                ring.push(pts[0]);
                PathElement::new(ring, edge)
            }))
            .map_err(plot_error)?;
        let label = text::text(style::AXIS_LABEL_SIZE);
        chart
            .draw_series([
                Text::new("α", ((a0 + a1) / 2.0, lo, b1 + 0.18 * (b1 - b0)), label.clone()),
                Text::new("β", (a1 + 0.18 * (a1 - a0), lo, (b0 + b1) / 2.0), label.clone()),
            ])
            .map_err(plot_error)?;
        // "J" left of the tick labels of the vertical axis (the edge at α = a0, β = b1), not
        // on the surface.
        let (px, py) = chart.as_coord_spec().translate(&(a0, (lo + hi) / 2.0, b1));
        let base = caption_area.get_base_pixel();
        let centred = label.pos(Pos::new(HPos::Center, VPos::Center));
        caption_area
            .draw_text("J", &centred, ((px - base.0 - 70).max(12), py - base.1))
            .map_err(plot_error)?;
        Ok(())
    }

    fn contour<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        let g = &self.s.grid;
        let (w, _) = area.dim_in_pixel();
        let (main, strip) = area.split_horizontally(w.saturating_sub(120));
        let xr = g.xs[0]..g.xs[g.xs.len() - 1];
        let yr = g.ys[0]..g.ys[g.ys.len() - 1];
        // The marker is explained above the chart: a legend inside would cover contours.
        let acc = self.s.center_accuracy.map_or(String::new(), |a| format!(", accuracy {:.1} %", 100.0 * a));
        let (note, main) = main.split_vertically(24);
        let centred = text::text(style::LEGEND_SIZE).pos(Pos::new(HPos::Center, VPos::Center));
        let (nw, _) = note.dim_in_pixel();
        note.draw_text(
            &format!("✕ θ* (trained): J = {:.3}{acc}", self.s.center_loss),
            &centred,
            (nw as i32 / 2 + 40, 12),
        )
        .map_err(plot_error)?;
        let mut chart =
            axes::chart2d(&main, &Axes::new("Contours of J", xr, yr, "α (along d1)", "β (along d2)"))?;
        landscape::draw_landscape(&mut chart, g, self.scale, 0.25)?;
        paths::draw_marker(&mut chart, (0.0, 0.0), "")?;
        axes::frame(&mut chart)?;
        let rows = colorbar::plot_rows(&chart);
        landscape::log_colorbar(&strip, rows, self.scale, "J (log scale)")
    }
}

fn landscape_pow(v: &f64) -> String {
    axes::pow10_tick(*v)
}

impl Draw for Landscape<'_> {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        let body = text::titled(area, self.title)?;
        let (w, _) = body.dim_in_pixel();
        let (left, right) = body.split_horizontally(w * 47 / 100);
        self.surface3d(&left)?;
        self.contour(&right)
    }
}
