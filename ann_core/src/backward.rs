//! Backpropagation, closed form. With dZ[L] = A[L] − Y (sigmoid+BCE, softmax+CE) or
//! dZ[L] = (A[L] − Y) ⊙ g'\[L\](Z[L]) (MSE), for l = L..1:
//!
//! dW[l] = (1/m) dZ[l] A[l−1]ᵀ + (λ/N) W[l]
//! db[l] = (1/m) Σ_columns dZ[l]
//! dA[l−1] = W[l]ᵀ dZ[l]   (⊙ D[l−1] / keep_prob[l−1] under dropout)
//! dZ[l−1] = dA[l−1] ⊙ g'[l−1](Z[l−1])
//!
//! A convolutional layer's dW[l], db[l] and dA[l−1] are the sums of [`crate::conv`] (its
//! filter is shared by every position, so dW sums over the positions too); a pooling layer
//! sends dA[l−1] through the pooling's arg-max first: dZ[l−1] = unpool(dA[l−1]) ⊙ g'(Z[l−1]).
//!
//! For a normalized layer the last line gives dZ̃[l−1], the gradient at the input of g; the
//! normalization's backward step turns it into dγ, dβ and dZ[l−1] (see
//! [`crate::normalization`]).

use crate::cache::Cache;
use crate::conv::unpool_unchecked;
use crate::error::{AnnError, Result, shape_str};
use crate::gradients::Gradients;
use crate::l2::L2;
use crate::layer::LayerKind;
use crate::network::Network;
use crate::normalization::in_layer;
use crate::param::ParamId;
use ndarray::{Array2, ArrayView2, Axis};

impl Network {
    /// The gradients of J (+ the L2 term `l2`, [`crate::l2`]) for the pass in `cache`, in the
    /// order of [`Network::params`], following the module equations literally (the readable
    /// reference path).
    pub fn backward<M>(&self, cache: &Cache<M>, y: ArrayView2<f64>, l2: impl Into<L2>) -> Result<Gradients> {
        let l2 = l2.into();
        self.check_targets(cache, y, l2)?;
        let n = self.num_layers();
        let m = y.ncols() as f64;
        let layers = self.layers();
        let out = &layers[n - 1];
        // dZ[L] (times m; the 1/m comes with dW and db)
        let mut dz =
            self.loss().output_delta(out.activation, cache.z[n - 1].view(), cache.a[n - 1].view(), y);
        // Layer L first; reversed into parameter order at the end.
        let mut per_layer: Vec<Vec<(ParamId, Array2<f64>)>> = Vec::with_capacity(n);
        for i in (0..n).rev() {
            let l = i + 1;
            let a_prev = if i == 0 { cache.a0.view() } else { cache.a[i - 1].view() };
            let w = &layers[i].w;
            let mut normalization = Vec::new();
            let mut bias_cancelled = false;
            if let Some(norm) = &layers[i].normalization {
                // dZ̃[l] → dγ[l], dβ[l] and dZ[l] (dz carries the factor m: so do dγ, dβ
                // before their 1/m, and the normalization's step is linear in its input)
                let stats = cache.normalization_index(i).ok_or_else(|| eval_pass(l, norm.kind().name()))?;
                let g = norm.backward(stats, dz.view()).map_err(|e| in_layer(e, l))?;
                normalization = vec![(ParamId::gamma(l), g.dgamma / m), (ParamId::beta(l), g.dbeta / m)];
                bias_cancelled = norm.kind().cancels_bias();
                dz = g.dz;
            }
            // Σ_examples of dW[l] and db[l], and dA[l−1] (not for the input X)
            let (dw_sum, db_sum, da) = match &layers[i].kind {
                // dZ[l] A[l−1]ᵀ,  Σ_columns dZ[l],  W[l]ᵀ dZ[l]
                LayerKind::Dense => {
                    let da = (i > 0).then(|| w.t().dot(&dz));
                    (dz.dot(&a_prev.t()), dz.sum_axis(Axis(1)).insert_axis(Axis(1)), da)
                }
                // the same sums over every position of the filters (crate::conv)
                LayerKind::Conv2d(conv) => {
                    let g = conv.backward(w.view(), a_prev, dz.view(), i > 0);
                    (g.dw, g.db, g.da_prev)
                }
            };
            // dW[l] = (1/m) dZ[l] A[l−1]ᵀ + (λ/N) W[l]
            // (times 1/m rather than divided by m: the fast path scales dW in place the same way)
            let mut dw = dw_sum * (1.0 / m);
            if l2.lambda != 0.0 {
                dw.scaled_add(l2.coefficient(y.ncols()), w);
            }
            // db[l] = (1/m) Σ_columns dZ[l]; exactly 0 under batch norm, whose Z[l] − μ[l]
            // cancels b[l] (β[l] does its job): written as 0 rather than as rounding noise
            let db = if bias_cancelled { Array2::zeros(layers[i].b.dim()) } else { db_sum / m };
            if let Some(mut da) = da {
                // dA[l−1] = W[l]ᵀ dZ[l]
                if let Some(d) = cache.mask_index(i - 1) {
                    // the same units are dropped, and scaled, on the way back
                    da = da * d * (1.0 / cache.keep[i - 1]);
                }
                if let Some(winners) = cache.pool.get(i - 1).and_then(Option::as_ref) {
                    // dA[l−1] of the pooled image → the gradient of g(Z[l−1]), at each arg-max
                    da = unpool_unchecked(winners, da.view());
                }
                // dZ[l−1] = dA[l−1] ⊙ g'(Z[l−1])
                let z_prev = cache.z[i - 1].view();
                let g = layers[i - 1].activation;
                dz = g.backward(z_prev, g.forward(z_prev).view(), da.view());
            }
            let mut grads = vec![(ParamId::w(l), dw), (ParamId::b(l), db)];
            grads.append(&mut normalization);
            per_layer.push(grads);
        }
        Ok(Gradients::new(per_layer.into_iter().rev().flatten().collect()))
    }

