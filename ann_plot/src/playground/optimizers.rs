//! The optimizers' loss curves at one learning rate, chosen from a menu: every optimizer
//! has a range of α where it works, and it is not the same range for all of them.

use super::{Playground, check_default, hex, menu, packed, unpack};
use crate::error::Result;
use crate::experiments::{OptimizerCurves, OptimizerCurvesConfig, optimizer_curves};
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
