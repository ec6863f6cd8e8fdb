#!/usr/bin/env python3
"""The training of `ann_bench`, written in plain NumPy (f64), for a side-by-side timing.

Same data and initial weights (exported by `ann_bench <w1|w2> --export DIR`), same layer
sizes, He init (used with --init he), ReLU hidden layers, sigmoid + BCE or softmax + CE,
Adam (beta1 0.9, beta2 0.999, eps 1e-8, bias correction), inverted dropout on the hidden
layers, shuffled mini-batches with a kept partial last batch, and per epoch what
`ann_core::fit` records in its History: the loss of every step, the mean gradient norm
per layer, the weight norms, and the loss and accuracy on the whole training set (eval mode).

The random streams differ from Rust's (NumPy's PCG64 vs ChaCha8), so losses agree
statistically, not bit for bit.

Usage: numpy_reference.py DIR [--runs N] [--init exported|he]
Prints one JSON line with the same keys as ann_bench.
"""

import argparse
import time

import numpy as np
from reference_common import load_export, measure_and_report, status_kb


def he_init(sizes, rng):
    """W[l] ~ N(0, 1) * sqrt(2 / n_{l-1}), b[l] = 0."""
    return [
        (rng.standard_normal((n, n_prev)) * np.sqrt(2.0 / n_prev), np.zeros((n, 1)))
        for n_prev, n in zip(sizes[:-1], sizes[1:])
    ]


def output_activation(z, task):
    if task == "Binary":
        return 1.0 / (1.0 + np.exp(-z))
    e = np.exp(z - z.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)


def cost(z, y, task):
    """J from the logits Z[L] (stable forms, as in ann_core::Loss::cost)."""
    m = y.shape[1]
    if task == "Binary":
        return float(np.sum(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))) / m)
    zmax = z.max(axis=0, keepdims=True)
    lse = zmax + np.log(np.exp(z - zmax).sum(axis=0, keepdims=True))
    return float(-np.sum(y * (z - lse)) / m)


def forward(params, x, task, keep=1.0, rng=None):
    """Returns caches [(A_prev, Z, D)] and A[L]; dropout when rng is given."""
    caches = []
    a = x
    n = len(params)
    for l, (w, b) in enumerate(params):
        z = w @ a + b
        d = None
        if l < n - 1:
            a_next = np.maximum(z, 0)
            if rng is not None and keep < 1.0:
                d = rng.random(a_next.shape) < keep
                a_next = a_next * d / keep
        else:
            a_next = output_activation(z, task)
        caches.append((a, z, d))
        a = a_next
    return caches, a


def backward(params, caches, al, y, keep):
    m = y.shape[1]
    grads = [None] * len(params)
    dz = al - y
    for l in reversed(range(len(params))):
        a_prev, _, _ = caches[l]
        dw = dz @ a_prev.T / m
        db = dz.sum(axis=1, keepdims=True) / m
        grads[l] = (dw, db)
        if l > 0:
            da = params[l][0].T @ dz
            _, z_prev, d_prev = caches[l - 1]
            if d_prev is not None:
                da = da * d_prev / keep
            dz = da * (z_prev > 0)
    return grads


class Adam:
    def __init__(self, params, lr, beta1=0.9, beta2=0.999, eps=1e-8):
        self.lr, self.b1, self.b2, self.eps = lr, beta1, beta2, eps
        self.m = [(np.zeros_like(w), np.zeros_like(b)) for w, b in params]
        self.v = [(np.zeros_like(w), np.zeros_like(b)) for w, b in params]
        self.t = 0

    def step(self, params, grads):
        self.t += 1
        c1, c2 = 1 - self.b1**self.t, 1 - self.b2**self.t
        for l, ((w, b), (dw, db)) in enumerate(zip(params, grads)):
            for p, g, m, v in ((w, dw, self.m[l][0], self.v[l][0]), (b, db, self.m[l][1], self.v[l][1])):
                m *= self.b1
                m += (1 - self.b1) * g
                v *= self.b2
                v += (1 - self.b2) * g * g
                p -= self.lr * (m / c1) / (np.sqrt(v / c2) + self.eps)


def accuracy(al, y):
    if al.shape[0] == 1:
        return float(np.mean((al > 0.5) == (y > 0.5)))
    return float(np.mean(al.argmax(axis=0) == y.argmax(axis=0)))


def train(params, x, y, meta, epochs, rng):
    task, keep, batch = meta["task"], meta["keep"], meta["batch_size"]
    m = x.shape[1]
    adam = Adam(params, meta["lr"])
    history = {"step_loss": [], "grad_norms": [], "weight_norms": [], "train_loss": [], "train_accuracy": []}
    epoch_secs, step_secs, rss = [], [], []
    for _ in range(epochs):
        t0 = time.perf_counter()
        perm = rng.permutation(m)
        grad_sum = np.zeros(len(params))
        steps = 0
        for start in range(0, m, batch):
            idx = perm[start : start + batch]
            xb, yb = x[:, idx], y[:, idx]
            caches, al = forward(params, xb, task, keep, rng)
            history["step_loss"].append(cost(caches[-1][1], yb, task))
            grads = backward(params, caches, al, yb, keep)
            grad_sum += [np.linalg.norm(dw) for dw, _ in grads]
            adam.step(params, grads)
            steps += 1
        t1 = time.perf_counter()
        history["grad_norms"].append(grad_sum / steps)
        history["weight_norms"].append([np.linalg.norm(w) for w, _ in params])
        caches, al = forward(params, x, task)
        history["train_loss"].append(cost(caches[-1][1], y, task))
        history["train_accuracy"].append(accuracy(al, y))
        t2 = time.perf_counter()
        epoch_secs.append(t2 - t0)
        step_secs.append(t1 - t0)
        rss.append(status_kb("VmRSS:"))
    return history, epoch_secs, step_secs, rss


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dir")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--init", choices=["exported", "he"], default="exported")
    args = ap.parse_args()
    meta, x, y, start = load_export(args.dir)
    # Column-major, as on the Rust side: each example's column contiguous, so that
    # x[:, idx] copies whole columns (about 8x faster than from a row-major x for W2).
    x, y = np.asfortranarray(x), np.asfortranarray(y)
    if args.init == "he":
        start = he_init(meta["sizes"], np.random.default_rng(meta["seed"]))

    def run(epochs):
        fresh = [(w.copy(), b.copy()) for w, b in start]
        return train(fresh, x, y, meta, epochs, np.random.default_rng(meta["seed"]))

    measure_and_report("numpy", f"numpy {np.__version__}", meta, args.runs, run)


if __name__ == "__main__":
    main()
