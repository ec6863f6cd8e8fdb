#!/usr/bin/env python3
"""`make notebook-times`: how long the notebooks take, cold and warm, as a learner sees it.

Runs every notebook three times through scripts/run_notebooks.py, in a private slots directory:

1. cold: a new, empty work directory for each notebook (``--fresh``), as a kernel start in a
   fresh clone: ``ann_core``, ``ann_plot`` and the cell crate are compiled from scratch
   (registry crates come from evcxr's crate cache, ``.cache/evcxr``, once it is filled);
2. warm: the notebooks one after another in one slot, twice; the second pass is reported:
   every kernel start finds the crates compiled by the previous one, as in ``make lab``.

Prints one table (Markdown): per notebook the first code cell (the ``:dep`` cell, where the
kernel compiles or finds the crates), the median of the other cells, the slowest cell and the
total, cold and warm. Run with the project venv: ``.venv/bin/python scripts/notebook_times.py
[NOTEBOOK ...]`` (default: notebooks/*.ipynb).
"""

from __future__ import annotations

import json
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNNER = ROOT / "scripts" / "run_notebooks.py"


def run(notebooks: list[Path], extra: list[str], report: Path) -> dict[str, dict]:
    cmd = [sys.executable, str(RUNNER), "--json", str(report), *extra, *map(str, notebooks)]
    print("$ " + " ".join(cmd[1:]), flush=True)
    proc = subprocess.run(cmd)
    if proc.returncode != 0:
        raise SystemExit(f"notebook_times: a notebook failed (exit {proc.returncode})")
    return {r["notebook"]: r for r in json.loads(report.read_text())}


def cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main() -> int:
    notebooks = [Path(a) for a in sys.argv[1:]] or sorted((ROOT / "notebooks").glob("*.ipynb"))
    work = Path(tempfile.mkdtemp(prefix="notebook-times-"))
    slots = ["--slots", str(work / "slots")]
    cold = run(notebooks, ["--fresh"], work / "cold.json")
    run(notebooks, slots, work / "warm1.json")
    warm = run(notebooks, slots, work / "warm2.json")

    avx512 = "avx512f" in Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else False
    print(f"\nmachine: {cpu()} ({'AVX-512' if avx512 else 'no AVX-512'}), {len(__import__('os').sched_getaffinity(0))} cores")
    print("| notebook | cells | cold: first cell | cold: total | warm: first cell | warm: median cell | warm: slowest cell | warm: total |")
    print("|---|---|---|---|---|---|---|---|")
    for name in cold:
        c, w = cold[name], warm[name]
        slow = max(w["cells"], key=lambda t: t[1]) if w["cells"] else (0, 0.0)
        print(
            f"| {Path(name).stem} | {len(w['cells'])} | {c['first']:.1f} s | {c['total']:.1f} s | "
            f"{w['first']:.1f} s | {w['median']:.2f} s | #{slow[0]} {slow[1]:.1f} s | {w['total']:.1f} s |"
        )
    total = lambda rs: sum(r["total"] for r in rs.values())  # noqa: E731
    print(f"| all | | | {total(cold):.0f} s | | | | {total(warm):.0f} s |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
