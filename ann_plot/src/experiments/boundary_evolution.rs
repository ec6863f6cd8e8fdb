//! The decision boundary forming during training.
//!
//! At chosen epochs an [`Observer`] evaluates the network on a grid over the input plane
//! and stores the class probabilities Ŷ = A[L] of every grid point (one frame per epoch),
//! for an animation of the boundary P(class) = ½ moving into place.

use super::{ToyData, at_least, bounds_2d, linspace, positive};
use ann_core::error::{AnnError, Result};
use ann_core::{
    Activation, AdamConfig, DataView, EpochInfo, Init, Network, Observer, Optimizer, OptimizerConfig,
    TrainConfig, Trainer,
};
use ndarray::Array2;
use serde::{Deserialize, Serialize};

/// Set-up of [`decision_boundary_frames`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BoundaryConfig {
    /// The data.
    pub data: ToyData,
    /// Seed of the data.
    pub data_seed: u64,
    /// Hidden layer sizes (the input size 2 and the output size are added).
    pub hidden: Vec<usize>,
    /// g of the hidden layers (He initialization for ReLU, Xavier for the others).
    pub activation: Activation,
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
    /// Epochs after which a frame is taken (0 = the initial weights); values above
    /// `epochs` are ignored.
    pub frame_epochs: Vec<usize>,
    /// Grid points per axis of the probability map.
    pub grid_points: usize,
    /// Margin around the data's bounding box.
    pub margin: f64,
}

/// The run of [`deep_training`](fn@crate::experiments::deep_training)'s default set-up on all
/// of its data: [2, 64, 64, 64, 3] ReLU + softmax on 600 points of 3 spirals, Adam
/// α = 0.005, batches of 32, 60 epochs, the same seeds; frames every 2 epochs up to 20, then
/// every 4 up to 60 (21 frames, frame 0 = the initial weights), each a 60 × 60 grid.
impl Default for BoundaryConfig {
    fn default() -> Self {
        BoundaryConfig {
            data: ToyData::Spirals { m: 600, k: 3, noise: 0.2 },
            data_seed: 2,
            hidden: vec![64, 64, 64],
            activation: Activation::Relu,
            init_seed: 4,
            optimizer: OptimizerConfig::Adam(AdamConfig { lr: 0.005, ..AdamConfig::default() }),
            batch_size: 32,
            epochs: 60,
            seed: 9,
            // Dense while the boundary moves fast, sparser later.
            frame_epochs: (0..=20).step_by(2).chain((24..=60).step_by(4)).collect(),
            grid_points: 60,
            margin: 0.25,
        }
    }
}

/// The model's view of the plane after `epoch` epochs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BoundaryFrame {
    /// Completed epochs (0 = initial weights).
    pub epoch: usize,
    /// `probs[c][[j, i]]` = P(class c | (xs[i], ys[j])); for a binary task [1 − p, p].
    pub probs: Vec<Array2<f64>>,
    /// J on the training set.
    pub loss: f64,
    /// Training accuracy.
    pub accuracy: f64,
    /// A copy of the network at this epoch (to re-evaluate it at any resolution).
    pub network: Network,
}

/// Result of [`decision_boundary_frames`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BoundaryRun {
    /// Grid positions along x₁.
    pub xs: Vec<f64>,
    /// Grid positions along x₂.
    pub ys: Vec<f64>,
    /// The training inputs X (2, m).
    pub x: Array2<f64>,
    /// The class of each column of X.
    pub labels: Vec<usize>,
    /// Layer sizes [2, ..., n_L] of the network.
    pub sizes: Vec<usize>,
    /// The optimizer used.
    pub optimizer: OptimizerConfig,
    /// Number of classes k.
    pub n_classes: usize,
    /// One frame per requested epoch, in increasing epoch order.
    pub frames: Vec<BoundaryFrame>,
}

