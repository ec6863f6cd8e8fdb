//! The training loop: for each epoch, for each shuffled mini-batch (X{t}, Y{t}):
//! forward (train mode) → J{t} → backward → optimizer step; then evaluate and record.

use crate::backward::Gradients;
use crate::batch::{gather_columns, num_batches, shuffle_order};
use crate::cache::Cache;
use crate::cache::Train;
use crate::checkpoint::{BestEpoch, CHECKPOINT_FORMAT, CHECKPOINT_VERSION, Checkpoint, Checkpointing};
use crate::data::DataView;
use crate::dropout::Dropout;
use crate::error::{AnnError, Result, bad_hyper, shape_str};
use crate::fast::Workspace;
use crate::fast::frobenius;
use crate::history::{History, StopReason};
use crate::loss::Loss;
use crate::metrics::accuracy;
use crate::network::Network;
use crate::optim::Optimizer;
use crate::schedule::LrSchedule;
use rand::SeedableRng;
use rand::rngs::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};

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
    /// Inverted dropout on the hidden layers while training.
    pub dropout: Dropout,
    /// L2 strength λ: J += (λ/2m) Σ‖W[l]‖².
    pub l2: f64,
    /// Seed of the RNG that shuffles batches and draws dropout masks.
    pub seed: u64,
    /// Learning-rate schedule applied at the start of each epoch.
    pub schedule: LrSchedule,
    /// Early stopping on the validation loss (needs a validation set).
    pub early_stopping: Option<EarlyStopping>,
    /// Wall-clock budget of one training call: when it has run out at the end of an epoch,
    /// training stops there and [`History::stop`] says so (a checkpoint, if configured, is
    /// written, so the run can go on from it).
    pub time_budget: Option<Duration>,
    /// A line per epoch (or every so often) on standard output, to watch a long run.
    pub progress: Progress,
    /// Writes a [`Checkpoint`] every few epochs, to resume the run bit for bit.
    pub checkpoint: Option<Checkpointing>,
}

/// How often training prints a [`History::progress_line`].
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub enum Progress {
    /// Nothing.
    #[default]
    Silent,
    /// After every epoch.
    EachEpoch,
    /// After the first epoch that ends at least this long after the last line (and after
    /// the last epoch).
    Every(Duration),
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            epochs: 20,
            batch_size: 64,
            dropout: Dropout::Off,
            l2: 0.0,
            seed: 0,
            schedule: LrSchedule::Constant,
            early_stopping: None,
            time_budget: None,
            progress: Progress::Silent,
            checkpoint: None,
        }
    }
}

/// What an observer sees after each optimizer step.
pub struct StepInfo<'a> {
    /// Epoch, 0-based.
    pub epoch: usize,
    /// Global step, 0-based (the optimizer's t − 1 when it starts fresh).
    pub step: usize,
    /// J{t} of this mini-batch, before the update.
    pub loss: f64,
    /// The network after the update.
    pub network: &'a Network,
    /// The gradients that were applied.
    pub gradients: &'a Gradients,
    /// The optimizer after the update (its state is readable).
    pub optimizer: &'a Optimizer,
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

