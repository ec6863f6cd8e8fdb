//! Real data and regression (gallery 16–18): the original's Part C network on the bundled
//! 8×8 digits — its confusion matrix and the test digits it gets wrong — and a linear-output
//! network fitting a noisy sine.

use super::{Entry, timed};
use ann_core::{
    Activation, DataView, Init, Network, Optimizer, StandardScaler, Task, TrainConfig, confusion_matrix,
    digits, fit, misclassified, noisy_sine, train_test_split,
};
use ann_plot::{self as plot, Figure, Result};

/// Figures appended after 1–15.
pub fn entries() -> Vec<Entry> {
    vec![
        Entry { name: "16_digits_confusion_matrix", svg: true, make: fig_confusion },
        Entry { name: "17_digits_misclassified", svg: false, make: fig_misclassified },
        Entry { name: "18_regression_fit", svg: true, make: fig_regression },
    ]
}

/// Test labels, predictions and raw test pixels of Part C: [64, 128, 64, 10] ReLU +
/// softmax, Adam 1e-3, batch 64, L2 1e-3 per batch of 64 (λ_N = 1e-3 · N / 64 in this
/// course's λ/(2N)), 60 epochs, stratified 80/20 split (seed 42).
fn part_c() -> Result<(Vec<usize>, Vec<usize>, ann_core::Dataset)> {
    let d = digits()?;
    let (train, test) = train_test_split(&d, 0.2, 42)?;
    let (scaler, xt) = StandardScaler::fit_transform(train.x.view())?;
    let xv = scaler.transform(test.x.view())?;
    let yt = train.targets(Task::MultiClass);
    let mut net = Network::new(&[64, 128, 64, 10], Activation::Relu, Task::MultiClass, Init::He, 42)?;
    let l2 = 1e-3 * xt.ncols() as f64 / 64.0;
    let cfg = TrainConfig { batch_size: 64, l2, seed: 42, ..TrainConfig::default() };
    fit(&mut net, &mut Optimizer::adam(1e-3)?, DataView::new(xt.view(), yt.view()), &cfg, 60)?;
    let predicted = net.predict(xv.view())?;
    Ok((test.labels.clone(), predicted, test))
}

fn fig_confusion() -> Result<Figure> {
    let (truth, predicted, _) = part_c()?;
    let cm = confusion_matrix(&truth, &predicted, 10)?;
    timed(|| plot::confusion_matrix(cm.view(), ""))
}

fn fig_misclassified() -> Result<Figure> {
    let (truth, predicted, test) = part_c()?;
    let wrong = misclassified(&truth, &predicted);
    timed(|| {
        plot::image_grid(
            test.x.view(),
            &truth,
            &predicted,
            &wrong,
            24,
            "Misclassified test digits (raw 8×8 pixels, true → predicted)",
        )
    })
}

fn fig_regression() -> Result<Figure> {
    let (x, y) = noisy_sine(300, 0.15, 3)?;
    let mut net = Network::new(&[1, 32, 32, 1], Activation::Tanh, Task::Regression, Init::Xavier, 1)?;
    let cfg = TrainConfig { batch_size: 32, seed: 1, ..TrainConfig::default() };
    fit(&mut net, &mut Optimizer::adam(0.01)?, DataView::new(x.view(), y.view()), &cfg, 200)?;
    timed(|| {
        plot::regression_fit(
            &net,
            x.view(),
            y.view(),
            Some(("sin(x), noise-free", f64::sin)),
            "A [1, 32, 32, 1] tanh network fitting y = sin x + N(0, 0.15²) (MSE, Adam, 200 epochs)",
        )
    })
}
