#!/usr/bin/env bash
# Install what the Rust notebooks need, and only what is missing (`make setup`):
#   1. checks the prerequisites: cargo, and python3 >= 3.9 with its venv module;
#   2. evcxr_jupyter (the Rust Jupyter kernel) in .tools/cargo/bin, with
#      `cargo install --locked` (about 4.5 minutes on 2 cores, once);
#   3. JupyterLab, nbclient, nbconvert, ipykernel in the repo-local venv .venv/
#      (scripts/requirements.txt; re-run when that file changes);
#   4. the `rust` kernelspec inside the venv (.venv/share/jupyter/kernels/rust): it starts
#      evcxr_jupyter through scripts/evcxr_kernel.py (a persistent work directory per live
#      kernel, under .cache/evcxr-slots/), with EVCXR_CONFIG_DIR=tools/evcxr/lab and
#      XDG_CACHE_HOME=.cache (evcxr's crate cache);
#   5. Fashion-MNIST (optional: notebook 09 and the bench's W3): the Debian package
#      dataset-fashion-mnist, installed with apt-get when we are root or have passwordless
#      sudo; otherwise one line says how to get it. Setup never fails because of it.
# Everything else it writes is inside the repository and ignored by git (.tools/ .venv/ .cache/).
#
# Environment knobs:
#   PYTHON=python3.12     interpreter that creates the venv (default: python3)
#   EVCXR_JUPYTER=/path   use this evcxr_jupyter binary instead of installing one
#   EVCXR_VERSION=0.22.0  version that `cargo install` installs
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

PYTHON="${PYTHON:-python3}"
EVCXR_VERSION="${EVCXR_VERSION:-0.22.0}"
TOOLS="$ROOT/.tools/cargo"
VENV="$ROOT/.venv"
CACHE="$ROOT/.cache"
LAB_CONFIG="$ROOT/tools/evcxr/lab"
REQUIREMENTS="$ROOT/scripts/requirements.txt"
KERNEL_DIR="$VENV/share/jupyter/kernels/rust"

say() { printf '[setup] %s\n' "$*"; }
die() { printf '[setup] ERROR: %s\n' "$*" >&2; exit 1; }

# --- 1. prerequisites -------------------------------------------------------------------
missing=()
if ! command -v cargo >/dev/null 2>&1; then
    missing+=("cargo: install Rust with rustup (the workspace needs Rust 1.95 or newer)")
fi
if ! command -v "$PYTHON" >/dev/null 2>&1; then
    missing+=("$PYTHON: install Python 3.9 or newer (or set PYTHON=/path/to/python3)")
else
    # "3.11.7 1": the version and whether it is >= 3.9.
    pyinfo="$("$PYTHON" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3], int(sys.version_info >= (3, 9)))' 2>/dev/null || echo "unknown 0")"
    if [ "${pyinfo#* }" != 1 ]; then
        missing+=("$PYTHON is Python ${pyinfo% *}: Python 3.9 or newer is needed (set PYTHON=/path/to/python3.x)")
    elif [ ! -x "$VENV/bin/python" ] && ! "$PYTHON" -c 'import venv, ensurepip' >/dev/null 2>&1; then
        missing+=("the venv module of $PYTHON (with ensurepip): on Debian/Ubuntu: apt-get install python3-venv")
    fi
fi
if [ "${#missing[@]}" -gt 0 ]; then
    printf '[setup] missing prerequisites:\n' >&2
    printf '[setup]   - %s\n' "${missing[@]}" >&2
    exit 1
fi

# --- 2. evcxr_jupyter --------------------------------------------------------------------
if [ -n "${EVCXR_JUPYTER:-}" ]; then
    [ -x "$EVCXR_JUPYTER" ] || die "EVCXR_JUPYTER=$EVCXR_JUPYTER is not an executable file"
    EVCXR_BIN="$(cd "$(dirname "$EVCXR_JUPYTER")" && pwd)/$(basename "$EVCXR_JUPYTER")"
    say "evcxr_jupyter: using EVCXR_JUPYTER=$EVCXR_BIN"
elif [ -x "$TOOLS/bin/evcxr_jupyter" ]; then
    EVCXR_BIN="$TOOLS/bin/evcxr_jupyter"
    say "evcxr_jupyter: already installed (.tools/cargo/bin/evcxr_jupyter)"
elif [ "${EVCXR_REUSE_PATH:-1}" = 1 ] && command -v evcxr_jupyter >/dev/null 2>&1 \
    && grep -aq "evcxr_jupyter-$EVCXR_VERSION/" "$(command -v evcxr_jupyter)"; then
    # Same version (its embedded source paths name it): reuse it rather than build another.
    EVCXR_BIN="$(command -v evcxr_jupyter)"
    say "evcxr_jupyter: reusing $EVCXR_VERSION at $EVCXR_BIN from PATH (EVCXR_REUSE_PATH=0 installs a repo-local one)"
else
    say "evcxr_jupyter $EVCXR_VERSION: not found. Installing it into .tools/cargo with"
    say "  cargo install --locked: this compiles ~270 crates and takes about 4.5-6 minutes on 2 cores (once)."
    start=$SECONDS
    cargo install --locked "evcxr_jupyter@$EVCXR_VERSION" --root "$TOOLS"
    EVCXR_BIN="$TOOLS/bin/evcxr_jupyter"
    [ -x "$EVCXR_BIN" ] || die "cargo install finished but $EVCXR_BIN is missing"
    say "evcxr_jupyter: installed in $((SECONDS - start)) s"
fi

