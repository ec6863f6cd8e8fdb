//! Training a typical deep network: a ReLU MLP with a softmax output on k
//! interleaved spirals, with a stratified validation split. The curves are J and accuracy
//! on the training and validation sets after every epoch, plus the mini-batch loss J{t}.

use super::at_least;
use ann_core::error::Result;
use ann_core::{
    Activation, AdamConfig, DataView, Dropout, History, Init, Network, Optimizer, OptimizerConfig, Task,
    TrainConfig, Trainer, spirals, train_test_split,
};
use serde::{Deserialize, Serialize};

/// Set-up of [`deep_training`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeepTrainingConfig {
    /// Number of spiral examples (before the split).
    pub m: usize,
    /// Number of spiral arms = classes k.
    pub k: usize,
    /// Angular noise of the spirals.
    pub noise: f64,
    /// Seed of the data and of the split.
    pub data_seed: u64,
    /// Share of the examples held out for validation.
    pub validation_fraction: f64,
    /// Layer sizes [2, ..., k] (ReLU hidden layers, softmax output, He init).
    pub sizes: Vec<usize>,
    /// Seed of the initial weights.
    pub init_seed: u64,
    /// The optimizer.
    pub optimizer: OptimizerConfig,
    /// Examples per mini-batch.
    pub batch_size: usize,
    /// Passes over the training set.
    pub epochs: usize,
    /// L2 strength λ.
    pub l2: f64,
    /// Seed of the batch order.
    pub seed: u64,
}

impl Default for DeepTrainingConfig {
    fn default() -> Self {
        DeepTrainingConfig {
            m: 600,
            k: 3,
            noise: 0.2,
            data_seed: 2,
            validation_fraction: 0.25,
            sizes: vec![2, 64, 64, 64, 3],
            init_seed: 4,
            optimizer: OptimizerConfig::Adam(AdamConfig { lr: 0.005, ..AdamConfig::default() }),
            batch_size: 32,
            epochs: 60,
            l2: 0.0,
            seed: 9,
        }
    }
}

/// Result of [`deep_training`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeepTrainingRun {
    /// Everything `fit` recorded (train/validation loss and accuracy per epoch, J{t}, ...).
    pub history: History,
    /// The architecture [n_0, ..., n_L].
    pub sizes: Vec<usize>,
    /// Number of trainable parameters.
    pub num_params: usize,
    /// Training / validation set sizes.
    pub split: (usize, usize),
    /// The optimizer used.
    pub optimizer: OptimizerConfig,
}

/// Trains the deep ReLU network on spirals with a validation split and returns the history.
pub fn deep_training(config: &DeepTrainingConfig) -> Result<DeepTrainingRun> {
    at_least("epochs", config.epochs, 1)?;
    let data = spirals(config.m, config.k, config.noise, config.data_seed)?;
    let (train, val) = train_test_split(&data, config.validation_fraction, config.data_seed)?;
    let (ytr, yva) = (train.targets(Task::MultiClass), val.targets(Task::MultiClass));
    let mut net =
        Network::new(&config.sizes, Activation::Relu, Task::MultiClass, Init::He, config.init_seed)?;
    let mut opt = Optimizer::new(config.optimizer)?;
    let tc = TrainConfig {
        batch_size: config.batch_size,
        dropout: Dropout::Hidden(1.0),
        l2: config.l2,
        seed: config.seed,
        ..TrainConfig::default()
    };
    let history = Trainer::new(&tc, config.epochs).validation(DataView::new(val.x.view(), yva.view())).fit(
        &mut net,
        &mut opt,
        DataView::new(train.x.view(), ytr.view()),
    )?;
    Ok(DeepTrainingRun {
        history,
        sizes: net.sizes(),
        num_params: net.num_params(),
        split: (train.len(), val.len()),
        optimizer: config.optimizer,
    })
}
