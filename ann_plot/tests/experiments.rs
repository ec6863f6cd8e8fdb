//! The experiments behind the figures: determinism, the equations they record, the
//! effects they are meant to show, and errors (never panics) on bad configurations.

use ann_core::{Activation, AnnError, Init, OptimizerConfig, SgdConfig};
use ann_plot::experiments::*;

/// Debug strings round-trip every f64, so equal strings mean bit-identical results.
fn same<T: std::fmt::Debug>(a: &T, b: &T) -> bool {
    format!("{a:?}") == format!("{b:?}")
}

#[test]
fn minibatch_curves_compare_batch_sizes_from_one_start() {
    let cfg = MiniBatchCurvesConfig::default();
    let r = minibatch_curves(&cfg).unwrap();
    assert!(same(&r, &minibatch_curves(&cfg).unwrap()));
    assert_eq!(r.curves.len(), 3);
    for c in &r.curves {
        assert_eq!(c.steps_per_epoch, cfg.m.div_ceil(c.batch_size));
        assert_eq!(c.step_loss.len(), cfg.epochs * c.steps_per_epoch);
        assert_eq!(c.full_loss.len(), c.step_loss.len());
        assert_eq!(c.initial_loss, r.curves[0].initial_loss);
        assert_eq!(c.epochs_axis().last().copied(), Some(cfg.epochs as f64));
    }
    let (batch, sgd) = (&r.curves[0], &r.curves[2]);
    // Batch GD with a small α descends monotonically; per epoch, SGD gets much further.
    assert!(batch.full_loss.windows(2).all(|w| w[1] <= w[0]), "batch GD is not monotone");
    assert!(sgd.full_loss.last().unwrap() < batch.full_loss.last().unwrap());
    // Stochastic mini-batch losses are noisy: some step increases the one-example loss.
    assert!(sgd.step_loss.windows(2).any(|w| w[1] > w[0]));
    let bad = MiniBatchCurvesConfig { batch_sizes: vec![32, 0], ..cfg.clone() };
    assert!(minibatch_curves(&bad).is_err());
    assert!(minibatch_curves(&MiniBatchCurvesConfig { batch_sizes: vec![], ..cfg.clone() }).is_err());
    assert!(minibatch_curves(&MiniBatchCurvesConfig { sizes: vec![2, 8, 3], ..cfg }).is_err());
}

#[test]
fn minibatch_paths_walk_the_real_loss_towards_least_squares() {
    let cfg = MiniBatchPathsConfig::default();
    let r = minibatch_paths(&cfg).unwrap();
    assert!(same(&r, &minibatch_paths(&cfg).unwrap()));
    let (w_star, b_star, j_star) = r.optimum;
    // The grid samples the same J the paths are scored with: nothing on it beats J*.
    let (lo, _) = r.contour.finite_range().unwrap();
    assert!(lo >= j_star - 1e-12, "grid min {lo} below the optimum {j_star}");
    // J(w, b) = (1/2m) Σ (w x + b − y)², checked at one grid point.
    let (w, b) = (r.contour.xs[7], r.contour.ys[11]);
    let m = r.x.ncols() as f64;
    let direct: f64 =
        r.x.iter().zip(r.y.iter()).map(|(x, y)| (w * x + b - y).powi(2)).sum::<f64>() / (2.0 * m);
    assert!((r.contour.values[[11, 7]] - direct).abs() < 1e-12);
    for p in &r.paths {
        assert_eq!(p.points.len(), cfg.steps + 1);
        assert_eq!(p.points[0], cfg.start);
        assert_eq!(p.loss.len(), p.points.len());
        let dist = |(w, b): (f64, f64)| ((w - w_star).powi(2) + (b - b_star).powi(2)).sqrt();
        assert!(dist(*p.points.last().unwrap()) < 0.2 * dist(cfg.start), "{} did not approach", p.label);
    }
    assert!(r.paths[0].loss.windows(2).all(|w| w[1] <= w[0] + 1e-15), "full-batch GD is monotone here");
    assert!(r.paths[2].loss.windows(2).any(|w| w[1] > w[0]), "SGD zig-zags");
    let mut bad = cfg.clone();
    bad.problem.x_min = 5.0;
    assert!(minibatch_paths(&bad).is_err());
    assert!(minibatch_paths(&MiniBatchPathsConfig { grid_points: 1, ..cfg.clone() }).is_err());
    assert!(minibatch_paths(&MiniBatchPathsConfig { learning_rate: f64::NAN, ..cfg }).is_err());
}

