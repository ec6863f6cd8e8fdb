//! Small, seeded experiments behind the course's figures (gradient flow, optimizer paths,
//! learning-rate sweeps, ...): each returns plain data that a plot function draws.
//!
//! Every experiment takes a config struct with a `Default` sized to run well under a
//! second in release builds (so notebook cells stay fast); scale the fields up for
//! smoother pictures. The same config gives bit-identical results on every run: all
//! randomness comes from ChaCha8 generators seeded by the config.
//!
//! | what it shows | module | figures |
//! |---|---|---|
//! | batch vs mini-batch vs stochastic gradient descent | [`minibatch`] | [`batch_size_curves`](fn@crate::batch_size_curves), [`batch_size_paths`](fn@crate::batch_size_paths) |
//! | Adam's moments during training | [`adam_moments`](mod@adam_moments) | [`adam_moment_traces`](fn@crate::adam_moment_traces) |
//! | the optimizers compared | [`optimizers`] | [`optimizer_loss_curves`](fn@crate::optimizer_loss_curves), [`optimizer_trajectories`](fn@crate::optimizer_trajectories) |
//! | the effect of the learning rate | [`learning_rate`] | [`learning_rate_curves`](fn@crate::learning_rate_curves) |
//! | gradient flow through a deep network | [`gradient_flow`](mod@gradient_flow) | [`gradient_norms`](fn@crate::gradient_norms) |
//! | training a deep network | [`deep_training`](mod@deep_training) | [`deep_training_curves`](fn@crate::deep_training_curves) |
//! | the loss surface around trained weights | [`loss_surface`](mod@loss_surface) | [`loss_landscape`](fn@crate::loss_landscape) |
//! | weights and their updates | [`weight_updates`](mod@weight_updates) | [`weight_update_traces`](fn@crate::weight_update_traces) |
//! | the health of every layer during a real run | [`health`] | [`network_health`](fn@crate::network_health) |
//! | the decision boundary over training | [`boundary_evolution`](mod@boundary_evolution) | [`boundary_evolution`](fn@crate::boundary_evolution), [`boundary_frame`](fn@crate::boundary_frame), [`save_boundary_gif`](fn@crate::save_boundary_gif) |

pub mod adam_moments;
pub mod boundary_evolution;
pub mod deep_training;
pub mod gradient_flow;
pub mod health;
pub mod learning_rate;
pub mod loss_surface;
pub mod minibatch;
pub mod optimizers;
pub mod weight_updates;

pub use adam_moments::{AdamMomentsConfig, AdamMomentsRun, WeightIndex, WeightMoments, adam_moments};
pub use boundary_evolution::{
    BoundaryConfig, BoundaryFrame, BoundaryRun, decision_boundary_frames, probability_map,
};
pub use deep_training::{DeepTrainingConfig, DeepTrainingRun, deep_training};
pub use gradient_flow::{FlowCase, GradientFlow, GradientFlowConfig, GradientFlowRun, gradient_flow};
pub use health::{FlatRegion, HealthRecorder, LayerHealth, NetworkHealth};
pub use learning_rate::{LrCurve, LrProblem, LrSweep, LrSweepConfig, learning_rate_sweep};
pub use loss_surface::{LossSurface, LossSurfaceConfig, loss_surface, loss_surface_demo};
pub use minibatch::{
    BatchCurve, BatchPath, LinearProblem, MiniBatchCurves, MiniBatchCurvesConfig, MiniBatchPaths,
    MiniBatchPathsConfig, minibatch_curves, minibatch_paths,
};
pub use optimizers::{
    OptimizerCurve, OptimizerCurves, OptimizerCurvesConfig, OptimizerPath, OptimizerPaths,
    OptimizerPathsConfig, TestSurface, optimizer_curves, optimizer_paths,
};
pub use weight_updates::{WeightUpdates, WeightUpdatesConfig, weight_updates};

use ann_core::error::{AnnError, Result, bad_hyper};
use ann_core::{
    DataView, Dataset, EpochInfo, History, Network, Observer, Optimizer, StepInfo, Task, TrainConfig,
    Trainer, spirals, two_moons,
};
use ndarray::{Array2, ArrayView2};
use serde::{Deserialize, Serialize};

