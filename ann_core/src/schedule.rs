//! Learning-rate schedules: α_k, the learning rate of epoch k, where k = 0 is the first epoch
//! (the epoch counted from 1 in the text is k + 1).

use crate::error::{Result, bad_hyper};
use serde::{Deserialize, Serialize};

/// How α changes over epochs, starting from the optimizer's α₀.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub enum LrSchedule {
    /// α_k = α₀.
    #[default]
    Constant,
    /// Step decay: α_k = α₀ · factor^⌊k / every⌋.
    Step {
        /// Epochs between drops (≥ 1).
        every: usize,
        /// Multiplier at each drop, in (0, 1].
        factor: f64,
    },
    /// Exponential decay: α_k = α₀ · exp(−rate · k).
    Exponential {
        /// Decay rate (≥ 0).
        rate: f64,
    },
}

impl LrSchedule {
    /// α_k for k = `epoch` (0 for the first epoch) given the initial α₀.
    pub fn rate(self, base: f64, epoch: usize) -> f64 {
        match self {
            LrSchedule::Constant => base,
            LrSchedule::Step { every, factor } => base * factor.powi((epoch / every.max(1)) as i32),
            LrSchedule::Exponential { rate } => base * (-rate * epoch as f64).exp(),
        }
    }

    /// Checks the schedule's parameters.
    pub fn validate(self) -> Result<()> {
        match self {
            LrSchedule::Constant => Ok(()),
            LrSchedule::Step { every, factor } => {
                if every == 0 {
                    Err(bad_hyper("schedule every", every, "must be at least 1"))
                } else if !(factor > 0.0 && factor <= 1.0) {
                    Err(bad_hyper("schedule factor", factor, "must lie in (0, 1]"))
                } else {
                    Ok(())
                }
            }
            LrSchedule::Exponential { rate } => {
                if rate.is_finite() && rate >= 0.0 {
                    Ok(())
                } else {
                    Err(bad_hyper("decay rate", rate, "must be finite and >= 0"))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_abs_diff_eq;

    #[test]
    fn schedules() {
        assert_eq!(LrSchedule::Constant.rate(0.1, 7), 0.1);
        let s = LrSchedule::Step { every: 2, factor: 0.5 };
        assert_eq!([0, 1, 2, 3, 4].map(|e| s.rate(1.0, e)), [1.0, 1.0, 0.5, 0.5, 0.25]);
        assert_abs_diff_eq!(LrSchedule::Exponential { rate: 0.1 }.rate(1.0, 10), (-1.0f64).exp());
        assert!(LrSchedule::Step { every: 0, factor: 0.5 }.validate().is_err());
        assert!(LrSchedule::Step { every: 1, factor: 1.5 }.validate().is_err());
        assert!(LrSchedule::Exponential { rate: -1.0 }.validate().is_err());
    }
}