#[test]
fn adam_moments_follow_the_update_equations() {
    let cfg = AdamMomentsConfig::default();
    let r = adam_moments(&cfg).unwrap();
    assert!(same(&r, &adam_moments(&cfg).unwrap()));
    let (_, b1, b2, _) = r.hyper;
    let steps = r.step_loss.len();
    assert_eq!(steps, cfg.epochs * r.steps_per_epoch);
    for w in &r.weights {
        assert_eq!(w.grad.len(), steps);
        for t in 0..steps {
            let (m_prev, v_prev) = if t == 0 { (0.0, 0.0) } else { (w.m[t - 1], w.v[t - 1]) };
            let g = w.grad[t];
            assert!((w.m[t] - (b1 * m_prev + (1.0 - b1) * g)).abs() <= 1e-15 * (1.0 + w.m[t].abs()));
            assert!((w.v[t] - (b2 * v_prev + (1.0 - b2) * g * g)).abs() <= 1e-15 * (1.0 + w.v[t].abs()));
            let k = (t + 1) as i32;
            assert!((w.m_hat[t] - w.m[t] / (1.0 - b1.powi(k))).abs() <= 1e-12 * (1.0 + w.m_hat[t].abs()));
            assert!((w.v_hat[t] - w.v[t] / (1.0 - b2.powi(k))).abs() <= 1e-12 * (1.0 + w.v_hat[t].abs()));
            if t > 0 {
                // W_t = W_{t−1} − α m̂_t / (√v̂_t + ε)
                assert!((w.value[t] - (w.value[t - 1] - w.update[t])).abs() < 1e-12);
            }
        }
        // Bias correction: at t = 1, m̂ = g and v̂ = g².
        assert!((w.m_hat[0] - w.grad[0]).abs() < 1e-12 * (1.0 + w.grad[0].abs()));
        assert!((w.v_hat[0] - w.grad[0] * w.grad[0]).abs() < 1e-12 * (1.0 + w.v_hat[0]));
    }
    let bad = AdamMomentsConfig { weights: vec![WeightIndex::new(4, 0, 0)], ..cfg.clone() };
    assert!(matches!(adam_moments(&bad), Err(AnnError::ShapeMismatch { .. })));
    let bad = AdamMomentsConfig { weights: vec![WeightIndex::new(1, 0, 2)], ..cfg.clone() };
    assert!(adam_moments(&bad).is_err());
    assert!(adam_moments(&AdamMomentsConfig { weights: vec![], ..cfg.clone() }).is_err());
    assert!(adam_moments(&AdamMomentsConfig { beta1: 1.0, ..cfg }).is_err());
}

