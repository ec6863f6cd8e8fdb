#!/usr/bin/env python3
"""Runs the ann_bench binaries, bench/numpy_reference.py and (optionally)
bench/torch_reference.py on the same data, in rounds (every implementation once per round,
one training per process), and prints a comparison table (Markdown).

Usage: run.py --bin NAME=PATH [--bin NAME=PATH ...] [--runs N] [--workloads w1,w2,w3,w4]
              [--w4-runs N] [--w4-images N] [--json FILE] [--numpy-single-thread] [--torch]
The first --bin also exports the data and initial weights (and, for W4, fit's batch order)
that the references train on. The references run without OPENBLAS_CORETYPE and
OPENBLAS_L2_SIZE in their environment (see reference_env), and each reports the BLAS it ran
(threadpoolctl), printed in the table's header and kept in the JSON.
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


REFERENCES = ("numpy", "numpy-1", "torch", "torch-f32")


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
            # (key, label, command, env) of every implementation; the first Rust build also
            # exports the data and initial weights that the references train on.
            impls = [(name, f"Rust ann_core ({name})", [path, w, "--runs", "1", *subset], None) for name, path in bins]
            subprocess.run(impls[0][2] + ["--export", data], check=True, capture_output=True)
            ref = [python, os.path.join(HERE, "numpy_reference.py"), data, "--runs", "1"]
            impls.insert(1, ("numpy", "NumPy reference", ref, reference_env()))
            if args.numpy_single_thread:
                env = reference_env(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
                impls.insert(2, ("numpy-1", "NumPy reference, 1 BLAS thread", ref, env))
            if args.torch:
                torch_ref = [python, os.path.join(HERE, "torch_reference.py"), data, "--runs", "1"]
                impls.append(("torch", "PyTorch reference (autograd, torch.optim.Adam)", torch_ref, reference_env()))
                if w == "w4":
                    impls.append(
                        (
                            "torch-f32",
                            "PyTorch reference, f32 (a different precision)",
                            torch_ref + ["--dtype", "float32"],
                            reference_env(),
                        )
                    )
            # Round after round, every implementation once per round: a change in the
            # machine's load hits all of them alike instead of whichever ran at that time.
            rounds = {key: [] for key, _, _, _ in impls}
            for k in range(max(1, runs[w])):
                for key, _, cmd, env in impls:
                    print(f"[bench] {w} round {k + 1}/{runs[w]}: {key}", file=sys.stderr, flush=True)
                    rounds[key].append(run_json(cmd, env=env))
            for key, label, _, _ in impls:
                r = merge(rounds[key])
                r["impl"], r["label"] = ("rust" if key not in REFERENCES else key), label
                results.append(r)
    load_after = os.getloadavg()

    np_version = next((r["backend"] for r in results if r["impl"] == "numpy"), "NumPy ?")
    print("## ann_core vs NumPy: seconds per epoch (f64)\n")
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
        "apart at most, so a slow spell of the machine cancels out)."
    )
    print(textwrap.fill(method, width=100, initial_indent="- ", subsequent_indent="  "))
    print("- CPU s/epoch: user + system time of all threads per epoch (less sensitive to other load than")
    print("  wall time; multi-threaded code also counts the time its threads spend waiting for each other).")
    if args.w4_images and "w4" in workloads:
        print(f"- W4 on the first {args.w4_images} training images only (--w4-images): not the benchmark's numbers.")
    print(f"- {time.strftime('%Y-%m-%d %H:%M %Z')}\n")
    print(
        "| workload | implementation | s/epoch min | s/epoch median | steps only (median) | speed-up vs NumPy "
        "| speed-up per round | CPU s/epoch | GFLOP/s | final loss | train accuracy | peak RSS (training) "
        "| RSS after epoch 1 → last |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for w in workloads:
        rows = [r for r in results if r["workload"] == w]
        ref = next((r for r in rows if r["impl"] == "numpy"), None)
        for r in rows:
            ratio = ref["epoch_s_median"] / r["epoch_s_median"] if ref else float("nan")
            paired = (
                median([a / b for a, b in zip(ref["epoch_s_all"], r["epoch_s_all"])]) if ref else float("nan")
            )
            r["speedup_median"], r["speedup_per_round"] = ratio, paired
            acc = r.get("final_accuracy")
            print(
                f"| {w.upper()} | {r['label']} | {fmt_s(r['epoch_s_min'])} | {fmt_s(r['epoch_s_median'])} "
                f"| {fmt_s(r['steps_s_median'])} | {ratio:.2f}x | {paired:.2f}x | {fmt_s(r['cpu_s_per_epoch'])} "
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
    # How far each final training loss is from the first Rust build's: W1-W3's references
    # shuffle (and drop units) with their own RNG, W4's take fit's batch order.
    print("Final loss against the first Rust build's (|difference|):")
    for w in workloads:
        rows = [r for r in results if r["workload"] == w]
        base = rows[0]
        diffs = ", ".join(f"{r['label']} {abs(r['final_loss'] - base['final_loss']):.1e}" for r in rows[1:])
        print(f"- {w.upper()}: {base['final_loss']!r} ({base['label']}); {diffs}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
