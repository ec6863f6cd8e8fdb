//! Batch and layer normalization inside the network: gradient checks (every activation,
//! with and without dropout, with L2), training and evaluation mode, every optimizer, files,
//! resuming, errors. Layer normalization came to the crate as a file of its own and a line
//! in `Normalization`; these tests run it through every part of the crate that batch norm
//! goes through.

use ann_core::normalization::NormalizationConfig;
use ann_core::*;
use ndarray::{Array2, s};
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};

const TOL: f64 = 1e-7;

fn inputs(n_x: usize, m: usize, seed: u64) -> Array2<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Array2::from_shape_simple_fn((n_x, m), || rng.random_range(-1.5..1.5))
}

fn labels(m: usize) -> Array2<f64> {
    Array2::from_shape_fn((1, m), |(_, j)| ((j * 5 + 1) % 3 == 0) as u8 as f64)
}

/// The two kinds, by their settings.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Batch,
    Layer,
}

const KINDS: [Kind; 2] = [Kind::Batch, Kind::Layer];

impl Kind {
    fn apply(self, net: Network) -> Network {
        match self {
            Kind::Batch => net.with_normalization(BatchNormConfig::default()),
            Kind::Layer => net.with_normalization(LayerNormConfig::default()),
        }
        .unwrap()
    }

    fn build(self, units: usize) -> Normalization {
        match self {
            Kind::Batch => BatchNormConfig::default().build(units),
            Kind::Layer => LayerNormConfig::default().build(units),
        }
        .unwrap()
    }
}

/// A normalized net whose γ and β are away from 1 and 0 (so their gradients are not
/// special) and whose Z̃ stay clear of ReLU's kink for the check's inputs.
fn norm_net(kind: Kind, sizes: &[usize], hidden: Activation, seed: u64) -> Network {
    let mut net = kind.apply(Network::new(sizes, hidden, Task::Binary, Init::Xavier, seed).unwrap());
    let mut rng = ChaCha8Rng::seed_from_u64(seed + 100);
    for layer in net.layers_mut() {
        if let Some(norm) = &mut layer.normalization {
            let (gamma, beta) = norm.kind_mut().gamma_beta_mut();
            gamma.mapv_inplace(|_| rng.random_range(0.6..1.4));
            beta.mapv_inplace(|_| rng.random_range(0.15..0.5));
        }
    }
    net
}

/// A batch-normalized one.
fn bn_net(sizes: &[usize], hidden: Activation, seed: u64) -> Network {
    norm_net(Kind::Batch, sizes, hidden, seed)
}

/// The batch norm of layer l.
fn batch_norm(net: &Network, l: usize) -> &BatchNorm {
    match &net.layers()[l - 1].normalization {
        Some(Normalization::BatchNorm(bn)) => bn,
        other => panic!("layer {l} is not batch-normalized: {other:?}"),
    }
}

/// The training pass of the check, without dropout or with frozen masks.
fn training_pass(net: &Network, x: &Array2<f64>, dropout: Option<FrozenDropout<'_>>) -> Cache<Train> {
    match dropout {
        None => net.forward_with_masks(x.view(), &Dropout::Off, &vec![None; net.num_layers()]).unwrap(),
        Some(d) => net.forward_with_masks(x.view(), d.dropout, d.masks).unwrap(),
    }
}

fn near_relu_kink(net: &Network, cache: &Cache<Train>) -> bool {
    net.layers().iter().enumerate().any(|(i, layer)| {
        matches!(layer.activation, Activation::Relu | Activation::LeakyRelu(_))
            && cache.z(i + 1).unwrap().iter().any(|z| z.abs() < 1e-3)
    })
}

