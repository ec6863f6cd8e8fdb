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
    """(meta, X (n_x, m), Y (n_L, m), [(W[l], b[l])], order) as exported by `ann_bench
    --export`. W[l] is (n_l, n_{l-1}) for a dense layer, (F, C*k*k) for a convolutional one
    (meta["w_shapes"]); b[l] is (n_l, 1) or (F, 1). `order` is None, or, when the export has
    one (workloads without dropout), fit's batch order: (epochs, m) example indices, each
    epoch's batches its consecutive runs of batch_size."""
    meta = json.load(open(os.path.join(directory, "meta.json")))
    sizes, m = meta["sizes"], meta["m"]
    x = load(os.path.join(directory, "x.f64"), (sizes[0], m))
    y = load(os.path.join(directory, "y.f64"), (sizes[-1], m))
    start = [
        (
            load(os.path.join(directory, f"w{l}.f64"), (n, fan_in)),
            load(os.path.join(directory, f"b{l}.f64"), (n, 1)),
        )
        for l, (n, fan_in) in enumerate(meta["w_shapes"], start=1)
    ]
    order = None
    if meta.get("order"):
        order = np.fromfile(os.path.join(directory, "order.u32"), dtype="<u4").astype(np.intp)
        order = order.reshape(meta["epochs"], m)
    return meta, x, y, start, order


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


def flops_per_epoch(layer_flops, m):
    """Matrix-product FLOPs of one epoch: (training steps, evaluation of the training set).
    `layer_flops`: each layer's forward FLOPs per example (meta["layer_flops"], counted by
    ann_bench: 2 n_l n_{l-1} dense, 2 F C k^2 H' W' convolutional); backward dW[l] costs
    the same, dA[l-1] the same for l >= 2."""
    forward_flops = sum(layer_flops)
    backward_flops = forward_flops + sum(layer_flops[1:])
    return (forward_flops + backward_flops) * m, forward_flops * m


def blas_info():
    """The BLAS and OpenMP libraries loaded in this process as threadpoolctl sees them:
    which library, its kernel (OpenBLAS: the core type it chose, e.g. SkylakeX or Haswell),
    threads and version. Empty without threadpoolctl."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return []
    keys = ("user_api", "internal_api", "version", "architecture", "num_threads", "threading_layer", "filepath")
    return [{k: p[k] for k in keys if k in p} for p in threadpool_info()]


def measure_and_report(impl, backend, meta, runs, train, extra=None):
    """Warm-up epoch, then `runs` trainings; prints the JSON line (with `extra`'s keys).

    `train(epochs, warmup=False)` trains fresh weights and returns (history, epoch seconds,
    step seconds, RSS in kB after each epoch); with warmup=True, one discarded epoch on the
    first meta["warmup_examples"] examples."""
    rss_data = status_kb("VmRSS:")
    peak_data = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Reset the peak (VmHWM) so that it measures training, not loading (Linux only).
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        peak_reset = True
    except OSError:
        peak_reset = False
    train(1, warmup=True)  # discarded
    per_epoch, steps_only = [], []
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu_start = usage.ru_utime + usage.ru_stime
    for _ in range(max(1, runs)):
        h, ep, st, rss = train(meta["epochs"])
        per_epoch.append(sum(ep) / len(ep))
        steps_only.append(sum(st) / len(st))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu_per_epoch = (usage.ru_utime + usage.ru_stime - cpu_start) / (len(per_epoch) * meta["epochs"])
    train_flops, eval_flops = flops_per_epoch(meta["layer_flops"], meta["m"])
    med = statistics.median(per_epoch)
    peak_kb = status_kb("VmHWM:") if peak_reset else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "impl": impl,
                "backend": backend,
                "workload": meta["name"],
                "runs": len(per_epoch),
                "m": meta["m"],
                "warmup_examples": meta["warmup_examples"],
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
                # After the training, so that every library it used is loaded.
                "blas": blas_info(),
                **(extra or {}),
            }
        )
    )
