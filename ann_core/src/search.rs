//! Random search over the learning rate α and the L2 strength λ, scored on a validation set.
//!
//! Each trial draws α and λ independently and log-uniformly,
//!
//! log₁₀ α ~ U(log₁₀ α_low, log₁₀ α_high),   log₁₀ λ ~ U(log₁₀ λ_low, log₁₀ λ_high),
//!
//! trains a network with them and reads its accuracy on the validation set (never the test
//! set: the test set scores the one model chosen at the end). Log-uniform, because what
//! matters is the order of magnitude: α = 0.001 and 0.002 differ as much as 0.1 and 0.2.
//! Random rather than a grid, because with n trials a grid of two hyperparameters tries only
//! √n values of each, while random search tries n different values of each, so the one that
//! matters more is explored n ways. Coarse to fine: a wide first search, then a narrower one
//! ([`SearchSpace::around`]) around the best trial.

use crate::error::{AnnError, Result, bad_hyper};
use crate::history::History;
use rand::rngs::ChaCha8Rng;
use rand::{Rng, RngExt, SeedableRng};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::time::{Duration, Instant};

/// A range sampled log-uniformly: log₁₀ x ~ U(log₁₀ low, log₁₀ high).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LogUniform {
    /// The smallest value (> 0).
    pub low: f64,
    /// The largest value (≥ low).
    pub high: f64,
}

impl LogUniform {
    /// The range [low, high]; errors unless 0 < low ≤ high < ∞.
    pub fn new(low: f64, high: f64) -> Result<Self> {
        let range = LogUniform { low, high };
        range.validate("range")?;
        Ok(range)
    }

    /// [center / factor, center · factor]: the range of a finer search around `center`.
    pub fn around(center: f64, factor: f64) -> Result<Self> {
        if !(factor >= 1.0 && factor.is_finite()) {
            return Err(bad_hyper("factor", factor, "must be finite and >= 1"));
        }
        LogUniform::new(center / factor, center * factor)
    }

    /// x = 10^u with u ~ U(log₁₀ low, log₁₀ high).
    pub fn sample(&self, rng: &mut impl Rng) -> f64 {
        let (a, b) = (self.low.log10(), self.high.log10());
        10f64.powf(a + (b - a) * rng.random::<f64>())
    }

    fn validate(&self, name: &str) -> Result<()> {
        if !(self.low > 0.0 && self.low <= self.high && self.high.is_finite()) {
            return Err(bad_hyper(
                name,
                format!("[{}, {}]", self.low, self.high),
                "a log-uniform range needs 0 < low <= high < infinity",
            ));
        }
        Ok(())
    }
}

/// One point of the search: the learning rate α and the L2 strength λ of a trial.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Hyperparameters {
    /// α.
    pub learning_rate: f64,
    /// λ, as in [`TrainConfig::l2`](crate::TrainConfig::l2).
    pub l2: f64,
}

/// Where a search draws α and λ.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SearchSpace {
    /// The range of α.
    pub learning_rate: LogUniform,
    /// The range of λ.
    pub l2: LogUniform,
}

impl SearchSpace {
    /// The finer space around `center`: α in [α/factor, α·factor], λ in [λ/factor, λ·factor].
    pub fn around(center: &Hyperparameters, factor: f64) -> Result<Self> {
        Ok(SearchSpace {
            learning_rate: LogUniform::around(center.learning_rate, factor)?,
            l2: LogUniform::around(center.l2, factor)?,
        })
    }

    /// `n` points drawn from a ChaCha8 generator seeded with `seed` (α, then λ, per point):
    /// the same seed gives the same points.
    pub fn sample(&self, n: usize, seed: u64) -> Result<Vec<Hyperparameters>> {
        self.learning_rate.validate("learning_rate range")?;
        self.l2.validate("l2 range")?;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        Ok((0..n)
            .map(|_| {
                let learning_rate = self.learning_rate.sample(&mut rng);
                Hyperparameters { learning_rate, l2: self.l2.sample(&mut rng) }
            })
            .collect())
    }
}