/// Trains `net` with `optimizer` on the training data (X, Y); returns the [`History`].
///
/// ```
/// use ann_core::*;
/// let data = two_moons(400, 0.1, 1)?;
/// let y = data.targets(Task::Binary);
/// let mut net = Network::new(&[2, 16, 1], Activation::Relu, Task::Binary, Init::He, 1)?;
/// let mut adam = Optimizer::adam(0.01)?;
/// let config = TrainConfig { epochs: 30, batch_size: 32, ..TrainConfig::default() };
/// let history = fit(&mut net, &mut adam, (&data.x, &y), &config)?;
/// assert!(history.final_train_accuracy().unwrap() > 0.85);
/// # Ok::<(), AnnError>(())
/// ```
///
/// A validation set, early stopping on it and observers of every step: [`Trainer`].
///
/// `fit` computes each step on the fast path ([`Workspace`]; a batch-normalized network on
/// the readable path itself) and gives exactly the bits of this loop written with the
/// readable functions of the course:
///
/// ```
/// # use ann_core::*;
/// # use rand::{SeedableRng, rngs::ChaCha8Rng};
/// # let data = two_moons(300, 0.2, 4)?;
/// # let (x, y) = (data.x.clone(), data.targets(Task::Binary));
/// # let start = Network::new(&[2, 16, 8, 1], Activation::Relu, Task::Binary, Init::He, 6)?;
/// # let config = TrainConfig { epochs: 3, batch_size: 64, dropout: Dropout::Hidden(0.8), l2: 0.01, seed: 3, ..TrainConfig::default() };
/// # let (mut net, mut optimizer) = (start.clone(), Optimizer::adam(0.01)?);
/// # let mut history = History::default();
/// let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
/// let base_lr = optimizer.learning_rate();
/// for epoch in 0..config.epochs {
///     optimizer.set_learning_rate(config.schedule.rate(base_lr, epoch))?;
///     // a new permutation of the m examples, cut into mini-batches
///     for idx in shuffled_batches(x.ncols(), config.batch_size, &mut rng)? {
///         let (x_t, y_t) = (gather_columns(x.view(), &idx), gather_columns(y.view(), &idx));
///         let cache = net.forward_train(x_t.view(), &config.dropout, &mut rng)?; // Z[l], A[l], D[l]
///         let loss = net.cost(&cache, y_t.view(), config.l2)?; // J{t}
///         let grads = net.backward(&cache, y_t.view(), config.l2)?; // dW[l], db[l]
///         optimizer.step(&mut net, &grads)?; // W[l], b[l] ← the update rule
///         net.update_batch_norm_statistics(&cache)?; // μ_run, σ²_run (if batch-normalized)
///         history.step_loss.push(loss);
///     }
///     let (loss, _accuracy) = evaluate(&net, (&x, &y), config.l2)?; // on the whole set
///     history.train_loss.push(loss);
/// }
/// # let mut fast = start;
/// # let h = fit(&mut fast, &mut Optimizer::adam(0.01)?, (&x, &y), &config)?;
/// # assert_eq!((h.step_loss, h.train_loss), (history.step_loss, history.train_loss));
/// # assert_eq!(fast, net);
/// # Ok::<(), AnnError>(())
/// ```
pub fn fit<'a>(
    net: &mut Network,
    optimizer: &mut Optimizer,
    train: impl Into<DataView<'a>>,
    config: &TrainConfig,
) -> Result<History> {
    Trainer::new(config).fit(net, optimizer, train)
}

/// A training run with more than [`fit`] needs: a validation set (J and accuracy recorded
/// after every epoch, and early stopping on it) and an [`Observer`] of every step.
///
/// ```
/// use ann_core::*;
/// let data = two_moons(500, 0.2, 1)?;
/// let (train, val) = train_test_split(&data, 0.2, 1)?;
/// let (y_train, y_val) = (train.targets(Task::Binary), val.targets(Task::Binary));
/// let mut net = Network::new(&[2, 16, 1], Activation::Relu, Task::Binary, Init::He, 1)?;
/// let config = TrainConfig { epochs: 200, batch_size: 32, ..TrainConfig::default() };
/// let config = TrainConfig { early_stopping: Some(EarlyStopping { patience: 5, min_delta: 0.0 }), ..config };
/// let history = Trainer::new(&config)
///     .validation((&val.x, &y_val))
///     .fit(&mut net, &mut Optimizer::adam(0.01)?, (&train.x, &y_train))?;
/// assert_eq!(history.val_loss.len(), history.epochs());
/// # Ok::<(), AnnError>(())
/// ```
pub struct Trainer<'a> {
    config: &'a TrainConfig,
    validation: Option<DataView<'a>>,
    observer: Option<&'a mut dyn Observer>,
    resume: Option<&'a Checkpoint>,
}

/// The observer of a run that has none.
struct NoObserver;
impl Observer for NoObserver {}

impl<'a> Trainer<'a> {
    /// A run with `config`, no validation set and no observer.
    pub fn new(config: &'a TrainConfig) -> Self {
        Trainer { config, validation: None, observer: None, resume: None }
    }

    /// Evaluates the network on this validation set (X, Y) after every epoch.
    pub fn validation(mut self, data: impl Into<DataView<'a>>) -> Self {
        self.validation = Some(data.into());
        self
    }

