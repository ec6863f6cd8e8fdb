//! Corrupted saved models and checkpoints: truncated, with flipped bytes, with huge declared
//! dimensions, non-finite weights, wrong versions or inconsistent counters. Every case is
//! an error or a valid file, never a panic, and reading never allocates far beyond the
//! file's own size.

use ann_core::*;
use proptest::prelude::*;
use serde_json::Value;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::OnceLock;

/// Tracks the live bytes of the current thread and their peak.
struct Tracking;

thread_local! {
    static LIVE: Cell<i64> = const { Cell::new(0) };
    static PEAK: Cell<i64> = const { Cell::new(0) };
}

// SAFETY: forwards to the system allocator; the counters are plain thread-locals.
unsafe impl GlobalAlloc for Tracking {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = LIVE.try_with(|l| {
            let now = l.get() + layout.size() as i64;
            l.set(now);
            let _ = PEAK.try_with(|p| p.set(p.get().max(now)));
        });
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let _ = LIVE.try_with(|l| l.set(l.get() - layout.size() as i64));
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Tracking = Tracking;

/// Runs `f` and returns its result with the most memory it held at once beyond what was
/// live before.
fn peak_of<T>(f: impl FnOnce() -> T) -> (T, i64) {
    let base = LIVE.with(Cell::get);
    PEAK.with(|p| p.set(base));
    let out = f();
    (out, PEAK.with(Cell::get) - base)
}

/// At most this much memory for reading a file of `len` bytes: a few times the file, as
/// the parsed numbers (8 bytes each, from at least 2 characters) and growing vectors need.
fn budget(len: usize) -> i64 {
    8 * len as i64 + (256 << 10)
}

#[derive(Clone, Copy, Debug)]
enum Kind {
    Model,
    Checkpoint,
}

/// A saved network with its Adam state, and a checkpoint of a run with dropout, a
/// schedule and early stopping (so its best epoch is in it too).
fn good(kind: Kind) -> &'static str {
    static FILES: OnceLock<(String, String)> = OnceLock::new();
    let (model, checkpoint) = FILES.get_or_init(|| {
        let d = two_moons(200, 0.2, 5).unwrap();
        let (train, val) = train_test_split(&d, 0.25, 1).unwrap();
        let (y, y_val) = (train.targets(Task::Binary), val.targets(Task::Binary));
        let mut net = Network::new(&[2, 6, 4, 1], Activation::Relu, Task::Binary, Init::He, 2).unwrap();
        let mut adam = Optimizer::adam(0.01).unwrap();
        let path = std::env::temp_dir().join(format!("ann_fuzz_{}.json", std::process::id()));
        let config = TrainConfig {
            batch_size: 50,
            dropout: Dropout::Hidden(0.8),
            schedule: LrSchedule::Exponential { rate: 0.1 },
            early_stopping: Some(EarlyStopping { patience: 5, min_delta: 0.0 }),
            ..TrainConfig::default()
        };
        Trainer::new(&config, 3)
            .validation((&val.x, &y_val))
            .checkpoint(Checkpointing { path: path.clone(), every: 3 })
            .fit(&mut net, &mut adam, (&train.x, &y))
            .unwrap();
        let checkpoint = std::fs::read_to_string(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        (SavedModel::new(net, Some(adam)).to_json().unwrap(), checkpoint)
    });
    match kind {
        Kind::Model => model,
        Kind::Checkpoint => checkpoint,
    }
}

/// Reads `bytes` as the file `kind`: Ok(()) if it loads, Err(message) if not. The bytes
/// go through the file system, as a user's file would (not valid UTF-8 is an error there).
fn read(kind: Kind, bytes: &[u8]) -> (std::result::Result<(), String>, i64) {
    let outcome = peak_of(|| match std::str::from_utf8(bytes) {
        Ok(text) => match kind {
            Kind::Model => SavedModel::from_json(text).map(drop),
            Kind::Checkpoint => Checkpoint::from_json(text).map(drop),
        },
        Err(_) => {
            let path = std::env::temp_dir().join(format!("ann_fuzz_bytes_{}.json", std::process::id()));
            std::fs::write(&path, bytes).unwrap();
            let r = match kind {
                Kind::Model => SavedModel::load(&path).map(drop),
                Kind::Checkpoint => Checkpoint::load(&path).map(drop),
            };
            std::fs::remove_file(&path).unwrap();
            r
        }
    });
    (outcome.0.map_err(|e| e.to_string()), outcome.1)
}

/// Reads a corrupted file; it must not take more memory than its size allows.
fn read_bounded(kind: Kind, bytes: &[u8]) -> std::result::Result<(), String> {
    let (result, peak) = read(kind, bytes);
    assert!(
        peak <= budget(bytes.len()),
        "{kind:?}: reading {} bytes held {peak} bytes at once ({result:?})",
        bytes.len()
    );
    result
}

/// Byte ranges of the JSON numbers in `text`.
fn numbers(text: &str) -> Vec<(usize, usize)> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let starts = (b[i] == b'-' || b[i].is_ascii_digit())
            && i > 0
            && matches!(b[i - 1], b':' | b'[' | b',' | b' ' | b'\n');
        if starts {
            let s = i;
            while i < b.len() && matches!(b[i], b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9') {
                i += 1;
            }
            out.push((s, i));
        } else {
            i += 1;
        }
    }
    out
}

