//! Adam's moments during a real training run.
//!
//! For a few chosen weights W[l]_{ij}, an [`Observer`] reads after every step t the
//! gradient g = dW[l]_{ij} and the optimizer state:
//!
//! m_t = β1 m_{t−1} + (1 − β1) g,   v_t = β2 v_{t−1} + (1 − β2) g²,
//! m̂_t = m_t / (1 − β1^t),          v̂_t = v_t / (1 − β2^t),
//! update_t = α m̂_t / (√v̂_t + ε).

use super::{at_least, positive};
use ann_core::error::{AnnError, Result};
use ann_core::{
    Activation, AdamConfig, DataView, Init, Network, Observer, Optimizer, OptimizerConfig, ParamId, StepInfo,
    Task, TrainConfig, Trainer, two_moons,
};
use serde::{Deserialize, Serialize};

/// One entry W[layer]_{row, col} (layer is 1-based, as in the course).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct WeightIndex {
    /// l, 1..=L.
    pub layer: usize,
    /// i, 0..n_l.
    pub row: usize,
    /// j, 0..n_{l−1}.
    pub col: usize,
}

impl WeightIndex {
    /// W[layer]_{row, col}.
    pub fn new(layer: usize, row: usize, col: usize) -> Self {
        WeightIndex { layer, row, col }
    }

    /// "W[2]₀,₃"-style label, e.g. "W[2][0,3]".
    pub fn label(&self) -> String {
        format!("W[{}][{},{}]", self.layer, self.row, self.col)
    }

    /// Fails with [`AnnError::ShapeMismatch`] if the entry does not exist in `net`.
    pub fn check(&self, net: &Network) -> Result<()> {
        let ok = self.layer >= 1
            && net
                .layers()
                .get(self.layer - 1)
                .is_some_and(|l| self.row < l.w.nrows() && self.col < l.w.ncols());
        if ok {
            Ok(())
        } else {
            Err(AnnError::ShapeMismatch {
                context: format!("tracked weight {}", self.label()),
                expected: format!("an entry of a network with sizes {:?}", net.sizes()),
                got: format!("layer {}, row {}, column {}", self.layer, self.row, self.col),
            })
        }
    }

    /// The entry's value in `net` (None if out of range).
    pub fn get(&self, net: &Network) -> Option<f64> {
        net.layers().get(self.layer.checked_sub(1)?)?.w.get((self.row, self.col)).copied()
    }
}

/// Set-up of [`adam_moments`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdamMomentsConfig {
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
    /// α.
    pub learning_rate: f64,
    /// β1.
    pub beta1: f64,
    /// β2.
    pub beta2: f64,
    /// Examples per mini-batch.
    pub batch_size: usize,
    /// Passes over the data.
    pub epochs: usize,
    /// Seed of the batch shuffling.
    pub seed: u64,
    /// The weights whose moments are recorded.
    pub weights: Vec<WeightIndex>,
}

impl Default for AdamMomentsConfig {
    fn default() -> Self {
        AdamMomentsConfig {
            m: 256,
            noise: 0.2,
            data_seed: 1,
            sizes: vec![2, 16, 16, 1],
            init_seed: 3,
            learning_rate: 0.01,
            beta1: 0.9,
            beta2: 0.999,
            batch_size: 32,
            epochs: 25,
            seed: 7,
            weights: vec![WeightIndex::new(1, 0, 0), WeightIndex::new(2, 3, 5), WeightIndex::new(3, 0, 2)],
        }
    }
}

/// The per-step record of one weight (each vector has one entry per optimizer step).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WeightMoments {
    /// Which weight.
    pub index: WeightIndex,
    /// g_t = dW[l]_{ij} of the mini-batch.
    pub grad: Vec<f64>,
    /// m_t, the uncorrected first moment.
    pub m: Vec<f64>,
    /// v_t, the uncorrected second moment.
    pub v: Vec<f64>,
    /// m̂_t = m_t / (1 − β1^t).
    pub m_hat: Vec<f64>,
    /// v̂_t = v_t / (1 − β2^t).
    pub v_hat: Vec<f64>,
    /// The step actually taken, α m̂_t / (√v̂_t + ε) (W ← W − update).
    pub update: Vec<f64>,
    /// The weight after step t.
    pub value: Vec<f64>,
}

