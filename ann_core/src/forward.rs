//! Forward propagation: for l = 1..=L,
//! Z[l] = W[l] A[l−1] + b[l],  A[l] = g\[l\](Z[l]),  and in training
//! A[l] ← A[l] ⊙ D[l] / keep_prob[l] (inverted dropout).
//!
//! A convolutional layer computes Z[l] = W[l] ⋆ A[l−1] + b[l] instead (see [`crate::conv`])
//! and, if it pools, A[l] = maxpool(g\[l\](Z[l])).
//!
//! A normalized layer feeds g\[l\] with Z̃[l] = γ[l] ⊙ Ẑ[l] + β[l] instead of Z[l] (see
//! [`crate::normalization`]); batch norm normalizes with the mini-batch's μ and σ² in
//! training passes, and with the running averages in evaluation.

use crate::cache::{Cache, Eval, Train};
use crate::conv::pool_unchecked;
use crate::dropout::{Dropout, draw_mask};
use crate::error::{AnnError, Result, shape_str};
use crate::layer::LayerKind;
use crate::network::Network;
use crate::normalization::in_layer;
use ndarray::{Array2, ArrayView2};
use rand::rngs::ChaCha8Rng;
use std::marker::PhantomData;

/// Where dropout masks come from in a pass.
enum Masks<'a> {
    Off,
    Draw(&'a Dropout, &'a mut ChaCha8Rng),
    Frozen(&'a Dropout, &'a [Option<Array2<f64>>]),
}

impl Network {
    /// Evaluation-mode forward pass (no dropout; batch norm with the running statistics, so
    /// every column is computed on its own): returns the cache, whose
    /// [`Cache::output`] is Ŷ = A[L].
    pub fn forward(&self, x: ArrayView2<f64>) -> Result<Cache<Eval>> {
        self.check_input(x, "input X")?;
        self.run(x, Masks::Off)
    }

    /// Training-mode forward pass: draws D[l] from `rng` for every layer with
    /// keep_prob[l] < 1; batch norm uses the batch's statistics (at least 2 columns). The
    /// running averages do not move: see [`Network::update_running_statistics`].
    pub fn forward_train(
        &self,
        x: ArrayView2<f64>,
        dropout: &Dropout,
        rng: &mut ChaCha8Rng,
    ) -> Result<Cache<Train>> {
        self.check_input(x, "input X")?;
        dropout.check(self.num_layers())?;
        self.run(x, Masks::Draw(dropout, rng))
    }

    /// Training-mode pass with given masks D[l] (e.g. frozen from an earlier pass, so a
    /// gradient check sees the same sub-network every time). `masks[l − 1]` is D[l].
    pub fn forward_with_masks(
        &self,
        x: ArrayView2<f64>,
        dropout: &Dropout,
        masks: &[Option<Array2<f64>>],
    ) -> Result<Cache<Train>> {
        self.check_input(x, "input X")?;
        dropout.check(self.num_layers())?;
        if masks.len() != self.num_layers() {
            return Err(AnnError::ShapeMismatch {
                context: "dropout masks (one per layer)".into(),
                expected: format!("{} masks", self.num_layers()),
                got: format!("{} masks", masks.len()),
            });
        }
        for (i, mask) in masks.iter().enumerate() {
            let expected = (self.layers()[i].units(), x.ncols());
            if let Some(d) = mask
                && d.dim() != expected
            {
                return Err(AnnError::ShapeMismatch {
                    context: format!("dropout mask D[{}]", i + 1),
                    expected: shape_str(&[expected.0, expected.1]),
                    got: shape_str(d.shape()),
                });
            }
        }
        self.run(x, Masks::Frozen(dropout, masks))
    }

    fn run<M>(&self, x: ArrayView2<f64>, mut masks: Masks<'_>) -> Result<Cache<M>> {
        let n = self.num_layers();
        let mut cache = Cache {
            a0: x.to_owned(),
            z: Vec::with_capacity(n),
            a: Vec::with_capacity(n),
            masks: Vec::with_capacity(n),
            keep: Vec::with_capacity(n),
            normalization: Vec::with_capacity(n),
            pool: Vec::with_capacity(n),
            mode: PhantomData,
        };
        // Evaluation passes have no masks; every training pass normalizes with the batch.
        let training = !matches!(masks, Masks::Off);
        for (i, layer) in self.layers().iter().enumerate() {
            let a_prev = if i == 0 { &cache.a0 } else { &cache.a[i - 1] };
            let mut z = match &layer.kind {
                // Z[l] = W[l] A[l−1] + b[l]  (b broadcast over the m columns)
                // (the product first, then + b: the order the fast path keeps, for the same bits)
                LayerKind::Dense => layer.w.dot(a_prev) + &layer.b,
                // Z[l] = W[l] ⋆ A[l−1] + b[l]
                LayerKind::Conv2d(conv) => conv.forward(layer.w.view(), layer.b.view(), a_prev.view()),
            };
            let mut normalization = None;
            if let Some(norm) = &layer.normalization {
                // Z̃[l] = γ[l] ⊙ Ẑ[l] + β[l] takes the place of Z[l]
                z = if training {
                    let (z_tilde, stats) = norm.train_step(z.view()).map_err(|e| in_layer(e, i + 1))?;
                    normalization = Some(stats);
                    z_tilde
                } else {
                    norm.eval_step(z.view()).map_err(|e| in_layer(e, i + 1))?
                };
            }
            // A[l] = g[l](Z[l])
            let mut a = layer.activation.forward(z.view());
            let mut pool = None;
            if let Some((window, image)) = layer.pooling() {
                // A[l] = maxpool(g[l](Z[l]))
                let (pooled, winners) = pool_unchecked(&window, image, a.view());
                a = pooled;
                pool = Some(winners);
            }
            let (keep, mask) = match &mut masks {
                Masks::Off => (1.0, None),
                Masks::Draw(dropout, rng) => {
                    let keep = dropout.keep(i + 1, n);
                    (keep, (keep < 1.0).then(|| draw_mask(a.nrows(), a.ncols(), keep, rng)))
                }
                Masks::Frozen(dropout, given) => (dropout.keep(i + 1, n), given[i].clone()),
            };
            if let Some(d) = &mask {
                // Inverted dropout: A[l] = A[l] ⊙ D[l] / keep_prob[l] (a product with
                // 1/keep_prob: one multiplication per entry instead of a division)
                a = a * d * (1.0 / keep);
            }
            cache.z.push(z);
            cache.a.push(a);
            cache.masks.push(mask);
            cache.keep.push(keep);
            cache.normalization.push(normalization);
            cache.pool.push(pool);
        }
        Ok(cache)
    }
}

