//! Batch vs mini-batch vs stochastic gradient descent.
//!
//! The same data, network, initial weights and learning rate, trained with plain SGD
//! (θ ← θ − α dθ) where dθ comes from a batch of `batch_size` columns:
//! batch_size = m is batch gradient descent, 1 is stochastic gradient descent.
//!
//! [`minibatch_curves`] records the losses of a small network on two moons;
//! [`minibatch_paths`] follows the two parameters (w, b) of a 1-unit linear model
//! ŷ = w x + b over the contour of its real loss J(w, b) = (1/2m) Σ (w x + b − y)².

use super::{Grid2D, at_least, linspace, positive};
use ann_core::error::{AnnError, Result, bad_hyper};
use ann_core::{
    Activation, DataView, Init, Layer, Loss, Network, Observer, Optimizer, StepInfo, Task, TrainConfig,
    Trainer, evaluate, two_moons,
};
use ndarray::{Array2, ArrayView2, array};
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

/// Set-up of [`minibatch_curves`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MiniBatchCurvesConfig {
    /// Number of two-moons examples m.
    pub m: usize,
    /// Noise of the moons.
    pub noise: f64,
    /// Seed of the data.
    pub data_seed: u64,
    /// Layer sizes [2, ..., 1] (ReLU hidden layers, sigmoid output, He init).
    pub sizes: Vec<usize>,
    /// Seed of the initial weights (the same for every batch size).
    pub init_seed: u64,
    /// The batch sizes to compare; m means batch gradient descent, 1 stochastic.
    pub batch_sizes: Vec<usize>,
    /// α of plain SGD (the same for every batch size).
    pub learning_rate: f64,
    /// Passes over the data (every run sees the same number of examples).
    pub epochs: usize,
    /// Seed of the batch shuffling.
    pub seed: u64,
}

impl Default for MiniBatchCurvesConfig {
    fn default() -> Self {
        MiniBatchCurvesConfig {
            m: 256,
            noise: 0.2,
            data_seed: 1,
            sizes: vec![2, 16, 16, 1],
            init_seed: 3,
            batch_sizes: vec![256, 32, 1],
            learning_rate: 0.1,
            epochs: 10,
            seed: 7,
        }
    }
}

/// The losses of one batch size.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchCurve {
    /// Examples per batch.
    pub batch_size: usize,
    /// "batch GD (b = 256)", "mini-batch (b = 32)" or "stochastic (b = 1)".
    pub label: String,
    /// J{t} of the mini-batch used at step t (what the optimizer saw; noisy for small b).
    pub step_loss: Vec<f64>,
    /// J on the whole training set after step t (the true progress).
    pub full_loss: Vec<f64>,
    /// Optimizer steps per epoch, ⌈m / b⌉.
    pub steps_per_epoch: usize,
    /// J on the training set at the initial weights (the same for every batch size).
    pub initial_loss: f64,
}

impl BatchCurve {
    /// The epoch (fractional) reached after each step: (t + 1) / steps_per_epoch.
    pub fn epochs_axis(&self) -> Vec<f64> {
        let s = self.steps_per_epoch.max(1) as f64;
        (1..=self.full_loss.len()).map(|t| t as f64 / s).collect()
    }
}

/// Result of [`minibatch_curves`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MiniBatchCurves {
    /// One curve per batch size, in the order of the config.
    pub curves: Vec<BatchCurve>,
    /// Number of training examples m.
    pub m: usize,
    /// α.
    pub learning_rate: f64,
}

/// Describes a batch size relative to m.
fn batch_label(b: usize, m: usize) -> String {
    if b >= m {
        format!("batch GD (b = m = {m})")
    } else if b == 1 {
        "stochastic GD (b = 1)".to_string()
    } else {
        format!("mini-batch GD (b = {b})")
    }
}

/// Records J{t} and the full-training-set loss after every step.
struct FullLoss<'a> {
    data: DataView<'a>,
    step_loss: Vec<f64>,
    full_loss: Vec<f64>,
    limit: usize,
    error: Option<AnnError>,
}

impl Observer for FullLoss<'_> {
    fn on_step(&mut self, info: &StepInfo<'_>) {
        if self.step_loss.len() >= self.limit || self.error.is_some() {
            return;
        }
        self.step_loss.push(info.loss);
        match evaluate(info.network, self.data, 0.0) {
            Ok((loss, _)) => self.full_loss.push(loss),
            Err(e) => self.error = Some(e),
        }
    }
}

fn check_batch_sizes(batch_sizes: &[usize]) -> Result<()> {
    if batch_sizes.is_empty() {
        return Err(AnnError::EmptyInput("no batch sizes to compare".into()));
    }
    if batch_sizes.contains(&0) {
        return Err(bad_hyper("batch_size", 0, "must be at least 1"));
    }
    Ok(())
}