#[test]
fn optimizer_curves_share_init_and_batches() {
    let cfg = OptimizerCurvesConfig::default();
    let r = optimizer_curves(&cfg).unwrap();
    assert!(same(&r, &optimizer_curves(&cfg).unwrap()));
    assert_eq!(r.curves.len(), 4);
    for c in &r.curves {
        assert!(c.diverged.is_none(), "{} diverged", c.spec);
        assert_eq!(c.step_loss.len(), cfg.epochs * r.steps_per_epoch);
        assert_eq!(c.epoch_loss.len(), cfg.epochs);
        assert!(c.epoch_loss.last().unwrap() < &(0.5 * r.initial_loss), "{}", c.spec.to_string());
    }
    // Same init and same first batch: every optimizer sees the same first J{t}.
    assert!(r.curves.iter().all(|c| c.step_loss[0] == r.curves[0].step_loss[0]));
    let adam = r.curves.iter().find(|c| c.spec.name() == "Adam").unwrap();
    let sgd = r.curves.iter().find(|c| c.spec.name() == "SGD").unwrap();
    assert!(adam.epoch_loss.last() < sgd.epoch_loss.last());
    assert!(optimizer_curves(&OptimizerCurvesConfig { optimizers: vec![], ..cfg.clone() }).is_err());
    let bad = OptimizerCurvesConfig { optimizers: vec![OptimizerConfig::Sgd(SgdConfig { lr: 0.0 })], ..cfg };
    assert!(optimizer_curves(&bad).is_err());
}

#[test]
fn optimizer_paths_use_the_crate_optimizers() {
    let cfg = OptimizerPathsConfig::default();
    let r = optimizer_paths(&cfg).unwrap();
    assert!(same(&r, &optimizer_paths(&cfg).unwrap()));
    let TestSurface::Bowl { a, b } = cfg.surface else { panic!("default is the bowl") };
    for p in &r.paths {
        assert_eq!(p.points[0], cfg.start);
        assert_eq!(p.points.len(), cfg.steps + 1);
        assert!(!p.diverged);
        assert!(p.values.last().unwrap() < &(0.05 * p.values[0]), "{}", p.spec.to_string());
    }
    // Plain SGD on a x² + b y²: x_t = (1 − 2aα)^t x_0, y_t = (1 − 2bα)^t y_0.
    let sgd = &r.paths[0];
    let OptimizerConfig::Sgd(SgdConfig { lr }) = sgd.spec else { panic!("first is SGD") };
    for (t, &(x, y)) in sgd.points.iter().enumerate().take(20) {
        let k = t as i32;
        assert!((x - cfg.start.0 * (1.0 - 2.0 * a * lr).powi(k)).abs() < 1e-9);
        assert!((y - cfg.start.1 * (1.0 - 2.0 * b * lr).powi(k)).abs() < 1e-9);
    }
    let g = &r.contour;
    assert_eq!(g.values[[3, 5]], r.surface.value(g.xs[5], g.ys[3]));
    // A step size far too large on Rosenbrock blows up: the path stops, no panic.
    let wild = OptimizerPathsConfig {
        surface: TestSurface::Rosenbrock { a: 1.0, b: 100.0 },
        start: (-1.5, 2.0),
        optimizers: vec![OptimizerConfig::Sgd(SgdConfig { lr: 0.5 })],
        steps: 200,
        ..cfg.clone()
    };
    let w = optimizer_paths(&wild).unwrap();
    assert!(w.paths[0].diverged && w.paths[0].points.len() < 201);
    assert!(w.paths[0].points.iter().all(|p| p.0.is_finite() && p.1.is_finite()));
    let bad = OptimizerPathsConfig { surface: TestSurface::Bowl { a: -1.0, b: 1.0 }, ..cfg.clone() };
    assert!(optimizer_paths(&bad).is_err());
    assert!(optimizer_paths(&OptimizerPathsConfig { start: (f64::INFINITY, 0.0), ..cfg }).is_err());
}

