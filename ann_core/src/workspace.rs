//! The fast training path: the same equations as [`forward`](crate::forward) and
//! [`backward`](crate::backward), computed into buffers that are allocated once and reused
//! at every step.
//!
//! `Network::forward` / `Network::backward` stay the readable reference: one line per
//! equation, a fresh array per result. A [`Workspace`] holds, for one batch width, the cache
//! (X{t}, Z[l], A[l], D[l]), Y{t}, the buffers dA[l]/dZ[l] and the gradients dW[l], db[l],
//! and fills them in place:
//!
//! - Z[l] = W[l] A[l−1] with `matmul_into` (see `matmul.rs`) into the preallocated Z[l], then one fused
//!   pass per element: Z[l] += b[l];  A[l] = g(Z[l]) ⊙ D[l] · (1/keep_prob[l]);
//! - dZ[L] = A[L] − Y{t};  dW[l] = (1/m) dZ[l] A[l−1]ᵀ (+ λ/m W[l]);  db[l] = Σ dZ[l] / m;
//!   dA[l−1] = W[l]ᵀ dZ[l] into the dZ[l−1] buffer, then in place
//!   dZ[l−1] = dA[l−1] ⊙ D[l−1] / keep_prob[l−1] ⊙ g'(Z[l−1]).
//!
//! Every operation is the reference one in the same order, so both paths give the same
//! numbers (the tests compare them on random networks). In the default build (without the
//! `threading` or `blas` features, whose matrix products are already multi-threaded) big
//! products, dW[l] ∥ dA[l−1] when both are big, and a big evaluation of the training set use
//! two cores, each entry and each example's loss computed as on one, so the results do not
//! change; `ANN_CORE_THREADS=1` keeps everything on one core. The last, smaller batch of an
//! epoch gets a second set of buffers of its own width, so steady-state training does not
//! allocate at all.

use crate::activation::{Activation, relu, sigmoid};
use crate::backward::{Gradients, frobenius};
use crate::batch::gather_columns_into;
use crate::cache::{Cache, Train};
use crate::dropout::{Dropout, fill_mask};
use crate::error::{AnnError, Result, bad_hyper, shape_str};
use crate::layer::Layer;
use crate::loss::{Loss, l2_penalty};
use crate::matmul::{DIRECT_MAX_WORK, matmul_into};
use crate::network::{Network, count_correct};
use crate::simd::wide;
use crate::threads::{OWN_THREADS, cores, join};
use crate::train::Data;
use ndarray::{Array2, ArrayView2, ArrayViewMut2, ShapeBuilder, Zip, s};
use rand::rngs::ChaCha8Rng;
use std::marker::PhantomData;

/// Columns per chunk when a whole data set is evaluated: bounds the evaluation buffers
/// to (n_l × 256) per layer whatever m is.
pub const EVAL_CHUNK: usize = 256;

/// Buffers for batches of one width (number of columns).
#[derive(Debug, Clone)]
struct Slot {
    /// X{t} (as A[0]), Z[l], A[l], D[l] of the current batch.
    cache: Cache<Train>,
    /// Y{t}.
    y: Array2<f64>,
    /// dZ[l]; dA[l] is first written into the same buffer, then turned into dZ[l] in place.
    dz: Vec<Array2<f64>>,
    /// g(Z[l]) for layers whose A[l] carries dropout and whose g' needs g(Z)
    /// (tanh, sigmoid, softmax); allocated on first use.
    g: Vec<Option<Array2<f64>>>,
}

impl Slot {
    fn new(sizes: &[usize], cols: usize) -> Slot {
        let per_layer = || sizes[1..].iter().map(|&n| Array2::zeros((n, cols))).collect::<Vec<_>>();
        let l = sizes.len() - 1;
        Slot {
            cache: Cache {
                a0: Array2::zeros((sizes[0], cols)),
                z: per_layer(),
                a: per_layer(),
                masks: vec![None; l],
                keep: vec![1.0; l],
                mode: PhantomData,
            },
            y: Array2::zeros((sizes[l], cols)),
            dz: per_layer(),
            g: vec![None; l],
        }
    }

