//! The cost of a forward pass: J(Ŷ, Y) + (λ/2m) Σ_l ‖W[l]‖²_F, the loss of the output
//! layer's Z[L] and A[L] (both in the cache) against the targets Y, and the L2 penalty.

use crate::cache::Cache;
use crate::error::Result;
use crate::loss::l2_penalty;
use crate::network::Network;
use ndarray::ArrayView2;

impl Network {
    /// J(Ŷ, Y) + (λ/2m) Σ‖W[l]‖² for a forward pass already in `cache`: the loss of the
    /// output layer's Z[L] and A[L] against Y, and the L2 penalty of the weights.
    pub fn cost<M>(&self, cache: &Cache<M>, y: ArrayView2<f64>, lambda: f64) -> Result<f64> {
        self.check_targets(cache, y, lambda)?;
        let last = self.num_layers() - 1;
        let data = self.loss().cost(cache.z[last].view(), cache.a[last].view(), y);
        Ok(data + l2_penalty(self.weights(), lambda, y.ncols()))
    }
}
