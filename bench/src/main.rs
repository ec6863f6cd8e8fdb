//! `ann_bench`: trains the four benchmark workloads with `ann_core::fit` and
//! prints one JSON line of results. `make bench` runs it (default build, `threading`,
//! `blas`) next to `bench/numpy_reference.py` and prints the comparison table.
//!
//! ```text
//! ann_bench <w1|w2|w3|w4> [--runs N] [--export DIR] [--images N] [--precision f64|f32]
//! ```
//!
//! - W1: two moons, m = 10,000, noise 0.2, standardized; [2, 64, 32, 1], ReLU, sigmoid + BCE;
//!   Adam lr 0.01; batch 64; keep_prob 0.8 on hidden layers; 20 epochs.
//! - W2: 10 Gaussian class centres in 784 dimensions plus noise, m = 20,000, standardized;
//!   [784, 256, 128, 10], ReLU, softmax + CE; Adam lr 0.001; batch 128; keep_prob 0.9; 3 epochs.
//! - W3: the Fashion-MNIST training set (60,000 images of 28×28, read by
//!   `ann_core::fashion_mnist` from `ANN_FASHION_MNIST_DIR` or
//!   /usr/share/datasets/fashion-mnist), pixels / 255; W2's network and training; 2 epochs.
//! - W4: the same 60,000 images through the convolutional network of [`W4_LAYERS`] (ReLU,
//!   max pooling, softmax + CE); He init; Adam lr 0.001; batch 64; no dropout; 1 epoch.
//!
//! `--images N` trains W3 or W4 on the first N images only (a quick check, not a benchmark).
//!
//! `--precision f32` trains with `TrainConfig::precision = Precision::F32` (every workload,
//! W4's convolutional layers included): the same data, held in f32 (each value
//! rounded once, the f64 arrays dropped before training), the same initial weights, batches
//! and dropout masks; the JSON line says which precision ran (`"precision"`). The default is
//! f64.
//!
//! Timing: one warm-up epoch (W4: on its first [`W4_WARMUP_IMAGES`] images only), then
//! `runs` full trainings from the same initial weights; per run, seconds per epoch = wall
//! time of `fit` / epochs (steps plus the per-epoch evaluation on the whole training set
//! that `fit` records in History) and, separately, the steps alone. Data generation is not timed, and the peak RSS is reset
//! after it (Linux `clear_refs`), so `peak_rss_mb` is the peak while training (data set
//! included). `--export DIR` writes the data and the initial weights (raw little-endian
//! f64 + `meta.json`) for the NumPy and PyTorch sides, and for a workload without dropout
//! (W4) the order in which `fit` visits the examples (`order.u32`), so that they take the
//! same steps (see [`batch_order`]).

// The course's notation (W[l], A[L], X[0]) reads to rustdoc as links that do not resolve;
// `make doc` checks the real links, written [`Name`], with this lint forced on.
#![allow(rustdoc::broken_intra_doc_links)]

use ann_core::{
    Activation, Conv2dConfig, Dropout, EpochInfo, Examples, History, Image, Init, LayerKind, LayerSpec,
    MaxPool2d, Network, Observer, Optimizer, PixelScale, Precision, StandardScaler, StepInfo, Task,
    TrainConfig, Trainer, blobs, fashion_mnist, two_moons,
};
use ndarray::{Array2, s};
use serde_json::{Value, json};
use std::io::Write;
use std::path::Path;
use std::time::Instant;

/// One benchmark workload: data, architecture and hyperparameters.
struct Workload {
    name: &'static str,
    network: Architecture,
    task: Task,
    lr: f64,
    batch_size: usize,
    /// keep_prob of the hidden layers (1: no dropout).
    keep: f64,
    epochs: usize,
    /// The warm-up epoch's examples: all of them, or the first N.
    warmup_examples: Option<usize>,
}

