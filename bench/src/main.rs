//! `ann_bench`: trains the three benchmark workloads with `ann_core::fit` and
//! prints one JSON line of results. `make bench` runs it (default build, `threading`,
//! `blas`) next to `bench/numpy_reference.py` and prints the comparison table.
//!
//! ```text
//! ann_bench <w1|w2|w3> [--runs N] [--export DIR]
//! ```
//!
//! - W1: two moons, m = 10,000, noise 0.2, standardized; [2, 64, 32, 1], ReLU, sigmoid + BCE;
//!   Adam lr 0.01; batch 64; keep_prob 0.8 on hidden layers; 20 epochs.
//! - W2: 10 Gaussian class centres in 784 dimensions plus noise, m = 20,000, standardized;
//!   [784, 256, 128, 10], ReLU, softmax + CE; Adam lr 0.001; batch 128; keep_prob 0.9; 3 epochs.
//! - W3: the Fashion-MNIST training set (60,000 images of 28×28, read by
//!   `ann_core::fashion_mnist` from `ANN_FASHION_MNIST_DIR` or
//!   /usr/share/datasets/fashion-mnist), pixels / 255; W2's network and training; 2 epochs.
//!
//! Timing: one warm-up epoch, then `runs` (≥ 5) full trainings from the same initial
//! weights; per run, seconds per epoch = wall time of `fit` / epochs (steps plus the
//! per-epoch evaluation on the whole training set that `fit` records in History) and,
//! separately, the steps alone. Data generation is not timed, and the peak RSS is reset
//! after it (Linux `clear_refs`), so `peak_rss_mb` is the peak while training (data set
//! included). `--export DIR` writes the data and the initial weights (raw little-endian
//! f64 + `meta.json`) for the NumPy side.

// The course's notation (W[l], A[L], X[0]) reads to rustdoc as links that do not resolve;
// `make doc` checks the real links, written [`Name`], with this lint forced on.
#![allow(rustdoc::broken_intra_doc_links)]

use ann_core::{
    Activation, DataView, Dropout, EpochInfo, History, Init, Network, Observer, Optimizer, PixelScale,
    StandardScaler, StepInfo, Task, TrainConfig, Trainer, blobs, fashion_mnist, two_moons,
};
use ndarray::Array2;
use serde_json::json;
use std::io::Write;
use std::path::Path;
use std::time::Instant;

/// One benchmark workload: data, architecture and hyperparameters.
struct Workload {
    name: &'static str,
    sizes: &'static [usize],
    task: Task,
    lr: f64,
    batch_size: usize,
    keep: f64,
    epochs: usize,
}

const W1: Workload = Workload {
    name: "w1",
    sizes: &[2, 64, 32, 1],
    task: Task::Binary,
    lr: 0.01,
    batch_size: 64,
    keep: 0.8,
    epochs: 20,
};

const W2: Workload = Workload {
    name: "w2",
    sizes: &[784, 256, 128, 10],
    task: Task::MultiClass,
    lr: 0.001,
    batch_size: 128,
    keep: 0.9,
    epochs: 3,
};

const W3: Workload = Workload { name: "w3", epochs: 2, ..W2 };

/// Seeds: data, initial weights, training (shuffles and dropout masks).
const DATA_SEED: u64 = 1;
const INIT_SEED: u64 = 3;
const TRAIN_SEED: u64 = 7;

/// (X, Y) of a workload, X standardized per feature, both stored column-major (each
/// example's column contiguous, so a batch gathers whole columns; the NumPy side does the
/// same with `np.asfortranarray`). The shapes and the math are the course's (n_x, m).
fn dataset(w: &Workload) -> ann_core::Result<(Array2<f64>, Array2<f64>)> {
    let column_major = |a: Array2<f64>| a.reversed_axes().as_standard_layout().into_owned().reversed_axes();
    if w.name == "w3" {
        // The loader's X is column-major already; pixels / 255 need no second copy of X.
        let train = fashion_mnist(None, PixelScale::Unit)?.train;
        let y = column_major(train.targets(w.task));
        return Ok((train.x, y));
    }
    let d = match w.name {
        "w1" => two_moons(10_000, 0.2, DATA_SEED)?,
        // Centres uniform in [−5, 5]^784, noise σ = 25 per feature: separable, not trivially.
        _ => blobs(20_000, 10, 784, 25.0, DATA_SEED)?,
    };
    let (_, x) = StandardScaler::fit_transform(d.x.view())?;
    Ok((column_major(x), column_major(d.targets(w.task))))
}

/// Matrix-product FLOPs of one epoch: (training steps, evaluation of the training set).
/// Per example: forward 2 n_l n_{l−1} per layer; backward dW[l] the same, dA[l−1] the same
/// for l ≥ 2 (dA[0] is not needed).
fn flops_per_epoch(sizes: &[usize], m: usize) -> (f64, f64) {
    let per_layer: Vec<f64> = sizes.windows(2).map(|p| 2.0 * (p[0] * p[1]) as f64).collect();
    let forward: f64 = per_layer.iter().sum();
    let backward = forward + per_layer[1..].iter().sum::<f64>();
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
    last_step: Instant,
    epoch_secs: Vec<f64>,
    step_secs: Vec<f64>,
    rss_kb: Vec<u64>,
}

