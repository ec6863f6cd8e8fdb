//! Weights and their updates over the iterations of a real training run.
//!
//! An [`Observer`] records, after every step t, a few chosen weights W[l]_{ij} and for
//! every layer the relative update
//!
//! r[l]_t = ‖W[l]_t − W[l]_{t−1}‖_F / ‖W[l]_{t−1}‖_F,
//!
//! whose rule-of-thumb healthy value is around 10⁻³ (much smaller: learning too slowly;
//! much larger: unstable).

use super::{WeightIndex, at_least};
use ann_core::error::{AnnError, Result};
use ann_core::{
    Activation, AdamConfig, DataView, Init, Network, Observer, Optimizer, OptimizerConfig, StepInfo, Task,
    TrainConfig, Trainer, frobenius, two_moons,
};
use ndarray::{Array2, Zip};
use serde::{Deserialize, Serialize};

/// Set-up of [`weight_updates`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WeightUpdatesConfig {
    /// Number of two-moons examples.
    pub m: usize,
    /// Noise of the moons.
    pub noise: f64,
    /// Seed of the data.
    pub data_seed: u64,
    /// Layer sizes [2, ..., 1] (ReLU hidden layers, sigmoid output, He init).
    pub sizes: Vec<usize>,
    /// Seed of the initial weights.
    pub init_seed: u64,
    /// The optimizer.
    pub optimizer: OptimizerConfig,
    /// Examples per mini-batch.
    pub batch_size: usize,
    /// Passes over the data.
    pub epochs: usize,
    /// Seed of the batch order.
    pub seed: u64,
    /// The weights whose trajectories are recorded.
    pub weights: Vec<WeightIndex>,
}

impl Default for WeightUpdatesConfig {
    fn default() -> Self {
        WeightUpdatesConfig {
            m: 256,
            noise: 0.2,
            data_seed: 1,
            sizes: vec![2, 16, 16, 1],
            init_seed: 3,
            optimizer: OptimizerConfig::Adam(AdamConfig { lr: 0.005, ..AdamConfig::default() }),
            batch_size: 32,
            epochs: 25,
            seed: 7,
            weights: vec![
                WeightIndex::new(1, 0, 0),
                WeightIndex::new(1, 5, 1),
                WeightIndex::new(2, 3, 5),
                WeightIndex::new(2, 10, 2),
                WeightIndex::new(3, 0, 2),
                WeightIndex::new(3, 0, 9),
            ],
        }
    }
}

/// Result of [`weight_updates`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WeightUpdates {
    /// The tracked weights, in the order of the config.
    pub weights: Vec<WeightIndex>,
    /// `trajectories[k][t]`: weight k at the start (t = 0) and after step t (steps + 1 values).
    pub trajectories: Vec<Vec<f64>>,
    /// `update_ratio[l − 1][t − 1]` = ‖ΔW[l]‖ / ‖W[l]‖ of step t.
    pub update_ratio: Vec<Vec<f64>>,
    /// `weight_norm[l − 1][t]` = ‖W[l]‖_F at the start and after each step.
    pub weight_norm: Vec<Vec<f64>>,
    /// J{t} of every step.
    pub step_loss: Vec<f64>,
    /// Steps per epoch.
    pub steps_per_epoch: usize,
    /// The optimizer used.
    pub optimizer: OptimizerConfig,
}

struct UpdateObserver {
    weights: Vec<WeightIndex>,
    prev: Vec<Array2<f64>>,
    trajectories: Vec<Vec<f64>>,
    update_ratio: Vec<Vec<f64>>,
    weight_norm: Vec<Vec<f64>>,
    step_loss: Vec<f64>,
}

impl Observer for UpdateObserver {
    fn on_step(&mut self, info: &StepInfo<'_>) {
        self.step_loss.push(info.loss);
        for (k, w) in self.weights.iter().enumerate() {
            self.trajectories[k].push(w.get(info.network).unwrap_or(f64::NAN));
        }
        for (i, layer) in info.network.layers().iter().enumerate() {
            let prev = &mut self.prev[i];
            let before = frobenius(prev.view());
            let mut delta_sq = 0.0;
            Zip::from(&layer.w).and(&*prev).for_each(|&a, &b| delta_sq += (a - b) * (a - b));
            self.update_ratio[i].push(if before > 0.0 { delta_sq.sqrt() / before } else { f64::NAN });
            self.weight_norm[i].push(frobenius(layer.w.view()));
            prev.assign(&layer.w);
        }
    }
}

/// Trains a small network on two moons and records the chosen weights and the per-layer
/// update/weight ratios at every step.
pub fn weight_updates(config: &WeightUpdatesConfig) -> Result<WeightUpdates> {
    at_least("epochs", config.epochs, 1)?;
    if config.weights.is_empty() {
        return Err(AnnError::EmptyInput("no weights to track".into()));
    }
    let data = two_moons(config.m, config.noise, config.data_seed)?;
    let y = data.targets(Task::Binary);
    let mut net = Network::new(&config.sizes, Activation::Relu, Task::Binary, Init::He, config.init_seed)?;
    for w in &config.weights {
        w.check(&net)?;
    }
    let n = net.num_layers();
    let mut obs = UpdateObserver {
        weights: config.weights.clone(),
        prev: net.layers().iter().map(|l| l.w.clone()).collect(),
        trajectories: config.weights.iter().map(|w| vec![w.get(&net).unwrap_or(f64::NAN)]).collect(),
        update_ratio: vec![Vec::new(); n],
        weight_norm: net.layers().iter().map(|l| vec![frobenius(l.w.view())]).collect(),
        step_loss: Vec::new(),
    };
    let mut opt = Optimizer::new(config.optimizer)?;
    let tc = TrainConfig { batch_size: config.batch_size, seed: config.seed, ..TrainConfig::default() };
    let history = Trainer::new(&tc, config.epochs).observer(&mut obs).fit(
        &mut net,
        &mut opt,
        DataView::new(data.x.view(), y.view()),
    )?;
    Ok(WeightUpdates {
        weights: obs.weights,
        trajectories: obs.trajectories,
        update_ratio: obs.update_ratio,
        weight_norm: obs.weight_norm,
        step_loss: obs.step_loss,
        steps_per_epoch: history.steps_per_epoch,
        optimizer: config.optimizer,
    })
}
