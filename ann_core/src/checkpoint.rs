//! Checkpoints: a training run saved at the end of an epoch with everything it needs
//! to go on as if it had never stopped.
//!
//! After epoch k the loop's state is: every parameter; the optimizer's t and running
//! averages (and α₀, from which the schedule computes α_k); the [`RunState`]: the position
//! of the RNG that shuffles the batches and draws the dropout masks D[l], the epoch and step
//! counters, the History so far and, with early stopping, the best epoch and its weights. A
//! run resumed from that state draws the same permutations and masks and takes the same
//! steps, so it ends with the same bits as the run that was never interrupted.
//!
//! ```
//! use ann_core::*;
//! let data = two_moons(300, 0.2, 1)?;
//! let y = data.targets(Task::Binary);
//! let start = Network::new(&[2, 16, 1], Activation::Relu, Task::Binary, Init::He, 1)?;
//! let path = std::env::temp_dir().join(format!("doc_ckpt_{}.json", std::process::id()));
//! let config = TrainConfig { dropout: Dropout::Hidden(0.8), ..TrainConfig::default() };
//! // Uninterrupted.
//! let (mut whole, mut adam) = (start.clone(), Optimizer::adam(0.01)?);
//! let h_whole = fit(&mut whole, &mut adam, (&data.x, &y), &config, 6)?;
//! // Stopped after every epoch by a zero time budget, and resumed from the checkpoint each time.
//! let (zero, every_epoch) = (std::time::Duration::ZERO, Checkpointing { path: path.clone(), every: 1 });
//! let (mut net, mut adam) = (start.clone(), Optimizer::adam(0.01)?);
//! let mut h = Trainer::new(&config, 6)
//!     .time_budget(zero)
//!     .checkpoint(every_epoch.clone())
//!     .fit(&mut net, &mut adam, (&data.x, &y))?;
//! while h.stop != StopReason::Completed {
//!     let checkpoint = Checkpoint::load(&path)?;
//!     h = Trainer::new(&config, 6)
//!         .time_budget(zero)
//!         .checkpoint(every_epoch.clone())
//!         .resume(&checkpoint)
//!         .fit(&mut net, &mut adam, (&data.x, &y))?;
//! }
//! assert_eq!((net, h), (whole, h_whole));
//! # std::fs::remove_file(&path).ok();
//! # Ok::<(), AnnError>(())
//! ```

use crate::config::TrainConfig;
use crate::error::{AnnError, Result};
use crate::history::History;
use crate::network::Network;
use crate::optim::Optimizer;
use crate::persist::{Header, read_text, write_text};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Name written into every checkpoint file.
pub const CHECKPOINT_FORMAT: &str = "ann-scratch-checkpoint";
/// The checkpoint version this build writes and reads. Version 3: the L2 term is divided by
/// the training set's size N (before, by the batch's m), so a run of version 2 with λ > 0 would
/// not go on as it started; version 2 files are refused rather than resumed differently.
pub const CHECKPOINT_VERSION: u32 = 3;

/// Where and how often training writes a [`Checkpoint`]: after every `every` epochs, and
/// whenever the time budget stops the run. Each write replaces the file atomically.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checkpointing {
    /// The checkpoint file (JSON).
    pub path: PathBuf,
    /// Epochs between checkpoints (≥ 1).
    pub every: usize,
}

/// Early stopping's best epoch so far: the lowest validation loss and the weights it had.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BestEpoch {
    /// The validation loss of that epoch.
    pub val_loss: f64,
    /// The epoch, 0-based.
    pub epoch: usize,
    /// The network at the end of that epoch.
    pub network: Network,
}

/// Where a training run stands at the end of an epoch: what the next epoch depends on,
/// besides the network, the optimizer and the settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunState {
    /// Epochs completed; the run goes on with this (0-based) epoch.
    pub epochs_done: usize,
    /// Optimizer steps taken.
    pub steps_done: usize,
    /// Position of the ChaCha8 stream seeded by the settings' `seed`, in 32-bit words.
    pub rng_word_pos: u128,
    /// The History of the completed epochs.
    pub history: History,
    /// Early stopping's best epoch so far.
    pub best: Option<BestEpoch>,
}

/// A training run at the end of an epoch (see the [module](self) docs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Always [`CHECKPOINT_FORMAT`].
    pub format: String,
    /// [`CHECKPOINT_VERSION`].
    pub version: u32,
    /// The settings of the run.
    pub config: TrainConfig,
    /// m, the number of training examples (the batches depend on it).
    pub train_examples: usize,
    /// Every parameter at the end of the last completed epoch.
    pub network: Network,
    /// The optimizer: its rule, α of the last epoch, t and the running averages.
    pub optimizer: Optimizer,
    /// α₀, the learning rate the schedule starts from.
    pub base_lr: f64,
    /// The loop's own state.
    pub state: RunState,
}

impl Checkpoint {
    /// A checkpoint of a run with `config` on `train_examples` examples whose network,
    /// optimizer (started at α₀ = `base_lr`) and state are these.
    pub fn new(
        config: &TrainConfig,
        train_examples: usize,
        network: &Network,
        optimizer: &Optimizer,
        base_lr: f64,
        state: RunState,
    ) -> Self {
        Checkpoint {
            format: CHECKPOINT_FORMAT.into(),
            version: CHECKPOINT_VERSION,
            config: config.clone(),
            train_examples,
            network: network.clone(),
            optimizer: optimizer.clone(),
            base_lr,
            state,
        }
    }

