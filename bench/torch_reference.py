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
import os
import time

import torch
import torch.nn.functional as F
from reference_common import load_export, measure_and_report, status_kb


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


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dir")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_default_dtype(torch.float64)
    meta, x, y, start = load_export(args.dir)
    # Row-major (m, n) copies, used as (n, m) views: each example contiguous, as on the
    # Rust and NumPy sides.
    x, y = (torch.from_numpy(a.T.copy()).T for a in (x, y))
    start = [(torch.from_numpy(w), torch.from_numpy(b)) for w, b in start]
    measure_and_report(
        "torch", f"torch {torch.__version__}", meta, args.runs, lambda epochs: train(start, x, y, meta, epochs, meta["seed"])
    )


if __name__ == "__main__":
    main()