/// n evenly spaced values from `start` to `end` (both included):
/// x_i = start + i (end − start) / (n − 1), i = 0..n.
pub fn linspace(start: f64, end: f64, n: usize) -> Result<Vec<f64>> {
    if n < 2 {
        return Err(bad_hyper("grid points", n, "need at least 2"));
    }
    if !(start.is_finite() && end.is_finite() && start < end) {
        return Err(bad_hyper("grid range", format!("[{start}, {end}]"), "must be finite with start < end"));
    }
    let step = (end - start) / (n - 1) as f64;
    Ok((0..n).map(|i| if i + 1 == n { end } else { start + step * i as f64 }).collect())
}

/// A scalar function sampled on a rectangular grid: `values[[j, i]] = f(xs[i], ys[j])`
/// (rows follow y, columns follow x, like an image with y going up).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Grid2D {
    /// Sample positions along the horizontal axis.
    pub xs: Vec<f64>,
    /// Sample positions along the vertical axis.
    pub ys: Vec<f64>,
    /// f at every grid point, shape (ys.len(), xs.len()).
    pub values: Array2<f64>,
}

impl Grid2D {
    /// Samples `f(x, y)` at every point of `xs` × `ys`; the first error stops the sampling.
    pub fn sample(xs: Vec<f64>, ys: Vec<f64>, mut f: impl FnMut(f64, f64) -> Result<f64>) -> Result<Self> {
        if xs.is_empty() || ys.is_empty() {
            return Err(AnnError::EmptyInput("a grid needs at least one x and one y".into()));
        }
        let mut values = Array2::zeros((ys.len(), xs.len()));
        for (j, &y) in ys.iter().enumerate() {
            for (i, &x) in xs.iter().enumerate() {
                values[[j, i]] = f(x, y)?;
            }
        }
        Ok(Grid2D { xs, ys, values })
    }

    /// (min, max) of the finite values, or None if no value is finite.
    pub fn finite_range(&self) -> Option<(f64, f64)> {
        crate::range::finite_range(self.values.iter().copied())
    }

    /// The grid point with the smallest finite value: (x, y, f(x, y)).
    pub fn argmin(&self) -> Option<(f64, f64, f64)> {
        let mut best: Option<(f64, f64, f64)> = None;
        for ((j, i), &v) in self.values.indexed_iter() {
            if v.is_finite() && best.is_none_or(|b| v < b.2) {
                best = Some((self.xs[i], self.ys[j], v));
            }
        }
        best
    }
}

/// A 2-D toy classification set: the data set and the task (output layer and loss) it
/// implies.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum ToyData {
    /// Two moons (binary task: sigmoid output, binary cross-entropy).
    Moons {
        /// Number of examples.
        m: usize,
        /// Noise.
        noise: f64,
    },
    /// k spirals (softmax output, cross-entropy).
    Spirals {
        /// Number of examples.
        m: usize,
        /// Number of arms = classes.
        k: usize,
        /// Angular noise.
        noise: f64,
    },
}

impl ToyData {
    /// The data set drawn with `seed`, and its task.
    pub fn generate(&self, seed: u64) -> Result<(Dataset, Task)> {
        Ok(match *self {
            ToyData::Moons { m, noise } => (two_moons(m, noise, seed)?, Task::Binary),
            ToyData::Spirals { m, k, noise } => (spirals(m, k, noise, seed)?, Task::MultiClass),
        })
    }

    /// Short description for titles, e.g. "3 spirals (m = 300)".
    pub fn describe(&self) -> String {
        match *self {
            ToyData::Moons { m, .. } => format!("two moons (m = {m})"),
            ToyData::Spirals { m, k, .. } => format!("{k} spirals (m = {m})"),
        }
    }

    /// Layer sizes [2, hidden..., n_L] for this data's task.
    pub fn sizes(&self, hidden: &[usize]) -> Vec<usize> {
        let out = match *self {
            ToyData::Moons { .. } => 1,
            ToyData::Spirals { k, .. } => k,
        };
        std::iter::once(2).chain(hidden.iter().copied()).chain(std::iter::once(out)).collect()
    }
}

/// An [`Observer`] that keeps the mini-batch loss J{t} of every step and the training
/// loss of every finished epoch — all that survives of a run that ends in
/// [`AnnError::Diverged`], since `fit` then returns no `History`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LossRecorder {
    /// J{t} of each optimizer step, in order.
    pub step_loss: Vec<f64>,
    /// J on the training set after each completed epoch.
    pub epoch_loss: Vec<f64>,
}