    fn cols(&self) -> usize {
        self.cache.a0.ncols()
    }
}

/// Preallocated buffers for the allocation-free training path (see the module docs).
///
/// ```
/// use ann_core::*;
/// use rand::SeedableRng;
/// let data = two_moons(200, 0.1, 1).unwrap();
/// let y = data.targets(Task::Binary);
/// let net = Network::new(&[2, 8, 1], Activation::Relu, Task::Binary, Init::He, 1).unwrap();
/// let mut ws = Workspace::new(&net, 32).unwrap();
/// let dropout = Dropout::hidden(2, 0.8).unwrap();
/// let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(0);
/// let idx: Vec<usize> = (0..32).collect();
/// ws.load_batch(Data::new(data.x.view(), y.view()), &idx).unwrap();
/// ws.forward_train(&net, &dropout, &mut rng).unwrap();
/// let loss = ws.cost(&net, 0.0).unwrap();
/// let grads = ws.backward(&net, 0.0).unwrap();
/// assert!(loss > 0.0 && grads.is_finite());
/// ```
#[derive(Debug, Clone)]
pub struct Workspace {
    /// [n_0, ..., n_L] of the network the buffers are shaped for.
    sizes: Vec<usize>,
    /// slots[0] has `batch_size` columns; slots[1], if any, the width of the last batch.
    slots: Vec<Slot>,
    /// The slot holding the current batch.
    active: Option<usize>,
    grads: Gradients,
    /// Per thread, buffers for chunked evaluation.
    eval: Vec<EvalBufs>,
    /// Row-major copies of transposed matrix operands (see `matmul_into`).
    scratch: Vec<f64>,
    /// The loss term of every column of the evaluated data set.
    terms: Vec<f64>,
}

impl Workspace {
    /// Buffers for `net` and batches of up to `batch_size` columns (a batch of another
    /// width gets a second set of buffers, e.g. the last batch of an epoch).
    pub fn new(net: &Network, batch_size: usize) -> Result<Self> {
        if batch_size == 0 {
            return Err(bad_hyper("batch_size", 0, "must be at least 1"));
        }
        let sizes = net.sizes();
        Ok(Workspace {
            slots: vec![Slot::new(&sizes, batch_size)],
            sizes,
            active: None,
            grads: Gradients::zeros_like(net),
            eval: Vec::new(),
            scratch: Vec::new(),
            terms: Vec::new(),
        })
    }

    /// The batch width the main buffers were sized for.
    pub fn batch_size(&self) -> usize {
        self.slots[0].cols()
    }

    /// Copies the columns `idx` of (X, Y) into the batch buffers X{t}, Y{t}: the batch is
    /// gathered straight from the data set, which is never copied or permuted as a whole.
    /// Any layout works; with many features a column-major X (each example contiguous,
    /// e.g. `x.t().as_standard_layout().into_owned().reversed_axes()`) gathers fastest.
    pub fn load_batch(&mut self, data: Data<'_>, idx: &[usize]) -> Result<()> {
        self.check_data(data, "batch")?;
        if idx.is_empty() {
            return Err(AnnError::EmptyInput("the batch has no example indices".into()));
        }
        let m = data.x.ncols();
        if let Some(&bad) = idx.iter().find(|&&j| j >= m) {
            return Err(AnnError::ShapeMismatch {
                context: "batch index into the columns of X".into(),
                expected: format!("an index below m = {m}"),
                got: bad.to_string(),
            });
        }
        self.load_batch_unchecked(data, idx);
        Ok(())
    }

    /// [`Workspace::load_batch`] for data already checked against the network.
    pub(crate) fn load_batch_unchecked(&mut self, data: Data<'_>, idx: &[usize]) {
        let k = self.slot_for(idx.len());
        let slot = &mut self.slots[k];
        // X{t} in X's memory order: from a column-major X each example is one block copy.
        // (The products give the same bits for either layout of X{t}.)
        let column_major = data.x.strides()[0] == 1 && data.x.nrows() > 1;
        if column_major == slot.cache.a0.is_standard_layout() {
            let shape = slot.cache.a0.raw_dim();
            slot.cache.a0 = if column_major { Array2::zeros(shape.f()) } else { Array2::zeros(shape) };
        }
        gather_columns_into(data.x, idx, slot.cache.a0.view_mut());
        gather_columns_into(data.y, idx, slot.y.view_mut());
        self.active = Some(k);
    }

