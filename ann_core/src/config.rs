//! The settings of a training run that decide its result: with the same settings, data,
//! network and optimizer, every step computes the same bits. How long a run goes (epochs, a
//! time budget), what it reports and where it saves checkpoints are the run's limits, set on
//! the [`Trainer`](crate::Trainer); they never change a step.

use crate::dropout::Dropout;
use crate::error::{AnnError, Result, bad_hyper};
use crate::network::Network;
use crate::schedule::LrSchedule;
use serde::{Deserialize, Serialize};

/// Hyperparameters of a training run: everything besides the network, the optimizer and the
/// data that decides what a step computes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
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
}

impl Default for TrainConfig {
    /// Batches of 64, no dropout, no L2, seed 0, a constant learning rate, no early stopping.
    fn default() -> Self {
        TrainConfig {
            batch_size: 64,
            dropout: Dropout::Off,
            l2: 0.0,
            seed: 0,
            schedule: LrSchedule::Constant,
            early_stopping: None,
        }
    }
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

impl TrainConfig {
    /// The hyperparameters are valid for `net` (with or without a validation set).
    pub fn validate(&self, net: &Network, has_validation: bool) -> Result<()> {
        if self.batch_size == 0 {
            return Err(bad_hyper("batch_size", 0, "must be at least 1"));
        }
        if !(self.l2.is_finite() && self.l2 >= 0.0) {
            return Err(bad_hyper("l2", self.l2, "must be finite and >= 0"));
        }
        self.schedule.validate()?;
        if let Some(es) = self.early_stopping {
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
        self.dropout.check(net.num_layers())
    }

    /// The settings that differ between `self` and `other`, as "name: self's value, other's
    /// value" (every field, compared as the file format writes it).
    pub fn differences(&self, other: &TrainConfig) -> Vec<String> {
        let fields = |c: &TrainConfig| match serde_json::to_value(c) {
            Ok(serde_json::Value::Object(map)) => map,
            _ => serde_json::Map::new(),
        };
        let (a, b) = (fields(self), fields(other));
        a.iter()
            .filter(|(name, value)| b.get(*name) != Some(*value))
            .map(|(name, value)| {
                format!("{name}: {value} vs {}", b.get(name).unwrap_or(&serde_json::Value::Null))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differences_name_every_field_that_differs() {
        let a = TrainConfig::default();
        assert!(a.differences(&a.clone()).is_empty());
        let b = TrainConfig { seed: 3, dropout: Dropout::Hidden(0.8), ..a.clone() };
        let d = a.differences(&b);
        assert_eq!(d.len(), 2, "{d:?}");
        assert!(d.iter().any(|s| s.starts_with("seed: 0 vs 3")), "{d:?}");
        assert!(d.iter().any(|s| s.starts_with("dropout")), "{d:?}");
    }
}
