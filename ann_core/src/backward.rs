//! Backpropagation, closed form. With dZ[L] = A[L] − Y (sigmoid+BCE, softmax+CE) or
//! dZ[L] = (A[L] − Y) ⊙ g'\[L\](Z[L]) (MSE), for l = L..1:
//!
//! dW[l] = (1/m) dZ[l] A[l−1]ᵀ + (λ/m) W[l]
//! db[l] = (1/m) Σ_columns dZ[l]
//! dA[l−1] = W[l]ᵀ dZ[l]   (⊙ D[l−1] / keep_prob[l−1] under dropout)
//! dZ[l−1] = dA[l−1] ⊙ g'[l−1](Z[l−1])
//!
//! For a batch-normalized layer the last line gives dZ̃[l−1], the gradient at the input of
//! g; batch norm's backward step turns it into dγ, dβ and dZ[l−1] (see [`crate::batchnorm`]).

use crate::batchnorm::GammaBeta;
use crate::cache::Cache;
use crate::error::{AnnError, Result, bad_hyper, shape_str};
use crate::fast::frobenius;
use crate::network::Network;
use ndarray::{Array2, ArrayView2, Axis};
use serde::{Deserialize, Serialize};

/// ∂J/∂W[l] and ∂J/∂b[l] of one layer (same shapes as W[l], b[l]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerGrad {
    /// dW[l], shape (n_l, n_{l−1}).
    pub dw: Array2<f64>,
    /// db[l], shape (n_l, 1).
    pub db: Array2<f64>,
    /// dγ[l] and dβ[l] of a batch-normalized layer, shape (n_l, 1) each; None otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub norm: Option<GammaBeta>,
}

impl LayerGrad {
    /// The gradients of a layer without batch normalization.
    pub fn new(dw: Array2<f64>, db: Array2<f64>) -> Self {
        LayerGrad { dw, db, norm: None }
    }
}

/// Gradients of every layer; `layers[l − 1]` belongs to layer l.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Gradients {
    /// One entry per layer, layer 1 first.
    pub layers: Vec<LayerGrad>,
}

impl Gradients {
    /// Zero gradients shaped like `net`'s parameters.
    pub fn zeros_like(net: &Network) -> Self {
        Gradients {
            layers: net
                .layers()
                .iter()
                .map(|l| LayerGrad {
                    dw: Array2::zeros(l.w.dim()),
                    db: Array2::zeros(l.b.dim()),
                    norm: l.batch_norm.as_ref().map(GammaBeta::zeros_like),
                })
                .collect(),
        }
    }

    /// ‖dW[l]‖_F per layer, layer 1 first (the gradient-flow figures plot these).
    pub fn weight_norms(&self) -> Vec<f64> {
        self.layers.iter().map(|g| frobenius(g.dw.view())).collect()
    }

    /// Whether every entry is finite.
    pub fn is_finite(&self) -> bool {
        self.layers.iter().all(|g| {
            let norm = g.norm.iter().flat_map(|n| n.gamma.iter().chain(n.beta.iter()));
            g.dw.iter().chain(g.db.iter()).chain(norm).all(|v| v.is_finite())
        })
    }
}

impl Network {
    /// J(Ŷ, Y) + (λ/2m) Σ‖W[l]‖² for a forward pass already in `cache`.
    pub fn cost<M>(&self, cache: &Cache<M>, y: ArrayView2<f64>, lambda: f64) -> Result<f64> {
        self.check_targets(cache, y, lambda)?;
        let l = self.num_layers();
        let (z, a) = (cache.z(l).unwrap_or(y), cache.output());
        let data = self.loss().cost(z, a, y);
        let penalty =
            crate::loss::l2_penalty(self.layers().iter().map(|layer| layer.w.view()), lambda, y.ncols());
        Ok(data + penalty)
    }

