//! The optimizers' paths on a loss surface, drawn up to step t with a slider.

use super::{Playground, grid_layer, hex, levels, packed, slider, unpack};
use crate::error::Result;
use crate::experiments::{OptimizerPathsConfig, optimizer_paths};
use serde_json::{Value, json};

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
