//! The health of a network during a real training run, layer by layer: the statistics a
//! practitioner watches (Karpathy's "recipe for training neural networks", CS231n's
//! "babysitting the learning process").
//!
//! A [`HealthRecorder`] is an [`Observer`]: attached to a run with
//! `Trainer::new(..).observer(&mut recorder)`, it reads after every `every`-th step t, for
//! every layer l = 1..=L (hidden and output):
//!
//! - the relative update r[l]_t = ‖W[l]_t − W[l]_{t−1}‖_F / ‖W[l]_{t−1}‖_F (healthy: around
//!   10⁻³; much smaller, learning too slowly; much larger, unstable);
//! - the activations A[l] of the mini-batch: their mean and standard deviation, and the share
//!   of them in the flat region of g\[l\] (ReLU units at zero, tanh and sigmoid units
//!   saturated), where g\[l\]′ ≈ 0 and no gradient passes;
//! - the gradient dW[l] = ∂J{t}/∂W[l] that was applied: the standard deviation of its entries
//!   and its size relative to the weights, ‖dW[l]‖_F / ‖W[l]_{t−1}‖_F.
//!
//! ```
//! use ann_core::*;
//! use ann_plot::experiments::HealthRecorder;
//! let data = two_moons(256, 0.2, 1)?;
//! let y = data.targets(Task::Binary);
//! let mut net = Network::new(&[2, 16, 16, 1], Activation::Relu, Task::Binary, Init::He, 3)?;
//! let mut recorder = HealthRecorder::new(&net);
//! let config = TrainConfig { batch_size: 32, ..TrainConfig::default() };
//! Trainer::new(&config, 2).observer(&mut recorder).fit(&mut net, &mut Optimizer::adam(0.005)?, (&data.x, &y))?;
//! let health = recorder.finish()?;
//! assert_eq!(health.steps.len(), 2 * 8);
//! assert_eq!(health.layers[0].update_ratio.len(), 2 * 8);
//! # Ok::<(), AnnError>(())
//! ```

use ann_core::error::{AnnError, Result, bad_hyper, shape_str};
use ann_core::{Activation, LayerKind, Network, Observer, StepInfo, frobenius};
use ndarray::{Array2, ArrayView2, Zip};
use serde::{Deserialize, Serialize};

/// Where g\[l\] is flat (g\[l\]′ ≈ 0, so almost no gradient flows back through the unit), decided
/// on Z[l], the input of g\[l\] (Z̃[l] in a normalized layer): before dropout and pooling, so a
/// dropped or pooled-away unit is not counted as dead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FlatRegion {
    /// ReLU: Z[l]_{ij} ≤ 0, so A[l]_{ij} = 0 and g′ = 0 ("dead" on this example).
    ReluZero,
    /// tanh: |A[l]_{ij}| = |tanh Z[l]_{ij}| > 0.99, so g′ = 1 − A² < 0.02.
    TanhSaturated,
    /// sigmoid: A[l]_{ij} = σ(Z[l]_{ij}) < 0.01 or > 0.99, so g′ = A (1 − A) < 0.0099.
    SigmoidSaturated,
}

impl FlatRegion {
    /// The flat region of `g`, if it has one that stops the gradient: ReLU, tanh and sigmoid.
    /// Leaky ReLU and GELU pass a gradient for every z, linear is never flat, and the
    /// entries of a softmax sum to 1, so K − 1 of them near 0 is its normal, confident state
    /// rather than a saturation: None for these.
    pub fn of(g: Activation) -> Option<FlatRegion> {
        match g {
            Activation::Relu => Some(FlatRegion::ReluZero),
            Activation::Tanh => Some(FlatRegion::TanhSaturated),
            Activation::Sigmoid => Some(FlatRegion::SigmoidSaturated),
            Activation::LeakyRelu(_) | Activation::Gelu | Activation::Softmax | Activation::Linear => None,
        }
    }

    /// Whether g(z) lies in the flat region.
    pub fn contains(self, z: f64) -> bool {
        match self {
            FlatRegion::ReluZero => z <= 0.0,
            FlatRegion::TanhSaturated => z.tanh().abs() > 0.99,
            FlatRegion::SigmoidSaturated => {
                let a = ann_core::sigmoid(z);
                !(0.01..=0.99).contains(&a)
            }
        }
    }

