//! [`Workspace`]: the buffers of a training step, allocated once and reused at every step.
//!
//! A workspace holds, for one batch width, the cache (X{t}, Z[l], A[l], D[l]), Y{t}, the
//! buffers dA[l]/dZ[l] and the gradients of every parameter, and fills them in place with
//! the equations of `forward` and `backward`:
//!
//! - Z[l] = W[l] A[l−1] into the preallocated Z[l], then one fused pass per element:
//!   Z[l] += b[l];  A[l] = g(Z[l]) ⊙ D[l] · (1/keep_prob[l]);
//! - dZ[L] = A[L] − Y{t};  dW[l] = (1/m) dZ[l] A[l−1]ᵀ (+ λ/N W[l]);  db[l] = Σ dZ[l] / m;
//!   dA[l−1] = W[l]ᵀ dZ[l] into the dZ[l−1] buffer, then in place
//!   dZ[l−1] = dA[l−1] ⊙ D[l−1] / keep_prob[l−1] ⊙ g'(Z[l−1]).
//!
//! A convolutional layer builds the patch matrix P = im2col(A[l−1]) of the whole batch into a
//! buffer of its own and computes Z[l] = W[l] P (+ b[l] per filter) as one product; on the
//! way back dW[l] = (1/m) dZ[l] Pᵀ, then dP = W[l]ᵀ dZ[l] overwrites P and col2im sums it
//! into dA[l−1] (see `conv.rs`). A pooling layer keeps g(Z[l]) before pooling and the
//! arg-max of every window; dA[l] goes through them to the gradient of g(Z[l]).
//!
//! A normalized layer runs its normalization's own step between Z[l] += b[l] and g (and
//! between dZ̃[l] and dW[l] on the way back): the readable functions of
//! [`crate::normalization`], which allocate their results, so only networks without
//! normalization train without allocating.
//!
//! In the default build (without the `threading` or `blas` features, whose matrix products
//! are already multi-threaded) dW[l] ∥ dA[l−1] run on two cores when both are big. The last,
//! smaller batch of an epoch gets a second set of buffers of its own width, so steady-state
//! training does not allocate at all.

use super::conv::{ConvScratch, conv_backward, conv_forward, pool_batch, unpool_batch};
use super::kernels::{
    activate, add_bias, bias_gradient, fill_mask, gather_columns_into, hidden_delta, in_memory_order_of,
    scale_weight_gradient, zip2_mut, zip3_mut,
};
use super::matmul::{Direct, dense_backward_products, matmul_into};
use super::real::Real;
use crate::activation::Activation;
use crate::backward::eval_pass;
use crate::cache::{Cache, Train};
use crate::conv::{Image, PoolCache};
use crate::data::DataView;
use crate::dropout::Dropout;
use crate::error::{AnnError, Result, bad_hyper};
use crate::gradients::Gradients;
use crate::l2::L2;
use crate::layer::{Layer, LayerKind};
use crate::loss::Loss;
use crate::matrix_norm::frobenius;
use crate::network::Network;
use crate::normalization::in_layer;
use crate::param::ParamKind;
use ndarray::{Array2, ArrayView2, ArrayViewMut2};
use rand::rngs::ChaCha8Rng;
use std::marker::PhantomData;

/// Buffers for batches of one width (number of columns).
#[derive(Debug, Clone)]
struct Slot {
    /// X{t} (as A[0]), Z[l], A[l], D[l] of the current batch.
    cache: Cache<Train>,
    /// Y{t}.
    y: Array2<f64>,
    /// dZ[l]; dA[l] is first written into the same buffer, then turned into dZ[l] in place
    /// (a pooling layer's dA[l] goes to `pooled` first).
    dz: Vec<Array2<f64>>,
    /// g(Z[l]) of a softmax hidden layer whose A[l] carries dropout (element-wise
    /// activations recompute g(z) entry by entry); allocated on first use.
    g: Vec<Option<Array2<f64>>>,
    /// Per pooling layer, g(Z[l]) before pooling and the buffer of dA[l] (after pooling).
    pooled: Vec<Option<(Array2<f64>, Array2<f64>)>>,
}

