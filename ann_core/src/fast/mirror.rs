//! [`Mirror`]: a network trained in another precision (f32): its parameters, their
//! gradients and the optimizer's averages copied into that precision, with the buffers of a
//! training step, allocated once.
//!
//! Dense and convolutional layers (with max pooling), without normalization. A step runs the
//! equations of [`Workspace`](super::Workspace), with the same kernels:
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

use super::conv::{ConvScratch, conv_backward, pool_batch, unpool_batch};
use super::evaluate::{EVAL_CHUNK, PARALLEL_EVAL_WORK};
use super::kernels::{
    bias_gradient, elementwise_delta, fill_mask, gather_columns_into, in_memory_order_of,
    scale_weight_gradient, zip2_mut, zip3_mut,
};
use super::matmul::{Direct, dense_backward_products};
use super::real::Real;
use super::threads::{OWN_THREADS, cores, join};
use super::workspace::{add_bias_and_activate, linear_into, per_filter_view};
use crate::activation::Activation;
use crate::conv::{Image, MaxPool2d};
use crate::dropout::Dropout;
use crate::error::{AnnError, Result, bad_hyper};
use crate::l2::L2;
use crate::layer::LayerKind;
use crate::loss::Loss;
use crate::metrics::count_correct;
use crate::network::Network;
use crate::optim::{Optimizer, ParamCopy, ParamState, Stored};
use crate::param::ParamKind;
use ndarray::{Array2, ArrayView2, ArrayViewMut2, ShapeBuilder, Zip, s};
use rand::rngs::ChaCha8Rng;

/// One layer's parameters in precision F, and what fixes its buffers.
#[derive(Debug, Clone)]
struct Weights<F> {
    w: Array2<F>,
    b: Array2<F>,
    activation: Activation,
    kind: LayerKind,
    /// Rows of Z[l] and of A[l] (they differ where the layer pools).
    z_units: usize,
    units: usize,
    /// The pooling after g[l] and the image it pools.
    pool: Option<(MaxPool2d, Image)>,
}

/// A pooling layer's buffers: g(Z[l]) before pooling, the arg-max of every window, and dA[l]
/// (after pooling) on the way back.
#[derive(Debug, Clone)]
struct Pooled<F> {
    g: Array2<F>,
    argmax: Array2<usize>,
    da: Array2<F>,
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
    /// dZ[l] (dA[l] first, then turned into dZ[l] in place; a pooling layer's dA[l] goes
    /// to its `pooled` buffer first).
    dz: Vec<Array2<F>>,
    pooled: Vec<Option<Pooled<F>>>,
    /// Z[L], A[L], Y{t} widened to f64 for the loss.
    wide: [Array2<f64>; 3],
}

impl<F: Real> Batch<F> {
    fn new(layers: &[Weights<F>], n_x: usize, cols: usize) -> Self {
        let z_rows = |l: &Weights<F>| Array2::zeros((l.z_units, cols));
        let out = layers[layers.len() - 1].units;
        let pooled = |l: &Weights<F>| {
            l.pool?;
            let (g, da) = (Array2::zeros((l.z_units, cols)), Array2::zeros((l.units, cols)));
            Some(Pooled { g, argmax: Array2::zeros((l.units, cols)), da })
        };
        Batch {
            x: Array2::zeros((n_x, cols)),
            y: Array2::zeros((out, cols)),
            z: layers.iter().map(z_rows).collect(),
            a: layers.iter().map(|l| Array2::zeros((l.units, cols))).collect(),
            d: vec![None; layers.len()],
            keep: vec![1.0; layers.len()],
            dz: layers.iter().map(z_rows).collect(),
            pooled: layers.iter().map(pooled).collect(),
            wide: std::array::from_fn(|_| Array2::zeros((out, cols))),
        }
    }
}

/// One core's buffers for evaluating chunks of `width` columns, allocated once: per layer
/// flat buffers seen as (rows, columns of the chunk), so a convolution sees each as one
/// standard-layout matrix.
#[derive(Debug, Clone)]
struct EvalBuffers<F> {
    /// Columns per chunk.
    width: usize,
    /// The chunk of X, rounded to F, in X's memory order.
    x: Array2<F>,
    /// Z[l] and A[l]; a pooling layer's g(Z[l]) and arg-max.
    z: Vec<Vec<F>>,
    a: Vec<Vec<F>>,
    pooled: Vec<Option<(Vec<F>, Vec<usize>)>>,
    /// Z[L], A[L] and Y of the chunk widened to f64 for the loss.
    wide: [Array2<f64>; 3],
    /// 0, 1, ..., width − 1: the columns of a chunk, to gather them.
    columns: Vec<usize>,
    /// See `matmul_into` and `conv.rs`.
    scratch: Vec<F>,
    conv: ConvScratch<F>,
}

