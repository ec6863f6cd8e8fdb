//! The cost of a forward pass: J(Ŷ, Y) + (λ/2N) Σ_l ‖W[l]‖²_F, the loss of the output
//! layer's Z[L] and A[L] (both in the cache) against the targets Y, and the L2 penalty
//! ([`crate::l2`]).

use crate::cache::Cache;
use crate::error::Result;
use crate::l2::L2;
use crate::network::Network;
use ndarray::ArrayView2;

impl Network {
    /// J(Ŷ, Y) + (λ/2N) Σ‖W[l]‖² for a forward pass already in `cache`: the loss of the
    /// output layer's Z[L] and A[L] against Y, and the L2 penalty of the weights (`l2`: an
    /// [`L2`], or a bare λ for N = the m of this pass).
    pub fn cost<M>(&self, cache: &Cache<M>, y: ArrayView2<f64>, l2: impl Into<L2>) -> Result<f64> {
        let l2 = l2.into();
        self.check_targets(cache, y, l2)?;
        let last = self.num_layers() - 1;
        let data = self.loss().cost(cache.z[last].view(), cache.a[last].view(), y);
        Ok(data + l2.penalty(self.weights(), y.ncols()))
    }
}