    /// Copies a whole batch (X{t}, Y{t}) into the batch buffers.
    pub fn set_batch(&mut self, data: Data<'_>) -> Result<()> {
        self.check_data(data, "batch")?;
        let k = self.slot_for(data.x.ncols());
        let slot = &mut self.slots[k];
        slot.cache.a0.assign(&data.x);
        slot.y.assign(&data.y);
        self.active = Some(k);
        Ok(())
    }

    /// Training-mode forward pass on the loaded batch, as [`Network::forward_train`]:
    /// draws D[l] from `rng` (the same draws, in the same order) for layers with
    /// keep_prob[l] < 1. Returns the cache, whose [`Cache::output`] is Ŷ = A[L].
    pub fn forward_train(
        &mut self,
        net: &Network,
        dropout: &Dropout,
        rng: &mut ChaCha8Rng,
    ) -> Result<&Cache<Train>> {
        self.check_net(net)?;
        dropout.check_layers(net.num_layers())?;
        let k = self.active_slot()?;
        let scratch = &mut self.scratch;
        let cache = &mut self.slots[k].cache;
        for (i, layer) in net.layers().iter().enumerate() {
            let keep = dropout.keep(i + 1);
            let (done, rest) = cache.a.split_at_mut(i);
            let a_prev = if i == 0 { &cache.a0 } else { &done[i - 1] };
            let (z, a) = (&mut cache.z[i], &mut rest[0]);
            // Z[l] = W[l] A[l−1]
            matmul_into(layer.w.view(), a_prev.view(), z.view_mut(), scratch, true);
            let mask = if keep < 1.0 {
                let d = cache.masks[i].get_or_insert_with(|| Array2::zeros(z.raw_dim()));
                fill_mask(d.view_mut(), keep, rng);
                Some((d.view(), keep))
            } else {
                cache.masks[i] = None;
                None
            };
            cache.keep[i] = keep;
            // Z[l] += b[l];  A[l] = g(Z[l]) ⊙ D[l] / keep_prob[l]
            bias_and_activate(layer, z.view_mut(), a.view_mut(), mask);
        }
        Ok(cache)
    }

    /// J{t} (+ L2) of the last forward pass, as [`Network::cost`].
    pub fn cost(&self, net: &Network, lambda: f64) -> Result<f64> {
        self.check_net(net)?;
        check_lambda(lambda)?;
        let slot = &self.slots[self.active_slot()?];
        let l = net.num_layers() - 1;
        let (z, a) = (slot.cache.z[l].view(), slot.cache.a[l].view());
        let data = net.loss().cost(z, a, slot.y.view());
        Ok(data + l2_penalty(net.layers().iter().map(|layer| layer.w.view()), lambda, slot.cols()))
    }

