//! The settings of a training run that decide its result: with the same settings, data,
//! network and optimizer, every step computes the same bits. How long a run goes (epochs, a
//! time budget), what it reports and where it saves checkpoints are the run's limits, set on
//! the [`Trainer`](crate::Trainer); they never change a step.

use crate::data::{DataView, Examples};
use crate::dropout::Dropout;
use crate::error::{AnnError, Result, bad_hyper, shape_str};
use crate::l2::{L2, check_l2};
use crate::network::Network;
use crate::precision::Precision;
use crate::schedule::LrSchedule;
use ndarray::ArrayView2;
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
    /// The precision the steps run in: f64 (the default), or f32 for networks without
    /// normalization (dense and convolutional layers), faster, and in half the memory when the
    /// data is f32 too ([`crate::precision`]).
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
    ///
    /// Examples in f32 train only in [`Precision::F32`], which trains dense and convolutional
    /// layers without normalization.
    pub fn check_run<'a>(
        &self,
        net: &Network,
        train: impl Into<Examples<'a>>,
        validation: Option<Examples<'_>>,
    ) -> Result<()> {
        let train = train.into();
        self.validate(net, validation.is_some())?;
        if self.precision == Precision::F32 {
            crate::fast::check_f32(net)?;
        }
        check_examples(net, "training", train, self.precision)?;
        let m = train.len();
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
            check_examples(net, "validation", v, self.precision)?;
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

/// The examples against the network, in either precision (f32 ones for an f32 run only).
fn check_examples(net: &Network, name: &str, d: Examples<'_>, precision: Precision) -> Result<()> {
    let d = match (d, precision) {
        (Examples::F64(d), _) => return check_data(net, name, d),
        (Examples::F32(_), Precision::F64) => {
            return Err(bad_hyper(
                "precision",
                "F64",
                &format!(
                    "the {name} examples are f32: train them with Precision::F32, or pass X and Y in f64"
                ),
            ));
        }
        (Examples::F32(d), Precision::F32) => d,
    };
    // X's shape and finiteness in f32; Y's shape and labels on its values widened to f64
    // (Y is small: one row per output unit).
    let x_what = format!("{name} X");
    net.check_input_shape(d.x.shape(), &x_what)?;
    if !d.x.iter().fold(true, |ok, v| ok & v.is_finite()) {
        return Err(AnnError::NonFinite(x_what));
    }
    let y = d.y.mapv(f64::from);
    check_y(net, name, d.x.shape(), y.view())
}

fn check_data(net: &Network, name: &str, d: DataView<'_>) -> Result<()> {
    net.check_input(d.x, &format!("{name} X"))?;
    check_y(net, name, d.x.shape(), d.y)
}

/// Y has one column per example of X (of shape `x_shape`) and labels the loss accepts.
fn check_y(net: &Network, name: &str, x_shape: &[usize], y: ArrayView2<f64>) -> Result<()> {
    let m = x_shape[1];
    if y.ncols() != m {
        return Err(AnnError::ShapeMismatch {
            context: format!("{name} Y must have one column per example of X {}", shape_str(x_shape)),
            expected: format!("({}, {m})", net.output_size()),
            got: shape_str(y.shape()),
        });
    }
    net.loss().check_labels(y, net.output_size(), m)
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
