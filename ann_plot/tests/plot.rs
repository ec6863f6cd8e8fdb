//! Figures: size and format of the PNG and SVG, text in the SVG, determinism, and errors
//! (never panics) on degenerate input.

use ann_core::*;
use ann_plot::{self as plot, Figure, PlotError};
use ndarray::{Array2, array};
use rand::SeedableRng;
use rand::rngs::ChaCha8Rng;

/// (width, height) from the PNG signature and IHDR chunk.
fn png_size(png: &[u8]) -> (u32, u32) {
    assert!(png.len() > 24, "PNG too short: {} bytes", png.len());
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "PNG signature");
    assert_eq!(&png[12..16], b"IHDR", "first chunk is IHDR");
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    (be(&png[16..20]), be(&png[20..24]))
}

/// Whether the SVG has a `<text>` element reading `text` (plotters writes the content on
/// its own line, XML-escaped).
fn has_text(svg: &str, text: &str) -> bool {
    let escaped = text
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;");
    svg.contains(&format!(">\n{escaped}\n</text>"))
}

/// The figure is a PNG and an SVG of its stated size, whose SVG has `title` as text.
fn check_figure(fig: &Figure, width: u32, height: u32, title: &str) {
    assert_eq!((fig.width(), fig.height()), (width, height));
    // Wider figures shrink below legibility in a notebook column.
    assert!(width <= plot::style::COLUMN_WIDTH, "{title}: {width} px wide");
    assert_eq!(png_size(fig.png_bytes()), (width, height));
    let svg = fig.svg();
    assert!(svg.starts_with("<svg"), "{}", &svg[..svg.len().min(80)]);
    assert!(svg.contains(&format!("width=\"{width}\" height=\"{height}\"")));
    assert!(svg.contains("<text"), "SVG has text elements");
    assert!(has_text(svg, title), "SVG shows the title {title:?}");
    assert!(!svg.contains("data:png;"), "embedded images carry a full MIME type");
    assert_eq!(fig.title(), title);
}

fn moons(m: usize) -> Dataset {
    two_moons(m, 0.15, 3).unwrap()
}

/// A small binary classifier on moons, with its history (train + validation).
fn trained_binary() -> (Network, History, Dataset) {
    let data = moons(200);
    let (train, val) = train_test_split(&data, 0.25, 1).unwrap();
    let mut net = Network::new(&[2, 8, 8, 1], Activation::Relu, Task::Binary, Init::He, 1).unwrap();
    let mut adam = Optimizer::adam(0.02).unwrap();
    let config = TrainConfig { batch_size: 32, seed: 2, ..TrainConfig::default() };
    let (yt, yv) = (train.targets(Task::Binary), val.targets(Task::Binary));
    let history = Trainer::new(&config, 8)
        .validation(DataView::new(val.x.view(), yv.view()))
        .fit(&mut net, &mut adam, DataView::new(train.x.view(), yt.view()))
        .unwrap();
    (net, history, data)
}

fn multiclass() -> (Network, Dataset) {
    let data = spirals(150, 3, 0.1, 2).unwrap();
    let mut net = Network::new(&[2, 16, 3], Activation::Tanh, Task::MultiClass, Init::Xavier, 3).unwrap();
    let mut adam = Optimizer::adam(0.02).unwrap();
    let y = data.targets(Task::MultiClass);
    let config = TrainConfig { batch_size: 32, ..TrainConfig::default() };
    fit(&mut net, &mut adam, DataView::new(data.x.view(), y.view()), &config, 5).unwrap();
    (net, data)
}

#[test]
fn training_curves_render_loss_and_accuracy() {
    let (net, history, _) = trained_binary();
    let title = "moons <2, 8, 8, 1> & Adam";
    let fig = plot::training_curves(&history, net.loss(), title).unwrap();
    check_figure(&fig, 1000, 480, title);
    for text in ["epoch", "loss J (binary cross-entropy)", "accuracy (fraction correct)", "validation"] {
        assert!(has_text(fig.svg(), text), "missing {text:?}");
    }
    // Default title.
    let fig = plot::training_curves(&history, net.loss(), "").unwrap();
    assert_eq!(fig.title(), "Training curves (8 epochs)");
}