/// The layers of a workload's network.
enum Architecture {
    /// Dense layers [n_0, n_1, ..., n_L].
    Dense(&'static [usize]),
    /// [`Network::convolutional`] on `input` images.
    Convolutional { input: Image, layers: &'static [LayerSpec] },
}

const W1: Workload = Workload {
    name: "w1",
    network: Architecture::Dense(&[2, 64, 32, 1]),
    task: Task::Binary,
    lr: 0.01,
    batch_size: 64,
    keep: 0.8,
    epochs: 20,
    warmup_examples: None,
};

const W2: Workload = Workload {
    name: "w2",
    network: Architecture::Dense(&[784, 256, 128, 10]),
    task: Task::MultiClass,
    lr: 0.001,
    batch_size: 128,
    keep: 0.9,
    epochs: 3,
    warmup_examples: None,
};

const W3: Workload = Workload { name: "w3", epochs: 2, ..W2 };

/// W4's network, in this one place (the NumPy and PyTorch references read it from the
/// export): on 1×28×28 images, conv 16 filters 3×3 padding 1 + ReLU + max pool 2×2 →
/// conv 32 filters 3×3 padding 1 + ReLU + max pool 2×2 → dense 10 (softmax). 5×5 filters
/// would be `conv(16, 5, 2, 2)`, `conv(32, 5, 2, 2)`.
const W4_LAYERS: &[LayerSpec] = &[conv(16, 3, 1, 2), conv(32, 3, 1, 2), LayerSpec::Dense(10)];

/// W4's input images: Fashion-MNIST's 1×28×28.
const W4_INPUT: Image = Image { channels: 1, height: 28, width: 28 };

/// W4's warm-up epoch runs on this many images (a full epoch would double the time of a
/// one-epoch workload; these are enough to reach every code path and buffer once).
const W4_WARMUP_IMAGES: usize = 2048;

const W4: Workload = Workload {
    name: "w4",
    network: Architecture::Convolutional { input: W4_INPUT, layers: W4_LAYERS },
    task: Task::MultiClass,
    lr: 0.001,
    batch_size: 64,
    keep: 1.0,
    epochs: 1,
    warmup_examples: Some(W4_WARMUP_IMAGES),
};

/// A convolutional layer: `filters` filters of `kernel` × `kernel`, stride 1, `padding`
/// pixels of zeros, then max pooling over `pool` × `pool` windows (stride `pool`).
const fn conv(filters: usize, kernel: usize, padding: usize, pool: usize) -> LayerSpec {
    LayerSpec::Conv2d(Conv2dConfig {
        filters,
        kernel,
        stride: 1,
        padding,
        pool: Some(MaxPool2d { window: pool, stride: pool }),
    })
}

/// Seeds: data, initial weights, training (shuffles and dropout masks).
const DATA_SEED: u64 = 1;
const INIT_SEED: u64 = 3;
const TRAIN_SEED: u64 = 7;

impl Workload {
    /// The initial network (He init, seeded).
    fn network(&self) -> ann_core::Result<Network> {
        match self.network {
            Architecture::Dense(sizes) => {
                Network::new(sizes, Activation::Relu, self.task, Init::He, INIT_SEED)
            }
            Architecture::Convolutional { input, layers } => {
                Network::convolutional(input, layers, Activation::Relu, self.task, Init::He, INIT_SEED)
            }
        }
    }

    /// Whether the data is the Fashion-MNIST training set.
    fn fashion_mnist(&self) -> bool {
        matches!(self.name, "w3" | "w4")
    }

    /// The training configuration (f64; [`train`] sets the precision of a timed run).
    fn config(&self) -> TrainConfig {
        TrainConfig {
            batch_size: self.batch_size,
            dropout: if self.keep < 1.0 { Dropout::Hidden(self.keep) } else { Dropout::Off },
            seed: TRAIN_SEED,
            ..TrainConfig::default()
        }
    }
}

/// (X, Y) of a workload, X standardized per feature (Fashion-MNIST: pixels / 255), both
/// stored column-major (each example's column contiguous, so a batch gathers whole columns;
/// the NumPy side does the same with `np.asfortranarray`). The shapes and the math are the
/// course's (n_x, m). `images` keeps the first N Fashion-MNIST images.
fn dataset(w: &Workload, images: Option<usize>) -> ann_core::Result<(Array2<f64>, Array2<f64>)> {
    let column_major = |a: Array2<f64>| a.reversed_axes().as_standard_layout().into_owned().reversed_axes();
    if w.fashion_mnist() {
        // The loader's X is column-major already; pixels / 255 need no second copy of X.
        let train = fashion_mnist(None, PixelScale::Unit)?.train;
        let y = column_major(train.targets(w.task));
        return Ok(match images {
            Some(n) if n < y.ncols() => {
                let first = |a: &Array2<f64>| column_major(a.slice(s![.., ..n]).to_owned());
                (first(&train.x), first(&y))
            }
            _ => (train.x, y),
        });
    }
    let d = match w.name {
        "w1" => two_moons(10_000, 0.2, DATA_SEED)?,
        // Centres uniform in [−5, 5]^784, noise σ = 25 per feature: separable, not trivially.
        _ => blobs(20_000, 10, 784, 25.0, DATA_SEED)?,
    };
    let (_, x) = StandardScaler::fit_transform(d.x.view())?;
    Ok((column_major(x), column_major(d.targets(w.task))))
}

/// Per example, the multiply-adds ×2 of each layer's forward product: 2·n_l·n_{l−1} for a
/// dense layer; for a convolutional one, whose product W[l] (F, C·k·k) · im2col(A[l−1])
/// has one column per output position, 2·F·C·k²·H′·W′ (pooling, bias and activations are
/// not counted).
fn layer_flops(net: &Network) -> Vec<f64> {
    net.layers()
        .iter()
        .map(|layer| {
            let positions = match layer.kind {
                LayerKind::Dense => 1,
                LayerKind::Conv2d(conv) => {
                    let out = conv.conv_output(layer.w.nrows());
                    out.height * out.width
                }
            };
            2.0 * (layer.w.len() * positions) as f64
        })
        .collect()
}

/// Matrix-product FLOPs of one epoch: (training steps, evaluation of the training set that
/// `fit` records in History). Per example and layer l, forward F_l = [`layer_flops`]
/// (2·n_l·n_{l−1} dense, 2·F·C·k²·H′·W′ convolutional); backward dW[l] the same F_l, and
/// dA[l−1] the same F_l for l ≥ 2 (dA[0] is not needed). So per example a step costs
/// Σ F_l + Σ F_l + Σ_{l≥2} F_l and the evaluation Σ F_l; both times m.
fn flops_per_epoch(layer_flops: &[f64], m: usize) -> (f64, f64) {
    let forward: f64 = layer_flops.iter().sum();
    let backward = forward + layer_flops[1..].iter().sum::<f64>();
    ((forward + backward) * m as f64, forward * m as f64)
}

/// A /proc/self/status field in kB (VmRSS, VmHWM); 0 where unavailable.
fn proc_kb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with(field)).and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// CPU time (user + system, all threads) of this process so far, in seconds; 0 where
/// /proc is unavailable. Clock ticks of 10 ms: meaningful over many epochs.
fn cpu_seconds() -> f64 {
    let ticks = std::fs::read_to_string("/proc/self/stat").ok().and_then(|s| {
        // Fields after the ")" closing the command name: state is field 3, utime 14, stime 15.
        let rest = s.rsplit_once(')')?.1;
        let f: Vec<&str> = rest.split_whitespace().collect();
        Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
    });
    ticks.unwrap_or(0) as f64 / 100.0
}

/// Records the wall time of each epoch, of its steps alone, and the RSS after it.
struct Timer {
    epoch_start: Instant,
    steps_end: Instant,
    epoch_secs: Vec<f64>,
    step_secs: Vec<f64>,
    rss_kb: Vec<u64>,
}

impl Timer {
    fn new() -> Self {
        let now = Instant::now();
        Timer {
            epoch_start: now,
            steps_end: now,
            epoch_secs: Vec::new(),
            step_secs: Vec::new(),
            rss_kb: Vec::new(),
        }
    }
}

impl Observer for Timer {
    /// Steps are timed as a whole (an observer of steps would keep an f32 run from starting).
    fn observes_steps(&self) -> bool {
        false
    }
    fn on_steps_end(&mut self, _: usize) {
        self.steps_end = Instant::now();
    }
    fn on_epoch_end(&mut self, _: &EpochInfo<'_>) {
        let now = Instant::now();
        self.epoch_secs.push((now - self.epoch_start).as_secs_f64());
        self.step_secs.push((self.steps_end - self.epoch_start).as_secs_f64());
        self.rss_kb.push(proc_kb("VmRSS:"));
        // Reading /proc is not part of the next epoch.
        self.epoch_start = Instant::now();
    }
}

/// A workload's X and Y in the precision of the run.
enum Data {
    F64(Array2<f64>, Array2<f64>),
    F32(Array2<f32>, Array2<f32>),
}

impl Data {
    /// The first `n` examples.
    fn first(&self, n: usize) -> Examples<'_> {
        match self {
            Data::F64(x, y) => (x.slice(s![.., ..n]), y.slice(s![.., ..n])).into(),
            Data::F32(x, y) => (x.slice(s![.., ..n]), y.slice(s![.., ..n])).into(),
        }
    }
}

