#!/usr/bin/env python3
"""The training of `ann_bench` in PyTorch (f64, CPU), written the way PyTorch is used:
autograd for the gradients and `torch.optim.Adam` for the updates.

Same data and initial weights as numpy_reference.py (exported by `ann_bench <w1|w2> --export
DIR`), same layer sizes, ReLU hidden layers, sigmoid + BCE or softmax + CE computed from the
logits, Adam (beta1 0.9, beta2 0.999, eps 1e-8, bias correction), inverted dropout on the
hidden layers, shuffled mini-batches with a kept partial last batch gathered from a
column-major X, and per epoch what `ann_core::fit` records: the loss of every step, the mean
gradient norm per layer, the weight norms, and the loss and accuracy on the whole training
set (eval mode). Optional: `make bench` runs it when `import torch` works in the venv.

Usage: torch_reference.py DIR [--runs N] [--threads T]
Prints one JSON line with the same keys as ann_bench.
"""

import argparse
import json
import os
import resource
import time

import numpy as np
import torch
import torch.nn.functional as F


def load(path, shape):
    return np.fromfile(path, dtype="<f8").reshape(shape)


def forward(params, x, task, keep, gen):
    """Logits Z[L]; inverted dropout on the hidden layers when `gen` is given."""
    a = x
    n = len(params)
    for l, (w, b) in enumerate(params):
        z = torch.addmm(b, w, a)
        if l == n - 1:
            return z
        a = torch.relu(z)
        if gen is not None and keep < 1.0:
            d = torch.rand(a.shape, generator=gen, dtype=a.dtype) < keep
            a = a * d / keep
    return a


def cost(z, y, task):
    if task == "Binary":
        return F.binary_cross_entropy_with_logits(z, y)
    # Cross-entropy over the classes (rows) of each example (column).
    return F.cross_entropy(z.T, y.T)


def accuracy(z, y, task):
    if task == "Binary":
        return float(((z > 0) == (y > 0.5)).double().mean())
    return float((z.argmax(dim=0) == y.argmax(dim=0)).double().mean())


def train(start, x, y, meta, epochs, seed):
    """x, y: (n, m) views of row-major (m, n) tensors, so a batch gathers whole examples."""
    task, keep, batch = meta["task"], meta["keep"], meta["batch_size"]
    m = x.shape[1]
    params = [(w.clone().requires_grad_(), b.clone().requires_grad_()) for w, b in start]
    flat = [p for wb in params for p in wb]
    adam = torch.optim.Adam(flat, lr=meta["lr"], betas=(0.9, 0.999), eps=1e-8, foreach=True)
    gen = torch.Generator().manual_seed(seed)
    xt, yt = x.T, y.T  # (m, n), contiguous
    history = {"step_loss": [], "grad_norms": [], "weight_norms": [], "train_loss": [], "train_accuracy": []}
    epoch_secs, step_secs, rss = [], [], []
    for _ in range(epochs):
        t0 = time.perf_counter()
        perm = torch.randperm(m, generator=gen)
        grad_sum = torch.zeros(len(params), dtype=torch.float64)
        steps = 0
        for start_i in range(0, m, batch):
            idx = perm[start_i : start_i + batch]
            xb, yb = xt[idx].T, yt[idx].T
            loss = cost(forward(params, xb, task, keep, gen), yb, task)
            adam.zero_grad(set_to_none=True)
            loss.backward()
            with torch.no_grad():
                grad_sum += torch.stack([w.grad.norm() for w, _ in params])
            adam.step()
            history["step_loss"].append(loss.item())
            steps += 1
        t1 = time.perf_counter()
        with torch.no_grad():
            history["grad_norms"].append((grad_sum / steps).tolist())
            history["weight_norms"].append([float(w.norm()) for w, _ in params])
            z = forward(params, x, task, 1.0, None)
            history["train_loss"].append(float(cost(z, y, task)))
            history["train_accuracy"].append(accuracy(z, y, task))
        t2 = time.perf_counter()
        epoch_secs.append(t2 - t0)
        step_secs.append(t1 - t0)
        rss.append(status_kb("VmRSS:"))
    return history, epoch_secs, step_secs, rss


def status_kb(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1])
    return 0


def flops_per_epoch(sizes, m):
    per_layer = [2.0 * a * b for a, b in zip(sizes[:-1], sizes[1:])]
    forward_flops = sum(per_layer)
    backward_flops = forward_flops + sum(per_layer[1:])
    return (forward_flops + backward_flops) * m, forward_flops * m


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dir")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_default_dtype(torch.float64)
    meta = json.load(open(os.path.join(args.dir, "meta.json")))
    sizes, m = meta["sizes"], meta["m"]
    # Row-major (m, n) copies, used as (n, m) views: each example contiguous, as on the
    # Rust and NumPy sides.
    x = torch.from_numpy(load(os.path.join(args.dir, "x.f64"), (sizes[0], m)).T.copy()).T
    y = torch.from_numpy(load(os.path.join(args.dir, "y.f64"), (sizes[-1], m)).T.copy()).T
    start = [
        (
            torch.from_numpy(load(os.path.join(args.dir, f"w{l}.f64"), (n, n_prev))),
            torch.from_numpy(load(os.path.join(args.dir, f"b{l}.f64"), (n, 1))),
        )
        for l, (n_prev, n) in enumerate(zip(sizes[:-1], sizes[1:]), start=1)
    ]
    rss_data = status_kb("VmRSS:")
    peak_data = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        peak_reset = True
    except OSError:
        peak_reset = False
    train(start, x, y, meta, 1, meta["seed"])  # warm-up epoch, discarded
    per_epoch, steps_only = [], []
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu_start = usage.ru_utime + usage.ru_stime
    for _ in range(max(1, args.runs)):
        h, ep, st, rss = train(start, x, y, meta, meta["epochs"], meta["seed"])
        per_epoch.append(sum(ep) / len(ep))
        steps_only.append(sum(st) / len(st))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu_per_epoch = (usage.ru_utime + usage.ru_stime - cpu_start) / (max(1, args.runs) * meta["epochs"])
    train_flops, eval_flops = flops_per_epoch(sizes, m)
    med = float(np.median(per_epoch))
    print(
        json.dumps(
            {
                "impl": "torch",
                "backend": f"torch {torch.__version__}",
                "workload": meta["name"],
                "runs": len(per_epoch),
                "epoch_s_min": min(per_epoch),
                "epoch_s_median": med,
                "steps_s_min": min(steps_only),
                "steps_s_median": float(np.median(steps_only)),
                "epoch_s_all": per_epoch,
                "cpu_s_per_epoch": cpu_per_epoch,
                "final_loss": h["train_loss"][-1],
                "final_accuracy": h["train_accuracy"][-1],
                "gflops_per_s": (train_flops + eval_flops) / med / 1e9,
                "gflop_per_epoch": (train_flops + eval_flops) / 1e9,
                "peak_rss_mb": (status_kb("VmHWM:") if peak_reset else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
                / 1024.0,
                "peak_rss_is_training_only": peak_reset,
                "peak_rss_data_generation_mb": peak_data / 1024.0,
                "rss_after_data_mb": rss_data / 1024.0,
                "rss_epoch_first_mb": rss[0] / 1024.0,
                "rss_epoch_last_mb": rss[-1] / 1024.0,
            }
        )
    )


if __name__ == "__main__":
    main()
