//! The training loop: for each epoch, for each shuffled mini-batch (X{t}, Y{t}):
//! forward (train mode) → J{t} → backward → optimizer step; then evaluate and record
//! ([`Trainer::fit`], one epoch at a time), and decide whether to go on: early stopping, a
//! time budget, a progress line, a checkpoint.
//!
//! [`fit_reference`](crate::fit_reference) is the same loop written with the readable
//! functions of the course, one line per equation; this one computes each step on the fast
//! path ([`crate::fast`]) and gives its bits.

use crate::batch::{num_batches, shuffle_order};
use crate::cache::{Cache, Train};
use crate::checkpoint::{BestEpoch, Checkpoint, Checkpointing, RunState};
use crate::config::TrainConfig;
use crate::data::{DataView, Examples};
use crate::error::{AnnError, Result, bad_hyper};
use crate::fast::{Mirror, Workspace};
use crate::gradients::Gradients;
use crate::history::{History, StopReason};
use crate::matrix_norm::frobenius;
use crate::network::Network;
use crate::optim::Optimizer;
use crate::precision::Precision;
use rand::SeedableRng;
use rand::rngs::ChaCha8Rng;
use std::time::{Duration, Instant};

/// How often training hands a [`History::progress_line`] to the caller's sink.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Progress {
    /// After every epoch.
    EachEpoch,
    /// After the first epoch that ends at least this long after the last line (and after
    /// the last epoch).
    Every(Duration),
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
    /// Called after every optimizer step. A run in [`Precision::F32`] has no f64 cache and
    /// gradients to show, so it refuses an observer that wants steps
    /// ([`Observer::observes_steps`]).
    fn on_step(&mut self, _info: &StepInfo<'_>) {}
    /// Whether [`Observer::on_step`] does something (an observer of epochs only says no, and
    /// can then watch an f32 run).
    fn observes_steps(&self) -> bool {
        true
    }
    /// Called when an epoch's steps are done, before its evaluation (`epoch` counted from 0).
    fn on_steps_end(&mut self, _epoch: usize) {}
    /// Called after every epoch.
    fn on_epoch_end(&mut self, _info: &EpochInfo<'_>) {}
}

/// Trains `net` with `optimizer` on the training data (X, Y) for `epochs` epochs; returns
/// the [`History`].
///
/// ```
/// use ann_core::*;
/// let data = two_moons(400, 0.1, 1)?;
/// let y = data.targets(Task::Binary);
/// let mut net = Network::new(&[2, 16, 1], Activation::Relu, Task::Binary, Init::He, 1)?;
/// let mut adam = Optimizer::adam(0.01)?;
/// let config = TrainConfig { batch_size: 32, ..TrainConfig::default() };
/// let history = fit(&mut net, &mut adam, (&data.x, &y), &config, 30)?;
/// assert!(history.final_train_accuracy().unwrap() > 0.85);
/// # Ok::<(), AnnError>(())
/// ```
///
/// A validation set, early stopping on it, observers of every step, a time budget, progress
/// lines and checkpoints: [`Trainer`]. `fit` gives exactly the bits of
/// [`fit_reference`](crate::fit_reference), the same loop written with the readable
/// functions of the course.
pub fn fit<'a>(
    net: &mut Network,
    optimizer: &mut Optimizer,
    train: impl Into<Examples<'a>>,
    config: &TrainConfig,
    epochs: usize,
) -> Result<History> {
    Trainer::new(config, epochs).fit(net, optimizer, train)
}

/// A training run with more than [`fit`] needs: a validation set (J and accuracy recorded
/// after every epoch, and early stopping on it), an [`Observer`] of every step, and the
/// run's limits: a time budget, progress lines, checkpoints.
///
/// ```
/// use ann_core::*;
/// let data = two_moons(500, 0.2, 1)?;
/// let (train, val) = train_test_split(&data, 0.2, 1)?;
/// let (y_train, y_val) = (train.targets(Task::Binary), val.targets(Task::Binary));
/// let mut net = Network::new(&[2, 16, 1], Activation::Relu, Task::Binary, Init::He, 1)?;
/// let early = EarlyStopping { patience: 5, min_delta: 0.0 };
/// let config = TrainConfig { batch_size: 32, early_stopping: Some(early), ..TrainConfig::default() };
/// let mut lines = Vec::new();
/// let history = Trainer::new(&config, 200)
///     .validation((&val.x, &y_val))
///     .progress(Progress::EachEpoch, |line| lines.push(line.to_string()))
///     .fit(&mut net, &mut Optimizer::adam(0.01)?, (&train.x, &y_train))?;
/// assert_eq!(history.val_loss.len(), history.epochs());
/// assert_eq!(lines.len(), history.epochs());
/// # Ok::<(), AnnError>(())
/// ```
pub struct Trainer<'a> {
    config: &'a TrainConfig,
    limits: Limits,
    progress: Option<ProgressLines<'a>>,
    validation: Option<Examples<'a>>,
    observer: Option<&'a mut dyn Observer>,
    resume: Option<&'a Checkpoint>,
}

