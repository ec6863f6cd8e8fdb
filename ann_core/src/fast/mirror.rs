//! [`Mirror`]: a dense network trained in another precision (f32): its parameters, their
//! gradients and the optimizer's averages copied into that precision, with the buffers of a
//! training step, allocated once.
//!
//! A step runs the equations of [`Workspace`](super::Workspace), with the same kernels:
//!
//! - Z[l] = W[l] A[l−1];  Z[l] += b[l];  A[l] = g(Z[l]) ⊙ D[l] / keep_prob[l] (fused);
//! - J{t} from Z[L], A[L] and Y{t} by [`Loss::cost`], on their values widened to f64;
//! - dZ[L] = A[L] − Y{t};  dW[l] = (1/m) dZ[l] A[l−1]ᵀ (+ λ/N W[l]);  db[l] = Σ dZ[l] / m;
//!   dA[l−1] = W[l]ᵀ dZ[l];  dZ[l−1] = dA[l−1] ⊙ D[l−1] / keep_prob[l−1] ⊙ g'(Z[l−1]);
//! - θ ← the optimizer's rule, entry by entry ([`Optimizer::update_copies`]).
//!
//! The random draws are the f64 run's: the same shuffles and the same dropout words, so an
//! f32 run takes the f64 run's batches and masks and differs from it by rounding only.
//! Every number stored is F; g, g', the update rules and the losses are the f64 functions of
//! the math's modules, evaluated per entry on widened values and rounded once
//! (see `real.rs`). Instantiated with F = f64, a mirror computes the workspace's bits (a test
//! checks it), so the two differ in nothing but the precision.
//!
//! The network and the optimizer are copied in once per run ([`Mirror::new`], rounding each
//! value) and widened back, exactly, by [`Mirror::write_back`] at the end of every epoch:
//! early stopping, checkpoints and observers see f64 values, and a run resumed from a
//! checkpoint rounds the same values again, so it continues bit for bit.

use super::evaluate::EVAL_CHUNK;
use super::kernels::{activate, elementwise_delta, fill_mask, gather_columns_into, zip2_mut, zip3_mut};
use super::matmul::{DIRECT_MAX_WORK, matmul_packed};
use super::real::Real;
use super::threads::{OWN_THREADS, cores, join};
use crate::activation::Activation;
use crate::dropout::Dropout;
use crate::error::{AnnError, Result, bad_hyper};
use crate::l2::L2;
use crate::layer::LayerKind;
use crate::loss::Loss;
use crate::metrics::count_correct;
use crate::network::Network;
use crate::optim::{Optimizer, ParamCopy, ParamState, Stored};
use crate::param::ParamKind;
use ndarray::{Array2, ArrayView2, ArrayViewMut2, Zip, s};
use rand::rngs::ChaCha8Rng;

/// One dense layer's parameters in precision F.
#[derive(Debug, Clone)]
struct Dense<F> {
    w: Array2<F>,
    b: Array2<F>,
    activation: Activation,
}

/// The buffers of batches of one width.
#[derive(Debug, Clone)]
struct Batch<F> {
    /// X{t} = A[0], Y{t}.
    x: Array2<F>,
    y: Array2<F>,
    /// Z[l], A[l], D[l] (when keep_prob[l] < 1), keep_prob[l].
    z: Vec<Array2<F>>,
    a: Vec<Array2<F>>,
    d: Vec<Option<Array2<F>>>,
    keep: Vec<f64>,
    /// dZ[l] (dA[l] first, then turned into dZ[l] in place).
    dz: Vec<Array2<F>>,
    /// Z[L], A[L], Y{t} widened to f64 for the loss.
    wide: [Array2<f64>; 3],
}

impl<F: Real> Batch<F> {
    fn new(layers: &[Dense<F>], cols: usize) -> Self {
        let rows = |l: &Dense<F>| Array2::zeros((l.w.nrows(), cols));
        let out = layers[layers.len() - 1].w.nrows();
        Batch {
            x: Array2::zeros((layers[0].w.ncols(), cols)),
            y: Array2::zeros((out, cols)),
            z: layers.iter().map(rows).collect(),
            a: layers.iter().map(rows).collect(),
            d: vec![None; layers.len()],
            keep: vec![1.0; layers.len()],
            dz: layers.iter().map(rows).collect(),
            wide: std::array::from_fn(|_| Array2::zeros((out, cols))),
        }
    }
}

/// A rule's (m, v) of one parameter (None for an average the rule does not keep).
type Averages<F> = (Option<Array2<F>>, Option<Array2<F>>);

