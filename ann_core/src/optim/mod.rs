//! Optimizers: how a gradient step changes W[l] and b[l] (and a batch-normalized layer's
//! γ[l] and β[l], by the same rule).
//!
//! Each file is one update rule: a config struct with its hyperparameters (`Default` gives
//! the usual values) and its equations, one per line. [`OptimizerConfig`] is the list of
//! them. An [`Optimizer`] is one rule at work: its config, its [`OptimizerState`] (the
//! running averages, readable for plots) and the network that state belongs to.
//!
//! ```
//! use ann_core::*;
//! let mut net = Network::new(&[2, 3, 1], Activation::Relu, Task::Binary, Init::He, 0)?;
//! let mut adam = Optimizer::new(AdamConfig { lr: 0.01, ..AdamConfig::default() })?;
//! let grads = Gradients::zeros_like(&net);
//! adam.step(&mut net, &grads)?;
//! assert_eq!(adam.state().t, 1);
//! // The state belongs to `net`: another network is an error, not a silent reuse.
//! let mut other = net.clone();
//! assert!(adam.step(&mut other, &grads).is_err());
//! # Ok::<(), AnnError>(())
//! ```

mod adam;
mod adamw;
mod momentum;
mod rmsprop;
mod sgd;

pub use adam::AdamConfig;
pub use adamw::AdamWConfig;
pub use momentum::MomentumConfig;
pub use rmsprop::RmsPropConfig;
pub use sgd::SgdConfig;

use crate::backward::{Gradients, LayerGrad};
use crate::batchnorm::GammaBeta;
use crate::error::{AnnError, Result, bad_hyper, shape_str};
use crate::fast::{each_entry, each_entry1, each_entry2};
use crate::layer::Layer;
use crate::network::{Network, NetworkId};
use ndarray::Array2;
use serde::{Deserialize, Serialize};

/// The optimizers of the course, each with its hyperparameters.
///
/// `Display` gives a legend, e.g. "Momentum (α = 0.1, β = 0.9)".
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum OptimizerConfig {
    /// θ ← θ − α dθ.
    Sgd(SgdConfig),
    /// m = β m + (1 − β) dθ,  θ ← θ − α m (m, the velocity).
    Momentum(MomentumConfig),
    /// v = β v + (1 − β) dθ²,  θ ← θ − α dθ / (√v + ε).
    RmsProp(RmsPropConfig),
    /// θ ← θ − α m̂ / (√v̂ + ε) with bias-corrected moments.
    Adam(AdamConfig),
    /// Adam with decoupled weight decay: W ← W − α (m̂ / (√v̂ + ε) + λ W).
    AdamW(AdamWConfig),
}

impl OptimizerConfig {
    /// The rule behind the config: the one place that lists every optimizer.
    fn rule(&self) -> &dyn Rule {
        match self {
            OptimizerConfig::Sgd(c) => c,
            OptimizerConfig::Momentum(c) => c,
            OptimizerConfig::RmsProp(c) => c,
            OptimizerConfig::Adam(c) => c,
            OptimizerConfig::AdamW(c) => c,
        }
    }

    fn rule_mut(&mut self) -> &mut dyn Rule {
        match self {
            OptimizerConfig::Sgd(c) => c,
            OptimizerConfig::Momentum(c) => c,
            OptimizerConfig::RmsProp(c) => c,
            OptimizerConfig::Adam(c) => c,
            OptimizerConfig::AdamW(c) => c,
        }
    }

    /// Short name, e.g. "RMSProp".
    pub fn name(&self) -> &'static str {
        self.rule().name()
    }

    /// The learning rate α.
    pub fn learning_rate(&self) -> f64 {
        *self.rule().lr()
    }

    /// Checks every hyperparameter (α > 0, β in [0, 1), ε > 0, ...).
    pub fn validate(&self) -> Result<()> {
        check_lr(self.learning_rate())?;
        self.rule().validate()
    }
}

impl std::fmt::Display for OptimizerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.rule().label())
    }
}

