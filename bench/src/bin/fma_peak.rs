//! `fma_peak`: the rate of fused multiply-adds this machine sustains, in f32 and f64, with
//! AVX-512 and with AVX2 + FMA (each where the CPU has it, detected at run time), on one
//! core and on all of them. `make bench` runs it first and compares the workloads' GFLOP/s
//! with the best of these ("the measured peak").
//!
//! ```text
//! fma_peak [--json FILE]
//! ```
//!
//! Each thread runs [`CHAINS_512`] (AVX-512) or [`CHAINS_256`] (AVX2) independent chains
//! acc ← acc · a + b in registers: an FMA's result is ready only some cycles (its latency,
//! 4 on recent x86) after it starts, and a core starts one or two per cycle, so the core is
//! busy only with latency × throughput chains in flight (8 on two FMA units of latency 4);
//! the counts here cover that with room. Nothing is loaded or stored in the loop. GFLOP/s
//! counts 2 flops (a multiply and an add) per lane per FMA: 16 f32 or 8 f64 lanes in 512
//! bits, 8 or 4 in 256. Each configuration runs [`REPEATS`] times for about [`TARGET_SECS`] s
//! in each of [`PASSES`] passes over all configurations; the best run is kept (other load
//! only ever slows a run down, and a burst of it, such as the writeback after a build, then
//! spoils one pass of a configuration, not its result).

use serde_json::{Value, json};
use std::time::Instant;

/// Accumulators per thread with AVX-512 (32 vector registers: 16 chains, a and b).
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
const CHAINS_512: usize = 16;
/// Accumulators per thread with AVX2 (16 vector registers: 12 chains, a and b).
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
const CHAINS_256: usize = 12;
/// Seconds per timed run.
const TARGET_SECS: f64 = 0.1;
/// Timed runs per configuration and pass (the best is kept: on a shared machine a run on
/// all cores reaches the peak only while no other process wants a core).
const REPEATS: usize = 4;
/// Passes over all configurations.
const PASSES: usize = 3;

/// One measured configuration.
struct Measurement {
    isa: &'static str,
    precision: &'static str,
    threads: usize,
    gflops: f64,
}

/// A kernel: `run(iters)` runs `iters` rounds of one FMA instruction on each of its
/// `chains` registers (iters × chains × lanes FMAs) and needs the CPU feature its ISA names.
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
struct Kernel {
    isa: &'static str,
    precision: &'static str,
    /// Vector lanes: FMAs per instruction.
    lanes: usize,
    chains: usize,
    run: fn(u64),
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;
    use std::hint::black_box;

    /// acc ← acc · a + b on `$chains` registers, `iters` times. a = b = 0.5 keeps every
    /// chain at 1 once there (no overflow, no subnormals); black_box keeps the compiler from
    /// folding the constants or dropping the results.
    macro_rules! kernel {
        ($name:ident, $feature:literal, $elem:ty, $set1:ident, $fma:ident, $chains:expr) => {
            #[target_feature(enable = $feature)]
            fn $name(iters: u64) {
                let a = $set1(black_box(0.5 as $elem));
                let b = $set1(black_box(0.5 as $elem));
                let mut acc = [$set1(0.0); $chains];
                for (i, v) in acc.iter_mut().enumerate() {
                    *v = $set1(i as $elem);
                }
                for _ in 0..iters {
                    for v in acc.iter_mut() {
                        *v = $fma(*v, a, b);
                    }
                }
                black_box(acc);
            }
        };
    }

    kernel!(avx512_f32, "avx512f", f32, _mm512_set1_ps, _mm512_fmadd_ps, super::CHAINS_512);
    kernel!(avx512_f64, "avx512f", f64, _mm512_set1_pd, _mm512_fmadd_pd, super::CHAINS_512);
    kernel!(avx2_f32, "avx2,fma", f32, _mm256_set1_ps, _mm256_fmadd_ps, super::CHAINS_256);
    kernel!(avx2_f64, "avx2,fma", f64, _mm256_set1_pd, _mm256_fmadd_pd, super::CHAINS_256);

    fn run_avx512_f32(iters: u64) {
        // SAFETY: listed by `kernels` only when the CPU reports AVX-512F.
        unsafe { avx512_f32(iters) }
    }
    fn run_avx512_f64(iters: u64) {
        // SAFETY: as above.
        unsafe { avx512_f64(iters) }
    }
    fn run_avx2_f32(iters: u64) {
        // SAFETY: listed by `kernels` only when the CPU reports AVX2 and FMA.
        unsafe { avx2_f32(iters) }
    }
    fn run_avx2_f64(iters: u64) {
        // SAFETY: as above.
        unsafe { avx2_f64(iters) }
    }

    /// The kernels this CPU can run.
    pub(super) fn kernels() -> Vec<super::Kernel> {
        use super::{CHAINS_256, CHAINS_512, Kernel};
        let mut k = Vec::new();
        if is_x86_feature_detected!("avx512f") {
            k.push(Kernel {
                isa: "AVX-512",
                precision: "f32",
                lanes: 16,
                chains: CHAINS_512,
                run: run_avx512_f32,
            });
            k.push(Kernel {
                isa: "AVX-512",
                precision: "f64",
                lanes: 8,
                chains: CHAINS_512,
                run: run_avx512_f64,
            });
        }
        if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            k.push(Kernel {
                isa: "AVX2+FMA",
                precision: "f32",
                lanes: 8,
                chains: CHAINS_256,
                run: run_avx2_f32,
            });
            k.push(Kernel {
                isa: "AVX2+FMA",
                precision: "f64",
                lanes: 4,
                chains: CHAINS_256,
                run: run_avx2_f64,
            });
        }
        k
    }
}

#[cfg(target_arch = "x86_64")]
fn kernels() -> Vec<Kernel> {
    x86::kernels()
}

