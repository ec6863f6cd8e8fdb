//! Training memory does not grow with the number of steps or epochs: after the first
//! steps, a training step allocates nothing that outlives it, and the only allocations
//! inside a step are the matrix backend's temporary packing buffers.

use ann_core::*;
use ndarray::ArrayView2;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// Counts allocations and live bytes of the current thread.
struct Counting;

thread_local! {
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
    static LIVE: Cell<i64> = const { Cell::new(0) };
}

// SAFETY: forwards to the system allocator; the counters are plain thread-locals.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
        let _ = LIVE.try_with(|c| c.set(c.get() + layout.size() as i64));
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let _ = LIVE.try_with(|c| c.set(c.get() - layout.size() as i64));
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// (allocations so far, live bytes) at every step.
struct Probe(Vec<(usize, u64, i64)>);

impl Observer for Probe {
    fn on_step(&mut self, info: &StepInfo<'_>) {
        let snapshot = (info.epoch, ALLOCS.with(Cell::get), LIVE.with(Cell::get));
        self.0.push(snapshot);
    }
}

/// Trains `net` 4 epochs on (X, Y) in batches of 64 (the last of each epoch smaller) and
/// checks the steps of every epoch after the first.
fn assert_steps_allocate_nothing_that_outlives_them(
    mut net: Network,
    x: ArrayView2<f64>,
    y: ArrayView2<f64>,
) {
    let m = x.ncols();
    assert!(!m.is_multiple_of(64), "every epoch ends with a smaller batch");
    let config = TrainConfig { batch_size: 64, dropout: Dropout::Hidden(0.8), ..TrainConfig::default() };
    let mut probe = Probe(Vec::with_capacity(1000));
    let mut adam = Optimizer::adam(0.01).unwrap();
    let history =
        Trainer::new(&config, 4).observer(&mut probe).fit(&mut net, &mut adam, DataView::new(x, y)).unwrap();
    assert_eq!(history.epochs(), 4);
    let steps = &probe.0;
    assert_eq!(steps.len(), 4 * m.div_ceil(64));
    // Within every epoch after the first, live memory is the same at every step: nothing
    // a step allocates survives it (History's per-step record is reserved up front).
    for epoch in 1..4 {
        let live: Vec<i64> = steps.iter().filter(|s| s.0 == epoch).map(|s| s.2).collect();
        assert!(
            live.iter().all(|&b| b == live[0]),
            "epoch {epoch}: live bytes change from step to step: {live:?}"
        );
    }
    // And every full-size step of those epochs makes the same number of short-lived
    // allocations: at most one (packing) buffer per matrix product, 3L − 1.
    let per_step: Vec<u64> =
        steps.windows(2).filter(|w| w[0].0 >= 1 && w[0].0 == w[1].0).map(|w| w[1].1 - w[0].1).collect();
    let (&lo, &hi) = (per_step.iter().min().unwrap(), per_step.iter().max().unwrap());
    let bound = 3 * net.num_layers() as u64 - 1;
    eprintln!("{} allocations per step", hi);
    assert!(hi <= bound, "a step made {hi} allocations: {per_step:?}");
    assert_eq!(lo, hi, "allocations per step vary: {per_step:?}");
}

#[test]
fn steps_allocate_nothing_that_outlives_them() {
    let d = two_moons(2000, 0.2, 1).unwrap();
    let (_, x) = StandardScaler::fit_transform(d.x.view()).unwrap();
    let y = d.targets(Task::Binary);
    let net = Network::new(&[2, 64, 32, 1], Activation::Relu, Task::Binary, Init::He, 3).unwrap();
    assert_steps_allocate_nothing_that_outlives_them(net, x.view(), y.view());
}

#[test]
fn convolutional_steps_allocate_nothing_that_outlives_them() {
    let d = digits().unwrap();
    let x = d.x.mapv(|p| p / 16.0);
    let y = d.targets(Task::MultiClass);
    let specs = [
        Conv2dConfig::new(4, 3).padding(1).pool(2).into(),
        Conv2dConfig::new(6, 3).padding(1).into(),
        LayerSpec::Dense(10),
    ];
    let net =
        Network::convolutional(Image::new(1, 8, 8), &specs, Activation::Relu, Task::MultiClass, Init::He, 3)
            .unwrap();
    assert_steps_allocate_nothing_that_outlives_them(net, x.view(), y.view());
}

/// (allocations so far, live bytes) at the end of each epoch's steps, for a run in f32 (whose
/// steps an observer cannot watch one by one).
struct EpochProbe(Vec<(u64, i64)>);

impl Observer for EpochProbe {
    fn observes_steps(&self) -> bool {
        false
    }
    fn on_steps_end(&mut self, _epoch: usize) {
        self.0.push((ALLOCS.with(Cell::get), LIVE.with(Cell::get)));
    }
}

/// In f32 the steady state is the same: after the first epoch, an epoch (its steps, and the
/// evaluation and History's records of the epoch before) makes at most the matrix backend's
/// packing buffers per step and a few History records, and keeps alive only those records
/// (their vectors grow by doubling): less than one batch's activations, let alone one per step.
#[test]
fn f32_epochs_allocate_the_same_and_keep_nothing_but_history() {
    let d = two_moons(2000, 0.2, 1).unwrap();
    let (_, x) = StandardScaler::fit_transform(d.x.view()).unwrap();
    let (x, y) = (x.mapv(|v| v as f32), d.targets(Task::Binary).mapv(|v| v as f32));
    let mut net = Network::new(&[2, 64, 32, 1], Activation::Relu, Task::Binary, Init::He, 3).unwrap();
    let config = TrainConfig {
        batch_size: 64,
        dropout: Dropout::Hidden(0.8),
        precision: Precision::F32,
        ..TrainConfig::default()
    };
    let mut probe = EpochProbe(Vec::new());
    Trainer::new(&config, 6)
        .observer(&mut probe)
        .fit(&mut net, &mut Optimizer::adam(0.01).unwrap(), (&x, &y))
        .unwrap();
    let per_epoch: Vec<(u64, i64)> = probe.0.windows(2).map(|w| (w[1].0 - w[0].0, w[1].1 - w[0].1)).collect();
    eprintln!("f32 epochs: (allocations, live bytes added) {per_epoch:?}");
    let steps = 2000usize.div_ceil(64) as u64;
    // matrixmultiply's packing buffers: one per product (3L − 1) and one more per step.
    let packing = 3 * net.num_layers() as u64 * steps;
    for &(allocs, live) in &per_epoch[1..] {
        assert!(allocs <= packing + 20, "{allocs} allocations in an epoch of {steps} steps: {per_epoch:?}");
        assert!(live < 2048, "{live} bytes kept by an epoch: {per_epoch:?}");
    }
}