/// What fixes a layer's buffers: W[l]'s shape, the kind, the rows of Z[l] and A[l], the
/// image a pooling pools.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Shape {
    w: (usize, usize),
    kind: LayerKind,
    pub(super) z_units: usize,
    pub(super) units: usize,
    pub(super) pool: Option<Image>,
}

impl Shape {
    pub(super) fn of(layer: &Layer) -> Shape {
        Shape {
            w: layer.w.dim(),
            kind: layer.kind,
            z_units: layer.z_units(),
            units: layer.units(),
            pool: layer.pooling().map(|(_, image)| image),
        }
    }
}

impl Slot {
    fn new(shapes: &[Shape], n_x: usize, cols: usize) -> Slot {
        let l = shapes.len();
        let z = || shapes.iter().map(|s| Array2::zeros((s.z_units, cols))).collect::<Vec<_>>();
        Slot {
            cache: Cache {
                normalization: vec![None; l],
                a0: Array2::zeros((n_x, cols)),
                z: z(),
                a: shapes.iter().map(|s| Array2::zeros((s.units, cols))).collect(),
                masks: vec![None; l],
                keep: vec![1.0; l],
                pool: (shapes.iter())
                    .map(|s| Some(PoolCache { input: s.pool?, argmax: Array2::zeros((s.units, cols)) }))
                    .collect(),
                mode: PhantomData,
            },
            y: Array2::zeros((shapes[l - 1].units, cols)),
            dz: z(),
            g: vec![None; l],
            pooled: (shapes.iter())
                .map(|s| {
                    s.pool?;
                    Some((Array2::zeros((s.z_units, cols)), Array2::zeros((s.units, cols))))
                })
                .collect(),
        }
    }

    fn cols(&self) -> usize {
        self.cache.a0.ncols()
    }
}

