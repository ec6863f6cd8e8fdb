//! The names a notebook cell or a small program needs, in one line:
//!
//! ```
//! use ann_core::prelude::*;
//! let data = two_moons(200, 0.2, 1)?;
//! let y = data.targets(Task::Binary);
//! let mut net = Network::new(&[2, 8, 1], Activation::Relu, Task::Binary, Init::He, 1)?;
//! let config = TrainConfig { batch_size: 32, ..TrainConfig::default() };
//! let history = fit(&mut net, &mut Optimizer::adam(0.01)?, (&data.x, &y), &config, 5)?;
//! assert_eq!(history.epochs(), 5);
//! # Ok::<(), AnnError>(())
//! ```
//!
//! It leaves out `Result` (which would hide the standard one) and every file-format
//! constant; everything else is at the crate root or in its module.

pub use crate::activation::Activation;
pub use crate::batch::{gather_columns, shuffled_batches};
pub use crate::config::{EarlyStopping, TrainConfig};
pub use crate::conv::{Conv2dConfig, Image, LayerSpec};
pub use crate::data::{
    DataView, Dataset, blobs, circles, digits, noisy_sine, spirals, train_test_split, two_moons, xor,
};
pub use crate::dropout::Dropout;
pub use crate::error::AnnError;
pub use crate::evaluate::evaluate;
pub use crate::gradients::Gradients;
pub use crate::history::History;
pub use crate::init::Init;
pub use crate::l2::L2;
pub use crate::layer::Layer;
pub use crate::loss::Loss;
pub use crate::lr_range_test::{LrRange, LrRangeTest};
pub use crate::network::{Network, Task};
pub use crate::normalization::{BatchNormConfig, LayerNormConfig, NormalizationConfig};
pub use crate::optim::Optimizer;
pub use crate::param::ParamId;
pub use crate::precision::Precision;
pub use crate::scaler::StandardScaler;
pub use crate::schedule::LrSchedule;
pub use crate::search::{Hyperparameters, LogUniform, RandomSearch, SearchSpace, Trial, best_trial};
pub use crate::train::{Progress, Trainer, fit};
