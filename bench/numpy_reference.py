#!/usr/bin/env python3
"""The training of `ann_bench`, written in plain NumPy (f64, or f32 with `--dtype float32`),
for a side-by-side timing.

Same data and initial weights (exported by `ann_bench <w1|w2|w3|w4> --export DIR`), same
layers, ReLU hidden layers, sigmoid + BCE or softmax + CE, Adam (beta1 0.9, beta2 0.999,
eps 1e-8, bias correction), inverted dropout on the hidden layers, shuffled mini-batches
with a kept partial last batch, and per epoch what `ann_core::fit` records in its History:
the loss of every step, the mean gradient norm per layer, the weight norms, and the loss
and accuracy on the whole training set (eval mode).

Dense networks (W1-W3) shuffle and draw dropout masks from NumPy's PCG64, not Rust's
ChaCha8, so their losses agree with ann_core's statistically, not bit for bit. The
convolutional network (W4, no dropout) takes fit's own batch order from the export, so it
takes the same steps and its losses agree to rounding.

`--dtype float32` runs the whole computation in single precision: X, Y, the parameters,
Adam's m and v, every activation, product and gradient, and the scalars they meet (lr, the
betas, eps, keep_prob, as NumPy float32 scalars: a Python float is a "weak" scalar in
NumPy 2 and keeps an array's dtype, a float64 would not). The dropout masks are drawn as
float32 uniforms and scaled by 1/keep_prob as in f64. Before timing, one step's every
intermediate array is checked to be of the chosen dtype (`check_dtypes`).

Convolutional layers (W4): images as (b, C, H, W) batches; im2col as a strided view
(sliding_window_view) copied into one matrix, so each layer's forward, dW and dA are one
matrix product each; col2im as k*k vectorized slice additions; max pooling after the
activation, a tie going to the first pixel of the window in row-major order (np.argmax's
first maximum, as in ann_core); the training-set evaluation in chunks of EVAL_CHUNK images.

Usage: numpy_reference.py DIR [--runs N] [--init exported|he] [--dtype float64|float32]
Prints one JSON line with the same keys as ann_bench.
"""

import argparse
import time

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from reference_common import load_export, measure_and_report, status_kb

# Images per chunk of the convolutional network's evaluation of the training set (its
# patch matrices for all 60,000 images at once would take 13 GB; ann_core evaluates
# 256 columns at a time too).
EVAL_CHUNK = 256


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
    return loss_sum(z, y, task) / y.shape[1]


def loss_sum(z, y, task):
    """The sum over the columns of the per-example losses (J times m)."""
    if task == "Binary":
        return float(np.sum(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))))
    zmax = z.max(axis=0, keepdims=True)
    lse = zmax + np.log(np.exp(z - zmax).sum(axis=0, keepdims=True))
    return float(-np.sum(y * (z - lse)))


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
                d = rng.random(a_next.shape, dtype=a_next.dtype) < keep
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
        # Scalars of the parameters' dtype, so that f32 stays f32 (t is a Python int:
        # b1**t is then a scalar of that dtype too).
        dtype = params[0][0].dtype.type
        self.lr, self.b1, self.b2, self.eps = dtype(lr), dtype(beta1), dtype(beta2), dtype(eps)
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


class DenseNet:
    """W1-W3: the dense network of meta["sizes"], with dropout, on X (n_x, m) column-major
    (each example's column contiguous, so that x[:, idx] copies whole columns)."""

    def __init__(self, meta, x, y):
        self.task, self.keep = meta["task"], x.dtype.type(meta["keep"])
        self.x, self.y = x, y

    def step(self, params, idx, rng):
        """J{t} and the gradients of the batch `idx` (dropout masks from `rng`)."""
        loss, grads, _ = self.traced_step(params, idx, rng)
        return loss, grads

    def traced_step(self, params, idx, rng):
        """step(), and the arrays it computed on the way (for check_dtypes)."""
        xb, yb = self.x[:, idx], self.y[:, idx]
        caches, al = forward(params, xb, self.task, self.keep, rng)
        loss = cost(caches[-1][1], yb, self.task)
        return loss, backward(params, caches, al, yb, self.keep), [xb, yb, caches, al]

    def evaluate(self, params):
        """J and accuracy on the whole data set (eval mode: no dropout)."""
        caches, al = forward(params, self.x, self.task)
        return cost(caches[-1][1], self.y, self.task), accuracy(al, self.y)


