#!/usr/bin/env bash
# What the browser test needs beyond `make setup`: Debian's Chromium (apt-get, as root or with
# passwordless sudo) and Playwright in the project venv (pip, scripts/requirements-browser.txt).
# Each is installed only when missing.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV_PY="$ROOT/.venv/bin/python"
say() { echo "[browser-setup] $*"; }
CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
if [ ! -x "$CHROMIUM" ]; then
    SUDO=()
    [ "$(id -u)" = 0 ] || SUDO=(sudo -n)
    say "apt-get install chromium (about a minute)"
    "${SUDO[@]}" apt-get update -qq >/dev/null
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    [ -x "$CHROMIUM" ] || { echo "[browser-setup] no Chromium at $CHROMIUM after apt-get install chromium" >&2; exit 2; }
fi
if ! "$VENV_PY" -c "import playwright.sync_api" 2>/dev/null; then
    say "pip install -r scripts/requirements-browser.txt"
    "$VENV_PY" -m pip install --disable-pip-version-check --quiet -r "$ROOT/scripts/requirements-browser.txt"
fi
say "chromium: $("$CHROMIUM" --version 2>/dev/null | head -1); playwright $("$VENV_PY" -c 'import importlib.metadata as m; print(m.version("playwright"))')"