/// Visits every `"dim": [..]` of the arrays in `v` (W[l], b[l], the optimizer's averages
/// ...), in document order.
fn each_dim(v: &mut Value, f: &mut impl FnMut(&mut Value)) {
    match v {
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                if key == "dim" {
                    f(child);
                } else {
                    each_dim(child, f);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|c| each_dim(c, f)),
        _ => {}
    }
}

fn kind() -> impl Strategy<Value = Kind> {
    prop::sample::select(vec![Kind::Model, Kind::Checkpoint])
}

#[test]
fn the_good_files_load_within_the_memory_budget() {
    for kind in [Kind::Model, Kind::Checkpoint] {
        let text = good(kind);
        let (result, peak) = read(kind, text.as_bytes());
        assert_eq!(result, Ok(()), "{kind:?}");
        assert!(peak <= budget(text.len()), "{kind:?}: {peak} bytes for a {}-byte file", text.len());
        assert!(!numbers(text).is_empty());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    /// Every strict prefix of a file is an error (a JSON object is only complete at its end).
    #[test]
    fn truncated_files_are_errors(kind in kind(), cut in 0.0f64..1.0) {
        let text = good(kind).as_bytes();
        let len = ((text.len() as f64) * cut) as usize;
        let result = read_bounded(kind, &text[..len]);
        prop_assert!(result.is_err(), "{len} of {} bytes loaded", text.len());
    }

    /// 1 to 8 bytes XORed with random masks: an error, or (a changed digit, say) a file that
    /// loads, is checked like any other and keeps its shapes; never a panic.
    #[test]
    fn flipped_bytes_are_errors_or_valid_files(
        kind in kind(),
        flips in prop::collection::vec((0.0f64..1.0, 1u8..=255), 1..=8),
    ) {
        let mut bytes = good(kind).as_bytes().to_vec();
        for (at, mask) in flips {
            let i = ((bytes.len() as f64) * at) as usize;
            bytes[i] ^= mask;
        }
        if read_bounded(kind, &bytes).is_ok() {
            // What loaded is a valid file: its text parses back to the same value.
            let text = std::str::from_utf8(&bytes).unwrap();
            match kind {
                Kind::Model => {
                    let m = SavedModel::from_json(text).unwrap();
                    prop_assert_eq!(SavedModel::from_json(&m.to_json().unwrap()).unwrap(), m);
                }
                Kind::Checkpoint => {
                    let c = Checkpoint::from_json(text).unwrap();
                    prop_assert_eq!(Checkpoint::from_json(&c.to_json().unwrap()).unwrap(), c);
                }
            }
        }
    }

    /// A declared shape far bigger than the data (up to 2⁶⁴ − 1 per axis, products that
    /// overflow) is an error, and nothing of that size is allocated.
    #[test]
    fn huge_declared_dimensions_are_errors(
        kind in kind(),
        which in any::<prop::sample::Index>(),
        rows in prop::sample::select(vec![1u64 << 20, 1 << 32, 1 << 40, u64::MAX, 3]),
        cols in prop::sample::select(vec![1u64 << 20, 1 << 31, 1 << 44, u64::MAX]),
    ) {
        let mut v: Value = serde_json::from_str(good(kind)).unwrap();
        let mut count = 0;
        each_dim(&mut v, &mut |_| count += 1);
        prop_assert!(count >= 6);
        let (target, mut at) = (which.index(count), 0);
        each_dim(&mut v, &mut |dim| {
            if at == target {
                *dim = serde_json::json!([rows, cols]);
            }
            at += 1;
        });
        let text = v.to_string();
        prop_assert!(read_bounded(kind, text.as_bytes()).is_err());
    }

    /// NaN, ±inf (JSON has no such numbers, so as the tokens other writers use, and as
    /// values out of f64's range) or null in place of any number: an error.
    #[test]
    fn non_finite_numbers_are_errors(
        kind in kind(),
        which in any::<prop::sample::Index>(),
        token in prop::sample::select(vec!["NaN", "Infinity", "-Infinity", "1e999", "-1e400", "null", "\"NaN\""]),
    ) {
        let text = good(kind);
        let spots = numbers(text);
        let (s, e) = spots[which.index(spots.len())];
        let bad = format!("{}{token}{}", &text[..s], &text[e..]);
        prop_assert!(read_bounded(kind, bad.as_bytes()).is_err(), "{} at {s}", token);
    }

    /// Any version but the one this build reads, as a number, a string, negative or absent.
    #[test]
    fn wrong_versions_are_errors(kind in kind(), version in any::<i64>(), form in 0..4u8) {
        let current = match kind { Kind::Model => 2, Kind::Checkpoint => 1 };
        prop_assume!(version != current && !(matches!(kind, Kind::Model) && version == 1));
        let mut v: Value = serde_json::from_str(good(kind)).unwrap();
        let obj = v.as_object_mut().unwrap();
        match form {
            0 => { obj.insert("version".into(), version.into()); }
            1 => { obj.insert("version".into(), version.to_string().into()); }
            2 => { obj.insert("version".into(), (version as f64 + 0.5).into()); }
            _ => { obj.remove("version"); }
        }
        let err = read_bounded(kind, v.to_string().as_bytes()).unwrap_err();
        prop_assert!(err.contains("version"), "{}", err);
    }

    /// A checkpoint whose counters do not agree: epochs, steps, the RNG position, the best
    /// epoch, m — any of them set to a random (often huge) value.
    #[test]
    fn inconsistent_checkpoint_counters_are_errors(
        field in prop::sample::select(vec!["epochs_done", "steps_done", "train_examples", "best_epoch", "steps_per_epoch"]),
        value in prop_oneof![0u64..10, Just(u64::MAX), Just(1u64 << 62), any::<u64>()],
    ) {
        let mut v: Value = serde_json::from_str(good(Kind::Checkpoint)).unwrap();
        let pointer = match field {
            "best_epoch" => "/state/best/epoch",
            "steps_per_epoch" => "/state/history/steps_per_epoch",
            "train_examples" => "/train_examples",
            "epochs_done" => "/state/epochs_done",
            _ => "/state/steps_done",
        };
        let entry = v.pointer_mut(pointer).unwrap();
        prop_assume!(*entry != value);
        // Another best epoch among the completed ones is a valid checkpoint.
        prop_assume!(field != "best_epoch" || value >= 3);
        *entry = value.into();
        let err = read_bounded(Kind::Checkpoint, v.to_string().as_bytes()).unwrap_err();
        prop_assert!(err.contains("checkpoint"), "{}", err);
    }
}
