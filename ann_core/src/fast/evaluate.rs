//! The whole data set in eval mode, chunk by chunk through reused buffers: the loss and
//! accuracy that training records after every epoch, with the bits of
//! [`evaluate`](crate::evaluate).

use super::kernels::{activate, add_bias};
use super::matmul::matmul_into;
use super::threads::{OWN_THREADS, cores, join};
use super::workspace::{EvalBufs, Workspace};
use crate::data::DataView;
use crate::error::Result;
use crate::loss::{Loss, l2_penalty};
use crate::metrics::count_correct;
use crate::network::Network;
use crate::normalization::in_layer;
use ndarray::{Array2, s};

/// Columns per chunk when a whole data set is evaluated: bounds the evaluation buffers to
/// (n_l × 256) per layer whatever m is, so a 256-unit layer's Z and A (1 MB) stay in cache.
pub(crate) const EVAL_CHUNK: usize = 256;

/// Evaluations of at least this many multiply-adds (m · Σ n_l n_{l−1}) use two cores: below
/// it, starting and joining a thread costs about what it saves (10,000 examples through
/// [2, 64, 32, 1], 22M, already gain; measured on an idle machine).
const PARALLEL_EVAL_WORK: usize = 1 << 22;

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
        lambda: f64,
    ) -> Result<(f64, Option<f64>)> {
        let m = data.x.ncols();
        let chunks = m.div_ceil(EVAL_CHUNK);
        let work = m * net.layers().iter().map(|l| l.w.len()).sum::<usize>();
        let threads =
            if OWN_THREADS && chunks >= 2 && work >= PARALLEL_EVAL_WORK && cores() >= 2 { 2 } else { 1 };
        while self.eval.len() < threads {
            self.eval.push(EvalBufs {
                layers: self.sizes[1..]
                    .iter()
                    .map(|&n| (Array2::zeros((n, EVAL_CHUNK)), Array2::zeros((n, EVAL_CHUNK))))
                    .collect(),
                scratch: Vec::new(),
            });
        }
        self.terms.resize(m, 0.0);
        let correct = if threads == 2 {
            // The first half of the chunks here, the second half on another core.
            let mid = chunks.div_ceil(2) * EVAL_CHUNK;
            let (terms_a, terms_b) = self.terms.split_at_mut(mid);
            let (bufs_a, bufs_b) = self.eval.split_at_mut(1);
            let (here, other) = join(
                || eval_columns(net, data, 0, &mut bufs_a[0], terms_a, false),
                || eval_columns(net, data, mid, &mut bufs_b[0], terms_b, false),
            );
            here? + other?
        } else {
            eval_columns(net, data, 0, &mut self.eval[0], &mut self.terms, true)?
        };
        // Column after column, as `Loss::cost` sums them: the bits of `evaluate`.
        let total = self.terms.iter().fold(0.0, |t, &c| t + c);
        let loss = total / m as f64 + l2_penalty(net.weights(), lambda, m);
        let acc = (net.loss() != Loss::MeanSquaredError).then(|| correct as f64 / m as f64);
        Ok((loss, acc))
    }
}

/// Eval-mode forward pass over the columns `first..first + terms.len()` of `data`, chunk by
/// chunk through `bufs`; writes each column's loss term into `terms` and returns how many
/// columns are classified right. `split` as in `matmul_into`.
fn eval_columns(
    net: &Network,
    data: DataView<'_>,
    first: usize,
    bufs: &mut EvalBufs,
    terms: &mut [f64],
    split: bool,
) -> Result<usize> {
    let EvalBufs { layers: bufs, scratch } = bufs;
    let layers = net.layers();
    let out = layers.len() - 1;
    let mut correct = 0;
    for (c, chunk_terms) in terms.chunks_mut(EVAL_CHUNK).enumerate() {
        let start = first + c * EVAL_CHUNK;
        let cols = chunk_terms.len();
        let x = data.x.slice(s![.., start..start + cols]);
        let y = data.y.slice(s![.., start..start + cols]);
        for (i, layer) in layers.iter().enumerate() {
            let (done, rest) = bufs.split_at_mut(i);
            let (z, a) = &mut rest[0];
            let mut z = z.slice_mut(s![.., ..cols]);
            let a = a.slice_mut(s![.., ..cols]);
            let a_prev = if i == 0 { x } else { done[i - 1].1.slice(s![.., ..cols]) };
            matmul_into(layer.w.view(), a_prev, z.view_mut(), scratch, split);
            match &layer.normalization {
                None => activate(layer.activation, Some(layer.b.view()), z, a, None),
                Some(norm) => {
                    // Z[l] += b[l], then Z̃[l] (each column on its own in evaluation)
                    add_bias(z.view_mut(), layer.b.view());
                    let z_tilde = norm.eval_step(z.view()).map_err(|e| in_layer(e, i + 1))?;
                    z.assign(&z_tilde);
                    activate(layer.activation, None, z, a, None);
                }
            }
        }
        let (z, a) = &bufs[out];
        let (z, a) = (z.slice(s![.., ..cols]), a.slice(s![.., ..cols]));
        let columns = z.columns().into_iter().zip(a.columns()).zip(y.columns());
        for (t, ((zc, ac), yc)) in chunk_terms.iter_mut().zip(columns) {
            *t = net.loss().example_loss(zc, ac, yc);
        }
        correct += count_correct(a, y);
    }
    Ok(correct)
}