#[test]
fn learning_rate_sweep_records_divergence_instead_of_failing() {
    let cfg = LrSweepConfig::default();
    let r = learning_rate_sweep(&cfg).unwrap();
    assert!(same(&r, &learning_rate_sweep(&cfg).unwrap()));
    let full = cfg.epochs * r.steps_per_epoch;
    let (small, large) = (&r.curves[0], r.curves.last().unwrap());
    assert!(small.diverged.is_none() && small.step_loss.len() == full);
    let d = large.diverged.expect("the largest α diverges");
    assert!(!d.loss.is_finite());
    assert!(d.step < full);
    // The observer kept every finite step before the divergence.
    assert!(large.step_loss.len() == d.step || large.step_loss.len() == d.step + 1);
    assert!(large.step_loss.iter().all(|l| l.is_finite()));
    // A good α ends lower than a too-small one.
    let best = r.curves.iter().filter(|c| c.diverged.is_none()).map(|c| *c.epoch_loss.last().unwrap());
    assert!(best.fold(f64::INFINITY, f64::min) < *small.epoch_loss.last().unwrap());
    assert!(learning_rate_sweep(&LrSweepConfig { learning_rates: vec![], ..cfg.clone() }).is_err());
    assert!(learning_rate_sweep(&LrSweepConfig { learning_rates: vec![0.1, -1.0], ..cfg.clone() }).is_err());
    let moons = LrSweepConfig { problem: LrProblem::Moons { m: 100, noise: 0.2 }, epochs: 3, ..cfg };
    assert_eq!(learning_rate_sweep(&moons).unwrap().curves.len(), 4);
}

#[test]
fn gradient_flow_shows_vanishing_and_exploding_gradients() {
    let cfg = GradientFlowConfig::default();
    let r = gradient_flow(&cfg).unwrap();
    assert!(same(&r, &gradient_flow(&cfg).unwrap()));
    assert_eq!(r.sizes.len(), cfg.depth + 1);
    let find = |act: Activation, init: Init| {
        r.runs.iter().find(|x| x.case.activation == act && x.case.init == init).unwrap()
    };
    let sigmoid = find(Activation::Sigmoid, Init::Xavier);
    let he = find(Activation::Relu, Init::He);
    let big = find(Activation::Relu, Init::Random { scale: 1.0 });
    let tiny = find(Activation::Tanh, Init::Random { scale: 0.01 });
    for run in &r.runs {
        assert_eq!(run.grad_norms.len(), cfg.depth);
        assert_eq!(run.activation_std.len(), cfg.depth - 1);
    }
    // Sigmoid: the gradient shrinks by orders of magnitude towards the input.
    assert!(sigmoid.first_to_last_ratio() < 1e-4, "{}", sigmoid.first_to_last_ratio());
    assert!(sigmoid.grad_norms.windows(2).all(|w| w[0] < w[1]));
    // ReLU + He stays within an order of magnitude across all layers.
    let (lo, hi) = he.grad_norms.iter().fold((f64::INFINITY, 0.0f64), |(l, h), &v| (l.min(v), h.max(v)));
    assert!(hi / lo < 10.0, "He spread {}", hi / lo);
    // N(0, 1) weights on ReLU: activations and gradients explode.
    assert!(big.grad_norms.iter().zip(&he.grad_norms).all(|(b, h)| b > &(1e3 * h)));
    assert!(big.activation_std.last().unwrap() > &(1e3 * big.activation_std[0]));
    assert!(big.bias_grad_norms[0] > 100.0 * big.bias_grad_norms[cfg.depth - 2]);
    // N(0, 0.01²) on tanh: the signal dies out in both directions.
    assert!(tiny.grad_norms.iter().all(|&g| g < 1e-8));
    assert!(tiny.activation_std.last().unwrap() < &1e-10);
    assert!(he.trained_grad_norms.is_some() && !he.diverged);
    assert!(gradient_flow(&GradientFlowConfig { depth: 1, ..cfg.clone() }).is_err());
    assert!(gradient_flow(&GradientFlowConfig { cases: vec![], ..cfg.clone() }).is_err());
    let softmax = vec![FlowCase::new(Activation::Softmax, Init::He)];
    assert!(gradient_flow(&GradientFlowConfig { cases: softmax, ..cfg.clone() }).is_err());
    let nan = vec![FlowCase::new(Activation::Relu, Init::Random { scale: f64::NAN })];
    assert!(gradient_flow(&GradientFlowConfig { cases: nan, ..cfg }).is_err());
}

