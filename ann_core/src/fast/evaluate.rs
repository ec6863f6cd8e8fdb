//! The whole data set in eval mode, chunk by chunk through reused buffers: the loss and
//! accuracy that training records after every epoch, with the bits of
//! [`evaluate`](crate::evaluate).

use super::conv::pool_batch;
use super::kernels::{activate, add_bias};
use super::threads::{OWN_THREADS, cores, join};
use super::workspace::{EvalBufs, Shape, Workspace, add_bias_and_activate, linear_into};
use crate::data::DataView;
use crate::error::Result;
use crate::l2::L2;
use crate::loss::Loss;
use crate::metrics::count_correct;
use crate::network::Network;
use crate::normalization::in_layer;
use ndarray::{Array2, ArrayView2, ArrayViewMut1, ArrayViewMut2, s};

/// Columns per chunk when a whole data set is evaluated: bounds the evaluation buffers to
/// (n_l × 256) per layer whatever m is, so a 256-unit layer's Z and A (1 MB) stay in cache.
pub(crate) const EVAL_CHUNK: usize = 256;

/// Entries of a layer's buffer per chunk at most (8 MB): a chunk of images is narrower than
/// [`EVAL_CHUNK`] when each image has many units (a convolutional layer's feature maps).
const LAYER_ENTRIES: usize = 1 << 20;

/// The columns of a chunk for these layers.
pub(super) fn chunk_width(shapes: &[Shape]) -> usize {
    let per_example = shapes.iter().map(|s| s.z_units).max().unwrap_or(1);
    EVAL_CHUNK.min((LAYER_ENTRIES / per_example.max(1)).max(1))
}

/// Buffers of `len` entries seen as (`rows`, `cols`), standard layout for any `cols`.
fn view(buf: &mut [f64], rows: usize, cols: usize) -> ArrayViewMut2<'_, f64> {
    ArrayViewMut2::from_shape((rows, cols), &mut buf[..rows * cols])
        .expect("a buffer of rows · chunk entries")
}

/// Evaluations of at least this many multiply-adds (m · Σ n_l n_{l−1}) use two cores: below
/// it, starting and joining a thread costs about what it saves (10,000 examples through
/// [2, 64, 32, 1], 22M, already gain; measured on an idle machine).
pub(super) const PARALLEL_EVAL_WORK: usize = 1 << 22;

impl Workspace {
    /// (J + L2, accuracy) of `net` on a whole data set in eval mode, as
    /// [`crate::evaluate`], in chunks of [`EVAL_CHUNK`] columns through reused buffers; for
    /// big evaluations (default build, two or more cores) the second half of the chunks runs
    /// on another core. The data must be checked against the network.
    /// The per-column losses are summed column after column, as `evaluate` does, so the
    /// result has its bits.
    pub(crate) fn evaluate_unchecked(
        &mut self,
        net: &Network,
        data: DataView<'_>,
        l2: impl Into<L2>,
    ) -> Result<(f64, Option<f64>)> {
        let l2 = l2.into();
        let m = data.x.ncols();
        self.terms.resize(m, 0.0);
        let mut terms = std::mem::take(&mut self.terms);
        let loss_of = net.loss();
        let y = data.y;
        // Each part writes its columns' loss terms and counts the right ones.
        let correct = self.in_parts(net, data.x, &mut terms, |terms: &mut [f64], start, z, a| {
            let cols = z.ncols();
            let y = y.slice(s![.., start..start + cols]);
            let columns = z.columns().into_iter().zip(a.columns()).zip(y.columns());
            for (t, ((zc, ac), yc)) in terms[..cols].iter_mut().zip(columns) {
                *t = loss_of.example_loss(zc, ac, yc);
            }
            count_correct(a, y)
        });
        self.terms = terms;
        let correct: usize = correct?;
        // Column after column, as `Loss::cost` sums them: the bits of `evaluate`.
        let total = self.terms.iter().fold(0.0, |t, &c| t + c);
        let loss = total / m as f64 + l2.penalty(net.weights(), m);
        let acc = (net.loss() != Loss::MeanSquaredError).then(|| correct as f64 / m as f64);
        Ok((loss, acc))
    }

    /// Ŷ = A[L] of `net` for every column of `x` in eval mode, as
    /// [`Network::forward`] computes it, chunk by chunk (on two cores when it is big). `x`
    /// must be checked against the network.
    pub(crate) fn predict_unchecked(&mut self, net: &Network, x: ArrayView2<'_, f64>) -> Result<Array2<f64>> {
        let mut out = Array2::zeros((net.output_size(), x.ncols()));
        let mut columns: Vec<ArrayViewMut1<'_, f64>> = out.columns_mut().into_iter().collect();
        self.in_parts(net, x, &mut columns, |cols: &mut [ArrayViewMut1<'_, f64>], _, _, a| {
            for (dst, src) in cols.iter_mut().zip(a.columns()) {
                dst.assign(&src);
            }
            0
        })?;
        drop(columns);
        Ok(out)
    }