# The kernels run cargo offline (tools/evcxr/*/evcxr.toml): make sure every crate of the
# workspace, and so every crate a notebook can `:dep`, is in cargo's local registry.
if ! cargo fetch --locked --quiet 2>/dev/null; then
    say "cargo fetch: could not fetch the workspace's crates (offline?); notebook kernels may not find them"
fi

# --- 3. Python venv with JupyterLab ----------------------------------------------------------
req_hash="$("$PYTHON" -c 'import hashlib, sys; print(hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest())' "$REQUIREMENTS")"
stamp="$VENV/.requirements.sha256"
# Cheap check (no imports): the stamp matches and the distributions are installed.
venv_report='import sys, importlib.metadata as m
v = {d: m.version(d) for d in ("jupyterlab", "nbclient", "nbconvert", "nbformat", "ipykernel")}
print("Python", sys.version.split()[0], "+ JupyterLab", v["jupyterlab"], "+ nbclient", v["nbclient"])'
if [ -x "$VENV/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$req_hash" ] \
    && report="$("$VENV/bin/python" -c "$venv_report" 2>/dev/null)"; then
    say "venv: .venv is up to date ($report)"
else
    start=$SECONDS
    if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'pass' >/dev/null 2>&1; then
        say "venv: creating .venv with $PYTHON ($("$PYTHON" -c 'import sys; print(sys.version.split()[0])'))"
        "$PYTHON" -m venv --clear "$VENV"
    fi
    say "venv: pip install -r scripts/requirements.txt (about 25 s)"
    "$VENV/bin/python" -m pip install --disable-pip-version-check --quiet -r "$REQUIREMENTS"
    "$VENV/bin/python" -c 'import jupyterlab, nbclient, nbconvert, nbformat, ipykernel' \
        || die "the venv's packages do not import after pip install"
    printf '%s\n' "$req_hash" >"$stamp"
    say "venv: ready in $((SECONDS - start)) s"
fi

# --- 4. the `rust` kernelspec inside the venv ------------------------------------------------
mkdir -p "$CACHE"
if [ ! -f "$KERNEL_DIR/logo-64x64.png" ] || [ ! -f "$KERNEL_DIR/version.txt" ]; then
    # Let evcxr_jupyter write its logos and kernel.js; kernel.json is replaced just below.
    JUPYTER_PATH="$VENV/share/jupyter" "$EVCXR_BIN" --install >/dev/null
fi
"$VENV/bin/python" - "$KERNEL_DIR/kernel.json" "$EVCXR_BIN" "$LAB_CONFIG" "$CACHE" "$VENV/bin/python" "$ROOT/scripts/evcxr_kernel.py" <<'PY'
import json, os, sys
path, evcxr, config_dir, cache, python, launcher = sys.argv[1:]
spec = {
    # The launcher gives the kernel a persistent, locked work directory (.cache/evcxr-slots/)
    # and then runs evcxr_jupyter itself.
    "argv": [python, launcher, evcxr, "--control_file", "{connection_file}"],
    "display_name": "Rust",
    "language": "rust",
    "interrupt_mode": "message",
    "env": {
        # evcxr reads evcxr.toml and init.evcxr (`:cache`) from here.
        "EVCXR_CONFIG_DIR": config_dir,
        # evcxr's crate cache lives in $XDG_CACHE_HOME/evcxr, i.e. .cache/evcxr in the repo.
        "XDG_CACHE_HOME": cache,
    },
    "metadata": {"written_by": "scripts/setup.sh (make setup)"},
}
text = json.dumps(spec, indent=1) + "\n"
old = open(path).read() if os.path.exists(path) else None
if old != text:
    with open(path, "w") as f:
        f.write(text)
    print("[setup] kernel: wrote " + os.path.relpath(path))
else:
    print("[setup] kernel: rust kernelspec is up to date")
PY

# --- 5. Fashion-MNIST (optional) ---------------------------------------------------------------
FMNIST_DEFAULT=/usr/share/datasets/fashion-mnist
FMNIST_DIR="${ANN_FASHION_MNIST_DIR:-$FMNIST_DEFAULT}"
fmnist_present() {
    local f
    for f in train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz; do
        [ -f "$FMNIST_DIR/$f" ] || return 1
    done
}
FMNIST_HOWTO="Fashion-MNIST (optional, notebook 09 and bench W3): sudo apt-get install dataset-fashion-mnist, or set ANN_FASHION_MNIST_DIR to a directory with its four *-ubyte.gz files"
if fmnist_present; then
    say "Fashion-MNIST: found in $FMNIST_DIR"
elif [ "$FMNIST_DIR" = "$FMNIST_DEFAULT" ] && command -v apt-get >/dev/null 2>&1 \
    && { [ "$(id -u)" = 0 ] || sudo -n true >/dev/null 2>&1; }; then
    SUDO=()
    [ "$(id -u)" = 0 ] || SUDO=(sudo -n)
    say "Fashion-MNIST: apt-get install dataset-fashion-mnist (31 MB, into $FMNIST_DEFAULT)"
    if "${SUDO[@]}" apt-get update -qq >/dev/null 2>&1 \
        && "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist >/dev/null 2>&1 \
        && fmnist_present; then
        say "Fashion-MNIST: installed in $FMNIST_DEFAULT"
    else
        say "Fashion-MNIST: apt-get could not install dataset-fashion-mnist; $FMNIST_HOWTO"
    fi
else
    say "$FMNIST_HOWTO"
fi

say "done: kernel 'rust' -> $EVCXR_BIN (config $LAB_CONFIG)"