def conv_output(spec):
    """H', W' of a convolutional layer's Z: (H + 2p - k)/s + 1."""
    _, h, w = spec["input"]
    k, s, p = spec["kernel"], spec["stride"], spec["padding"]
    return (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1


def im2col(a, spec):
    """The patch matrix P (C*k*k, b*H'*W') of a batch of images a (b, C, H, W): row
    (c*k + i)*k + j, the order of W[l]'s columns, holds pixel (i, j) of channel c of every
    patch; column (e*H' + y)*W' + x the patch of example e at output position (y, x)."""
    k, s, p = spec["kernel"], spec["stride"], spec["padding"]
    if p:
        a = np.pad(a, ((0, 0), (0, 0), (p, p), (p, p)))
    # A strided view (b, C, H', W', k, k) of every patch, no copy yet.
    win = sliding_window_view(a, (k, k), axis=(2, 3))[:, :, ::s, ::s]
    b, c, h_out, w_out = win.shape[:4]
    # The one copy: axes (C, k, k, b, H', W'), whose last axis is contiguous in a.
    return win.transpose(1, 4, 5, 0, 2, 3).reshape(c * k * k, b * h_out * w_out)


def col2im(dp, shape, spec):
    """The adjoint of im2col: dA (b, C, H, W) from dP (C*k*k, b*H'*W'), every entry added
    to the pixel it was copied from; one vectorized slice addition per (i, j) of the
    k x k filter, then the padding cut off."""
    k, s, p = spec["kernel"], spec["stride"], spec["padding"]
    b, c, h, w = shape
    h_out, w_out = conv_output(spec)
    dp = dp.reshape(c, k, k, b, h_out, w_out)
    # Channel-major (C, b, H + 2p, W + 2p), the layout of dp's slices.
    da = np.zeros((c, b, h + 2 * p, w + 2 * p), dtype=dp.dtype)
    for i in range(k):
        for j in range(k):
            da[:, :, i : i + s * h_out : s, j : j + s * w_out : s] += dp[:, i, j]
    return da[:, :, p : p + h, p : p + w].transpose(1, 0, 2, 3)


def max_pool(g, pool):
    """Max pooling of g (b, C, H', W') over window x window blocks `stride` apart: the
    pooled images and, per output pixel, the winner's place t = i*window + j in its window.
    The windows' pixels are compared in row-major order and only a strictly greater value
    takes over, so a tie goes to the first pixel (ann_core's rule)."""
    w, s = pool["window"], pool["stride"]
    h_out, w_out = (g.shape[2] - w) // s + 1, (g.shape[3] - w) // s + 1
    best = g[:, :, 0 : s * h_out : s, 0 : s * w_out : s]
    winner = np.zeros(best.shape, dtype=np.int16)
    for t in range(1, w * w):
        i, j = divmod(t, w)
        candidate = g[:, :, i : i + s * h_out : s, j : j + s * w_out : s]
        greater = candidate > best
        best = np.where(greater, candidate, best)
        winner[greater] = t
    return best, winner


def max_pool_backward(da, winner, shape, pool):
    """dG (shape of g) from dA of the pooled images: each entry goes to its window's winner."""
    w, s = pool["window"], pool["stride"]
    h_out, w_out = da.shape[2], da.shape[3]
    dg = np.zeros(shape, dtype=da.dtype)
    for t in range(w * w):
        i, j = divmod(t, w)
        dg[:, :, i : i + s * h_out : s, j : j + s * w_out : s] += np.where(winner == t, da, 0.0)
    return dg


class ConvNet:
    """W4: the layers of meta["layers"] (convolutional, then dense), ReLU hidden layers, no
    dropout. A batch of images is (b, C, H, W); dense layers work on columns (n, b), as in
    the course, and take an image as its C*H*W pixels in (c, h, w) order, ann_core's rows.
    Z[l] = W[l] P + b[l] is one product per convolutional layer (P = im2col(A[l-1]))."""

    def __init__(self, meta, x, y):
        self.layers, self.task = meta["layers"], meta["task"]
        # (m, C, H, W): a view of the column-major X, each example contiguous.
        self.images = x.T.reshape(-1, *meta["layers"][0]["input"])
        self.y = y

    def forward(self, params, a):
        """The logits Z[L] (n_L, b) of the images a (b, C, H, W), and each layer's cache."""
        caches = []
        last = len(self.layers) - 1
        for l, (spec, (w, b)) in enumerate(zip(self.layers, params)):
            if spec["kind"] == "conv":
                p = im2col(a, spec)
                h_out, w_out = conv_output(spec)
                # Z = W P + b: (F, b*H'*W') seen as (b, F, H', W')
                z = (w @ p + b).reshape(w.shape[0], a.shape[0], h_out, w_out).transpose(1, 0, 2, 3)
                g = np.maximum(z, 0)
                a_next, winner = max_pool(g, spec["pool"]) if spec["pool"] else (g, None)
                caches.append((p, a.shape, z, winner))
            else:
                a_col = a.reshape(a.shape[0], -1).T if a.ndim == 4 else a  # (n_{l-1}, b)
                z = w @ a_col + b
                a_next = z if l == last else np.maximum(z, 0)
                caches.append((a_col, a.shape, z, None))
            a = a_next
        return a, caches

    def backward(self, params, caches, dz):
        """The gradients from dZ[L] = A[L] - Y (times m: the 1/m comes with dW and db)."""
        m = dz.shape[1]
        grads = [None] * len(params)
        for l in reversed(range(len(params))):
            spec, (w, _) = self.layers[l], params[l]
            cols, shape_in, _, _ = caches[l]
            if spec["kind"] == "conv":
                # dZ as (F, b*H'*W'), the columns of P
                dz = dz.transpose(1, 0, 2, 3).reshape(w.shape[0], -1)
            # dW = (1/m) dZ P^T (dense: dZ A[l-1]^T), db = (1/m) sum of dZ's columns
            grads[l] = ((dz @ cols.T) * (1.0 / m), dz.sum(axis=1, keepdims=True) / m)
            if l == 0:
                break
            if spec["kind"] == "conv":
                da = col2im(w.T @ dz, shape_in, spec)  # dA[l-1] = col2im(W^T dZ)
            else:
                da = w.T @ dz  # dA[l-1] = W^T dZ
                if len(shape_in) == 4:
                    da = da.T.reshape(shape_in)  # back to images
            # through layer l-1's pooling (to the arg-max) and ReLU
            _, _, z_prev, winner = caches[l - 1]
            prev = self.layers[l - 1]
            if winner is not None:
                da = max_pool_backward(da, winner, z_prev.shape, prev["pool"])
            dz = da * (z_prev > 0)
        return grads

    def step(self, params, idx, rng):
        """J{t} and the gradients of the batch `idx` (no dropout: `rng` is not used)."""
        loss, grads, _ = self.traced_step(params, idx, rng)
        return loss, grads

    def traced_step(self, params, idx, rng):
        """step(), and the arrays it computed on the way (for check_dtypes)."""
        xb, yb = self.images[idx], self.y[:, idx]
        z, caches = self.forward(params, xb)
        loss = cost(z, yb, self.task)
        return loss, self.backward(params, caches, output_activation(z, self.task) - yb), [xb, yb, z, caches]

    def evaluate(self, params):
        """J and accuracy on the whole data set, EVAL_CHUNK images at a time."""
        m = self.y.shape[1]
        total, correct = 0.0, 0
        for s in range(0, m, EVAL_CHUNK):
            z, _ = self.forward(params, self.images[s : s + EVAL_CHUNK])
            y = self.y[:, s : s + EVAL_CHUNK]
            total += loss_sum(z, y, self.task)
            if z.shape[0] == 1:
                correct += int(np.sum((z > 0) == (y > 0.5)))
            else:
                correct += int(np.sum(z.argmax(axis=0) == y.argmax(axis=0)))
        return total / m, correct / m


def float_arrays(obj):
    """Every floating-point array in a nest of lists and tuples."""
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind == "f":
            yield obj
    elif isinstance(obj, (list, tuple)):
        for item in obj:
            yield from float_arrays(item)


def check_dtypes(net, start, meta, dtype):
    """One training step from `start` (copied) and one evaluation, asserting that every
    floating-point array they make (the batch, each layer's cache, the gradients, the updated
    parameters, Adam's m and v, the evaluation's logits) and the scalars Adam uses are of
    `dtype`: a float64 anywhere would show in what it touches (NumPy's promotion), except in
    an in-place operation, which casts back; those are Adam's, whose scalars are checked."""
    params = [(w.copy(), b.copy()) for w, b in start]
    idx = np.arange(min(meta["batch_size"], net.y.shape[1]))
    _, grads, traced = net.traced_step(params, idx, np.random.default_rng(0))
    adam = Adam(params, meta["lr"])
    adam.step(params, grads)
    arrays = list(float_arrays([traced, grads, params, adam.m, adam.v]))
    scalars = [adam.lr, adam.b1, adam.b2, adam.eps, adam.b1**adam.t, 1 - adam.b2**adam.t]
    if isinstance(net, DenseNet):
        scalars.append(net.keep)
        _, al = forward(params, net.x[:, :EVAL_CHUNK], net.task)
        arrays.append(al)
    else:
        arrays.append(net.forward(params, net.images[:EVAL_CHUNK])[0])
    wrong = [a.dtype for a in arrays if a.dtype != dtype] + [type(v) for v in scalars if type(v) is not dtype.type]
    assert not wrong, f"expected only {dtype}, found {wrong}"


def train(params, net, meta, epochs, rng, order=None):
    """`epochs` epochs of `net` from `params` (updated in place). Each epoch's batches: the
    consecutive runs of batch_size in order[epoch] (fit's own order) when given, else in a
    permutation drawn from `rng`."""
    batch = meta["batch_size"]
    m = net.y.shape[1]
    adam = Adam(params, meta["lr"])
    history = {"step_loss": [], "grad_norms": [], "weight_norms": [], "train_loss": [], "train_accuracy": []}
    epoch_secs, step_secs, rss = [], [], []
    for epoch in range(epochs):
        t0 = time.perf_counter()
        perm = order[epoch] if order is not None else rng.permutation(m)
        grad_sum = np.zeros(len(params), dtype=params[0][0].dtype)
        steps = 0
        for start in range(0, m, batch):
            loss, grads = net.step(params, perm[start : start + batch], rng)
            history["step_loss"].append(loss)
            grad_sum += [np.linalg.norm(dw) for dw, _ in grads]
            adam.step(params, grads)
            steps += 1
        t1 = time.perf_counter()
        history["grad_norms"].append(grad_sum / steps)
        history["weight_norms"].append([np.linalg.norm(w) for w, _ in params])
        loss, acc = net.evaluate(params)
        history["train_loss"].append(loss)
        history["train_accuracy"].append(acc)
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
    ap.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    args = ap.parse_args()
    dtype = np.dtype(args.dtype)
    meta, x, y, start, order = load_export(args.dir)
    # Column-major, as on the Rust side: each example's column contiguous, so that
    # x[:, idx] copies whole columns (about 8x faster than from a row-major x for W2);
    # f32: rounded in the same copy.
    x, y = np.asfortranarray(x, dtype=dtype), np.asfortranarray(y, dtype=dtype)
    if args.init == "he":
        if any(spec["kind"] != "dense" for spec in meta["layers"]):
            ap.error("--init he draws dense layers only")
        start = he_init(meta["sizes"], np.random.default_rng(meta["seed"]))
    start = [(w.astype(dtype), b.astype(dtype)) for w, b in start]
    kind = ConvNet if any(spec["kind"] == "conv" for spec in meta["layers"]) else DenseNet
    full = kind(meta, x, y)
    warm = meta["warmup_examples"]
    warm_net = full if warm >= meta["m"] else kind(meta, x[:, :warm], y[:, :warm])
    check_dtypes(full, start, meta, dtype)

    def run(epochs, warmup=False):
        fresh = [(w.copy(), b.copy()) for w, b in start]
        rng = np.random.default_rng(meta["seed"])
        if warmup:
            return train(fresh, warm_net, meta, epochs, rng, order if warm_net is full else None)
        return train(fresh, full, meta, epochs, rng, order)

    suffix = "" if args.dtype == "float64" else f" {args.dtype}"
    measure_and_report("numpy", f"numpy {np.__version__}{suffix}", meta, args.runs, run, {"dtype": args.dtype})


if __name__ == "__main__":
    main()