    /// Calls `observer` after every step and every epoch.
    pub fn observer(mut self, observer: &'a mut dyn Observer) -> Self {
        self.observer = Some(observer);
        self
    }

    /// Goes on from `checkpoint` instead of starting afresh: `net` and `optimizer` take the
    /// checkpoint's weights and state, and the run continues with its next epoch, ending with
    /// the bits of the run that was never interrupted. The network's architecture, the
    /// optimizer's rule and hyperparameters (α₀ included), the config (other than `epochs`,
    /// `time_budget`, `progress` and `checkpoint`) and m must be the checkpoint's.
    pub fn resume(mut self, checkpoint: &'a Checkpoint) -> Self {
        self.resume = Some(checkpoint);
        self
    }

    /// Trains `net` with `optimizer` on `train`; returns the [`History`] (see [`fit`]).
    ///
    /// Afterwards the optimizer has its state of the last step and, whatever the schedule
    /// did, its α₀ again: the same variables can go on (or resume) with the same schedule.
    pub fn fit<'d>(
        self,
        net: &mut Network,
        optimizer: &mut Optimizer,
        train: impl Into<DataView<'d>>,
    ) -> Result<History> {
        // α₀: the schedule's starting point (a checkpoint to resume from must have the same).
        let base_lr = optimizer.learning_rate();
        let result = self.run(net, optimizer, train.into(), base_lr);
        optimizer.set_learning_rate(base_lr)?;
        result
    }

    fn run(
        self,
        net: &mut Network,
        optimizer: &mut Optimizer,
        train: DataView<'_>,
        base_lr: f64,
    ) -> Result<History> {
        let config = self.config;
        validate(net, train, self.validation, config)?;
        let m = train.x.ncols();
        let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
        let mut history =
            History { steps_per_epoch: num_batches(m, config.batch_size), ..History::default() };
        let (mut first_epoch, mut step) = (0, 0);
        let mut best: Option<BestEpoch> = None;
        if let Some(c) = self.resume {
            c.check_resume(net, optimizer, config, m)?;
            net.copy_weights_from(&c.network);
            *optimizer = Optimizer::with_state(*c.optimizer.config(), c.optimizer.state().clone())?;
            rng.set_word_pos(c.rng_word_pos);
            history = History { stop: StopReason::Completed, ..c.history.clone() };
            (first_epoch, step) = (c.epochs_done, c.steps_done);
            best = c.best.clone();
        }
        // The optimizer's state must be (or become) this network's before any work is done.
        optimizer.bind(net)?;
        let mut none = NoObserver;
        let observer: &mut dyn Observer = match self.observer {
            Some(o) => o,
            None => &mut none,
        };
        let started = Instant::now();
        let mut last_line: Option<Instant> = None;
        let n = net.num_layers();
        // Everything a step needs is allocated here once: the batch, the cache, the
        // gradients (see `workspace`; a batch-normalized network allocates them per step on
        // the readable path), the permutation and the per-layer norms.
        let mut ws = Steps::new(net, config.batch_size.min(m))?;
        let mut order = Vec::with_capacity(m);
        let mut norms = vec![0.0; n];
        for epoch in first_epoch..config.epochs {
            let lr = config.schedule.rate(base_lr, epoch);
            optimizer.set_learning_rate(lr)?;
            history.learning_rates.push(lr);
            let mut grad_sum = vec![0.0; n];
            // Room for this epoch's step losses, so that no step reallocates History.
            history.step_loss.reserve(history.steps_per_epoch);
            shuffle_order(&mut order, m, &mut rng);
            for idx in order.chunks(config.batch_size) {
                // (X{t}, Y{t}) → forward (train mode) → J{t} → backward
                let loss = ws.forward_backward(net, train, idx, config, &mut rng)?;
                // Check before updating, so a diverging run keeps its last finite weights.
                if !ws.gradient_norms(&mut norms) || !loss.is_finite() {
                    return Err(AnnError::Diverged { epoch, step, loss });
                }
                optimizer.step(net, ws.gradients())?;
                ws.update_batch_norm_statistics(net)?;
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
            // Same bits as `evaluate` (in chunks through the workspace's buffers on the fast path).
            let (loss, acc) = ws.evaluate(net, train, config.l2)?;
            if !loss.is_finite() {
                return Err(AnnError::Diverged { epoch, step: step.saturating_sub(1), loss });
            }
            history.train_loss.push(loss);
            history.train_accuracy.extend(acc);
            let mut stop = None;
            if let Some(val) = self.validation {
                let (vloss, vacc) = ws.evaluate(net, val, config.l2)?;
                history.val_loss.push(vloss);
                history.val_accuracy.extend(vacc);
                if let Some(es) = config.early_stopping {
                    if best.as_ref().is_none_or(|b| vloss < b.val_loss - es.min_delta) {
                        best = Some(BestEpoch { val_loss: vloss, epoch, network: net.clone() });
                    } else if best.as_ref().is_some_and(|b| epoch - b.epoch >= es.patience) {
                        stop = Some(StopReason::EarlyStopping);
                    }
                }
            }
            observer.on_epoch_end(&EpochInfo { epoch, network: net, history: &history });
            let elapsed = started.elapsed();
            if let Some(budget) = config.time_budget
                && stop.is_none()
                && elapsed >= budget
                && epoch + 1 < config.epochs
            {
                stop = Some(StopReason::TimeBudget { elapsed, budget });
            }
            let line_due = match config.progress {
                Progress::Silent => false,
                Progress::EachEpoch => true,
                Progress::Every(every) => {
                    stop.is_some()
                        || epoch + 1 == config.epochs
                        || last_line.is_none_or(|t| t.elapsed() >= every)
                }
            };
            if line_due {
                println!("{}", history.progress_line(config.epochs, elapsed));
                last_line = Some(Instant::now());
            }
            if let Some(cp) = &config.checkpoint
                && ((epoch + 1) % cp.every == 0 || matches!(stop, Some(StopReason::TimeBudget { .. })))
            {
                let checkpoint = Checkpoint {
                    format: CHECKPOINT_FORMAT.into(),
                    version: CHECKPOINT_VERSION,
                    config: config.clone(),
                    train_examples: m,
                    network: net.clone(),
                    optimizer: optimizer.clone(),
                    base_lr,
                    epochs_done: epoch + 1,
                    steps_done: step,
                    rng_word_pos: rng.get_word_pos(),
                    history: history.clone(),
                    best: best.clone(),
                };
                checkpoint.save(&cp.path)?;
            }
            if let Some(reason) = stop {
                history.stop = reason;
                break;
            }
        }
        if let Some(b) = best {
            net.copy_weights_from(&b.network);
            history.best_epoch = Some(b.epoch);
        }
        Ok(history)
    }
}