    /// The gradients of J (+ L2 with strength `lambda`) for the pass in `cache`,
    /// following the module equations literally (the readable reference path).
    pub fn backward<M>(&self, cache: &Cache<M>, y: ArrayView2<f64>, lambda: f64) -> Result<Gradients> {
        self.check_targets(cache, y, lambda)?;
        let n = self.num_layers();
        let m = y.ncols() as f64;
        let layers = self.layers();
        let out = &layers[n - 1];
        // dZ[L] (times m; the 1/m comes with dW and db)
        let mut dz =
            self.loss().output_delta(out.activation, cache.z[n - 1].view(), cache.a[n - 1].view(), y);
        let mut grads: Vec<LayerGrad> = Vec::with_capacity(n);
        for i in (0..n).rev() {
            let a_prev = if i == 0 { cache.a0.view() } else { cache.a[i - 1].view() };
            let w = &layers[i].w;
            let mut norm = None;
            if let Some(bn) = &layers[i].batch_norm {
                // dZ̃[l] → dγ[l], dβ[l] and dZ[l] (dz carries the factor m: so do dγ, dβ
                // before their 1/m, and the batch-norm step is linear in its input)
                let stats = cache.norm_index(i).ok_or_else(|| eval_pass(i + 1))?;
                let g = bn.backward(stats, dz.view())?;
                norm = Some(GammaBeta { gamma: g.dgamma / m, beta: g.dbeta / m });
                dz = g.dz;
            }
            // dW[l] = (1/m) dZ[l] A[l−1]ᵀ + (λ/m) W[l]
            let mut dw = dz.dot(&a_prev.t()) * (1.0 / m);
            if lambda != 0.0 {
                dw.scaled_add(lambda / m, w);
            }
            // db[l] = (1/m) Σ_columns dZ[l]; exactly 0 under batch norm, whose Z[l] − μ[l]
            // cancels b[l] (β[l] does its job): written as 0 rather than as rounding noise
            let db = if norm.is_some() {
                Array2::zeros(layers[i].b.dim())
            } else {
                dz.sum_axis(Axis(1)).insert_axis(Axis(1)) / m
            };
            if i > 0 {
                // dA[l−1] = W[l]ᵀ dZ[l]
                let mut da = w.t().dot(&dz);
                if let Some(d) = cache.mask_index(i - 1) {
                    // the same units are dropped, and scaled, on the way back
                    da = da * d * (1.0 / cache.keep[i - 1]);
                }
                // dZ[l−1] = dA[l−1] ⊙ g'(Z[l−1])
                let z_prev = cache.z[i - 1].view();
                let g = layers[i - 1].activation;
                dz = g.backward(z_prev, g.forward(z_prev).view(), da.view());
            }
            grads.push(LayerGrad { dw, db, norm });
        }
        grads.reverse();
        Ok(Gradients { layers: grads })
    }

    fn check_targets<M>(&self, cache: &Cache<M>, y: ArrayView2<f64>, lambda: f64) -> Result<()> {
        if cache.num_layers() != self.num_layers() {
            return Err(AnnError::ShapeMismatch {
                context: "cache from another network".into(),
                expected: format!("{} layers", self.num_layers()),
                got: format!("{} layers", cache.num_layers()),
            });
        }
        if !(lambda.is_finite() && lambda >= 0.0) {
            return Err(bad_hyper("lambda (L2)", lambda, "must be finite and >= 0"));
        }
        for (i, layer) in self.layers().iter().enumerate() {
            if cache.z[i].nrows() != layer.units() {
                return Err(AnnError::ShapeMismatch {
                    context: format!("cached Z[{}]", i + 1),
                    expected: format!("({}, m)", layer.units()),
                    got: shape_str(cache.z[i].shape()),
                });
            }
        }
        self.loss().check_labels(y, self.output_size(), cache.batch_size())
    }
}

/// Backprop through batch norm needs the batch statistics of a training pass.
fn eval_pass(l: usize) -> AnnError {
    AnnError::InvalidArchitecture(format!(
        "layer {l} is batch-normalized and this cache has no batch statistics for it (an \
         evaluation pass, which uses the running ones, or a pass of a network without batch \
         norm): backpropagate a training pass of this network (forward_train or \
         forward_with_masks)"
    ))
}

#[cfg(test)]
mod tests {
    use crate::activation::Activation;
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
        assert_abs_diff_eq!(g.layers[0].dw, dw, epsilon = 1e-15);
        assert_abs_diff_eq!(g.layers[0].db[[0, 0]], dz.mean().unwrap(), epsilon = 1e-15);
        // With L2: dW += (λ/m) W
        let g2 = net.backward(&cache, y.view(), 0.4).unwrap();
        assert_abs_diff_eq!(g2.layers[0].dw, dw + array![[0.5, -0.25]] * 0.2, epsilon = 1e-15);
        assert!(net.backward(&cache, array![[1.0]].view(), 0.0).is_err());
        assert!(net.backward(&cache, y.view(), -1.0).is_err());
    }
}
