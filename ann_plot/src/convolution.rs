//! Figures of convolutional networks: the filters a layer learned, and one image's feature
//! maps, layer after layer.

use crate::axes;
use crate::colorbar;
use crate::error::{AnnError, Result, bad_hyper};
use crate::figure::{Draw, Figure, plot_error};
use crate::raster;
use crate::style::{self, Colormap};
use crate::text;
use ann_core::{Image, LayerKind, Network};
use ndarray::{Array2, ArrayView1, ArrayView2};
use plotters::coord::Shift;
use plotters::prelude::*;

/// Filters (rows) or channels (columns) shown at most.
pub const MAX_FILTERS_SHOWN: usize = 32;

/// The layer `l` of `net` if it is convolutional: its filters W[l] (F, C·k·k) and geometry.
fn conv_layer<'a>(net: &'a Network, l: usize, what: &str) -> Result<(ArrayView2<'a, f64>, ann_core::Conv2d)> {
    let layer = (l >= 1).then(|| net.layers().get(l - 1)).flatten();
    match layer.map(|layer| (layer, layer.kind)) {
        Some((layer, LayerKind::Conv2d(conv))) => Ok((layer.w.view(), conv)),
        Some(_) => {
            Err(AnnError::InvalidArchitecture(format!("{what}: layer {l} is not convolutional")).into())
        }
        None => Err(bad_hyper("layer", l, &format!("must be in 1..={}", net.num_layers()))),
    }
}

/// The filters of convolutional layer `l` as k × k images: for one input channel, every
/// filter, eight to a row; for several, one row per filter and one column per channel (the
/// first [`MAX_FILTERS_SHOWN`] of each). One diverging scale for all, symmetric about 0 (white):
/// blue weights take the pixel away from the filter's output, orange ones add it.
///
/// Errors: `l` outside 1..=L or not a convolutional layer, or non-finite weights.
pub fn conv_filters(net: &Network, l: usize, title: &str) -> Result<Figure> {
    let (w, conv) = conv_layer(net, l, "conv_filters")?;
    crate::checks::check_finite(w.iter(), &format!("W[{l}]"))?;
    let (f, c, k) = (w.nrows(), conv.input.channels, conv.kernel);
    // (filter, channel) of each cell, and the grid's shape
    let (cells, cols): (Vec<(usize, usize)>, usize) = if c == 1 {
        let shown = f.min(MAX_FILTERS_SHOWN);
        ((0..shown).map(|i| (i, 0)).collect(), shown.min(8))
    } else {
        let (rows, cols) = (f.min(MAX_FILTERS_SHOWN), c.min(MAX_FILTERS_SHOWN));
        ((0..rows).flat_map(|i| (0..cols).map(move |j| (i, j))).collect(), cols)
    };
    let rows = cells.len().div_ceil(cols);
    let m = w.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let m = if m > 0.0 { m } else { 1.0 };
    let title = if title.is_empty() {
        format!("Layer {l}: {f} filters of {c}×{k}×{k} (W[{l}] is ({f}, {}))", c * k * k)
    } else {
        title.to_string()
    };
    let cell = (640 / cols as u32).clamp(28, 110);
    let drawing =
        Filters { w: w.to_owned(), k, cells, cols, rows, scale: m, title: &title, by_channel: c > 1, l };
    let width = cell * cols as u32 + 200;
    let height = cell * rows as u32 + 76;
    Figure::from_drawing(width.max(560), height, &title, &drawing)
}

struct Filters<'a> {
    w: Array2<f64>,
    k: usize,
    cells: Vec<(usize, usize)>,
    cols: usize,
    rows: usize,
    scale: f64,
    title: &'a str,
    by_channel: bool,
    l: usize,
}