/// How the loop computes a step: in the allocation-free [`Workspace`], or, for a
/// batch-normalized network (which the workspace does not implement), by the readable
/// forward and backward passes, one allocation per array.
enum Steps {
    Fast(Workspace),
    Reference { cache: Option<Cache<Train>>, grads: Gradients },
}

impl Steps {
    fn new(net: &Network, batch_size: usize) -> Result<Self> {
        if net.has_batch_norm() {
            Ok(Steps::Reference { cache: None, grads: Gradients::zeros_like(net) })
        } else {
            Ok(Steps::Fast(Workspace::new(net, batch_size)?))
        }
    }

    /// Forward (train mode) on the columns `idx` of `train`, J{t} (+ L2), backward.
    fn forward_backward(
        &mut self,
        net: &Network,
        train: DataView<'_>,
        idx: &[usize],
        config: &TrainConfig,
        rng: &mut ChaCha8Rng,
    ) -> Result<f64> {
        match self {
            Steps::Fast(ws) => {
                ws.load_batch_unchecked(train, idx);
                ws.forward_train(net, &config.dropout, rng)?;
                let loss = ws.cost(net, config.l2)?;
                ws.backward(net, config.l2)?;
                Ok(loss)
            }
            Steps::Reference { cache, grads } => {
                let (x, y) = (gather_columns(train.x, idx), gather_columns(train.y, idx));
                let pass = match net.forward_train(x.view(), &config.dropout, rng) {
                    Ok(pass) => pass,
                    // The data is checked: a non-finite Z comes from overflowing weights, which
                    // the loop reports as a divergence, as the fast path's NaN loss is.
                    Err(AnnError::NonFinite(_)) => return Ok(f64::NAN),
                    Err(e) => return Err(e),
                };
                let loss = net.cost(&pass, y.view(), config.l2)?;
                *grads = net.backward(&pass, y.view(), config.l2)?;
                *cache = Some(pass);
                Ok(loss)
            }
        }
    }

