//! The training curves of a typical deep network.

use crate::error::Result;
use crate::experiments::DeepTrainingRun;
use crate::figure::Figure;
use ann_core::Loss;

/// Loss and accuracy curves (train and validation per epoch, the mini-batch loss J{t} per
/// step) of a [`deep_training`](fn@crate::experiments::deep_training) run, drawn by
/// [`training_curves`](crate::training_curves) with a title naming the architecture
/// and optimizer. An empty `title` gives that default.
///
/// Errors: those of [`training_curves`](crate::training_curves) (an empty history,
/// non-finite values).
pub fn deep_training_curves(run: &DeepTrainingRun, title: &str) -> Result<Figure> {
    let title = if title.is_empty() {
        let sizes: Vec<String> = run.sizes.iter().map(|n| n.to_string()).collect();
        format!(
            "Training a deep network: [{}] ReLU + softmax on spirals, {}",
            sizes.join(", "),
            run.optimizer
        )
    } else {
        title.to_string()
    };
    super::training_curves(&run.history, Loss::CrossEntropy, &title)
}