    /// Runs the eval-mode forward pass over the columns of `x` chunk by chunk and hands each
    /// chunk's output layer (Z[L], A[L]) to `sink` with the part of `per_column` (one item per
    /// column of `x`) that belongs to it and the chunk's first column; for big evaluations
    /// (default build, two or more cores) the second half of the chunks runs on another core.
    /// Returns the sum of what `sink` returned.
    fn in_parts<T: Send>(
        &mut self,
        net: &Network,
        x: ArrayView2<'_, f64>,
        per_column: &mut [T],
        sink: impl Fn(&mut [T], usize, ArrayView2<f64>, ArrayView2<f64>) -> usize + Sync,
    ) -> Result<usize> {
        let m = x.ncols();
        let width = chunk_width(&self.shapes);
        let chunks = m.div_ceil(width);
        let work = m * net.layers().iter().map(|l| l.w.len() * (l.z_units() / l.w.nrows())).sum::<usize>();
        let threads =
            if OWN_THREADS && chunks >= 2 && work >= PARALLEL_EVAL_WORK && cores() >= 2 { 2 } else { 1 };
        while self.eval.len() < threads {
            self.eval.push(EvalBufs::new(&self.shapes, width));
        }
        if threads == 2 {
            // The first half of the chunks here, the second half on another core.
            let mid = chunks.div_ceil(2) * width;
            let (part_a, part_b) = per_column.split_at_mut(mid);
            let (bufs_a, bufs_b) = self.eval.split_at_mut(1);
            let (here, other) = join(
                || eval_columns(net, x, 0, &mut bufs_a[0], part_a, false, &sink),
                || eval_columns(net, x, mid, &mut bufs_b[0], part_b, false, &sink),
            );
            Ok(here? + other?)
        } else {
            eval_columns(net, x, 0, &mut self.eval[0], per_column, true, &sink)
        }
    }
}

/// Eval-mode forward pass over the columns `first..first + per_column.len()` of `x`, chunk
/// by chunk through `bufs`; hands each chunk's Z[L], A[L] to `sink` (see `in_parts`) and
/// returns the sum of what it returned. `split` as in `matmul_into`.
fn eval_columns<T>(
    net: &Network,
    x_all: ArrayView2<'_, f64>,
    first: usize,
    bufs: &mut EvalBufs,
    per_column: &mut [T],
    split: bool,
    sink: &impl Fn(&mut [T], usize, ArrayView2<f64>, ArrayView2<f64>) -> usize,
) -> Result<usize> {
    let EvalBufs { layers: bufs, scratch, conv: conv_scratch, width } = bufs;
    let layers = net.layers();
    let out = layers.len() - 1;
    let mut total = 0;
    for (c, part) in per_column.chunks_mut(*width).enumerate() {
        let start = first + c * *width;
        let cols = part.len();
        let x = x_all.slice(s![.., start..start + cols]);
        for (i, layer) in layers.iter().enumerate() {
            let (done, rest) = bufs.split_at_mut(i);
            let buf = &mut rest[0];
            let a_prev: ArrayView2<f64> = if i == 0 {
                x
            } else {
                let prev = &done[i - 1];
                ArrayView2::from_shape((layers[i - 1].units(), cols), &prev.a[..layers[i - 1].units() * cols])
                    .expect("a buffer of rows · chunk entries")
            };
            let mut z = view(&mut buf.z, layer.z_units(), cols);
            linear_into(&layer.kind, layer.w.view(), a_prev, z.view_mut(), conv_scratch, scratch, split);
            match (&layer.normalization, layer.pooling()) {
                (None, None) => {
                    let a = view(&mut buf.a, layer.units(), cols);
                    add_bias_and_activate(&layer.kind, layer.activation, layer.b.view(), z, a, None)
                }
                (None, Some((window, image))) => {
                    let g = buf.g.as_mut().expect("a pooling layer's buffers");
                    let mut g = view(g, layer.z_units(), cols);
                    add_bias_and_activate(
                        &layer.kind,
                        layer.activation,
                        layer.b.view(),
                        z,
                        g.view_mut(),
                        None,
                    );
                    let argmax = buf.argmax.as_mut().expect("a pooling layer's buffers");
                    let argmax =
                        ArrayViewMut2::from_shape((layer.units(), cols), &mut argmax[..layer.units() * cols])
                            .expect("a buffer of rows · chunk entries");
                    pool_batch(&window, image, g.view(), view(&mut buf.a, layer.units(), cols), argmax);
                }
                (Some(norm), _) => {
                    // Z[l] += b[l], then Z̃[l] (each column on its own in evaluation)
                    add_bias(z.view_mut(), layer.b.view());
                    let z_tilde = norm.eval_step(z.view()).map_err(|e| in_layer(e, i + 1))?;
                    z.assign(&z_tilde);
                    activate(layer.activation, None, z, view(&mut buf.a, layer.units(), cols), None);
                }
            }
        }
        let last = &mut bufs[out];
        let units = layers[out].units();
        let z = ArrayView2::from_shape((units, cols), &last.z[..units * cols]).expect("rows · chunk entries");
        let a = ArrayView2::from_shape((units, cols), &last.a[..units * cols]).expect("rows · chunk entries");
        total += sink(part, start, z, a);
    }
    Ok(total)
}
