//! How good a network is on a data set: J (+ L2) and the accuracy, in evaluation mode.

use crate::data::DataView;
use crate::error::Result;
use crate::loss::Loss;
use crate::metrics::accuracy;
use crate::network::Network;

/// (J + L2, accuracy) of `net` on a data set in eval mode; accuracy is None for MSE.
pub fn evaluate<'a>(net: &Network, data: impl Into<DataView<'a>>, l2: f64) -> Result<(f64, Option<f64>)> {
    let data = data.into();
    let cache = net.forward(data.x)?;
    let loss = net.cost(&cache, data.y, l2)?;
    let acc = (net.loss() != Loss::MeanSquaredError).then(|| accuracy(cache.output(), data.y));
    Ok((loss, acc))
}