/// What every update rule provides; implemented by each config struct.
trait Rule {
    /// Name for legends, e.g. "Adam".
    fn name(&self) -> &'static str;
    /// Legend with the hyperparameters, e.g. "Adam (α = 0.01)".
    fn label(&self) -> String;
    /// α.
    fn lr(&self) -> &f64;
    /// α, to change it (learning-rate schedules).
    fn lr_mut(&mut self) -> &mut f64;
    /// Checks the hyperparameters other than α.
    fn validate(&self) -> Result<()>;
    /// Which running averages the rule keeps: (first, second).
    fn averages(&self) -> (bool, bool);
    /// One update of every W[l], b[l] from `grads` (shapes already checked); `state.t` already
    /// counts this step.
    fn step(&self, state: &mut OptimizerState, net: &mut Network, grads: &Gradients);
}

/// A running quantity with the shapes of one layer's parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Moments {
    /// Same shape as W[l].
    pub w: Array2<f64>,
    /// Same shape as b[l].
    pub b: Array2<f64>,
    /// Same shapes as γ[l] and β[l] of a batch-normalized layer; None otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub norm: Option<GammaBeta>,
}

/// What an optimizer remembers between steps; each list has one entry per layer, layer 1
/// first, and is empty when the rule keeps no such average.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct OptimizerState {
    /// t, the number of steps taken (the t of Adam's bias correction 1 − β^t).
    pub t: u64,
    /// m, the exponentially weighted average of dθ (the first moment): Momentum's and Adam's.
    pub first: Vec<Moments>,
    /// v, the exponentially weighted average of dθ² (the second moment): RMSProp's and Adam's.
    pub second: Vec<Moments>,
}

/// An optimizer at work: an update rule with its hyperparameters, its state, and the
/// network that state belongs to.
///
/// The state is created, as zeros shaped like the network, at the first step, and from then
/// on belongs to that network: a step with another network (another `Network::new`, or a
/// clone) is an error, never a silent reuse of the first network's averages. [`reset`]
/// forgets the state and the network. A clone of an optimizer continues the same state for
/// the same network.
///
/// [`reset`]: Optimizer::reset
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Optimizer {
    config: OptimizerConfig,
    state: OptimizerState,
    #[serde(skip)]
    network: Option<NetworkId>,
}

impl PartialEq for Optimizer {
    /// The same rule, hyperparameters and state (whichever network the state belongs to).
    fn eq(&self, other: &Self) -> bool {
        self.config == other.config && self.state == other.state
    }
}

impl Optimizer {
    /// An optimizer with no state yet, after checking the hyperparameters.
    pub fn new(config: impl Into<OptimizerConfig>) -> Result<Self> {
        let config = config.into();
        config.validate()?;
        Ok(Optimizer { config, state: OptimizerState::default(), network: None })
    }

    /// An optimizer that goes on from `state` (e.g. the state of a run to be continued).
    /// The state belongs to the first network it steps, which must have its shapes.
    pub fn with_state(config: impl Into<OptimizerConfig>, state: OptimizerState) -> Result<Self> {
        Ok(Optimizer { state, ..Optimizer::new(config)? })
    }

    /// The rule and its hyperparameters.
    pub fn config(&self) -> &OptimizerConfig {
        &self.config
    }

    /// The running averages and the step count.
    pub fn state(&self) -> &OptimizerState {
        &self.state
    }

