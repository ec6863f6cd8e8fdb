//! The learning-rate range test: one short run in which α grows geometrically from α_min to
//! α_max, one mini-batch per step, recording the mini-batch loss J{t}:
//!
//! α_t = α_min · (α_max / α_min)^{t / (T − 1)},   t = 0, …, T − 1.
//!
//! Read on a log axis, J{t} stays flat while α is too small to move the weights, falls where α
//! is useful, and turns up and diverges where α is too large. The test costs T steps, a
//! fraction of one epoch, instead of one training run per candidate α; it narrows the range a
//! search then explores. The noisy J{t} is read through its exponential moving average,
//! bias-corrected like Adam's moments: s_t = β s_{t−1} + (1 − β) J{t}, ŝ_t = s_t / (1 − βᵗ⁺¹).

use crate::batch::{gather_columns, shuffled_batches};
use crate::config::TrainConfig;
use crate::data::DataView;
use crate::error::{Result, bad_hyper};
use crate::network::Network;
use crate::optim::Optimizer;
use rand::SeedableRng;
use rand::rngs::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// The settings of a learning-rate range test ([`LrRangeTest::run`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LrRangeTest {
    /// α_min, the first step's learning rate (> 0).
    pub min_lr: f64,
    /// α_max, the last step's learning rate (> α_min).
    pub max_lr: f64,
    /// T, the number of steps (≥ 2); the batches go on into a new shuffle when an epoch ends.
    pub steps: usize,
    /// The test stops once ŝ_t exceeds this many times the lowest ŝ so far, or J{t} is not
    /// finite: the loss has diverged and larger α only repeat it (> 1).
    pub stop_factor: f64,
    /// β of the moving average ŝ_t, in [0, 1) (0: no smoothing).
    pub smoothing: f64,
}

impl Default for LrRangeTest {
    /// α from 10⁻⁵ to 10 over 200 steps, stop at 4× the lowest smoothed loss, β = 0.9.
    fn default() -> Self {
        LrRangeTest { min_lr: 1e-5, max_lr: 10.0, steps: 200, stop_factor: 4.0, smoothing: 0.9 }
    }
}

/// What a range test recorded: one entry per step taken.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LrRange {
    /// α_t of each step taken.
    pub learning_rates: Vec<f64>,
    /// J{t} of each step, before its update (train mode, with dropout and the L2 term).
    pub losses: Vec<f64>,
    /// ŝ_t, the bias-corrected moving average of J{t} (non-finite once J{t} is).
    pub smoothed: Vec<f64>,
    /// The steps the settings planned (T); fewer were taken when the loss diverged.
    pub planned_steps: usize,
}

impl LrRangeTest {
    /// α_t for t = 0, …, T − 1: α_min · (α_max / α_min)^{t/(T − 1)}.
    pub fn learning_rates(&self) -> Result<Vec<f64>> {
        self.validate()?;
        let ratio = self.max_lr / self.min_lr;
        let last = (self.steps - 1) as f64;
        Ok((0..self.steps).map(|t| self.min_lr * ratio.powf(t as f64 / last)).collect())
    }

    /// Checks the settings.
    pub fn validate(&self) -> Result<()> {
        if !(self.min_lr > 0.0 && self.min_lr.is_finite()) {
            return Err(bad_hyper("range test min_lr", self.min_lr, "must be finite and > 0"));
        }
        if !(self.max_lr > self.min_lr && self.max_lr.is_finite()) {
            return Err(bad_hyper(
                "range test max_lr",
                self.max_lr,
                &format!("must be finite and > min_lr = {}", self.min_lr),
            ));
        }
        if self.steps < 2 {
            return Err(bad_hyper("range test steps", self.steps, "need at least 2"));
        }
        if !(self.stop_factor > 1.0 && self.stop_factor.is_finite()) {
            return Err(bad_hyper("range test stop_factor", self.stop_factor, "must be finite and > 1"));
        }
        if !(0.0..1.0).contains(&self.smoothing) {
            return Err(bad_hyper("range test smoothing", self.smoothing, "must lie in [0, 1)"));
        }
        Ok(())
    }

