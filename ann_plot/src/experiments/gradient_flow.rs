//! Gradient flow through a deep network: vanishing and exploding gradients.
//!
//! Backpropagation multiplies, layer by layer, dA[l−1] = W[l]ᵀ (dA[l] ⊙ g'(Z[l])). Measured
//! in the Frobenius norm, one step scales the signal by the gain of W[l]ᵀ,
//! ‖W[l]ᵀ dZ[l]‖_F / ‖dZ[l]‖_F ≈ σ_w √n_{l−1} for Gaussian weights of standard deviation σ_w,
//! times the ratio ‖dA ⊙ g'(Z)‖_F / ‖dA‖_F, about the root mean square of g'. If that
//! factor is below 1 the gradients shrink geometrically towards the input (vanishing:
//! sigmoid, whose g' ≤ ¼, or tiny weights); above 1 they grow (exploding: large weights).
//! He (σ_w = √(2/n_{l−1})) and Xavier (σ_w = √(1/n_{l−1})) initialization keep it near 1.
//!
//! Batch normalization breaks that product: it rescales every Z[l] to unit variance per unit
//! before g, so the forward signal no longer depends on the scale of W[l], and on the way
//! back the 1/√(σ² + ε) of each layer undoes the scale W[l] put in.
//!
//! For each (activation, initialization, with or without batch norm) case this records
//! ‖dW[l]‖_F for l = 1..L from one backward pass on a batch at initialization (a training
//! pass: batch norm normalizes with the batch's statistics), the spread of the activations
//! A[l], and optionally the gradient norms after a short training run.

use super::{at_least, fit_recorded};
use ann_core::error::{AnnError, Result};
use ann_core::{
    Activation, BatchNormConfig, DataView, Dropout, Init, Network, Optimizer, OptimizerConfig, ParamKind,
    SgdConfig, Task, TrainConfig, frobenius, two_moons,
};
use serde::{Deserialize, Serialize};

/// One (hidden activation, initialization, batch norm) combination.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FlowCase {
    /// g[l] of every hidden layer.
    pub activation: Activation,
    /// How W[l] is drawn.
    pub init: Init,
    /// Batch normalization (default settings) on every hidden layer.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub batch_norm: bool,
}

impl FlowCase {
    /// A case without batch norm.
    pub fn new(activation: Activation, init: Init) -> Self {
        FlowCase { activation, init, batch_norm: false }
    }

    /// The same case with batch norm on every hidden layer.
    pub fn with_batch_norm(self) -> Self {
        FlowCase { batch_norm: true, ..self }
    }

    /// Legend text, e.g. "ReLU + He" or "tanh + N(0, 0.01²) + batch norm".
    pub fn label(&self) -> String {
        let init = match self.init {
            Init::He => "He".to_string(),
            Init::Xavier => "Xavier".to_string(),
            Init::Random { scale } => format!("N(0, {scale}²)"),
        };
        let norm = if self.batch_norm { " + batch norm" } else { "" };
        format!("{} + {init}{norm}", self.activation.name())
    }
}

/// Set-up of [`gradient_flow`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GradientFlowConfig {
    /// L, the number of layers with weights (L − 1 hidden layers of `width` units,
    /// then one sigmoid output unit).
    pub depth: usize,
    /// Units per hidden layer.
    pub width: usize,
    /// The cases to compare.
    pub cases: Vec<FlowCase>,
    /// Two-moons examples in the batch.
    pub m: usize,
    /// Seed of the data.
    pub data_seed: u64,
    /// Seed of the initial weights (the same draw, scaled, for every case).
    pub init_seed: u64,
    /// Epochs of SGD after which the gradient norms are measured again (0 = skip).
    pub train_epochs: usize,
    /// The optimizer of that training run.
    pub optimizer: OptimizerConfig,
    /// Batch size of that training run.
    pub batch_size: usize,
    /// Seed of that run's batch order.
    pub seed: u64,
}

impl Default for GradientFlowConfig {
    fn default() -> Self {
        GradientFlowConfig {
            depth: 10,
            width: 32,
            cases: vec![
                FlowCase::new(Activation::Sigmoid, Init::Xavier),
                FlowCase::new(Activation::Tanh, Init::Random { scale: 0.01 }),
                FlowCase::new(Activation::Tanh, Init::Xavier),
                FlowCase::new(Activation::Relu, Init::Random { scale: 1.0 }),
                FlowCase::new(Activation::Relu, Init::He),
            ],
            m: 256,
            data_seed: 1,
            init_seed: 3,
            train_epochs: 5,
            optimizer: OptimizerConfig::Sgd(SgdConfig { lr: 0.05 }),
            batch_size: 32,
            seed: 7,
        }
    }
}

impl GradientFlowConfig {
    /// The failing cases of the default, each without and with batch norm: the vanishing
    /// (sigmoid, whose g' ≤ ¼; tanh with tiny weights) and the exploding (ReLU with N(0, 1)).
    pub fn batch_norm_comparison() -> Self {
        let bad = [
            FlowCase::new(Activation::Sigmoid, Init::Xavier),
            FlowCase::new(Activation::Tanh, Init::Random { scale: 0.01 }),
            FlowCase::new(Activation::Relu, Init::Random { scale: 1.0 }),
        ];
        let cases = bad.iter().flat_map(|c| [*c, c.with_batch_norm()]).collect();
        GradientFlowConfig { cases, ..GradientFlowConfig::default() }
    }
}