/// A dense network, its gradients and its optimizer's averages in precision F, with the
/// buffers of its training steps (see the module docs).
#[derive(Debug, Clone)]
pub(crate) struct Mirror<F: Real> {
    layers: Vec<Dense<F>>,
    loss: Loss,
    /// dW[l], db[l] per layer, in parameter order.
    grads: Vec<Array2<F>>,
    /// The optimizer's (m, v) per parameter, in parameter order (empty before its first step).
    averages: Vec<Averages<F>>,
    /// The optimizer's step count t.
    t: u64,
    /// Buffers of the full batches and of the last, narrower one.
    batches: Vec<Batch<F>>,
    active: Option<usize>,
    /// Per core, the evaluation's Z[l] and A[l] for chunks of `EVAL_CHUNK` columns.
    eval: Vec<Vec<(Array2<F>, Array2<F>)>>,
    /// The loss term of every column of the evaluated data set.
    terms: Vec<f64>,
}

impl<F: Real + Stored> Mirror<F> {
    /// `net` and `optimizer`'s state rounded to F, with buffers for batches of `batch_size`.
    /// Dense layers without normalization only; softmax only as the output layer.
    pub(crate) fn new(net: &Network, optimizer: &Optimizer, batch_size: usize) -> Result<Self> {
        let n = net.num_layers();
        for (i, layer) in net.layers().iter().enumerate() {
            let what = if layer.kind != LayerKind::Dense {
                Some("a convolutional layer")
            } else if let Some(norm) = &layer.normalization {
                Some(norm.kind().name())
            } else if layer.activation == Activation::Softmax && i + 1 < n {
                Some("a softmax hidden layer")
            } else {
                None
            };
            if let Some(what) = what {
                return Err(bad_hyper(
                    "precision",
                    "F32",
                    &format!(
                        "trains dense layers without normalization; layer {} is {what} ({}): \
                         train this network with Precision::F64",
                        i + 1,
                        net.architecture()
                    ),
                ));
            }
        }
        let out = &net.layers()[n - 1];
        if net.loss() == Loss::MeanSquaredError && out.activation == Activation::Softmax {
            return Err(bad_hyper("precision", "F32", "does not train softmax with the squared error"));
        }
        let round = |a: &Array2<f64>| a.mapv(F::of);
        let layers: Vec<Dense<F>> = (net.layers().iter())
            .map(|l| Dense { w: round(&l.w), b: round(&l.b), activation: l.activation })
            .collect();
        let grads = layers.iter().flat_map(|l| [Array2::zeros(l.w.raw_dim()), Array2::zeros(l.b.raw_dim())]);
        let state = optimizer.state();
        let averages = (state.params.iter())
            .map(|p| (p.first.as_ref().map(round), p.second.as_ref().map(round)))
            .collect();
        Ok(Mirror {
            batches: vec![Batch::new(&layers, batch_size)],
            grads: grads.collect(),
            layers,
            loss: net.loss(),
            averages,
            t: state.t,
            active: None,
            eval: Vec::new(),
            terms: Vec::new(),
        })
    }

    /// Gathers the columns `idx` of (X, Y) into X{t}, Y{t}, rounded to F. `idx` in range.
    pub(crate) fn load_batch<S: Real>(&mut self, x: ArrayView2<S>, y: ArrayView2<S>, idx: &[usize]) {
        let k = match self.batches.iter().position(|b| b.x.ncols() == idx.len()) {
            Some(k) => k,
            None => {
                let batch = Batch::new(&self.layers, idx.len());
                if self.batches.len() < 2 {
                    self.batches.push(batch);
                } else {
                    self.batches[1] = batch;
                }
                self.batches.len() - 1
            }
        };
        let batch = &mut self.batches[k];
        gather_columns_into(x, idx, batch.x.view_mut());
        gather_columns_into(y, idx, batch.y.view_mut());
        self.active = Some(k);
    }

    fn batch(&mut self) -> Result<&mut Batch<F>> {
        let k = self.active.ok_or_else(|| AnnError::EmptyInput("no batch loaded".into()))?;
        Ok(&mut self.batches[k])
    }

