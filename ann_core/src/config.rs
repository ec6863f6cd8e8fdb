//! The settings of a training run that decide its result: with the same settings, data,
//! network and optimizer, every step computes the same bits. How long a run goes (epochs, a
//! time budget), what it reports and where it saves checkpoints are the run's limits, set on
//! the [`Trainer`](crate::Trainer); they never change a step.

use crate::data::DataView;
use crate::dropout::Dropout;
use crate::error::{AnnError, Result, bad_hyper, shape_str};
use crate::l2::{L2, check_l2};
use crate::network::Network;
use crate::precision::Precision;
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
    /// L2 strength λ: J += (λ/2N) Σ‖W[l]‖², N the number of training examples, in every
    /// step whatever the batch size ([`crate::l2`]).
    pub l2: f64,
    /// Seed of the RNG that shuffles batches and draws dropout masks.
    pub seed: u64,
    /// Learning-rate schedule applied at the start of each epoch.
    pub schedule: LrSchedule,
    /// Early stopping on the validation loss (needs a validation set).
    pub early_stopping: Option<EarlyStopping>,
    /// The precision the steps run in: f64 (the default), or f32 for dense networks without
    /// normalization, about twice as fast ([`crate::precision`]).
    #[serde(default)]
    pub precision: Precision,
}

impl Default for TrainConfig {
    /// Batches of 64, no dropout, no L2, seed 0, a constant learning rate, no early stopping,
    /// f64.
    fn default() -> Self {
        TrainConfig {
            batch_size: 64,
            dropout: Dropout::Off,
            l2: 0.0,
            seed: 0,
            schedule: LrSchedule::Constant,
            early_stopping: None,
            precision: Precision::F64,
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
    /// The L2 term of training on `n` examples: (λ/2N) Σ‖W[l]‖² with N = `n`.
    pub fn l2_term(&self, n: usize) -> L2 {
        L2::new(self.l2, n)
    }

    /// The hyperparameters are valid for `net` (with or without a validation set).
    pub fn validate(&self, net: &Network, has_validation: bool) -> Result<()> {
        if self.batch_size == 0 {
            return Err(bad_hyper("batch_size", 0, "must be at least 1"));
        }
        check_l2("l2", self.l2)?;
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

    /// Everything a training run checks before its first step: the settings for `net`, the
    /// training (and validation) data against the network, and, for a normalization that
    /// needs several examples per pass, that every mini-batch has them.
    pub fn check_run(
        &self,
        net: &Network,
        train: DataView<'_>,
        validation: Option<DataView<'_>>,
    ) -> Result<()> {
        self.validate(net, validation.is_some())?;
        check_data(net, "training", train)?;
        let m = train.x.ncols();
        let last = m % self.batch_size;
        // A normalization that needs several examples per training pass (batch norm: 2) needs
        // them in every mini-batch, the last one included.
        let need = (net.layers().iter().filter_map(|l| l.normalization.as_ref()))
            .map(|n| (n.kind().min_batch(), n.kind().name()))
            .max_by_key(|(k, _)| *k);
        if let Some((need, name)) = need {
            let full = self.batch_size.min(m);
            let short = if full < need {
                Some(format!("batches of {} make every one a batch of {full}", self.batch_size))
            } else {
                (last != 0 && last < need).then(|| {
                    format!(
                        "{m} training examples in batches of {} leave a last batch of {last}",
                        self.batch_size
                    )
                })
            };
            if let Some(short) = short {
                return Err(bad_hyper(
                    "batch_size",
                    self.batch_size,
                    &format!(
                        "{name} normalizes over each mini-batch and needs at least {need} examples in every one; {short}"
                    ),
                ));
            }
        }
        if let Some(v) = validation {
            check_data(net, "validation", v)?;
        }
        Ok(())
    }

    /// The settings that differ between `self` and `other`, as "name: self's value, other's
    /// value" (every field, compared as the file format writes it).
    pub fn differences(&self, other: &TrainConfig) -> Vec<String> {
        if self == other {
            return Vec::new();
        }
        let fields = |c: &TrainConfig| match serde_json::to_value(c) {
            Ok(serde_json::Value::Object(map)) => map,
            _ => serde_json::Map::new(),
        };
        let (a, b) = (fields(self), fields(other));
        let named: Vec<String> = a
            .iter()
            .filter(|(name, value)| b.get(*name) != Some(*value))
            .map(|(name, value)| {
                format!("{name}: {value} vs {}", b.get(name).unwrap_or(&serde_json::Value::Null))
            })
            .collect();
        // Settings that differ in a way the file format cannot show (a NaN) still differ.
        if named.is_empty() { vec![format!("{self:?} vs {other:?}")] } else { named }
    }
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