impl Observer for LossRecorder {
    fn on_step(&mut self, info: &StepInfo<'_>) {
        self.step_loss.push(info.loss);
    }
    fn on_epoch_end(&mut self, info: &EpochInfo<'_>) {
        if let Some(&l) = info.history.train_loss.last() {
            self.epoch_loss.push(l);
        }
    }
}

/// Where a run stopped because the loss (or a gradient) stopped being finite — the fields
/// of [`AnnError::Diverged`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Divergence {
    /// Epoch (0-based) in which it happened.
    pub epoch: usize,
    /// Global optimizer step (0-based) at which it happened.
    pub step: usize,
    /// The offending loss (may be finite if a gradient overflowed first).
    pub loss: f64,
}

/// A run of `fit` that may have diverged: what the observer saw either way.
pub(crate) struct Recorded {
    pub history: Option<History>,
    pub losses: LossRecorder,
    pub diverged: Option<Divergence>,
}

/// `fit` for `epochs` epochs with a [`LossRecorder`]; [`AnnError::Diverged`] becomes a
/// [`Divergence`] record instead of an error (every other error is returned).
pub(crate) fn fit_recorded(
    net: &mut Network,
    optimizer: &mut Optimizer,
    train: DataView<'_>,
    config: &TrainConfig,
    epochs: usize,
) -> Result<Recorded> {
    let mut losses = LossRecorder::default();
    match Trainer::new(config, epochs).observer(&mut losses).fit(net, optimizer, train) {
        Ok(history) => Ok(Recorded { history: Some(history), losses, diverged: None }),
        Err(AnnError::Diverged { epoch, step, loss }) => {
            Ok(Recorded { history: None, losses, diverged: Some(Divergence { epoch, step, loss }) })
        }
        Err(e) => Err(e),
    }
}

/// Checks a count that must be at least `min`.
pub(crate) fn at_least(name: &str, value: usize, min: usize) -> Result<()> {
    if value < min { Err(bad_hyper(name, value, &format!("must be at least {min}"))) } else { Ok(()) }
}

/// Checks a float that must be finite and > 0.
pub(crate) fn positive(name: &str, value: f64) -> Result<()> {
    if value.is_finite() && value > 0.0 {
        Ok(())
    } else {
        Err(bad_hyper(name, value, "must be finite and > 0"))
    }
}

/// The bounding box of the columns of X (2, m), widened by `margin` on each side:
/// ((x_min, x_max), (y_min, y_max)).
pub(crate) fn bounds_2d(x: ArrayView2<f64>, margin: f64) -> Result<((f64, f64), (f64, f64))> {
    if x.nrows() != 2 || x.ncols() == 0 {
        return Err(AnnError::ShapeMismatch {
            context: "2-D inputs for a grid over the input plane".into(),
            expected: "(2, m) with m ≥ 1".into(),
            got: ann_core::error::shape_str(x.shape()),
        });
    }
    let range = |r: usize| {
        x.row(r).iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| (lo.min(v), hi.max(v)))
    };
    let ((x0, x1), (y0, y1)) = (range(0), range(1));
    Ok(((x0 - margin, x1 + margin), (y0 - margin, y1 + margin)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linspace_hits_both_ends() {
        let v = linspace(-1.0, 1.0, 5).unwrap();
        assert_eq!(v, vec![-1.0, -0.5, 0.0, 0.5, 1.0]);
        assert!(linspace(0.0, 1.0, 1).is_err());
        assert!(linspace(1.0, 0.0, 3).is_err());
        assert!(linspace(0.0, f64::NAN, 3).is_err());
    }

    #[test]
    fn grid_layout_is_rows_y_columns_x() {
        let g = Grid2D::sample(vec![0.0, 1.0, 2.0], vec![10.0, 20.0], |x, y| Ok(x + y)).unwrap();
        assert_eq!(g.values.dim(), (2, 3));
        assert_eq!(g.values[[1, 2]], 22.0);
        assert_eq!(g.finite_range(), Some((10.0, 22.0)));
        assert_eq!(g.argmin(), Some((0.0, 10.0, 10.0)));
        assert!(Grid2D::sample(vec![], vec![1.0], |_, _| Ok(0.0)).is_err());
    }
}