/// Class probabilities of `net` on the grid xs × ys in one forward pass:
/// `result[c][[j, i]]` = P(class c | (xs[i], ys[j])); a single sigmoid output p becomes
/// [1 − p, p].
pub fn probability_map(net: &Network, xs: &[f64], ys: &[f64]) -> Result<Vec<Array2<f64>>> {
    if xs.is_empty() || ys.is_empty() {
        return Err(AnnError::EmptyInput("probability map grid".into()));
    }
    let (nx, ny) = (xs.len(), ys.len());
    let a = net.predict_proba(crate::grid::plane_batch(xs, ys).view())?;
    let to_map = |row: usize| Array2::from_shape_fn((ny, nx), |(j, i)| a[[row, j * nx + i]]);
    Ok(if a.nrows() == 1 {
        let p = to_map(0);
        vec![p.mapv(|v| 1.0 - v), p]
    } else {
        (0..a.nrows()).map(to_map).collect()
    })
}

struct FrameObserver<'a> {
    epochs: Vec<usize>,
    xs: &'a [f64],
    ys: &'a [f64],
    train: DataView<'a>,
    frames: Vec<BoundaryFrame>,
    error: Option<AnnError>,
}

impl FrameObserver<'_> {
    fn snapshot(&mut self, net: &Network, epoch: usize) {
        if self.error.is_some() {
            return;
        }
        let result = probability_map(net, self.xs, self.ys).and_then(|probs| {
            let (loss, acc) = ann_core::evaluate(net, self.train, 0.0)?;
            Ok(BoundaryFrame { epoch, probs, loss, accuracy: acc.unwrap_or(f64::NAN), network: net.clone() })
        });
        match result {
            Ok(frame) => self.frames.push(frame),
            Err(e) => self.error = Some(e),
        }
    }
}

impl Observer for FrameObserver<'_> {
    fn on_epoch_end(&mut self, info: &EpochInfo<'_>) {
        let done = info.epoch + 1;
        if self.epochs.binary_search(&done).is_ok() {
            self.snapshot(info.network, done);
        }
    }
}

/// Trains a network and stores the probability map at every requested epoch.
pub fn decision_boundary_frames(config: &BoundaryConfig) -> Result<BoundaryRun> {
    at_least("epochs", config.epochs, 1)?;
    at_least("grid_points", config.grid_points, 2)?;
    if !(config.margin.is_finite() && config.margin >= 0.0) {
        return Err(ann_core::error::bad_hyper("margin", config.margin, "must be finite and >= 0"));
    }
    let (data, task) = config.data.generate(config.data_seed)?;
    let y = data.targets(task);
    let mut sizes = vec![2];
    sizes.extend_from_slice(&config.hidden);
    sizes.push(y.nrows());
    let init = if config.activation == Activation::Relu { Init::He } else { Init::Xavier };
    let mut net = Network::new(&sizes, config.activation, task, init, config.init_seed)?;
    let ((x0, x1), (y0, y1)) = bounds_2d(data.x.view(), config.margin)?;
    // A degenerate box (all points on a line) still gets a usable grid.
    let pad = |lo: f64, hi: f64| if hi - lo > 1e-9 { (lo, hi) } else { (lo - 1.0, hi + 1.0) };
    let ((x0, x1), (y0, y1)) = (pad(x0, x1), pad(y0, y1));
    positive("grid width", x1 - x0)?;
    let xs = linspace(x0, x1, config.grid_points)?;
    let ys = linspace(y0, y1, config.grid_points)?;
    let mut epochs: Vec<usize> =
        config.frame_epochs.iter().copied().filter(|&e| e <= config.epochs).collect();
    epochs.sort_unstable();
    epochs.dedup();
    if epochs.is_empty() {
        return Err(AnnError::EmptyInput(format!("no frame epoch lies in 0..={}", config.epochs)));
    }
    let train = DataView::new(data.x.view(), y.view());
    let mut obs = FrameObserver { epochs, xs: &xs, ys: &ys, train, frames: Vec::new(), error: None };
    if obs.epochs.first() == Some(&0) {
        obs.snapshot(&net, 0);
    }
    let mut opt = Optimizer::new(config.optimizer)?;
    let tc = TrainConfig { batch_size: config.batch_size, seed: config.seed, ..TrainConfig::default() };
    Trainer::new(&tc, config.epochs).observer(&mut obs).fit(&mut net, &mut opt, train)?;
    if let Some(e) = obs.error {
        return Err(e);
    }
    let frames = obs.frames;
    Ok(BoundaryRun {
        xs,
        ys,
        x: data.x.clone(),
        labels: data.labels.clone(),
        sizes,
        optimizer: config.optimizer,
        n_classes: data.n_classes,
        frames,
    })
}
