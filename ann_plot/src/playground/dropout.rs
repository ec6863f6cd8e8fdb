//! Dropout's keep probability p: one run of a big network on a small noisy set per p, its
//! training and validation loss, and the decision boundary it ends with.

use super::{
    Playground, caption_layer, check_default, grid_layer, hex, levels, menu, packed, points_layer,
    probability_color, round, unpack,
};
use crate::error::Result;
use crate::experiments::{ToyData, bounds_2d, linspace, probability_map};
use ann_core::{
    Activation, Dropout, History, Init, Network, Optimizer, TrainConfig, Trainer, train_test_split,
};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// Set-up of [`dropout_playground`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DropoutPlaygroundConfig {
    /// Two-moons points (training + validation).
    pub m: usize,
    /// Their noise.
    pub noise: f64,
    /// Seed of the data.
    pub data_seed: u64,
    /// Share of the points held out for validation.
    pub validation_fraction: f64,
    /// Seed of the split.
    pub split_seed: u64,
    /// Hidden layer sizes (ReLU, He initialization).
    pub hidden: Vec<usize>,
    /// Seed of the initial weights (the same for every p).
    pub init_seed: u64,
    /// Adam's α.
    pub lr: f64,
    /// Passes over the training set.
    pub epochs: usize,
    /// Examples per mini-batch.
    pub batch_size: usize,
    /// Seed of the batches and the masks.
    pub seed: u64,
    /// The keep probabilities p of the menu (1 = no dropout).
    pub keep_probs: Vec<f64>,
    /// The p shown first.
    pub default_keep: f64,
    /// Grid points per axis of the boundary map.
    pub grid_points: usize,
}

/// [2, 100, 100, 1] on 100 of 600 noisy two moons (500 to validate), 200 epochs of Adam
/// α = 0.003, p ∈ {1, 0.9, 0.7, 0.5, 0.3}.
impl Default for DropoutPlaygroundConfig {
    fn default() -> Self {
        DropoutPlaygroundConfig {
            m: 600,
            noise: 0.3,
            data_seed: 11,
            validation_fraction: 5.0 / 6.0,
            split_seed: 12,
            hidden: vec![100, 100],
            init_seed: 13,
            lr: 0.003,
            epochs: 200,
            batch_size: 32,
            seed: 14,
            keep_probs: vec![1.0, 0.9, 0.7, 0.5, 0.3],
            default_keep: 0.5,
            grid_points: 40,
        }
    }
}

/// Trains the network once per p and returns the playground: a menu of p; the training and
/// validation loss after every epoch, and the final P(class 1) over the plane with the
/// training points. The PNG shows the curves of the default p.
///
/// Errors: no p, a default p not in the list, an invalid p, and those of the training.
pub fn dropout_playground(config: &DropoutPlaygroundConfig) -> Result<Playground> {
    check_default("keep probability", config.default_keep, &config.keep_probs)?;
    let moons = ToyData::Moons { m: config.m, noise: config.noise };
    let (data, task) = moons.generate(config.data_seed)?;
    let (train, val) = train_test_split(&data, config.validation_fraction, config.split_seed)?;
    let (y_train, y_val) = (train.targets(task), val.targets(task));
    let ((x0, x1), (y0, y1)) = bounds_2d(data.x.view(), 0.25)?;
    let (xs, ys) = (linspace(x0, x1, config.grid_points)?, linspace(y0, y1, config.grid_points)?);
    let start =
        Network::new(&moons.sizes(&config.hidden), Activation::Relu, task, Init::He, config.init_seed)?;
    let (mut curves, mut maps) = (Vec::new(), Vec::new());
    let mut shown: Option<History> = None;
    for &keep in &config.keep_probs {
        let mut net = start.clone();
        let tc = TrainConfig {
            batch_size: config.batch_size,
            dropout: Dropout::Hidden(keep),
            seed: config.seed,
            ..TrainConfig::default()
        };
        let h = Trainer::new(&tc, config.epochs).validation((&val.x, &y_val)).fit(
            &mut net,
            &mut Optimizer::adam(config.lr)?,
            (&train.x, &y_train),
        )?;
        let epochs = packed((1..=h.epochs()).map(|e| e as f64), 0);
        curves.push(json!({"keep": keep, "set": "training", "epoch": epochs, "loss": packed(h.train_loss.iter().copied(), 4)}));
        curves.push(json!({"keep": keep, "set": "validation", "epoch": epochs, "loss": packed(h.val_loss.iter().copied(), 4)}));
        let p = probability_map(&net, &xs, &ys)?;
        let (tl, vl) =
            (h.final_train_loss().unwrap_or(f64::NAN), h.val_loss.last().copied().unwrap_or(f64::NAN));
        maps.push(
            json!({"keep": keep, "cells": levels(p[1].iter().copied(), (0.0, 1.0)), "train": round(tl, 3), "val": round(vl, 3)}),
        );
        if keep == config.default_keep {
            shown = Some(h);
        }
    }
    let title = "Dropout: the keep probability p";
    let choose = "datum.keep == keep";
    let sets = json!({"field": "set", "type": "nominal", "scale": {"domain": ["training", "validation"], "range": [hex(crate::style::series_color(0)), hex(crate::style::series_color(1))]}, "title": null});
    let spec = json!({
        "title": title,
        "datasets": {"curves": curves, "maps": maps},
        "params": [menu("keep", "keep probability p", config.keep_probs.iter().map(|&v| json!(v)).collect(), json!(config.default_keep))],
        "hconcat": [
            {
                "data": {"name": "curves"},
                "transform": std::iter::once(json!({"filter": choose})).chain(unpack(&["epoch", "loss"])).collect::<Vec<_>>(),
                "width": 360,
                "height": 300,
                "mark": {"type": "line"},
                "encoding": {
                    "x": {"field": "epoch", "type": "quantitative", "title": "epoch"},
                    "y": {"field": "loss", "type": "quantitative", "scale": {"type": "log"}, "title": "loss J"},
                    "color": sets,
                },
            },
            {
                "width": 300,
                "height": 300,
                "layer": [
                    grid_layer("maps", choose, &xs, &ys, (0.0, 1.0), probability_color()),
                    points_layer(train.x.view(), &train.labels),
                    caption_layer(
                        "maps",
                        choose,
                        "'p = ' + datum.keep + ' · J training ' + format(datum.train, '.3f') + ', validation ' + format(datum.val, '.3f')",
                    ),
                ],
            },
        ],
        "resolve": {"scale": {"color": "independent"}},
    });
    let h = shown.expect("the default p is in the list");
    let fallback = crate::training_curves(
        &h,
        ann_core::Loss::BinaryCrossEntropy,
        &format!("Dropout p = {}: training and validation loss", config.default_keep),
    )?;
    Playground::new(title, spec, fallback)
}