/// One trained point of a search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trial {
    /// The trial's place in its search, from 1.
    pub number: usize,
    /// The number of trials the search planned.
    pub of: usize,
    /// The α and λ it trained with.
    pub hyperparameters: Hyperparameters,
    /// Its record (with validation loss and accuracy), `None` when the loss diverged.
    pub history: Option<History>,
    /// Wall-clock seconds it took.
    pub seconds: f64,
}

impl Trial {
    /// The epoch whose weights the run ended with: the best epoch when early stopping
    /// restored one, else the last.
    fn final_epoch(history: &History) -> Option<usize> {
        history.best_epoch.or(history.epochs().checked_sub(1))
    }

    /// Validation accuracy of the weights the run ended with (`None`: diverged, or no
    /// validation set, or a regression).
    pub fn val_accuracy(&self) -> Option<f64> {
        let h = self.history.as_ref()?;
        h.val_accuracy.get(Trial::final_epoch(h)?).copied()
    }

    /// Validation loss J of the weights the run ended with.
    pub fn val_loss(&self) -> Option<f64> {
        let h = self.history.as_ref()?;
        h.val_loss.get(Trial::final_epoch(h)?).copied()
    }

    /// Training accuracy of the weights the run ended with.
    pub fn train_accuracy(&self) -> Option<f64> {
        let h = self.history.as_ref()?;
        h.train_accuracy.get(Trial::final_epoch(h)?).copied()
    }

    /// Whether the loss diverged.
    pub fn diverged(&self) -> bool {
        self.history.is_none()
    }
}

impl fmt::Display for Trial {
    /// "trial 3/12: α = 1.23e-3, λ = 4.56e-1 → validation 87.10 % (train 89.02 %), 3 epochs, 2.1 s"
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Hyperparameters { learning_rate, l2 } = self.hyperparameters;
        write!(f, "trial {}/{}: α = {learning_rate:.2e}, λ = {l2:.2e} → ", self.number, self.of)?;
        match (&self.history, self.val_accuracy(), self.val_loss()) {
            (None, _, _) => write!(f, "diverged")?,
            (Some(_), Some(acc), _) => {
                write!(f, "validation {:.2} %", 100.0 * acc)?;
                if let Some(train) = self.train_accuracy() {
                    write!(f, " (train {:.2} %)", 100.0 * train)?;
                }
            }
            (Some(_), None, Some(loss)) => write!(f, "validation J = {loss:.4}")?,
            (Some(_), None, None) => write!(f, "no validation score")?,
        }
        let epochs = self.history.as_ref().map_or(0, History::epochs);
        write!(f, ", {epochs} epochs, {:.1} s", self.seconds)
    }
}

/// The settings of a random search ([`RandomSearch::run`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RandomSearch {
    /// Trials to draw.
    pub trials: usize,
    /// Seed of the draws.
    pub seed: u64,
    /// No new trial starts once the search has run this long (the running one finishes).
    pub budget: Option<Duration>,
}

impl Default for RandomSearch {
    /// 20 trials, seed 0, no time budget.
    fn default() -> Self {
        RandomSearch { trials: 20, seed: 0, budget: None }
    }
}

