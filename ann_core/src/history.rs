//! What training records, epoch by epoch and step by step.

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Why a training run ended.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub enum StopReason {
    /// Every epoch of the config ran.
    #[default]
    Completed,
    /// Early stopping: the validation loss did not improve for `patience` epochs.
    EarlyStopping,
    /// The wall-clock budget ran out; the run stopped at the end of the epoch in which it did.
    TimeBudget {
        /// Time spent training in this call.
        elapsed: Duration,
        /// The config's `time_budget`.
        budget: Duration,
    },
}

impl std::fmt::Display for StopReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StopReason::Completed => f.write_str("completed every epoch"),
            StopReason::EarlyStopping => {
                f.write_str("early stopping (the validation loss stopped improving)")
            }
            StopReason::TimeBudget { elapsed, budget } => write!(
                f,
                "time budget: {:.1} s used of {:.1} s, stopped at the end of the epoch",
                elapsed.as_secs_f64(),
                budget.as_secs_f64()
            ),
        }
    }
}

/// The record of a training run. Every per-epoch vector has one entry per completed
/// epoch; `grad_norms[e][l − 1]` is layer l in epoch e.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct History {
    /// J on the whole training set (eval mode, + L2) after each epoch.
    pub train_loss: Vec<f64>,
    /// The L2 term (λ/2N) Σ_l ‖W[l]‖²_F included in `train_loss` and `val_loss` after each
    /// epoch (N the training set's size, the same for both); empty when λ = 0. The data term
    /// is the loss minus this.
    #[serde(default)]
    pub l2_penalty: Vec<f64>,
    /// Training accuracy after each epoch (empty for regression).
    pub train_accuracy: Vec<f64>,
    /// J on the validation set after each epoch (empty without one), + the same L2 term.
    pub val_loss: Vec<f64>,
    /// Validation accuracy after each epoch (empty without a validation set or for regression).
    pub val_accuracy: Vec<f64>,
    /// The mini-batch loss J{t} (train mode, with dropout) of every optimizer step.
    pub step_loss: Vec<f64>,
    /// Mean over the epoch's steps of ‖dW[l]‖_F, per layer.
    pub grad_norms: Vec<Vec<f64>>,
    /// ‖W[l]‖_F at the end of each epoch, per layer.
    pub weight_norms: Vec<Vec<f64>>,
    /// The learning rate α used in each epoch.
    pub learning_rates: Vec<f64>,
    /// Optimizer steps per epoch (⌈m / batch_size⌉).
    pub steps_per_epoch: usize,
    /// The epoch (0-based) whose weights were restored by early stopping, if it stopped early.
    pub best_epoch: Option<usize>,
    /// Why the run ended.
    #[serde(default)]
    pub stop: StopReason,
}

impl History {
    /// Number of completed epochs.
    pub fn epochs(&self) -> usize {
        self.train_loss.len()
    }

    /// The last epoch's training loss, if any.
    pub fn final_train_loss(&self) -> Option<f64> {
        self.train_loss.last().copied()
    }

    /// The last epoch's training accuracy, if any.
    pub fn final_train_accuracy(&self) -> Option<f64> {
        self.train_accuracy.last().copied()
    }

    /// One line on the last epoch, for watching a long run: "epoch 3/10 · J 0.4123 ·
    /// accuracy 85.12 % · validation J 0.4301, accuracy 84.00 % · α 8.19e-4 · 12.3 s".
    pub fn progress_line(&self, planned_epochs: usize, elapsed: Duration) -> String {
        let percent =
            |v: Option<&f64>| v.map(|a| format!(", accuracy {:.2} %", 100.0 * a)).unwrap_or_default();
        let mut line = format!("epoch {}/{planned_epochs}", self.epochs());
        if let Some(j) = self.train_loss.last() {
            line += &format!(" · J {j:.4}{}", percent(self.train_accuracy.last()));
        }
        if let Some(j) = self.val_loss.last() {
            line += &format!(" · validation J {j:.4}{}", percent(self.val_accuracy.last()));
        }
        if let Some(lr) = self.learning_rates.last() {
            line += &format!(" · α {lr:.2e}");
        }
        line + &format!(" · {:.1} s", elapsed.as_secs_f64())
    }
}