/// `epochs` epochs of `w`'s training in `precision`; `fit`'s error (f32 on a normalized
/// network) ends the program with its message.
fn train(
    w: &Workload,
    precision: Precision,
    net: &mut Network,
    data: Examples<'_>,
    epochs: usize,
    timer: &mut Timer,
) -> History {
    let mut adam = Optimizer::adam(w.lr).expect("valid learning rate");
    let config = TrainConfig { precision, ..w.config() };
    timer.epoch_start = Instant::now();
    Trainer::new(&config, epochs).observer(timer).fit(net, &mut adam, data).unwrap_or_else(|e| {
        eprintln!("ann_bench {} --precision {precision}: {e}", w.name);
        std::process::exit(1);
    })
}

/// Collects each step's X{t}: a stand-in data set's one feature, the example's index.
struct BatchIndices(Vec<u32>);

impl Observer for BatchIndices {
    fn on_step(&mut self, info: &StepInfo<'_>) {
        let x = info.cache.a(0).expect("A[0] = X{t}");
        self.0.extend(x.row(0).iter().map(|&j| j as u32));
    }
}

/// The order in which `fit` visits m examples in each of `epochs` epochs with `config`'s
/// batch size and seed, read off `fit` itself: the same run on a stand-in data set of m
/// examples whose one feature is the example's index (exact in f64), through a 1 → 1
/// network; every step's X{t} lists the indices of its batch. Without dropout the shuffles
/// are the only draws from the training RNG, so this is the order in which any network
/// trained with `config` on m examples sees them (with dropout the masks' draws would
/// depend on the network).
fn batch_order(m: usize, config: &TrainConfig, epochs: usize) -> Vec<u32> {
    assert!(!config.dropout.is_active(), "the batch order depends on the network under dropout");
    let x = Array2::from_shape_fn((1, m), |(_, j)| j as f64);
    let y = Array2::zeros((1, m));
    let mut net = Network::new(&[1, 1], Activation::Relu, Task::Regression, Init::He, 0).expect("network");
    let mut indices = BatchIndices(Vec::with_capacity(m * epochs));
    Trainer::new(config, epochs)
        .observer(&mut indices)
        .fit(&mut net, &mut Optimizer::adam(1e-3).expect("valid learning rate"), (&x, &y))
        .expect("training succeeds");
    // Each epoch visits every example once.
    for epoch in indices.0.chunks(m) {
        let mut seen = vec![false; m];
        for &j in epoch {
            assert!(!std::mem::replace(&mut seen[j as usize], true), "example {j} twice in an epoch");
        }
    }
    assert_eq!(indices.0.len(), m * epochs);
    indices.0
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    if n % 2 == 1 { s[n / 2] } else { (s[n / 2 - 1] + s[n / 2]) / 2.0 }
}