    /// Backpropagation of the last forward pass into the gradient buffers, as
    /// [`Network::backward`]. The result stays readable through [`Workspace::gradients`].
    pub fn backward(&mut self, net: &Network, lambda: f64) -> Result<&Gradients> {
        self.check_net(net)?;
        check_lambda(lambda)?;
        let k = self.active_slot()?;
        let Slot { cache, y, dz, g } = &mut self.slots[k];
        let scratch = &mut self.scratch;
        let layers = net.layers();
        let n = layers.len();
        let m = y.ncols() as f64;
        // dZ[L] (times m; the 1/m comes with dW and db)
        let out = n - 1;
        zip3_mut(&mut dz[out], cache.a[out].view(), y.view(), |d, a, y| *d = a - y);
        if net.loss() == Loss::MeanSquaredError {
            let act = layers[out].activation;
            act.backward_inplace(cache.z[out].view(), cache.a[out].view(), dz[out].view_mut());
        }
        for i in (0..n).rev() {
            let (lower, upper) = dz.split_at_mut(i);
            let dz_l = &upper[0];
            let a_prev = if i == 0 { &cache.a0 } else { &cache.a[i - 1] };
            let w = &layers[i].w;
            let grad = &mut self.grads.layers[i];
            // dW[l] = dZ[l] A[l−1]ᵀ and dA[l−1] = W[l]ᵀ dZ[l] (into the dZ[l−1] buffer) need
            // only dZ[l]: when both are big they run at the same time, one per core.
            let mut da = lower.last_mut();
            match da.as_mut() {
                Some(da) if two_products_at_once(grad.dw.len() * dz_l.ncols(), da.len() * dz_l.nrows()) => {
                    let dw = &mut grad.dw;
                    // Both products are above the direct kernel's size: no scratch is used.
                    join(
                        || matmul_into(w.t(), dz_l.view(), da.view_mut(), scratch, false),
                        move || matmul_into(dz_l.view(), a_prev.t(), dw.view_mut(), &mut Vec::new(), false),
                    );
                }
                Some(da) => {
                    matmul_into(dz_l.view(), a_prev.t(), grad.dw.view_mut(), scratch, true);
                    matmul_into(w.t(), dz_l.view(), da.view_mut(), scratch, true);
                }
                None => matmul_into(dz_l.view(), a_prev.t(), grad.dw.view_mut(), scratch, true),
            }
            // dW[l] = (1/m) dZ[l] A[l−1]ᵀ + (λ/m) W[l]
            let inv_m = 1.0 / m;
            if lambda != 0.0 {
                let c = lambda / m;
                zip2_mut(&mut grad.dw, w.view(), |d, w| *d = *d * inv_m + c * w);
            } else if let Some(dw) = grad.dw.as_slice_mut() {
                wide(|| dw.iter_mut().for_each(|d| *d *= inv_m));
            } else {
                grad.dw.mapv_inplace(|d| d * inv_m);
            }
            // db[l] = (1/m) Σ_columns dZ[l]
            Zip::from(grad.db.rows_mut()).and(dz_l.rows()).for_each(|mut b, row| b[0] = row.sum() / m);
            if let Some(da) = da {
                // dZ[l−1] = dA[l−1] ⊙ D[l−1] / keep_prob[l−1] ⊙ g'(Z[l−1])
                let j = i - 1;
                let mask = cache.mask_index(j).map(|d| (d.view(), cache.keep[j]));
                let g_buf = &mut g[j];
                hidden_delta(layers[j].activation, cache.z[j].view(), cache.a[j].view(), mask, g_buf, da);
            }
        }
        Ok(&self.grads)
    }

    /// The cache of the last forward pass (X{t}, Z[l], A[l], D[l]).
    pub fn cache(&self) -> Option<&Cache<Train>> {
        self.active.map(|k| &self.slots[k].cache)
    }