/// Every tensor within TOL, and the report lists dγ, dβ of every normalized layer.
fn assert_passes(net: &Network, x: &Array2<f64>, y: &Array2<f64>, lambda: f64, d: Option<FrozenDropout<'_>>) {
    let report = gradient_check(net, x.view(), y.view(), lambda, 1e-6, d).unwrap();
    let hidden = net.num_layers() - 1;
    for l in 1..=hidden {
        for name in [format!("dγ[{l}]"), format!("dβ[{l}]")] {
            assert!(report.tensors.iter().any(|t| t.name == name), "{name} missing\n{report}");
        }
    }
    // A tensor whose gradient is 0 in exact arithmetic has no meaningful relative error: with
    // linear hidden units, β[1] is cancelled by layer 2's batch normalization as b[l] is by its
    // own (dβ[1] is rounding on both sides), and layer norm cancels the part of b[l] (and
    // β[l − 1]) common to every unit. There the absolute difference must be tiny.
    for t in &report.tensors {
        assert!(
            t.relative_error < TOL || t.max_abs_diff < 1e-9,
            "{:?} λ {lambda}\n{report}",
            net.layers()[0].activation
        );
    }
}

#[test]
fn every_hidden_activation_passes_with_and_without_l2() {
    for (kind, hidden) in KINDS.into_iter().flat_map(|k| Activation::ALL.map(|a| (k, a))) {
        let net = norm_net(kind, &[3, 5, 4, 1], hidden, 11);
        let x = inputs(3, 8, 1);
        assert!(!near_relu_kink(&net, &training_pass(&net, &x, None)), "{kind:?} {hidden}");
        for lambda in [0.0, 0.3] {
            assert_passes(&net, &x, &labels(8), lambda, None);
        }
    }
}

#[test]
fn every_hidden_activation_passes_with_frozen_dropout() {
    for (kind, hidden) in KINDS.into_iter().flat_map(|k| Activation::ALL.map(|a| (k, a))) {
        let net = norm_net(kind, &[3, 6, 5, 1], hidden, 12);
        let x = inputs(3, 7, 2);
        let dropout = Dropout::Hidden(0.7);
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let masks = net.forward_train(x.view(), &dropout, &mut rng).unwrap().masks();
        assert!(masks[0].as_ref().unwrap().iter().any(|&d| d == 0.0), "the mask should drop something");
        let frozen = FrozenDropout { dropout: &dropout, masks: &masks };
        assert!(!near_relu_kink(&net, &training_pass(&net, &x, Some(frozen))));
        assert_passes(&net, &x, &labels(7), 0.2, Some(frozen));
    }
}

#[test]
fn every_loss_passes_on_a_partly_normalized_network() {
    let cases = [(Task::MultiClass, 4), (Task::Regression, 2)];
    for (kind, (task, n_out)) in KINDS.into_iter().flat_map(|k| cases.map(|c| (k, c))) {
        let mut net = Network::new(&[3, 6, 5, n_out], Activation::Tanh, task, Init::Xavier, 5).unwrap();
        // Only layer 2 is normalized.
        net.layers_mut()[1].normalization = Some(kind.build(5));
        let net = Network::from_layers(net.layers().to_vec(), net.loss()).unwrap();
        let y = match task {
            Task::MultiClass => one_hot(&[0, 1, 2, 3, 1, 2], 4),
            _ => Array2::from_shape_fn((2, 6), |(i, j)| ((i * 3 + j) as f64).sin()),
        };
        let report = gradient_check(&net, inputs(3, 6, 3).view(), y.view(), 0.5, 1e-6, None).unwrap();
        assert!(report.passes(TOL), "{kind:?}\n{report}");
        let names: Vec<&str> = report.tensors.iter().map(|t| t.name.as_str()).collect();
        match kind {
            // Batch norm cancels b[2]: its gradient is 0 by construction and not reported.
            Kind::Batch => assert_eq!(names, ["dW[1]", "db[1]", "dW[2]", "dγ[2]", "dβ[2]", "dW[3]", "db[3]"]),
            Kind::Layer => {
                assert_eq!(names, ["dW[1]", "db[1]", "dW[2]", "db[2]", "dγ[2]", "dβ[2]", "dW[3]", "db[3]"])
            }
        }
    }
}

