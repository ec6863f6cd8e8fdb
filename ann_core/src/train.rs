//! The training loop: for each epoch, for each shuffled mini-batch (X{t}, Y{t}):
//! forward (train mode) → J{t} → backward → optimizer step; then evaluate and record.

use crate::backward::Gradients;
use crate::batch::{num_batches, shuffle_order};
use crate::cache::Cache;
use crate::cache::Train;
use crate::data::Data;
use crate::dropout::Dropout;
use crate::error::{AnnError, Result, bad_hyper, shape_str};
use crate::fast::Workspace;
use crate::fast::frobenius;
use crate::history::History;
use crate::loss::Loss;
use crate::metrics::accuracy;
use crate::network::Network;
use crate::optim::Optimizer;
use crate::schedule::LrSchedule;
use rand::SeedableRng;
use rand::rngs::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// keep_prob for dropout during training.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum KeepProbs {
    /// The same keep_prob on every hidden layer; the output layer keeps everything.
    Hidden(f64),
    /// One keep_prob per layer 1..=L (the last must be 1).
    PerLayer(Vec<f64>),
}

/// Early stopping: stop when the validation loss has not improved for `patience` epochs,
/// and restore the weights of the best epoch.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EarlyStopping {
    /// Epochs without improvement before stopping (≥ 1).
    pub patience: usize,
    /// Smallest decrease of the validation loss that counts as an improvement.
    pub min_delta: f64,
}

/// Hyperparameters of a training run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Passes over the training set.
    pub epochs: usize,
    /// Examples per mini-batch (1 = stochastic, m = batch gradient descent).
    pub batch_size: usize,
    /// Dropout keep probabilities.
    pub keep_probs: KeepProbs,
    /// L2 strength λ: J += (λ/2m) Σ‖W[l]‖².
    pub l2: f64,
    /// Seed of the RNG that shuffles batches and draws dropout masks.
    pub seed: u64,
    /// Learning-rate schedule applied at the start of each epoch.
    pub schedule: LrSchedule,
    /// Early stopping on the validation loss (needs a validation set).
    pub early_stopping: Option<EarlyStopping>,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            epochs: 20,
            batch_size: 64,
            keep_probs: KeepProbs::Hidden(1.0),
            l2: 0.0,
            seed: 0,
            schedule: LrSchedule::Constant,
            early_stopping: None,
        }
    }
}

/// What an observer sees after each optimizer step.
pub struct StepInfo<'a> {
    /// Epoch, 0-based.
    pub epoch: usize,
    /// Global step, 0-based (t − 1 for Adam).
    pub step: usize,
    /// J{t} of this mini-batch, before the update.
    pub loss: f64,
    /// The network after the update.
    pub network: &'a Network,
    /// The gradients that were applied.
    pub gradients: &'a Gradients,
    /// The optimizer after the update (its state is readable).
    pub optimizer: &'a dyn Optimizer,
    /// The forward cache of this mini-batch (masks included).
    pub cache: &'a Cache<Train>,
}

/// What an observer sees after each epoch.
pub struct EpochInfo<'a> {
    /// Epoch, 0-based.
    pub epoch: usize,
    /// The network at the end of the epoch.
    pub network: &'a Network,
    /// The history so far (this epoch included).
    pub history: &'a History,
}

