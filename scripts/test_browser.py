#!/usr/bin/env python3
"""The playgrounds in a real browser: JupyterLab started here, the system Chromium driven by
Playwright, a freshly executed and untrusted notebook.

    .venv/bin/python scripts/test_browser.py        # `make test-browser` (installs what is missing)

1. writes a notebook with the four playgrounds of `ann_plot::playground` (default set-ups)
   into a temporary directory and executes it with `scripts/run_notebooks.py --inplace`, as
   `make notebooks` does: the outputs are the Vega-Lite specs and PNGs the crate emits;
2. starts JupyterLab on that directory (a free port, a random token) and opens the notebook in
   headless Chromium (``/usr/bin/chromium``, or ``$CHROMIUM``; Playwright downloads nothing);
   the notebook was never trusted there;
3. for every playground: waits until Vega has drawn it, takes a screenshot, moves its slider
   (or picks another entry of its menu), takes another, and fails unless the view changed;
   the notebook's first output must be the Vega-Lite view, not the PNG.

Screenshots go to ``target/browser/`` (``<n>_before.png``, ``<n>_after.png``). Exit status 0
when all four changed, 1 otherwise, 2 on a set-up error.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "target" / "browser"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")

# (name, Rust expression, the control to move: ("range", value) or ("select", option index))
PLAYGROUNDS = [
    ("boundary", "plot::playground::boundary_playground(&plot::playground::BoundaryPlaygroundConfig::default())?", ("range", "6")),
    ("learning_rate", "plot::playground::optimizer_lr_playground(&plot::playground::OptimizerLrPlaygroundConfig::default())?", ("select", 5)),
    ("paths", "plot::playground::optimizer_path_playground(&plot::playground::OptimizerPathsConfig::default())?", ("range", "8")),
    ("dropout", "plot::playground::dropout_playground(&plot::playground::DropoutPlaygroundConfig::default())?", ("select", 0)),
]


def fail(msg: str, code: int = 1) -> None:
    print(f"test_browser: {msg}", file=sys.stderr)
    sys.exit(code)


def notebook() -> dict:
    def cell(src: str, i: int) -> dict:
        return {"cell_type": "code", "execution_count": None, "id": f"c{i}", "metadata": {}, "outputs": [], "source": src}

    deps = ':dep ann_core = { path = "%s" }\n:dep ann_plot = { path = "%s" }' % (ROOT / "ann_core", ROOT / "ann_plot")
    # evcxr displays the first cell of a session that uses `?` with Debug (its first compile
    # fails, and it falls back): as in the course's notebooks, a `?` comes before any display.
    first = "let sizes = ann_core::Network::new(&[2, 3, 1], ann_core::Activation::Relu, ann_core::Task::Binary, ann_core::Init::He, 0)?.sizes();"
    cells = [cell(deps, 0), cell("use ann_plot as plot;", 1), cell(first, 2)]
    cells += [cell(expr, i + 3) for i, (_, expr, _) in enumerate(PLAYGROUNDS)]
    return {
        "cells": cells,
        "metadata": {"kernelspec": {"display_name": "Rust", "language": "rust", "name": "rust"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, seconds: float) -> None:
    end = time.time() + seconds
    while time.time() < end:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    fail(f"JupyterLab did not answer at {url} within {seconds:.0f} s", 2)


def main() -> None:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        fail("playwright is not installed in this Python: run `make test-browser`", 2)
    if not Path(CHROMIUM).exists():
        fail(f"no Chromium at {CHROMIUM}: apt-get install chromium (or set CHROMIUM)", 2)
    SHOTS.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="ann_browser_"))
    nb_path = work / "playgrounds.ipynb"
    nb_path.write_text(json.dumps(notebook(), indent=1))
    started = time.time()
    run = subprocess.run([sys.executable, str(ROOT / "scripts" / "run_notebooks.py"), "--inplace", str(nb_path)])
    if run.returncode != 0:
        fail("executing the playground notebook failed")
    executed = json.loads(nb_path.read_text())
    kinds = [list(o.get("data", {})) for c in executed["cells"][3:] for o in c["outputs"] if o.get("output_type") in ("display_data", "execute_result")]
    if len(kinds) != len(PLAYGROUNDS) or not all("application/vnd.vegalite.v5+json" in k and "image/png" in k for k in kinds):
        fail(f"the executed notebook's outputs are not one Vega-Lite + PNG each: {kinds}")
    print(f"test_browser: notebook executed in {time.time() - started:.0f} s; outputs {kinds[0]}")

    port, token = free_port(), secrets.token_hex(16)
    lab = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}", "--ServerApp.ip=127.0.0.1",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={work}",
         "--LabApp.news_url=", "--ServerApp.disable_check_xsrf=True", "--allow-root"],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, cwd=work,
    )
    changed: list[str] = []
    try:
        wait_http(f"http://127.0.0.1:{port}/api/status?token={token}", 60)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"http://127.0.0.1:{port}/lab/tree/playgrounds.ipynb?token={token}")
            page.wait_for_selector(".vega-embed", timeout=90_000)
            # JupyterLab asks once about its news feed; the answer keeps the toast off the views.
            try:
                page.get_by_role("button", name="No").click(timeout=3_000)
            except Exception:  # noqa: BLE001 - no toast this time
                pass
            # Every output area of the notebook: all four playgrounds must be drawn by Vega.
            page.wait_for_function(f"document.querySelectorAll('.vega-embed').length >= {len(PLAYGROUNDS)}", timeout=60_000)
            trusted = page.evaluate("document.querySelectorAll('.jp-Notebook .jp-mod-trusted').length")
            print(f"test_browser: {len(PLAYGROUNDS)} Vega views drawn in JupyterLab (trusted cells: {trusted})")
            embeds = page.locator(".vega-embed")
            for i, (name, _, (kind, value)) in enumerate(PLAYGROUNDS):
                view = embeds.nth(i)
                view.scroll_into_view_if_needed()
                view.locator("canvas, svg").first.wait_for(timeout=30_000)
                page.wait_for_timeout(500)
                before = view.screenshot(path=str(SHOTS / f"{i + 1}_{name}_before.png"))
                if kind == "range":
                    slider = view.locator(".vega-bindings input[type=range]").first
                    slider.evaluate("(el, v) => { el.value = v; el.dispatchEvent(new Event('input', {bubbles: true})); }", value)
                else:
                    view.locator(".vega-bindings select").first.select_option(index=value)
                page.wait_for_timeout(800)
                after = view.screenshot(path=str(SHOTS / f"{i + 1}_{name}_after.png"))
                moved = before != after
                print(f"test_browser: {name}: {kind} -> {value}: view {'changed' if moved else 'UNCHANGED'}")
                if moved:
                    changed.append(name)
            browser.close()
    finally:
        lab.terminate()
        try:
            lab.wait(timeout=20)
        except subprocess.TimeoutExpired:
            lab.kill()
        shutil.rmtree(work, ignore_errors=True)
    if len(changed) != len(PLAYGROUNDS):
        fail(f"only {len(changed)} of {len(PLAYGROUNDS)} views changed: {changed}; screenshots in {SHOTS}")
    print(f"test_browser: all {len(PLAYGROUNDS)} playgrounds respond to their controls; screenshots in {SHOTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