impl Timer {
    fn new() -> Self {
        let now = Instant::now();
        Timer {
            epoch_start: now,
            last_step: now,
            epoch_secs: Vec::new(),
            step_secs: Vec::new(),
            rss_kb: Vec::new(),
        }
    }
}

impl Observer for Timer {
    fn on_step(&mut self, _: &StepInfo<'_>) {
        self.last_step = Instant::now();
    }
    fn on_epoch_end(&mut self, _: &EpochInfo<'_>) {
        let now = Instant::now();
        self.epoch_secs.push((now - self.epoch_start).as_secs_f64());
        self.step_secs.push((self.last_step - self.epoch_start).as_secs_f64());
        self.rss_kb.push(proc_kb("VmRSS:"));
        // Reading /proc is not part of the next epoch.
        self.epoch_start = Instant::now();
    }
}

fn train(w: &Workload, net: &mut Network, data: DataView<'_>, epochs: usize, timer: &mut Timer) -> History {
    let config = TrainConfig {
        batch_size: w.batch_size,
        dropout: Dropout::Hidden(w.keep),
        seed: TRAIN_SEED,
        ..TrainConfig::default()
    };
    let mut adam = Optimizer::adam(w.lr).expect("valid learning rate");
    timer.epoch_start = Instant::now();
    Trainer::new(&config, epochs).observer(timer).fit(net, &mut adam, data).expect("training succeeds")
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

fn export(dir: &Path, w: &Workload, x: &Array2<f64>, y: &Array2<f64>, net: &Network) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    write_f64(&dir.join("x.f64"), x)?;
    write_f64(&dir.join("y.f64"), y)?;
    for (l, layer) in net.layers().iter().enumerate() {
        write_f64(&dir.join(format!("w{}.f64", l + 1)), &layer.w)?;
        write_f64(&dir.join(format!("b{}.f64", l + 1)), &layer.b)?;
    }
    let meta = json!({
        "name": w.name, "sizes": w.sizes, "m": x.ncols(), "task": format!("{:?}", w.task),
        "lr": w.lr, "batch_size": w.batch_size, "keep": w.keep, "epochs": w.epochs,
        "seed": TRAIN_SEED, "layout": "row-major (rows, cols), little-endian f64; X is (n_x, m)",
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
    let usage = "usage: ann_bench <w1|w2|w3> [--runs N] [--export DIR]";
    let w = match args.get(1).map(String::as_str) {
        Some("w1") => &W1,
        Some("w2") => &W2,
        Some("w3") => &W3,
        _ => {
            eprintln!("{usage}");
            std::process::exit(2);
        }
    };
    let flag = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let runs: usize = flag("--runs").map(|v| v.parse().expect("--runs takes a number")).unwrap_or(5);

    let (x, y) = dataset(w).unwrap_or_else(|e| {
        eprintln!("ann_bench {}: {e}", w.name);
        std::process::exit(1);
    });
    let data = DataView::new(x.view(), y.view());
    let start = Network::new(w.sizes, Activation::Relu, w.task, Init::He, INIT_SEED).expect("network");
    if let Some(dir) = flag("--export") {
        export(Path::new(&dir), w, &x, &y, &start).expect("export");
    }
    let rss_data_kb = proc_kb("VmRSS:");
    let peak_data_kb = proc_kb("VmHWM:");
    // Reset the peak (VmHWM) so that it measures training, not data generation.
    let peak_reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();

    // Warm-up: one epoch, discarded.
    train(w, &mut start.clone(), data, 1, &mut Timer::new());

    let (mut per_epoch, mut steps_only) = (Vec::new(), Vec::new());
    let mut last: Option<(History, Timer)> = None;
    let mut deterministic = true;
    let cpu_start = cpu_seconds();
    for _ in 0..runs.max(1) {
        let mut net = start.clone();
        let mut timer = Timer::new();
        let h = train(w, &mut net, data, w.epochs, &mut timer);
        per_epoch.push(timer.epoch_secs.iter().sum::<f64>() / w.epochs as f64);
        steps_only.push(timer.step_secs.iter().sum::<f64>() / w.epochs as f64);
        if let Some((prev, _)) = &last {
            deterministic &= prev.train_loss == h.train_loss && prev.step_loss == h.step_loss;
        }
        last = Some((h, timer));
    }
    let cpu_per_epoch = (cpu_seconds() - cpu_start) / (runs.max(1) * w.epochs) as f64;
    let (h, timer) = last.expect("at least one run");
    let (train_flops, eval_flops) = flops_per_epoch(w.sizes, x.ncols());
    let med = median(&per_epoch);
    let result = json!({
        "impl": "rust", "backend": backend(), "workload": w.name, "runs": per_epoch.len(),
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