    /// Runs the test on copies of `net` and `optimizer` (both are left as they are: the test
    /// probes, it does not train), with the batch size, dropout, L2 and seed of `config`
    /// (its schedule and early stopping do not apply: α is the test's). Each step is the
    /// course's: forward (train mode) → J{t} → backward → the optimizer's update at α_t.
    ///
    /// ```
    /// use ann_core::*;
    /// let data = two_moons(400, 0.1, 1)?;
    /// let y = data.targets(Task::Binary);
    /// let net = Network::new(&[2, 16, 1], Activation::Relu, Task::Binary, Init::He, 1)?;
    /// let config = TrainConfig { batch_size: 32, ..TrainConfig::default() };
    /// let test = LrRangeTest { min_lr: 1e-4, max_lr: 100.0, steps: 100, ..LrRangeTest::default() };
    /// let range = test.run(&net, &Optimizer::sgd(0.1)?, (&data.x, &y), &config)?;
    /// let (alpha, _) = range.lowest().unwrap();
    /// assert!(alpha > 1e-3 && alpha < 100.0);
    /// # Ok::<(), AnnError>(())
    /// ```
    ///
    /// Errors: bad settings, a network and data that do not fit (as for `fit`).
    pub fn run<'a>(
        &self,
        net: &Network,
        optimizer: &Optimizer,
        train: impl Into<DataView<'a>>,
        config: &TrainConfig,
    ) -> Result<LrRange> {
        let rates = self.learning_rates()?;
        let train = train.into();
        config.check_run(net, train, None)?;
        let DataView { x, y } = train;
        let l2 = config.l2_term(x.ncols()); // (λ/2N) Σ‖W[l]‖², N the training set's size
        let (mut net, mut optimizer) = (net.clone(), optimizer.clone());
        let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
        let mut batches = Vec::new().into_iter();
        let mut out =
            LrRange { learning_rates: vec![], losses: vec![], smoothed: vec![], planned_steps: self.steps };
        let (mut average, mut lowest) = (0.0, f64::INFINITY);
        for (t, &alpha) in rates.iter().enumerate() {
            if batches.len() == 0 {
                // the epoch is used up (or not begun): a new permutation of the N examples
                batches = shuffled_batches(x.ncols(), config.batch_size, &mut rng)?.into_iter();
            }
            let Some(idx) = batches.next() else { break };
            let (x_t, y_t) = (gather_columns(x, &idx), gather_columns(y, &idx));
            let cache = net.forward_train(x_t.view(), &config.dropout, &mut rng)?;
            let loss = net.cost(&cache, y_t.view(), l2)?; // J{t}
            average = self.smoothing * average + (1.0 - self.smoothing) * loss; // s_t
            let smoothed = average / (1.0 - self.smoothing.powi(t as i32 + 1)); // ŝ_t
            out.learning_rates.push(alpha);
            out.losses.push(loss);
            out.smoothed.push(smoothed);
            if !smoothed.is_finite() || smoothed > self.stop_factor * lowest {
                break; // diverged
            }
            lowest = lowest.min(smoothed);
            let grads = net.backward(&cache, y_t.view(), l2)?;
            if !grads.is_finite() {
                break;
            }
            optimizer.set_learning_rate(alpha)?;
            optimizer.step(&mut net, &grads)?; // θ ← the update rule at α_t
            net.update_running_statistics(&cache)?;
        }
        Ok(out)
    }
}

impl LrRange {
    /// (α_t, ŝ_t) at the lowest smoothed loss, `None` when no step was taken.
    pub fn lowest(&self) -> Option<(f64, f64)> {
        let (t, s) = self
            .smoothed
            .iter()
            .enumerate()
            .filter(|(_, s)| s.is_finite())
            .min_by(|a, b| a.1.total_cmp(b.1))?;
        Some((self.learning_rates[t], *s))
    }

    /// The rule of thumb for a learning rate to train with: a tenth of the α at the lowest
    /// smoothed loss (there the loss is about to turn up; a tenth of it lies on the falling
    /// slope, with room to spare).
    pub fn suggested(&self) -> Option<f64> {
        self.lowest().map(|(alpha, _)| alpha / 10.0)
    }

    /// The α at which the smoothed loss falls fastest per decade of α (the steepest
    /// −Δŝ / Δlog₁₀ α between neighbouring steps, before the lowest point), `None` when the
    /// loss never falls.
    pub fn steepest(&self) -> Option<f64> {
        let (alpha_low, _) = self.lowest()?;
        let mut best: Option<(f64, f64)> = None;
        for t in 1..self.smoothed.len() {
            if self.learning_rates[t] > alpha_low {
                break;
            }
            let drop = (self.smoothed[t - 1] - self.smoothed[t])
                / (self.learning_rates[t] / self.learning_rates[t - 1]).log10();
            if drop > 0.0 && best.is_none_or(|(d, _)| drop > d) {
                best = Some((drop, self.learning_rates[t]));
            }
        }
        best.map(|(_, alpha)| alpha)
    }

