//! SGD, Momentum, RMSProp and Adam compared.
//!
//! [`optimizer_curves`]: the same network, data, initial weights and batch order (one
//! seed), trained once per optimizer; the loss curves.
//!
//! [`optimizer_paths`]: the crate's own optimizers on a 2-D test function f(x, y). The two
//! coordinates are the 1×2 weight matrix W = [x y] of a one-layer network, and the analytic
//! gradient [∂f/∂x ∂f/∂y] is passed to [`Optimizer::step`] as dW — so the very update code
//! that trains networks draws these paths.

use super::{Divergence, Grid2D, ToyData, at_least, fit_recorded, linspace};
use ann_core::error::{AnnError, Result, bad_hyper};
use ann_core::{
    Activation, AdamConfig, DataView, Gradients, Init, Layer, Loss, MomentumConfig, Network, Optimizer,
    OptimizerConfig, RmsPropConfig, SgdConfig, TrainConfig,
};
use ndarray::array;
use serde::{Deserialize, Serialize};

/// The four optimizers, each with a learning rate that suits it on a small ReLU network
/// on spirals (SGD and Momentum share α; RMSProp and Adam share theirs).
fn default_specs() -> Vec<OptimizerConfig> {
    vec![
        OptimizerConfig::Sgd(SgdConfig { lr: 0.3 }),
        OptimizerConfig::Momentum(MomentumConfig { lr: 0.3, beta: 0.9 }),
        OptimizerConfig::RmsProp(RmsPropConfig { lr: 0.01, beta: 0.9, eps: 1e-8 }),
        OptimizerConfig::Adam(AdamConfig { lr: 0.01, ..AdamConfig::default() }),
    ]
}

/// Set-up of [`optimizer_curves`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptimizerCurvesConfig {
    /// The data set (and with it the output layer and loss).
    pub data: ToyData,
    /// Seed of the data.
    pub data_seed: u64,
    /// Hidden layer sizes (ReLU, He init).
    pub hidden: Vec<usize>,
    /// Seed of the initial weights (shared by all runs).
    pub init_seed: u64,
    /// The optimizers to compare.
    pub optimizers: Vec<OptimizerConfig>,
    /// Examples per mini-batch.
    pub batch_size: usize,
    /// Passes over the data.
    pub epochs: usize,
    /// Seed of the batch order (shared by all runs).
    pub seed: u64,
}

impl Default for OptimizerCurvesConfig {
    fn default() -> Self {
        OptimizerCurvesConfig {
            data: ToyData::Spirals { m: 300, k: 3, noise: 0.2 },
            data_seed: 1,
            hidden: vec![32, 32],
            init_seed: 3,
            optimizers: default_specs(),
            batch_size: 32,
            epochs: 40,
            seed: 7,
        }
    }
}

/// The record of one optimizer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptimizerCurve {
    /// Which optimizer.
    pub spec: OptimizerConfig,
    /// J{t} of every step.
    pub step_loss: Vec<f64>,
    /// J on the training set after each epoch.
    pub epoch_loss: Vec<f64>,
    /// Training accuracy after each epoch (empty if it diverged).
    pub epoch_accuracy: Vec<f64>,
    /// Set if the run diverged.
    pub diverged: Option<Divergence>,
}

/// Result of [`optimizer_curves`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptimizerCurves {
    /// One curve per optimizer, in the order of the config.
    pub curves: Vec<OptimizerCurve>,
    /// J on the training set at the shared initial weights.
    pub initial_loss: f64,
    /// Steps per epoch.
    pub steps_per_epoch: usize,
    /// The data set.
    pub data: ToyData,
    /// Layer sizes [n_0, ..., n_L].
    pub sizes: Vec<usize>,
}

/// Trains the same network (same init, data, batch order) once per optimizer.
pub fn optimizer_curves(config: &OptimizerCurvesConfig) -> Result<OptimizerCurves> {
    if config.optimizers.is_empty() {
        return Err(AnnError::EmptyInput("no optimizers to compare".into()));
    }
    at_least("epochs", config.epochs, 1)?;
    let (data, task) = config.data.generate(config.data_seed)?;
    let y = data.targets(task);
    let train = DataView::new(data.x.view(), y.view());
    let sizes = config.data.sizes(&config.hidden);
    let net0 = Network::new(&sizes, Activation::Relu, task, Init::He, config.init_seed)?;
    let initial_loss = ann_core::evaluate(&net0, train, 0.0)?.0;
    let tc = TrainConfig { batch_size: config.batch_size, seed: config.seed, ..TrainConfig::default() };
    let mut curves = Vec::with_capacity(config.optimizers.len());
    for spec in &config.optimizers {
        let mut net = net0.clone();
        let mut opt = Optimizer::new(*spec)?;
        let run = fit_recorded(&mut net, &mut opt, train, &tc, config.epochs)?;
        curves.push(OptimizerCurve {
            spec: *spec,
            step_loss: run.losses.step_loss,
            epoch_loss: run.losses.epoch_loss,
            epoch_accuracy: run.history.map(|h| h.train_accuracy).unwrap_or_default(),
            diverged: run.diverged,
        });
    }
    let steps_per_epoch = data.len().div_ceil(config.batch_size);
    Ok(OptimizerCurves { curves, initial_loss, steps_per_epoch, data: config.data, sizes })
}

