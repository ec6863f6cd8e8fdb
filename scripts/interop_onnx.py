#!/usr/bin/env python3
"""Runs ann_interop's ONNX exports in onnxruntime and compares them with ann_core's outputs.

    .venv/bin/python scripts/interop_onnx.py            # builds the fixtures, then checks them
    .venv/bin/python scripts/interop_onnx.py --fixtures DIR   # checks fixtures already written

The fixtures come from `cargo run -p ann_interop --example onnx_fixtures -- DIR` (the dev
profile, whose dependencies, tract among them, `cargo test` has already built):
for each network, NAME.f32.onnx and NAME.f64.onnx, the input batch NAME.x.npy ([m, n_x], one
example per row) and ann_core's output NAME.y.npy ([m, n_L]), listed in manifest.json.

Tolerance: |a - b| <= tol * max(1, |b|), b = ann_core's value; tol = 1e-5 for the float32
model, 1e-12 for the float64 model. A float64 model whose operators onnxruntime has no
float64 kernel for is reported as not run (with the operator), not as a mismatch; a float32
model that does not load, or any difference above its tolerance, exits with status 1.
"""

import argparse
import json
import pathlib
import subprocess
import sys
import tempfile

import numpy as np
import onnxruntime as ort

ROOT = pathlib.Path(__file__).resolve().parent.parent
TOLERANCE = {"float32": 1e-5, "float64": 1e-12}


def build_fixtures(directory: pathlib.Path) -> None:
    cmd = ["cargo", "run", "-q", "-p", "ann_interop", "--example", "onnx_fixtures", "--", str(directory)]
    subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)


def session(path: pathlib.Path) -> ort.InferenceSession:
    """A session with onnxruntime's default graph optimizations, as a user would open it."""
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def largest_difference(y: np.ndarray, expected: np.ndarray) -> float:
    return float(np.max(np.abs(y - expected) / np.maximum(1.0, np.abs(expected))))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fixtures", type=pathlib.Path, help="a directory onnx_fixtures wrote (default: build one)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        directory = args.fixtures
        if directory is None:
            directory = pathlib.Path(tmp)
            build_fixtures(directory)
        manifest = json.loads((directory / "manifest.json").read_text())
        print(f"onnxruntime {ort.__version__}, {len(manifest)} networks, |a - b| <= tol * max(1, |b|)")
        print(f"{'network':34} {'float32':>10} {'float64':>10} {'f32 bytes':>10} {'f64 bytes':>10}")
        failures = []
        worst = {"float32": 0.0, "float64": 0.0}
        not_run = []
        for entry in manifest:
            x = np.load(directory / entry["x"])
            expected = np.load(directory / entry["y"])
            cells = {}
            for precision, dtype in (("float32", np.float32), ("float64", np.float64)):
                path = directory / entry[precision]["file"]
                try:
                    sess = session(path)
                except Exception as e:  # onnxruntime raises its own exception types
                    message = str(e).splitlines()[0]
                    if precision == "float64" and "NOT_IMPLEMENTED" in message:
                        cells[precision] = "not run"
                        not_run.append(f"{entry['name']} (float64): {message}")
                        continue
                    failures.append(f"{entry['name']} ({precision}) does not load: {message}")
                    cells[precision] = "error"
                    continue
                (y,) = sess.run(["y"], {"x": x.astype(dtype)})
                if y.shape != expected.shape:
                    failures.append(f"{entry['name']} ({precision}): y is {y.shape}, expected {expected.shape}")
                    cells[precision] = "shape"
                    continue
                d = largest_difference(y.astype(np.float64), expected)
                worst[precision] = max(worst[precision], d)
                cells[precision] = f"{d:.2e}"
                if not d <= TOLERANCE[precision]:
                    failures.append(f"{entry['name']} ({precision}): difference {d:.3e} > {TOLERANCE[precision]:.0e}")
            print(
                f"{entry['name']:34} {cells['float32']:>10} {cells['float64']:>10} "
                f"{entry['float32']['bytes']:>10} {entry['float64']['bytes']:>10}"
            )
        print(f"largest difference: {worst['float32']:.2e} (float32), {worst['float64']:.2e} (float64)")
        for line in not_run:
            print(f"not run: {line}")
        for line in failures:
            print(f"FAIL: {line}", file=sys.stderr)
        return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