    /// The training-mode forward pass on the loaded batch, drawing D[l] from `rng` as the
    /// f64 path does (the same words in the same order).
    pub(crate) fn forward_train(&mut self, dropout: &Dropout, rng: &mut ChaCha8Rng) -> Result<()> {
        let n = self.layers.len();
        dropout.check(n)?;
        let k = self.active.ok_or_else(|| AnnError::EmptyInput("no batch loaded".into()))?;
        let Batch { x, z, a, d, keep, .. } = &mut self.batches[k];
        for (i, layer) in self.layers.iter().enumerate() {
            let p = dropout.keep(i + 1, n);
            let (done, rest) = a.split_at_mut(i);
            let a_prev = if i == 0 { x.view() } else { done[i - 1].view() };
            // Z[l] = W[l] A[l−1]
            matmul_packed(layer.w.view(), a_prev, z[i].view_mut(), true);
            let mask = if p < 1.0 {
                let mask = d[i].get_or_insert_with(|| Array2::zeros(rest[0].raw_dim()));
                fill_mask(mask.view_mut(), p, rng);
                Some((mask.view(), F::of(p)))
            } else {
                d[i] = None;
                None
            };
            keep[i] = p;
            // Z[l] += b[l];  A[l] = g(Z[l]) ⊙ D[l] / keep_prob[l]
            activate(layer.activation, Some(layer.b.view()), z[i].view_mut(), rest[0].view_mut(), mask);
        }
        Ok(())
    }

    /// J{t} + (λ/2N) Σ‖W[l]‖² of the last forward pass: [`Loss::cost`] on Z[L], A[L], Y{t}
    /// widened to f64.
    pub(crate) fn cost(&mut self, l2: L2) -> Result<f64> {
        let loss = self.loss;
        let m = self.batch()?.y.ncols();
        let penalty = self.penalty(l2, m);
        let Batch { z, a, y, wide, .. } = self.batch()?;
        let [zw, aw, yw] = wide;
        let last = z.len() - 1;
        Zip::from(&mut *zw).and(&z[last]).for_each(|w, &v| *w = v.wide());
        Zip::from(&mut *aw).and(&a[last]).for_each(|w, &v| *w = v.wide());
        Zip::from(&mut *yw).and(&*y).for_each(|w, &v| *w = v.wide());
        Ok(loss.cost(zw.view(), aw.view(), yw.view()) + penalty)
    }

    /// (λ/2N) Σ_l ‖W[l]‖²_F of the F weights, summed in f64 (N = `m` when `l2` has none).
    fn penalty(&self, l2: L2, m: usize) -> f64 {
        if l2.lambda == 0.0 {
            return 0.0;
        }
        let sq: f64 = self.layers.iter().map(|l| l.w.iter().map(|v| v.wide() * v.wide()).sum::<f64>()).sum();
        l2.lambda / (2.0 * l2.n.unwrap_or(m) as f64) * sq
    }

    /// Backpropagation of the last forward pass into the gradients (see the module docs).
    pub(crate) fn backward(&mut self, l2: L2) -> Result<()> {
        let loss = self.loss;
        let k = self.active.ok_or_else(|| AnnError::EmptyInput("no batch loaded".into()))?;
        let Batch { x, y, z, a, d, keep, dz, .. } = &mut self.batches[k];
        let layers = &self.layers;
        let n = layers.len();
        let cols = y.ncols();
        // dZ[L] (times m; the 1/m comes with dW and db)
        zip3_mut(&mut dz[n - 1], a[n - 1].view(), y.view(), |d, a, y| *d = a - y);
        if loss == Loss::MeanSquaredError {
            let act = layers[n - 1].activation;
            elementwise_delta(act, z[n - 1].view(), a[n - 1].view(), None, &mut dz[n - 1]);
        }
        let inv_m = F::of(1.0 / cols as f64);
        let c = F::of(l2.coefficient(cols));
        let m = F::of(cols as f64);
        for i in (0..n).rev() {
            let (lower, upper) = dz.split_at_mut(i);
            let dz_l = upper[0].view();
            let a_prev = if i == 0 { x.view() } else { a[i - 1].view() };
            let w = &layers[i].w;
            let (dw, db) = match &mut self.grads[2 * i..2 * i + 2] {
                [dw, db] => (dw, db),
                _ => unreachable!("two gradients per layer"),
            };
            // dW[l] = dZ[l] A[l−1]ᵀ and dA[l−1] = W[l]ᵀ dZ[l]: one per core when both are big
            match lower.last_mut() {
                Some(da) if two_products_at_once(dw.len() * cols, da.len() * dz_l.nrows()) => {
                    join(
                        || matmul_packed(w.t(), dz_l, da.view_mut(), false),
                        || matmul_packed(dz_l, a_prev.t(), dw.view_mut(), false),
                    );
                }
                Some(da) => {
                    matmul_packed(dz_l, a_prev.t(), dw.view_mut(), true);
                    matmul_packed(w.t(), dz_l, da.view_mut(), true);
                }
                None => matmul_packed(dz_l, a_prev.t(), dw.view_mut(), true),
            }
            // dW[l] = (1/m) dZ[l] A[l−1]ᵀ + (λ/N) W[l];  db[l] = (1/m) Σ_columns dZ[l]
            if l2.lambda != 0.0 {
                zip2_mut(dw, w.view(), |d, w| *d = *d * inv_m + c * w);
            } else {
                dw.mapv_inplace(|d| d * inv_m);
            }
            Zip::from(db.rows_mut()).and(dz_l.rows()).for_each(|mut b, row| b[0] = row.sum() / m);
            if i == 0 {
                continue;
            }
            // dZ[l−1] = dA[l−1] ⊙ D[l−1] / keep_prob[l−1] ⊙ g'(Z[l−1])
            let j = i - 1;
            let mask = d[j].as_ref().map(|d| (d.view(), F::of(keep[j])));
            let dz_prev = lower.last_mut().expect("layer l − 1");
            elementwise_delta(layers[j].activation, z[j].view(), a[j].view(), mask, dz_prev)
                .expect("hidden layers are element-wise (checked in `new`)");
        }
        Ok(())
    }