impl<F: Direct> EvalBuffers<F> {
    fn new(layers: &[Weights<F>], n_x: usize, column_major: bool) -> Self {
        let width = eval_width(layers);
        let out = layers[layers.len() - 1].units;
        let zero = F::of(0.0);
        EvalBuffers {
            width,
            x: if column_major { Array2::zeros((n_x, width).f()) } else { Array2::zeros((n_x, width)) },
            z: layers.iter().map(|l| vec![zero; l.z_units * width]).collect(),
            a: layers.iter().map(|l| vec![zero; l.units * width]).collect(),
            pooled: (layers.iter())
                .map(|l| l.pool.map(|_| (vec![zero; l.z_units * width], vec![0; l.units * width])))
                .collect(),
            wide: std::array::from_fn(|_| Array2::zeros((out, width))),
            columns: (0..width).collect(),
            scratch: Vec::new(),
            conv: ConvScratch::default(),
        }
    }
}

/// Columns per evaluation chunk: `EVAL_CHUNK`, fewer when a layer has many units per example
/// (a convolution's feature maps), so that no buffer passes 2²⁰ entries.
fn eval_width<F>(layers: &[Weights<F>]) -> usize {
    let per_example = layers.iter().map(|l| l.z_units).max().unwrap_or(1);
    EVAL_CHUNK.min(((1 << 20) / per_example.max(1)).max(1))
}

/// `buf`'s first rows · cols entries as a (rows, cols) matrix.
fn view_mut<F>(buf: &mut [F], rows: usize, cols: usize) -> ArrayViewMut2<'_, F> {
    ArrayViewMut2::from_shape((rows, cols), &mut buf[..rows * cols])
        .expect("a buffer of rows · chunk entries")
}

/// The read-only [`view_mut`].
fn view<F>(buf: &[F], rows: usize, cols: usize) -> ArrayView2<'_, F> {
    ArrayView2::from_shape((rows, cols), &buf[..rows * cols]).expect("a buffer of rows · chunk entries")
}

/// A rule's (m, v) of one parameter (None for an average the rule does not keep).
type Averages<F> = (Option<Array2<F>>, Option<Array2<F>>);

/// A network, its gradients and its optimizer's averages in precision F, with the buffers of
/// its training steps (see the module docs).
#[derive(Debug, Clone)]
pub(crate) struct Mirror<F: Real> {
    layers: Vec<Weights<F>>,
    /// n_x, the rows of X.
    n_x: usize,
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
    /// Per layout of X (row-major, column-major) and per core, the evaluation's buffers.
    eval: [Vec<EvalBuffers<F>>; 2],
    /// The loss term of every column of the evaluated data set.
    terms: Vec<f64>,
    /// Row-major copies of transposed operands (see `matmul_into`).
    scratch: Vec<F>,
    /// The convolutions' slices of patches (see `conv.rs`).
    conv: ConvScratch<F>,
}

impl<F: Direct + Stored> Mirror<F> {
    /// `net` and `optimizer`'s state rounded to F, with buffers for batches of `batch_size`.
    /// Dense layers without normalization only; softmax only as the output layer.
    pub(crate) fn new(net: &Network, optimizer: &Optimizer, batch_size: usize) -> Result<Self> {
        check_f32(net)?;
        let round = |a: &Array2<f64>| a.mapv(F::of);
        let layers: Vec<Weights<F>> = (net.layers().iter())
            .map(|l| Weights {
                w: round(&l.w),
                b: round(&l.b),
                activation: l.activation,
                kind: l.kind,
                z_units: l.z_units(),
                units: l.units(),
                pool: l.pooling(),
            })
            .collect();
        let grads = layers.iter().flat_map(|l| [Array2::zeros(l.w.raw_dim()), Array2::zeros(l.b.raw_dim())]);
        let state = optimizer.state();
        let averages = (state.params.iter())
            .map(|p| (p.first.as_ref().map(round), p.second.as_ref().map(round)))
            .collect();
        let n_x = net.input_size();
        Ok(Mirror {
            batches: vec![Batch::new(&layers, n_x, batch_size)],
            n_x,
            grads: grads.collect(),
            layers,
            loss: net.loss(),
            averages,
            t: state.t,
            active: None,
            eval: [Vec::new(), Vec::new()],
            terms: Vec::new(),
            scratch: Vec::new(),
            conv: ConvScratch::default(),
        })
    }