/// Trains the same network (same initial weights, data and α) once per batch size with
/// plain SGD and records, after every step t, the mini-batch loss J{t} and the loss on the
/// whole training set.
pub fn minibatch_curves(config: &MiniBatchCurvesConfig) -> Result<MiniBatchCurves> {
    check_batch_sizes(&config.batch_sizes)?;
    at_least("epochs", config.epochs, 1)?;
    let data = two_moons(config.m, config.noise, config.data_seed)?;
    let y = data.targets(Task::Binary);
    let train = DataView::new(data.x.view(), y.view());
    let net0 = Network::new(&config.sizes, Activation::Relu, Task::Binary, Init::He, config.init_seed)?;
    let (initial_loss, _) = evaluate(&net0, train, 0.0)?;
    let mut curves = Vec::with_capacity(config.batch_sizes.len());
    for &b in &config.batch_sizes {
        let mut net = net0.clone();
        let mut sgd = Optimizer::sgd(config.learning_rate)?;
        let tc = TrainConfig { batch_size: b, seed: config.seed, ..TrainConfig::default() };
        let mut rec = FullLoss {
            data: train,
            step_loss: Vec::new(),
            full_loss: Vec::new(),
            limit: usize::MAX,
            error: None,
        };
        let history = Trainer::new(&tc, config.epochs).observer(&mut rec).fit(&mut net, &mut sgd, train)?;
        if let Some(e) = rec.error {
            return Err(e);
        }
        curves.push(BatchCurve {
            batch_size: b,
            label: batch_label(b, config.m),
            step_loss: rec.step_loss,
            full_loss: rec.full_loss,
            steps_per_epoch: history.steps_per_epoch,
            initial_loss,
        });
    }
    Ok(MiniBatchCurves { curves, m: config.m, learning_rate: config.learning_rate })
}

/// A 1-D linear regression problem: x ~ U(x_min, x_max), y = w_true x + b_true + N(0, noise²).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LinearProblem {
    /// Number of examples m.
    pub m: usize,
    /// The slope used to generate y.
    pub w_true: f64,
    /// The intercept used to generate y.
    pub b_true: f64,
    /// Standard deviation of the noise on y.
    pub noise: f64,
    /// Smallest x.
    pub x_min: f64,
    /// Largest x (x is not centred, so w and b are correlated and the loss bowl is tilted).
    pub x_max: f64,
    /// Seed of the data.
    pub seed: u64,
}

impl Default for LinearProblem {
    fn default() -> Self {
        LinearProblem { m: 64, w_true: 2.0, b_true: 1.0, noise: 0.5, x_min: -1.0, x_max: 3.0, seed: 5 }
    }
}

impl LinearProblem {
    /// X (1, m) and Y (1, m).
    pub fn generate(&self) -> Result<(Array2<f64>, Array2<f64>)> {
        at_least("m", self.m, 2)?;
        if !(self.x_min.is_finite() && self.x_max.is_finite() && self.x_min < self.x_max) {
            return Err(bad_hyper(
                "x range",
                format!("[{}, {}]", self.x_min, self.x_max),
                "need x_min < x_max",
            ));
        }
        if !(self.noise.is_finite() && self.noise >= 0.0) {
            return Err(bad_hyper("noise", self.noise, "must be finite and >= 0"));
        }
        if !(self.w_true.is_finite() && self.b_true.is_finite()) {
            return Err(bad_hyper(
                "w_true/b_true",
                format!("{}/{}", self.w_true, self.b_true),
                "must be finite",
            ));
        }
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        let x = Array2::from_shape_simple_fn((1, self.m), || rng.random_range(self.x_min..self.x_max));
        let y = x.mapv(|v| {
            let g: f64 = StandardNormal.sample(&mut rng);
            self.w_true * v + self.b_true + self.noise * g
        });
        Ok((x, y))
    }
}

/// The 1-unit linear network ŷ = w x + b with MSE loss J = (1/2m) Σ (ŷ − y)².
fn linear_unit(w: f64, b: f64) -> Result<Network> {
    Network::from_layers(
        vec![Layer::new(array![[w]], array![[b]], Activation::Linear)],
        Loss::MeanSquaredError,
    )
}

/// J(w, b) of the linear unit on (X, Y), computed by the network's own forward pass and loss.
fn linear_loss(x: ArrayView2<f64>, y: ArrayView2<f64>, w: f64, b: f64) -> Result<f64> {
    Ok(evaluate(&linear_unit(w, b)?, DataView::new(x, y), 0.0)?.0)
}

/// Set-up of [`minibatch_paths`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MiniBatchPathsConfig {
    /// The regression data.
    pub problem: LinearProblem,
    /// The initial (w, b).
    pub start: (f64, f64),
    /// Batch sizes to compare (m = batch GD, 1 = stochastic).
    pub batch_sizes: Vec<usize>,
    /// α of plain SGD.
    pub learning_rate: f64,
    /// Optimizer steps recorded per batch size (the same for all, so the paths are
    /// compared step for step).
    pub steps: usize,
    /// Seed of the batch shuffling.
    pub seed: u64,
    /// Contour grid: range of w.
    pub w_range: (f64, f64),
    /// Contour grid: range of b.
    pub b_range: (f64, f64),
    /// Grid points per axis.
    pub grid_points: usize,
}

