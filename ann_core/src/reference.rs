//! The training loop written with the readable functions of the course, one line per
//! equation: for each epoch, for each shuffled mini-batch (X{t}, Y{t}), forward (train mode)
//! → J{t} → backward → optimizer step; then evaluate and record.
//!
//! [`fit`](crate::fit) runs this loop on the fast path and gives its bits (a test compares
//! the two, History and weights, bit for bit).

use crate::batch::{gather_columns, num_batches, shuffled_batches};
use crate::config::TrainConfig;
use crate::data::DataView;
use crate::error::{AnnError, Result};
use crate::evaluate::evaluate;
use crate::history::History;
use crate::matrix_norm::frobenius;
use crate::network::Network;
use crate::optim::Optimizer;
use crate::param::ParamKind;
use rand::SeedableRng;
use rand::rngs::ChaCha8Rng;

/// Trains `net` with `optimizer` on (X, Y) for `epochs` epochs by the readable functions of
/// the course; returns the [`History`] that [`fit`](crate::fit) returns for the same
/// arguments (without a validation set, so without early stopping), bit for bit in the
/// default build.
///
/// ```
/// use ann_core::*;
/// let data = two_moons(300, 0.2, 4)?;
/// let (x, y) = (data.x.clone(), data.targets(Task::Binary));
/// let start = Network::new(&[2, 16, 8, 1], Activation::Relu, Task::Binary, Init::He, 6)?;
/// let config = TrainConfig { batch_size: 64, dropout: Dropout::Hidden(0.8), l2: 0.01, seed: 3, ..TrainConfig::default() };
/// let (mut slow, mut fast) = (start.clone(), start);
/// let h_slow = fit_reference(&mut slow, &mut Optimizer::adam(0.01)?, (&x, &y), &config, 3)?;
/// let h_fast = fit(&mut fast, &mut Optimizer::adam(0.01)?, (&x, &y), &config, 3)?;
/// assert_eq!((h_slow, slow), (h_fast, fast));
/// # Ok::<(), AnnError>(())
/// ```
pub fn fit_reference<'a>(
    net: &mut Network,
    optimizer: &mut Optimizer,
    train: impl Into<DataView<'a>>,
    config: &TrainConfig,
    epochs: usize,
) -> Result<History> {
    let train = train.into();
    config.check_run(net, train, None)?;
    let DataView { x, y } = train;
    let m = x.ncols(); // N, the training set's size
    let l2 = config.l2_term(m); // (λ/2N) Σ‖W[l]‖²
    let mut history = History { steps_per_epoch: num_batches(m, config.batch_size), ..History::default() };
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let base_lr = optimizer.learning_rate();
    let mut step = 0;
    for epoch in 0..epochs {
        let lr = config.schedule.rate(base_lr, epoch);
        optimizer.set_learning_rate(lr)?;
        let mut dw_norm_sum = vec![0.0; net.num_layers()];
        // a new permutation of the m examples, cut into mini-batches
        for idx in shuffled_batches(m, config.batch_size, &mut rng)? {
            let (x_t, y_t) = (gather_columns(x, &idx), gather_columns(y, &idx));
            let cache = net.forward_train(x_t.view(), &config.dropout, &mut rng)?; // Z[l], A[l], D[l]
            let loss = net.cost(&cache, y_t.view(), l2)?; // J{t}
            let grads = net.backward(&cache, y_t.view(), l2)?; // dW[l], db[l] (dγ[l], dβ[l])
            if !loss.is_finite() || !grads.is_finite() {
                // Before the update: a diverging run keeps its last finite weights.
                return Err(AnnError::Diverged { epoch, step, loss });
            }
            optimizer.step(net, &grads)?; // θ ← the update rule, for every parameter θ
            net.update_running_statistics(&cache)?; // batch norm's μ_run, σ²_run
            let dw_norms = grads.iter().filter(|(id, _)| id.kind == ParamKind::Weight);
            for (sum, (_, dw)) in dw_norm_sum.iter_mut().zip(dw_norms) {
                *sum += frobenius(dw.view()); // ‖dW[l]‖_F
            }
            history.step_loss.push(loss);
            step += 1;
        }
        let steps = history.steps_per_epoch as f64;
        history.grad_norms.push(dw_norm_sum.iter().map(|s| s / steps).collect());
        history.weight_norms.push(net.weights().map(frobenius).collect());
        let (loss, accuracy) = evaluate(&*net, (x, y), l2)?; // on the whole set
        if !loss.is_finite() {
            return Err(AnnError::Diverged { epoch, step: step.saturating_sub(1), loss });
        }
        history.train_loss.push(loss);
        history.train_accuracy.extend(accuracy);
        if l2.lambda != 0.0 {
            history.l2_penalty.push(l2.penalty(net.weights(), m)); // the L2 part of the loss
        }
        history.learning_rates.push(lr);
    }
    optimizer.set_learning_rate(base_lr)?;
    Ok(history)
}