    /// ‖dW[l]‖_F (in f64) of the last gradients into `norms`; whether every gradient entry
    /// is finite (a finite norm proves it for dW, so only the biases are scanned).
    pub(crate) fn gradient_norms(&self, norms: &mut [f64]) -> bool {
        let mut finite = true;
        for (norm, pair) in norms.iter_mut().zip(self.grads.chunks(2)) {
            *norm = F::frobenius(pair[0].view());
            finite &= norm.is_finite() && pair[1].iter().all(|v| v.wide().is_finite());
        }
        finite || self.grads.iter().all(|g| g.iter().all(|v| v.wide().is_finite()))
    }

    /// One step of `optimizer`'s rule (at its current α) on the F parameters.
    pub(crate) fn step(&mut self, optimizer: &Optimizer) {
        if self.t == 0 || self.averages.is_empty() {
            // The first step: the rule's running averages start at zero.
            let (first, second) = optimizer.averages();
            let zeros = |used: bool, g: &Array2<F>| used.then(|| Array2::zeros(g.raw_dim()));
            self.averages = self.grads.iter().map(|g| (zeros(first, g), zeros(second, g))).collect();
        }
        self.t += 1;
        let thetas =
            self.layers.iter_mut().flat_map(|l| [(ParamKind::Weight, &mut l.w), (ParamKind::Bias, &mut l.b)]);
        let params =
            thetas.zip(&self.grads).zip(&mut self.averages).map(|(((kind, theta), grad), (m, v))| {
                ParamCopy {
                    kind,
                    theta: theta.view_mut(),
                    grad: grad.view(),
                    first: m.as_mut(),
                    second: v.as_mut(),
                }
            });
        optimizer.update_copies(self.t, params);
    }

    /// Widens the parameters into `net` and t and the averages into `optimizer`'s state
    /// (exactly: every F value is an f64 value).
    pub(crate) fn write_back(&self, net: &mut Network, optimizer: &mut Optimizer) {
        let widen =
            |dst: &mut ArrayViewMut2<f64>, src: &Array2<F>| dst.zip_mut_with(src, |d, &s| *d = s.wide());
        let values = self.layers.iter().flat_map(|l| [&l.w, &l.b]);
        for (mut p, src) in net.params_mut().zip(values) {
            widen(&mut p.value, src);
        }
        let ids: Vec<_> = net.params().map(|p| p.id).collect();
        let state = optimizer.state_mut();
        state.t = self.t;
        if self.averages.is_empty() {
            return;
        }
        let to_f64 = |a: &Option<Array2<F>>| a.as_ref().map(|a| a.mapv(|v| v.wide()));
        state.params = (ids.into_iter().zip(&self.averages))
            .map(|(id, (m, v))| ParamState { id, first: to_f64(m), second: to_f64(v) })
            .collect();
    }