    /// A short name for legends: "dead (A = 0)", "saturated (|A| > 0.99)" or
    /// "saturated (A < 0.01 or > 0.99)".
    pub fn label(self) -> &'static str {
        match self {
            FlatRegion::ReluZero => "dead (A = 0)",
            FlatRegion::TanhSaturated => "saturated (|A| > 0.99)",
            FlatRegion::SigmoidSaturated => "saturated (A < 0.01 or > 0.99)",
        }
    }
}

/// What a [`HealthRecorder`] measured in one layer l, one entry per recorded step (the steps
/// of [`NetworkHealth::steps`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerHealth {
    /// l, counted from 1.
    pub layer: usize,
    /// g\[l\].
    pub activation: Activation,
    /// n_l, the rows of A[l] (F·H′·W′ for a convolutional layer: one row per filter and
    /// position of its output).
    pub units: usize,
    /// Whether the layer is convolutional (then W[l] is (F, C·k·k) and A[l] may be pooled).
    pub convolutional: bool,
    /// The flat region of g\[l\] counted in [`Self::flat_fraction`] and [`Self::dead_units`];
    /// None for an activation without one (both vectors are then empty).
    pub flat_region: Option<FlatRegion>,
    /// r[l]_t = ‖W[l]_t − W[l]_{t−1}‖_F / ‖W[l]_{t−1}‖_F: the size of step t's update relative to
    /// the weights it changed (NaN where ‖W[l]_{t−1}‖_F = 0).
    pub update_ratio: Vec<f64>,
    /// μ = (1 / (n_l m)) Σ_{ij} A[l]_{ij}, the mean activation on the mini-batch (A[l] as the
    /// next layer sees it: after dropout and pooling).
    pub activation_mean: Vec<f64>,
    /// σ = √((1 / (n_l m)) Σ_{ij} (A[l]_{ij} − μ)²), the spread of the activations on the
    /// mini-batch.
    pub activation_std: Vec<f64>,
    /// The share of the n_l · m entries of the mini-batch whose Z[l]_{ij} lies in the
    /// [`FlatRegion`] of g\[l\] (for ReLU: the share of A[l] at zero before dropout), in [0, 1].
    pub flat_fraction: Vec<f64>,
    /// The share of the n_l units that are in the flat region for all m examples of the
    /// mini-batch (for ReLU: dead on this batch, no gradient reaches their weights), in [0, 1].
    pub dead_units: Vec<f64>,
    /// The standard deviation of the entries of dW[l], the gradient applied at step t:
    /// √((1/n) Σ (dW[l]_{ij} − mean)²) over its n entries.
    pub grad_std: Vec<f64>,
    /// ‖dW[l]‖_F / ‖W[l]_{t−1}‖_F, the gradient relative to the weights it was computed at
    /// (for plain gradient descent, r[l]_t = α times this; NaN where ‖W[l]_{t−1}‖_F = 0).
    pub grad_ratio: Vec<f64>,
}

impl LayerHealth {
    fn new(layer: usize, net: &Network) -> Self {
        let spec = &net.layers()[layer - 1];
        LayerHealth {
            layer,
            activation: spec.activation,
            units: spec.units(),
            convolutional: matches!(spec.kind, LayerKind::Conv2d(_)),
            flat_region: FlatRegion::of(spec.activation),
            update_ratio: Vec::new(),
            activation_mean: Vec::new(),
            activation_std: Vec::new(),
            flat_fraction: Vec::new(),
            dead_units: Vec::new(),
            grad_std: Vec::new(),
            grad_ratio: Vec::new(),
        }
    }

    /// The median of r[l]_t over the recorded steps (NaN values left out; None if none is
    /// left).
    pub fn median_update_ratio(&self) -> Option<f64> {
        median(&self.update_ratio)
    }
}

/// The median of the finite values, None if there are none.
fn median(values: &[f64]) -> Option<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 { v[n / 2] } else { 0.5 * (v[n / 2 - 1] + v[n / 2]) })
}

