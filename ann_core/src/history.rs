//! What training records, epoch by epoch and step by step.

use serde::{Deserialize, Serialize};

/// The record of a training run. Every per-epoch vector has one entry per completed
/// epoch; `grad_norms[e][l − 1]` is layer l in epoch e.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct History {
    /// J on the whole training set (eval mode, + L2) after each epoch.
    pub train_loss: Vec<f64>,
    /// Training accuracy after each epoch (empty for regression).
    pub train_accuracy: Vec<f64>,
    /// J on the validation set after each epoch (empty without one).
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
}