#[test]
fn training_curves_edge_cases() {
    // One epoch, no steps, no validation: still a figure.
    let one = History { train_loss: vec![0.7], train_accuracy: vec![0.5], ..History::default() };
    check_figure(&plot::training_curves(&one, Loss::BinaryCrossEntropy, "one").unwrap(), 1000, 480, "one");
    // A constant loss (zero span) and a regression run (no accuracy → one panel).
    let flat = History {
        train_loss: vec![0.25; 3],
        step_loss: vec![0.25; 6],
        steps_per_epoch: 2,
        best_epoch: Some(1),
        ..History::default()
    };
    check_figure(&plot::training_curves(&flat, Loss::MeanSquaredError, "flat").unwrap(), 900, 600, "flat");
    // Empty history and NaN values are errors, not panics.
    let err = plot::training_curves(&History::default(), Loss::CrossEntropy, "").unwrap_err();
    assert!(matches!(err, PlotError::Ann(AnnError::EmptyInput(_))), "{err}");
    let nan = History { train_loss: vec![0.5, f64::NAN], ..History::default() };
    assert!(matches!(
        plot::training_curves(&nan, Loss::CrossEntropy, "").unwrap_err(),
        PlotError::Ann(AnnError::NonFinite(_))
    ));
    // Steps recorded without steps_per_epoch: the faint per-step line is skipped.
    let odd = History { train_loss: vec![1.0, 0.5], step_loss: vec![1.0; 4], ..History::default() };
    assert!(plot::training_curves(&odd, Loss::CrossEntropy, "odd").is_ok());
}

#[test]
fn training_curves_draw_the_l2_term_apart() {
    let data = two_moons(120, 0.2, 3).unwrap();
    let y = data.targets(Task::Binary);
    let mut net = Network::new(&[2, 8, 1], Activation::Tanh, Task::Binary, Init::Xavier, 4).unwrap();
    let config = TrainConfig { batch_size: 32, l2: 0.5, ..TrainConfig::default() };
    let history = Trainer::new(&config, 4)
        .validation(DataView::new(data.x.view(), y.view()))
        .fit(&mut net, &mut Optimizer::adam(0.02).unwrap(), DataView::new(data.x.view(), y.view()))
        .unwrap();
    assert_eq!(history.l2_penalty.len(), 4);
    let fig = plot::training_curves(&history, net.loss(), "L2").unwrap();
    for text in [
        "binary cross-entropy and L2 term",
        "L2 term (λ/2N) Σ‖W[l]‖², both sets",
        "mini-batch loss J{t} (data + L2 term, per step)",
    ] {
        assert!(has_text(fig.svg(), text), "missing {text:?}");
    }
    // Without L2 the axis names the whole loss.
    let (net, plain, _) = trained_binary();
    let fig = plot::training_curves(&plain, net.loss(), "plain").unwrap();
    assert!(!fig.svg().contains("L2 term"));
    // A penalty that does not have one entry per epoch is an error naming the field.
    let bad = History { l2_penalty: vec![0.1], ..history };
    let err = plot::training_curves(&bad, Loss::BinaryCrossEntropy, "").unwrap_err().to_string();
    assert!(err.contains("l2_penalty"), "{err}");
}

