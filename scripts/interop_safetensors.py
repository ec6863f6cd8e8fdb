#!/usr/bin/env python3
"""Check ann_interop's safetensors files against NumPy and PyTorch, both ways.

    .venv/bin/python scripts/interop_safetensors.py [--dir DIR]

1. Runs `cargo run -p ann_interop --example safetensors_fixtures -- DIR`: for each
   architecture (dense softmax, sigmoid, regression, batch norm, layer norm, convolutional
   with pooling, convolutional with a softmax over the image) the parameters in F64 and
   F32, the input x [m, n_x] (the course's X is its transpose, (n_x, m)), ann_core's
   predict_proba y_hat [m, n_L], and manifest.json.
2. NumPy alone: re-implements every module of the manifest from the loaded tensors
   (Linear, BatchNorm1d, LayerNorm, the activations, Conv2d, MaxPool2d, Flatten,
   Unflatten) and compares with y_hat (float64 weights: 1e-12; float32 weights widened:
   1e-5 of max(1, |y|)).
3. With torch (only when `import torch` works; otherwise said and skipped): builds the
   nn.Sequential from its source in the manifest, load_state_dict(strict=True) on the file as
   it is, .eval(), and compares in float64 (1e-12) and in float32 (1e-5 of max(1, |y|)).
4. Writes safetensors files from Python (NumPy: random weights in F64, F32 and F16; torch:
   the state_dict of a trained nn.Sequential in float64 and float32) with their
   predictions, and runs `... safetensors_fixtures -- --import DIR/from_python`, which loads
   each into ann_core and compares.

Exits 1 on any mismatch; prints the largest difference of every comparison.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file, save_file

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ["cargo", "run", "-q", "-p", "ann_interop", "--example", "safetensors_fixtures", "--"]
failures: list[str] = []


def check(what: str, got: np.ndarray, want: np.ndarray, tol: float, relative: bool = False) -> None:
    """Records a failure if |got − want| exceeds tol (times max(1, |want|) if relative)."""
    diff = np.abs(got.astype(np.float64) - want)
    scale = np.maximum(1.0, np.abs(want)) if relative else 1.0
    worst = float((diff / scale).max())
    ok = got.shape == want.shape and worst <= tol
    kind = "max |Δ|/max(1,|y|)" if relative else "max |Δ|"
    line = f"{'ok  ' if ok else 'FAIL'} {what:<36} {kind} = {worst:.3e} (tolerance {tol:.0e})"
    if relative:
        with np.errstate(divide="ignore", invalid="ignore"):
            line += f", max |Δ|/|y| = {float(np.nanmax(diff / np.abs(want))):.3e}"
    print(line)
    if not ok:
        failures.append(what)


# ---- NumPy forward pass, module by module (rows are examples) ----


def sigmoid(z: np.ndarray) -> np.ndarray:
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def conv2d(x: np.ndarray, w: np.ndarray, b: np.ndarray, stride: int, padding: int) -> np.ndarray:
    """Cross-correlation: out[n, f, y, x] = b[f] + Σ_c,i,j w[f, c, i, j] · x_pad[n, c, y·s + i, x·s + j]."""
    n, c, h, wd = x.shape
    f, _, k, _ = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    ho, wo = (h + 2 * padding - k) // stride + 1, (wd + 2 * padding - k) // stride + 1
    out = np.empty((n, f, ho, wo))
    for yy in range(ho):
        for xx in range(wo):
            patch = xp[:, :, yy * stride : yy * stride + k, xx * stride : xx * stride + k]
            out[:, :, yy, xx] = np.einsum("ncij,fcij->nf", patch, w) + b
    return out


def max_pool(x: np.ndarray, k: int, s: int) -> np.ndarray:
    n, c, h, w = x.shape
    ho, wo = (h - k) // s + 1, (w - k) // s + 1
    out = np.empty((n, c, ho, wo))
    for yy in range(ho):
        for xx in range(wo):
            out[:, :, yy, xx] = x[:, :, yy * s : yy * s + k, xx * s : xx * s + k].max(axis=(2, 3))
    return out


def numpy_forward(modules: list[dict], t: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    """The nn.Sequential of `modules` on x [m, n_x], in float64, from the tensors `t`."""
    a = x.astype(np.float64)
    p = {k: v.astype(np.float64) for k, v in t.items()}
    for mod in modules:
        i, kind = mod["index"], mod["module"]
        if kind == "Linear":
            a = a @ p[f"{i}.weight"].T + p[f"{i}.bias"]
        elif kind == "BatchNorm1d":
            inv = 1.0 / np.sqrt(p[f"{i}.running_var"] + mod["eps"])
            a = (a - p[f"{i}.running_mean"]) * inv * p[f"{i}.weight"] + p[f"{i}.bias"]
        elif kind == "LayerNorm":
            mu = a.mean(axis=1, keepdims=True)
            var = ((a - mu) ** 2).mean(axis=1, keepdims=True)
            a = (a - mu) / np.sqrt(var + mod["eps"]) * p[f"{i}.weight"] + p[f"{i}.bias"]
        elif kind == "ReLU":
            a = np.maximum(a, 0.0)
        elif kind == "LeakyReLU":
            a = np.where(a > 0, a, mod["negative_slope"] * a)
        elif kind == "Tanh":
            a = np.tanh(a)
        elif kind == "Sigmoid":
            a = sigmoid(a)
        elif kind == "GELU":
            a = 0.5 * a * (1.0 + np.tanh(np.sqrt(2.0 / np.pi) * (a + 0.044715 * a**3)))
        elif kind == "Softmax":
            e = np.exp(a - a.max(axis=1, keepdims=True))
            a = e / e.sum(axis=1, keepdims=True)
        elif kind == "Unflatten":
            a = a.reshape(a.shape[0], *mod["shape"])
        elif kind == "Flatten":
            a = a.reshape(a.shape[0], -1)
        elif kind == "Conv2d":
            a = conv2d(a, p[f"{i}.weight"], p[f"{i}.bias"], mod["stride"], mod["padding"])
        elif kind == "MaxPool2d":
            a = max_pool(a, mod["kernel_size"], mod["stride"])
        else:
            raise ValueError(f"module {i}: {kind} has no NumPy forward here")
    return a


def torch_or_none():
    try:
        import torch  # noqa: PLC0415 — torch is optional

        return torch
    except ImportError:
        return None


def build(torch, source: str):
    from torch import nn  # noqa: PLC0415

    return eval(source, {"nn": nn})  # the manifest's own nn.Sequential source


def run_example(*args: str) -> None:
    result = subprocess.run([*EXAMPLE, *args], cwd=ROOT)
    if result.returncode != 0:
        failures.append(f"safetensors_fixtures {' '.join(args)} (exit {result.returncode})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dir", type=Path, help="where the files go (default: a temporary directory)")
    args = parser.parse_args()
    tmp = None
    if args.dir is None:
        tmp = tempfile.TemporaryDirectory(prefix="ann_safetensors_")
        args.dir = Path(tmp.name)
    fixtures = args.dir.resolve()
    run_example(str(fixtures))
    if failures:
        print("writing the fixtures failed")
        return 1
    manifest = json.loads((fixtures / "manifest.json").read_text())["architectures"]
    torch = torch_or_none()

    print("\n# NumPy forward pass from the loaded tensors against ann_core's predict_proba")
    for arch in manifest:
        data = load_file(fixtures / arch["data"])
        x, y_hat = data["x"], data["y_hat"]
        for key in ("weights_f64", "weights_f32"):
            t = load_file(fixtures / arch[key])
            names = {s["name"]: s["shape"] for s in arch["tensors"]}
            if {k: list(v.shape) for k, v in t.items()} != names:
                failures.append(f"{arch[key]}: tensors {sorted(t)} are not the manifest's {sorted(names)}")
            if key == "weights_f64":
                check(f"numpy f64 {arch['name']}", numpy_forward(arch["modules"], t, x), y_hat, 1e-12)
            else:
                # float32 weights widened: the prediction of the rounded network, against ann_core's.
                check(f"numpy f32 weights {arch['name']}", numpy_forward(arch["modules"], t, x), y_hat, 1e-5, True)

    if torch is None:
        print("\n# torch is not installed: the PyTorch checks are skipped")
    else:
        from safetensors.torch import load_file as torch_load  # noqa: PLC0415

        print(f"\n# PyTorch {torch.__version__}: nn.Sequential, load_state_dict(strict=True), .eval()")
        torch.manual_seed(0)
        for arch in manifest:
            data = load_file(fixtures / arch["data"])
            x, y_hat = data["x"], data["y_hat"]
            model = build(torch, arch["sequential"]).double()
            state = torch_load(fixtures / arch["weights_f64"])
            ours = {k: (tuple(v.shape), v.dtype) for k, v in state.items()}
            theirs = {k: (tuple(v.shape), v.dtype) for k, v in model.state_dict().items()}
            if ours != theirs:
                failures.append(f"{arch['name']}: file {ours} is not the state_dict {theirs}")
            model.load_state_dict(state, strict=True)
            model.eval()
            with torch.no_grad():
                y = model(torch.from_numpy(x)).numpy()
            check(f"torch float64 {arch['name']}", y, y_hat, 1e-12)
            model32 = build(torch, arch["sequential"])
            model32.load_state_dict(torch_load(fixtures / arch["weights_f32"]), strict=True)
            model32.eval()
            with torch.no_grad():
                y32 = model32(torch.from_numpy(x).float()).numpy()
            check(f"torch float32 {arch['name']}", y32, y_hat, 1e-5, True)
        # load_state_dict fills a missing num_batches_tracked itself: ann_core's files may
        # omit it, and strict loading still accepts them.
        arch = next(a for a in manifest if a["name"] == "batchnorm")
        state = {k: v for k, v in torch_load(fixtures / arch["weights_f64"]).items() if "num_batches" not in k}
        try:
            build(torch, arch["sequential"]).double().load_state_dict(state, strict=True)
            print("ok   strict load_state_dict without num_batches_tracked")
        except RuntimeError as e:
            print(f"note strict load_state_dict without num_batches_tracked fails: {e}")

    print("\n# Python writes, ann_core reads")
    out = fixtures / "from_python"
    out.mkdir(exist_ok=True)
    entries = []
    rng = np.random.default_rng(3)
    by_name = {a["name"]: a for a in manifest}
    for name in ("batchnorm", "conv"):
        arch = by_name[name]
        n_x = arch["tensors"][0]["shape"][1] if name != "conv" else 128
        x = rng.uniform(-2, 2, size=(9, n_x))
        t = {}
        for spec in arch["tensors"]:
            shape = tuple(spec["shape"])
            if spec["name"].endswith("num_batches_tracked"):
                t[spec["name"]] = np.array(17, dtype=np.int64)  # any count: ann_core ignores it
            elif spec["name"].endswith("running_var"):
                t[spec["name"]] = rng.uniform(0.2, 3.0, size=shape)
            else:
                t[spec["name"]] = rng.normal(0.0, 0.5, size=shape)
        for dtype, label in ((np.float64, "f64"), (np.float32, "f32"), (np.float16, "f16")):
            td = {k: (v if v.dtype == np.int64 else v.astype(dtype)) for k, v in t.items()}
            stem = f"numpy_{name}_{label}"
            save_file(td, out / f"{stem}.safetensors")
            # The prediction of exactly these (rounded) values, in float64.
            y = numpy_forward(arch["modules"], td, x)
            save_file({"x": x, "y_hat": y}, out / f"{stem}.data.safetensors")
            entries.append(
                {"name": stem, "architecture": name, "weights": f"{stem}.safetensors",
                 "data": f"{stem}.data.safetensors", "tolerance": 1e-12,
                 "what": f"NumPy random weights, {label}, NumPy's forward pass"}
            )
    if torch is not None:
        from safetensors.torch import save_file as torch_save  # noqa: PLC0415

        for name in ("batchnorm", "layernorm", "conv"):
            arch = by_name[name]
            torch.manual_seed(1)
            model = build(torch, arch["sequential"]).double()
            n_x = 128 if name == "conv" else arch["tensors"][0]["shape"][1]
            # A few training steps: weights, and batch norm's running statistics and count, move.
            opt = torch.optim.SGD(model.parameters(), lr=0.1)
            model.train()
            for _ in range(5):
                xb = torch.randn(16, n_x, dtype=torch.float64)
                loss = model(xb).square().mean()
                opt.zero_grad()
                loss.backward()
                opt.step()
            model.eval()
            x = torch.randn(9, n_x, dtype=torch.float64)
            for label in ("f64", "f32"):
                m = model.double() if label == "f64" else model.float()
                stem = f"torch_{name}_{label}"
                torch_save(m.state_dict(), out / f"{stem}.safetensors", metadata={"format": "pt"})
                with torch.no_grad():
                    # The float32 weights' prediction computed in float64, as ann_core computes.
                    y = m.double()(x).numpy()
                save_file({"x": x.numpy(), "y_hat": y}, out / f"{stem}.data.safetensors")
                entries.append(
                    {"name": stem, "architecture": name, "weights": f"{stem}.safetensors",
                     "data": f"{stem}.data.safetensors", "tolerance": 1e-12,
                     "what": f"torch state_dict after 5 SGD steps, {label}"}
                )
    (out / "manifest.json").write_text(json.dumps(entries, indent=1))
    run_example("--import", str(out))

    if tmp is not None:
        tmp.cleanup()
    if failures:
        print(f"\n{len(failures)} mismatch(es): " + "; ".join(failures))
        return 1
    print("\nall safetensors checks passed" + ("" if torch is not None else " (PyTorch skipped)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