/// How far a run goes and what it leaves behind; none of it changes a step's bits.
struct Limits {
    epochs: usize,
    time_budget: Option<Duration>,
    checkpoint: Option<Checkpointing>,
}

/// Progress lines on their way to the caller's sink.
struct ProgressLines<'a> {
    every: Progress,
    sink: Box<dyn FnMut(&str) + 'a>,
    /// When the last line went out.
    last: Option<Instant>,
}

impl ProgressLines<'_> {
    /// After an epoch: a line if one is due (`ends`: the run stops after this epoch).
    fn epoch_done(&mut self, history: &History, planned_epochs: usize, elapsed: Duration, ends: bool) {
        let due = match self.every {
            Progress::EachEpoch => true,
            Progress::Every(gap) => ends || self.last.is_none_or(|t| t.elapsed() >= gap),
        };
        if due {
            (self.sink)(&history.progress_line(planned_epochs, elapsed));
            self.last = Some(Instant::now());
        }
    }
}

/// The observer of a run that has none.
struct NoObserver;
impl Observer for NoObserver {
    fn observes_steps(&self) -> bool {
        false
    }
}

impl<'a> Trainer<'a> {
    /// A run of `epochs` epochs with the settings `config`, no validation set, no observer,
    /// no time budget, no progress lines and no checkpoints.
    pub fn new(config: &'a TrainConfig, epochs: usize) -> Self {
        Trainer {
            config,
            limits: Limits { epochs, time_budget: None, checkpoint: None },
            progress: None,
            validation: None,
            observer: None,
            resume: None,
        }
    }

    /// Evaluates the network on this validation set (X, Y) after every epoch.
    pub fn validation(mut self, data: impl Into<Examples<'a>>) -> Self {
        self.validation = Some(data.into());
        self
    }

    /// Calls `observer` after every step and every epoch.
    pub fn observer(mut self, observer: &'a mut dyn Observer) -> Self {
        self.observer = Some(observer);
        self
    }

    /// A wall-clock budget for this call: when it has run out at the end of an epoch,
    /// training stops there and [`History::stop`] says so (a checkpoint, if configured, is
    /// written, so the run can go on from it).
    pub fn time_budget(mut self, budget: Duration) -> Self {
        self.limits.time_budget = Some(budget);
        self
    }

    /// Writes a [`Checkpoint`] every few epochs (and when the time budget stops the run), to
    /// resume the run bit for bit.
    pub fn checkpoint(mut self, checkpointing: Checkpointing) -> Self {
        self.limits.checkpoint = Some(checkpointing);
        self
    }

    /// Hands a [`History::progress_line`] to `sink` as often as `every` says, to watch a
    /// long run (in a notebook: `|line| println!("{line}")`).
    pub fn progress(mut self, every: Progress, sink: impl FnMut(&str) + 'a) -> Self {
        self.progress = Some(ProgressLines { every, sink: Box::new(sink), last: None });
        self
    }

    /// Goes on from `checkpoint` instead of starting afresh: `net` and `optimizer` take the
    /// checkpoint's weights and state, and the run continues with its next epoch, ending with
    /// the bits of the run that was never interrupted. The network's architecture, the
    /// optimizer's rule and hyperparameters (α₀ included), the settings (every field of
    /// [`TrainConfig`]) and m must be the checkpoint's; the limits may differ.
    pub fn resume(mut self, checkpoint: &'a Checkpoint) -> Self {
        self.resume = Some(checkpoint);
        self
    }

