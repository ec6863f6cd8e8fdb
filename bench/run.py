#!/usr/bin/env python3
"""Runs the ann_bench binaries and bench/numpy_reference.py on the same data, in rounds
(every implementation once per round, one training per process), and prints a comparison
table (Markdown).

Usage: run.py --bin NAME=PATH [--bin NAME=PATH ...] [--runs N] [--workloads w1,w2,w3]
              [--json FILE]
The first --bin also exports the data and initial weights that NumPy trains on.
Standard library only (NumPy is needed by numpy_reference.py).
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
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


def numpy_info(python):
    code = (
        "import json, numpy\n"
        "info = {'numpy': numpy.__version__}\n"
        "try:\n"
        "    from threadpoolctl import threadpool_info\n"
        "    info['blas'] = [(p.get('internal_api'), p.get('architecture'), p.get('num_threads'))"
        " for p in threadpool_info()]\n"
        "except Exception:\n"
        "    pass\n"
        "print(json.dumps(info))\n"
    )
    try:
        return json.loads(subprocess.run([python, "-c", code], capture_output=True, text=True).stdout)
    except Exception:
        return {}


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


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", action="append", required=True, help="NAME=PATH of an ann_bench build")
    ap.add_argument("--runs", type=int, default=5)
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
        help="also run bench/torch_reference.py (PyTorch must be importable by this Python)",
    )
    args = ap.parse_args()
    bins = [b.split("=", 1) for b in args.bin]
    python = sys.executable
    load_before = os.getloadavg()
    results = []
    with tempfile.TemporaryDirectory(prefix="ann_bench_") as tmp:
        for w in args.workloads.split(","):
            data = os.path.join(tmp, w)
            # (key, label, command, env) of every implementation; the first Rust build also
            # exports the data and initial weights that NumPy trains on.
            impls = [(name, f"Rust ann_core ({name})", [path, w, "--runs", "1"], None) for name, path in bins]
            subprocess.run(impls[0][2] + ["--export", data], check=True, capture_output=True)
            ref = [python, os.path.join(HERE, "numpy_reference.py"), data, "--runs", "1"]
            impls.insert(1, ("numpy", "NumPy reference", ref, None))
            if args.numpy_single_thread:
                env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
                impls.insert(2, ("numpy-1", "NumPy reference, 1 BLAS thread", ref, env))
            if args.torch:
                torch_ref = [python, os.path.join(HERE, "torch_reference.py"), data, "--runs", "1"]
                impls.append(("torch", "PyTorch reference (autograd, torch.optim.Adam)", torch_ref, None))
            # Round after round, every implementation once per round: a change in the
            # machine's load hits all of them alike instead of whichever ran at that time.
            rounds = {key: [] for key, _, _, _ in impls}
            for k in range(max(1, args.runs)):
                for key, _, cmd, env in impls:
                    print(f"[bench] {w} round {k + 1}/{args.runs}: {key}", file=sys.stderr, flush=True)
                    rounds[key].append(run_json(cmd, env=env))
            for key, label, _, _ in impls:
                r = merge(rounds[key])
                r["impl"], r["label"] = ("rust" if key not in ("numpy", "numpy-1", "torch") else key), label
                results.append(r)
    load_after = os.getloadavg()

    np_info = numpy_info(python)
    print("## ann_core vs NumPy: seconds per epoch (f64)\n")
    print(f"- machine: {cpu_model()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}")
    print(f"- NumPy {np_info.get('numpy', '?')}, BLAS {np_info.get('blas', '?')}")
    print(
        f"- OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}, "
        f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', '(unset)')}"
    )
    if args.torch:
        code = "import torch; print(torch.__version__, torch.get_num_threads(), 'threads;', torch.__config__.parallel_info().splitlines()[5].strip())"
        info = subprocess.run([python, "-c", code], capture_output=True, text=True).stdout.strip()
        print(f"- PyTorch {info}")
    print(f"- load average before/after: {load_before[0]:.2f} / {load_after[0]:.2f} (1 min)")
    print(f"- {args.runs} rounds, each running every implementation once (a fresh process: one warm-up")
    print("  epoch, then one timed training); an epoch = all steps + the evaluation of the")
    print("  whole training set that fit() records; 'steps' = the steps alone. Speed-up = NumPy median /")
    print("  median; 'per round' = the median over rounds of NumPy's epoch / this epoch in the same round")
    print("  (the two ran within a minute of each other, so a slow spell of the machine cancels out).")
    print("- CPU s/epoch: user + system time of all threads per epoch (less sensitive to other load than")
    print("  wall time; multi-threaded code also counts the time its threads spend waiting for each other).")
    print(f"- {time.strftime('%Y-%m-%d %H:%M %Z')}\n")
    print(
        "| workload | implementation | s/epoch min | s/epoch median | steps only (median) | speed-up vs NumPy "
        "| speed-up per round | CPU s/epoch | GFLOP/s | final loss | train accuracy | peak RSS (training) "
        "| RSS after epoch 1 → last |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for w in args.workloads.split(","):
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
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
