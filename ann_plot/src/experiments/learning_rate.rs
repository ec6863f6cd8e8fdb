//! The effect of the learning rate α on plain gradient descent
//! θ ← θ − α dθ: too small crawls, a good α converges, too large oscillates and diverges.
//!
//! Every run starts from the same weights and sees the same batches. A run whose loss
//! stops being finite ends in [`AnnError::Diverged`]; its curve
//! is kept up to that step (recorded by an observer) and marked diverged.

use super::{Divergence, LossRecorder, at_least, fit_recorded};
use ann_core::error::{AnnError, Result};
use ann_core::{
    Activation, DataView, Init, Network, Optimizer, Task, TrainConfig, evaluate, noisy_sine, two_moons,
};
use ndarray::Array2;
use serde::{Deserialize, Serialize};

/// The problem the sweep trains on.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum LrProblem {
    /// Two moons, binary cross-entropy (sigmoid output).
    Moons {
        /// Number of examples.
        m: usize,
        /// Noise.
        noise: f64,
    },
    /// y = sin(x) + noise on [−π, π], mean squared error (linear output).
    Sine {
        /// Number of examples.
        m: usize,
        /// Standard deviation of the noise.
        noise: f64,
    },
}

impl LrProblem {
    /// Short description for titles.
    pub fn describe(&self) -> String {
        match *self {
            LrProblem::Moons { m, .. } => format!("two moons (m = {m}), binary cross-entropy"),
            LrProblem::Sine { m, .. } => format!("noisy sine (m = {m}), mean squared error"),
        }
    }

    fn generate(&self, seed: u64) -> Result<(Array2<f64>, Array2<f64>, Task)> {
        Ok(match *self {
            LrProblem::Moons { m, noise } => {
                let d = two_moons(m, noise, seed)?;
                let y = d.targets(Task::Binary);
                (d.x, y, Task::Binary)
            }
            LrProblem::Sine { m, noise } => {
                let (x, y) = noisy_sine(m, noise, seed)?;
                (x, y, Task::Regression)
            }
        })
    }
}

/// Set-up of [`learning_rate_sweep`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LrSweepConfig {
    /// The data and loss.
    pub problem: LrProblem,
    /// Seed of the data.
    pub data_seed: u64,
    /// Hidden layer sizes (tanh units); the input and output sizes are added.
    pub hidden: Vec<usize>,
    /// Seed of the initial weights (shared by all runs).
    pub init_seed: u64,
    /// The learning rates α to compare.
    pub learning_rates: Vec<f64>,
    /// Examples per mini-batch.
    pub batch_size: usize,
    /// Passes over the data.
    pub epochs: usize,
    /// Seed of the batch order (shared by all runs).
    pub seed: u64,
}

impl Default for LrSweepConfig {
    fn default() -> Self {
        LrSweepConfig {
            problem: LrProblem::Sine { m: 200, noise: 0.1 },
            data_seed: 1,
            hidden: vec![32, 32],
            init_seed: 3,
            learning_rates: vec![0.001, 0.01, 0.1, 0.3],
            batch_size: 20,
            epochs: 40,
            seed: 7,
        }
    }
}

/// The record of one learning rate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LrCurve {
    /// α.
    pub learning_rate: f64,
    /// J{t} of every step completed before the end (or the divergence).
    pub step_loss: Vec<f64>,
    /// J on the training set after every completed epoch.
    pub epoch_loss: Vec<f64>,
    /// Set if the run diverged: the step and the non-finite loss.
    pub diverged: Option<Divergence>,
}

/// Result of [`learning_rate_sweep`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LrSweep {
    /// One curve per learning rate, in the order of the config.
    pub curves: Vec<LrCurve>,
    /// J at the shared initial weights.
    pub initial_loss: f64,
    /// Steps per epoch.
    pub steps_per_epoch: usize,
    /// The problem.
    pub problem: LrProblem,
}

/// Trains the same network with plain SGD once per learning rate; diverging runs are
/// recorded up to the divergence instead of failing the sweep.
pub fn learning_rate_sweep(config: &LrSweepConfig) -> Result<LrSweep> {
    if config.learning_rates.is_empty() {
        return Err(AnnError::EmptyInput("no learning rates to compare".into()));
    }
    at_least("epochs", config.epochs, 1)?;
    let (x, y, task) = config.problem.generate(config.data_seed)?;
    let mut sizes = vec![x.nrows()];
    sizes.extend_from_slice(&config.hidden);
    sizes.push(y.nrows());
    let net0 = Network::new(&sizes, Activation::Tanh, task, Init::Xavier, config.init_seed)?;
    let train = DataView::new(x.view(), y.view());
    let initial_loss = evaluate(&net0, train, 0.0)?.0;
    let tc = TrainConfig { batch_size: config.batch_size, seed: config.seed, ..TrainConfig::default() };
    let mut curves = Vec::with_capacity(config.learning_rates.len());
    for &lr in &config.learning_rates {
        let mut net = net0.clone();
        let mut sgd = Optimizer::sgd(lr)?;
        let run = fit_recorded(&mut net, &mut sgd, train, &tc, config.epochs)?;
        let LossRecorder { step_loss, epoch_loss } = run.losses;
        curves.push(LrCurve { learning_rate: lr, step_loss, epoch_loss, diverged: run.diverged });
    }
    Ok(LrSweep {
        curves,
        initial_loss,
        steps_per_epoch: x.ncols().div_ceil(config.batch_size.max(1)),
        problem: config.problem,
    })
}
