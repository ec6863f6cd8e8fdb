"""What numpy_reference.py and torch_reference.py share: loading the data `ann_bench
--export` writes, memory readings, and the timed runs with their JSON report (the keys of
ann_bench's own)."""

import json
import os
import resource
import statistics

import numpy as np


def load(path, shape):
    """A raw little-endian f64 file as a row-major array of `shape`."""
    return np.fromfile(path, dtype="<f8").reshape(shape)


def load_export(directory):
    """(meta, X (n_x, m), Y (n_L, m), [(W[l], b[l])]) as exported by `ann_bench --export`."""
    meta = json.load(open(os.path.join(directory, "meta.json")))
    sizes, m = meta["sizes"], meta["m"]
    x = load(os.path.join(directory, "x.f64"), (sizes[0], m))
    y = load(os.path.join(directory, "y.f64"), (sizes[-1], m))
    start = [
        (
            load(os.path.join(directory, f"w{l}.f64"), (n, n_prev)),
            load(os.path.join(directory, f"b{l}.f64"), (n, 1)),
        )
        for l, (n_prev, n) in enumerate(zip(sizes[:-1], sizes[1:]), start=1)
    ]
    return meta, x, y, start


def status_kb(field):
    """A /proc/self/status field in kB (VmRSS, VmHWM); 0 where unavailable."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def flops_per_epoch(sizes, m):
    """Matrix-product FLOPs of one epoch: (training steps, evaluation of the training set)."""
    per_layer = [2.0 * a * b for a, b in zip(sizes[:-1], sizes[1:])]
    forward_flops = sum(per_layer)
    backward_flops = forward_flops + sum(per_layer[1:])
    return (forward_flops + backward_flops) * m, forward_flops * m


def measure_and_report(impl, backend, meta, runs, train):
    """Warm-up epoch, then `runs` trainings; prints the JSON line.

    `train(epochs)` trains fresh weights and returns (history, epoch seconds, step seconds,
    RSS in kB after each epoch)."""
    rss_data = status_kb("VmRSS:")
    peak_data = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Reset the peak (VmHWM) so that it measures training, not loading (Linux only).
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        peak_reset = True
    except OSError:
        peak_reset = False
    train(1)  # warm-up, discarded
    per_epoch, steps_only = [], []
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu_start = usage.ru_utime + usage.ru_stime
    for _ in range(max(1, runs)):
        h, ep, st, rss = train(meta["epochs"])
        per_epoch.append(sum(ep) / len(ep))
        steps_only.append(sum(st) / len(st))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu_per_epoch = (usage.ru_utime + usage.ru_stime - cpu_start) / (len(per_epoch) * meta["epochs"])
    train_flops, eval_flops = flops_per_epoch(meta["sizes"], meta["m"])
    med = statistics.median(per_epoch)
    peak_kb = status_kb("VmHWM:") if peak_reset else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "impl": impl,
                "backend": backend,
                "workload": meta["name"],
                "runs": len(per_epoch),
                "epoch_s_min": min(per_epoch),
                "epoch_s_median": med,
                "steps_s_min": min(steps_only),
                "steps_s_median": statistics.median(steps_only),
                "epoch_s_all": per_epoch,
                "cpu_s_per_epoch": cpu_per_epoch,
                "final_loss": h["train_loss"][-1],
                "final_accuracy": h["train_accuracy"][-1],
                "gflops_per_s": (train_flops + eval_flops) / med / 1e9,
                "gflop_per_epoch": (train_flops + eval_flops) / 1e9,
                "peak_rss_mb": peak_kb / 1024.0,
                "peak_rss_is_training_only": peak_reset,
                "peak_rss_data_generation_mb": peak_data / 1024.0,
                "rss_after_data_mb": rss_data / 1024.0,
                "rss_epoch_first_mb": rss[0] / 1024.0,
                "rss_epoch_last_mb": rss[-1] / 1024.0,
            }
        )
    )
