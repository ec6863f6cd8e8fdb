//! Confusion matrix, image grid and regression-fit figures: real runs render, bad input errors.

use ann_core::*;
use ann_plot as plot;
use ndarray::{Array2, array};

fn png_size(png: &[u8]) -> (u32, u32) {
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    (be(&png[16..20]), be(&png[20..24]))
}

#[test]
fn digits_confusion_matrix_and_misclassified_grid() {
    let d = digits().unwrap();
    let (train, test) = train_test_split(&d, 0.2, 1).unwrap();
    let (scaler, xt) = StandardScaler::fit_transform(train.x.view()).unwrap();
    let xv = scaler.transform(test.x.view()).unwrap();
    let yt = train.targets(Task::MultiClass);
    let mut net = Network::new(&[64, 32, 10], Activation::Relu, Task::MultiClass, Init::He, 1).unwrap();
    let cfg = TrainConfig { batch_size: 64, seed: 1, ..TrainConfig::default() };
    fit(&mut net, &mut Optimizer::adam(1e-3).unwrap(), DataView::new(xt.view(), yt.view()), &cfg, 5).unwrap();
    let pred = net.predict(xv.view()).unwrap();
    let cm = confusion_matrix(&test.labels, &pred, 10).unwrap();
    assert_eq!(cm.sum(), test.len());
    let fig = plot::confusion_matrix(cm.view(), "").unwrap();
    assert_eq!(png_size(fig.png_bytes()), (fig.width(), fig.height()));
    assert!(fig.svg().contains("<text") && fig.title().contains("correct"));
    let wrong = misclassified(&test.labels, &pred);
    assert!(!wrong.is_empty(), "5 epochs of a small net should leave some errors to show");
    let grid = plot::image_grid(test.x.view(), &test.labels, &pred, &wrong, 24, "").unwrap();
    assert!(grid.png_bytes().starts_with(b"\x89PNG"));
    // Same inputs, same bytes.
    assert_eq!(plot::confusion_matrix(cm.view(), "").unwrap(), fig);
}

#[test]
fn regression_fit_draws_a_trained_sine() {
    let (x, y) = noisy_sine(200, 0.1, 1).unwrap();
    let mut net = Network::new(&[1, 16, 1], Activation::Tanh, Task::Regression, Init::Xavier, 1).unwrap();
    let cfg = TrainConfig { batch_size: 32, seed: 1, ..TrainConfig::default() };
    fit(&mut net, &mut Optimizer::adam(0.01).unwrap(), DataView::new(x.view(), y.view()), &cfg, 20).unwrap();
    let fig = plot::regression_fit(&net, x.view(), y.view(), Some(("sin(x)", f64::sin)), "").unwrap();
    assert_eq!(png_size(fig.png_bytes()), (900, 600));
    assert!(fig.svg().contains("sin(x)"));
}

#[test]
fn degenerate_input_is_an_error_or_a_sensible_figure() {
    // One class only: a 1×1 matrix draws.
    assert!(plot::confusion_matrix(array![[5usize]].view(), "").is_ok());
    assert!(plot::confusion_matrix(Array2::<usize>::zeros((3, 3)).view(), "").is_err());
    assert!(plot::confusion_matrix(Array2::<usize>::zeros((2, 3)).view(), "").is_err());
    assert!(plot::confusion_matrix(Array2::<usize>::zeros((0, 0)).view(), "").is_err());
    // Constant images draw (as blank squares); bad shapes and indices are errors.
    let x = Array2::from_elem((4, 3), 7.0);
    assert!(plot::image_grid(x.view(), &[0, 1, 2], &[0, 1, 1], &[2], 10, "").is_ok());
    assert!(plot::image_grid(x.view(), &[0, 1, 2], &[0, 1, 1], &[], 10, "").is_err());
    assert!(plot::image_grid(x.view(), &[0, 1, 2], &[0, 1, 1], &[3], 10, "").is_err());
    assert!(plot::image_grid(x.view(), &[0, 1], &[0, 1, 1], &[0], 10, "").is_err());
    assert!(plot::image_grid(Array2::zeros((5, 3)).view(), &[0, 1, 2], &[0, 1, 1], &[0], 10, "").is_err());
    assert!(plot::image_grid(x.view(), &[0, 1, 2], &[0, 1, 1], &[0], 0, "").is_err());
    // Regression: constant x and a single point still draw; wrong shapes do not.
    let net = Network::new(&[1, 4, 1], Activation::Tanh, Task::Regression, Init::Xavier, 0).unwrap();
    assert!(plot::regression_fit(&net, array![[2.0]].view(), array![[1.0]].view(), None, "").is_ok());
    assert!(plot::regression_fit(&net, array![[2.0, 2.0]].view(), array![[1.0]].view(), None, "").is_err());
    assert!(plot::regression_fit(&net, array![[f64::NAN]].view(), array![[1.0]].view(), None, "").is_err());
    let wide = Network::new(&[2, 4, 1], Activation::Tanh, Task::Regression, Init::Xavier, 0).unwrap();
    assert!(plot::regression_fit(&wide, array![[2.0]].view(), array![[1.0]].view(), None, "").is_err());
}