#[test]
fn activation_functions_render_and_reject_bad_input() {
    let acts = [Activation::Relu, Activation::Tanh, Activation::Sigmoid];
    let fig = plot::activation_functions(&acts, (-5.0, 5.0), "").unwrap();
    check_figure(&fig, 1000, 460, "Activation functions g(z) and derivatives g′(z)");
    assert!(has_text(fig.svg(), "g′(z) = 1 − tanh²(z)"));
    assert!(plot::activation_functions(&[Activation::Linear], (0.0, 1.0), "t").is_ok());
    assert!(plot::activation_functions(&[], (-1.0, 1.0), "").is_err());
    assert!(plot::activation_functions(&[Activation::Softmax], (-1.0, 1.0), "").is_err());
    assert!(plot::activation_functions(&acts, (1.0, 1.0), "").is_err());
    assert!(plot::activation_functions(&acts, (f64::NAN, 1.0), "").is_err());
}

#[test]
fn decision_boundary_binary_and_multiclass() {
    let (net, _, data) = trained_binary();
    let fig = plot::decision_boundary(&net, data.x.view(), &data.labels, "binary").unwrap();
    check_figure(&fig, 1000, 760, "binary");
    assert!(has_text(fig.svg(), "P(y = 1 | x)"));
    // The probability map is one embedded image, not thousands of rectangles.
    assert!(fig.svg().contains("href=\"data:image/png;base64,"));
    assert!(fig.svg().len() < 600_000, "SVG is {} bytes", fig.svg().len());

    let (net3, spir) = multiclass();
    let fig = plot::decision_boundary(&net3, spir.x.view(), &spir.labels, "").unwrap();
    check_figure(&fig, 1000, 760, "Decision boundary of a [2, 16, 3] network");
    assert!(has_text(fig.svg(), "class 2"));
}

#[test]
fn decision_boundary_degenerate_input_is_an_error_or_a_figure_never_a_panic() {
    let (net, _, data) = trained_binary();
    // A single class, and constant features (zero-width axis ranges): still figures.
    let ones = vec![1; data.len()];
    assert!(plot::decision_boundary(&net, data.x.view(), &ones, "one class").is_ok());
    let constant = Array2::from_elem((2, 5), 0.3);
    assert!(plot::decision_boundary(&net, constant.view(), &[0, 1, 0, 1, 0], "constant").is_ok());
    // Any label values: colours cycle through the palette, one legend entry per class present.
    let odd: Vec<usize> = (0..data.len()).map(|j| if j % 2 == 0 { 7 } else { usize::MAX }).collect();
    let fig = plot::decision_boundary(&net, data.x.view(), &odd, "odd labels").unwrap();
    assert!(has_text(fig.svg(), "class 7") && has_text(fig.svg(), &format!("class {}", usize::MAX)));
    assert!(plot::layer_activations(&net, data.x.view(), &odd, 1, "").is_ok());
    let single = array![[0.5], [0.25]];
    assert!(plot::decision_boundary(&net, single.view(), &[0], "one point").is_ok());
    // Errors.
    assert!(plot::decision_boundary(&net, Array2::zeros((2, 0)).view(), &[], "").is_err());
    assert!(plot::decision_boundary(&net, Array2::zeros((3, 4)).view(), &[0; 4], "").is_err());
    assert!(plot::decision_boundary(&net, data.x.view(), &data.labels[1..], "").is_err());
    let nan = array![[0.0, f64::NAN], [1.0, 1.0]];
    assert!(matches!(
        plot::decision_boundary(&net, nan.view(), &[0, 1], "").unwrap_err(),
        PlotError::Ann(AnnError::NonFinite(_))
    ));
    let regression = Network::new(&[2, 4, 1], Activation::Relu, Task::Regression, Init::He, 0).unwrap();
    assert!(plot::decision_boundary(&regression, data.x.view(), &data.labels, "").is_err());
    let wide = Network::new(&[3, 4, 1], Activation::Relu, Task::Binary, Init::He, 0).unwrap();
    let x3 = Array2::zeros((3, 4));
    assert!(plot::decision_boundary(&wide, x3.view(), &[0; 4], "").is_err());
}