#[test]
fn the_bias_of_a_normalized_layer_does_not_change_the_cost() {
    // Why the check leaves b[l] alone and backprop gives db[l] = 0: Z[l] − μ[l] cancels it.
    let net = bn_net(&[3, 5, 1], Activation::Tanh, 3);
    let (x, y) = (inputs(3, 6, 5), labels(6));
    let j = |net: &Network| gradcheck::cost_at(net, x.view(), y.view(), 0.0, None).unwrap();
    let mut moved = net.clone();
    moved.layers_mut()[0].b.mapv_inplace(|b| b + 0.37);
    assert!((j(&moved) - j(&net)).abs() < 1e-14, "{} vs {}", j(&moved), j(&net));
    let grads = net.backward(&training_pass(&net, &x, None), y.view(), 0.0).unwrap();
    assert!(grads.db(1).unwrap().iter().all(|&v| v == 0.0));
    assert!(grads.db(2).unwrap().iter().any(|&v| v != 0.0));
    // Layer norm subtracts each example's mean over the units: a b[l] the same for every
    // unit cancels, one that differs between units does not.
    let ln = norm_net(Kind::Layer, &[3, 5, 1], Activation::Tanh, 3);
    let mut same = ln.clone();
    same.layers_mut()[0].b.mapv_inplace(|b| b + 0.37);
    assert!((j(&same) - j(&ln)).abs() < 1e-14);
    let mut tilted = ln.clone();
    tilted.layers_mut()[0].b[[0, 0]] += 0.37;
    assert!((j(&tilted) - j(&ln)).abs() > 1e-4);
}

#[test]
fn a_planted_bug_in_the_normalization_gradient_is_caught() {
    for kind in KINDS {
        let net = norm_net(kind, &[3, 5, 1], Activation::Tanh, 6);
        let (x, y) = (inputs(3, 6, 7), labels(6));
        let mut grads = net.backward(&training_pass(&net, &x, None), y.view(), 0.0).unwrap();
        // The classic mistake: dγ without Ẑ (the gradient of a shift, not of a scale).
        let dbeta = grads.get(ParamId::beta(1)).unwrap().clone();
        *grads.get_mut(ParamId::gamma(1)).unwrap() = dbeta;
        let numeric = numerical_gradients(&net, x.view(), y.view(), 0.0, 1e-6, None).unwrap();
        let report = compare_gradients(&grads, &numeric);
        let bad: Vec<&str> =
            report.tensors.iter().filter(|t| t.relative_error > 1e-3).map(|t| t.name.as_str()).collect();
        assert_eq!(bad, ["dγ[1]"], "{kind:?}\n{report}");
    }
}

#[test]
fn evaluation_uses_the_running_statistics_not_the_batch() {
    let mut net = bn_net(&[2, 6, 1], Activation::Relu, 8);
    let x = inputs(2, 16, 9).mapv(|v| 3.0 * v + 2.0);
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let before = net.forward(x.view()).unwrap().output().to_owned();
    let cache = net.forward_train(x.view(), &Dropout::Off, &mut rng).unwrap();
    // A training pass leaves the running averages where they were …
    assert_eq!(net.forward(x.view()).unwrap().output(), before);
    // … and the explicit update moves them by (1 − momentum) towards the batch's.
    net.update_running_statistics(&cache).unwrap();
    let bn = batch_norm(&net, 1);
    let stats = cache.normalization_stats(1).unwrap();
    let z = net.layers()[0].w.dot(&x) + &net.layers()[0].b;
    for i in 0..6 {
        let mu = z.row(i).mean().unwrap();
        let var = z.row(i).mapv(|v| (v - mu).powi(2)).mean().unwrap();
        assert!((stats.mean[[i, 0]] - mu).abs() < 1e-12 && (stats.var[[i, 0]] - var).abs() < 1e-12);
        assert!((bn.running_mean[[i, 0]] - 0.1 * mu).abs() < 1e-12);
        assert!((bn.running_var[[i, 0]] - (0.9 + 0.1 * var)).abs() < 1e-12);
    }
    // Evaluation: each column on its own, whatever else is in the batch …
    let all = net.forward(x.view()).unwrap();
    for j in [0, 7, 15] {
        let one = net.forward(x.slice(s![.., j..j + 1])).unwrap();
        assert_eq!(one.output().column(0), all.output().column(j));
    }
    // … and not the batch statistics the training pass normalized with.
    let train = net.forward_with_masks(x.view(), &Dropout::Off, &[None, None]).unwrap();
    let differs = (&train.output() - &all.output()).iter().map(|d| d.abs()).fold(0.0, f64::max);
    assert!(differs > 1e-2, "{differs}");
    // Training-mode outputs depend on the rest of the batch.
    let half = net.forward_with_masks(x.slice(s![.., 0..8]), &Dropout::Off, &[None, None]).unwrap();
    assert_ne!(half.output().column(0), train.output().column(0));
}

