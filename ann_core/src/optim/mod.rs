//! Optimizers: how a gradient step changes every parameter θ of the network — W[l], b[l],
//! and a normalized layer's γ[l] and β[l] — by one update rule.
//!
//! Each file is one rule: a config struct with its hyperparameters (`Default` gives the usual
//! values) and its equations for one parameter, entry by entry, one per line.
//! [`OptimizerConfig`] is the list of them. An [`Optimizer`] is one rule at work: its
//! config, its [`OptimizerState`] (t and, per parameter, the rule's running averages,
//! readable for plots) and the network that state belongs to. [`Optimizer::step`] holds the
//! one loop over the network's parameters ([`Network::params_mut`]); a new kind of layer
//! brings its parameters to that list and every rule updates them.
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

use crate::error::{AnnError, Result, bad_hyper, shape_str};
use crate::fast::real::Real;
use crate::fast::update;
use crate::gradients::Gradients;
use crate::network::{Network, NetworkId};
use crate::param::{ParamId, ParamKind};
use ndarray::{Array2, ArrayView2, ArrayViewMut2};
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
    /// Which running averages the rule keeps per parameter: (first, second).
    fn averages(&self) -> (bool, bool);
    /// The rule applied to one parameter θ (with its gradient and running averages) at step
    /// t (counted from 1: this step included).
    fn update(&self, theta: Update<'_>, t: u64);
}

/// One parameter to update: θ, dθ and the rule's running averages of θ (each shaped like θ),
/// with the loop over their entries. A rule's equations for one entry go in as a closure.
pub(crate) struct Update<'a> {
    /// What θ is (AdamW decays weights only).
    pub(crate) kind: ParamKind,
    entries: Entries<'a>,
}

/// θ, dθ and the averages, in the precision they are stored in: f64 (the network's own) or
/// f32 (the fast path's copies while it trains in f32; the equations still run in f64).
pub(crate) enum Entries<'a> {
    F64(Parts<'a, f64>),
    F32(Parts<'a, f32>),
}

pub(crate) struct Parts<'a, F> {
    theta: ArrayViewMut2<'a, F>,
    grad: ArrayView2<'a, F>,
    first: Option<&'a mut Array2<F>>,
    second: Option<&'a mut Array2<F>>,
}

// The averages a rule asks for are there: `Optimizer::step` creates and checks them from the
// rule's `averages()` before any update.
impl<F: Real> Parts<'_, F> {
    fn each(self, rule: impl Fn(&mut f64, f64) + Copy + Sync) {
        update::each_entry(self.theta, self.grad, rule);
    }

    fn each_with(self, first: bool, rule: impl Fn(&mut f64, &mut f64, f64) + Copy + Sync) {
        let average = if first { self.first } else { self.second };
        debug_assert!(average.is_some(), "the rule keeps this average");
        if let Some(s) = average {
            update::each_entry_with(self.theta, s.view_mut(), self.grad, rule);
        }
    }

    fn each_with_both(self, rule: impl Fn(&mut f64, &mut f64, &mut f64, f64) + Copy + Sync) {
        debug_assert!(self.first.is_some() && self.second.is_some(), "the rule keeps both averages");
        if let (Some(m), Some(v)) = (self.first, self.second) {
            update::each_entry_with_two(self.theta, m.view_mut(), v.view_mut(), self.grad, rule);
        }
    }
}

impl Update<'_> {
    /// `rule(θ, dθ)` for every entry.
    pub(crate) fn each(self, rule: impl Fn(&mut f64, f64) + Copy + Sync) {
        match self.entries {
            Entries::F64(p) => p.each(rule),
            Entries::F32(p) => p.each(rule),
        }
    }

    /// `rule(θ, m, dθ)` for every entry, m the first average.
    pub(crate) fn each_with_first(self, rule: impl Fn(&mut f64, &mut f64, f64) + Copy + Sync) {
        match self.entries {
            Entries::F64(p) => p.each_with(true, rule),
            Entries::F32(p) => p.each_with(true, rule),
        }
    }

    /// `rule(θ, v, dθ)` for every entry, v the second average.
    pub(crate) fn each_with_second(self, rule: impl Fn(&mut f64, &mut f64, f64) + Copy + Sync) {
        match self.entries {
            Entries::F64(p) => p.each_with(false, rule),
            Entries::F32(p) => p.each_with(false, rule),
        }
    }

    /// `rule(θ, m, v, dθ)` for every entry, with both averages.
    pub(crate) fn each_with_both(self, rule: impl Fn(&mut f64, &mut f64, &mut f64, f64) + Copy + Sync) {
        match self.entries {
            Entries::F64(p) => p.each_with_both(rule),
            Entries::F32(p) => p.each_with_both(rule),
        }
    }
}