#[test]
fn batch_norm_restores_the_gradient_flow_of_the_failing_cases() {
    let cfg = GradientFlowConfig::batch_norm_comparison();
    let r = gradient_flow(&cfg).unwrap();
    assert_eq!(r.runs.len(), 6);
    for pair in r.runs.chunks(2) {
        let (plain, bn) = (&pair[0], &pair[1]);
        assert!(!plain.case.batch_norm && bn.case.batch_norm && plain.case.init == bn.case.init);
        let label = bn.case.label();
        // Forward: every normalized layer's A[l] keeps an O(1) spread, whatever the weights' scale.
        assert!(bn.activation_std.iter().all(|s| (0.1..1.0).contains(s)), "{label}: {:?}", bn.activation_std);
        // Backward: within 1.5 orders of magnitude over the 10 layers (without: up to 6).
        let (lo, hi) = bn.grad_norms.iter().fold((f64::INFINITY, 0.0f64), |(l, h), &v| (l.min(v), h.max(v)));
        assert!(hi / lo < 30.0, "{label}: spread {}", hi / lo);
        // And it trains where the plain network is stuck at ln 2 or diverges.
        let trained = bn.trained_loss.unwrap();
        assert!(!bn.diverged && trained < 0.6, "{label}: J = {trained}");
        assert!(plain.diverged || plain.trained_loss.unwrap() > 0.69, "{}", plain.case.label());
    }
    let (sigmoid, tiny) = (&r.runs[0], &r.runs[2]);
    assert!(sigmoid.first_to_last_ratio() < 1e-4, "the vanishing case vanishes");
    assert!(tiny.grad_norms.iter().all(|&g| g < 1e-8));
    assert!(r.runs[3].grad_norms.iter().all(|&g| g > 1e-2), "batch norm undoes the tiny scale");
    assert!(r.runs[4].diverged, "N(0, 1) ReLU without batch norm explodes");
}

#[test]
fn deep_network_learns_spirals_with_validation() {
    let cfg = DeepTrainingConfig::default();
    let r = deep_training(&cfg).unwrap();
    assert!(same(&r, &deep_training(&cfg).unwrap()));
    let h = &r.history;
    assert_eq!(h.epochs(), cfg.epochs);
    assert_eq!(h.val_loss.len(), cfg.epochs);
    assert_eq!(r.split.0 + r.split.1, cfg.m);
    assert_eq!(r.sizes, cfg.sizes);
    assert!(h.val_accuracy.last().unwrap() > &0.9, "{:?}", h.val_accuracy.last());
    assert!(h.train_loss.last().unwrap() < &(0.2 * h.train_loss[0]));
    assert!(deep_training(&DeepTrainingConfig { validation_fraction: 1.5, ..cfg.clone() }).is_err());
    assert!(deep_training(&DeepTrainingConfig { sizes: vec![2, 8, 2], ..cfg }).is_err());
}

#[test]
fn loss_surface_is_centred_on_the_trained_weights() {
    let cfg = LossSurfaceConfig::default();
    let r = loss_surface_demo(&cfg).unwrap();
    assert!(same(&r, &loss_surface_demo(&cfg).unwrap()));
    let n = cfg.grid_points;
    assert_eq!(r.grid.values.dim(), (n, n));
    // α = β = 0 is the grid centre and gives back θ* exactly.
    assert_eq!(r.grid.xs[n / 2], 0.0);
    assert_eq!(r.grid.values[[n / 2, n / 2]], r.center_loss);
    assert!(r.center_loss < 0.2 * r.initial_loss.unwrap());
    let (lo, hi) = r.grid.finite_range().unwrap();
    assert!(lo >= 0.0 && hi > 10.0 * r.center_loss, "range {lo}..{hi}");
    let corners = [r.grid.values[[0, 0]], r.grid.values[[0, n - 1]], r.grid.values[[n - 1, 0]]];
    assert!(corners.iter().all(|&c| c > r.center_loss));
    let raw =
        loss_surface_demo(&LossSurfaceConfig { filter_normalize: false, grid_points: 5, ..cfg.clone() })
            .unwrap();
    assert!(!raw.filter_normalized && raw.grid.values.dim() == (5, 5));
    assert!(loss_surface_demo(&LossSurfaceConfig { radius: 0.0, ..cfg.clone() }).is_err());
    assert!(loss_surface_demo(&LossSurfaceConfig { grid_points: 1, ..cfg }).is_err());
}