impl RandomSearch {
    /// Draws the trials' points from `space` ([`SearchSpace::sample`]), hands each to `train`
    /// (which trains a fresh network with them, with a validation set, and returns its
    /// [`History`]), and returns every trial in the order run; `progress` sees each trial
    /// as it ends. A trial whose loss diverges ([`AnnError::Diverged`]) is recorded with
    /// no history and the search goes on; any other error stops it.
    ///
    /// ```
    /// use ann_core::*;
    /// let data = two_moons(400, 0.2, 1)?;
    /// let (train, val) = train_test_split(&data, 0.25, 1)?;
    /// let (y_train, y_val) = (train.targets(Task::Binary), val.targets(Task::Binary));
    /// let start = Network::new(&[2, 16, 1], Activation::Relu, Task::Binary, Init::He, 1)?;
    /// let space = SearchSpace { learning_rate: LogUniform::new(1e-4, 1e-1)?, l2: LogUniform::new(1e-3, 1.0)? };
    /// let search = RandomSearch { trials: 4, seed: 7, budget: None };
    /// let trials = search.run(&space, |h| {
    ///     let config = TrainConfig { batch_size: 32, l2: h.l2, ..TrainConfig::default() };
    ///     Trainer::new(&config, 5)
    ///         .validation((&val.x, &y_val))
    ///         .fit(&mut start.clone(), &mut Optimizer::adam(h.learning_rate)?, (&train.x, &y_train))
    /// }, |trial| println!("{trial}"))?;
    /// assert_eq!(trials.len(), 4);
    /// let best = best_trial(&trials).unwrap();
    /// assert!(best.val_accuracy().unwrap() > 0.7);
    /// # Ok::<(), AnnError>(())
    /// ```
    pub fn run(
        &self,
        space: &SearchSpace,
        mut train: impl FnMut(&Hyperparameters) -> Result<History>,
        mut progress: impl FnMut(&Trial),
    ) -> Result<Vec<Trial>> {
        if self.trials == 0 {
            return Err(bad_hyper("trials", self.trials, "need at least 1"));
        }
        let points = space.sample(self.trials, self.seed)?;
        let start = Instant::now();
        let mut trials = Vec::with_capacity(points.len());
        for (i, hyperparameters) in points.into_iter().enumerate() {
            if self.budget.is_some_and(|b| start.elapsed() >= b) {
                break;
            }
            let began = Instant::now();
            let history = match train(&hyperparameters) {
                Ok(history) => Some(history),
                Err(AnnError::Diverged { .. }) => None,
                Err(e) => return Err(e),
            };
            let trial = Trial {
                number: i + 1,
                of: self.trials,
                hyperparameters,
                history,
                seconds: began.elapsed().as_secs_f64(),
            };
            progress(&trial);
            trials.push(trial);
        }
        Ok(trials)
    }
}

