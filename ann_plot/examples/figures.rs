//! Writes every figure of the course from real, seeded runs of `ann_core`.
//!
//! ```text
//! cargo run --release -p ann_plot --example figures -- [--out DIR] [--only SUBSTRING] [--list]
//! ```
//!
//! `DIR` defaults to the repository's `visualizations/`. Each figure is written as
//! `NAME.png` (and `NAME.svg` for line plots). Everything is seeded: two runs write
//! byte-identical files.
//!
//! ## Adding figures (7–15)
//!
//! Figures are a list of [`Entry`] values: a stable file name, whether to also write an
//! SVG, and a `fn() -> Result<Figure>` that runs the experiment and calls one plot
//! function. To add figures, put their generators in `examples/figures/extra.rs` and list
//! them in its `entries()`; they are appended after the core figures below. Keep the
//! `NN_descriptive_name` pattern (the gallery's two-digit number first) and fixed seeds.

use ann_core::*;
use ann_plot::{self as plot, Figure, Result};
use rand::SeedableRng;
use rand::rngs::ChaCha8Rng;
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[path = "figures/convolution.rs"]
mod convolution;
#[path = "figures/extra.rs"]
mod extra;
#[path = "figures/real_data.rs"]
mod real_data;

/// One figure: `name` (file stem), `svg` (also write NAME.svg), `make` (runs the
/// seeded experiment, returns the figure).
pub struct Entry {
    /// File stem, e.g. "01_loss_accuracy_curves".
    pub name: &'static str,
    /// Whether to also write the SVG (yes for line plots; big rasters are PNG only).
    pub svg: bool,
    /// Runs the experiment and draws the figure.
    pub make: fn() -> Result<Figure>,
}

/// The figures of training results: curves, layers as feature transformers, activations,
/// decision boundaries, layer activations, a dropout mask (gallery 1–6).
fn core_entries() -> Vec<Entry> {
    vec![
        Entry { name: "01_loss_accuracy_curves", svg: true, make: fig_curves },
        Entry { name: "02_feature_transformer_2d_3d_2d", svg: true, make: fig_transformer },
        Entry { name: "03_activation_functions", svg: true, make: fig_activations },
        Entry { name: "04_decision_boundary_moons", svg: true, make: fig_boundary_moons },
        Entry { name: "04_decision_boundary_spirals", svg: true, make: fig_boundary_spirals },
        Entry { name: "05_layer_activations_heatmap", svg: true, make: fig_layer_heatmap },
        Entry { name: "05_layer_activations_neuron_maps", svg: false, make: fig_neuron_maps },
        Entry { name: "06_dropout_mask", svg: false, make: fig_dropout },
    ]
}

// ---------------------------------------------------------------------------------------
// Seeded experiments shared by several figures.

/// Two moons (1000 points, noise 0.2), split 80/20; a [2, 16, 16, 1] ReLU network trained
/// with Adam (α = 0.01), mini-batches of 32, dropout keep_prob 0.9, 60 epochs.
struct Moons {
    net: Network,
    history: History,
    train: Dataset,
    val: Dataset,
}

fn moons() -> Result<Moons> {
    let data = two_moons(1000, 0.2, 1)?;
    let (train, val) = train_test_split(&data, 0.2, 2)?;
    let mut net = Network::new(&[2, 16, 16, 1], Activation::Relu, Task::Binary, Init::He, 3)?;
    let mut adam = Optimizer::adam(0.01)?;
    let config =
        TrainConfig { batch_size: 32, dropout: Dropout::Hidden(0.9), seed: 4, ..TrainConfig::default() };
    let (yt, yv) = (train.targets(Task::Binary), val.targets(Task::Binary));
    let history = Trainer::new(&config, 60).validation(DataView::new(val.x.view(), yv.view())).fit(
        &mut net,
        &mut adam,
        DataView::new(train.x.view(), yt.view()),
    )?;
    Ok(Moons { net, history, train, val })
}

