//! The optimizers, compared in two playgrounds: their loss curves at one learning rate,
//! chosen from a menu (every optimizer has a range of α where it works, and it is not the
//! same range for all of them); and their paths on a loss surface, drawn up to step t with a
//! slider.

use super::{Playground, check_default, grid_layer, hex, levels, menu, packed, slider, unpack};
use crate::error::Result;
use crate::experiments::{
    OptimizerCurves, OptimizerCurvesConfig, OptimizerPathsConfig, optimizer_curves, optimizer_paths,
};
use ann_core::{Optimizer, OptimizerConfig};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Set-up of [`optimizer_lr_playground`]: the runs of `curves` (same network, data, initial
/// weights and batches), repeated for every α of `learning_rates`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptimizerLrPlaygroundConfig {
    /// Data, network, epochs, seeds, and the optimizers (their α is replaced).
    pub curves: OptimizerCurvesConfig,
    /// The α values of the menu.
    pub learning_rates: Vec<f64>,
    /// The α shown first.
    pub default_lr: f64,
}

/// The four optimizers of [`OptimizerCurvesConfig::default`] on its 3 spirals, at
/// α ∈ {0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1}.
impl Default for OptimizerLrPlaygroundConfig {
    fn default() -> Self {
        OptimizerLrPlaygroundConfig {
            curves: OptimizerCurvesConfig::default(),
            learning_rates: vec![0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0],
            default_lr: 0.01,
        }
    }
}

/// Trains every optimizer at every α and returns the playground: a menu of α, the training
/// loss J after each epoch of every optimizer on a log scale (a run that diverged stops
/// where it did). The PNG shows the default α.
///
/// Errors: no α, a default α not in the list, an invalid α, and those of
/// [`optimizer_curves`].
pub fn optimizer_lr_playground(config: &OptimizerLrPlaygroundConfig) -> Result<Playground> {
    check_default("α", config.default_lr, &config.learning_rates)?;
    let mut rows: Vec<Value> = Vec::new();
    let mut shown: Option<OptimizerCurves> = None;
    for &lr in &config.learning_rates {
        let optimizers = config
            .curves
            .optimizers
            .iter()
            .map(|c| {
                let mut o = Optimizer::new(*c)?;
                o.set_learning_rate(lr)?;
                Ok(*o.config())
            })
            .collect::<ann_core::Result<Vec<OptimizerConfig>>>()?;
        let result = optimizer_curves(&OptimizerCurvesConfig { optimizers, ..config.curves.clone() })?;
        for c in &result.curves {
            // J at the initial weights, then after each epoch; a diverged run stops early.
            let losses: Vec<f64> = std::iter::once(result.initial_loss)
                .chain(c.epoch_loss.iter().copied())
                .take_while(|l| l.is_finite())
                .collect();
            rows.push(json!({
                "lr": lr,
                "optimizer": c.spec.name(),
                "epoch": packed((0..losses.len()).map(|e| e as f64), 0),
                "loss": packed(losses, 5),
            }));
        }
        if lr == config.default_lr {
            shown = Some(result);
        }
    }
    let shown = shown.expect("the default α is in the list");
    let title = "Loss curves of the optimizers at one learning rate";
    let names: Vec<&str> = shown.curves.iter().map(|c| c.spec.name()).collect();
    let colors: Vec<String> = (0..names.len()).map(|i| hex(crate::style::series_color(i))).collect();
    let spec = json!({
        "title": title,
        "data": {"values": rows},
        "params": [menu("lr", "learning rate α", config.learning_rates.iter().map(|&v| json!(v)).collect(), json!(config.default_lr))],
        "transform": std::iter::once(json!({"filter": "datum.lr == lr"})).chain(unpack(&["epoch", "loss"])).collect::<Vec<_>>(),
        "width": 480,
        "height": 300,
        "mark": {"type": "line", "point": {"size": 14}},
        "encoding": {
            "x": {"field": "epoch", "type": "quantitative", "title": "epoch"},
            "y": {"field": "loss", "type": "quantitative", "scale": {"type": "log"}, "title": "training loss J"},
            "color": {"field": "optimizer", "type": "nominal", "scale": {"domain": names, "range": colors}, "title": "optimizer"},
            "tooltip": [{"field": "optimizer"}, {"field": "epoch"}, {"field": "loss"}],
        },
    });
    let fallback = crate::optimizer_loss_curves(&shown, "")?;
    Playground::new(title, spec, fallback)
}