impl Draw for Filters<'_> {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        let body = text::titled(area, self.title)?;
        let (bw, _) = body.dim_in_pixel();
        let (main, strip) = body.split_horizontally(bw.saturating_sub(140));
        let main = main.margin(4, 16, 40, 8);
        let grid = main.split_evenly((self.rows, self.cols));
        let k = self.k as f64;
        for (cell, &(f, c)) in grid.iter().zip(&self.cells) {
            let (cw, ch) = cell.dim_in_pixel();
            let side = cw.min(ch).saturating_sub(6);
            let cell = cell.margin(3, ch.saturating_sub(side + 3), 3, cw.saturating_sub(side + 3));
            let mut chart = ChartBuilder::on(&cell).build_cartesian_2d(0.0..k, 0.0..k).map_err(plot_error)?;
            let first = c * self.k * self.k;
            raster::raster(&mut chart, |x, y| {
                let (j, i) =
                    ((x.floor() as usize).min(self.k - 1), ((k - y).floor() as usize).min(self.k - 1));
                Colormap::Diverging.color_in(self.w[[f, first + i * self.k + j]], -self.scale, self.scale)
            })?;
            axes::frame(&mut chart)?;
        }
        // Row and column labels: filter numbers (and channel numbers for several channels).
        let label = text::text(style::TICK_LABEL_SIZE - 2);
        if self.by_channel {
            for (r, cell) in grid.iter().step_by(self.cols).enumerate() {
                let (x, y) = cell.get_base_pixel();
                let (_, h) = cell.dim_in_pixel();
                let pos = plotters::style::text_anchor::Pos::new(
                    plotters::style::text_anchor::HPos::Right,
                    plotters::style::text_anchor::VPos::Center,
                );
                area.draw_text(&format!("{}", r + 1), &label.clone().pos(pos), (x - 6, y + h as i32 / 2))
                    .map_err(plot_error)?;
            }
        }
        let (_, mh) = main.dim_in_pixel();
        let top = main.get_base_pixel().1;
        colorbar::colorbar(
            &strip,
            top..top + mh as i32,
            |v| Colormap::Diverging.color_in(v, -self.scale, self.scale),
            (-self.scale, self.scale),
            &format!("weight W[{}]", self.l),
        )
    }
}

/// One image's trip through the convolutional layers of `net`: the input `x` (one column,
/// C·H·W entries; its first channel is shown), then each convolutional layer's maps A[l]
/// (after g and the pooling; the first [`MAX_FILTERS_SHOWN`] of each), eight to a row. Each
/// layer has its own colour scale, viridis on [0, max] for non-negative maps (ReLU), the
/// diverging map otherwise, so darker means a weaker response within the layer.
///
/// Errors: a network without a convolutional first layer, an input of the wrong length or
/// with non-finite values.
pub fn feature_maps(net: &Network, x: ArrayView1<f64>, title: &str) -> Result<Figure> {
    let (_, first) = conv_layer(net, 1, "feature_maps")?;
    let column = x.to_owned().insert_axis(ndarray::Axis(1));
    let cache = net.forward(column.view())?;
    let mut blocks = vec![Block {
        caption: format!("input X ({})", first.input),
        image: Image::new(1, first.input.height, first.input.width),
        maps: column.slice(ndarray::s![..first.input.height * first.input.width, ..]).to_owned(),
        shown: 1,
        scale: colorbar::activation_scale(column.iter().copied()),
    }];
    for (i, layer) in net.layers().iter().enumerate() {
        let (LayerKind::Conv2d(conv), Some(image)) = (layer.kind, layer.output_image()) else { continue };
        let a =
            cache.a(i + 1).ok_or_else(|| AnnError::EmptyInput(format!("no A[{}] in the cache", i + 1)))?;
        crate::checks::check_finite(a.iter(), &format!("A[{}]", i + 1))?;
        let pool = conv.pool.map_or(String::new(), |p| format!(", max pool {w}×{w}", w = p.window));
        let k = conv.kernel;
        blocks.push(Block {
            caption: format!("A[{}]: {k}×{k} filters, {}{pool} → {image}", i + 1, layer.activation.name()),
            image,
            maps: a.to_owned(),
            shown: image.channels.min(MAX_FILTERS_SHOWN),
            scale: colorbar::activation_scale(a.iter().copied()),
        });
    }
    let title = if title.is_empty() {
        "One image, layer by layer: the feature maps".to_string()
    } else {
        title.into()
    };
    let cols = 8;
    let rows: usize = blocks.iter().map(|b| b.shown.div_ceil(cols)).sum();
    let cell = 86;
    let height = cell * rows as u32 + 34 * blocks.len() as u32 + 60;
    let drawing = Maps { blocks, cols, title: &title };
    Figure::from_drawing(cell * cols as u32 + 40, height, &title, &drawing)
}