#[test]
fn weight_updates_record_trajectories_and_ratios() {
    let cfg = WeightUpdatesConfig::default();
    let r = weight_updates(&cfg).unwrap();
    assert!(same(&r, &weight_updates(&cfg).unwrap()));
    let steps = r.step_loss.len();
    assert_eq!(steps, cfg.epochs * r.steps_per_epoch);
    assert!(r.trajectories.iter().all(|t| t.len() == steps + 1));
    assert_eq!(r.update_ratio.len(), cfg.sizes.len() - 1);
    for (ratio, norm) in r.update_ratio.iter().zip(&r.weight_norm) {
        assert_eq!(ratio.len(), steps);
        assert_eq!(norm.len(), steps + 1);
        // ‖ΔW‖ ≥ |‖W_t‖ − ‖W_{t−1}‖| (triangle inequality).
        for t in 0..steps {
            assert!(ratio[t] * norm[t] + 1e-12 >= (norm[t + 1] - norm[t]).abs());
            assert!(ratio[t] > 1e-6 && ratio[t] < 0.1, "ratio {}", ratio[t]);
        }
    }
    assert!(
        weight_updates(&WeightUpdatesConfig { weights: vec![WeightIndex::new(0, 0, 0)], ..cfg.clone() })
            .is_err()
    );
    assert!(weight_updates(&WeightUpdatesConfig { epochs: 0, ..cfg }).is_err());
}

#[test]
fn decision_boundary_frames_are_probability_maps() {
    let cfg =
        BoundaryConfig { epochs: 20, frame_epochs: vec![20, 0, 10, 10, 500], ..BoundaryConfig::default() };
    let r = decision_boundary_frames(&cfg).unwrap();
    assert!(same(&r, &decision_boundary_frames(&cfg).unwrap()));
    assert_eq!(r.frames.iter().map(|f| f.epoch).collect::<Vec<_>>(), vec![0, 10, 20]);
    let n = cfg.grid_points;
    for f in &r.frames {
        assert_eq!(f.probs.len(), r.n_classes);
        for j in 0..n {
            for i in 0..n {
                let s: f64 = f.probs.iter().map(|p| p[[j, i]]).sum();
                assert!((s - 1.0).abs() < 1e-12);
            }
        }
    }
    assert!(r.frames[2].loss < r.frames[0].loss);
    // The grid covers every training point.
    assert!(r.x.row(0).iter().all(|&v| v > r.xs[0] && v < *r.xs.last().unwrap()));
    let binary = BoundaryConfig {
        data: ToyData::Moons { m: 100, noise: 0.2 },
        epochs: 2,
        frame_epochs: vec![2],
        grid_points: 10,
        ..BoundaryConfig::default()
    };
    let b = decision_boundary_frames(&binary).unwrap();
    assert_eq!(b.frames[0].probs.len(), 2);
    assert!(decision_boundary_frames(&BoundaryConfig { frame_epochs: vec![900], ..cfg.clone() }).is_err());
    assert!(decision_boundary_frames(&BoundaryConfig { margin: -1.0, ..cfg.clone() }).is_err());
    assert!(decision_boundary_frames(&BoundaryConfig { grid_points: 0, ..cfg }).is_err());
}