    /// The targets Y{t} of the loaded batch.
    pub fn targets(&self) -> Option<ArrayView2<'_, f64>> {
        self.active.map(|k| self.slots[k].y.view())
    }

    /// The gradients of the last [`Workspace::backward`] (zeros before the first).
    pub fn gradients(&self) -> &Gradients {
        &self.grads
    }

    /// (J + L2, accuracy) of `net` on a whole data set in eval mode, as
    /// [`crate::evaluate`], in chunks of [`EVAL_CHUNK`] columns through reused buffers; for
    /// big evaluations (default build, two or more cores) the second half of the chunks runs
    /// on another core.
    /// The per-column losses are summed column after column, as `evaluate` does, so the
    /// result has its bits.
    pub fn evaluate(&mut self, net: &Network, data: Data<'_>, lambda: f64) -> Result<(f64, Option<f64>)> {
        self.check_data(data, "evaluation data")?;
        check_lambda(lambda)?;
        net.check_input(data.x, "evaluation X")?;
        net.loss().check_labels(data.y, net.output_size(), data.x.ncols())?;
        Ok(self.evaluate_unchecked(net, data, lambda))
    }

    /// [`Workspace::evaluate`] for data already checked against the network.
    pub(crate) fn evaluate_unchecked(
        &mut self,
        net: &Network,
        data: Data<'_>,
        lambda: f64,
    ) -> (f64, Option<f64>) {
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
            here + other
        } else {
            eval_columns(net, data, 0, &mut self.eval[0], &mut self.terms, true)
        };
        // Column after column, as `Loss::cost` sums them: the bits of `evaluate`.
        let total = self.terms.iter().fold(0.0, |t, &c| t + c);
        let loss = net.loss().average(total, m)
            + l2_penalty(net.layers().iter().map(|layer| layer.w.view()), lambda, m);
        let acc = (net.loss() != Loss::MeanSquaredError).then(|| correct as f64 / m as f64);
        (loss, acc)
    }

    /// ‖dW[l]‖_F of the last gradients into `norms` (one per layer); returns whether every
    /// gradient entry is finite (a finite norm proves it for dW, so the full scan only runs
    /// when a norm overflows).
    pub(crate) fn gradient_norms(&self, norms: &mut [f64]) -> bool {
        for (s, g) in norms.iter_mut().zip(&self.grads.layers) {
            *s = frobenius(g.dw.view());
        }
        let fast = norms.iter().all(|v| v.is_finite())
            && self.grads.layers.iter().all(|g| g.db.iter().all(|v| v.is_finite()));
        fast || self.grads.is_finite()
    }

    fn slot_for(&mut self, cols: usize) -> usize {
        if let Some(k) = self.slots.iter().position(|s| s.cols() == cols) {
            return k;
        }
        let slot = Slot::new(&self.sizes, cols);
        if self.slots.len() < 2 {
            self.slots.push(slot);
        } else {
            self.slots[1] = slot;
        }
        self.active = None;
        self.slots.len() - 1
    }

    fn active_slot(&self) -> Result<usize> {
        self.active.ok_or_else(|| {
            AnnError::EmptyInput("no batch in the workspace: call load_batch or set_batch first".into())
        })
    }

    fn check_net(&self, net: &Network) -> Result<()> {
        let layers = net.layers();
        let same = layers.len() + 1 == self.sizes.len()
            && layers.iter().zip(self.sizes.windows(2)).all(|(l, p)| l.w.dim() == (p[1], p[0]));
        if same {
            Ok(())
        } else {
            Err(AnnError::ShapeMismatch {
                context: "network for this workspace".into(),
                expected: format!("layer sizes {:?}", self.sizes),
                got: format!("layer sizes {:?}", net.sizes()),
            })
        }
    }

    fn check_data(&self, data: Data<'_>, what: &str) -> Result<()> {
        let (n0, nl) = (self.sizes[0], self.sizes[self.sizes.len() - 1]);
        if data.x.nrows() != n0 || data.x.ncols() == 0 {
            return Err(AnnError::ShapeMismatch {
                context: format!("{what} X"),
                expected: format!("({n0}, m) with m >= 1"),
                got: shape_str(data.x.shape()),
            });
        }
        if data.y.dim() != (nl, data.x.ncols()) {
            return Err(AnnError::ShapeMismatch {
                context: format!("{what} Y"),
                expected: format!("({nl}, {})", data.x.ncols()),
                got: shape_str(data.y.shape()),
            });
        }
        Ok(())
    }
}

/// One thread's buffers for chunked evaluation.
#[derive(Debug, Clone)]
struct EvalBufs {
    /// Per layer, (Z, A) of EVAL_CHUNK columns.
    layers: Vec<(Array2<f64>, Array2<f64>)>,
    /// See `matmul_into`.
    scratch: Vec<f64>,
}

/// Whether dW[l] and dA[l−1] (`work_dw`, `work_da` multiply-adds) run on two cores at once:
/// in the default build (the other builds' products are multi-threaded already), with two
/// cores, when both are too big for the direct kernel (W2's layer 2: 4.2M each).
fn two_products_at_once(work_dw: usize, work_da: usize) -> bool {
    OWN_THREADS && work_dw > DIRECT_MAX_WORK && work_da > DIRECT_MAX_WORK && cores() >= 2
}