    /// Name for legends, e.g. "Adam".
    pub fn name(&self) -> &'static str {
        self.config.name()
    }

    /// The current learning rate α.
    pub fn learning_rate(&self) -> f64 {
        self.config.learning_rate()
    }

    /// Changes α (learning-rate schedules); α must be finite and > 0.
    pub fn set_learning_rate(&mut self, lr: f64) -> Result<()> {
        *self.config.rule_mut().lr_mut() = check_lr(lr)?;
        Ok(())
    }

    /// Applies one update to every W[l], b[l] of `net` from `grads`: the rule's equations,
    /// with its state from the steps before.
    pub fn step(&mut self, net: &mut Network, grads: &Gradients) -> Result<()> {
        check_grads(net, grads)?;
        self.bind(net)?;
        if self.state.t == 0 {
            // The first step: the rule's running averages start at zero.
            let (first, second) = self.config.rule().averages();
            self.state.first = if first { zeros_like(net) } else { Vec::new() };
            self.state.second = if second { zeros_like(net) } else { Vec::new() };
        }
        self.state.t += 1;
        self.config.rule().step(&mut self.state, net, grads);
        Ok(())
    }

    /// Forgets the state and the network it belonged to (as if freshly built).
    pub fn reset(&mut self) {
        self.state = OptimizerState::default();
        self.network = None;
    }

    /// Makes the state belong to `net`, or fails if it belongs to another network or does
    /// not fit this one (a state read from a file).
    pub(crate) fn bind(&mut self, net: &Network) -> Result<()> {
        if let Some(id) = self.network
            && id != net.id()
        {
            return Err(AnnError::OptimizerState(format!(
                "this {} optimizer has taken {} steps on another network; its averages do not \
                 belong to this one (layer sizes {:?}): create a new optimizer for it, or call \
                 reset() on this one",
                self.name(),
                self.state.t,
                net.sizes()
            )));
        }
        if self.state != OptimizerState::default() {
            self.check_state(net)?;
        }
        self.network = Some(net.id());
        Ok(())
    }

    /// The averages have the rule's lists, each shaped like `net`'s parameters.
    fn check_state(&self, net: &Network) -> Result<()> {
        let (first, second) = self.config.rule().averages();
        for (name, used, list) in
            [("first", first, &self.state.first), ("second", second, &self.state.second)]
        {
            let fits = if used {
                list.len() == net.num_layers()
                    && list.iter().zip(net.layers()).all(|(s, l)| {
                        s.w.dim() == l.w.dim()
                            && s.b.dim() == l.b.dim()
                            && GammaBeta::matches(s.norm.as_ref(), l.batch_norm.as_ref())
                    })
            } else {
                list.is_empty()
            };
            if !fits {
                let got: Vec<String> = list
                    .iter()
                    .map(|s| {
                        format!(
                            "{}{}",
                            shape_str(s.w.shape()),
                            if s.norm.is_some() { " + batch norm" } else { "" }
                        )
                    })
                    .collect();
                let want: Vec<&str> = net
                    .layers()
                    .iter()
                    .map(|l| if l.batch_norm.is_some() { "batch norm" } else { "-" })
                    .collect();
                return Err(AnnError::OptimizerState(format!(
                    "the {} optimizer's {name} averages have W shapes [{}], but the network \
                     has layer sizes {:?} (batch norm per layer: [{}])",
                    self.name(),
                    got.join(", "),
                    net.sizes(),
                    want.join(", ")
                )));
            }
        }
        Ok(())
    }
}

/// Zeros shaped like every layer's W[l] and b[l] (and γ[l], β[l]).
fn zeros_like(net: &Network) -> Vec<Moments> {
    net.layers()
        .iter()
        .map(|l| Moments {
            w: Array2::zeros(l.w.dim()),
            b: Array2::zeros(l.b.dim()),
            norm: l.batch_norm.as_ref().map(GammaBeta::zeros_like),
        })
        .collect()
}

// A batch-normalized layer's γ and β are parameters like b: each rule applies to them the
// update it applies to b, through one of these (which do nothing for other layers).

/// `rule(θ, dθ)` for γ[l] and β[l].
fn norm_step(layer: &mut Layer, g: &LayerGrad, rule: impl Fn(&mut f64, f64) + Copy + Sync) {
    if let (Some(bn), Some(d)) = (&mut layer.batch_norm, &g.norm) {
        each_entry(&mut bn.gamma, &d.gamma, rule);
        each_entry(&mut bn.beta, &d.beta, rule);
    }
}

/// `rule(θ, s, dθ)` for γ[l] and β[l] with their running average in `s`.
fn norm_step1(
    layer: &mut Layer,
    s: &mut Moments,
    g: &LayerGrad,
    rule: impl Fn(&mut f64, &mut f64, f64) + Copy + Sync,
) {
    if let (Some(bn), Some(s), Some(d)) = (&mut layer.batch_norm, &mut s.norm, &g.norm) {
        each_entry1(&mut bn.gamma, &mut s.gamma, &d.gamma, rule);
        each_entry1(&mut bn.beta, &mut s.beta, &d.beta, rule);
    }
}