/// The measurements of one case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GradientFlowRun {
    /// Which case.
    pub case: FlowCase,
    /// ‖dW[l]‖_F at initialization, layer 1 first.
    pub grad_norms: Vec<f64>,
    /// ‖dW[l]‖_F / √(n_l n_{l−1}), the root-mean-square entry (comparable across layers of
    /// different shapes).
    pub grad_rms: Vec<f64>,
    /// ‖db[l]‖_2 at initialization: db[l] is the batch mean of dZ[l], so this follows the
    /// error signal that backpropagation carries down to layer l.
    pub bias_grad_norms: Vec<f64>,
    /// Standard deviation of the entries of A[l] at initialization for the hidden layers
    /// l = 1..L−1 (the forward signal).
    pub activation_std: Vec<f64>,
    /// J at initialization.
    pub initial_loss: f64,
    /// ‖dW[l]‖_F averaged over the last training epoch (None if `train_epochs` = 0 or the
    /// run diverged).
    pub trained_grad_norms: Option<Vec<f64>>,
    /// J on the batch after training (None if skipped or diverged).
    pub trained_loss: Option<f64>,
    /// Whether the training run diverged.
    pub diverged: bool,
}

impl GradientFlowRun {
    /// ‖dW[1]‖ / ‖dW[L]‖: ≪ 1 when gradients vanish towards the input, ≫ 1 when they explode.
    pub fn first_to_last_ratio(&self) -> f64 {
        match (self.grad_norms.first(), self.grad_norms.last()) {
            (Some(f), Some(l)) if *l > 0.0 => f / l,
            _ => f64::NAN,
        }
    }

    /// The same ratio for the root-mean-square entries.
    pub fn first_to_last_rms_ratio(&self) -> f64 {
        match (self.grad_rms.first(), self.grad_rms.last()) {
            (Some(f), Some(l)) if *l > 0.0 => f / l,
            _ => f64::NAN,
        }
    }
}

/// Result of [`gradient_flow`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GradientFlow {
    /// One record per case, in the order of the config.
    pub runs: Vec<GradientFlowRun>,
    /// [n_0, ..., n_L].
    pub sizes: Vec<usize>,
    /// Epochs of the training run (0 if skipped).
    pub train_epochs: usize,
}

fn std_dev(values: impl Iterator<Item = f64> + Clone) -> f64 {
    let n = values.clone().count().max(1) as f64;
    let mean = values.clone().sum::<f64>() / n;
    (values.map(|v| (v - mean) * (v - mean)).sum::<f64>() / n).sqrt()
}

/// Measures, for each case, the per-layer gradient norms of one backward pass at
/// initialization (and after `train_epochs` of training).
pub fn gradient_flow(config: &GradientFlowConfig) -> Result<GradientFlow> {
    at_least("depth", config.depth, 2)?;
    at_least("width", config.width, 1)?;
    if config.cases.is_empty() {
        return Err(AnnError::EmptyInput("no (activation, init) cases to compare".into()));
    }
    let mut sizes = vec![2];
    sizes.extend(std::iter::repeat_n(config.width, config.depth - 1));
    sizes.push(1);
    let data = two_moons(config.m, 0.2, config.data_seed)?;
    let y = data.targets(Task::Binary);
    let batch = DataView::new(data.x.view(), y.view());
    let mut runs = Vec::with_capacity(config.cases.len());
    for case in &config.cases {
        if case.activation == Activation::Softmax {
            return Err(AnnError::InvalidArchitecture("softmax is not a hidden-layer activation".into()));
        }
        let mut net = Network::new(&sizes, case.activation, Task::Binary, case.init, config.init_seed)?;
        if case.batch_norm {
            net = net.with_normalization(BatchNormConfig::default())?;
        }
        // A training pass (no dropout): batch norm, if any, with the batch's statistics.
        let cache = net.forward_with_masks(batch.x, &Dropout::Off, &vec![None; net.num_layers()])?;
        let initial_loss = net.cost(&cache, batch.y, 0.0)?;
        let grads = net.backward(&cache, batch.y, 0.0)?;
        let grad_norms = grads.dw_norms();
        let of_kind = |kind| grads.iter().filter(move |(id, _)| id.kind == kind).map(|(_, g)| g);
        let grad_rms =
            of_kind(ParamKind::Weight).map(|dw| frobenius(dw.view()) / (dw.len() as f64).sqrt()).collect();
        let bias_grad_norms = of_kind(ParamKind::Bias).map(|db| frobenius(db.view())).collect();
        let activation_std =
            (1..net.num_layers()).filter_map(|l| cache.a(l)).map(|a| std_dev(a.iter().copied())).collect();
        let (mut trained_grad_norms, mut trained_loss, mut diverged) = (None, None, false);
        if config.train_epochs > 0 {
            let tc =
                TrainConfig { batch_size: config.batch_size, seed: config.seed, ..TrainConfig::default() };
            let mut opt = Optimizer::new(config.optimizer)?;
            let run = fit_recorded(&mut net, &mut opt, batch, &tc, config.train_epochs)?;
            diverged = run.diverged.is_some();
            if let Some(h) = run.history {
                trained_grad_norms = h.grad_norms.last().cloned();
                trained_loss = h.final_train_loss();
            }
        }
        runs.push(GradientFlowRun {
            case: *case,
            grad_norms,
            grad_rms,
            bias_grad_norms,
            activation_std,
            initial_loss,
            trained_grad_norms,
            trained_loss,
            diverged,
        });
    }
    Ok(GradientFlow { runs, sizes, train_epochs: config.train_epochs })
}