/// Three spiral arms (600 points, noise 0.2); a [2, 64, 64, 3] ReLU softmax network,
/// Adam (α = 0.01), batches of 64, 300 epochs.
fn spirals_model() -> Result<(Network, Dataset)> {
    let data = spirals(600, 3, 0.2, 5)?;
    let mut net = Network::new(&[2, 64, 64, 3], Activation::Relu, Task::MultiClass, Init::He, 6)?;
    let mut adam = Optimizer::adam(0.01)?;
    let config = TrainConfig { batch_size: 64, seed: 7, ..TrainConfig::default() };
    let y = data.targets(Task::MultiClass);
    fit(&mut net, &mut adam, DataView::new(data.x.view(), y.view()), &config, 300)?;
    Ok((net, data))
}

// ---------------------------------------------------------------------------------------
// Figure generators.

fn fig_curves() -> Result<Figure> {
    let m = moons()?;
    timed(|| {
        plot::training_curves(
            &m.history,
            m.net.loss(),
            "Two moons, [2, 16, 16, 1] ReLU, Adam α = 0.01, batch 32, keep_prob 0.9",
        )
    })
}

fn fig_transformer() -> Result<Figure> {
    // [2, 3, 2, 1] tanh on two circles (no line separates them in the input plane):
    // layer 1 lifts the plane into ℝ³, layer 2 maps it to a plane where the output unit's
    // line separates the classes.
    let data = circles(400, 0.08, 0.5, 11)?;
    let mut net = Network::new(&[2, 3, 2, 1], Activation::Tanh, Task::Binary, Init::Xavier, 2)?;
    let mut adam = Optimizer::adam(0.01)?;
    let config = TrainConfig { batch_size: 32, seed: 13, ..TrainConfig::default() };
    let y = data.targets(Task::Binary);
    fit(&mut net, &mut adam, DataView::new(data.x.view(), y.view()), &config, 100)?;
    timed(|| plot::feature_transformer(&net, data.x.view(), &data.labels, ""))
}

fn fig_activations() -> Result<Figure> {
    timed(|| {
        plot::activation_functions(
            &[
                Activation::Relu,
                Activation::Tanh,
                Activation::Sigmoid,
                // α = 0.1 rather than the usual 0.01, so that the slope shows at this scale.
                Activation::LeakyRelu(0.1),
                Activation::Gelu,
            ],
            (-5.0, 5.0),
            "",
        )
    })
}

fn fig_boundary_moons() -> Result<Figure> {
    let m = moons()?;
    timed(|| {
        plot::decision_boundary(
            &m.net,
            m.val.x.view(),
            &m.val.labels,
            "Decision boundary, [2, 16, 16, 1] ReLU on two moons (held-out points)",
        )
    })
}

fn fig_boundary_spirals() -> Result<Figure> {
    let (net, data) = spirals_model()?;
    timed(|| {
        plot::decision_boundary(
            &net,
            data.x.view(),
            &data.labels,
            "Decision regions, [2, 64, 64, 3] ReLU + softmax on 3 spirals",
        )
    })
}

fn fig_layer_heatmap() -> Result<Figure> {
    let (net, data) = spirals_model()?;
    // Within each class keep the examples in order of distance from the centre, i.e. of
    // position along the spiral arm (the plot sorts by class, stably).
    let radius = |j: usize| data.x[[0, j]].hypot(data.x[[1, j]]);
    let mut order: Vec<usize> = (0..data.len()).collect();
    order.sort_by(|&a, &b| radius(a).total_cmp(&radius(b)));
    let along = data.subset(&order);
    timed(|| {
        plot::layer_activations(
            &net,
            along.x.view(),
            &along.labels,
            2,
            "Layer 2 of a [2, 64, 64, 3] ReLU net on 3 spirals: 600 examples by class, then along the arm",
        )
    })
}

fn fig_neuron_maps() -> Result<Figure> {
    let m = moons()?;
    timed(|| plot::neuron_maps(&m.net, m.train.x.view(), &m.train.labels, 2, ""))
}

fn fig_dropout() -> Result<Figure> {
    let m = moons()?;
    let x = m.val.x.slice(ndarray::s![.., ..40]).to_owned();
    let dropout = Dropout::Hidden(0.8);
    let mut rng = ChaCha8Rng::seed_from_u64(21);
    let cache = m.net.forward_train(x.view(), &dropout, &mut rng)?;
    timed(|| plot::dropout_mask(&m.net, &cache, 1, ""))
}

