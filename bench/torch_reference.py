#!/usr/bin/env python3
"""The training of `ann_bench` in PyTorch (CPU), written the way PyTorch is used: autograd
for the gradients and `torch.optim.Adam` for the updates; f64 by default, `--dtype float32`
for the same training in single precision (a different precision: its losses differ from
the f64 ones in the 5th digit or so, and it runs on other kernels). In f32 the optimizer is
`torch.optim.Adam(..., fused=True)` (one fused kernel for all parameters, which PyTorch
accepts on the CPU), the fastest form PyTorch offers; f64 keeps `foreach=True`.

Same data and initial weights as numpy_reference.py (exported by `ann_bench <w1|w2|w3|w4>
--export DIR`), same layers, ReLU hidden layers, sigmoid + BCE or softmax + CE computed from
the logits, Adam (beta1 0.9, beta2 0.999, eps 1e-8, bias correction), inverted dropout on the
hidden layers, shuffled mini-batches with a kept partial last batch gathered from
example-contiguous data, and per epoch what `ann_core::fit` records: the loss of every step,
the mean gradient norm per layer, the weight norms, and the loss and accuracy on the whole
training set (eval mode). Dense networks (W1-W3) shuffle and draw masks with torch's own
generator; the convolutional network (W4: `torch.nn.Conv2d`, `ReLU`, `MaxPool2d`, `Linear`,
no dropout) takes fit's batch order from the export, so in f64 it takes ann_core's steps
and its losses agree to rounding. Optional: `make bench` runs it when `import torch` works
in the venv.

Usage: torch_reference.py DIR [--runs N] [--threads T] [--dtype float64|float32]
Prints one JSON line with the same keys as ann_bench.
"""

import argparse
import os
import time

import torch
import torch.nn.functional as F
from reference_common import load_export, measure_and_report, status_kb
from torch import nn

# Images per chunk of the convolutional network's evaluation of the training set (as in
# numpy_reference.py: all 60,000 at once would hold gigabytes of feature maps).
EVAL_CHUNK = 256


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


def cost(z, y, task, reduction="mean"):
    """J (the sum of the per-example losses with reduction="sum") from the logits Z[L]."""
    if task == "Binary":
        return F.binary_cross_entropy_with_logits(z, y, reduction=reduction)
    # Cross-entropy over the classes (rows) of each example (column).
    return F.cross_entropy(z.T, y.T, reduction=reduction)


def accuracy(z, y, task):
    if task == "Binary":
        return float(((z > 0) == (y > 0.5)).double().mean())
    return float((z.argmax(dim=0) == y.argmax(dim=0)).double().mean())


def correct_count(z, y, task):
    """How many columns are predicted right."""
    if task == "Binary":
        return ((z > 0) == (y > 0.5)).sum()
    return (z.argmax(dim=0) == y.argmax(dim=0)).sum()


def adam(params, lr):
    """torch.optim.Adam over `params`: fused in f32, foreach (multi-tensor) in f64."""
    fused = params[0].dtype == torch.float32
    return torch.optim.Adam(
        params, lr=lr, betas=(0.9, 0.999), eps=1e-8, **({"fused": True} if fused else {"foreach": True})
    )


def train(start, x, y, meta, epochs, seed):
    """x, y: (n, m) views of row-major (m, n) tensors, so a batch gathers whole examples."""
    task, keep, batch = meta["task"], meta["keep"], meta["batch_size"]
    m = x.shape[1]
    params = [(w.clone().requires_grad_(), b.clone().requires_grad_()) for w, b in start]
    flat = [p for wb in params for p in wb]
    optimizer = adam(flat, meta["lr"])
    gen = torch.Generator().manual_seed(seed)
    xt, yt = x.T, y.T  # (m, n), contiguous
    history = {"step_loss": [], "grad_norms": [], "weight_norms": [], "train_loss": [], "train_accuracy": []}
    epoch_secs, step_secs, rss = [], [], []
    for _ in range(epochs):
        t0 = time.perf_counter()
        perm = torch.randperm(m, generator=gen)
        grad_sum = torch.zeros(len(params), dtype=x.dtype)
        steps = 0
        for start_i in range(0, m, batch):
            idx = perm[start_i : start_i + batch]
            xb, yb = xt[idx].T, yt[idx].T
            loss = cost(forward(params, xb, task, keep, gen), yb, task)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            with torch.no_grad():
                grad_sum += torch.stack([w.grad.norm() for w, _ in params])
            optimizer.step()
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