#[test]
fn layer_norm_computes_the_same_in_training_and_evaluation_and_alone() {
    let mut net = norm_net(Kind::Layer, &[2, 6, 4, 1], Activation::Relu, 8);
    let x = inputs(2, 16, 9).mapv(|v| 3.0 * v + 2.0);
    let eval = net.forward(x.view()).unwrap();
    let train = net.forward_with_masks(x.view(), &Dropout::Off, &[None, None, None]).unwrap();
    assert_eq!(eval.output(), train.output(), "no running statistics: one computation");
    // Each example over its own units: μ and σ² per column, and a column alone is the same.
    let stats = train.normalization_stats(1).unwrap();
    assert_eq!((stats.mean.dim(), stats.inv_std.dim()), ((1, 16), (1, 16)));
    let z = net.layers()[0].w.dot(&x) + &net.layers()[0].b;
    for j in [0, 5, 15] {
        let mu = z.column(j).mean().unwrap();
        assert!((stats.mean[[0, j]] - mu).abs() < 1e-12);
        let one =
            net.forward_with_masks(x.slice(s![.., j..j + 1]), &Dropout::Off, &[None, None, None]).unwrap();
        assert_eq!(one.output().column(0), train.output().column(j));
    }
    // A batch of one trains (batch norm refuses it), and the "update" moves nothing.
    let before = net.clone();
    net.update_running_statistics(&train).unwrap();
    assert_eq!(net, before);
    let one_example = (inputs(2, 1, 3), labels(1));
    let config = TrainConfig { batch_size: 1, ..TrainConfig::default() };
    fit(&mut net, &mut Optimizer::sgd(0.1).unwrap(), (&one_example.0, &one_example.1), &config, 2).unwrap();
    assert_ne!(net, before);
}