// ---------------------------------------------------------------------------------------

thread_local! {
    static PLOT_TIME: std::cell::Cell<Duration> = const { std::cell::Cell::new(Duration::ZERO) };
}

/// Runs one plot call and records how long it took (reported per figure).
fn timed(plot_call: impl FnOnce() -> Result<Figure>) -> Result<Figure> {
    let start = Instant::now();
    let fig = plot_call();
    PLOT_TIME.with(|t| t.set(start.elapsed()));
    fig
}

struct Args {
    out: PathBuf,
    only: Option<String>,
    list: bool,
}

fn parse_args() -> std::result::Result<Args, String> {
    let mut args = Args {
        out: PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../visualizations")),
        only: None,
        list: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--out" => args.out = it.next().ok_or("--out needs a directory")?.into(),
            "--only" => args.only = Some(it.next().ok_or("--only needs a substring of a figure name")?),
            "--list" => args.list = true,
            "-h" | "--help" => {
                return Err("usage: figures [--out DIR] [--only SUBSTRING] [--list]".into());
            }
            other => return Err(format!("unknown argument {other:?} (try --help)")),
        }
    }
    Ok(args)
}

fn main() -> std::process::ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(msg) => {
            eprintln!("{msg}");
            return std::process::ExitCode::from(2);
        }
    };
    let entries: Vec<Entry> = core_entries()
        .into_iter()
        .chain(extra::entries())
        .chain(real_data::entries())
        .chain(convolution::entries())
        .collect();
    let animations = extra::animations();
    if args.list {
        for e in &entries {
            println!("{}", e.name);
        }
        for a in &animations {
            println!("{} (gif)", a.name);
        }
        return std::process::ExitCode::SUCCESS;
    }
    if let Err(e) = std::fs::create_dir_all(&args.out) {
        eprintln!("cannot create {}: {e}", args.out.display());
        return std::process::ExitCode::FAILURE;
    }
    let mut failed = 0;
    for e in entries.iter().filter(|e| args.only.as_ref().is_none_or(|s| e.name.contains(s.as_str()))) {
        let start = Instant::now();
        PLOT_TIME.with(|t| t.set(Duration::ZERO));
        let result = (e.make)().and_then(|fig| {
            fig.save_png(args.out.join(format!("{}.png", e.name)))?;
            if e.svg {
                fig.save_svg(args.out.join(format!("{}.svg", e.name)))?;
            }
            Ok(fig)
        });
        let total = start.elapsed();
        let plot_time = PLOT_TIME.with(|t| t.get());
        match result {
            Ok(fig) => println!(
                "{:<40} {:>4}x{:<4} png {:>4} KB  plot {:>6.1} ms  total {:>7.1} ms",
                e.name,
                fig.width(),
                fig.height(),
                fig.png_bytes().len().div_ceil(1024),
                plot_time.as_secs_f64() * 1e3,
                total.as_secs_f64() * 1e3
            ),
            Err(err) => {
                failed += 1;
                eprintln!("{}: FAILED: {err}", e.name);
            }
        }
    }
    // Animations (extra.rs): each writes NAME.gif itself.
    for a in animations.iter().filter(|a| args.only.as_ref().is_none_or(|s| a.name.contains(s.as_str()))) {
        let start = Instant::now();
        let path = args.out.join(format!("{}.gif", a.name));
        match (a.write)(&path) {
            Ok(()) => {
                let kb = std::fs::metadata(&path).map_or(0, |m| m.len().div_ceil(1024));
                println!(
                    "{:<40} gif {kb:>5} KB  total {:>7.1} ms",
                    a.name,
                    start.elapsed().as_secs_f64() * 1e3
                );
            }
            Err(err) => {
                failed += 1;
                eprintln!("{}: FAILED: {err}", a.name);
            }
        }
    }
    if failed > 0 { std::process::ExitCode::FAILURE } else { std::process::ExitCode::SUCCESS }
}