/// One parameter held by the fast path in precision F, for [`Optimizer::update_copies`].
pub(crate) struct ParamCopy<'a, F> {
    pub(crate) kind: ParamKind,
    pub(crate) theta: ArrayViewMut2<'a, F>,
    pub(crate) grad: ArrayView2<'a, F>,
    pub(crate) first: Option<&'a mut Array2<F>>,
    pub(crate) second: Option<&'a mut Array2<F>>,
}

/// The precisions a parameter can be stored in while a rule updates it.
pub(crate) trait Stored: Real {
    /// The entries of one parameter in this precision.
    fn entries(parts: Parts<'_, Self>) -> Entries<'_>;
}

impl Stored for f64 {
    fn entries(parts: Parts<'_, f64>) -> Entries<'_> {
        Entries::F64(parts)
    }
}

impl Stored for f32 {
    fn entries(parts: Parts<'_, f32>) -> Entries<'_> {
        Entries::F32(parts)
    }
}

/// What an optimizer remembers between steps.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct OptimizerState {
    /// t, the number of steps taken (the t of Adam's bias correction 1 − β^t).
    pub t: u64,
    /// One entry per parameter, in the order of [`Network::params`] (empty before the first
    /// step).
    pub params: Vec<ParamState>,
}

/// The running averages an update rule keeps for one parameter θ, each shaped like θ.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParamState {
    /// Which parameter.
    pub id: ParamId,
    /// m, the exponentially weighted average of dθ (the first moment): Momentum's and Adam's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first: Option<Array2<f64>>,
    /// v, the exponentially weighted average of dθ² (the second moment): RMSProp's and Adam's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub second: Option<Array2<f64>>,
}

impl OptimizerState {
    /// m of the parameter `id` (None before the first step, or for a rule without it).
    pub fn first(&self, id: ParamId) -> Option<&Array2<f64>> {
        self.params.iter().find(|p| p.id == id).and_then(|p| p.first.as_ref())
    }

    /// v of the parameter `id` (None before the first step, or for a rule without it).
    pub fn second(&self, id: ParamId) -> Option<&Array2<f64>> {
        self.params.iter().find(|p| p.id == id).and_then(|p| p.second.as_ref())
    }
}

/// An optimizer at work: an update rule with its hyperparameters, its state, and the
/// network that state belongs to.
///
/// The state is created, as zeros shaped like the network's parameters, at the first step,
/// and from then on belongs to that network: a step with another network (another
/// `Network::new`, or a clone) is an error, never a silent reuse of the first network's
/// averages. [`reset`] forgets the state and the network. A clone of an optimizer continues
/// the same state for the same network.
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

    /// One update of every parameter θ of `net` from its gradient dθ in `grads`: the rule's
    /// equations, with its state from the steps before.
    pub fn step(&mut self, net: &mut Network, grads: &Gradients) -> Result<()> {
        grads.check_fits(net)?;
        self.bind(net)?;
        let rule = self.config.rule();
        if self.state.t == 0 {
            // The first step: the rule's running averages start at zero.
            let (first, second) = rule.averages();
            let zeros = |used: bool, dim| used.then(|| Array2::zeros(dim));
            self.state.params = net
                .params()
                .map(|p| ParamState {
                    id: p.id,
                    first: zeros(first, p.value.dim()),
                    second: zeros(second, p.value.dim()),
                })
                .collect();
        }
        self.state.t += 1;
        let t = self.state.t;
        // The one loop: every parameter, its gradient and its averages, in parameter order.
        let params = net.params_mut().zip(grads.iter()).zip(&mut self.state.params);
        for ((theta, (_, grad)), averages) in params {
            let ParamState { first, second, .. } = averages;
            let update = Update {
                kind: theta.id.kind,
                entries: Entries::F64(Parts {
                    theta: theta.value,
                    grad: grad.view(),
                    first: first.as_mut(),
                    second: second.as_mut(),
                }),
            };
            rule.update(update, t);
        }
        Ok(())
    }

