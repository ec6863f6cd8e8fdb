//! [`Workspace`]: the buffers of a training step, allocated once and reused at every step.
//!
//! A workspace holds, for one batch width, the cache (X{t}, Z[l], A[l], D[l]), Y{t}, the
//! buffers dA[l]/dZ[l] and the gradients of every parameter, and fills them in place with
//! the equations of `forward` and `backward`:
//!
//! - Z[l] = W[l] A[l−1] into the preallocated Z[l], then one fused pass per element:
//!   Z[l] += b[l];  A[l] = g(Z[l]) ⊙ D[l] · (1/keep_prob[l]);
//! - dZ[L] = A[L] − Y{t};  dW[l] = (1/m) dZ[l] A[l−1]ᵀ (+ λ/m W[l]);  db[l] = Σ dZ[l] / m;
//!   dA[l−1] = W[l]ᵀ dZ[l] into the dZ[l−1] buffer, then in place
//!   dZ[l−1] = dA[l−1] ⊙ D[l−1] / keep_prob[l−1] ⊙ g'(Z[l−1]).
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

use super::kernels::{activate, add_bias, fill_mask, gather_columns_into, hidden_delta, zip2_mut, zip3_mut};
use super::matmul::{DIRECT_MAX_WORK, matmul_into};
use super::simd::wide;
use super::threads::{OWN_THREADS, cores, join};
use crate::backward::eval_pass;
use crate::cache::{Cache, Train};
use crate::data::DataView;
use crate::dropout::Dropout;
use crate::error::{AnnError, Result, bad_hyper};
use crate::gradients::Gradients;
use crate::loss::{Loss, check_l2, l2_penalty};
use crate::matrix_norm::frobenius;
use crate::network::Network;
use crate::normalization::in_layer;
use crate::param::ParamKind;
use ndarray::{Array2, ShapeBuilder, Zip};
use rand::rngs::ChaCha8Rng;
use std::marker::PhantomData;

/// Buffers for batches of one width (number of columns).
#[derive(Debug, Clone)]
struct Slot {
    /// X{t} (as A[0]), Z[l], A[l], D[l] of the current batch.
    cache: Cache<Train>,
    /// Y{t}.
    y: Array2<f64>,
    /// dZ[l]; dA[l] is first written into the same buffer, then turned into dZ[l] in place.
    dz: Vec<Array2<f64>>,
    /// g(Z[l]) of a softmax hidden layer whose A[l] carries dropout (element-wise
    /// activations recompute g(z) entry by entry); allocated on first use.
    g: Vec<Option<Array2<f64>>>,
}

