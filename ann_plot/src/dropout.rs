//! Inverted dropout on one layer, from a real training-mode pass: activations before the
//! mask, the mask D, and the survivors scaled by 1/keep_prob.

use crate::checks;
use crate::colorbar;
use crate::error::{AnnError, PlotError, Result, bad_hyper, shape_str};
use crate::figure::{Draw, Figure};
use crate::heatmap;
use crate::style::{self, Colormap};
use crate::text;
use ann_core::{Cache, Network, Train};
use ndarray::{Array2, s};
use plotters::coord::Shift;
use plotters::prelude::*;

/// Colour of dropped units in the "after" panel.
const DROPPED: RGBColor = RGBColor(205, 205, 205);

/// Most examples (columns) drawn, so that each stays wide enough to see; a larger batch shows
/// its first 48.
pub const MAX_DROPOUT_COLUMNS: usize = 48;

/// Dropout on layer `layer` (1-based) in the training-mode pass `cache` of `net`
/// (from [`Network::forward_train`]): three heatmaps, neurons × examples,
///
/// 1. A[l] = g(Z[l]) before the mask (recomputed from the cached Z[l]);
/// 2. the mask D[l] ~ Bernoulli(keep_prob) (dark = kept, 1; white = dropped, 0);
/// 3. A[l] ⊙ D[l] / keep_prob, the cached activations the next layer saw (dropped units,
///    which are 0, in grey so they differ from units that were inactive anyway).
///
/// Panels 1 and 3 share one colour scale, so the 1/keep_prob boost of the survivors is
/// visible. The title states keep_prob and the fraction actually kept. Batches wider than
/// [`MAX_DROPOUT_COLUMNS`] show their first columns. An empty `title` gives a default one.
///
/// Errors: `layer` outside 1..=L, a cache from another architecture, or a layer without a
/// mask (keep_prob = 1).
pub fn dropout_mask(net: &Network, cache: &Cache<Train>, layer: usize, title: &str) -> Result<Figure> {
    if layer == 0 || layer > net.num_layers() {
        return Err(bad_hyper("layer", layer, &format!("must lie in 1..={}", net.num_layers())));
    }
    if cache.num_layers() != net.num_layers() {
        return Err(AnnError::ShapeMismatch {
            context: "dropout_mask: the cache must come from this network".into(),
            expected: format!("{} layers", net.num_layers()),
            got: format!("{} layers", cache.num_layers()),
        }
        .into());
    }
    let units = net.layers()[layer - 1].units();
    let (z, a, d) = match (cache.z(layer), cache.a(layer), cache.mask(layer)) {
        (Some(z), Some(a), Some(d)) => (z, a, d),
        (_, _, None) => {
            return Err(PlotError::Draw(format!(
                "layer {layer} has no dropout mask in this pass (keep_prob[{layer}] = 1)"
            )));
        }
        _ => return Err(PlotError::Draw(format!("the cache has no Z[{layer}] or A[{layer}]"))),
    };
    if z.nrows() != units || a.dim() != z.dim() || d.dim() != z.dim() {
        return Err(AnnError::ShapeMismatch {
            context: format!(
                "dropout_mask: Z[{layer}], A[{layer}], D[{layer}] of layer {layer} ({units} units)"
            ),
            expected: format!("({units}, m)"),
            got: format!("{} {} {}", shape_str(z.shape()), shape_str(a.shape()), shape_str(d.shape())),
        }
        .into());
    }
    let keep = cache.keep_prob(layer);
    let m = z.ncols().min(MAX_DROPOUT_COLUMNS);
    let z = z.slice(s![.., ..m]);
    let before = net.layers()[layer - 1].activation.forward(z);
    let mask = d.slice(s![.., ..m]).to_owned();
    let after = a.slice(s![.., ..m]).to_owned();
    checks::check_finite(before.iter().chain(after.iter()), &format!("A[{layer}]"))?;
    let kept = mask.iter().filter(|&&v| v != 0.0).count() as f64 / mask.len().max(1) as f64;
    let title = if title.is_empty() {
        format!(
            "Inverted dropout on layer {layer}: keep_prob = {keep}, kept {:.1} % of {} units",
            100.0 * kept,
            mask.len()
        )
    } else {
        title.to_string()
    };
    let cols_note = if cache.batch_size() > m {
        format!(" (first {m} of {})", cache.batch_size())
    } else {
        String::new()
    };
    let drawing = DropoutPanels { title: &title, layer, keep, before, mask, after, cols_note };
    Figure::from_drawing(style::COLUMN_WIDTH, 860, &title, &drawing)
}

struct DropoutPanels<'a> {
    title: &'a str,
    layer: usize,
    keep: f64,
    before: Array2<f64>,
    mask: Array2<f64>,
    after: Array2<f64>,
    cols_note: String,
}

impl Draw for DropoutPanels<'_> {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        let body = text::titled(area, self.title)?;
        let (w, _) = body.dim_in_pixel();
        let (main, strip) = body.split_horizontally(w.saturating_sub(130));
        // Stacked, so the same example is the same column in all three.
        let panels = main.split_evenly((3, 1));
        let (cmap, lo, hi) = colorbar::activation_scale(self.before.iter().chain(self.after.iter()).copied());
        let l = self.layer;
        let x_desc = format!("example in the mini-batch{}", self.cols_note);
        let y_desc = format!("neuron of layer {l}");
        let color = |v: f64| cmap.color_in(v, lo, hi);
        let chart = heatmap::heatmap(
            &panels[0],
            &format!("A[{l}] = g(Z[{l}]) before dropout"),
            self.before.view(),
            color,
            &x_desc,
            &y_desc,
        )?;
        let kept_color = style::INK;
        heatmap::heatmap(
            &panels[1],
            &format!("mask D[{l}]: dark = kept, white = dropped"),
            self.mask.view(),
            |v| if v != 0.0 { kept_color } else { Colormap::Greys.color(0.0) },
            &x_desc,
            &y_desc,
        )?;
        // Dropped units are 0 like inactive ReLU units; grey tells them apart.
        let shown = Array2::from_shape_fn(self.after.dim(), |(r, c)| {
            if self.mask[[r, c]] == 0.0 { f64::NAN } else { self.after[[r, c]] }
        });
        heatmap::heatmap(
            &panels[2],
            &format!("A[{l}] ⊙ D[{l}] / {} (grey = dropped)", self.keep),
            shown.view(),
            |v| if v.is_nan() { DROPPED } else { color(v) },
            &x_desc,
            &y_desc,
        )?;
        let rows = chart.plotting_area().get_pixel_range().1;
        colorbar::colorbar(&strip, rows, color, (lo, hi), &format!("activation a[{l}]"))
    }
}