    /// Step t of the rule on parameters the fast path holds in its own precision (with their
    /// averages, which it creates as zeros before the first step from
    /// [`Optimizer::averages`]): in f32 each entry goes through the rule's f64 equations and is
    /// rounded back. The optimizer's own state is left as is; the fast path writes its
    /// averages back into it.
    pub(crate) fn update_copies<'a, F: Stored>(
        &self,
        t: u64,
        params: impl Iterator<Item = ParamCopy<'a, F>>,
    ) {
        let rule = self.config.rule();
        for p in params {
            let parts = Parts { theta: p.theta, grad: p.grad, first: p.first, second: p.second };
            rule.update(Update { kind: p.kind, entries: F::entries(parts) }, t);
        }
    }

    /// Which running averages the rule keeps per parameter: (first, second).
    pub(crate) fn averages(&self) -> (bool, bool) {
        self.config.rule().averages()
    }

    /// The state, for the fast path to write its f32 averages back into.
    pub(crate) fn state_mut(&mut self) -> &mut OptimizerState {
        &mut self.state
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

    /// The state has one entry per parameter of `net`, in order, each with the averages of
    /// the rule, shaped like its parameter.
    fn check_state(&self, net: &Network) -> Result<()> {
        let (first, second) = self.config.rule().averages();
        let fits = |used: bool, average: &Option<Array2<f64>>, dim: (usize, usize)| match average {
            Some(a) => used && a.dim() == dim,
            None => !used,
        };
        let mut params = net.params();
        let mut ok = self.state.params.len() == net.params().count();
        for s in &self.state.params {
            ok &= params.next().is_some_and(|p| {
                p.id == s.id && fits(first, &s.first, p.value.dim()) && fits(second, &s.second, p.value.dim())
            });
        }
        if ok {
            return Ok(());
        }
        let got: Vec<String> = (self.state.params.iter())
            .map(|s| {
                let shape =
                    s.first.as_ref().or(s.second.as_ref()).map_or("none".into(), |a| shape_str(a.shape()));
                format!("{} {shape}", s.id)
            })
            .collect();
        let want: Vec<String> =
            net.params().map(|p| format!("{} {}", p.id, shape_str(p.value.shape()))).collect();
        Err(AnnError::OptimizerState(format!(
            "the {} optimizer's averages are for the parameters [{}], but the network's parameters \
             are [{}]",
            self.name(),
            got.join(", "),
            want.join(", ")
        )))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activation::Activation;
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
        let start = crate::matrix_norm::frobenius(net.layers()[0].w.view());
        for _ in 0..200 {
            let grads = Gradients::new(net.params().map(|p| (p.id, p.value.to_owned())).collect());
            opt.step(&mut net, &grads).unwrap();
        }
        crate::matrix_norm::frobenius(net.layers()[0].w.view()) / start
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
        // m shaped like another network's parameters, v like this one's.
        let other = Network::new(&[3, 5, 2], Activation::Tanh, Task::Regression, Init::He, 1).unwrap();
        opt.state.params = net
            .params()
            .zip(other.params())
            .map(|(p, q)| ParamState {
                id: p.id,
                first: Some(Array2::zeros(q.value.dim())),
                second: Some(Array2::zeros(p.value.dim())),
            })
            .collect();
        let grads = Gradients::zeros_like(&net);
        let err = opt.step(&mut net, &grads).unwrap_err();
        assert!(err.to_string().contains("(5, 3)"), "{err}");
    }
}