fn write_f64(path: &Path, a: &Array2<f64>) -> std::io::Result<()> {
    let mut bytes = Vec::with_capacity(a.len() * 8);
    for v in a.iter() {
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    std::fs::write(path, bytes)
}

/// A layer as the references build it (`meta.json`'s "layers").
fn describe(layer: &ann_core::Layer) -> Value {
    match layer.kind {
        LayerKind::Dense => json!({ "kind": "dense", "units": layer.w.nrows() }),
        LayerKind::Conv2d(conv) => {
            let out = conv.output(layer.w.nrows());
            json!({
                "kind": "conv",
                "input": [conv.input.channels, conv.input.height, conv.input.width],
                "filters": layer.w.nrows(),
                "kernel": conv.kernel,
                "stride": conv.stride,
                "padding": conv.padding,
                "pool": conv.pool.map(|p| json!({ "window": p.window, "stride": p.stride })),
                "output": [out.channels, out.height, out.width],
            })
        }
    }
}

fn export(dir: &Path, w: &Workload, x: &Array2<f64>, y: &Array2<f64>, net: &Network) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    write_f64(&dir.join("x.f64"), x)?;
    write_f64(&dir.join("y.f64"), y)?;
    for (l, layer) in net.layers().iter().enumerate() {
        write_f64(&dir.join(format!("w{}.f64", l + 1)), &layer.w)?;
        write_f64(&dir.join(format!("b{}.f64", l + 1)), &layer.b)?;
    }
    let m = x.ncols();
    // Without dropout the references can take fit's batches exactly (with dropout they
    // would need its mask draws too, so they shuffle with their own RNG).
    let shared_order = !w.config().dropout.is_active();
    if shared_order {
        let bytes: Vec<u8> =
            batch_order(m, &w.config(), w.epochs).iter().flat_map(|j| j.to_le_bytes()).collect();
        std::fs::write(dir.join("order.u32"), bytes)?;
    }
    let layers: Vec<Value> = net.layers().iter().map(describe).collect();
    let w_shapes: Vec<[usize; 2]> = net.layers().iter().map(|l| [l.w.nrows(), l.w.ncols()]).collect();
    let meta = json!({
        "name": w.name, "sizes": net.sizes(), "m": m, "task": format!("{:?}", w.task),
        "lr": w.lr, "batch_size": w.batch_size, "keep": w.keep, "epochs": w.epochs,
        "warmup_examples": w.warmup_examples.unwrap_or(m).min(m),
        "seed": TRAIN_SEED, "layers": layers, "w_shapes": w_shapes, "layer_flops": layer_flops(net),
        "order": shared_order.then_some("order.u32: fit's example indices, little-endian u32, (epochs, m)"),
        "layout": "row-major (rows, cols), little-endian f64; X is (n_x, m)",
    });
    std::fs::write(dir.join("meta.json"), serde_json::to_string_pretty(&meta)?)
}

