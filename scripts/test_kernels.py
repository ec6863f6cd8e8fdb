#!/usr/bin/env python3
"""Prove two properties of the kernel launcher (scripts/evcxr_kernel.py), with real kernels:

1. a kernel reuses its slot's compiled state, and an edit to a path crate's source shows up at
   the next kernel start (cargo rebuilds what changed, and only that);
2. two kernels alive at the same time get two different slots.

Both run on a tiny crate written into a temporary directory, with a private slots directory,
through scripts/run_notebooks.py. Run with the project venv (``make test-runner`` does):
``.venv/bin/python scripts/test_kernels.py``. Exit status 0 when both hold.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNNER = ROOT / "scripts" / "run_notebooks.py"


def notebook(path: Path, cells: list[str]) -> None:
    nb = {
        "cells": [
            {"cell_type": "code", "execution_count": None, "id": f"c{i}", "metadata": {}, "outputs": [], "source": src}
            for i, src in enumerate(cells)
        ],
        "metadata": {"kernelspec": {"display_name": "Rust", "language": "rust", "name": "rust"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path.write_text(json.dumps(nb, indent=1))


def run(nb: Path, slots: Path, out: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(RUNNER), "--slots", str(slots), "--output-dir", str(out), "--label", "probe", str(nb)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def finish(proc: subprocess.Popen, what: str) -> str:
    log, _ = proc.communicate(timeout=900)
    print("\n".join("    " + line for line in log.rstrip().splitlines()))
    if proc.returncode != 0:
        raise SystemExit(f"test_kernels: {what}: the runner failed (exit {proc.returncode})")
    return log


def printed(executed: Path) -> list[str]:
    """The stdout lines of every code cell of an executed notebook."""
    nb = json.loads(executed.read_text())
    text = "".join(
        "".join(o.get("text", ""))
        for c in nb["cells"]
        for o in c.get("outputs", [])
        if o.get("output_type") == "stream" and o.get("name") == "stdout"
    )
    return text.splitlines()


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="test-kernels-"))
    crate = work / "probe"
    (crate / "src").mkdir(parents=True)
    (crate / "Cargo.toml").write_text('[package]\nname = "probe"\nversion = "0.1.0"\nedition = "2024"\n')
    source = crate / "src" / "lib.rs"
    source.write_text('pub fn message() -> &\'static str {\n    "first build"\n}\n')
    slots = work / "slots"
    dep = f':dep probe = {{ path = "{crate}" }}'
    where = 'println!("slot {}", std::env::var("EVCXR_TMPDIR").unwrap_or_default());'

    print("--- 1. an edited path crate is rebuilt at the next kernel start, in the same slot")
    nb1 = work / "edit.ipynb"
    notebook(nb1, [dep, where, 'println!("message {}", probe::message());'])
    finish(run(nb1, slots, work / "out1"), "first start")
    first = printed(work / "out1" / nb1.name)
    time.sleep(1.1)  # a new mtime second, whatever the file system's resolution
    source.write_text('pub fn message() -> &\'static str {\n    "second build"\n}\n')
    finish(run(nb1, slots, work / "out2"), "second start")
    second = printed(work / "out2" / nb1.name)
    print(f"    first start: {first}\n    second start: {second}")
    if "message first build" not in first or "message second build" not in second:
        raise SystemExit("test_kernels: the edit did not show up at the next kernel start")
    if first[0] != second[0] or not first[0].startswith(f"slot {slots}"):
        raise SystemExit("test_kernels: the second kernel did not reuse the first one's slot")

    print("--- 2. two kernels alive at once get different slots")
    nb2 = work / "together.ipynb"
    # The sleep keeps both kernels alive at the same time.
    notebook(nb2, [dep, where, "std::thread::sleep(std::time::Duration::from_secs(8));"])
    a, b = run(nb2, slots, work / "out3"), run(nb2, slots, work / "out4")
    finish(a, "kernel A")
    finish(b, "kernel B")
    slot_a, slot_b = printed(work / "out3" / nb2.name)[0], printed(work / "out4" / nb2.name)[0]
    print(f"    kernel A: {slot_a}\n    kernel B: {slot_b}")
    if slot_a == slot_b:
        raise SystemExit("test_kernels: two live kernels shared a slot")
    print("kernel-launcher: 2 passed, 0 failed")
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