#[test]
fn fit_is_the_readable_loop_and_moves_every_normalized_parameter() {
    let data = spirals(300, 3, 0.1, 2).unwrap();
    let (x, y) = (data.x.clone(), data.targets(Task::MultiClass));
    let plain = Network::new(&[2, 16, 16, 3], Activation::Relu, Task::MultiClass, Init::He, 6).unwrap();
    let batch =
        plain.clone().with_normalization(BatchNormConfig { momentum: 0.8, ..BatchNormConfig::default() });
    let starts = [batch.unwrap(), plain.with_normalization(LayerNormConfig::default()).unwrap()];
    let config = TrainConfig {
        batch_size: 64,
        dropout: Dropout::Hidden(0.9),
        l2: 0.01,
        seed: 3,
        ..TrainConfig::default()
    };
    let epochs = 8;
    let optimizers = [
        OptimizerConfig::Sgd(SgdConfig { lr: 0.1 }),
        OptimizerConfig::Momentum(MomentumConfig { lr: 0.1, ..MomentumConfig::default() }),
        OptimizerConfig::RmsProp(RmsPropConfig::default()),
        OptimizerConfig::Adam(AdamConfig { lr: 0.01, ..AdamConfig::default() }),
        OptimizerConfig::AdamW(AdamWConfig { lr: 0.01, ..AdamWConfig::default() }),
    ];
    for (start, opt) in starts.iter().flat_map(|s| optimizers.map(|o| (s, o))) {
        let what = format!("{opt}, {}", start.architecture());
        // The loop of the course, written with the readable functions.
        let (mut net, mut optimizer) = (start.clone(), Optimizer::new(opt).unwrap());
        let h_reference = fit_reference(&mut net, &mut optimizer, (&x, &y), &config, epochs).unwrap();
        let mut fitted = start.clone();
        let mut fit_opt = Optimizer::new(opt).unwrap();
        let history = fit(&mut fitted, &mut fit_opt, (&x, &y), &config, epochs).unwrap();
        // In the default build the two paths agree to the last bit (the blas build's products
        // sum in another order).
        #[cfg(not(feature = "blas"))]
        {
            assert_eq!(history, h_reference, "{what}");
            assert_eq!(fitted, net, "{what}");
            assert_eq!(fit_opt.state(), optimizer.state(), "{what}");
        }
        // Every parameter of the normalized layers moved, and batch norm's running averages.
        let moved = |a: &Array2<f64>, b: &Array2<f64>| a.iter().zip(b).all(|(p, q)| p != q);
        for ((p, q), (id, _)) in start.params().zip(fitted.params()).zip(Gradients::zeros_like(start).iter())
        {
            if matches!(id.kind, ParamKind::Scale | ParamKind::Shift) {
                assert!(moved(&p.value.to_owned(), &q.value.to_owned()), "{what}: {id} did not move");
            }
        }
        for l in 1..=2 {
            if let (Some(Normalization::BatchNorm(a)), Some(Normalization::BatchNorm(b))) =
                (&start.layers()[l - 1].normalization, &fitted.layers()[l - 1].normalization)
            {
                assert!(
                    moved(&a.running_mean, &b.running_mean) && moved(&a.running_var, &b.running_var),
                    "{what}"
                );
            }
        }
        // The optimizer's averages of γ[1] moved too.
        let state = fit_opt.state();
        for average in [state.first(ParamId::gamma(1)), state.second(ParamId::gamma(1))].into_iter().flatten()
        {
            assert!(average.iter().any(|&v| v != 0.0), "{what}");
        }
        let (first, last) = (history.train_loss[0], history.train_loss[epochs - 1]);
        // Trained: batch norm takes a tenth off J between the first and the last epoch; layer
        // norm, slower on this tiny network (3.7 % to 14 % for these optimizers), less.
        let batch_norm = start.layers()[0].normalization.as_ref().is_some_and(|n| n.kind().cancels_bias());
        let factor = if batch_norm { 0.9 } else { 0.99 };
        assert!(last < factor * first, "{what}: {:?}", history.train_loss);
    }
}