/// The trial with the highest validation accuracy (ties and regressions: the lowest
/// validation loss); `None` when no trial has a validation score.
pub fn best_trial<'a>(trials: impl IntoIterator<Item = &'a Trial>) -> Option<&'a Trial> {
    let key =
        |t: &Trial| (t.val_accuracy().unwrap_or(f64::NEG_INFINITY), -t.val_loss().unwrap_or(f64::INFINITY));
    trials
        .into_iter()
        .filter(|t| t.val_accuracy().is_some() || t.val_loss().is_some_and(f64::is_finite))
        .max_by(|a, b| {
            let (ka, kb) = (key(a), key(b));
            ka.0.total_cmp(&kb.0).then(ka.1.total_cmp(&kb.1))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn space() -> SearchSpace {
        SearchSpace {
            learning_rate: LogUniform::new(1e-4, 1e-1).unwrap(),
            l2: LogUniform::new(1e-2, 10.0).unwrap(),
        }
    }

    #[test]
    fn draws_are_log_uniform_within_the_range_and_seeded() {
        let points = space().sample(4000, 3).unwrap();
        assert_eq!(points, space().sample(4000, 3).unwrap());
        assert_ne!(points, space().sample(4000, 4).unwrap());
        let decades = |x: f64, low: f64| (x / low).log10();
        // each decade of α holds about a third of the draws (log-uniform over three decades)
        let mut counts = [0usize; 3];
        for p in &points {
            assert!((1e-4..=1e-1).contains(&p.learning_rate) && (1e-2..=10.0).contains(&p.l2));
            counts[(decades(p.learning_rate, 1e-4) as usize).min(2)] += 1;
        }
        for c in counts {
            assert!((1200..1470).contains(&c), "{counts:?}");
        }
    }

    #[test]
    fn around_narrows_to_a_factor_each_side() {
        let s = SearchSpace::around(&Hyperparameters { learning_rate: 0.01, l2: 2.0 }, 3.0).unwrap();
        assert!(
            (s.learning_rate.low - 0.01 / 3.0).abs() < 1e-15 && (s.learning_rate.high - 0.03).abs() < 1e-15
        );
        assert!((s.l2.low - 2.0 / 3.0).abs() < 1e-15 && (s.l2.high - 6.0).abs() < 1e-15);
        assert!(SearchSpace::around(&Hyperparameters { learning_rate: 0.01, l2: 2.0 }, 0.5).is_err());
    }

    fn history(val_acc: f64, val_loss: f64) -> History {
        History {
            train_loss: vec![2.0, 1.0],
            val_accuracy: vec![0.1, val_acc],
            val_loss: vec![9.0, val_loss],
            ..History::default()
        }
    }

    #[test]
    fn every_trial_is_returned_diverged_ones_included_and_the_best_is_by_validation() {
        let search = RandomSearch { trials: 5, seed: 1, budget: None };
        let mut seen = Vec::new();
        let mut calls = 0;
        let trials = search
            .run(
                &space(),
                |h| {
                    calls += 1;
                    match calls {
                        2 => Err(AnnError::Diverged { epoch: 0, step: 3, loss: f64::NAN }),
                        // the larger α, the better the score, so the best is known
                        _ => Ok(history(h.learning_rate.log10() + 5.0, 1.0)),
                    }
                },
                |t| seen.push(t.to_string()),
            )
            .unwrap();
        assert_eq!(trials.len(), 5);
        assert_eq!(seen.len(), 5);
        assert!(trials[1].diverged() && seen[1].contains("diverged"), "{}", seen[1]);
        assert!(seen[0].starts_with("trial 1/5: α = "), "{}", seen[0]);
        let points = space().sample(5, 1).unwrap();
        let want = (0..5)
            .filter(|&i| i != 1)
            .max_by(|&a, &b| points[a].learning_rate.total_cmp(&points[b].learning_rate));
        assert_eq!(best_trial(&trials).unwrap().number, want.unwrap() + 1);
        assert_eq!(trials.iter().map(|t| t.hyperparameters).collect::<Vec<_>>(), points);
    }

    #[test]
    fn the_best_epoch_is_the_score_when_early_stopping_restored_it() {
        let mut h = history(0.9, 0.3);
        h.best_epoch = Some(0);
        let t = Trial {
            number: 1,
            of: 1,
            hyperparameters: space().sample(1, 0).unwrap()[0],
            history: Some(h),
            seconds: 0.0,
        };
        assert_eq!(t.val_accuracy(), Some(0.1));
    }

    #[test]
    fn other_errors_stop_the_search_and_a_budget_stops_starting_trials() {
        let search = RandomSearch { trials: 3, seed: 1, budget: None };
        let err = search.run(&space(), |_| Err(AnnError::EmptyInput("no data".into())), |_| {});
        assert!(err.is_err());
        let quick = RandomSearch { budget: Some(Duration::ZERO), ..search };
        assert!(quick.run(&space(), |_| Ok(history(0.5, 1.0)), |_| {}).unwrap().is_empty());
        assert!(
            RandomSearch { trials: 0, ..search }.run(&space(), |_| Ok(History::default()), |_| {}).is_err()
        );
        let bad = SearchSpace { l2: LogUniform { low: 0.0, high: 1.0 }, ..space() };
        let msg = search.run(&bad, |_| Ok(History::default()), |_| {}).unwrap_err().to_string();
        assert!(msg.contains("l2 range"), "{msg}");
    }
}