    /// (J + L2, accuracy) on a whole data set in eval mode, in chunks of `EVAL_CHUNK`
    /// columns rounded to F (two cores for big sets); the per-column losses are computed in
    /// f64 and summed column after column, as [`Loss::cost`] sums them. `l2` carries N.
    pub(crate) fn evaluate<S: Real>(
        &mut self,
        x: ArrayView2<S>,
        y: ArrayView2<S>,
        l2: L2,
    ) -> (f64, Option<f64>) {
        let m = x.ncols();
        let chunks = m.div_ceil(EVAL_CHUNK);
        let work = m * self.layers.iter().map(|l| l.w.len()).sum::<usize>();
        let threads = if OWN_THREADS && chunks >= 2 && work >= 1 << 22 && cores() >= 2 { 2 } else { 1 };
        let buffers = |l: &Dense<F>| {
            (Array2::zeros((l.w.nrows(), EVAL_CHUNK)), Array2::zeros((l.w.nrows(), EVAL_CHUNK)))
        };
        while self.eval.len() < threads {
            self.eval.push(self.layers.iter().map(buffers).collect());
        }
        self.terms.resize(m, 0.0);
        let mut terms = std::mem::take(&mut self.terms);
        let (layers, loss) = (&self.layers, self.loss);
        let correct = if threads == 2 {
            let mid = chunks.div_ceil(2) * EVAL_CHUNK;
            let (ta, tb) = terms.split_at_mut(mid);
            let (ba, bb) = self.eval.split_at_mut(1);
            let (here, there) = join(
                || eval_columns(layers, loss, x, y, 0, ta, &mut ba[0], false),
                || eval_columns(layers, loss, x, y, mid, tb, &mut bb[0], false),
            );
            here + there
        } else {
            eval_columns(layers, loss, x, y, 0, &mut terms, &mut self.eval[0], true)
        };
        let total = terms.iter().fold(0.0, |t, &c| t + c);
        self.terms = terms;
        let cost = total / m as f64 + self.penalty(l2, m);
        (cost, (loss != Loss::MeanSquaredError).then(|| correct as f64 / m as f64))
    }
}

/// The eval-mode forward pass over columns `first..first + terms.len()`, chunk by chunk:
/// each column's loss into `terms`; returns how many columns are classified right.
#[allow(clippy::too_many_arguments)]
fn eval_columns<F: Real, S: Real>(
    layers: &[Dense<F>],
    loss: Loss,
    x_all: ArrayView2<S>,
    y_all: ArrayView2<S>,
    first: usize,
    terms: &mut [f64],
    bufs: &mut [(Array2<F>, Array2<F>)],
    split: bool,
) -> usize {
    let n = layers.len();
    let mut correct = 0;
    let mut x = Array2::<F>::zeros((x_all.nrows(), EVAL_CHUNK));
    let out = layers[n - 1].w.nrows();
    let (mut zw, mut aw, mut yw) = (
        Array2::zeros((out, EVAL_CHUNK)),
        Array2::zeros((out, EVAL_CHUNK)),
        Array2::zeros((out, EVAL_CHUNK)),
    );
    for (c, part) in terms.chunks_mut(EVAL_CHUNK).enumerate() {
        let start = first + c * EVAL_CHUNK;
        let cols = part.len();
        let mut xc = x.slice_mut(s![.., ..cols]);
        Zip::from(&mut xc)
            .and(x_all.slice(s![.., start..start + cols]))
            .for_each(|d, &v| *d = F::of(v.wide()));
        for (i, layer) in layers.iter().enumerate() {
            let (done, rest) = bufs.split_at_mut(i);
            let a_prev = if i == 0 { xc.view() } else { done[i - 1].1.slice(s![.., ..cols]) };
            let (z, a) = &mut rest[0];
            let mut z = z.slice_mut(s![.., ..cols]);
            matmul_packed(layer.w.view(), a_prev, z.view_mut(), split);
            activate(layer.activation, Some(layer.b.view()), z, a.slice_mut(s![.., ..cols]), None);
        }
        let (z, a) = &bufs[n - 1];
        let (mut zc, mut ac, mut yc) =
            (zw.slice_mut(s![.., ..cols]), aw.slice_mut(s![.., ..cols]), yw.slice_mut(s![.., ..cols]));
        zc.zip_mut_with(&z.slice(s![.., ..cols]), |w, &v| *w = v.wide());
        ac.zip_mut_with(&a.slice(s![.., ..cols]), |w, &v| *w = v.wide());
        Zip::from(&mut yc).and(y_all.slice(s![.., start..start + cols])).for_each(|w, &v| *w = v.wide());
        let columns = zc.columns().into_iter().zip(ac.columns()).zip(yc.columns());
        for (t, ((zj, aj), yj)) in part.iter_mut().zip(columns) {
            *t = loss.example_loss(zj, aj, yj);
        }
        correct += count_correct(ac.view(), yc.view());
    }
    correct
}

/// As in the workspace: dW[l] ∥ dA[l−1] on two cores when both are above the direct kernel's
/// size, in the default build.
fn two_products_at_once(work_dw: usize, work_da: usize) -> bool {
    OWN_THREADS && work_dw > DIRECT_MAX_WORK && work_da > DIRECT_MAX_WORK && cores() >= 2
}