impl Slot {
    fn new(sizes: &[usize], cols: usize) -> Slot {
        let per_layer = || sizes[1..].iter().map(|&n| Array2::zeros((n, cols))).collect::<Vec<_>>();
        let l = sizes.len() - 1;
        Slot {
            cache: Cache {
                normalization: vec![None; l],
                a0: Array2::zeros((sizes[0], cols)),
                z: per_layer(),
                a: per_layer(),
                masks: vec![None; l],
                keep: vec![1.0; l],
                pool: vec![None; l],
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
#[derive(Debug, Clone)]
pub(crate) struct Workspace {
    /// [n_0, ..., n_L] of the network the buffers are shaped for.
    pub(super) sizes: Vec<usize>,
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
        let grads = Gradients::zeros_like(net);
        let first_param = grads
            .iter()
            .enumerate()
            .filter(|(_, (id, _))| id.kind == ParamKind::Weight)
            .map(|(k, _)| k)
            .collect();
        Ok(Workspace {
            slots: vec![Slot::new(&sizes, batch_size)],
            sizes,
            active: None,
            grads,
            first_param,
            eval: Vec::new(),
            scratch: Vec::new(),
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
        let column_major = data.x.strides()[0] == 1 && data.x.nrows() > 1;
        if column_major == slot.cache.a0.is_standard_layout() {
            let shape = slot.cache.a0.raw_dim();
            slot.cache.a0 = if column_major { Array2::zeros(shape.f()) } else { Array2::zeros(shape) };
        }
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
        let scratch = &mut self.scratch;
        let cache = &mut self.slots[k].cache;
        for (i, layer) in net.layers().iter().enumerate() {
            let keep = dropout.keep(i + 1, net.num_layers());
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
            match &layer.normalization {
                // Z[l] += b[l];  A[l] = g(Z[l]) ⊙ D[l] / keep_prob[l]
                None => activate(layer.activation, Some(layer.b.view()), z.view_mut(), a.view_mut(), mask),
                Some(norm) => {
                    // Z[l] += b[l];  Z̃[l] = γ[l] ⊙ Ẑ[l] + β[l];  A[l] = g(Z̃[l]) ⊙ D[l] / keep_prob[l]
                    add_bias(z.view_mut(), layer.b.view());
                    let (z_tilde, stats) = norm.train_step(z.view()).map_err(|e| in_layer(e, i + 1))?;
                    z.assign(&z_tilde);
                    cache.normalization[i] = Some(stats);
                    activate(layer.activation, None, z.view_mut(), a.view_mut(), mask);
                }
            }
        }
        Ok(cache)
    }

    /// J{t} (+ L2) of the last forward pass, as [`Network::cost`].
    pub(crate) fn cost(&self, net: &Network, lambda: f64) -> Result<f64> {
        self.check_net(net)?;
        check_l2("lambda (L2)", lambda)?;
        let slot = &self.slots[self.active_slot()?];
        let l = net.num_layers() - 1;
        let (z, a) = (slot.cache.z[l].view(), slot.cache.a[l].view());
        let data = net.loss().cost(z, a, slot.y.view());
        Ok(data + l2_penalty(net.weights(), lambda, slot.cols()))
    }

    /// Backpropagation of the last forward pass into the gradient buffers, as
    /// [`Network::backward`]. The result stays readable through [`Workspace::gradients`].
    pub(crate) fn backward(&mut self, net: &Network, lambda: f64) -> Result<&Gradients> {
        self.check_net(net)?;
        check_l2("lambda (L2)", lambda)?;
        let k = self.active_slot()?;
        let Slot { cache, y, dz, g } = &mut self.slots[k];
        let (scratch, grads) = (&mut self.scratch, &mut self.grads);
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
            let dz_l = &upper[0];
            let a_prev = if i == 0 { &cache.a0 } else { &cache.a[i - 1] };
            let w = &layers[i].w;
            let dw = grads.value_mut(first);
            // dW[l] = dZ[l] A[l−1]ᵀ and dA[l−1] = W[l]ᵀ dZ[l] (into the dZ[l−1] buffer) need
            // only dZ[l]: when both are big they run at the same time, one per core.
            let mut da = lower.last_mut();
            match da.as_mut() {
                Some(da) if two_products_at_once(dw.len() * dz_l.ncols(), da.len() * dz_l.nrows()) => {
                    // Both products are above the direct kernel's size: no scratch is used.
                    join(
                        || matmul_into(w.t(), dz_l.view(), da.view_mut(), scratch, false),
                        || matmul_into(dz_l.view(), a_prev.t(), dw.view_mut(), &mut Vec::new(), false),
                    );
                }
                Some(da) => {
                    matmul_into(dz_l.view(), a_prev.t(), dw.view_mut(), scratch, true);
                    matmul_into(w.t(), dz_l.view(), da.view_mut(), scratch, true);
                }
                None => matmul_into(dz_l.view(), a_prev.t(), dw.view_mut(), scratch, true),
            }
            // dW[l] = (1/m) dZ[l] A[l−1]ᵀ + (λ/m) W[l]
            let inv_m = 1.0 / m;
            if lambda != 0.0 {
                let c = lambda / m;
                zip2_mut(dw, w.view(), |d, w| *d = *d * inv_m + c * w);
            } else if let Some(dw) = dw.as_slice_mut() {
                wide(|| dw.iter_mut().for_each(|d| *d *= inv_m));
            } else {
                dw.mapv_inplace(|d| d * inv_m);
            }
            // db[l] = (1/m) Σ_columns dZ[l]; 0 where the normalization cancels b[l]
            let db = grads.value_mut(first + 1);
            if bias_cancelled {
                db.fill(0.0);
            } else {
                Zip::from(db.rows_mut()).and(dz_l.rows()).for_each(|mut b, row| b[0] = row.sum() / m);
            }
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
        self.active.ok_or_else(|| AnnError::EmptyInput("no batch in the workspace: load one first".into()))
    }

    pub(super) fn check_net(&self, net: &Network) -> Result<()> {
        net.check_shapes()?;
        let layers = net.layers();
        let same = layers.len() + 1 == self.sizes.len()
            && layers.iter().zip(self.sizes.windows(2)).all(|(l, p)| l.w.dim() == (p[1], p[0]));
        if !same {
            return Err(AnnError::ShapeMismatch {
                context: "network for this workspace".into(),
                expected: format!("layer sizes {:?}", self.sizes),
                got: format!("layer sizes {:?}", net.sizes()),
            });
        }
        // The same parameters (a normalization added or removed changes them).
        self.grads.check_fits(net)
    }
}

/// One thread's buffers for chunked evaluation.
#[derive(Debug, Clone)]
pub(super) struct EvalBufs {
    /// Per layer, (Z, A) of `EVAL_CHUNK` columns.
    pub(super) layers: Vec<(Array2<f64>, Array2<f64>)>,
    /// See `matmul_into`.
    pub(super) scratch: Vec<f64>,
}

/// Whether dW[l] and dA[l−1] (`work_dw`, `work_da` multiply-adds) run on two cores at once:
/// in the default build (the other builds' products are multi-threaded already), with two
/// cores, when both are too big for the direct kernel (a 256 → 128 layer on batches of 128:
/// 4.2M each).
fn two_products_at_once(work_dw: usize, work_da: usize) -> bool {
    OWN_THREADS && work_dw > DIRECT_MAX_WORK && work_da > DIRECT_MAX_WORK && cores() >= 2
}