/// What a [`HealthRecorder`] recorded over a run: the recorded steps and, per layer, the
/// statistics of each ([`LayerHealth`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetworkHealth {
    /// The network, in words ([`Network::architecture`]).
    pub architecture: String,
    /// One step in `every` was recorded.
    pub every: usize,
    /// t of each recorded step: the number of updates made so far, counted from 1 (the
    /// optimizer's t; [`StepInfo::step`] + 1 in a run that the recorder followed from its start).
    pub steps: Vec<usize>,
    /// The epoch (0-based) of each recorded step.
    pub epochs: Vec<usize>,
    /// J{t}, the mini-batch loss of each recorded step (before its update).
    pub loss: Vec<f64>,
    /// Layers 1..=L, in order.
    pub layers: Vec<LayerHealth>,
}

/// Records the health of every layer of a network while it trains: an [`Observer`] that reads
/// the network after each update, the gradients applied and the forward cache of the
/// mini-batch (see the [module documentation](self) for the quantities).
///
/// It keeps a copy of every W[l] from before the recorded updates (taken from the network
/// given to [`HealthRecorder::new`] for step 1), so it follows one network through
/// consecutive steps: weights changed between two steps by anything but the optimizer count
/// in the next update. Dense and convolutional layers are recorded alike (for a
/// convolutional layer, W[l] is its filters, A[l] its pooled output).
#[derive(Debug, Clone)]
pub struct HealthRecorder {
    every: usize,
    /// Steps seen so far.
    seen: usize,
    /// W[l] before the next recorded update.
    before: Vec<Array2<f64>>,
    health: NetworkHealth,
    /// The first way the observed steps did not fit the network given to `new`.
    mismatch: Option<AnnError>,
}

impl HealthRecorder {
    /// A recorder of every step of the training of `net` (its weights now are the weights
    /// before step 1).
    pub fn new(net: &Network) -> Self {
        HealthRecorder {
            every: 1,
            seen: 0,
            before: net.layers().iter().map(|l| l.w.clone()).collect(),
            health: NetworkHealth {
                architecture: net.architecture(),
                every: 1,
                steps: Vec::new(),
                epochs: Vec::new(),
                loss: Vec::new(),
                layers: (1..=net.num_layers()).map(|l| LayerHealth::new(l, net)).collect(),
            },
            mismatch: None,
        }
    }

    /// Records only the steps t = every, 2·every, … (to keep long runs light). Errors for 0.
    pub fn every(mut self, every: usize) -> Result<Self> {
        if every == 0 {
            return Err(bad_hyper("every", every, "must be at least 1"));
        }
        self.every = every;
        self.health.every = every;
        Ok(self)
    }

    /// What was recorded. Errors if the observed run did not train the network given to
    /// [`HealthRecorder::new`] (another number of layers, or a W[l] or dW[l] of another shape).
    pub fn finish(self) -> Result<NetworkHealth> {
        match self.mismatch {
            Some(e) => Err(e),
            None => Ok(self.health),
        }
    }

    /// The recording so far (for a look during a long run).
    pub fn health(&self) -> &NetworkHealth {
        &self.health
    }

    /// Fails unless step `info` trains a network shaped like the one given to `new`.
    fn check(&self, info: &StepInfo<'_>) -> Result<()> {
        let layers = info.network.layers();
        if layers.len() != self.before.len() {
            return Err(AnnError::ShapeMismatch {
                context: "the network a health recorder observes (the one given to HealthRecorder::new)"
                    .into(),
                expected: format!("{} layers", self.before.len()),
                got: format!("{} layers", layers.len()),
            });
        }
        for (i, (layer, before)) in layers.iter().zip(&self.before).enumerate() {
            let l = i + 1;
            let dw = info.gradients.dw(l).map(|g| g.dim());
            if layer.w.dim() != before.dim() || dw != Some(before.dim()) {
                return Err(AnnError::ShapeMismatch {
                    context: format!("W[{l}] and dW[{l}] observed by a health recorder"),
                    expected: shape_str(before.shape()),
                    got: format!(
                        "W[{l}] {}, dW[{l}] {}",
                        shape_str(layer.w.shape()),
                        dw.map_or("missing".into(), |(r, c)| format!("({r}, {c})"))
                    ),
                });
            }
        }
        Ok(())
    }