/// Grid points per axis of the surface in the spec (the PNG keeps the config's resolution).
const SURFACE_POINTS: usize = 50;

/// Runs every optimizer of `config` on its test surface and returns the playground: a slider
/// over the steps t; the surface log₁₀ f as a map, each optimizer's path up to step t and
/// its point at step t. The PNG shows the whole paths.
///
/// Errors: those of [`optimizer_paths`].
pub fn optimizer_path_playground(config: &OptimizerPathsConfig) -> Result<Playground> {
    let full = optimizer_paths(config)?;
    let coarse = optimizer_paths(&OptimizerPathsConfig {
        grid_points: SURFACE_POINTS.min(config.grid_points),
        ..config.clone()
    })?;
    let grid = &coarse.contour;
    // log10 f: the bowl and the banana both span many orders of magnitude.
    let logs: Vec<f64> = grid.values.iter().map(|&f| f.max(1e-12).log10()).collect();
    let range = logs.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
    let paths: Vec<Value> = full
        .paths
        .iter()
        .map(|p| {
            json!({
                "optimizer": p.spec.name(),
                "t": packed((0..p.points.len()).map(|t| t as f64), 0),
                "x": packed(p.points.iter().map(|q| q.0), 4),
                "y": packed(p.points.iter().map(|q| q.1), 4),
                "f": packed(p.values.iter().copied(), 5),
            })
        })
        .collect();
    let names: Vec<&str> = full.paths.iter().map(|p| p.spec.name()).collect();
    let colors: Vec<String> = (0..names.len()).map(|i| hex(crate::style::series_color(i))).collect();
    // The surface takes the colour channel; the paths and their points the stroke, one legend.
    let stroke = json!({"field": "optimizer", "type": "nominal", "scale": {"domain": names, "range": colors}, "title": "optimizer"});
    let up_to_t = |extra: &[Value]| -> Vec<Value> {
        let mut t = unpack(&["t", "x", "y", "f"]);
        t.push(json!({"filter": "datum.t <= t"}));
        t.extend_from_slice(extra);
        t
    };
    let title = format!("Optimizer paths on {}", config.surface.formula());
    let spec = json!({
        // Grid lines would cross the map.
        "config": {"axis": {"grid": false}},
        "title": title,
        "datasets": {"surface": [{"cells": levels(logs, range)}], "paths": paths},
        "params": [slider("t", "step t", (0.0, config.steps as f64, 1.0), config.steps as f64)],
        "width": 520,
        "height": 280,
        "layer": [
            grid_layer(
                "surface",
                "true",
                &grid.xs,
                &grid.ys,
                range,
                json!({"field": "v", "type": "quantitative", "scale": {"scheme": "greys", "domain": [range.0, range.1]}, "title": "log₁₀ f", "legend": null}),
            ),
            {
                "data": {"name": "paths"},
                "transform": up_to_t(&[]),
                "mark": {"type": "line", "strokeWidth": 2, "clip": true},
                "encoding": {
                    "x": {"field": "x", "type": "quantitative", "title": "x"},
                    "y": {"field": "y", "type": "quantitative", "title": "y"},
                    "order": {"field": "t", "type": "quantitative"},
                    "stroke": stroke,
                },
            },
            {
                "data": {"name": "paths"},
                // Each path's last point up to t (a path that diverged ends before t).
                "transform": up_to_t(&[
                    json!({"window": [{"op": "rank", "as": "latest"}], "sort": [{"field": "t", "order": "descending"}], "groupby": ["optimizer"]}),
                    json!({"filter": "datum.latest == 1"}),
                ]),
                "mark": {"type": "point", "filled": false, "size": 80, "strokeWidth": 3, "clip": true},
                "encoding": {
                    "x": {"field": "x", "type": "quantitative"},
                    "y": {"field": "y", "type": "quantitative"},
                    "stroke": stroke,
                    "tooltip": [{"field": "optimizer"}, {"field": "t"}, {"field": "f", "title": "f(x, y)"}],
                },
            },
        ],
    });
    let fallback = crate::optimizer_trajectories(&full, "")?;
    Playground::new(&title, spec, fallback)
}
