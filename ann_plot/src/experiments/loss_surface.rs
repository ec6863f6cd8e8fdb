//! The cross-entropy loss on a 2-D slice of parameter space.
//!
//! Around trained weights θ*, with two random directions d1, d2 of the shapes of the
//! W[l], J is sampled at θ(α, β) = θ* + α d1 + β d2 on a grid of (α, β).
//!
//! Filter normalization (Li et al., 2018, "Visualizing the loss landscape of neural
//! nets"): every row i of a direction's W[l] part (the incoming weights of unit i) is
//! rescaled to the norm of the same row of W*[l]: d[l]_i ← d[l]_i ‖W*[l]_i‖ / ‖d[l]_i‖,
//! so a step of α = 1 changes every unit by its own scale. Bias directions are 0.

use super::{Grid2D, at_least, linspace, positive};
use ann_core::error::{AnnError, Result};
use ann_core::{
    Activation, AdamConfig, DataView, Init, Network, Optimizer, OptimizerConfig, Task, TrainConfig, evaluate,
    fit, frobenius, spirals,
};
use ndarray::{Array2, Axis};
use rand::SeedableRng;
use rand::rngs::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

/// Set-up of [`loss_surface`] (the slice) and [`loss_surface_demo`] (training first).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LossSurfaceConfig {
    /// Number of spiral examples.
    pub m: usize,
    /// Number of classes k.
    pub k: usize,
    /// Angular noise of the spirals.
    pub noise: f64,
    /// Seed of the data.
    pub data_seed: u64,
    /// Layer sizes [2, ..., k] (ReLU hidden, softmax output, He init).
    pub sizes: Vec<usize>,
    /// Seed of the initial weights.
    pub init_seed: u64,
    /// The optimizer that finds θ*.
    pub optimizer: OptimizerConfig,
    /// Training epochs.
    pub epochs: usize,
    /// Examples per mini-batch.
    pub batch_size: usize,
    /// Seed of the batch order.
    pub seed: u64,
    /// Seed of the random directions d1, d2.
    pub direction_seed: u64,
    /// Whether to filter-normalize the directions (otherwise raw N(0, 1) entries).
    pub filter_normalize: bool,
    /// α and β both range over [−radius, radius].
    pub radius: f64,
    /// Grid points per axis.
    pub grid_points: usize,
}

impl Default for LossSurfaceConfig {
    fn default() -> Self {
        LossSurfaceConfig {
            m: 300,
            k: 3,
            noise: 0.2,
            data_seed: 2,
            sizes: vec![2, 32, 32, 3],
            init_seed: 4,
            optimizer: OptimizerConfig::Adam(AdamConfig { lr: 0.01, ..AdamConfig::default() }),
            epochs: 60,
            batch_size: 32,
            seed: 9,
            direction_seed: 21,
            filter_normalize: true,
            radius: 1.0,
            grid_points: 41,
        }
    }
}

/// Result of [`loss_surface`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LossSurface {
    /// J(θ* + α d1 + β d2): xs = α, ys = β.
    pub grid: Grid2D,
    /// J(θ*), the centre of the slice.
    pub center_loss: f64,
    /// Accuracy at θ* (None for regression).
    pub center_accuracy: Option<f64>,
    /// J at the initial weights, if the slice was taken after training (demo only).
    pub initial_loss: Option<f64>,
    /// Whether the directions were filter-normalized.
    pub filter_normalized: bool,
}

/// A random direction shaped like the W[l] of `net`, N(0, 1) entries drawn row by row,
/// optionally filter-normalized to the rows of W[l].
fn direction(net: &Network, rng: &mut ChaCha8Rng, filter_normalize: bool) -> Vec<Array2<f64>> {
    net.layers()
        .iter()
        .map(|layer| {
            let mut d = Array2::from_shape_simple_fn(layer.w.dim(), || {
                let g: f64 = StandardNormal.sample(rng);
                g
            });
            if filter_normalize {
                for (mut drow, wrow) in d.axis_iter_mut(Axis(0)).zip(layer.w.axis_iter(Axis(0))) {
                    let dn = drow.iter().map(|v| v * v).sum::<f64>().sqrt();
                    let wn = wrow.iter().map(|v| v * v).sum::<f64>().sqrt();
                    let s = if dn > 0.0 { wn / dn } else { 0.0 };
                    drow.mapv_inplace(|v| v * s);
                }
            }
            d
        })
        .collect()
}