/// A 2-D test function for optimizer paths.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum TestSurface {
    /// An elongated bowl f(x, y) = a x² + b y²; ill-conditioned when a ≪ b
    /// (condition number b / a). Minimum 0 at (0, 0).
    Bowl {
        /// Curvature/2 along x.
        a: f64,
        /// Curvature/2 along y.
        b: f64,
    },
    /// Rosenbrock's banana f(x, y) = (a − x)² + b (y − x²)², a curved narrow valley.
    /// Minimum 0 at (a, a²).
    Rosenbrock {
        /// Position of the minimum (usually 1).
        a: f64,
        /// Steepness of the valley walls (usually 100).
        b: f64,
    },
}

impl TestSurface {
    /// f(x, y).
    pub fn value(&self, x: f64, y: f64) -> f64 {
        match *self {
            TestSurface::Bowl { a, b } => a * x * x + b * y * y,
            TestSurface::Rosenbrock { a, b } => (a - x).powi(2) + b * (y - x * x).powi(2),
        }
    }

    /// ∇f(x, y) = (∂f/∂x, ∂f/∂y): (2a x, 2b y) for the bowl;
    /// (−2(a − x) − 4b x (y − x²), 2b (y − x²)) for Rosenbrock.
    pub fn gradient(&self, x: f64, y: f64) -> (f64, f64) {
        match *self {
            TestSurface::Bowl { a, b } => (2.0 * a * x, 2.0 * b * y),
            TestSurface::Rosenbrock { a, b } => {
                let r = y - x * x;
                (-2.0 * (a - x) - 4.0 * b * x * r, 2.0 * b * r)
            }
        }
    }

    /// Where the minimum is.
    pub fn minimum(&self) -> (f64, f64) {
        match *self {
            TestSurface::Bowl { .. } => (0.0, 0.0),
            TestSurface::Rosenbrock { a, .. } => (a, a * a),
        }
    }

    /// The formula, for titles, e.g. "f(x, y) = 0.05x² + y²".
    pub fn formula(&self) -> String {
        match *self {
            TestSurface::Bowl { a, b } => format!("f(x, y) = {a}x² + {b}y²"),
            TestSurface::Rosenbrock { a, b } => format!("f(x, y) = ({a} − x)² + {b}(y − x²)²"),
        }
    }

    fn check(&self) -> Result<()> {
        let (a, b) = match *self {
            TestSurface::Bowl { a, b } | TestSurface::Rosenbrock { a, b } => (a, b),
        };
        if a.is_finite()
            && b.is_finite()
            && b > 0.0
            && (a > 0.0 || matches!(self, TestSurface::Rosenbrock { .. }))
        {
            Ok(())
        } else {
            Err(bad_hyper(
                "test surface",
                format!("{self:?}"),
                "needs finite coefficients (bowl: a, b > 0; Rosenbrock: b > 0)",
            ))
        }
    }
}

/// Set-up of [`optimizer_paths`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptimizerPathsConfig {
    /// The function to minimise.
    pub surface: TestSurface,
    /// The starting point (x, y), the same for every optimizer.
    pub start: (f64, f64),
    /// The optimizers (with their α) to run.
    pub optimizers: Vec<OptimizerConfig>,
    /// Steps per optimizer.
    pub steps: usize,
    /// Contour grid: range of x.
    pub x_range: (f64, f64),
    /// Contour grid: range of y.
    pub y_range: (f64, f64),
    /// Grid points per axis.
    pub grid_points: usize,
}

impl Default for OptimizerPathsConfig {
    fn default() -> Self {
        OptimizerPathsConfig {
            surface: TestSurface::Bowl { a: 0.05, b: 1.0 },
            start: (-9.0, 2.0),
            optimizers: vec![
                OptimizerConfig::Sgd(SgdConfig { lr: 0.9 }),
                OptimizerConfig::Momentum(MomentumConfig { lr: 0.9, beta: 0.9 }),
                OptimizerConfig::RmsProp(RmsPropConfig { lr: 0.3, beta: 0.9, eps: 1e-8 }),
                OptimizerConfig::Adam(AdamConfig { lr: 0.5, ..AdamConfig::default() }),
            ],
            steps: 50,
            x_range: (-10.0, 3.0),
            y_range: (-3.0, 3.0),
            grid_points: 100,
        }
    }
}

/// The path of one optimizer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptimizerPath {
    /// Which optimizer.
    pub spec: OptimizerConfig,
    /// (x, y) at the start and after every step (up to steps + 1 points; fewer if it
    /// diverged).
    pub points: Vec<(f64, f64)>,
    /// f at every point.
    pub values: Vec<f64>,
    /// Whether the iterate left the finite numbers (the path stops before that step).
    pub diverged: bool,
}

