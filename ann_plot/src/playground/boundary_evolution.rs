//! The decision boundary over the epochs, for every combination of a few learning rates,
//! hidden activations and widths: one real run each, a frame every few epochs.

use super::{
    Playground, caption_layer, grid_layer, levels, menu, points_layer, probability_color, round, slider,
};
use crate::error::Result;
use crate::experiments::{BoundaryConfig, BoundaryRun, ToyData, decision_boundary_frames};
use ann_core::error::AnnError;
use ann_core::{Activation, AdamConfig, OptimizerConfig};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Set-up of [`boundary_playground`]: every (learning rate, activation, width) is one run
/// of Adam on the same data, with the same seeds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BoundaryPlaygroundConfig {
    /// The data (two classes: the map shows P(class 1)).
    pub data: ToyData,
    /// Seed of the data.
    pub data_seed: u64,
    /// Adam's α values (the first is shown first, as in the other lists).
    pub learning_rates: Vec<f64>,
    /// Hidden activations g.
    pub activations: Vec<Activation>,
    /// Units of each of the two hidden layers.
    pub widths: Vec<usize>,
    /// Passes over the data.
    pub epochs: usize,
    /// A frame after every this many epochs (and one of the initial weights).
    pub frame_every: usize,
    /// Examples per mini-batch.
    pub batch_size: usize,
    /// Grid points per axis of each map.
    pub grid_points: usize,
    /// Seed of the initial weights and of the batch order.
    pub seed: u64,
}

/// 2 × 2 × 2 runs on 300 two moons: α ∈ {0.03, 0.003}, ReLU or tanh, 16 or 4 units per
/// hidden layer, 30 epochs, a 36 × 36 map every 3 epochs. The first value of each list is
/// the one shown first.
impl Default for BoundaryPlaygroundConfig {
    fn default() -> Self {
        BoundaryPlaygroundConfig {
            data: ToyData::Moons { m: 300, noise: 0.2 },
            data_seed: 3,
            learning_rates: vec![0.03, 0.003],
            activations: vec![Activation::Relu, Activation::Tanh],
            widths: vec![16, 4],
            epochs: 30,
            frame_every: 3,
            batch_size: 32,
            grid_points: 36,
            seed: 5,
        }
    }
}

/// Trains every combination of the config and returns the playground: a slider over the
/// epochs and a menu each for α, g and the width; the map of P(class 1) with the training
/// points, and the epoch's J and accuracy. The PNG shows the last frame of the first run.
///
/// Errors: an empty list, a data set with more than two classes, and those of
/// [`decision_boundary_frames`].
pub fn boundary_playground(config: &BoundaryPlaygroundConfig) -> Result<Playground> {
    if config.learning_rates.is_empty() || config.activations.is_empty() || config.widths.is_empty() {
        return Err(
            AnnError::EmptyInput("the playground needs at least one α, activation and width".into()).into()
        );
    }
    let frame_epochs: Vec<usize> = (0..=config.epochs).step_by(config.frame_every.max(1)).collect();
    let mut frames: Vec<Value> = Vec::new();
    let mut first: Option<BoundaryRun> = None;
    for &lr in &config.learning_rates {
        for &activation in &config.activations {
            for &width in &config.widths {
                let run = decision_boundary_frames(&BoundaryConfig {
                    data: config.data,
                    data_seed: config.data_seed,
                    hidden: vec![width, width],
                    activation,
                    init_seed: config.seed,
                    optimizer: OptimizerConfig::Adam(AdamConfig { lr, ..AdamConfig::default() }),
                    batch_size: config.batch_size,
                    epochs: config.epochs,
                    seed: config.seed,
                    frame_epochs: frame_epochs.clone(),
                    grid_points: config.grid_points,
                    margin: 0.25,
                })?;
                if run.n_classes != 2 {
                    return Err(AnnError::InvalidLabels(format!(
                        "the boundary playground shows P(class 1) of two classes, the data has {}",
                        run.n_classes
                    ))
                    .into());
                }
                for f in &run.frames {
                    frames.push(json!({
                        "lr": lr, "g": activation.name(), "units": width, "epoch": f.epoch,
                        "loss": round(f.loss, 4), "accuracy": round(f.accuracy, 4),
                        "cells": levels(f.probs[1].iter().copied(), (0.0, 1.0)),
                    }));
                }
                first.get_or_insert(run);
            }
        }
    }
    let run = first.expect("at least one run");
    let last = run.frames.len() - 1;
    let title = "Decision boundary over the epochs";
    let choose = "datum.lr == lr && datum.g == g && datum.units == units && datum.epoch == epoch";
    let spec = json!({
        // Grid lines would cross the map.
        "config": {"axis": {"grid": false}},
        "title": title,
        "datasets": {"frames": frames},
        "params": [
            slider("epoch", "epoch", (0.0, config.epochs as f64, config.frame_every.max(1) as f64), run.frames[last].epoch as f64),
            menu("lr", "Adam's α", config.learning_rates.iter().map(|&v| json!(v)).collect(), json!(config.learning_rates[0])),
            menu("g", "hidden activation", config.activations.iter().map(|a| json!(a.name())).collect(), json!(config.activations[0].name())),
            menu("units", "units per hidden layer", config.widths.iter().map(|&w| json!(w)).collect(), json!(config.widths[0])),
        ],
        "width": 420,
        "height": 360,
        "layer": [
            grid_layer("frames", choose, &run.xs, &run.ys, (0.0, 1.0), probability_color()),
            points_layer(run.x.view(), &run.labels),
            caption_layer(
                "frames",
                choose,
                "'epoch ' + datum.epoch + ' · J = ' + format(datum.loss, '.3f') + ' · accuracy ' + format(datum.accuracy, '.1%')",
            ),
        ],
    });
    let fallback = crate::boundary_frame(
        &run,
        last,
        &format!(
            "Adam α = {}, {}, [2, {w}, {w}, 1]: epoch {}",
            config.learning_rates[0],
            config.activations[0].name(),
            run.frames[last].epoch,
            w = config.widths[0]
        ),
    )?;
    Playground::new(title, spec, fallback)
}