/// `rule(θ, s1, s2, dθ)` for γ[l] and β[l] with their two running averages.
fn norm_step2(
    layer: &mut Layer,
    s1: &mut Moments,
    s2: &mut Moments,
    g: &LayerGrad,
    rule: impl Fn(&mut f64, &mut f64, &mut f64, f64) + Copy + Sync,
) {
    if let (Some(bn), Some(s1), Some(s2), Some(d)) =
        (&mut layer.batch_norm, &mut s1.norm, &mut s2.norm, &g.norm)
    {
        each_entry2(&mut bn.gamma, &mut s1.gamma, &mut s2.gamma, &d.gamma, rule);
        each_entry2(&mut bn.beta, &mut s1.beta, &mut s2.beta, &d.beta, rule);
    }
}

fn check_lr(lr: f64) -> Result<f64> {
    if lr.is_finite() && lr > 0.0 {
        Ok(lr)
    } else {
        Err(bad_hyper("learning_rate", lr, "must be finite and > 0"))
    }
}

fn check_beta(name: &str, beta: f64) -> Result<()> {
    if (0.0..1.0).contains(&beta) { Ok(()) } else { Err(bad_hyper(name, beta, "must lie in [0, 1)")) }
}

fn check_eps(eps: f64) -> Result<()> {
    if eps.is_finite() && eps > 0.0 {
        Ok(())
    } else {
        Err(bad_hyper("epsilon", eps, "must be finite and > 0"))
    }
}