#[cfg(not(target_arch = "x86_64"))]
fn kernels() -> Vec<Kernel> {
    Vec::new()
}

/// Wall seconds of `threads` threads each running `kernel` for `iters` rounds.
fn time_threads(kernel: &Kernel, threads: usize, iters: u64) -> f64 {
    let start = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| (kernel.run)(iters));
        }
    });
    start.elapsed().as_secs_f64()
}

/// The rounds that make a run of `kernel` on `threads` threads last about [`TARGET_SECS`]:
/// doubled until a run takes 10 ms, then scaled.
fn calibrate(kernel: &Kernel, threads: usize) -> u64 {
    let mut iters: u64 = 1 << 14;
    let mut secs = time_threads(kernel, threads, iters);
    while secs < 0.01 {
        iters *= 2;
        secs = time_threads(kernel, threads, iters);
    }
    ((iters as f64) * TARGET_SECS / secs).max(1.0) as u64
}

/// The best GFLOP/s of [`REPEATS`] runs of `kernel` on `threads` threads, `iters` rounds each.
fn measure(kernel: &Kernel, threads: usize, iters: u64) -> f64 {
    let flops = 2.0 * (kernel.lanes * kernel.chains * threads) as f64 * iters as f64;
    let best = (0..REPEATS).map(|_| time_threads(kernel, threads, iters)).fold(f64::INFINITY, f64::min);
    flops / best / 1e9
}

/// The first "cpu MHz" of /proc/cpuinfo (under a hypervisor often the nominal clock, not
/// the one the core runs at), and the model name.
fn cpuinfo() -> (Option<f64>, String) {
    let text = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let field = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_string())
    };
    (field("cpu MHz").and_then(|v| v.parse().ok()), field("model name").unwrap_or_else(|| "unknown".into()))
}

/// The best measurement of `precision` on `threads` threads, as JSON.
fn best(results: &[Measurement], precision: &str, threads: usize) -> Value {
    results
        .iter()
        .filter(|m| m.precision == precision && m.threads == threads)
        .max_by(|a, b| a.gflops.total_cmp(&b.gflops))
        .map_or(Value::Null, |m| json!({ "gflops": m.gflops, "threads": m.threads, "isa": m.isa }))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let json_path = args.iter().position(|a| a == "--json").map(|i| {
        args.get(i + 1).cloned().unwrap_or_else(|| {
            eprintln!("usage: fma_peak [--json FILE]");
            std::process::exit(2);
        })
    });
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let (mhz, model) = cpuinfo();
    let kernels = kernels();
    if kernels.is_empty() {
        eprintln!("fma_peak: this CPU has neither AVX-512 nor AVX2 + FMA");
    }
    println!(
        "FMA peak on {model}, {cores} cores, /proc/cpuinfo {}",
        mhz.map_or("(no MHz)".into(), |f| format!("{f:.0} MHz"))
    );
    let mut counts = vec![1];
    if cores > 1 {
        counts.push(cores);
    }
    // (kernel, threads, rounds per run, best GFLOP/s so far), measured pass after pass.
    let mut configs: Vec<(&Kernel, usize, u64, f64)> =
        kernels.iter().flat_map(|k| counts.iter().map(move |&t| (k, t, calibrate(k, t), 0.0))).collect();
    for _ in 0..PASSES {
        for (kernel, threads, iters, best) in configs.iter_mut() {
            *best = best.max(measure(kernel, *threads, *iters));
        }
    }
    let mut results = Vec::new();
    let mut one_core = f64::NAN;
    for &(kernel, threads, _, gflops) in &configs {
        // All cores reach `cores` × one core's rate only if no other process ran meanwhile.
        let scaling = if threads == 1 {
            one_core = gflops;
            String::new()
        } else {
            format!(" = {:.2}× one core", gflops / one_core)
        };
        // Flops per cycle per core at the clock /proc/cpuinfo reports: above the ISA's
        // lanes × 2 × FMA units, the core runs faster than that clock.
        let per_cycle = mhz.map_or(String::new(), |f| {
            format!(", {:.1} flops/cycle/core at {f:.0} MHz", gflops * 1e3 / f / threads as f64)
        });
        println!(
            "  {:<8} {} {} thread{}: {gflops:7.1} GFLOP/s{scaling} ({} lanes, {} chains{per_cycle})",
            kernel.isa,
            kernel.precision,
            threads,
            if threads == 1 { " " } else { "s" },
            kernel.lanes,
            kernel.chains,
        );
        results.push(Measurement { isa: kernel.isa, precision: kernel.precision, threads, gflops });
    }
    let report = json!({
        "cpu_model": model,
        "cpu_mhz": mhz,
        "cores": cores,
        "measurements": results.iter().map(|m| json!({
            "isa": m.isa, "precision": m.precision, "threads": m.threads, "gflops": m.gflops,
        })).collect::<Vec<_>>(),
        // The best ISA on all cores, and on one.
        "peak": { "f32": best(&results, "f32", cores), "f64": best(&results, "f64", cores) },
        "peak_one_core": { "f32": best(&results, "f32", 1), "f64": best(&results, "f64", 1) },
    });
    for precision in ["f32", "f64"] {
        if let Some(p) = report["peak"][precision].as_object() {
            println!(
                "  peak {precision}: {:.1} GFLOP/s ({} cores, {})",
                p["gflops"].as_f64().unwrap_or(0.0),
                p["threads"],
                p["isa"].as_str().unwrap_or("?")
            );
        }
    }
    if let Some(path) = json_path {
        std::fs::write(&path, report.to_string()).unwrap_or_else(|e| {
            eprintln!("fma_peak: cannot write {path}: {e}");
            std::process::exit(1);
        });
    }
}