    /// Trains `net` with `optimizer` on `train`; returns the [`History`] (see [`fit`]).
    ///
    /// Afterwards the optimizer has its state of the last step and, whatever the schedule
    /// did, its α₀ again: the same variables can go on (or resume) with the same schedule.
    pub fn fit<'d>(
        mut self,
        net: &mut Network,
        optimizer: &mut Optimizer,
        train: impl Into<Examples<'d>>,
    ) -> Result<History> {
        // α₀: the schedule's starting point (a checkpoint to resume from must have the same).
        let base_lr = optimizer.learning_rate();
        let result = self.run(net, optimizer, train.into(), base_lr);
        optimizer.set_learning_rate(base_lr)?;
        result
    }

    fn run(
        &mut self,
        net: &mut Network,
        optimizer: &mut Optimizer,
        train: Examples<'_>,
        base_lr: f64,
    ) -> Result<History> {
        let config = self.config;
        config.check_run(net, train, self.validation)?;
        if let Some(cp) = &self.limits.checkpoint
            && cp.every == 0
        {
            return Err(bad_hyper("checkpoint.every", 0, "must be at least 1"));
        }
        let m = train.len();
        let mut none = NoObserver;
        let observer: &mut dyn Observer = match self.observer.take() {
            Some(o) => o,
            None => &mut none,
        };
        if config.precision == Precision::F32 && observer.observes_steps() {
            return Err(bad_hyper(
                "precision",
                "F32",
                "has no f64 cache or gradients to show an observer of steps: train with \
                 Precision::F64 to observe every step",
            ));
        }
        let mut run = match self.resume {
            Some(c) => {
                c.check_resume(net, optimizer, config, m)?;
                net.copy_weights_from(&c.network);
                *optimizer = Optimizer::with_state(*c.optimizer.config(), c.optimizer.state().clone())?;
                Run::resume(config, &c.state)
            }
            None => Run::start(config, m),
        };
        // The optimizer's state must be (or become) this network's before any work is done.
        optimizer.bind(net)?;
        // Everything a step needs is allocated here once: the batch, the cache, the
        // gradients (see `Workspace`), the permutation and the per-layer norms.
        let batch = config.batch_size.min(m);
        let engine = match config.precision {
            Precision::F64 => Engine::F64(Box::new(Workspace::new(net, batch)?)),
            Precision::F32 => Engine::F32(Box::new(Mirror::new(net, optimizer, batch)?)),
        };
        let mut steps = Steps { engine, order: Vec::with_capacity(m), dw_norms: vec![0.0; net.num_layers()] };
        let started = Instant::now();
        // A run resumed from the epoch where early stopping fired is over already.
        while run.state.epochs_done < self.limits.epochs
            && run.state.history.stop != StopReason::EarlyStopping
        {
            run.epoch(&mut steps, net, optimizer, train, config, base_lr, &mut *observer)?;
            run.evaluate(&mut steps.engine, net, train, self.validation, config)?;
            if self.end_of_epoch(&mut run, net, optimizer, m, base_lr, started, &mut *observer)? {
                break;
            }
        }
        let RunState { mut history, best, .. } = run.state;
        if let Some(b) = best {
            net.copy_weights_from(&b.network);
            history.best_epoch = Some(b.epoch);
        }
        Ok(history)
    }

    /// The decisions at the end of an epoch: early stopping, the observer, the time budget,
    /// a progress line and a checkpoint. Returns whether the run stops here (History says why).
    #[allow(clippy::too_many_arguments)]
    fn end_of_epoch(
        &mut self,
        run: &mut Run,
        net: &Network,
        optimizer: &Optimizer,
        m: usize,
        base_lr: f64,
        started: Instant,
        observer: &mut dyn Observer,
    ) -> Result<bool> {
        let epoch = run.state.epochs_done - 1;
        let mut stop = None;
        if let (Some(es), Some(&vloss)) = (self.config.early_stopping, run.state.history.val_loss.last()) {
            let best = &mut run.state.best;
            if best.as_ref().is_none_or(|b| vloss < b.val_loss - es.min_delta) {
                *best = Some(BestEpoch { val_loss: vloss, epoch, network: net.clone() });
            } else if best.as_ref().is_some_and(|b| epoch - b.epoch >= es.patience) {
                stop = Some(StopReason::EarlyStopping);
            }
        }
        observer.on_epoch_end(&EpochInfo { epoch, network: net, history: &run.state.history });
        let elapsed = started.elapsed();
        let last_epoch = epoch + 1 == self.limits.epochs;
        if let Some(budget) = self.limits.time_budget
            && stop.is_none()
            && elapsed >= budget
            && !last_epoch
        {
            stop = Some(StopReason::TimeBudget { elapsed, budget });
        }
        if let Some(progress) = &mut self.progress {
            progress.epoch_done(
                &run.state.history,
                self.limits.epochs,
                elapsed,
                stop.is_some() || last_epoch,
            );
        }
        if let Some(reason) = stop {
            // Before the checkpoint, so that it records why the run stopped.
            run.state.history.stop = reason;
        }
        if let Some(cp) = &self.limits.checkpoint
            && ((epoch + 1).is_multiple_of(cp.every) || matches!(stop, Some(StopReason::TimeBudget { .. })))
        {
            Checkpoint::new(self.config, m, net, optimizer, base_lr, run.capture()).save(&cp.path)?;
        }
        Ok(stop.is_some())
    }
}

