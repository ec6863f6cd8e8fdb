//! The experiments' figures (gallery 7–15: mini-batches, optimizers, learning rates, gradient flow, loss
//! landscapes, ...): each runs a seeded experiment from `ann_plot::experiments` with its
//! default configuration and draws it with the matching `ann_plot` function.

use super::{Entry, timed};
use ann_plot::Result;
use ann_plot::experiments::*;
use ann_plot::{self as plot, Figure};
use std::path::Path;

/// An animation written as `NAME.gif` by `write` (runs the seeded experiment and draws
/// every frame).
pub struct Animation {
    /// File stem, e.g. "15_decision_boundary_training".
    pub name: &'static str,
    /// Writes the GIF to the given path.
    pub write: fn(&Path) -> Result<()>,
}

/// Animations written after the figures.
pub fn animations() -> Vec<Animation> {
    vec![Animation { name: "15_decision_boundary_training", write: gif_boundary }]
}

/// The figures of the experiments (gallery 7–15).
pub fn entries() -> Vec<Entry> {
    vec![
        Entry { name: "07_minibatch_loss_curves", svg: true, make: fig_minibatch_curves },
        Entry { name: "07_minibatch_paths_contour", svg: false, make: fig_minibatch_paths },
        Entry { name: "08_adam_moments", svg: true, make: fig_adam_moments },
        Entry { name: "09_optimizer_loss_curves", svg: true, make: fig_optimizer_curves },
        Entry { name: "09_optimizer_paths_contour", svg: false, make: fig_optimizer_paths },
        Entry { name: "10_learning_rate_curves", svg: true, make: fig_learning_rate },
        Entry { name: "11_gradient_flow", svg: true, make: fig_gradient_flow },
        Entry { name: "11_gradient_flow_batch_norm", svg: true, make: fig_gradient_flow_batch_norm },
        Entry { name: "12_deep_network_training", svg: true, make: fig_deep_training },
        Entry { name: "13_loss_surface", svg: false, make: fig_loss_surface },
        Entry { name: "14_weight_updates", svg: true, make: fig_weight_updates },
        Entry { name: "15_decision_boundary_evolution", svg: false, make: fig_boundary_evolution },
        Entry { name: "15_decision_boundary_frame", svg: false, make: fig_boundary_frame },
    ]
}

fn fig_minibatch_curves() -> Result<Figure> {
    let r = minibatch_curves(&MiniBatchCurvesConfig::default())?;
    timed(|| plot::batch_size_curves(&r, ""))
}

fn fig_minibatch_paths() -> Result<Figure> {
    let r = minibatch_paths(&MiniBatchPathsConfig::default())?;
    timed(|| plot::batch_size_paths(&r, ""))
}

fn fig_adam_moments() -> Result<Figure> {
    let r = adam_moments(&AdamMomentsConfig::default())?;
    timed(|| plot::adam_moment_traces(&r, ""))
}

fn fig_optimizer_curves() -> Result<Figure> {
    let r = optimizer_curves(&OptimizerCurvesConfig::default())?;
    timed(|| plot::optimizer_loss_curves(&r, ""))
}

fn fig_optimizer_paths() -> Result<Figure> {
    let r = optimizer_paths(&OptimizerPathsConfig::default())?;
    timed(|| plot::optimizer_trajectories(&r, ""))
}

fn fig_learning_rate() -> Result<Figure> {
    let r = learning_rate_sweep(&LrSweepConfig::default())?;
    timed(|| plot::learning_rate_curves(&r, ""))
}

fn fig_gradient_flow() -> Result<Figure> {
    let r = gradient_flow(&GradientFlowConfig::default())?;
    timed(|| plot::gradient_norms(&r, ""))
}

fn fig_gradient_flow_batch_norm() -> Result<Figure> {
    let r = gradient_flow(&GradientFlowConfig::batch_norm_comparison())?;
    timed(|| {
        plot::gradient_norms(
            &r,
            "Gradient flow of the failing cases, without and with batch norm (10 layers, two moons)",
        )
    })
}

fn fig_deep_training() -> Result<Figure> {
    let r = deep_training(&DeepTrainingConfig::default())?;
    timed(|| plot::deep_training_curves(&r, ""))
}

fn fig_loss_surface() -> Result<Figure> {
    let r = loss_surface_demo(&LossSurfaceConfig::default())?;
    timed(|| plot::loss_landscape(&r, ""))
}

fn fig_weight_updates() -> Result<Figure> {
    let r = weight_updates(&WeightUpdatesConfig::default())?;
    timed(|| plot::weight_update_traces(&r, ""))
}

fn fig_boundary_evolution() -> Result<Figure> {
    let r = decision_boundary_frames(&BoundaryConfig::default())?;
    timed(|| plot::boundary_evolution(&r, 6, ""))
}

fn fig_boundary_frame() -> Result<Figure> {
    let r = decision_boundary_frames(&BoundaryConfig::default())?;
    timed(|| plot::boundary_frame(&r, 8, ""))
}

/// Frames shown for [`GIF_FRAME_MS`] milliseconds each; notebook 07 writes the same bytes.
fn gif_boundary(path: &Path) -> Result<()> {
    let r = decision_boundary_frames(&BoundaryConfig::default())?;
    plot::save_boundary_gif(&r, path, GIF_FRAME_MS)
}

/// Display time of one frame of `15_decision_boundary_training.gif`: 21 frames, about 5 s a loop.
const GIF_FRAME_MS: u32 = 250;
