#!/usr/bin/env bash
# `make bench`: builds ann_bench three ways (default, threading, blas), makes sure the
# project venv has NumPy, measures the machine's FMA peak (fma_peak, written to
# target/bench/fma_peak.json), and runs bench/run.py, which prints the comparison table.
# Environment: BENCH_RUNS (default 5), BENCH_PRECISIONS (default f64,f32: f32 adds ann_core's
# default build, NumPy and PyTorch in f32 on W1-W3, PyTorch f32 on W4; f64 or f32 alone runs
# only those rows), BENCH_WORKLOADS (default w1,w2,w3,w4; w3 and w4 need
# Fashion-MNIST in $ANN_FASHION_MNIST_DIR or /usr/share/datasets/fashion-mnist, else they are left
# out), BENCH_W4_RUNS (W4's rounds, default 3), BENCH_W4_IMAGES (W4 on the first N images only, for
# a quick check), BENCH_NUMPY_SINGLE=1 (also time NumPy on one BLAS thread), BENCH_TORCH=1 (install
# PyTorch and time it too). The NumPy and PyTorch processes run without OPENBLAS_CORETYPE and
# OPENBLAS_L2_SIZE (bench/run.py).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
RUNS="${BENCH_RUNS:-5}"
FMNIST="${ANN_FASHION_MNIST_DIR:-/usr/share/datasets/fashion-mnist}"
if [ -n "${BENCH_WORKLOADS:-}" ]; then
    WORKLOADS="$BENCH_WORKLOADS"
elif [ -f "$FMNIST/train-images-idx3-ubyte.gz" ] && [ -f "$FMNIST/train-labels-idx1-ubyte.gz" ]; then
    WORKLOADS=w1,w2,w3,w4
else
    WORKLOADS=w1,w2
    echo "[bench] no Fashion-MNIST in $FMNIST: skipping W3 and W4 (sudo apt-get install dataset-fashion-mnist)" >&2
fi
OUT="$ROOT/target/bench"
mkdir -p "$OUT"

# NumPy (and threadpoolctl, which reports the BLAS it runs) are bench-only dependencies,
# installed into the project venv.
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
if ! .venv/bin/python -c "import numpy, threadpoolctl" 2>/dev/null; then
    .venv/bin/python -m pip install --quiet numpy threadpoolctl
fi

build() { # name, cargo feature flags...
    local name="$1"; shift
    echo "[bench] cargo build --release -p ann_bench $*" >&2
    cargo build --quiet --release -p ann_bench "$@"
    cp target/release/ann_bench "$OUT/ann_bench-$name"
    BINS+=(--bin "$name=$OUT/ann_bench-$name")
}
BINS=()
build default
# The FMA peak's program does not depend on the build's features.
cp target/release/fma_peak "$OUT/fma_peak"
build threading --features threading
if ldconfig -p 2>/dev/null | grep -q 'libopenblas\.so\b' || [ -e /usr/lib/x86_64-linux-gnu/libopenblas.so ]; then
    build blas --features blas
else
    echo "[bench] no system OpenBLAS (apt-get install libopenblas-dev): skipping the blas build" >&2
fi
# PyTorch is optional (its PyPI wheel pulls ~5 GB of CUDA libraries): BENCH_TORCH=1 installs
# it; once importable it is always benchmarked.
if [ "${BENCH_TORCH:-0}" = 1 ] && ! .venv/bin/python -c "import torch" 2>/dev/null; then
    .venv/bin/python -m pip install --quiet torch
fi
TORCH=()
if .venv/bin/python -c "import torch" 2>/dev/null; then
    TORCH=(--torch)
fi
echo "[bench] fma_peak: the machine's FMA peak, f32 and f64" >&2
"$OUT/fma_peak" --json "$OUT/fma_peak.json"
echo
.venv/bin/python bench/run.py "${BINS[@]}" --runs "$RUNS" --workloads "$WORKLOADS" --json "$OUT/results.json" \
    --precisions "${BENCH_PRECISIONS:-f64,f32}" --fma-peak "$OUT/fma_peak.json" \
    --w4-runs "${BENCH_W4_RUNS:-3}" ${BENCH_W4_IMAGES:+--w4-images "$BENCH_W4_IMAGES"} \
    ${BENCH_NUMPY_SINGLE:+--numpy-single-thread} "${TORCH[@]}"