    /// The cache is a pass of this network, λ is valid and Y fits the output.
    pub(crate) fn check_targets<M>(&self, cache: &Cache<M>, y: ArrayView2<f64>, l2: L2) -> Result<()> {
        self.check_shapes()?;
        if cache.num_layers() != self.num_layers() {
            return Err(AnnError::ShapeMismatch {
                context: "cache from another network".into(),
                expected: format!("{} layers", self.num_layers()),
                got: format!("{} layers", cache.num_layers()),
            });
        }
        l2.check("lambda (L2)")?;
        for (i, layer) in self.layers().iter().enumerate() {
            if cache.z[i].nrows() != layer.z_units() || cache.a[i].nrows() != layer.units() {
                return Err(AnnError::ShapeMismatch {
                    context: format!("cached Z[{}], A[{}]", i + 1, i + 1),
                    expected: format!("({}, m), ({}, m)", layer.z_units(), layer.units()),
                    got: format!("{}, {}", shape_str(cache.z[i].shape()), shape_str(cache.a[i].shape())),
                });
            }
            let pooled = layer.pooling().map(|(_, image)| image);
            let cached = cache.pool[i].as_ref().map(|p| (p.input, p.argmax.dim()));
            if cached != pooled.map(|image| (image, cache.a[i].dim())) {
                return Err(AnnError::InvalidArchitecture(format!(
                    "layer {} {} and its cache {}: backpropagate a pass of this network",
                    i + 1,
                    if pooled.is_some() { "pools" } else { "does not pool" },
                    if cached.is_some() { "has a pooling" } else { "has none" },
                )));
            }
        }
        self.loss().check_labels(y, self.output_size(), cache.batch_size())
    }
}

/// Backprop through a normalization needs the statistics of a training pass.
pub(crate) fn eval_pass(l: usize, name: &str) -> AnnError {
    AnnError::InvalidArchitecture(format!(
        "layer {l} is normalized ({name}) and this cache has no training-pass statistics for it \
         (an evaluation pass, or a pass of a network without that normalization): backpropagate \
         a training pass of this network (forward_train or forward_with_masks)"
    ))
}

#[cfg(test)]
mod tests {
    use crate::activation::Activation;
    use crate::l2::L2;
    use crate::layer::Layer;
    use crate::loss::Loss;
    use crate::network::Network;
    use approx::assert_abs_diff_eq;
    use ndarray::array;

    /// Golden test: one sigmoid unit, gradients by hand.
    #[test]
    fn logistic_regression_gradients_by_hand() {
        let layer = Layer::new(array![[0.5, -0.25]], array![[0.1]], Activation::Sigmoid);
        let net = Network::from_layers(vec![layer], Loss::BinaryCrossEntropy).unwrap();
        let x = array![[1.0, 2.0], [0.0, -1.0]];
        let y = array![[1.0, 0.0]];
        let cache = net.forward(x.view()).unwrap();
        let a = cache.output().to_owned();
        let g = net.backward(&cache, y.view(), 0.0).unwrap();
        // dZ = A − Y;  dW = dZ Xᵀ / 2;  db = mean(dZ)
        let dz = &a - &y;
        let dw =
            array![[(dz[[0, 0]] * 1.0 + dz[[0, 1]] * 2.0) / 2.0, (dz[[0, 0]] * 0.0 + -dz[[0, 1]]) / 2.0]];
        assert_abs_diff_eq!(*g.dw(1).unwrap(), dw, epsilon = 1e-15);
        assert_abs_diff_eq!(g.db(1).unwrap()[[0, 0]], dz.mean().unwrap(), epsilon = 1e-15);
        // With L2: dW += (λ/N) W; a bare λ takes N = m = 2
        let g2 = net.backward(&cache, y.view(), 0.4).unwrap();
        assert_abs_diff_eq!(*g2.dw(1).unwrap(), &dw + &(array![[0.5, -0.25]] * 0.2), epsilon = 1e-15);
        // N = 10 training examples, whatever the size of this batch
        let g10 = net.backward(&cache, y.view(), L2::new(0.4, 10)).unwrap();
        assert_abs_diff_eq!(*g10.dw(1).unwrap(), dw + array![[0.5, -0.25]] * 0.04, epsilon = 1e-15);
        assert!(net.backward(&cache, y.view(), L2::new(0.4, 0)).is_err());
        assert!(net.backward(&cache, array![[1.0]].view(), 0.0).is_err());
        assert!(net.backward(&cache, y.view(), -1.0).is_err());
    }
}