fn backend() -> &'static str {
    if cfg!(feature = "blas") {
        "blas"
    } else if cfg!(feature = "threading") {
        "threading"
    } else {
        "default"
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: ann_bench <w1|w2|w3|w4> [--runs N] [--export DIR] [--images N] [--precision f64|f32]";
    let w = match args.get(1).map(String::as_str) {
        Some("w1") => &W1,
        Some("w2") => &W2,
        Some("w3") => &W3,
        Some("w4") => &W4,
        _ => {
            eprintln!("{usage}");
            std::process::exit(2);
        }
    };
    let flag = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let runs: usize = flag("--runs").map(|v| v.parse().expect("--runs takes a number")).unwrap_or(5);
    let images: Option<usize> = flag("--images").map(|v| v.parse().expect("--images takes a number"));
    let precision = match flag("--precision").as_deref() {
        None | Some("f64") => Precision::F64,
        Some("f32") => Precision::F32,
        Some(other) => {
            eprintln!("ann_bench: --precision takes f64 or f32, not {other:?}\n{usage}");
            std::process::exit(2);
        }
    };

    let (x, y) = dataset(w, images).unwrap_or_else(|e| {
        eprintln!("ann_bench {}: {e}", w.name);
        std::process::exit(1);
    });
    let start = w.network().expect("network");
    if let Some(dir) = flag("--export") {
        export(Path::new(&dir), w, &x, &y, &start).expect("export");
    }
    let m = x.ncols();
    // An f32 run holds its data in f32 only (half the memory).
    let data = match precision {
        Precision::F64 => Data::F64(x, y),
        Precision::F32 => {
            let data = Data::F32(x.mapv(|v| v as f32), y.mapv(|v| v as f32));
            drop((x, y));
            data
        }
    };
    let rss_data_kb = proc_kb("VmRSS:");
    let peak_data_kb = proc_kb("VmHWM:");
    // Reset the peak (VmHWM) so that it measures training, not data generation.
    let peak_reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();

    // Warm-up: one epoch (on the first examples only, where the workload says so), discarded.
    let warm = w.warmup_examples.unwrap_or(m).min(m);
    train(w, precision, &mut start.clone(), data.first(warm), 1, &mut Timer::new());

    let (mut per_epoch, mut steps_only) = (Vec::new(), Vec::new());
    let mut last: Option<(History, Timer)> = None;
    let mut deterministic = true;
    let cpu_start = cpu_seconds();
    for _ in 0..runs.max(1) {
        let mut net = start.clone();
        let mut timer = Timer::new();
        let h = train(w, precision, &mut net, data.first(m), w.epochs, &mut timer);
        per_epoch.push(timer.epoch_secs.iter().sum::<f64>() / w.epochs as f64);
        steps_only.push(timer.step_secs.iter().sum::<f64>() / w.epochs as f64);
        if let Some((prev, _)) = &last {
            deterministic &= prev.train_loss == h.train_loss && prev.step_loss == h.step_loss;
        }
        last = Some((h, timer));
    }
    let cpu_per_epoch = (cpu_seconds() - cpu_start) / (runs.max(1) * w.epochs) as f64;
    let (h, timer) = last.expect("at least one run");
    let (train_flops, eval_flops) = flops_per_epoch(&layer_flops(&start), m);
    let med = median(&per_epoch);
    let result = json!({
        "impl": "rust", "backend": backend(), "workload": w.name, "precision": precision.name(),
        "runs": per_epoch.len(),
        "m": m, "warmup_examples": warm,
        "epoch_s_min": per_epoch.iter().copied().fold(f64::INFINITY, f64::min),
        "epoch_s_median": med,
        "steps_s_min": steps_only.iter().copied().fold(f64::INFINITY, f64::min),
        "steps_s_median": median(&steps_only),
        "epoch_s_all": per_epoch,
        "cpu_s_per_epoch": cpu_per_epoch,
        "final_loss": h.final_train_loss(), "final_accuracy": h.final_train_accuracy(),
        "gflops_per_s": (train_flops + eval_flops) / med / 1e9,
        "gflop_per_epoch": (train_flops + eval_flops) / 1e9,
        "peak_rss_mb": proc_kb("VmHWM:") as f64 / 1024.0,
        "peak_rss_is_training_only": peak_reset,
        "peak_rss_data_generation_mb": peak_data_kb as f64 / 1024.0,
        "rss_after_data_mb": rss_data_kb as f64 / 1024.0,
        "rss_epoch_first_mb": timer.rss_kb.first().copied().unwrap_or(0) as f64 / 1024.0,
        "rss_epoch_last_mb": timer.rss_kb.last().copied().unwrap_or(0) as f64 / 1024.0,
        "deterministic": deterministic,
    });
    let mut out = std::io::stdout().lock();
    writeln!(out, "{result}").expect("stdout");
}