/// A matrix (F·H′·W′, m) in standard layout seen as (F, H′·W′·m): one row per filter.
pub(super) fn per_filter<F>(z: ArrayViewMut2<'_, F>, filters: usize) -> ArrayViewMut2<'_, F> {
    let len = z.len();
    z.into_shape_with_order((filters, len / filters)).expect("a standard-layout (F·H′·W′, m) matrix")
}

/// The read-only [`per_filter`].
pub(super) fn per_filter_view<F>(z: ArrayView2<'_, F>, filters: usize) -> ArrayView2<'_, F> {
    let len = z.len();
    z.into_shape_with_order((filters, len / filters)).expect("a standard-layout (F·H′·W′, m) matrix")
}

/// Z[l] = W[l] A[l−1] (dense) or W[l] im2col(A[l−1]) (convolutional), without the bias, for
/// a layer of `kind` with weights `w`.
pub(super) fn linear_into<F: Direct>(
    kind: &LayerKind,
    w: ArrayView2<F>,
    a_prev: ArrayView2<F>,
    z: ArrayViewMut2<F>,
    conv_scratch: &mut ConvScratch<F>,
    scratch: &mut Vec<F>,
    split: bool,
) {
    match kind {
        LayerKind::Conv2d(conv) => {
            conv_forward(conv, w, a_prev, per_filter(z, w.nrows()), conv_scratch, split)
        }
        LayerKind::Dense => matmul_into(w, a_prev, z, scratch, split),
    }
}

/// Z[l] += b[l] (per unit, or per filter of a convolutional layer) and `out` = g(Z[l]) ⊙ D /
/// keep_prob: fused into one pass, per filter, for the element-wise activations.
pub(super) fn add_bias_and_activate<F: Real>(
    kind: &LayerKind,
    activation: Activation,
    b: ArrayView2<F>,
    z: ArrayViewMut2<F>,
    out: ArrayViewMut2<F>,
    mask: Option<(ArrayView2<F>, F)>,
) {
    match kind {
        LayerKind::Dense => activate(activation, Some(b), z, out, mask),
        LayerKind::Conv2d(_) if activation == Activation::Softmax => {
            // softmax takes each whole column: the bias per filter first, then g
            let mut z = z;
            add_bias(per_filter(z.view_mut(), b.nrows()), b);
            activate(activation, None, z, out, mask);
        }
        LayerKind::Conv2d(_) => {
            let f = b.nrows();
            let mask = mask.map(|(d, keep)| (per_filter_view(d, f), keep));
            activate(activation, Some(b), per_filter(z, f), per_filter(out, f), mask);
        }
    }
}

/// Preallocated buffers for the allocation-free training path (see the module docs).
#[derive(Debug, Clone)]
pub(crate) struct Workspace {
    /// [n_0, ..., n_L] of the network the buffers are shaped for.
    pub(super) sizes: Vec<usize>,
    /// What fixes each layer's buffers.
    pub(super) shapes: Vec<Shape>,
    /// slots[0] has `batch_size` columns; slots[1], if any, the width of the last batch.
    slots: Vec<Slot>,
    /// The slot holding the current batch.
    active: Option<usize>,
    pub(super) grads: Gradients,
    /// Per layer, the index of W[l] in the parameter list (b[l], γ[l], β[l] follow it).
    first_param: Vec<usize>,
    /// Per thread, buffers for chunked evaluation.
    pub(super) eval: Vec<EvalBufs>,
    /// Row-major copies of transposed matrix operands (see `matmul_into`).
    pub(super) scratch: Vec<f64>,
    /// The convolutions' slices of patches (see `conv.rs`).
    conv: ConvScratch,
    /// The loss term of every column of the evaluated data set.
    pub(super) terms: Vec<f64>,
}

impl Workspace {
    /// Buffers for `net` and batches of up to `batch_size` columns (a batch of another
    /// width gets a second set of buffers, e.g. the last batch of an epoch).
    pub fn new(net: &Network, batch_size: usize) -> Result<Self> {
        if batch_size == 0 {
            return Err(bad_hyper("batch_size", 0, "must be at least 1"));
        }
        let sizes = net.sizes();
        let shapes: Vec<Shape> = net.layers().iter().map(Shape::of).collect();
        let grads = Gradients::zeros_like(net);
        let first_param = grads
            .iter()
            .enumerate()
            .filter(|(_, (id, _))| id.kind == ParamKind::Weight)
            .map(|(k, _)| k)
            .collect();
        Ok(Workspace {
            slots: vec![Slot::new(&shapes, sizes[0], batch_size)],
            sizes,
            shapes,
            active: None,
            grads,
            first_param,
            eval: Vec::new(),
            scratch: Vec::new(),
            conv: ConvScratch::default(),
            terms: Vec::new(),
        })
    }

    /// Copies the columns `idx` of (X, Y) into the batch buffers X{t}, Y{t}: the batch is
    /// gathered straight from the data set, which is never copied or permuted as a whole.
    /// `data` must be checked against the network and `idx` be in range. Any layout works;
    /// with many features a column-major X (each example contiguous) gathers fastest.
    pub(crate) fn load_batch_unchecked(&mut self, data: DataView<'_>, idx: &[usize]) {
        let k = self.slot_for(idx.len());
        let slot = &mut self.slots[k];
        // X{t} in X's memory order: from a column-major X each example is one block copy.
        // (The products give the same bits for either layout of X{t}.)
        in_memory_order_of(&mut slot.cache.a0, data.x);
        gather_columns_into(data.x, idx, slot.cache.a0.view_mut());
        gather_columns_into(data.y, idx, slot.y.view_mut());
        self.active = Some(k);
    }

    /// Training-mode forward pass on the loaded batch, as [`Network::forward_train`]:
    /// draws D[l] from `rng` (the same draws, in the same order) for layers with
    /// keep_prob[l] < 1. Returns the cache, whose [`Cache::output`] is Ŷ = A[L].
    pub(crate) fn forward_train(
        &mut self,
        net: &Network,
        dropout: &Dropout,
        rng: &mut ChaCha8Rng,
    ) -> Result<&Cache<Train>> {
        self.check_net(net)?;
        dropout.check(net.num_layers())?;
        let k = self.active_slot()?;
        let (scratch, conv_scratch) = (&mut self.scratch, &mut self.conv);
        let Slot { cache, pooled, .. } = &mut self.slots[k];
        for (i, layer) in net.layers().iter().enumerate() {
            let keep = dropout.keep(i + 1, net.num_layers());
            let (done, rest) = cache.a.split_at_mut(i);
            let a_prev = if i == 0 { &cache.a0 } else { &done[i - 1] };
            let (z, a) = (&mut cache.z[i], &mut rest[0]);
            // Z[l] = W[l] A[l−1], or W[l] im2col(A[l−1])
            linear_into(
                &layer.kind,
                layer.w.view(),
                a_prev.view(),
                z.view_mut(),
                conv_scratch,
                scratch,
                true,
            );
            let mask = if keep < 1.0 {
                let d = cache.masks[i].get_or_insert_with(|| Array2::zeros(a.raw_dim()));
                fill_mask(d.view_mut(), keep, rng);
                Some((d.view(), keep))
            } else {
                cache.masks[i] = None;
                None
            };
            cache.keep[i] = keep;
            match (&layer.normalization, &mut pooled[i], &mut cache.pool[i]) {
                // Z[l] += b[l];  A[l] = g(Z[l]) ⊙ D[l] / keep_prob[l]
                (None, None, _) => add_bias_and_activate(
                    &layer.kind,
                    layer.activation,
                    layer.b.view(),
                    z.view_mut(),
                    a.view_mut(),
                    mask,
                ),
                // Z[l] += b[l];  G = g(Z[l]);  A[l] = maxpool(G) ⊙ D[l] / keep_prob[l]
                (None, Some((g, _)), Some(winners)) => {
                    let (kind, act, b) = (&layer.kind, layer.activation, layer.b.view());
                    add_bias_and_activate(kind, act, b, z.view_mut(), g.view_mut(), None);
                    let (window, image) = layer.pooling().expect("a pooling layer");
                    pool_batch(&window, image, g.view(), a.view_mut(), winners.argmax.view_mut());
                    if let Some((d, keep)) = mask {
                        let scale = 1.0 / keep;
                        zip2_mut(a, d, |a, d| *a = *a * d * scale);
                    }
                }
                (Some(norm), _, _) => {
                    // Z[l] += b[l];  Z̃[l] = γ[l] ⊙ Ẑ[l] + β[l];  A[l] = g(Z̃[l]) ⊙ D[l] / keep_prob[l]
                    add_bias(z.view_mut(), layer.b.view());
                    let (z_tilde, stats) = norm.train_step(z.view()).map_err(|e| in_layer(e, i + 1))?;
                    z.assign(&z_tilde);
                    cache.normalization[i] = Some(stats);
                    activate(layer.activation, None, z.view_mut(), a.view_mut(), mask);
                }
                (None, Some(_), None) => unreachable!("a pooling layer has its cache"),
            }
        }
        Ok(cache)
    }

    /// J{t} (+ L2) of the last forward pass, as [`Network::cost`].
    pub(crate) fn cost(&self, net: &Network, l2: impl Into<L2>) -> Result<f64> {
        let l2 = l2.into();
        self.check_net(net)?;
        l2.check("lambda (L2)")?;
        let slot = &self.slots[self.active_slot()?];
        let l = net.num_layers() - 1;
        let (z, a) = (slot.cache.z[l].view(), slot.cache.a[l].view());
        let data = net.loss().cost(z, a, slot.y.view());
        Ok(data + l2.penalty(net.weights(), slot.cols()))
    }

    /// Backpropagation of the last forward pass into the gradient buffers, as
    /// [`Network::backward`]. The result stays readable through [`Workspace::gradients`].
    pub(crate) fn backward(&mut self, net: &Network, l2: impl Into<L2>) -> Result<&Gradients> {
        let l2 = l2.into();
        self.check_net(net)?;
        l2.check("lambda (L2)")?;
        let k = self.active_slot()?;
        let Slot { cache, y, dz, g, pooled } = &mut self.slots[k];
        let (scratch, grads, conv_scratch) = (&mut self.scratch, &mut self.grads, &mut self.conv);
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
            let first = self.first_param[i];
            let mut bias_cancelled = false;
            if let Some(norm) = &layers[i].normalization {
                // dZ̃[l] → dγ[l], dβ[l] and dZ[l], by the normalization's own backward step
                let stats =
                    cache.normalization_index(i).ok_or_else(|| eval_pass(i + 1, norm.kind().name()))?;
                let step = norm.backward(stats, upper[0].view()).map_err(|e| in_layer(e, i + 1))?;
                upper[0].assign(&step.dz);
                zip2_mut(grads.value_mut(first + 2), step.dgamma.view(), |d, g| *d = g / m);
                zip2_mut(grads.value_mut(first + 3), step.dbeta.view(), |d, g| *d = g / m);
                bias_cancelled = norm.kind().cancels_bias();
            }
            let layer = &layers[i];
            let w = &layer.w;
            let dw = grads.value_mut(first);
            // dA[l−1] goes into the dZ[l−1] buffer, or into the buffer of the pooled A[l−1]
            let (pooled_lower, _) = pooled.split_at_mut(i);
            let mut da = match pooled_lower.last_mut() {
                Some(Some((_, da))) => Some(da),
                _ => lower.last_mut(),
            };
            // dZ[l] as one row per filter for a convolutional layer
            let dz_l = match layer.kind {
                LayerKind::Dense => upper[0].view(),
                LayerKind::Conv2d(_) => per_filter_view(upper[0].view(), w.nrows()),
            };
            match &layer.kind {
                LayerKind::Conv2d(conv) => {
                    // dW[l] = dZ[l] Pᵀ and dA[l−1] = col2im(W[l]ᵀ dZ[l]), P = im2col(A[l−1])
                    let a_prev = if i == 0 { &cache.a0 } else { &cache.a[i - 1] };
                    let da = da.as_mut().map(|da| da.view_mut());
                    conv_backward(conv, w.view(), a_prev.view(), dz_l, dw.view_mut(), da, conv_scratch, true);
                }
                // dW[l] = dZ[l] A[l−1]ᵀ and dA[l−1] = W[l]ᵀ dZ[l]
                LayerKind::Dense => {
                    let a_prev = if i == 0 { &cache.a0 } else { &cache.a[i - 1] };
                    let da = da.as_mut().map(|da| da.view_mut());
                    dense_backward_products(w.view(), dz_l, a_prev.view(), dw.view_mut(), da, scratch);
                }
            }
            // dW[l] = (1/m) dZ[l] A[l−1]ᵀ + (λ/N) W[l]
            scale_weight_gradient(dw, w.view(), l2, y.ncols());
            // db[l] = (1/m) Σ_columns dZ[l] (and over the positions of a filter); 0 where the
            // normalization cancels b[l]
            let db = grads.value_mut(first + 1);
            if bias_cancelled {
                db.fill(0.0);
            } else {
                bias_gradient(db, dz_l, y.ncols());
            }
            if i == 0 {
                continue;
            }
            let j = i - 1;
            let mask = cache.mask_index(j).map(|d| (d.view(), cache.keep[j]));
            let dz_prev = lower.last_mut().expect("layer l − 1");
            match (&mut pooled[j], &cache.pool[j]) {
                (Some((g_pre, da)), Some(winners)) => {
                    // dA[l−1] ⊙ D[l−1] / keep_prob[l−1] → unpool → ⊙ g'(Z[l−1])
                    if let Some((d, keep)) = mask {
                        let scale = 1.0 / keep;
                        zip2_mut(da, d, |v, d| *v = *v * d * scale);
                    }
                    let (window, image) = layers[j].pooling().expect("a pooling layer");
                    unpool_batch(&window, image, winners.argmax.view(), da.view(), dz_prev.view_mut());
                    hidden_delta(
                        layers[j].activation,
                        cache.z[j].view(),
                        g_pre.view(),
                        None,
                        &mut g[j],
                        dz_prev,
                    );
                }
                // dZ[l−1] = dA[l−1] ⊙ D[l−1] / keep_prob[l−1] ⊙ g'(Z[l−1])
                _ => hidden_delta(
                    layers[j].activation,
                    cache.z[j].view(),
                    cache.a[j].view(),
                    mask,
                    &mut g[j],
                    dz_prev,
                ),
            }
        }
        Ok(&self.grads)
    }

    /// The cache of the last forward pass (X{t}, Z[l], A[l], D[l]).
    pub(crate) fn cache(&self) -> Option<&Cache<Train>> {
        self.active.map(|k| &self.slots[k].cache)
    }

    /// The gradients of the last [`Workspace::backward`] (zeros before the first).
    pub(crate) fn gradients(&self) -> &Gradients {
        &self.grads
    }

    /// ‖dW[l]‖_F of the last gradients into `norms` (one per layer); returns whether every
    /// gradient entry is finite (a finite norm proves it for dW, so the full scan only runs
    /// when a norm overflows).
    pub(crate) fn gradient_norms(&self, norms: &mut [f64]) -> bool {
        let mut weights = norms.iter_mut();
        let mut finite = true;
        for (id, g) in self.grads.iter() {
            if id.kind == ParamKind::Weight
                && let Some(norm) = weights.next()
            {
                *norm = frobenius(g.view());
                finite &= norm.is_finite();
            } else {
                finite &= g.iter().all(|v| v.is_finite());
            }
        }
        finite || self.grads.is_finite()
    }

    fn slot_for(&mut self, cols: usize) -> usize {
        if let Some(k) = self.slots.iter().position(|s| s.cols() == cols) {
            return k;
        }
        let slot = Slot::new(&self.shapes, self.sizes[0], cols);
        if self.slots.len() < 2 {
            self.slots.push(slot);
        } else {
            self.slots[1] = slot;
        }
        self.active = None;
        self.slots.len() - 1
    }

    fn active_slot(&self) -> Result<usize> {
        self.active.ok_or_else(|| AnnError::EmptyInput("no batch in the workspace: load one first".into()))
    }

    pub(super) fn check_net(&self, net: &Network) -> Result<()> {
        net.check_shapes()?;
        let same = net.layers().len() == self.shapes.len()
            && net.layers().iter().zip(&self.shapes).all(|(l, s)| Shape::of(l) == *s);
        if !same {
            return Err(AnnError::ShapeMismatch {
                context: "network for this workspace".into(),
                expected: format!("layer sizes {:?}", self.sizes),
                got: format!("layer sizes {:?} ({})", net.sizes(), net.architecture()),
            });
        }
        // The same parameters (a normalization added or removed changes them).
        self.grads.check_fits(net)
    }
}

/// One thread's buffers for chunked evaluation: per layer, flat buffers seen as (rows,
/// columns of the chunk).
#[derive(Debug, Clone)]
pub(super) struct EvalBufs {
    pub(super) layers: Vec<EvalLayer>,
    /// See `matmul_into`.
    pub(super) scratch: Vec<f64>,
    /// The convolutions' slices of patches.
    pub(super) conv: ConvScratch,
    /// Columns per chunk.
    pub(super) width: usize,
}

/// One layer's evaluation buffers for `width` columns.
#[derive(Debug, Clone)]
pub(super) struct EvalLayer {
    /// Z[l].
    pub(super) z: Vec<f64>,
    /// A[l].
    pub(super) a: Vec<f64>,
    /// g(Z[l]) before pooling, and the arg-max of every window, for a pooling layer.
    pub(super) g: Option<Vec<f64>>,
    pub(super) argmax: Option<Vec<usize>>,
}

impl EvalBufs {
    pub(super) fn new(shapes: &[Shape], width: usize) -> EvalBufs {
        let layers = (shapes.iter())
            .map(|s| EvalLayer {
                z: vec![0.0; s.z_units * width],
                a: vec![0.0; s.units * width],
                g: s.pool.map(|_| vec![0.0; s.z_units * width]),
                argmax: s.pool.map(|_| vec![0; s.units * width]),
            })
            .collect();
        EvalBufs { layers, scratch: Vec::new(), conv: ConvScratch::default(), width }
    }
}