impl Default for MiniBatchPathsConfig {
    fn default() -> Self {
        MiniBatchPathsConfig {
            problem: LinearProblem::default(),
            start: (-1.0, -2.5),
            batch_sizes: vec![64, 8, 1],
            learning_rate: 0.1,
            steps: 60,
            seed: 11,
            w_range: (-2.0, 4.0),
            b_range: (-3.5, 4.0),
            grid_points: 80,
        }
    }
}

/// The path of (w, b) for one batch size.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchPath {
    /// Examples per batch.
    pub batch_size: usize,
    /// Legend text.
    pub label: String,
    /// (w, b) at the start and after every step (steps + 1 points).
    pub points: Vec<(f64, f64)>,
    /// J(w, b) on the whole training set at every point.
    pub loss: Vec<f64>,
}

/// Result of [`minibatch_paths`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MiniBatchPaths {
    /// J(w, b) on the grid (xs = w, ys = b).
    pub contour: Grid2D,
    /// One path per batch size.
    pub paths: Vec<BatchPath>,
    /// The least-squares optimum (w*, b*, J*) from the normal equations.
    pub optimum: (f64, f64, f64),
    /// Inputs X (1, m).
    pub x: Array2<f64>,
    /// Targets Y (1, m).
    pub y: Array2<f64>,
}

/// Records the (only) weight and bias after each step.
struct ParamTrace {
    points: Vec<(f64, f64)>,
    limit: usize,
}

impl Observer for ParamTrace {
    fn on_step(&mut self, info: &StepInfo<'_>) {
        if self.points.len() < self.limit {
            let l = &info.network.layers()[0];
            self.points.push((l.w[[0, 0]], l.b[[0, 0]]));
        }
    }
}

/// Runs plain SGD on the 1-unit linear model from the same start with each batch size,
/// recording (w, b) after every step, and samples the real loss J(w, b) on a grid.
pub fn minibatch_paths(config: &MiniBatchPathsConfig) -> Result<MiniBatchPaths> {
    check_batch_sizes(&config.batch_sizes)?;
    at_least("steps", config.steps, 1)?;
    at_least("grid_points", config.grid_points, 2)?;
    positive("learning_rate", config.learning_rate)?;
    let (x, y) = config.problem.generate()?;
    let m = x.ncols();
    let (w0, b0) = config.start;
    let start_net = linear_unit(w0, b0)?;
    let train = DataView::new(x.view(), y.view());
    let mut paths = Vec::with_capacity(config.batch_sizes.len());
    for &bs in &config.batch_sizes {
        let per_epoch = m.div_ceil(bs);
        let epochs = config.steps.div_ceil(per_epoch);
        let mut net = start_net.clone();
        let mut sgd = Optimizer::sgd(config.learning_rate)?;
        let tc = TrainConfig { batch_size: bs, seed: config.seed, ..TrainConfig::default() };
        let mut trace = ParamTrace { points: vec![(w0, b0)], limit: config.steps + 1 };
        Trainer::new(&tc, epochs).observer(&mut trace).fit(&mut net, &mut sgd, train)?;
        let loss = trace
            .points
            .iter()
            .map(|&(w, b)| linear_loss(x.view(), y.view(), w, b))
            .collect::<Result<_>>()?;
        paths.push(BatchPath { batch_size: bs, label: batch_label(bs, m), points: trace.points, loss });
    }
    let ws = linspace(config.w_range.0, config.w_range.1, config.grid_points)?;
    let bs = linspace(config.b_range.0, config.b_range.1, config.grid_points)?;
    let contour = Grid2D::sample(ws, bs, |w, b| linear_loss(x.view(), y.view(), w, b))?;
    // Normal equations for ŷ = w x + b: w* = cov(x, y) / var(x), b* = ȳ − w* x̄.
    let mf = m as f64;
    let (mx, my) = (x.sum() / mf, y.sum() / mf);
    let sxx: f64 = x.iter().map(|v| (v - mx) * (v - mx)).sum();
    let sxy: f64 = x.iter().zip(y.iter()).map(|(a, b)| (a - mx) * (b - my)).sum();
    if sxx <= 0.0 {
        return Err(AnnError::InvalidLabels("all x are equal: the least-squares slope is undefined".into()));
    }
    let w_star = sxy / sxx;
    let b_star = my - w_star * mx;
    let j_star = linear_loss(x.view(), y.view(), w_star, b_star)?;
    Ok(MiniBatchPaths { contour, paths, optimum: (w_star, b_star, j_star), x, y })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_loss_matches_the_formula() {
        let x = array![[0.0, 1.0, 2.0]];
        let y = array![[1.0, 3.0, 4.0]];
        // (1/2m) Σ (2x + 1 − y)² = (0 + 0 + 1) / 6
        let j = linear_loss(x.view(), y.view(), 2.0, 1.0).unwrap();
        assert!((j - 1.0 / 6.0).abs() < 1e-15);
    }
}
