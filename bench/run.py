#!/usr/bin/env python3
"""Runs the ann_bench binaries, bench/numpy_reference.py and (optionally)
bench/torch_reference.py on the same data, in rounds (every implementation once per round,
one training per process), and prints a comparison table (Markdown).

Usage: run.py --bin NAME=PATH [--bin NAME=PATH ...] [--runs N] [--workloads w1,w2,w3,w4]
              [--precisions f64,f32] [--w4-runs N] [--w4-images N] [--json FILE]
              [--fma-peak FILE] [--numpy-single-thread] [--torch]
The first --bin also exports the data and initial weights (and, for W4, fit's batch order)
that the references train on. The references run without OPENBLAS_CORETYPE and
OPENBLAS_L2_SIZE in their environment (see reference_env), and each reports the BLAS it ran
(threadpoolctl), printed in the table's header and kept in the JSON.

Precisions (--precisions, `BENCH_PRECISIONS` in bench.sh; default both): f64 runs every
--bin, NumPy and PyTorch in f64 as before; f32 adds, on W1-W3, the first --bin with
`--precision f32`, numpy_reference.py and torch_reference.py with `--dtype float32` (PyTorch
with fused Adam), and on W4 the first --bin and PyTorch in f32 (no NumPy f32 there). Every process must report
the precision it was asked for (ann_bench's "precision", the references' "dtype"), or the
run stops. An f32 row's speed-up is against NumPy f32 (W4: NumPy f64, the only NumPy
there), and its final loss is compared with ann_core f32's; the "NumPy baseline" column
says which. --fma-peak takes the JSON of `fma_peak --json FILE` (bench/src/bin/fma_peak.rs)
and prints each row's GFLOP/s as a fraction of the measured peak of its precision.
Standard library only (NumPy is needed by numpy_reference.py).
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import textwrap
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def run_json(cmd, env=None):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
    return json.loads(out.strip().splitlines()[-1])


def reported_precision(r):
    """The precision a process says it trained in: ann_bench's "precision", a reference's
    "dtype" (absent: f64, as before either had the field)."""
    if "precision" in r:
        return r["precision"]
    return {"float64": "f64", "float32": "f32"}[r.get("dtype", "float64")]


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


# Variables that make OpenBLAS use another kernel than the one it picks for this CPU (some
# machines set OPENBLAS_CORETYPE=Haswell, i.e. AVX2 on an AVX-512 CPU) or assume another
# cache size: the reference processes run without them, so that NumPy (and the OpenBLAS
# that PyTorch loads with it) runs its native kernel. Only theirs: the Rust builds, tests
# and CI keep the environment they are given.
OPENBLAS_OVERRIDES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def reference_env(**extra):
    """The environment of a NumPy or PyTorch process: this one without OPENBLAS_OVERRIDES,
    plus `extra`."""
    env = {k: v for k, v in os.environ.items() if k not in OPENBLAS_OVERRIDES}
    env.update(extra)
    return env


def blas_line(r):
    """The libraries a reference process reported (threadpoolctl), one phrase each."""
    parts = []
    for p in r.get("blas", []):
        what = p.get("internal_api", "?")
        if p.get("version"):
            what += f" {p['version']}"
        if p.get("architecture"):
            what += f", kernel {p['architecture']}"
        threads = p.get("num_threads", "?")
        what += f", {threads} thread{'' if threads == 1 else 's'}"
        if p.get("filepath"):
            what += f" ({os.path.basename(p['filepath'])})"
        parts.append(what)
    if "torch_cpu_capability" in r:
        parts.append(
            f"PyTorch's own kernels: CPU capability {r['torch_cpu_capability']}, "
            f"{r.get('torch_threads', '?')} threads, {r.get('torch_blas', '?')}"
        )
    return "; ".join(parts) if parts else "(threadpoolctl not installed)"


def median(v):
    s = sorted(v)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def merge(parts):
    """One result from the rounds of one implementation (each a process with one training)."""
    epochs = [p["epoch_s_all"][0] for p in parts]
    steps = [p["steps_s_median"] for p in parts]
    last = dict(parts[-1])
    med = median(epochs)
    last.update(
        runs=len(parts),
        epoch_s_all=epochs,
        epoch_s_min=min(epochs),
        epoch_s_median=med,
        steps_s_min=min(steps),
        steps_s_median=median(steps),
        cpu_s_per_epoch=sum(p["cpu_s_per_epoch"] for p in parts) / len(parts),
        gflops_per_s=last["gflop_per_epoch"] / med,
        peak_rss_mb=max(p["peak_rss_mb"] for p in parts),
        # The same seed in every process: the same bits, or something is not reproducible.
        deterministic=all(p.get("deterministic", True) for p in parts)
        and len({(p["final_loss"], p["final_accuracy"]) for p in parts}) == 1,
    )
    return last


def fmt_s(v):
    return f"{v * 1000:.2f} ms" if v < 1 else f"{v:.3f} s"


REFERENCES = ("numpy", "numpy-1", "torch", "numpy-f32", "torch-f32")
PRECISIONS = ("f64", "f32")


def peak_line(w, precision, rows, peak):
    """W2 f32: X GFLOP/s = Y % of the measured f32 FMA peak Z GFLOP/s (N cores, ISA), for
    the first of `rows`, then the same fraction for the others."""
    p = peak["peak"].get(precision)
    if not p or not rows:
        return None

    def share(r):
        return 100 * r["gflops_per_s"] / p["gflops"]

    first, others = rows[0], rows[1:]
    text = (
        f"{w.upper()} {precision}: {first['gflops_per_s']:.1f} GFLOP/s = {share(first):.0f} % of the measured "
        f"{precision} FMA peak {p['gflops']:.1f} GFLOP/s ({p['threads']} cores, {p['isa']}) ({first['label']})"
    )
    text += "".join(f"; {r['label']} {r['gflops_per_s']:.1f} GFLOP/s = {share(r):.0f} %" for r in others)
    return text


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", action="append", required=True, help="NAME=PATH of an ann_bench build")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument(
        "--w4-runs",
        type=int,
        default=3,
        help="rounds of W4 (default 3: its one epoch is ~0.5 TFLOP, minutes per round with the references)",
    )
    ap.add_argument("--w4-images", type=int, help="W4 on the first N training images only (a quick check)")
    ap.add_argument("--workloads", default="w1,w2")
    ap.add_argument(
        "--precisions",
        default="f64,f32",
        help="f64, f32 or both (default): which rows to run (f32: ann_core's first build, NumPy, PyTorch)",
    )
    ap.add_argument("--fma-peak", help="the JSON written by fma_peak --json: GFLOP/s as a fraction of the peak")
    ap.add_argument("--json", help="also write all raw results to this file")
    ap.add_argument(
        "--numpy-single-thread",
        action="store_true",
        help="also run NumPy with OPENBLAS_NUM_THREADS=1 (a reference that suffers less from other load)",
    )
    ap.add_argument(
        "--torch",
        action="store_true",
        help="also run bench/torch_reference.py (PyTorch must be importable by this Python); on W4 in f64 and f32",
    )
    args = ap.parse_args()
    precisions = args.precisions.split(",")
    if not precisions or any(p not in PRECISIONS for p in precisions):
        ap.error(f"--precisions takes f64 and/or f32, not {args.precisions!r}")
    peak = None
    if args.fma_peak:
        with open(args.fma_peak) as f:
            peak = json.load(f)
    bins = [b.split("=", 1) for b in args.bin]
    python = sys.executable
    workloads = args.workloads.split(",")
    runs = {w: (args.w4_runs if w == "w4" else args.runs) for w in workloads}
    load_before = os.getloadavg()
    results = []
    with tempfile.TemporaryDirectory(prefix="ann_bench_") as tmp:
        for w in workloads:
            data = os.path.join(tmp, w)
            subset = ["--images", str(args.w4_images)] if w == "w4" and args.w4_images else []
            # The first Rust build exports the data and initial weights that the
            # references train on (the same for both precisions).
            rust = [[path, w, "--runs", "1", *subset] for _, path in bins]
            subprocess.run(rust[0] + ["--export", data], check=True, capture_output=True)
            ref = [python, os.path.join(HERE, "numpy_reference.py"), data, "--runs", "1"]
            torch_ref = [python, os.path.join(HERE, "torch_reference.py"), data, "--runs", "1"]
            f32 = ["--dtype", "float32"]
            # (key, label, command, env, precision) of every implementation.
            impls = []
            if "f64" in precisions:
                impls += [(name, f"Rust ann_core ({name})", cmd, None, "f64") for (name, _), cmd in zip(bins, rust)]
                impls.insert(1, ("numpy", "NumPy reference", ref, reference_env(), "f64"))
                if args.numpy_single_thread:
                    env = reference_env(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
                    impls.insert(2, ("numpy-1", "NumPy reference, 1 BLAS thread", ref, env, "f64"))
                if args.torch:
                    label = "PyTorch reference (autograd, torch.optim.Adam)"
                    impls.append(("torch", label, torch_ref, reference_env(), "f64"))
            if "f32" in precisions:
                name = bins[0][0]
                rust_f32 = rust[0] + ["--precision", "f32"]
                impls.append((f"{name}-f32", f"Rust ann_core ({name}), f32", rust_f32, None, "f32"))
                if w == "w4":
                    # No NumPy f32 on W4: its f32 rows are compared with NumPy f64.
                    if args.torch:
                        label = "PyTorch reference, f32 (a different precision)"
                        impls.append(("torch-f32", label, torch_ref + f32, reference_env(), "f32"))
                else:
                    impls.append(("numpy-f32", "NumPy reference, f32", ref + f32, reference_env(), "f32"))
                    if args.torch:
                        label = "PyTorch reference, f32 (fused Adam)"
                        impls.append(("torch-f32", label, torch_ref + f32, reference_env(), "f32"))
            # Round after round, every implementation once per round: a change in the
            # machine's load hits all of them alike instead of whichever ran at that time.
            rounds = {key: [] for key, *_ in impls}
            for k in range(max(1, runs[w])):
                for key, _, cmd, env, precision in impls:
                    print(f"[bench] {w} round {k + 1}/{runs[w]}: {key}", file=sys.stderr, flush=True)
                    r = run_json(cmd, env=env)
                    if reported_precision(r) != precision:
                        sys.exit(
                            f"[bench] {key} was asked for {precision} and reports {reported_precision(r)}: "
                            f"{' '.join(cmd)} (an ann_bench built without the f32 path?)"
                        )
                    rounds[key].append(r)
            for key, label, _, _, precision in impls:
                r = merge(rounds[key])
                r["impl"], r["label"] = ("rust" if key not in REFERENCES else key), label
                r["precision"] = precision
                results.append(r)
    load_after = os.getloadavg()

    np_version = next((r["backend"] for r in results if r["impl"] == "numpy"), "NumPy ?")
    print(f"## ann_core vs NumPy: seconds per epoch ({' and '.join(precisions)})\n")
    print(f"- machine: {cpu_model()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}")
    shell = ", ".join(f"{k}={os.environ.get(k, '(unset)')}" for k in OPENBLAS_OVERRIDES)
    print(f"- {np_version}; in this shell {shell}: removed from the NumPy and PyTorch processes' environment,")
    print("  kept for the Rust builds; OPENBLAS_NUM_THREADS=" + os.environ.get("OPENBLAS_NUM_THREADS", "(unset)"))
    print("- the BLAS each reference process ran (threadpoolctl: internal_api version, architecture, num_threads):")
    seen = set()
    for r in results:
        if r["impl"] in REFERENCES and (r["label"], blas_line(r)) not in seen:
            seen.add((r["label"], blas_line(r)))
            shown = [x["workload"].upper() for x in results if x["label"] == r["label"] and blas_line(x) == blas_line(r)]
            print(f"  - {r['label']} ({', '.join(shown)}): {blas_line(r)}")
    print(f"- load average before/after: {load_before[0]:.2f} / {load_after[0]:.2f} (1 min)")
    rounds_text = ", ".join(f"{w.upper()} {runs[w]}" for w in workloads)
    partial = [
        f"{r['workload'].upper()}: on its first {r['warmup_examples']:,} examples"
        for r in results
        if r["label"] == results[0]["label"] and r.get("warmup_examples", r["m"]) < r["m"]
    ]
    warmup = f"epoch ({'; '.join(partial)})" if partial else "epoch"
    method = (
        f"rounds ({rounds_text}), each running every implementation once (a fresh process: one warm-up "
        f"{warmup}, then one timed training); an epoch = all steps + the evaluation of the whole training "
        "set that fit() records; 'steps' = the steps alone. Speed-up = NumPy median / median; 'per round' "
        "= the median over rounds of NumPy's epoch / this epoch in the same round (the two ran minutes "
        "apart at most, so a slow spell of the machine cancels out). NumPy is that of the row's precision "
        "(the 'NumPy baseline' column; W4 has NumPy in f64 only)."
    )
    print(textwrap.fill(method, width=100, initial_indent="- ", subsequent_indent="  "))
    print("- CPU s/epoch: user + system time of all threads per epoch (less sensitive to other load than")
    print("  wall time; multi-threaded code also counts the time its threads spend waiting for each other).")
    if args.w4_images and "w4" in workloads:
        print(f"- W4 on the first {args.w4_images} training images only (--w4-images): not the benchmark's numbers.")
    print(f"- {time.strftime('%Y-%m-%d %H:%M %Z')}\n")
    print(
        "| workload | implementation | s/epoch min | s/epoch median | steps only (median) | NumPy baseline "
        "| speed-up vs NumPy | speed-up per round | CPU s/epoch | GFLOP/s | final loss | train accuracy "
        "| peak RSS (training) | RSS after epoch 1 → last |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for w in workloads:
        rows = [r for r in results if r["workload"] == w]
        # Each row against NumPy of its own precision; W4's f32 row against NumPy f64.
        numpy = {r["precision"]: r for r in rows if r["impl"] in ("numpy", "numpy-f32")}
        for r in rows:
            ref = numpy.get(r["precision"], numpy.get("f64"))
            ratio = ref["epoch_s_median"] / r["epoch_s_median"] if ref else float("nan")
            paired = (
                median([a / b for a, b in zip(ref["epoch_s_all"], r["epoch_s_all"])]) if ref else float("nan")
            )
            r["speedup_median"], r["speedup_per_round"] = ratio, paired
            r["speedup_baseline"] = f"NumPy {ref['precision']}" if ref else None
            acc = r.get("final_accuracy")
            print(
                f"| {w.upper()} | {r['label']} | {fmt_s(r['epoch_s_min'])} | {fmt_s(r['epoch_s_median'])} "
                f"| {fmt_s(r['steps_s_median'])} | {r['speedup_baseline'] or '-'} | {ratio:.2f}x | {paired:.2f}x "
                f"| {fmt_s(r['cpu_s_per_epoch'])} "
                f"| {r['gflops_per_s']:.1f} "
                f"| {r['final_loss']:.4f} | {acc * 100:.2f}% | {r['peak_rss_mb']:.0f} MB "
                f"| {r['rss_epoch_first_mb']:.1f} → {r['rss_epoch_last_mb']:.1f} MB |"
            )
    ok = all(r["deterministic"] for r in results if r["impl"] == "rust")
    w1 = [r for r in results if r["workload"] == "w1" and r["impl"] == "rust"]
    print()
    if w1:
        best = min(r["final_accuracy"] for r in w1)
        print(f"W1 training accuracy >= 95%: {'yes' if best >= 0.95 else 'NO'} (lowest {best * 100:.2f}%)")
    print(f"Rust runs bit-identical from round to round: {'yes' if ok else 'NO'}")
    # How far each final training loss is from the first Rust build's of the same precision:
    # W1-W3's references shuffle (and drop units) with their own RNG, W4's take fit's batch
    # order.
    print("Final loss against the first Rust build's of the same precision (|difference|):")
    for w in workloads:
        rows = [r for r in results if r["workload"] == w]
        for precision in PRECISIONS:
            group = [r for r in rows if r["precision"] == precision]
            base = next((r for r in group if r["impl"] == "rust"), None) or next(
                (r for r in rows if r["impl"] == "rust"), None
            )
            if not group or base is None:
                continue
            others = [r for r in group if r is not base]
            diffs = ", ".join(f"{r['label']} {abs(r['final_loss'] - base['final_loss']):.1e}" for r in others)
            print(f"- {w.upper()} {precision}: {base['final_loss']!r} ({base['label']}); {diffs}")
    if peak:
        one = peak.get("peak_one_core", {})
        print(
            "Measured FMA peak (fma_peak: independent FMA chains in registers; 2 flops per lane per FMA), "
            f"{peak['cores']} cores: "
            + "; ".join(
                f"{p} {peak['peak'][p]['gflops']:.1f} GFLOP/s ({peak['peak'][p]['isa']}), "
                f"one core {one[p]['gflops']:.1f} ({one[p]['isa']}; all cores = "
                f"{peak['peak'][p]['gflops'] / one[p]['gflops']:.2f}x one core)"
                for p in PRECISIONS
                if peak["peak"].get(p) and one.get(p)
            )
        )
        print("GFLOP/s against that peak (matrix products only, as in the table):")
        for w in workloads:
            for precision in PRECISIONS:
                rows = [r for r in results if r["workload"] == w and r["precision"] == precision]
                # ann_core first (its first build), then the references of this precision.
                rows.sort(key=lambda r: r["impl"] != "rust")
                line = peak_line(w, precision, rows, peak)
                if line:
                    print(f"- {line}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"precisions": precisions, "fma_peak": peak, "results": results}, f, indent=1)


if __name__ == "__main__":
    main()