impl WeightMoments {
    fn new(index: WeightIndex) -> Self {
        WeightMoments {
            index,
            grad: Vec::new(),
            m: Vec::new(),
            v: Vec::new(),
            m_hat: Vec::new(),
            v_hat: Vec::new(),
            update: Vec::new(),
            value: Vec::new(),
        }
    }
}

/// Result of [`adam_moments`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdamMomentsRun {
    /// One record per tracked weight, in the order of the config.
    pub weights: Vec<WeightMoments>,
    /// The mini-batch loss J{t} of every step.
    pub step_loss: Vec<f64>,
    /// (α, β1, β2, ε).
    pub hyper: (f64, f64, f64, f64),
    /// Steps per epoch.
    pub steps_per_epoch: usize,
}

struct MomentObserver {
    records: Vec<WeightMoments>,
    step_loss: Vec<f64>,
    eps: f64,
    error: Option<AnnError>,
}

impl Observer for MomentObserver {
    fn on_step(&mut self, info: &StepInfo<'_>) {
        self.step_loss.push(info.loss);
        let OptimizerConfig::Adam(AdamConfig { beta1, beta2, .. }) = *info.optimizer.config() else {
            self.error.get_or_insert(AnnError::InvalidArchitecture("the optimizer is not Adam".into()));
            return;
        };
        // Adam's state: m is the first average, v the second.
        let state = info.optimizer.state();
        let t = state.t.min(i32::MAX as u64) as i32;
        let (c1, c2) = (1.0 - beta1.powi(t), 1.0 - beta2.powi(t));
        let lr = info.optimizer.learning_rate();
        for rec in &mut self.records {
            let ix = rec.index;
            let w = ParamId::w(ix.layer);
            let entry = |a: Option<&ndarray::Array2<f64>>| a.and_then(|a| a.get((ix.row, ix.col)).copied());
            let (m, v) = (entry(state.first(w)), entry(state.second(w)));
            let g = entry(info.gradients.dw(ix.layer));
            let (Some(mt), Some(vt), Some(g), Some(value)) = (m, v, g, ix.get(info.network)) else {
                self.error.get_or_insert(AnnError::ShapeMismatch {
                    context: format!("Adam state for {}", ix.label()),
                    expected: "an entry of every layer's moments".into(),
                    got: "missing".into(),
                });
                return;
            };
            let (mh, vh) = (mt / c1, vt / c2);
            rec.grad.push(g);
            rec.m.push(mt);
            rec.v.push(vt);
            rec.m_hat.push(mh);
            rec.v_hat.push(vh);
            rec.update.push(lr * mh / (vh.sqrt() + self.eps));
            rec.value.push(value);
        }
    }
}

/// Trains a small network on two moons with Adam and records, for every tracked weight
/// and every step, g, m, v, m̂, v̂, the update and the weight itself.
pub fn adam_moments(config: &AdamMomentsConfig) -> Result<AdamMomentsRun> {
    at_least("epochs", config.epochs, 1)?;
    positive("learning_rate", config.learning_rate)?;
    if config.weights.is_empty() {
        return Err(AnnError::EmptyInput("no weights to track".into()));
    }
    let data = two_moons(config.m, config.noise, config.data_seed)?;
    let y = data.targets(Task::Binary);
    let mut net = Network::new(&config.sizes, Activation::Relu, Task::Binary, Init::He, config.init_seed)?;
    for w in &config.weights {
        w.check(&net)?;
    }
    let eps = 1e-8;
    let mut adam = Optimizer::new(AdamConfig {
        lr: config.learning_rate,
        beta1: config.beta1,
        beta2: config.beta2,
        eps,
    })?;
    let tc = TrainConfig { batch_size: config.batch_size, seed: config.seed, ..TrainConfig::default() };
    let mut obs = MomentObserver {
        records: config.weights.iter().map(|&w| WeightMoments::new(w)).collect(),
        step_loss: Vec::new(),
        eps,
        error: None,
    };
    let history = Trainer::new(&tc, config.epochs).observer(&mut obs).fit(
        &mut net,
        &mut adam,
        DataView::new(data.x.view(), y.view()),
    )?;
    if let Some(e) = obs.error {
        return Err(e);
    }
    Ok(AdamMomentsRun {
        weights: obs.records,
        step_loss: obs.step_loss,
        hyper: (config.learning_rate, config.beta1, config.beta2, eps),
        steps_per_epoch: history.steps_per_epoch,
    })
}