    /// Whether the test stopped before its last planned step (the loss diverged).
    pub fn diverged(&self) -> bool {
        self.losses.len() < self.planned_steps
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activation::Activation;
    use crate::data::two_moons;
    use crate::init::Init;
    use crate::network::Task;

    fn setup() -> (Network, ndarray::Array2<f64>, ndarray::Array2<f64>) {
        let data = two_moons(400, 0.1, 3).unwrap();
        let y = data.targets(Task::Binary);
        let net = Network::new(&[2, 16, 1], Activation::Relu, Task::Binary, Init::He, 5).unwrap();
        (net, data.x, y)
    }

    #[test]
    fn rates_are_geometric_from_min_to_max() {
        let test = LrRangeTest { min_lr: 1e-4, max_lr: 1.0, steps: 5, ..LrRangeTest::default() };
        let rates = test.learning_rates().unwrap();
        for (got, want) in rates.iter().zip([1e-4, 1e-3, 1e-2, 1e-1, 1.0]) {
            assert!((got / want - 1.0).abs() < 1e-12, "{got} vs {want}");
        }
    }

    #[test]
    fn flat_then_falling_then_diverging_and_the_probe_leaves_the_network_alone() {
        let (net, x, y) = setup();
        let config = TrainConfig { batch_size: 32, seed: 2, ..TrainConfig::default() };
        let test = LrRangeTest { min_lr: 1e-5, max_lr: 1e3, steps: 160, ..LrRangeTest::default() };
        let before = net.clone();
        let range = test.run(&net, &Optimizer::sgd(0.1).unwrap(), (&x, &y), &config).unwrap();
        assert_eq!(net, before);
        assert!(range.diverged(), "SGD at α = 1000 must blow up: {:?}", range.smoothed.last());
        let (alpha, lowest) = range.lowest().unwrap();
        // the first steps barely move J; at the lowest point it has fallen well below J{0}
        let mean = |s: &[f64]| s.iter().sum::<f64>() / s.len() as f64;
        let (first, next) = (mean(&range.losses[..20]), mean(&range.losses[20..40]));
        assert!((next / first - 1.0).abs() < 0.1, "{first} then {next}");
        assert!(lowest < 0.7 * range.losses[0], "{lowest} vs {}", range.losses[0]);
        assert!(alpha > 1e-2 && alpha < 1e3, "{alpha}");
        let steep = range.steepest().unwrap();
        assert!(steep <= alpha && steep > 1e-5);
        assert_eq!(range.suggested(), Some(alpha / 10.0));
        // the same settings give the same bits
        let again = test.run(&net, &Optimizer::sgd(0.1).unwrap(), (&x, &y), &config).unwrap();
        assert_eq!(range, again);
    }

    #[test]
    fn the_suggested_rate_trains() {
        let (mut net, x, y) = setup();
        let config = TrainConfig { batch_size: 32, seed: 2, ..TrainConfig::default() };
        let test = LrRangeTest { min_lr: 1e-5, max_lr: 1e3, steps: 160, ..LrRangeTest::default() };
        let alpha =
            test.run(&net, &Optimizer::sgd(0.1).unwrap(), (&x, &y), &config).unwrap().suggested().unwrap();
        let history =
            crate::fit(&mut net, &mut Optimizer::sgd(alpha).unwrap(), (&x, &y), &config, 20).unwrap();
        assert!(
            history.final_train_accuracy().unwrap() > 0.85,
            "α = {alpha}: {:?}",
            history.final_train_accuracy()
        );
    }

    #[test]
    fn bad_settings_are_errors_naming_the_field() {
        let (net, x, y) = setup();
        let config = TrainConfig::default();
        let sgd = Optimizer::sgd(0.1).unwrap();
        for (test, field) in [
            (LrRangeTest { min_lr: 0.0, ..LrRangeTest::default() }, "min_lr"),
            (LrRangeTest { max_lr: 1e-6, ..LrRangeTest::default() }, "max_lr"),
            (LrRangeTest { steps: 1, ..LrRangeTest::default() }, "steps"),
            (LrRangeTest { stop_factor: 1.0, ..LrRangeTest::default() }, "stop_factor"),
            (LrRangeTest { smoothing: 1.0, ..LrRangeTest::default() }, "smoothing"),
        ] {
            let err = test.run(&net, &sgd, (&x, &y), &config).unwrap_err().to_string();
            assert!(err.contains(field), "{err}");
        }
        let wrong = ndarray::Array2::<f64>::zeros((3, 400));
        assert!(LrRangeTest::default().run(&net, &sgd, (&wrong, &y), &config).is_err());
    }
}