#[test]
fn feature_transformer_needs_a_2_3_2_network() {
    let data = circles(120, 0.05, 0.5, 4).unwrap();
    let mut net = Network::new(&[2, 3, 2, 1], Activation::Tanh, Task::Binary, Init::Xavier, 2).unwrap();
    let mut adam = Optimizer::adam(0.01).unwrap();
    let y = data.targets(Task::Binary);
    let config = TrainConfig { batch_size: 32, ..TrainConfig::default() };
    fit(&mut net, &mut adam, DataView::new(data.x.view(), y.view()), &config, 3).unwrap();
    let fig = plot::feature_transformer(&net, data.x.view(), &data.labels, "2-3-2").unwrap();
    check_figure(&fig, 1000, 500, "2-3-2");
    assert!(has_text(fig.svg(), "unit 3"));
    // Output directly after layer 2: the last panel is a plain scatter.
    let short = Network::new(&[2, 3, 2], Activation::Tanh, Task::MultiClass, Init::Xavier, 2).unwrap();
    assert!(plot::feature_transformer(&short, data.x.view(), &data.labels, "").is_ok());
    let (other, _, moons) = trained_binary();
    let err = plot::feature_transformer(&other, moons.x.view(), &moons.labels, "").unwrap_err();
    assert!(err.to_string().contains("[2, 3, 2, ...]"), "{err}");
}

#[test]
fn layer_activations_and_neuron_maps() {
    let (net, _, data) = trained_binary();
    let fig = plot::layer_activations(&net, data.x.view(), &data.labels, 1, "").unwrap();
    check_figure(&fig, 1000, 560, "Firing pattern of layer 1 (8 ReLU units) on 200 examples");
    assert!(has_text(fig.svg(), "class 1"));
    assert!(plot::layer_activations(&net, data.x.view(), &data.labels, 3, "out").is_ok());
    assert!(plot::layer_activations(&net, data.x.view(), &data.labels, 0, "").is_err());
    assert!(plot::layer_activations(&net, data.x.view(), &data.labels, 4, "").is_err());
    assert!(plot::layer_activations(&net, data.x.view(), &[0, 1], 1, "").is_err());

    let fig = plot::neuron_maps(&net, data.x.view(), &data.labels, 2, "maps").unwrap();
    assert_eq!(png_size(fig.png_bytes()), (fig.width(), fig.height()));
    check_figure(&fig, fig.width(), fig.height(), "maps");
    assert!(has_text(fig.svg(), "neuron 8") && !has_text(fig.svg(), "neuron 9"));
    let (net3, spir) = multiclass();
    let fig = plot::neuron_maps(&net3, spir.x.view(), &spir.labels, 1, "").unwrap();
    assert!(fig.title().contains("first 16 of 16") || fig.title().contains("(16, tanh)"), "{}", fig.title());
    assert!(plot::neuron_maps(&net, data.x.view(), &data.labels, 9, "").is_err());
}

#[test]
fn dropout_mask_from_a_training_pass() {
    let (net, _, data) = trained_binary();
    let x = data.x.slice(ndarray::s![.., ..60]).to_owned();
    let dropout = Dropout::Hidden(0.8);
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let cache = net.forward_train(x.view(), &dropout, &mut rng).unwrap();
    let fig = plot::dropout_mask(&net, &cache, 2, "").unwrap();
    assert!(fig.title().contains("keep_prob = 0.8"), "{}", fig.title());
    check_figure(&fig, 1000, 860, fig.title());
    assert!(fig.svg().contains("(first 48 of 60)"));
    // The output layer has no mask; layer 0 does not exist; the cache must match the net.
    assert!(plot::dropout_mask(&net, &cache, 3, "").is_err());
    assert!(plot::dropout_mask(&net, &cache, 0, "").is_err());
    let other = Network::new(&[2, 8, 1], Activation::Relu, Task::Binary, Init::He, 0).unwrap();
    assert!(plot::dropout_mask(&other, &cache, 1, "").is_err());
}

