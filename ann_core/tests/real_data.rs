//! Real data and regression: the original's Part C network on the bundled digits, and a
//! linear-output network fitting a noisy sine.

use ann_core::*;

/// [64, 128, 64, 10] ReLU/softmax, Adam 1e-3, batch 64, L2 1e-3, 60 epochs, stratified
/// 80/20 split, standardized (the original's Part C; it reports 97.8%). One run's test
/// accuracy moves by about ±1% with the split and the seed, so the claim is made over
/// 3 splits × 3 seeds: mean ≥ 97%, and no run below 96%.
#[test]
fn digits_part_c_reaches_97_percent_test_accuracy() {
    let d = digits().unwrap();
    let mut accs = Vec::new();
    for split_seed in [42, 1, 7] {
        let (train, test) = train_test_split(&d, 0.2, split_seed).unwrap();
        assert_eq!(train.len() + test.len(), 1797);
        let (scaler, xt) = StandardScaler::fit_transform(train.x.view()).unwrap();
        let xv = scaler.transform(test.x.view()).unwrap();
        let (yt, yv) = (train.targets(Task::MultiClass), test.targets(Task::MultiClass));
        for seed in [42, 1, 2] {
            let mut net =
                Network::new(&[64, 128, 64, 10], Activation::Relu, Task::MultiClass, Init::He, seed).unwrap();
            // the original's λ = 1e-3 over batches of 64, as λ/(2N): λ_N = λ_b · N / b
            let l2 = 1e-3 * xt.ncols() as f64 / 64.0;
            let config = TrainConfig { batch_size: 64, l2, seed, ..TrainConfig::default() };
            let h = fit(
                &mut net,
                &mut Optimizer::adam(1e-3).unwrap(),
                DataView::new(xt.view(), yt.view()),
                &config,
                60,
            )
            .unwrap();
            assert!(h.final_train_accuracy().unwrap() > 0.99);
            accs.push(net.accuracy(xv.view(), yv.view()).unwrap());
        }
    }
    let mean = accs.iter().sum::<f64>() / accs.len() as f64;
    eprintln!("digits test accuracies {accs:.4?}, mean {mean:.4}");
    assert!(mean >= 0.97, "mean test accuracy {mean} ({accs:?})");
    assert!(accs.iter().all(|&a| a >= 0.96), "{accs:?}");
}

/// A linear-output network with MSE fits y = sin(x) + noise: its error against the clean
/// curve ends well below the noise level.
#[test]
fn regression_fits_a_noisy_sine() {
    let (x, y) = noisy_sine(400, 0.1, 3).unwrap();
    let mut net = Network::new(&[1, 32, 32, 1], Activation::Tanh, Task::Regression, Init::Xavier, 1).unwrap();
    let config = TrainConfig { batch_size: 32, seed: 1, ..TrainConfig::default() };
    let h =
        fit(&mut net, &mut Optimizer::adam(0.01).unwrap(), DataView::new(x.view(), y.view()), &config, 300)
            .unwrap();
    assert!(h.train_accuracy.is_empty(), "no accuracy for regression");
    let grid = ndarray::Array2::from_shape_fn((1, 101), |(_, j)| -3.0 + 6.0 * j as f64 / 100.0);
    let pred = net.predict_proba(grid.view()).unwrap();
    let rmse = (pred.iter().zip(grid.iter()).map(|(p, g)| (p - g.sin()).powi(2)).sum::<f64>() / 101.0).sqrt();
    assert!(rmse < 0.05, "RMSE against sin(x): {rmse}");
}