/// Samples J on θ* + α d1 + β d2 for α, β in [−radius, radius] around the weights of `net`
/// on `data`, with directions drawn from `direction_seed`. The loss is the network's own
/// (J without L2), computed by a full forward pass at every grid point.
pub fn loss_surface(
    net: &Network,
    data: DataView<'_>,
    radius: f64,
    grid_points: usize,
    direction_seed: u64,
    filter_normalize: bool,
) -> Result<LossSurface> {
    positive("radius", radius)?;
    at_least("grid_points", grid_points, 2)?;
    let mut rng = ChaCha8Rng::seed_from_u64(direction_seed);
    let d1 = direction(net, &mut rng, filter_normalize);
    let d2 = direction(net, &mut rng, filter_normalize);
    if d1.iter().chain(&d2).all(|d| frobenius(d.view()) == 0.0) {
        return Err(AnnError::InvalidArchitecture(
            "every weight is 0: filter-normalized directions would be 0 too".into(),
        ));
    }
    let (center_loss, center_accuracy) = evaluate(net, data, 0.0)?;
    let axis = linspace(-radius, radius, grid_points)?;
    let mut probe = net.clone();
    let grid = Grid2D::sample(axis.clone(), axis, |a, b| {
        for (((layer, w0), u), v) in probe.layers_mut().iter_mut().zip(net.layers()).zip(&d1).zip(&d2) {
            ndarray::Zip::from(&mut layer.w).and(&w0.w).and(u).and(v).for_each(|w, &w0, &u, &v| {
                *w = w0 + a * u + b * v;
            });
        }
        Ok(evaluate(&probe, data, 0.0)?.0)
    })?;
    Ok(LossSurface {
        grid,
        center_loss,
        center_accuracy,
        initial_loss: None,
        filter_normalized: filter_normalize,
    })
}

/// Trains a small ReLU/softmax network on spirals, then slices its loss with
/// [`loss_surface`].
pub fn loss_surface_demo(config: &LossSurfaceConfig) -> Result<LossSurface> {
    at_least("epochs", config.epochs, 1)?;
    let data = spirals(config.m, config.k, config.noise, config.data_seed)?;
    let y = data.targets(Task::MultiClass);
    let train = DataView::new(data.x.view(), y.view());
    let mut net =
        Network::new(&config.sizes, Activation::Relu, Task::MultiClass, Init::He, config.init_seed)?;
    let initial_loss = evaluate(&net, train, 0.0)?.0;
    let mut opt = Optimizer::new(config.optimizer)?;
    let tc = TrainConfig { batch_size: config.batch_size, seed: config.seed, ..TrainConfig::default() };
    fit(&mut net, &mut opt, train, &tc, config.epochs)?;
    let mut surface = loss_surface(
        &net,
        train,
        config.radius,
        config.grid_points,
        config.direction_seed,
        config.filter_normalize,
    )?;
    surface.initial_loss = Some(initial_loss);
    Ok(surface)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_normalized_rows_have_the_weight_row_norms() {
        let net = Network::new(&[3, 5, 2], Activation::Relu, Task::MultiClass, Init::He, 1).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let d = direction(&net, &mut rng, true);
        for (dl, layer) in d.iter().zip(net.layers()) {
            for (dr, wr) in dl.axis_iter(Axis(0)).zip(layer.w.axis_iter(Axis(0))) {
                let n = |r: ndarray::ArrayView1<f64>| r.iter().map(|v| v * v).sum::<f64>().sqrt();
                assert!((n(dr) - n(wr)).abs() < 1e-12);
            }
        }
    }
}