#[cfg(test)]
mod tests {
    use crate::activation::Activation;
    use crate::dropout::Dropout;
    use crate::init::Init;
    use crate::layer::Layer;
    use crate::loss::Loss;
    use crate::network::{Network, Task};
    use approx::assert_abs_diff_eq;
    use ndarray::array;
    use rand::SeedableRng;
    use rand::rngs::ChaCha8Rng;

    /// Golden test: a 2-layer pass with small fixed arrays, computed by hand.
    #[test]
    fn two_layer_forward_by_hand() {
        let l1 = Layer::new(array![[1.0, -1.0], [0.5, 2.0]], array![[0.0], [-1.0]], Activation::Relu);
        let l2 = Layer::new(array![[1.0, -2.0]], array![[0.5]], Activation::Sigmoid);
        let net = Network::from_layers(vec![l1, l2], Loss::BinaryCrossEntropy).unwrap();
        let x = array![[1.0, 2.0], [3.0, -1.0]];
        let cache = net.forward(x.view()).unwrap();
        // Z1 = W1 X + b1 = [[1-3, 2+1], [0.5+6-1, 1-2-1]] = [[-2, 3], [5.5, -2]]
        assert_eq!(cache.z(1).unwrap(), array![[-2.0, 3.0], [5.5, -2.0]]);
        // A1 = relu(Z1) = [[0, 3], [5.5, 0]]
        assert_eq!(cache.a(1).unwrap(), array![[0.0, 3.0], [5.5, 0.0]]);
        // Z2 = [0 − 11 + 0.5, 3 − 0 + 0.5] = [−10.5, 3.5]
        assert_eq!(cache.z(2).unwrap(), array![[-10.5, 3.5]]);
        let s = |z: f64| 1.0 / (1.0 + (-z).exp());
        assert_abs_diff_eq!(cache.output(), array![[s(-10.5), s(3.5)]], epsilon = 1e-15);
        assert_eq!(cache.a(0).unwrap(), x);
        assert!(cache.z(0).is_none() && cache.z(3).is_none());
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        let net = Network::new(&[3, 4, 1], Activation::Relu, Task::Binary, Init::He, 0).unwrap();
        let err = net.forward(array![[1.0, 2.0]].view()).unwrap_err();
        assert!(err.to_string().contains("(3, m)") && err.to_string().contains("(1, 2)"), "{err}");
        assert!(net.forward(ndarray::Array2::<f64>::zeros((3, 0)).view()).is_err());
        assert!(net.forward(array![[1.0], [f64::NAN], [0.0]].view()).is_err());
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let wrong = Dropout::PerLayer(vec![0.5, 0.5, 1.0]);
        assert!(net.forward_train(array![[1.0], [2.0], [0.0]].view(), &wrong, &mut rng).is_err());
    }

    #[test]
    fn train_mode_applies_inverted_dropout_and_eval_does_not() {
        let net = Network::new(&[2, 50, 1], Activation::Relu, Task::Binary, Init::He, 4).unwrap();
        let x = array![[1.0, -0.5, 0.3], [0.2, 0.7, -1.0]];
        let dropout = Dropout::Hidden(0.5);
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let train = net.forward_train(x.view(), &dropout, &mut rng).unwrap();
        let eval = net.forward(x.view()).unwrap();
        let d = train.mask(1).unwrap();
        assert!(train.mask(2).is_none());
        assert_eq!(train.keep_prob(1), 0.5);
        let expected = &eval.a(1).unwrap() * &d / 0.5;
        assert_abs_diff_eq!(train.a(1).unwrap(), expected, epsilon = 1e-15);
        // Replaying with the same masks reproduces the pass exactly.
        let replay = net.forward_with_masks(x.view(), &dropout, &train.masks()).unwrap();
        assert_eq!(replay.output(), train.output());
    }
}