/// Hooks into the loop to record more than [`History`] (weight snapshots, optimizer
/// state, frames of an animation) without editing the loop.
pub trait Observer {
    /// Called after every optimizer step.
    fn on_step(&mut self, _info: &StepInfo<'_>) {}
    /// Called after every epoch.
    fn on_epoch_end(&mut self, _info: &EpochInfo<'_>) {}
}

/// The observer that records nothing.
impl Observer for () {}

/// Trains `net` with `optimizer` on (X, Y); returns the [`History`].
///
/// ```
/// use ann_core::*;
/// let data = two_moons(400, 0.1, 1).unwrap();
/// let mut net = Network::new(&[2, 16, 1], Activation::Relu, Task::Binary, Init::He, 1).unwrap();
/// let mut adam = Adam::new(0.01).unwrap();
/// let config = TrainConfig { epochs: 30, batch_size: 32, ..TrainConfig::default() };
/// let y = data.targets(Task::Binary);
/// let history = fit(&mut net, &mut adam, Data::new(data.x.view(), y.view()), None, &config, &mut ()).unwrap();
/// assert!(history.final_train_accuracy().unwrap() > 0.85);
/// ```
pub fn fit(
    net: &mut Network,
    optimizer: &mut dyn Optimizer,
    train: Data<'_>,
    validation: Option<Data<'_>>,
    config: &TrainConfig,
    observer: &mut dyn Observer,
) -> Result<History> {
    let dropout = validate(net, train, validation, config)?;
    let m = train.x.ncols();
    let base_lr = optimizer.learning_rate();
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let mut history = History { steps_per_epoch: num_batches(m, config.batch_size), ..History::default() };
    let mut step = 0usize;
    let mut best: Option<(f64, usize, Network)> = None;
    let n = net.num_layers();
    // Everything a step needs is allocated here once: the batch, the cache, the
    // gradients (see `workspace`), the permutation and the per-layer norms.
    let mut ws = Workspace::new(net, config.batch_size.min(m))?;
    let mut order = Vec::with_capacity(m);
    let mut norms = vec![0.0; n];
    for epoch in 0..config.epochs {
        let lr = config.schedule.rate(base_lr, epoch);
        optimizer.set_learning_rate(lr)?;
        history.learning_rates.push(lr);
        let mut grad_sum = vec![0.0; n];
        // Room for this epoch's step losses, so that no step reallocates History.
        history.step_loss.reserve(history.steps_per_epoch);
        shuffle_order(&mut order, m, &mut rng);
        for idx in order.chunks(config.batch_size) {
            // (X{t}, Y{t}) gathered from the data set into the workspace
            ws.load_batch_unchecked(train, idx);
            ws.forward_train(net, &dropout, &mut rng)?;
            let loss = ws.cost(net, config.l2)?;
            ws.backward(net, config.l2)?;
            // Check before updating, so a diverging run keeps its last finite weights.
            if !ws.gradient_norms(&mut norms) || !loss.is_finite() {
                return Err(AnnError::Diverged { epoch, step, loss });
            }
            optimizer.step(net, ws.gradients())?;
            for (s, g) in grad_sum.iter_mut().zip(&norms) {
                *s += g;
            }
            history.step_loss.push(loss);
            if let Some(cache) = ws.cache() {
                observer.on_step(&StepInfo {
                    epoch,
                    step,
                    loss,
                    network: net,
                    gradients: ws.gradients(),
                    optimizer,
                    cache,
                });
            }
            step += 1;
        }
        let steps = history.steps_per_epoch as f64;
        history.grad_norms.push(grad_sum.iter().map(|s| s / steps).collect());
        history.weight_norms.push(net.layers().iter().map(|l| frobenius(l.w.view())).collect());
        // Same bits as `evaluate`, in chunks through the workspace's buffers.
        let (loss, acc) = ws.evaluate_unchecked(net, train, config.l2);
        if !loss.is_finite() {
            return Err(AnnError::Diverged { epoch, step: step.saturating_sub(1), loss });
        }
        history.train_loss.push(loss);
        history.train_accuracy.extend(acc);
        if let Some(val) = validation {
            let (vloss, vacc) = ws.evaluate_unchecked(net, val, config.l2);
            history.val_loss.push(vloss);
            history.val_accuracy.extend(vacc);
            if let Some(es) = config.early_stopping {
                let improved = best.as_ref().is_none_or(|(b, _, _)| vloss < b - es.min_delta);
                if improved {
                    best = Some((vloss, epoch, net.clone()));
                } else if best.as_ref().is_some_and(|(_, e, _)| epoch - e >= es.patience) {
                    observer.on_epoch_end(&EpochInfo { epoch, network: net, history: &history });
                    break;
                }
            }
        }
        observer.on_epoch_end(&EpochInfo { epoch, network: net, history: &history });
    }
    if let Some((_, epoch, weights)) = best {
        *net = weights;
        history.best_epoch = Some(epoch);
    }
    Ok(history)
}

/// (J + L2, accuracy) of `net` on a data set in eval mode; accuracy is None for MSE.
pub fn evaluate(net: &Network, data: Data<'_>, l2: f64) -> Result<(f64, Option<f64>)> {
    let cache = net.forward(data.x)?;
    let loss = net.cost(&cache, data.y, l2)?;
    let acc = (net.loss() != Loss::MeanSquaredError).then(|| accuracy(cache.output(), data.y));
    Ok((loss, acc))
}

fn validate(
    net: &Network,
    train: Data<'_>,
    validation: Option<Data<'_>>,
    config: &TrainConfig,
) -> Result<Dropout> {
    if config.batch_size == 0 {
        return Err(bad_hyper("batch_size", 0, "must be at least 1"));
    }
    if !(config.l2.is_finite() && config.l2 >= 0.0) {
        return Err(bad_hyper("l2", config.l2, "must be finite and >= 0"));
    }
    config.schedule.validate()?;
    if let Some(es) = config.early_stopping {
        if es.patience == 0 {
            return Err(bad_hyper("early_stopping.patience", 0, "must be at least 1"));
        }
        if validation.is_none() {
            return Err(AnnError::EmptyInput("early stopping needs a validation set".into()));
        }
    }
    check_data(net, "training", train)?;
    if let Some(v) = validation {
        check_data(net, "validation", v)?;
    }
    let n = net.num_layers();
    let dropout = match &config.keep_probs {
        KeepProbs::Hidden(k) => Dropout::hidden(n, *k)?,
        KeepProbs::PerLayer(v) => Dropout::per_layer(v.clone())?,
    };
    dropout.check_layers(n)?;
    Ok(dropout)
}

fn check_data(net: &Network, name: &str, d: Data<'_>) -> Result<()> {
    net.check_input(d.x, &format!("{name} X"))?;
    if d.y.ncols() != d.x.ncols() {
        return Err(AnnError::ShapeMismatch {
            context: format!("{name} Y must have one column per example of X {}", shape_str(d.x.shape())),
            expected: format!("({}, {})", net.output_size(), d.x.ncols()),
            got: shape_str(d.y.shape()),
        });
    }
    net.loss().check_labels(d.y, net.output_size(), d.x.ncols())
}