#[test]
fn same_inputs_give_identical_bytes() {
    let (net, history, data) = trained_binary();
    let a = plot::decision_boundary(&net, data.x.view(), &data.labels, "det").unwrap();
    let b = plot::decision_boundary(&net, data.x.view(), &data.labels, "det").unwrap();
    assert!(a.png_bytes() == b.png_bytes(), "PNG bytes differ");
    assert!(a.svg() == b.svg(), "SVG differs");
    let c = plot::training_curves(&history, net.loss(), "det").unwrap();
    let d = plot::training_curves(&history, net.loss(), "det").unwrap();
    assert_eq!(c, d);
    // A different title changes the output.
    let e = plot::training_curves(&history, net.loss(), "other").unwrap();
    assert_ne!(c.png_bytes(), e.png_bytes());
}

#[test]
fn figures_save_and_display() {
    let fig = plot::activation_functions(&[Activation::Tanh], (-2.0, 2.0), "save").unwrap();
    let dir = std::env::temp_dir().join(format!("ann_core_plot_test_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    fig.save_png(dir.join("f.png")).unwrap();
    fig.save_svg(dir.join("f.svg")).unwrap();
    assert_eq!(std::fs::read(dir.join("f.png")).unwrap(), fig.png_bytes());
    assert_eq!(std::fs::read_to_string(dir.join("f.svg")).unwrap(), fig.svg());
    std::fs::remove_dir_all(&dir).unwrap();
    let err = fig.save_png(dir.join("missing").join("f.png")).unwrap_err();
    assert!(matches!(err, PlotError::Draw(_)), "{err}");

    let debug = format!("{fig:?}");
    assert!(debug.contains("png_bytes") && debug.len() < 200, "{debug}");
}

#[test]
fn normalization_histograms_from_a_training_pass() {
    let data = moons(200);
    let net = Network::new(&[2, 16, 1], Activation::Relu, Task::Binary, Init::He, 3)
        .unwrap()
        .with_normalization(BatchNormConfig::default())
        .unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let cache = net.forward_train(data.x.view(), &Dropout::Off, &mut rng).unwrap();
    let z = net.layers()[0].w.dot(&data.x) + &net.layers()[0].b;
    let z_hat = &cache.normalization_stats(1).unwrap().z_hat;
    let fig = plot::normalization_histograms(z.view(), z_hat.view(), &[0, 3, 7], "").unwrap();
    check_figure(&fig, plot::style::COLUMN_WIDTH, 460, "Each unit's distribution over the mini-batch");
    assert!(has_text(fig.svg(), "unit 3: mean 0.00, std 1.00"));
    let again = plot::normalization_histograms(z.view(), z_hat.view(), &[0, 3, 7], "").unwrap();
    assert_eq!(fig.png_bytes(), again.png_bytes());
    // Errors, never panics.
    assert!(plot::normalization_histograms(z.view(), z_hat.t(), &[0], "").is_err());
    assert!(plot::normalization_histograms(z.view(), z_hat.view(), &[], "").is_err());
    assert!(plot::normalization_histograms(z.view(), z_hat.view(), &[16], "").is_err());
    assert!(plot::normalization_histograms(z.view(), z_hat.view(), &[0, 1, 2, 3, 4, 5, 6], "").is_err());
    let mut nan = z.clone();
    nan[[0, 0]] = f64::NAN;
    assert!(plot::normalization_histograms(nan.view(), z_hat.view(), &[0], "").is_err());
    let empty = Array2::<f64>::zeros((16, 0));
    assert!(plot::normalization_histograms(empty.view(), empty.view(), &[0], "").is_err());
    // One value everywhere is a figure, not a division by a zero range.
    let flat = Array2::<f64>::ones((2, 5));
    assert!(plot::normalization_histograms(flat.view(), flat.view(), &[0, 1], "").is_ok());
    fig.save_png(std::env::temp_dir().join("ann_normalization_histograms.png")).unwrap();
}