    /// Serializes to JSON.
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string(self)
            .map_err(|e| AnnError::Persistence(format!("cannot serialize a checkpoint: {e}")))
    }

    /// Parses JSON written by [`Checkpoint::to_json`], checking the format, the version and
    /// that the parts agree (shapes, counters, History lengths).
    pub fn from_json(text: &str) -> Result<Self> {
        let bad = |what: String| AnnError::Persistence(format!("checkpoint: {what}"));
        let (version, _) = Header::read(text, CHECKPOINT_FORMAT, "checkpoint file")?;
        if version != u64::from(CHECKPOINT_VERSION) {
            return Err(bad(format!(
                "version {version} is not supported by this build (reads version {CHECKPOINT_VERSION})"
            )));
        }
        let mut checkpoint: Checkpoint =
            serde_json::from_str(text).map_err(|e| bad(format!("invalid checkpoint file: {e}")))?;
        checkpoint.check()?;
        // The averages must fit the network; from now on they belong to it.
        checkpoint.optimizer.bind(&checkpoint.network)?;
        Ok(checkpoint)
    }

    /// Writes the JSON to `path` atomically (see [`write_atomic`](crate::persist::write_atomic)).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        write_text(path.as_ref(), &self.to_json()?)
    }

    /// Reads and validates the checkpoint at `path`.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        Self::from_json(&read_text(path.as_ref())?)
    }

    /// The parts of a parsed file agree with each other.
    fn check(&self) -> Result<()> {
        let bad = |what: String| Err(AnnError::Persistence(format!("checkpoint: {what}")));
        let RunState { epochs_done: e, steps_done, history: h, best, .. } = &self.state;
        let e = *e;
        let per_epoch = [
            ("train_loss", h.train_loss.len()),
            ("learning_rates", h.learning_rates.len()),
            ("grad_norms", h.grad_norms.len()),
            ("weight_norms", h.weight_norms.len()),
        ];
        for (name, len) in per_epoch {
            if len != e {
                return bad(format!("history.{name} has {len} entries for {e} completed epochs"));
            }
        }
        if Some(*steps_done) != e.checked_mul(h.steps_per_epoch) || h.step_loss.len() != *steps_done {
            return bad(format!(
                "{steps_done} steps done and {} step losses do not make {e} epochs of {} steps",
                h.step_loss.len(),
                h.steps_per_epoch
            ));
        }
        if h.steps_per_epoch != crate::batch::num_batches(self.train_examples, self.config.batch_size) {
            return bad(format!(
                "{} steps per epoch do not fit {} examples in batches of {}",
                h.steps_per_epoch, self.train_examples, self.config.batch_size
            ));
        }
        if !(self.base_lr.is_finite() && self.base_lr > 0.0) {
            return bad(format!("base learning rate {} must be finite and > 0", self.base_lr));
        }
        if let Some(best) = best {
            if best.epoch >= e {
                return bad(format!("best epoch {} of {e} completed epochs", best.epoch));
            }
            same_architecture(&best.network, &self.network, "the best epoch's network")?;
        }
        self.config.validate(&self.network, self.config.early_stopping.is_some())
    }

    /// Fails unless this checkpoint can go on with `net`, `optimizer` and `config`: the same
    /// architecture, the same rule and hyperparameters (α₀ included), the same settings
    /// (every field of [`TrainConfig`]) and the same m.
    pub(crate) fn check_resume(
        &self,
        net: &Network,
        optimizer: &Optimizer,
        config: &TrainConfig,
        train_examples: usize,
    ) -> Result<()> {
        // A checkpoint built or changed in memory gets the checks of one read from a file.
        self.check()?;
        same_architecture(&self.network, net, "the network to train")?;
        // The optimizer of the resuming call starts from α₀, like the original run's did.
        // Only the rule and its hyperparameters: the averages are not compared (nor copied).
        let mut saved = Optimizer::new(*self.optimizer.config())?;
        saved.set_learning_rate(self.base_lr)?;
        if saved.config() != optimizer.config() {
            return Err(AnnError::Resume(format!(
                "the checkpoint's optimizer is {:?}, this call's is {:?}",
                saved.config(),
                optimizer.config()
            )));
        }
        let differ = self.config.differences(config);
        if !differ.is_empty() {
            return Err(AnnError::Resume(format!(
                "the settings differ (checkpoint vs this call): {}",
                differ.join("; ")
            )));
        }
        if train_examples != self.train_examples {
            return Err(AnnError::Resume(format!(
                "the checkpoint was taken on {} training examples, this call has {train_examples}",
                self.train_examples
            )));
        }
        Ok(())
    }
}

/// Same layer sizes, activations, normalizations and loss.
fn same_architecture(a: &Network, b: &Network, what: &str) -> Result<()> {
    let (da, db) = (a.architecture(), b.architecture());
    if da == db {
        Ok(())
    } else {
        Err(AnnError::Resume(format!("the checkpoint's network has {da}; {what} has {db}")))
    }
}