    fn record(&mut self, info: &StepInfo<'_>, t: usize) {
        self.health.steps.push(t);
        self.health.epochs.push(info.epoch);
        self.health.loss.push(info.loss);
        for (i, rec) in self.health.layers.iter_mut().enumerate() {
            let l = i + 1;
            let (w, before) = (&info.network.layers()[i].w, &self.before[i]);
            let w_norm = frobenius(before.view());
            let mut delta_sq = 0.0;
            Zip::from(w).and(before).for_each(|&a, &b| delta_sq += (a - b) * (a - b));
            rec.update_ratio.push(ratio(delta_sq.sqrt(), w_norm));
            let (mean, std) = info.cache.a(l).map_or((f64::NAN, f64::NAN), mean_std);
            rec.activation_mean.push(mean);
            rec.activation_std.push(std);
            if let (Some(region), Some(z)) = (rec.flat_region, info.cache.z(l)) {
                let (entries, units) = flat_shares(z, region);
                rec.flat_fraction.push(entries);
                rec.dead_units.push(units);
            }
            let dw = info.gradients.dw(l).expect("checked: dW[l] exists");
            rec.grad_std.push(mean_std(dw.view()).1);
            rec.grad_ratio.push(ratio(frobenius(dw.view()), w_norm));
        }
    }
}

/// a / b, NaN where b = 0 (a ratio to nothing is undefined).
fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 { a / b } else { f64::NAN }
}

/// (mean, standard deviation) of the entries (population form, 1/n).
fn mean_std(x: ArrayView2<f64>) -> (f64, f64) {
    let n = x.len();
    if n == 0 {
        return (f64::NAN, f64::NAN);
    }
    let mean = x.sum() / n as f64;
    let var = x.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n as f64;
    (mean, var.sqrt())
}

/// (share of the entries of Z in `region`, share of the rows with all entries in it).
fn flat_shares(z: ArrayView2<f64>, region: FlatRegion) -> (f64, f64) {
    let (mut flat, mut dead) = (0usize, 0usize);
    for row in z.rows() {
        let k = row.iter().filter(|&&v| region.contains(v)).count();
        flat += k;
        dead += usize::from(k == row.len());
    }
    let (n, rows) = (z.len().max(1) as f64, z.nrows().max(1) as f64);
    (flat as f64 / n, dead as f64 / rows)
}

impl Observer for HealthRecorder {
    fn on_step(&mut self, info: &StepInfo<'_>) {
        if self.mismatch.is_some() {
            return;
        }
        if let Err(e) = self.check(info) {
            self.mismatch = Some(e);
            return;
        }
        self.seen += 1;
        let t = self.seen;
        if t.is_multiple_of(self.every) {
            self.record(info, t);
        }
        // The weights before the next recorded update are the ones after this step.
        if (t + 1).is_multiple_of(self.every) {
            for (before, layer) in self.before.iter_mut().zip(info.network.layers()) {
                before.assign(&layer.w);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn flat_regions_and_shares() {
        assert_eq!(FlatRegion::of(Activation::Relu), Some(FlatRegion::ReluZero));
        assert_eq!(FlatRegion::of(Activation::Softmax), None);
        assert!(FlatRegion::ReluZero.contains(0.0) && !FlatRegion::ReluZero.contains(1e-9));
        assert!(FlatRegion::TanhSaturated.contains(-2.7) && !FlatRegion::TanhSaturated.contains(2.6));
        // σ(z) > 0.99 ⇔ z > ln 99 ≈ 4.595.
        assert!(FlatRegion::SigmoidSaturated.contains(4.6) && !FlatRegion::SigmoidSaturated.contains(4.59));
        assert!(FlatRegion::SigmoidSaturated.contains(-4.6));
        let z = array![[-1.0, -2.0, 0.0, -0.5], [1.0, -1.0, 2.0, 3.0], [0.5, 0.5, 0.5, -0.5]];
        // 6 of 12 entries ≤ 0 (4 + 1 + 1); row 0 is dead on all 4 examples.
        assert_eq!(flat_shares(z.view(), FlatRegion::ReluZero), (0.5, 1.0 / 3.0));
        assert_eq!(mean_std(array![[1.0, 3.0]].view()), (2.0, 1.0));
        assert_eq!(median(&[3.0, f64::NAN, 1.0, 2.0, 10.0]), Some(2.5));
        assert_eq!(median(&[f64::NAN]), None);
    }
}