/// Checks that `grads` match `net` layer by layer.
fn check_grads(net: &Network, grads: &Gradients) -> Result<()> {
    if grads.layers.len() != net.num_layers() {
        return Err(AnnError::ShapeMismatch {
            context: "gradients (one entry per layer)".into(),
            expected: format!("{} layers", net.num_layers()),
            got: format!("{} layers", grads.layers.len()),
        });
    }
    for (i, (g, l)) in grads.layers.iter().zip(net.layers()).enumerate() {
        if g.dw.dim() != l.w.dim() || g.db.dim() != l.b.dim() {
            return Err(AnnError::ShapeMismatch {
                context: format!("dW[{0}], db[{0}] vs W[{0}], b[{0}]", i + 1),
                expected: format!("{} and {}", shape_str(l.w.shape()), shape_str(l.b.shape())),
                got: format!("{} and {}", shape_str(g.dw.shape()), shape_str(g.db.shape())),
            });
        }
        if !GammaBeta::matches(g.norm.as_ref(), l.batch_norm.as_ref()) {
            let shape =
                |present: bool| if present { format!("({}, 1) each", l.units()) } else { "none".into() };
            return Err(AnnError::ShapeMismatch {
                context: format!("dγ[{0}], dβ[{0}] vs the batch norm of layer {0}", i + 1),
                expected: shape(l.batch_norm.is_some()),
                got: g.norm.as_ref().map_or("none".into(), |d| shape_str(d.gamma.shape())),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activation::Activation;
    use crate::backward::LayerGrad;
    use crate::init::Init;
    use crate::network::Task;

    fn all() -> [OptimizerConfig; 5] {
        [
            SgdConfig { lr: 0.1 }.into(),
            MomentumConfig { lr: 0.1, beta: 0.9 }.into(),
            RmsPropConfig { lr: 0.01, ..RmsPropConfig::default() }.into(),
            AdamConfig { lr: 0.01, ..AdamConfig::default() }.into(),
            AdamWConfig { lr: 0.01, ..AdamWConfig::default() }.into(),
        ]
    }

    fn quadratic_descent(opt: &mut Optimizer) -> f64 {
        // J = ½‖W‖² on a 1-layer net: dW = W, so every optimizer must shrink W.
        let mut net = Network::new(&[3, 2], Activation::Linear, Task::Regression, Init::He, 1).unwrap();
        let start = crate::fast::frobenius(net.layers()[0].w.view());
        for _ in 0..200 {
            let grads = Gradients {
                layers: net.layers().iter().map(|l| LayerGrad::new(l.w.clone(), l.b.clone())).collect(),
            };
            opt.step(&mut net, &grads).unwrap();
        }
        crate::fast::frobenius(net.layers()[0].w.view()) / start
    }

    #[test]
    fn every_optimizer_descends_a_quadratic() {
        for config in all() {
            let mut opt = Optimizer::new(config).unwrap();
            let ratio = quadratic_descent(&mut opt);
            assert!(ratio < 0.5, "{config} only shrank W to {ratio}");
            assert!(config.to_string().starts_with(config.name()));
            assert_eq!(opt.state().t, 200);
        }
    }

    #[test]
    fn hyperparameters_are_validated() {
        assert!(Optimizer::new(SgdConfig { lr: 0.0 }).is_err());
        assert!(Optimizer::new(SgdConfig { lr: f64::NAN }).is_err());
        assert!(Optimizer::new(MomentumConfig { lr: 0.1, beta: 1.0 }).is_err());
        assert!(Optimizer::new(RmsPropConfig { eps: 0.0, ..RmsPropConfig::default() }).is_err());
        assert!(Optimizer::new(AdamConfig { beta2: 1.5, ..AdamConfig::default() }).is_err());
        assert!(Optimizer::new(AdamWConfig { weight_decay: -0.1, ..AdamWConfig::default() }).is_err());
        let mut a = Optimizer::new(AdamConfig::default()).unwrap();
        assert!(a.set_learning_rate(-1.0).is_err());
        a.set_learning_rate(0.5).unwrap();
        assert_eq!(a.learning_rate(), 0.5);
    }

    #[test]
    fn mismatched_gradients_are_an_error() {
        let mut net = Network::new(&[3, 2], Activation::Linear, Task::Regression, Init::He, 1).unwrap();
        let other = Network::new(&[4, 2], Activation::Linear, Task::Regression, Init::He, 1).unwrap();
        let grads = Gradients::zeros_like(&other);
        let err = Optimizer::new(SgdConfig::default()).unwrap().step(&mut net, &grads).unwrap_err();
        assert!(err.to_string().contains("(2, 3)") && err.to_string().contains("(2, 4)"), "{err}");
    }

    /// An optimizer's state belongs to the network of its first step: another network with
    /// the same shapes, or with other shapes, is an error for every rule (even SGD, whose
    /// state is only t), and `reset` frees it.
    #[test]
    fn state_never_moves_silently_to_another_network() {
        let sizes = [3, 4, 2];
        let mut net = Network::new(&sizes, Activation::Tanh, Task::Regression, Init::He, 1).unwrap();
        let mut same_shapes = Network::new(&sizes, Activation::Tanh, Task::Regression, Init::He, 2).unwrap();
        let mut other_shapes =
            Network::new(&[3, 5, 2], Activation::Tanh, Task::Regression, Init::He, 1).unwrap();
        let zeros = |net: &Network| Gradients::zeros_like(net);
        let (g_net, g_same, g_other) = (zeros(&net), zeros(&same_shapes), zeros(&other_shapes));
        for config in all() {
            let mut opt = Optimizer::new(config).unwrap();
            opt.step(&mut net, &g_net).unwrap();
            let before = (same_shapes.clone(), opt.clone());
            let err = opt.step(&mut same_shapes, &g_same).unwrap_err();
            assert!(
                matches!(err, AnnError::OptimizerState(_)) && err.to_string().contains("another network"),
                "{err}"
            );
            let err = opt.step(&mut other_shapes, &g_other).unwrap_err();
            assert!(matches!(err, AnnError::OptimizerState(_)), "{config}: {err}");
            // Nothing changed: neither the network nor the optimizer's state and t.
            assert_eq!((&same_shapes, &opt), (&before.0, &before.1));
            // A clone of the network is another network too.
            let mut copy = net.clone();
            assert!(opt.step(&mut copy, &g_net).is_err());
            // The same network goes on; after reset, any network.
            opt.step(&mut net, &g_net).unwrap();
            assert_eq!(opt.state().t, 2);
            opt.reset();
            opt.step(&mut other_shapes, &g_other).unwrap();
            assert_eq!(opt.state().t, 1);
        }
    }

    #[test]
    fn a_state_that_does_not_fit_the_network_is_an_error() {
        let mut net = Network::new(&[3, 4, 2], Activation::Tanh, Task::Regression, Init::He, 1).unwrap();
        let mut opt = Optimizer::new(AdamConfig::default()).unwrap();
        opt.state.t = 5;
        opt.state.second = zeros_like(&net);
        opt.state.first =
            zeros_like(&Network::new(&[3, 5, 2], Activation::Tanh, Task::Regression, Init::He, 1).unwrap());
        let grads = Gradients::zeros_like(&net);
        let err = opt.step(&mut net, &grads).unwrap_err();
        assert!(err.to_string().contains("(5, 3)"), "{err}");
    }
}