/// Result of [`optimizer_paths`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptimizerPaths {
    /// The function that was minimised.
    pub surface: TestSurface,
    /// f on the grid (xs = x, ys = y).
    pub contour: Grid2D,
    /// One path per optimizer.
    pub paths: Vec<OptimizerPath>,
}

/// A one-layer network whose 1×2 weight matrix holds the point (x, y).
fn point_network(x: f64, y: f64) -> Result<Network> {
    Network::from_layers(
        vec![Layer::new(array![[x, y]], array![[0.0]], Activation::Linear)],
        Loss::MeanSquaredError,
    )
}

/// Runs `optimizer` on `surface` from `start`: each step feeds dW = ∇f(x, y), db = 0.
fn descend(
    surface: &TestSurface,
    start: (f64, f64),
    spec: OptimizerConfig,
    optimizer: &mut Optimizer,
    steps: usize,
) -> Result<OptimizerPath> {
    let mut net = point_network(start.0, start.1)?;
    let mut points = vec![start];
    let mut diverged = false;
    for _ in 0..steps {
        let w = &net.layers()[0].w;
        let (x, y) = (w[[0, 0]], w[[0, 1]]);
        let (gx, gy) = surface.gradient(x, y);
        if !(gx.is_finite() && gy.is_finite()) {
            diverged = true;
            break;
        }
        let grads = Gradients::from_layers(vec![(array![[gx, gy]], array![[0.0]])]);
        optimizer.step(&mut net, &grads)?;
        let w = &net.layers()[0].w;
        let p = (w[[0, 0]], w[[0, 1]]);
        if !(p.0.is_finite() && p.1.is_finite() && surface.value(p.0, p.1).is_finite()) {
            diverged = true;
            break;
        }
        points.push(p);
    }
    let values = points.iter().map(|&(x, y)| surface.value(x, y)).collect();
    Ok(OptimizerPath { spec, points, values, diverged })
}

/// Runs every optimizer from the same start on the test surface and samples f on a grid.
pub fn optimizer_paths(config: &OptimizerPathsConfig) -> Result<OptimizerPaths> {
    config.surface.check()?;
    if config.optimizers.is_empty() {
        return Err(AnnError::EmptyInput("no optimizers to compare".into()));
    }
    at_least("steps", config.steps, 1)?;
    let (x0, y0) = config.start;
    if !(x0.is_finite() && y0.is_finite()) {
        return Err(bad_hyper("start", format!("({x0}, {y0})"), "must be finite"));
    }
    let mut paths = Vec::with_capacity(config.optimizers.len());
    for spec in &config.optimizers {
        let mut opt = Optimizer::new(*spec)?;
        paths.push(descend(&config.surface, config.start, *spec, &mut opt, config.steps)?);
    }
    let xs = linspace(config.x_range.0, config.x_range.1, config.grid_points)?;
    let ys = linspace(config.y_range.0, config.y_range.1, config.grid_points)?;
    let surface = config.surface;
    let contour = Grid2D::sample(xs, ys, |x, y| Ok(surface.value(x, y)))?;
    Ok(OptimizerPaths { surface, contour, paths })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn analytic_gradients_match_central_differences() {
        for s in [TestSurface::Bowl { a: 0.05, b: 1.0 }, TestSurface::Rosenbrock { a: 1.0, b: 100.0 }] {
            for &(x, y) in &[(-1.3, 0.7), (0.4, -2.0), (2.0, 3.5)] {
                let h = 1e-6;
                let nx = (s.value(x + h, y) - s.value(x - h, y)) / (2.0 * h);
                let ny = (s.value(x, y + h) - s.value(x, y - h)) / (2.0 * h);
                let (gx, gy) = s.gradient(x, y);
                assert!((gx - nx).abs() < 1e-4 * (1.0 + nx.abs()), "{s:?} dx {gx} vs {nx}");
                assert!((gy - ny).abs() < 1e-4 * (1.0 + ny.abs()), "{s:?} dy {gy} vs {ny}");
            }
            let (mx, my) = s.minimum();
            assert_eq!(s.value(mx, my), 0.0);
        }
    }

    #[test]
    fn one_sgd_step_is_minus_alpha_gradient() {
        let s = TestSurface::Bowl { a: 0.5, b: 2.0 };
        let spec = OptimizerConfig::Sgd(SgdConfig { lr: 0.1 });
        let p = descend(&s, (1.0, 1.0), spec, &mut Optimizer::new(spec).unwrap(), 1).unwrap();
        // ∇f(1, 1) = (1, 4) → (1 − 0.1, 1 − 0.4)
        assert!((p.points[1].0 - 0.9).abs() < 1e-15 && (p.points[1].1 - 0.6).abs() < 1e-15);
    }
}