struct Block {
    caption: String,
    image: Image,
    maps: Array2<f64>,
    shown: usize,
    scale: (Colormap, f64, f64),
}

struct Maps<'a> {
    blocks: Vec<Block>,
    cols: usize,
    title: &'a str,
}

impl Draw for Maps<'_> {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        let body = text::titled(area, self.title)?.margin(0, 6, 20, 20);
        let (_, total_h) = body.dim_in_pixel();
        let weights: Vec<u32> =
            self.blocks.iter().map(|b| 34 + 86 * b.shown.div_ceil(self.cols) as u32).collect();
        let sum: u32 = weights.iter().sum();
        let mut rest = body;
        for (b, &wgt) in self.blocks.iter().zip(&weights) {
            let h = (wgt as u64 * total_h as u64 / sum.max(1) as u64) as u32;
            let (block, below) = rest.split_vertically(h);
            rest = below;
            let (caption, maps) = block.split_vertically(30);
            caption.draw_text(&b.caption, &text::text(style::LEGEND_SIZE), (0, 6)).map_err(plot_error)?;
            let rows = b.shown.div_ceil(self.cols);
            let grid = maps.split_evenly((rows, self.cols));
            let (hh, ww) = (b.image.height as f64, b.image.width as f64);
            let (cmap, lo, hi) = b.scale;
            for (ch, cell) in grid.iter().enumerate().take(b.shown) {
                let (cw, chh) = cell.dim_in_pixel();
                let side = cw.min(chh).saturating_sub(6);
                let cell = cell.margin(3, chh.saturating_sub(side + 3), 3, cw.saturating_sub(side + 3));
                let mut chart =
                    ChartBuilder::on(&cell).build_cartesian_2d(0.0..ww, 0.0..hh).map_err(plot_error)?;
                raster::raster(&mut chart, |x, y| {
                    let col = (x.floor() as usize).min(b.image.width - 1);
                    let row = ((hh - y).floor() as usize).min(b.image.height - 1);
                    cmap.color_in(b.maps[[b.image.row(ch, row, col), 0]], lo, hi)
                })?;
                axes::frame(&mut chart)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ann_core::{Activation, Conv2dConfig, Init, LayerSpec, Task};
    use ndarray::Array1;

    fn cnn(channels: usize) -> Network {
        let specs = [
            Conv2dConfig::new(6, 3).padding(1).pool(2).into(),
            Conv2dConfig::new(4, 3).padding(1).into(),
            LayerSpec::Dense(3),
        ];
        Network::convolutional(
            Image::new(channels, 8, 8),
            &specs,
            Activation::Relu,
            Task::MultiClass,
            Init::He,
            1,
        )
        .unwrap()
    }

    #[test]
    fn filters_of_one_channel_and_of_several() {
        let net = cnn(1);
        let one = conv_filters(&net, 1, "").unwrap();
        assert!(one.title().contains("6 filters of 1×3×3"), "{}", one.title());
        let several = conv_filters(&net, 2, "").unwrap();
        assert!(several.title().contains("4 filters of 6×3×3"));
        assert!(several.height() > 0);
        assert!(conv_filters(&net, 3, "").is_err(), "layer 3 is dense");
        assert!(conv_filters(&net, 0, "").is_err());
        assert!(conv_filters(&net, 4, "").is_err());
    }

    #[test]
    fn feature_maps_of_one_image() {
        let net = cnn(2);
        let x = Array1::from_shape_fn(128, |i| (i as f64 * 0.37).sin());
        let fig = feature_maps(&net, x.view(), "").unwrap();
        assert!(fig.height() > fig.width() / 2);
        assert!(feature_maps(&net, Array1::zeros(127).view(), "").is_err());
        let mut bad = x.clone();
        bad[3] = f64::NAN;
        assert!(feature_maps(&net, bad.view(), "").is_err());
        let dense = Network::new(&[4, 3, 2], Activation::Relu, Task::MultiClass, Init::He, 0).unwrap();
        assert!(feature_maps(&dense, Array1::zeros(4).view(), "").is_err());
    }
}
