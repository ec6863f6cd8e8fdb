//! How good a network is on a data set: J (+ L2) and the accuracy, in evaluation mode.

use crate::data::DataView;
use crate::error::Result;
use crate::l2::L2;
use crate::loss::Loss;
use crate::metrics::count_correct;
use crate::network::Network;
use ndarray::s;

/// Examples evaluated at a time. A forward pass keeps every layer's Z and A: for a
/// convolutional network on a whole data set that would be gigabytes. Each example's loss
/// is its own, so evaluating in chunks changes no result.
const CHUNK: usize = 256;

/// (J + L2, accuracy) of `net` on a data set in eval mode; accuracy is None for MSE.
///
/// J = (1/m) Σ_j ℓ(ŷ_j, y_j), the examples' losses added one after the other (as
/// [`Loss::cost`] adds them), + (λ/2N) Σ_l ‖W[l]‖²_F. `l2`: an [`L2`] with the N of the
/// training set (the training loop evaluates its training and validation sets with the same
/// penalty), or a bare λ for N = the m of this data set, or 0.0 for J alone.
pub fn evaluate<'a>(
    net: &Network,
    data: impl Into<DataView<'a>>,
    l2: impl Into<L2>,
) -> Result<(f64, Option<f64>)> {
    let DataView { x, y } = data.into();
    let l2 = l2.into();
    net.check_input(x, "X")?;
    l2.check("l2")?;
    let m = x.ncols();
    net.loss().check_labels(y, net.output_size(), m)?;
    let (mut total, mut correct) = (0.0, 0);
    for start in (0..m).step_by(CHUNK) {
        let end = (start + CHUNK).min(m);
        let (x, y) = (x.slice(s![.., start..end]), y.slice(s![.., start..end]));
        let cache = net.forward(x)?;
        let last = net.num_layers();
        let (z, a) = (cache.z(last).expect("layer L"), cache.output());
        for ((z, a), y) in z.columns().into_iter().zip(a.columns()).zip(y.columns()) {
            total += net.loss().example_loss(z, a, y);
        }
        correct += count_correct(a, y);
    }
    let loss = total / m as f64 + l2.penalty(net.weights(), m);
    let acc = (net.loss() != Loss::MeanSquaredError).then(|| correct as f64 / m as f64);
    Ok((loss, acc))
}