/// Evaluations of at least this many multiply-adds (m · Σ n_l n_{l−1}) use two cores: below
/// it, starting and joining a thread costs about what it saves (W1's 22M and W2's 4.7G use
/// two; measured on an idle machine).
const PARALLEL_EVAL_WORK: usize = 1 << 22;

/// Eval-mode forward pass over the columns `first..first + terms.len()` of `data`, chunk by
/// chunk through `bufs`; writes each column's loss term into `terms` and returns how many
/// columns are classified right. `split` as in `matmul_into`.
fn eval_columns(
    net: &Network,
    data: Data<'_>,
    first: usize,
    bufs: &mut EvalBufs,
    terms: &mut [f64],
    split: bool,
) -> usize {
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
            bias_and_activate(layer, z, a, None);
        }
        let (z, a) = &bufs[out];
        let (z, a) = (z.slice(s![.., ..cols]), a.slice(s![.., ..cols]));
        let columns = z.columns().into_iter().zip(a.columns()).zip(y.columns());
        for (t, ((zc, ac), yc)) in chunk_terms.iter_mut().zip(columns) {
            *t = net.loss().column_term(zc, ac, yc);
        }
        correct += count_correct(a, y);
    }
    correct
}

fn check_lambda(lambda: f64) -> Result<()> {
    if lambda.is_finite() && lambda >= 0.0 {
        Ok(())
    } else {
        Err(bad_hyper("lambda (L2)", lambda, "must be finite and >= 0"))
    }
}

/// Z += b (broadcast over columns), then A = g(Z) ⊙ D / keep_prob, in one pass for the
/// element-wise activations. Z is the raw W A[l−1] on entry.
fn bias_and_activate(
    layer: &Layer,
    mut z: ArrayViewMut2<f64>,
    mut a: ArrayViewMut2<f64>,
    mask: Option<(ArrayView2<f64>, f64)>,
) {
    let b = &layer.b;
    match layer.activation {
        Activation::Relu => fused_forward(b, z, a, mask, relu),
        Activation::Tanh => fused_forward(b, z, a, mask, f64::tanh),
        Activation::Sigmoid => fused_forward(b, z, a, mask, sigmoid),
        Activation::Linear => fused_forward(b, z, a, mask, |v| v),
        Activation::Softmax => {
            Zip::from(z.rows_mut()).and(b.rows()).for_each(|mut zr, br| {
                let bias = br[0];
                zr.mapv_inplace(|v| v + bias);
            });
            a.assign(&z);
            Activation::Softmax.forward_inplace(a.view_mut());
            if let Some((d, keep)) = mask {
                Zip::from(&mut a).and(&d).for_each(|a, &d| *a = *a * d / keep);
            }
        }
    }
}

fn fused_forward(
    b: &Array2<f64>,
    z: ArrayViewMut2<f64>,
    a: ArrayViewMut2<f64>,
    mask: Option<(ArrayView2<f64>, f64)>,
    g: impl Fn(f64) -> f64 + Copy,
) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") {
        // SAFETY: the CPU supports AVX-512F.
        return unsafe { fused_forward_avx512(b, z, a, mask, g) };
    }
    fused_forward_rows(b, z, a, mask, g);
}

/// [`fused_forward_rows`] compiled with AVX-512 (see `simd.rs`: same results). Too big a
/// body for `simd::wide`'s closure to be inlined, so it gets its own copy.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn fused_forward_avx512(
    b: &Array2<f64>,
    z: ArrayViewMut2<f64>,
    a: ArrayViewMut2<f64>,
    mask: Option<(ArrayView2<f64>, f64)>,
    g: impl Fn(f64) -> f64 + Copy,
) {
    fused_forward_rows(b, z, a, mask, g);
}