/// The buffers of the steps, allocated once per run.
struct Steps {
    engine: Engine,
    /// The permutation of 0..m of the epoch.
    order: Vec<usize>,
    /// ‖dW[l]‖_F of the last step.
    dw_norms: Vec<f64>,
}

/// The f64 examples the f64 workspace takes (`check_run` refuses f32 examples in an f64 run).
fn f64_examples(data: Examples<'_>) -> Result<DataView<'_>> {
    match data {
        Examples::F64(d) => Ok(d),
        Examples::F32(_) => Err(bad_hyper("precision", "F64", "f32 examples train with Precision::F32")),
    }
}

/// What runs the steps: the f64 workspace, or the network mirrored in f32.
enum Engine {
    F64(Box<Workspace>),
    F32(Box<Mirror<f32>>),
}

/// The loop's live state: the RNG and the [`RunState`] it captures into a checkpoint and
/// restores from one.
struct Run {
    rng: ChaCha8Rng,
    state: RunState,
}

impl Run {
    /// Before the first epoch.
    fn start(config: &TrainConfig, m: usize) -> Self {
        let history = History { steps_per_epoch: num_batches(m, config.batch_size), ..History::default() };
        Run {
            rng: ChaCha8Rng::seed_from_u64(config.seed),
            state: RunState { epochs_done: 0, steps_done: 0, rng_word_pos: 0, history, best: None },
        }
    }

    /// Where a checkpoint's run stood. A stop on time ends only the call that wrote the
    /// checkpoint; early stopping ends the run.
    fn resume(config: &TrainConfig, state: &RunState) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
        rng.set_word_pos(state.rng_word_pos);
        let mut state = state.clone();
        if state.history.stop != StopReason::EarlyStopping {
            state.history.stop = StopReason::Completed;
        }
        Run { rng, state }
    }

    /// The state to write into a checkpoint.
    fn capture(&self) -> RunState {
        RunState { rng_word_pos: self.rng.get_word_pos(), ..self.state.clone() }
    }

    /// One epoch of steps: the schedule's α, a new permutation, and for each mini-batch
    /// forward → J{t} → backward → the optimizer's step.
    #[allow(clippy::too_many_arguments)]
    fn epoch(
        &mut self,
        steps: &mut Steps,
        net: &mut Network,
        optimizer: &mut Optimizer,
        train: Examples<'_>,
        config: &TrainConfig,
        base_lr: f64,
        observer: &mut dyn Observer,
    ) -> Result<()> {
        let Steps { engine, order, dw_norms } = steps;
        let (epoch, history) = (self.state.epochs_done, &mut self.state.history);
        let lr = config.schedule.rate(base_lr, epoch);
        optimizer.set_learning_rate(lr)?;
        history.learning_rates.push(lr);
        let mut dw_norm_sum = vec![0.0; dw_norms.len()];
        // Room for this epoch's step losses, so that no step reallocates History.
        history.step_loss.reserve(history.steps_per_epoch);
        shuffle_order(order, train.len(), &mut self.rng);
        let l2 = config.l2_term(train.len());
        for idx in order.chunks(config.batch_size) {
            let step = self.state.steps_done;
            // (X{t}, Y{t}) → forward (train mode) → J{t} → backward
            let loss = match engine {
                Engine::F64(ws) => {
                    ws.load_batch_unchecked(f64_examples(train)?, idx);
                    ws.forward_train(net, &config.dropout, &mut self.rng)?;
                    let loss = ws.cost(net, l2)?;
                    ws.backward(net, l2)?;
                    // Check before updating, so a diverging run keeps its last finite weights.
                    if !ws.gradient_norms(dw_norms) || !loss.is_finite() {
                        return Err(AnnError::Diverged { epoch, step, loss });
                    }
                    optimizer.step(net, ws.gradients())?;
                    if let Some(cache) = ws.cache() {
                        net.update_running_statistics(cache)?;
                    }
                    if let Some(cache) = ws.cache() {
                        let gradients = ws.gradients();
                        observer.on_step(&StepInfo {
                            epoch,
                            step,
                            loss,
                            network: net,
                            gradients,
                            optimizer,
                            cache,
                        });
                    }
                    loss
                }
                Engine::F32(mirror) => {
                    match train {
                        Examples::F64(d) => mirror.load_batch(d.x, d.y, idx),
                        Examples::F32(d) => mirror.load_batch(d.x, d.y, idx),
                    }
                    let mut pass = || -> Result<f64> {
                        mirror.forward_train(&config.dropout, &mut self.rng)?;
                        let loss = mirror.cost(l2)?;
                        mirror.backward(l2)?;
                        Ok(loss)
                    };
                    let outcome = match pass() {
                        Ok(loss) if mirror.gradient_norms(dw_norms) && loss.is_finite() => Ok(loss),
                        Ok(loss) => Err(AnnError::Diverged { epoch, step, loss }),
                        Err(e) => Err(e),
                    };
                    // On any error the network keeps the last f32 values (the last finite
                    // weights of a diverging run), widened.
                    let loss = outcome.inspect_err(|_| mirror.write_back(net, optimizer))?;
                    mirror.step(optimizer);
                    loss
                }
            };
            for (s, g) in dw_norm_sum.iter_mut().zip(dw_norms.iter()) {
                *s += g;
            }
            history.step_loss.push(loss);
            self.state.steps_done += 1;
        }
        observer.on_steps_end(epoch);
        if let Engine::F32(mirror) = engine {
            // The f32 values, widened: what the rest of the epoch (evaluation, early
            // stopping, checkpoints, observers) and the caller see.
            mirror.write_back(net, optimizer);
        }
        let steps_per_epoch = history.steps_per_epoch as f64;
        history.grad_norms.push(dw_norm_sum.iter().map(|s| s / steps_per_epoch).collect());
        history.weight_norms.push(net.weights().map(frobenius).collect());
        Ok(())
    }

    /// J and accuracy on the training set (and the validation set) in eval mode, recorded
    /// in History; the epoch is then done.
    fn evaluate(
        &mut self,
        engine: &mut Engine,
        net: &Network,
        train: Examples<'_>,
        validation: Option<Examples<'_>>,
        config: &TrainConfig,
    ) -> Result<()> {
        let (epoch, history) = (self.state.epochs_done, &mut self.state.history);
        // Same bits as `evaluate` (in chunks through the workspace's buffers); in f32, the
        // f32 network on the data rounded to f32, the losses summed in f64.
        // Both sets carry the same penalty, (λ/2N) Σ‖W[l]‖² with N the training set's size.
        let l2 = config.l2_term(train.len());
        let mut evaluate = |data: Examples<'_>| match (&mut *engine, data) {
            (Engine::F64(ws), data) => ws.evaluate_unchecked(net, f64_examples(data)?, l2),
            (Engine::F32(mirror), Examples::F64(d)) => Ok(mirror.evaluate(d.x, d.y, l2)),
            (Engine::F32(mirror), Examples::F32(d)) => Ok(mirror.evaluate(d.x, d.y, l2)),
        };
        let (loss, acc) = evaluate(train)?;
        if !loss.is_finite() {
            return Err(AnnError::Diverged { epoch, step: self.state.steps_done.saturating_sub(1), loss });
        }
        history.train_loss.push(loss);
        history.train_accuracy.extend(acc);
        if l2.lambda != 0.0 {
            history.l2_penalty.push(l2.penalty(net.weights(), train.len()));
        }
        if let Some(val) = validation {
            let (vloss, vacc) = evaluate(val)?;
            history.val_loss.push(vloss);
            history.val_accuracy.extend(vacc);
        }
        self.state.epochs_done += 1;
        Ok(())
    }
}
