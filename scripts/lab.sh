#!/usr/bin/env bash
# Start JupyterLab on notebooks/ with the project's venv (`make lab`; run `make setup` first).
# Extra arguments go to `jupyter lab`, e.g. `make lab LAB_ARGS="--port 9999 --ip 0.0.0.0"`.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
JUPYTER="$ROOT/.venv/bin/jupyter"
[ -x "$JUPYTER" ] || { echo "[lab] .venv/bin/jupyter is missing: run make setup" >&2; exit 1; }

mkdir -p notebooks
shopt -s nullglob
nbs=(notebooks/*.ipynb)
if [ "${#nbs[@]}" -eq 0 ]; then
    echo "[lab] no notebooks yet (create one in notebooks/ from the Launcher: kernel 'Rust')"
else
    echo "[lab] ${#nbs[@]} notebook(s) in notebooks/"
fi

# Prefer the venv's kernelspecs (our `rust` kernel) over a `rust` kernel in ~/.local/share/jupyter.
export JUPYTER_PREFER_ENV_PATH=1
echo "[lab] starting JupyterLab on notebooks/ (Ctrl-C twice to stop); open the http://127.0.0.1:.../lab?token=... URL below"
args=(--no-browser --ServerApp.root_dir="$ROOT/notebooks")
# JupyterLab refuses to run as root without this (containers, CI machines).
if [ "$(id -u)" = 0 ]; then args+=(--allow-root); fi
# shellcheck disable=SC2086  # LAB_ARGS is meant to be split
exec "$JUPYTER" lab "${args[@]}" ${LAB_ARGS:-} "$@"