/// The body of [`fused_forward`]: row by row, each row one loop over slices.
#[inline(always)]
fn fused_forward_rows(
    b: &Array2<f64>,
    mut z: ArrayViewMut2<f64>,
    mut a: ArrayViewMut2<f64>,
    mask: Option<(ArrayView2<f64>, f64)>,
    g: impl Fn(f64) -> f64 + Copy,
) {
    for r in 0..z.nrows() {
        let bias = b[[r, 0]];
        let (mut zr, mut ar) = (z.row_mut(r), a.row_mut(r));
        match mask {
            None => {
                let op = |z: &mut f64, a: &mut f64| {
                    *z += bias;
                    *a = g(*z);
                };
                if let (Some(zs), Some(xs)) = (zr.as_slice_mut(), ar.as_slice_mut()) {
                    zs.iter_mut().zip(xs).for_each(|(z, a)| op(z, a));
                } else {
                    Zip::from(&mut zr).and(&mut ar).for_each(op);
                }
            }
            Some((d, keep)) => {
                let scale = 1.0 / keep;
                let op = |z: &mut f64, a: &mut f64, d: f64| {
                    *z += bias;
                    *a = g(*z) * d * scale;
                };
                let dr = d.row(r);
                if let (Some(zs), Some(xs), Some(ds)) = (zr.as_slice_mut(), ar.as_slice_mut(), dr.as_slice())
                {
                    zs.iter_mut().zip(xs).zip(ds).for_each(|((z, a), &d)| op(z, a, d));
                } else {
                    Zip::from(&mut zr).and(&mut ar).and(&dr).for_each(|z, a, &d| op(z, a, d));
                }
            }
        }
    }
}

/// `op(x, y)` on every entry of two arrays of one shape: one loop over the memory, widened
/// by `wide`, when both are in standard layout; entry by entry otherwise.
fn zip2_mut(x: &mut Array2<f64>, y: ArrayView2<f64>, op: impl Fn(&mut f64, f64) + Copy) {
    if let (Some(xs), Some(ys)) = (x.as_slice_mut(), y.as_slice()) {
        wide(|| xs.iter_mut().zip(ys).for_each(|(x, &y)| op(x, y)));
    } else {
        Zip::from(x).and(&y).for_each(|x, &y| op(x, y));
    }
}

/// `op(x, y, w)` on every entry of three arrays of one shape (see [`zip2_mut`]).
fn zip3_mut(
    x: &mut Array2<f64>,
    y: ArrayView2<f64>,
    w: ArrayView2<f64>,
    op: impl Fn(&mut f64, f64, f64) + Copy,
) {
    if let (Some(xs), Some(ys), Some(ws)) = (x.as_slice_mut(), y.as_slice(), w.as_slice()) {
        wide(|| xs.iter_mut().zip(ys).zip(ws).for_each(|((x, &y), &w)| op(x, y, w)));
    } else {
        Zip::from(x).and(&y).and(&w).for_each(|x, &y, &w| op(x, y, w));
    }
}

/// dA[l] (in `da`) → dZ[l] = (dA[l] ⊙ D[l] / keep_prob[l]) ⊙ g'(Z[l]), in place.
/// `a` is the cached A[l]; when it carries dropout, g(Z[l]) is recomputed into `g_buf`
/// for the activations whose derivative needs it.
fn hidden_delta(
    act: Activation,
    z: ArrayView2<f64>,
    a: ArrayView2<f64>,
    mask: Option<(ArrayView2<f64>, f64)>,
    g_buf: &mut Option<Array2<f64>>,
    da: &mut Array2<f64>,
) {
    // Written as selects (both sides computed), so the loops have no data-dependent branch.
    match (act, mask) {
        (Activation::Relu, None) => zip2_mut(da, z, |d, z| *d = if z <= 0.0 { 0.0 } else { *d }),
        (Activation::Relu, Some((mask, keep))) => {
            let scale = 1.0 / keep;
            zip3_mut(da, z, mask, |d, z, m| {
                let kept = *d * m * scale;
                *d = if z <= 0.0 { 0.0 } else { kept };
            })
        }
        (_, None) => act.backward_inplace(z, a, da.view_mut()),
        (_, Some((mask, keep))) => {
            let scale = 1.0 / keep;
            zip2_mut(da, mask, |d, m| *d = *d * m * scale);
            if matches!(act, Activation::Linear) {
                return;
            }
            let g = g_buf.get_or_insert_with(|| Array2::zeros(z.raw_dim()));
            g.assign(&z);
            act.forward_inplace(g.view_mut());
            act.backward_inplace(z, g.view(), da.view_mut());
        }
    }
}