/// The plot functions of the experiments on small runs: every figure renders, the same
/// result gives the same bytes, and bad results are errors rather than panics.
mod figures {
    use super::*;
    use ann_plot::{self as plot, Figure};

    fn check(make: impl Fn() -> ann_plot::Result<Figure>) {
        let a = make().unwrap();
        assert!(a.png_bytes().starts_with(b"\x89PNG"), "{a}");
        assert!(a.width() <= ann_plot::style::COLUMN_WIDTH, "{a}: wider than a notebook column");
        assert!(a.svg().contains("<svg"));
        assert!(a.png_bytes() == make().unwrap().png_bytes(), "{a} is not deterministic");
    }

    #[test]
    fn every_figure_renders_deterministically() {
        let curves =
            minibatch_curves(&MiniBatchCurvesConfig { m: 64, epochs: 2, ..MiniBatchCurvesConfig::default() })
                .unwrap();
        check(|| plot::batch_size_curves(&curves, ""));
        let paths = minibatch_paths(&MiniBatchPathsConfig {
            steps: 10,
            grid_points: 20,
            ..MiniBatchPathsConfig::default()
        })
        .unwrap();
        check(|| plot::batch_size_paths(&paths, "custom title"));
        let adam = adam_moments(&AdamMomentsConfig { epochs: 2, ..AdamMomentsConfig::default() }).unwrap();
        check(|| plot::adam_moment_traces(&adam, ""));
        let opt = optimizer_curves(&OptimizerCurvesConfig { epochs: 3, ..OptimizerCurvesConfig::default() })
            .unwrap();
        check(|| plot::optimizer_loss_curves(&opt, ""));
        let opt_paths =
            optimizer_paths(&OptimizerPathsConfig { grid_points: 20, ..OptimizerPathsConfig::default() })
                .unwrap();
        check(|| plot::optimizer_trajectories(&opt_paths, ""));
        let lr = learning_rate_sweep(&LrSweepConfig::default()).unwrap();
        check(|| plot::learning_rate_curves(&lr, ""));
        // The diverging run's epoch and step are named counted from 1, like AnnError::Diverged.
        let d = lr.curves.last().unwrap().diverged.unwrap();
        let svg = plot::learning_rate_curves(&lr, "").unwrap().svg().to_string();
        for text in [
            format!("diverged in epoch {} (step {})", d.epoch + 1, d.step + 1),
            format!("overflow in epoch {}", d.epoch + 1),
            format!("overflow at step {}", d.step + 1),
        ] {
            assert!(svg.contains(&text), "missing {text:?}");
        }
        let flow =
            gradient_flow(&GradientFlowConfig { train_epochs: 1, ..GradientFlowConfig::default() }).unwrap();
        check(|| plot::gradient_norms(&flow, ""));
        let flow0 =
            gradient_flow(&GradientFlowConfig { train_epochs: 0, ..GradientFlowConfig::default() }).unwrap();
        check(|| plot::gradient_norms(&flow0, ""));
        let deep = deep_training(&DeepTrainingConfig { epochs: 3, ..DeepTrainingConfig::default() }).unwrap();
        check(|| plot::deep_training_curves(&deep, ""));
        let surface = loss_surface_demo(&LossSurfaceConfig {
            epochs: 3,
            grid_points: 9,
            ..LossSurfaceConfig::default()
        })
        .unwrap();
        check(|| plot::loss_landscape(&surface, ""));
        let updates =
            weight_updates(&WeightUpdatesConfig { epochs: 2, ..WeightUpdatesConfig::default() }).unwrap();
        check(|| plot::weight_update_traces(&updates, ""));
        let frames = decision_boundary_frames(&BoundaryConfig {
            epochs: 4,
            frame_epochs: vec![0, 2, 4],
            ..BoundaryConfig::default()
        })
        .unwrap();
        check(|| plot::boundary_evolution(&frames, 6, ""));
        check(|| plot::boundary_frame(&frames, 1, ""));
        assert!(plot::boundary_frame(&frames, 3, "").is_err());
        assert!(plot::boundary_evolution(&frames, 0, "").is_err());
    }