def conv_net(layers, start):
    """The network of meta["layers"] as a torch.nn.Sequential with the exported weights:
    Conv2d + ReLU (+ MaxPool2d) per convolutional layer, then Flatten and Linear layers
    (ReLU between them). W[l] (F, C*k*k) is the filters (F, C, k, k) flattened in the same
    order, and Flatten's (c, h, w) order is ann_core's, so the weights are used as they are."""
    modules = []
    for l, (spec, (w, b)) in enumerate(zip(layers, start)):
        if spec["kind"] == "conv":
            c, k, f = spec["input"][0], spec["kernel"], spec["filters"]
            conv = nn.Conv2d(c, f, k, stride=spec["stride"], padding=spec["padding"], dtype=w.dtype)
            with torch.no_grad():
                conv.weight.copy_(w.reshape(f, c, k, k))
                conv.bias.copy_(b.reshape(f))
            modules += [conv, nn.ReLU()]
            if spec["pool"]:
                modules.append(nn.MaxPool2d(spec["pool"]["window"], stride=spec["pool"]["stride"]))
        else:
            if layers[l - 1]["kind"] == "conv":
                modules.append(nn.Flatten())
            linear = nn.Linear(w.shape[1], w.shape[0], dtype=w.dtype)
            with torch.no_grad():
                linear.weight.copy_(w)
                linear.bias.copy_(b.reshape(-1))
            modules.append(linear)
            if l < len(layers) - 1:
                modules.append(nn.ReLU())
    return nn.Sequential(*modules)


def train_conv(start, images, y, meta, epochs, order):
    """The convolutional network (no dropout) on `images` (m, C, H, W), Y (n_L, m); the
    batches of epoch e are the consecutive runs of batch_size in order[e] (fit's order)."""
    task, batch = meta["task"], meta["batch_size"]
    m = images.shape[0]
    model = conv_net(meta["layers"], start)
    weights = [mod.weight for mod in model if isinstance(mod, (nn.Conv2d, nn.Linear))]
    optimizer = adam(list(model.parameters()), meta["lr"])
    yt = y.T  # (m, n_L), contiguous
    history = {"step_loss": [], "grad_norms": [], "weight_norms": [], "train_loss": [], "train_accuracy": []}
    epoch_secs, step_secs, rss = [], [], []
    for epoch in range(epochs):
        t0 = time.perf_counter()
        perm = order[epoch]
        grad_sum = torch.zeros(len(weights), dtype=images.dtype)
        steps = 0
        for start_i in range(0, m, batch):
            idx = perm[start_i : start_i + batch]
            loss = cost(model(images[idx]).T, yt[idx].T, task)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            with torch.no_grad():
                grad_sum += torch.stack([w.grad.norm() for w in weights])
            optimizer.step()
            history["step_loss"].append(loss.item())
            steps += 1
        t1 = time.perf_counter()
        with torch.no_grad():
            history["grad_norms"].append((grad_sum / steps).tolist())
            history["weight_norms"].append([float(w.norm()) for w in weights])
            total, correct = 0.0, 0
            for s in range(0, m, EVAL_CHUNK):
                z, yc = model(images[s : s + EVAL_CHUNK]).T, y[:, s : s + EVAL_CHUNK]
                total += float(cost(z, yc, task, reduction="sum"))
                correct += int(correct_count(z, yc, task))
            history["train_loss"].append(total / m)
            history["train_accuracy"].append(correct / m)
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
    ap.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    dtype = getattr(torch, args.dtype)
    torch.set_default_dtype(dtype)
    meta, x, y, start, order = load_export(args.dir)
    # Row-major (m, n) copies, used as (n, m) views: each example contiguous, as on the
    # Rust and NumPy sides (f32: converted once, here).
    x, y = (torch.from_numpy(a.T.copy()).to(dtype).T for a in (x, y))
    start = [(torch.from_numpy(w).to(dtype), torch.from_numpy(b).to(dtype)) for w, b in start]
    warm = meta["warmup_examples"]
    if any(spec["kind"] == "conv" for spec in meta["layers"]):
        images = x.T.reshape(-1, *meta["layers"][0]["input"])  # (m, C, H, W), a view
        order = torch.from_numpy(order)

        def run(epochs, warmup=False):
            if warmup:
                warm_order = torch.randperm(warm, generator=torch.Generator().manual_seed(meta["seed"]))
                return train_conv(start, images[:warm], y[:, :warm], meta, epochs, [warm_order])
            return train_conv(start, images, y, meta, epochs, order)
    else:

        def run(epochs, warmup=False):
            xs, ys = (x[:, :warm], y[:, :warm]) if warmup else (x, y)
            return train(start, xs, ys, meta, epochs, meta["seed"])

    extra = {
        "dtype": args.dtype,
        "adam": "fused" if args.dtype == "float32" else "foreach",
        "torch_threads": torch.get_num_threads(),
        # PyTorch's own kernels: the SIMD level it dispatches to and its BLAS (MKL is
        # linked into libtorch, so threadpoolctl does not list it).
        "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "torch_blas": next(
            (line.strip(" -") for line in torch.__config__.show().splitlines() if "Math Kernel Library" in line),
            "BLAS_INFO=" + torch.__config__.show().split("BLAS_INFO=", 1)[-1].split(",", 1)[0],
        ),
    }
    suffix = "" if args.dtype == "float64" else f" {args.dtype}"
    measure_and_report("torch", f"torch {torch.__version__}{suffix}", meta, args.runs, run, extra)


if __name__ == "__main__":
    main()