#[test]
fn save_load_and_resume_keep_every_bit() {
    let data = two_moons(200, 0.2, 1).unwrap();
    let (x, y) = (data.x.clone(), data.targets(Task::Binary));
    let dir = std::env::temp_dir().join(format!("ann_normalization_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (kind, name) in
        [(Kind::Batch, "batch norm (ε = 0.00001, momentum 0.9)"), (Kind::Layer, "layer norm (ε = 0.00001)")]
    {
        let mut net = norm_net(kind, &[2, 8, 8, 1], Activation::Tanh, 2);
        let mut adam = Optimizer::adam(0.01).unwrap();
        let path = dir.join("ckpt.json");
        let config = TrainConfig { batch_size: 32, seed: 5, ..TrainConfig::default() };
        let every_2 = Checkpointing { path: path.clone(), every: 2 };
        let mut whole = net.clone();
        let h_whole = fit(&mut whole, &mut Optimizer::adam(0.01).unwrap(), (&x, &y), &config, 4).unwrap();
        // The same run stopped after 2 epochs and resumed from its checkpoint.
        Trainer::new(&config, 2).checkpoint(every_2).fit(&mut net, &mut adam, (&x, &y)).unwrap();
        let checkpoint = Checkpoint::load(&path).unwrap();
        let mut resumed = checkpoint.network.clone();
        let mut opt = checkpoint.optimizer.clone();
        let h = Trainer::new(&config, 4).resume(&checkpoint).fit(&mut resumed, &mut opt, (&x, &y)).unwrap();
        assert_eq!((&resumed, &h), (&whole, &h_whole), "{kind:?}");
        // A plain network of the same sizes cannot resume it.
        let mut plain = Network::new(&[2, 8, 8, 1], Activation::Tanh, Task::Binary, Init::Xavier, 2).unwrap();
        let err = Trainer::new(&config, 4)
            .resume(&checkpoint)
            .fit(&mut plain, &mut checkpoint.optimizer.clone(), (&x, &y))
            .unwrap_err();
        assert!(err.to_string().contains(&format!("{name} on layer 1, {name} on layer 2")), "{err}");
        // A saved network comes back with its γ, β (and running statistics).
        let file = dir.join("net.json");
        whole.save(&file).unwrap();
        let loaded = Network::load(&file).unwrap();
        assert_eq!(loaded, whole);
        assert_eq!(loaded.predict_proba(x.view()).unwrap(), whole.predict_proba(x.view()).unwrap());
    }
    // Networks without normalization are saved as before: no normalization field at all.
    let plain = Network::new(&[2, 3, 1], Activation::Relu, Task::Binary, Init::He, 0).unwrap();
    assert!(!SavedModel::new(plain, None).to_json().unwrap().contains("normalization"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_normalization_settings_are_clear_errors() {
    let net = || Network::new(&[2, 4, 4, 1], Activation::Relu, Task::Binary, Init::He, 0).unwrap();
    for (epsilon, momentum) in [(0.0, 0.9), (-1.0, 0.9), (f64::INFINITY, 0.9), (1e-5, 1.0), (1e-5, -0.5)] {
        let err = net().with_normalization(BatchNormConfig { epsilon, momentum }).unwrap_err();
        assert!(matches!(err, AnnError::InvalidHyperparameter { .. }), "{err}");
    }
    let err = net().with_normalization(LayerNormConfig { epsilon: -1.0 }).unwrap_err();
    assert!(err.to_string().contains("layer norm epsilon"), "{err}");
    // Layer norm averages over a layer's units: a layer of one unit cannot have it.
    let thin = Network::new(&[2, 1, 4, 1], Activation::Relu, Task::Binary, Init::He, 0).unwrap();
    let err = thin.with_normalization(LayerNormConfig::default()).unwrap_err();
    assert!(err.to_string().contains("at least 2"), "{err}");
    let bn = net().with_normalization(BatchNormConfig::default()).unwrap();
    // A batch of one example: nothing to normalize over, in the forward pass …
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let err = bn.forward_train(inputs(2, 1, 0).view(), &Dropout::Off, &mut rng).unwrap_err();
    assert!(err.to_string().contains("layer 1") && err.to_string().contains("at least 2"), "{err}");
    // … and in training, whether every batch or only the last one has a single example.
    let data = two_moons(65, 0.1, 0).unwrap();
    let y = data.targets(Task::Binary);
    for batch_size in [1, 32, 64] {
        let config = TrainConfig { batch_size, ..TrainConfig::default() };
        let mut n = bn.clone();
        let err = fit(&mut n, &mut Optimizer::sgd(0.1).unwrap(), (&data.x, &y), &config, 1).unwrap_err();
        assert!(err.to_string().contains("batch of 1"), "{batch_size}: {err}");
        assert_eq!(n, bn, "nothing trained");
    }
    // Evaluation of one example is fine: it uses the running statistics.
    assert!(bn.predict(inputs(2, 1, 0).view()).is_ok());
    // Backprop needs a training pass.
    let err = bn.backward(&bn.forward(inputs(2, 4, 0).view()).unwrap(), labels(4).view(), 0.0).unwrap_err();
    assert!(err.to_string().contains("training pass"), "{err}");
    // The output layer is not normalized; shapes and values are checked on assembly.
    for kind in KINDS {
        let mut layers = bn.layers().to_vec();
        layers[2].normalization = Some(kind.build(2));
        let err = Network::from_layers(layers, Loss::BinaryCrossEntropy).unwrap_err();
        assert!(err.to_string().contains("output"), "{err}");
        let mut layers = kind.apply(net()).layers().to_vec();
        *layers[1].normalization.as_mut().unwrap().kind_mut().gamma_beta_mut().0 = Array2::ones((3, 1));
        let err = Network::from_layers(layers, Loss::BinaryCrossEntropy).unwrap_err();
        assert!(err.to_string().contains("γ of layer 2") && err.to_string().contains("(3, 1)"), "{err}");
    }
    let mut layers = bn.layers().to_vec();
    if let Some(Normalization::BatchNorm(bn)) = &mut layers[0].normalization {
        bn.running_var[[1, 0]] = -1.0;
    }
    assert!(Network::from_layers(layers, Loss::BinaryCrossEntropy).is_err());
    for kind in KINDS {
        // A layer whose β no longer fits its units (the fields are public) is an error, not a
        // panic, in every pass.
        let normalized = kind.apply(net());
        let mut odd = normalized.clone();
        *odd.layers_mut()[0].normalization.as_mut().unwrap().kind_mut().gamma_beta_mut().1 =
            Array2::zeros((5, 1));
        assert!(odd.forward_train(inputs(2, 4, 0).view(), &Dropout::Off, &mut rng).is_err());
        assert!(odd.predict(inputs(2, 4, 0).view()).is_err());
        let config = TrainConfig { batch_size: 5, ..TrainConfig::default() };
        let err =
            fit(&mut odd.clone(), &mut Optimizer::sgd(0.1).unwrap(), (&data.x, &y), &config, 1).unwrap_err();
        assert!(err.to_string().contains("β"), "{err}");
        // Another layer's cache.
        let cache = normalized.forward_train(inputs(2, 4, 0).view(), &Dropout::Off, &mut rng).unwrap();
        let mut other = normalized.clone();
        other.layers_mut()[0].normalization = Some(kind.build(3));
        assert!(other.backward(&cache, labels(4).view(), 0.0).is_err(), "{kind:?}");
        // Weights that overflow are a divergence.
        let mut wild = normalized.clone();
        let config = TrainConfig { batch_size: 13, ..TrainConfig::default() };
        let err = fit(&mut wild, &mut Optimizer::sgd(1e300).unwrap(), (&data.x, &y), &config, 5).unwrap_err();
        assert!(matches!(err, AnnError::Diverged { .. }), "{kind:?}: {err}");
    }
    let cache = bn.forward_train(inputs(2, 4, 0).view(), &Dropout::Off, &mut rng).unwrap();
    let mut other = bn.clone();
    other.layers_mut()[0].normalization = Some(Kind::Batch.build(3));
    assert!(other.update_running_statistics(&cache).is_err());
    // The cache of an evaluation-like pass, or of a plain network of the same sizes, moves
    // nothing silently: an error.
    let plain_pass = net().forward_train(inputs(2, 4, 0).view(), &Dropout::Off, &mut rng).unwrap();
    let err = bn.clone().update_running_statistics(&plain_pass).unwrap_err();
    assert!(err.to_string().contains("layer 1 is normalized"), "{err}");
    // An optimizer's state from a plain network does not fit a normalized one.
    let plain = net();
    let mut adam = Optimizer::adam(0.01).unwrap();
    adam.step(&mut plain.clone(), &Gradients::zeros_like(&plain)).unwrap();
    let state = adam.state().clone();
    let mut other = Optimizer::with_state(*adam.config(), state).unwrap();
    assert!(other.step(&mut bn.clone(), &Gradients::zeros_like(&bn)).is_err());
    assert!(Optimizer::adam(0.01).unwrap().step(&mut bn.clone(), &Gradients::zeros_like(&plain)).is_err());
}