    /// Gathers the columns `idx` of (X, Y) into X{t}, Y{t}, rounded to F. `idx` in range.
    pub(crate) fn load_batch<S: Real>(&mut self, x: ArrayView2<S>, y: ArrayView2<S>, idx: &[usize]) {
        let k = match self.batches.iter().position(|b| b.x.ncols() == idx.len()) {
            Some(k) => k,
            None => {
                let batch = Batch::new(&self.layers, self.n_x, idx.len());
                if self.batches.len() < 2 {
                    self.batches.push(batch);
                } else {
                    self.batches[1] = batch;
                }
                self.batches.len() - 1
            }
        };
        let batch = &mut self.batches[k];
        in_memory_order_of(&mut batch.x, x);
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
        let Batch { x, z, a, d, keep, pooled, .. } = &mut self.batches[k];
        let (scratch, conv) = (&mut self.scratch, &mut self.conv);
        for (i, layer) in self.layers.iter().enumerate() {
            let p = dropout.keep(i + 1, n);
            let (done, rest) = a.split_at_mut(i);
            let a_prev = if i == 0 { x.view() } else { done[i - 1].view() };
            // Z[l] = W[l] A[l−1], or W[l] im2col(A[l−1])
            linear_into(&layer.kind, layer.w.view(), a_prev, z[i].view_mut(), conv, scratch, true);
            let mask = if p < 1.0 {
                let mask = d[i].get_or_insert_with(|| Array2::zeros(rest[0].raw_dim()));
                fill_mask(mask.view_mut(), p, rng);
                Some((mask.view(), F::of(p)))
            } else {
                d[i] = None;
                None
            };
            keep[i] = p;
            let (kind, act, b) = (&layer.kind, layer.activation, layer.b.view());
            match (&mut pooled[i], layer.pool) {
                // Z[l] += b[l];  A[l] = g(Z[l]) ⊙ D[l] / keep_prob[l]
                (None, _) => add_bias_and_activate(kind, act, b, z[i].view_mut(), rest[0].view_mut(), mask),
                // Z[l] += b[l];  G = g(Z[l]);  A[l] = maxpool(G) ⊙ D[l] / keep_prob[l]
                (Some(pool), Some((window, image))) => {
                    add_bias_and_activate(kind, act, b, z[i].view_mut(), pool.g.view_mut(), None);
                    pool_batch(&window, image, pool.g.view(), rest[0].view_mut(), pool.argmax.view_mut());
                    if let Some((d, keep)) = mask {
                        let scale = F::one() / keep;
                        zip2_mut(&mut rest[0], d, |a, d| *a = *a * d * scale);
                    }
                }
                (Some(_), None) => unreachable!("pooling buffers only for a pooling layer"),
            }
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
        l2.of_squares(sq, m)
    }

    /// Backpropagation of the last forward pass into the gradients (see the module docs).
    pub(crate) fn backward(&mut self, l2: L2) -> Result<()> {
        let loss = self.loss;
        let k = self.active.ok_or_else(|| AnnError::EmptyInput("no batch loaded".into()))?;
        let Batch { x, y, z, a, d, keep, dz, pooled, .. } = &mut self.batches[k];
        let (layers, scratch, conv) = (&self.layers, &mut self.scratch, &mut self.conv);
        let n = layers.len();
        let cols = y.ncols();
        // dZ[L] (times m; the 1/m comes with dW and db)
        zip3_mut(&mut dz[n - 1], a[n - 1].view(), y.view(), |d, a, y| *d = a - y);
        if loss == Loss::MeanSquaredError {
            let act = layers[n - 1].activation;
            elementwise_delta(act, z[n - 1].view(), a[n - 1].view(), None, &mut dz[n - 1])
                .expect("an element-wise output layer (checked in `new`)");
        }
        for i in (0..n).rev() {
            let layer = &layers[i];
            let (lower, upper) = dz.split_at_mut(i);
            let a_prev = if i == 0 { x.view() } else { a[i - 1].view() };
            let w = &layer.w;
            let (dw, db) = match &mut self.grads[2 * i..2 * i + 2] {
                [dw, db] => (dw, db),
                _ => unreachable!("two gradients per layer"),
            };
            // dA[l−1] goes into the dZ[l−1] buffer, or into the buffer of the pooled A[l−1]
            let (pooled_lower, _) = pooled.split_at_mut(i);
            let da = match pooled_lower.last_mut() {
                Some(Some(pool)) => Some(pool.da.view_mut()),
                _ => lower.last_mut().map(|da| da.view_mut()),
            };
            match &layer.kind {
                // dW[l] = dZ[l] Pᵀ and dA[l−1] = col2im(W[l]ᵀ dZ[l]), P = im2col(A[l−1])
                LayerKind::Conv2d(c2d) => {
                    let dz_l = per_filter_view(upper[0].view(), w.nrows());
                    conv_backward(c2d, w.view(), a_prev, dz_l, dw.view_mut(), da, conv, true);
                }
                // dW[l] = dZ[l] A[l−1]ᵀ and dA[l−1] = W[l]ᵀ dZ[l]
                LayerKind::Dense => {
                    dense_backward_products(w.view(), upper[0].view(), a_prev, dw.view_mut(), da, scratch)
                }
            }
            // dW[l] = (1/m) dZ[l] A[l−1]ᵀ + (λ/N) W[l];  db[l] = (1/m) Σ dZ[l] (over the
            // columns, and the positions of a filter)
            scale_weight_gradient(dw, w.view(), l2, cols);
            let dz_l = match layer.kind {
                LayerKind::Dense => upper[0].view(),
                LayerKind::Conv2d(_) => per_filter_view(upper[0].view(), w.nrows()),
            };
            bias_gradient(db, dz_l, cols);
            if i == 0 {
                continue;
            }
            let j = i - 1;
            let mask = d[j].as_ref().map(|d| (d.view(), F::of(keep[j])));
            let dz_prev = lower.last_mut().expect("layer l − 1");
            let act = layers[j].activation;
            let done = match (&mut pooled[j], layers[j].pool) {
                // dA[l−1] ⊙ D[l−1] / keep_prob[l−1] → unpool → ⊙ g'(Z[l−1])
                (Some(pool), Some((window, image))) => {
                    if let Some((d, keep)) = mask {
                        let scale = F::one() / keep;
                        zip2_mut(&mut pool.da, d, |v, d| *v = *v * d * scale);
                    }
                    unpool_batch(&window, image, pool.argmax.view(), pool.da.view(), dz_prev.view_mut());
                    elementwise_delta(act, z[j].view(), pool.g.view(), None, dz_prev)
                }
                // dZ[l−1] = dA[l−1] ⊙ D[l−1] / keep_prob[l−1] ⊙ g'(Z[l−1])
                _ => elementwise_delta(act, z[j].view(), a[j].view(), mask, dz_prev),
            };
            done.expect("hidden layers are element-wise (checked in `new`)");
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
        // Into the state's own arrays after the first epoch (the same parameters and averages);
        // a state without them yet gets new ones.
        if state.params.len() != ids.len() {
            state.params = ids.iter().map(|&id| ParamState { id, first: None, second: None }).collect();
        }
        let into = |dst: &mut Option<Array2<f64>>, src: &Option<Array2<F>>| match (dst.as_mut(), src) {
            (Some(d), Some(s)) if d.dim() == s.dim() => d.zip_mut_with(s, |d, &v| *d = v.wide()),
            _ => *dst = src.as_ref().map(|s| s.mapv(|v| v.wide())),
        };
        for ((p, id), (m, v)) in state.params.iter_mut().zip(ids).zip(&self.averages) {
            p.id = id;
            into(&mut p.first, m);
            into(&mut p.second, v);
        }
    }

    /// (J + L2, accuracy) on a whole data set in eval mode, in chunks of columns rounded to F
    /// (`EVAL_CHUNK`, fewer for big feature maps; two cores for big sets); the per-column
    /// losses are computed in f64 and summed column after column, as [`Loss::cost`] sums
    /// them. `l2` carries N.
    pub(crate) fn evaluate<S: Real>(
        &mut self,
        x: ArrayView2<S>,
        y: ArrayView2<S>,
        l2: L2,
    ) -> (f64, Option<f64>) {
        let m = x.ncols();
        let width = eval_width(&self.layers);
        let chunks = m.div_ceil(width);
        let per_example = self.layers.iter().map(|l| l.w.len() * (l.z_units / l.w.nrows())).sum::<usize>();
        let threads = if OWN_THREADS && chunks >= 2 && m * per_example >= PARALLEL_EVAL_WORK && cores() >= 2 {
            2
        } else {
            1
        };
        // The chunks in X's memory order (see `load_batch`).
        let column_major = x.strides()[0] == 1 && x.nrows() > 1;
        let eval = &mut self.eval[usize::from(column_major)];
        while eval.len() < threads {
            eval.push(EvalBuffers::new(&self.layers, self.n_x, column_major));
        }
        self.terms.resize(m, 0.0);
        let mut terms = std::mem::take(&mut self.terms);
        let (layers, loss) = (&self.layers, self.loss);
        let correct = if threads == 2 {
            let mid = chunks.div_ceil(2) * width;
            let (ta, tb) = terms.split_at_mut(mid);
            let (ba, bb) = eval.split_at_mut(1);
            let (here, there) = join(
                || eval_columns(layers, loss, x, y, 0, ta, &mut ba[0], false),
                || eval_columns(layers, loss, x, y, mid, tb, &mut bb[0], false),
            );
            here + there
        } else {
            eval_columns(layers, loss, x, y, 0, &mut terms, &mut eval[0], true)
        };
        let total = terms.iter().fold(0.0, |t, &c| t + c);
        self.terms = terms;
        let cost = total / m as f64 + self.penalty(l2, m);
        (cost, (loss != Loss::MeanSquaredError).then(|| correct as f64 / m as f64))
    }
}

/// Whether `net` trains in f32: dense and convolutional layers without normalization,
/// softmax only as the output, no pooling in the output layer, no softmax with the squared
/// error. The error names the first layer that does not, and says to train in f64.
pub(crate) fn check_f32(net: &Network) -> Result<()> {
    let n = net.num_layers();
    for (i, layer) in net.layers().iter().enumerate() {
        let what = if let Some(norm) = &layer.normalization {
            Some(norm.kind().name())
        } else if layer.activation == Activation::Softmax && i + 1 < n {
            Some("a softmax hidden layer")
        } else if layer.pooling().is_some() && i + 1 == n {
            Some("a pooling output layer")
        } else {
            None
        };
        if let Some(what) = what {
            return Err(bad_hyper(
                "precision",
                "F32",
                &format!(
                    "trains dense and convolutional layers without normalization; layer {} is \
                     {what} ({}): train this network with Precision::F64",
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
    Ok(())
}

/// The eval-mode forward pass over columns `first..first + terms.len()`, chunk by chunk:
/// each column's loss into `terms`; returns how many columns are classified right.
#[allow(clippy::too_many_arguments)]
fn eval_columns<F: Direct, S: Real>(
    layers: &[Weights<F>],
    loss: Loss,
    x_all: ArrayView2<S>,
    y_all: ArrayView2<S>,
    first: usize,
    terms: &mut [f64],
    bufs: &mut EvalBuffers<F>,
    split: bool,
) -> usize {
    let n = layers.len();
    let mut correct = 0;
    let EvalBuffers { width, x, z: zs, a: as_, pooled, wide: [zw, aw, yw], columns, scratch, conv } = bufs;
    for (c, part) in terms.chunks_mut(*width).enumerate() {
        let start = first + c * *width;
        let cols = part.len();
        let mut xc = x.slice_mut(s![.., ..cols]);
        gather_columns_into(x_all.slice(s![.., start..start + cols]), &columns[..cols], xc.view_mut());
        for (i, layer) in layers.iter().enumerate() {
            let (done, rest) = as_.split_at_mut(i);
            let a_prev = if i == 0 { xc.view() } else { view(&done[i - 1], layers[i - 1].units, cols) };
            let mut z = view_mut(&mut zs[i], layer.z_units, cols);
            linear_into(&layer.kind, layer.w.view(), a_prev, z.view_mut(), conv, scratch, split);
            let a = view_mut(&mut rest[0], layer.units, cols);
            let (kind, act, b) = (&layer.kind, layer.activation, layer.b.view());
            match (&mut pooled[i], layer.pool) {
                (Some((g, argmax)), Some((window, image))) => {
                    let mut g = view_mut(g, layer.z_units, cols);
                    add_bias_and_activate(kind, act, b, z, g.view_mut(), None);
                    pool_batch(&window, image, g.view(), a, view_mut(argmax, layer.units, cols));
                }
                _ => add_bias_and_activate(kind, act, b, z, a, None),
            }
        }
        let units = layers[n - 1].units;
        let (z, a) = (view(&zs[n - 1], units, cols), view(&as_[n - 1], units, cols));
        let (mut zc, mut ac, mut yc) =
            (zw.slice_mut(s![.., ..cols]), aw.slice_mut(s![.., ..cols]), yw.slice_mut(s![.., ..cols]));
        zc.zip_mut_with(&z, |w, &v| *w = v.wide());
        ac.zip_mut_with(&a, |w, &v| *w = v.wide());
        Zip::from(&mut yc).and(y_all.slice(s![.., start..start + cols])).for_each(|w, &v| *w = v.wide());
        let columns = zc.columns().into_iter().zip(ac.columns()).zip(yc.columns());
        for (t, ((zj, aj), yj)) in part.iter_mut().zip(columns) {
            *t = loss.example_loss(zj, aj, yj);
        }
        correct += count_correct(ac.view(), yc.view());
    }
    correct
}