    /// ‖dW[l]‖_F per layer into `norms`; false if a gradient is not finite.
    fn gradient_norms(&self, norms: &mut [f64]) -> bool {
        match self {
            Steps::Fast(ws) => ws.gradient_norms(norms),
            Steps::Reference { grads, .. } => {
                norms.iter_mut().zip(grads.weight_norms()).for_each(|(n, g)| *n = g);
                grads.is_finite()
            }
        }
    }

    fn gradients(&self) -> &Gradients {
        match self {
            Steps::Fast(ws) => ws.gradients(),
            Steps::Reference { grads, .. } => grads,
        }
    }

    fn cache(&self) -> Option<&Cache<Train>> {
        match self {
            Steps::Fast(ws) => ws.cache(),
            Steps::Reference { cache, .. } => cache.as_ref(),
        }
    }

    /// Batch norm's running μ and σ² move towards this step's batch statistics.
    fn update_batch_norm_statistics(&self, net: &mut Network) -> Result<()> {
        match self {
            Steps::Fast(_) => Ok(()),
            Steps::Reference { cache, .. } => {
                cache.as_ref().map_or(Ok(()), |c| net.update_batch_norm_statistics(c))
            }
        }
    }

    /// (J + L2, accuracy) in eval mode, as [`evaluate`] computes them.
    fn evaluate(&mut self, net: &Network, data: DataView<'_>, l2: f64) -> Result<(f64, Option<f64>)> {
        match self {
            Steps::Fast(ws) => Ok(ws.evaluate_unchecked(net, data, l2)),
            Steps::Reference { .. } => match evaluate(net, data, l2) {
                Err(AnnError::NonFinite(_)) => Ok((f64::NAN, None)),
                other => other,
            },
        }
    }
}

/// (J + L2, accuracy) of `net` on a data set in eval mode; accuracy is None for MSE.
pub fn evaluate<'a>(net: &Network, data: impl Into<DataView<'a>>, l2: f64) -> Result<(f64, Option<f64>)> {
    let data = data.into();
    let cache = net.forward(data.x)?;
    let loss = net.cost(&cache, data.y, l2)?;
    let acc = (net.loss() != Loss::MeanSquaredError).then(|| accuracy(cache.output(), data.y));
    Ok((loss, acc))
}

fn validate(
    net: &Network,
    train: DataView<'_>,
    validation: Option<DataView<'_>>,
    config: &TrainConfig,
) -> Result<()> {
    check_config(config, net, validation.is_some())?;
    check_data(net, "training", train)?;
    let m = train.x.ncols();
    let last = m % config.batch_size;
    if net.has_batch_norm() && (config.batch_size.min(m) < 2 || last == 1) {
        return Err(bad_hyper(
            "batch_size",
            config.batch_size,
            &format!(
                "batch norm normalizes over each mini-batch and needs at least 2 examples in \
                 every one; {m} training examples in batches of {} leave a batch of {}",
                config.batch_size,
                if config.batch_size.min(m) < 2 { config.batch_size.min(m) } else { last }
            ),
        ));
    }
    if let Some(v) = validation {
        check_data(net, "validation", v)?;
    }
    Ok(())
}

/// The config's hyperparameters are valid for `net` (with or without a validation set).
pub(crate) fn check_config(config: &TrainConfig, net: &Network, has_validation: bool) -> Result<()> {
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
        if !es.min_delta.is_finite() {
            return Err(bad_hyper("early_stopping.min_delta", es.min_delta, "must be finite"));
        }
        if !has_validation {
            return Err(AnnError::EmptyInput("early stopping needs a validation set".into()));
        }
    }
    if let Some(cp) = &config.checkpoint
        && cp.every == 0
    {
        return Err(bad_hyper("checkpoint.every", 0, "must be at least 1"));
    }
    config.dropout.check(net.num_layers())
}

fn check_data(net: &Network, name: &str, d: DataView<'_>) -> Result<()> {
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