    #[test]
    fn bad_results_are_errors_not_panics() {
        let mut curves =
            minibatch_curves(&MiniBatchCurvesConfig { m: 32, epochs: 1, ..MiniBatchCurvesConfig::default() })
                .unwrap();
        curves.curves[0].full_loss[0] = f64::NAN;
        assert!(plot::batch_size_curves(&curves, "").is_err());
        curves.curves.clear();
        assert!(plot::batch_size_curves(&curves, "").is_err());
        let mut paths =
            minibatch_paths(&MiniBatchPathsConfig { steps: 3, ..MiniBatchPathsConfig::default() }).unwrap();
        paths.contour.values.fill(f64::NAN);
        assert!(plot::batch_size_paths(&paths, "").is_err());
        paths.paths.clear();
        assert!(plot::batch_size_paths(&paths, "").is_err());
        let mut adam =
            adam_moments(&AdamMomentsConfig { epochs: 1, ..AdamMomentsConfig::default() }).unwrap();
        adam.weights[0].m[0] = f64::INFINITY;
        assert!(plot::adam_moment_traces(&adam, "").is_err());
        let mut lr = learning_rate_sweep(&LrSweepConfig { epochs: 1, ..LrSweepConfig::default() }).unwrap();
        lr.curves[0].step_loss.clear();
        assert!(plot::learning_rate_curves(&lr, "").is_err());
        let mut flow =
            gradient_flow(&GradientFlowConfig { train_epochs: 0, ..GradientFlowConfig::default() }).unwrap();
        flow.runs.clear();
        assert!(plot::gradient_norms(&flow, "").is_err());
        let mut surface = loss_surface_demo(&LossSurfaceConfig {
            epochs: 1,
            grid_points: 3,
            ..LossSurfaceConfig::default()
        })
        .unwrap();
        surface.grid.values.fill(-1.0);
        assert!(plot::loss_landscape(&surface, "").is_err());
        let mut updates =
            weight_updates(&WeightUpdatesConfig { epochs: 1, ..WeightUpdatesConfig::default() }).unwrap();
        updates.trajectories.pop();
        assert!(plot::weight_update_traces(&updates, "").is_err());
        let mut frames = decision_boundary_frames(&BoundaryConfig {
            epochs: 1,
            frame_epochs: vec![1],
            grid_points: 5,
            ..BoundaryConfig::default()
        })
        .unwrap();
        frames.labels.pop();
        assert!(plot::boundary_evolution(&frames, 2, "").is_err());
        frames.frames.clear();
        assert!(plot::boundary_frame(&frames, 0, "").is_err());
    }

    #[test]
    fn boundary_gif_is_written_deterministically() {
        let run = decision_boundary_frames(&BoundaryConfig {
            epochs: 2,
            frame_epochs: vec![0, 1, 2],
            grid_points: 10,
            ..BoundaryConfig::default()
        })
        .unwrap();
        let dir = std::env::temp_dir().join(format!("ann_core_gif_test_{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (a, b) = (dir.join("a.gif"), dir.join("b.gif"));
        plot::save_boundary_gif(&run, &a, 100).unwrap();
        plot::save_boundary_gif(&run, &b, 100).unwrap();
        let bytes = std::fs::read(&a).unwrap();
        assert!(bytes.starts_with(b"GIF89a"));
        assert_eq!(bytes, std::fs::read(&b).unwrap());
        assert!(plot::save_boundary_gif(&run, dir.join("c.gif"), 0).is_err());
        assert!(plot::save_boundary_gif(&run, dir.join("no/such/dir/d.gif"), 100).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
