#!/usr/bin/env python3
"""Execute Rust (evcxr) notebooks headless, one at a time, and fail on any cell error.

Run it with the project venv's Python (``make setup`` creates it):

    .venv/bin/python scripts/run_notebooks.py notebooks/*.ipynb            # check, repo untouched
    .venv/bin/python scripts/run_notebooks.py --inplace notebooks/*.ipynb  # write outputs back

Each notebook gets a fresh kernel whose environment is the installed ``rust`` kernelspec's
(``.venv/share/jupyter/kernels/rust``, written by ``scripts/setup.sh``) with two changes:

* ``EVCXR_CONFIG_DIR`` points at ``tools/evcxr/test`` (``--config-dir``), whose ``evcxr.toml``
  sets ``preserve_vars_on_panic = false``: a panicking cell then ends with an error instead of
  evcxr's default "success";
* with ``--slots DIR``, ``ANN_EVCXR_SLOTS`` points the kernel launcher at another slots directory.

The kernelspec starts evcxr through ``scripts/evcxr_kernel.py``, which gives every kernel a
persistent work directory of its own (a locked *slot* of ``.cache/evcxr-slots/``): the next
notebook reuses what the previous one compiled (``ann_core``, ``ann_plot``, the cell crate's
dependencies), exactly as a learner's next kernel start in ``make lab`` does. ``--fresh``
gives each notebook a new, empty work directory instead (a cold start every time).
``XDG_CACHE_HOME`` stays as in the kernelspec (``.cache/``), so compiled registry crates are
shared with ``make lab`` through evcxr's ``:cache`` (enabled by ``init.evcxr`` in the config dir).

The exercise notebooks are also checked on their graders' reports: a notebook in
``exercises/solutions/`` fails with any ``✗`` or ``○`` report (or none at all), one in
``exercises/`` with any ``✓`` or ``✗`` (or no ``○``): a blank function must be reported "not
implemented yet". ``--graders solved|blank|none`` sets this for every notebook instead.

``--times`` prints every code cell's time; the summary always gives each notebook's total, its
first code cell (the ``:dep`` cell: the kernel's compile of the crates), the median of the other
cells and the slowest ones.

A notebook fails on a compile error, a runtime error, a panic, a dead kernel or a cell timeout.
The failing cell's source and error are printed. Exit status: 0 if every notebook passed, 1 if
any failed, 2 on a usage/setup error.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_KERNEL_DIR = Path(sys.prefix) / "share" / "jupyter" / "kernels" / "rust"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")

try:
    import nbformat
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager
    from jupyter_core.utils import run_sync
    from nbclient import NotebookClient
    from nbclient.exceptions import (
        CellExecutionError,
        CellTimeoutError,
        DeadKernelError,
    )
except ImportError as err:  # pragma: no cover - only without the venv
    sys.exit(
        f"run_notebooks.py: {err}.\n"
        "Run `make setup` and use the venv's Python: .venv/bin/python scripts/run_notebooks.py"
    )


def plain(text: str) -> str:
    return ANSI.sub("", text)


def indent(text: str, prefix: str = "    | ") -> str:
    return "\n".join(prefix + line for line in text.rstrip("\n").splitlines())


def head_tail(text: str, head: int = 25, tail: int = 5) -> str:
    """Keep the first and last lines of a long text (panic message first, backtrace cut)."""
    lines = text.strip("\n").splitlines()
    if len(lines) <= head + tail + 1:
        return "\n".join(lines)
    cut = len(lines) - head - tail
    return "\n".join(lines[:head] + [f"... ({cut} lines omitted) ..."] + lines[-tail:])


def load_base_spec(kernel_dir: Path) -> dict:
    spec_file = kernel_dir / "kernel.json"
    if not spec_file.is_file():
        sys.exit(f"run_notebooks.py: no rust kernelspec at {spec_file}: run `make setup` first.")
    return json.loads(spec_file.read_text())


def write_spec(base: dict, config_dir: Path, fresh: bool, slots: Path | None, spec_root: Path) -> Path:
    """Write a private `rust` kernelspec for one notebook; returns its kernels/ directory."""
    env = dict(base.get("env", {}))
    env["EVCXR_CONFIG_DIR"] = str(config_dir)
    if fresh:
        env["ANN_EVCXR_FRESH"] = "1"
    if slots is not None:
        env["ANN_EVCXR_SLOTS"] = str(slots)
    env.setdefault("XDG_CACHE_HOME", str(ROOT / ".cache"))
    spec = dict(base, env=env)
    kernels = spec_root / "kernels"
    (kernels / "rust").mkdir(parents=True, exist_ok=True)
    (kernels / "rust" / "kernel.json").write_text(json.dumps(spec, indent=1))
    return kernels


def describe_failure(nb, err: Exception) -> str:
    """Find the failing cell (the last executed code cell) and format its source and error."""
    lines = []
    failing = None
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        if any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
            failing = (index, cell)
            break
    if failing is None:
        # Timeout or dead kernel: report the last cell that started executing.
        started = [
            (i, c)
            for i, c in enumerate(nb.cells)
            if c.cell_type == "code" and c.get("metadata", {}).get("_run_started")
        ]
        failing = started[-1] if started else None
    if failing is not None:
        index, cell = failing
        lines.append(f"  failing cell: #{index} (code cell)")
        lines.append("  source:")
        lines.append(indent(cell.source or "<empty>"))
        stderr = "".join(
            o.get("text", "")
            for o in cell.get("outputs", [])
            if o.get("output_type") == "stream" and o.get("name") == "stderr"
        )
        if stderr.strip():
            lines.append("  stderr:")
            lines.append(indent(head_tail(plain(stderr))))
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        for o in errors:
            lines.append(f"  error: {o.get('ename', '')}: {plain(str(o.get('evalue', '')))}")
            tb = plain("\n".join(o.get("traceback", [])))
            if tb.strip():
                lines.append(indent(head_tail(tb, head=60)))
    if isinstance(err, (CellTimeoutError, DeadKernelError, TimeoutError)):
        lines.insert(0, f"  {type(err).__name__}: {plain(str(err)).strip().splitlines()[0]}")
    elif not any(line.startswith("  error:") for line in lines):
        lines.append(f"  error: {type(err).__name__}: {plain(str(err))[-4000:]}")
    return "\n".join(lines)


GRADER_MARKS = {"✓": "passed", "✗": "failed", "○": "not implemented"}


def grader_problem(nb, mode: str) -> str | None:
    """What is wrong with the grader reports of an executed exercise notebook, if anything."""
    counts = {mark: 0 for mark in GRADER_MARKS}
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for out in cell.get("outputs", []):
            text = out.get("text", "") if "text" in out else out.get("data", {}).get("text/plain", "")
            for line in ("".join(text) if isinstance(text, list) else text).splitlines():
                if line[:1] in counts:
                    counts[line[:1]] += 1
    summary = ", ".join(f"{n} {GRADER_MARKS[m]}" for m, n in counts.items())
    if mode == "solved" and (counts["✗"] or counts["○"] or not counts["✓"]):
        return f"a solution notebook must pass every grader: {summary}"
    if mode == "blank" and (counts["✓"] or counts["✗"] or not counts["○"]):
        return f"a blank exercise must report every function as not implemented: {summary}"
    return None


def grader_mode(path: Path) -> str:
    """solved for the exercise solutions, blank for the learner's exercises, none otherwise."""
    parts = path.resolve().parts
    if "exercises" not in parts:
        return "none"
    return "solved" if "solutions" in parts else "blank"


def run_one(path: Path, args, base_spec: dict, out_dir: Path):
    nb = nbformat.read(path, as_version=4)
    kernel_name = nb.metadata.get("kernelspec", {}).get("name")
    if kernel_name not in (None, "rust"):
        print(f"  warning: kernelspec is {kernel_name!r}; running it with the rust kernel anyway")
    if (path.parent / "evcxr.toml").exists():
        print(
            f"  error: {path.parent / 'evcxr.toml'} exists; evcxr would prefer it to "
            f"{args.config_dir}/evcxr.toml (and could hide panics). Remove it."
        )
        return False, 0.0

    work = Path(tempfile.mkdtemp(prefix="run-nb-"))
    kernels = write_spec(base_spec, args.config_dir, args.fresh, args.slots, work / "spec")
    km = AsyncKernelManager(
        kernel_name="rust", kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(kernels)])
    )

    cell_times: list[tuple[int, float]] = []
    started: dict[int, float] = {}

    def on_cell_execute(cell, cell_index, **_):
        cell.setdefault("metadata", {})["_run_started"] = True
        started[cell_index] = time.monotonic()

    def on_cell_executed(cell, cell_index, **_):
        cell.get("metadata", {}).pop("_run_started", None)
        if cell_index in started:
            cell_times.append((cell_index, time.monotonic() - started[cell_index]))

    client = NotebookClient(
        nb,
        km=km,
        timeout=args.timeout,
        startup_timeout=args.startup_timeout,
        kernel_name="rust",
        allow_errors=False,
        record_timing=False,  # keep committed notebooks free of timestamps
        resources={"metadata": {"path": str(path.parent.resolve())}},
        on_cell_execute=on_cell_execute,
        on_cell_executed=on_cell_executed,
    )

    # The kernel's own stdout/stderr (evcxr's "Loading startup configuration", cargo's
    # "Compiling ..." lines) go to a log, shown only on failure or with --verbose.
    kernel_log_path = work / "kernel.log"
    kernel_log = None if args.verbose else open(kernel_log_path, "wb")
    launch = {} if kernel_log is None else {"stdout": kernel_log, "stderr": subprocess.STDOUT}

    t0 = time.monotonic()
    ok = True
    try:
        # cleanup_kc: we made km, so ask nbclient to shut the kernel down afterwards.
        client.execute(cleanup_kc=True, **launch)
    except (
        CellExecutionError,
        CellTimeoutError,
        DeadKernelError,
        RuntimeError,
        TimeoutError,
    ) as err:
        ok = False
        failure = describe_failure(nb, err)
    except Exception as err:  # noqa: BLE001 - any other failure must fail the notebook too
        ok = False
        failure = f"  error: {type(err).__name__}: {err}"
    finally:
        elapsed = time.monotonic() - t0
        try:
            if km.has_kernel:  # normally nbclient has shut it down already
                run_sync(km.shutdown_kernel)(now=True)
        except Exception:  # noqa: BLE001
            pass
        if kernel_log is not None:
            kernel_log.close()
            log_text = kernel_log_path.read_text(errors="replace")
        shutil.rmtree(work, ignore_errors=True)
        for cell in nb.cells:
            cell.get("metadata", {}).pop("_run_started", None)
            # evcxr counts its start-up command too, so its execute_result numbers run one
            # ahead of the cells': align them so committed notebooks read naturally.
            for out in cell.get("outputs", []):
                if out.get("output_type") == "execute_result":
                    out["execution_count"] = cell.get("execution_count")

    mode = args.graders or grader_mode(path)
    if ok and mode != "none":
        problem = grader_problem(nb, mode)
        if problem:
            ok = False
            failure = f"  graders: {problem}"

    slow = sorted(cell_times, key=lambda t: -t[1])[:3]
    slow_txt = ", ".join(f"#{i} {s:.1f}s" for i, s in slow if s >= 1.0)
    status = "ok" if ok else "FAILED"
    first = cell_times[0][1] if cell_times else 0.0
    rest = sorted(t for _, t in cell_times[1:])
    median = rest[len(rest) // 2] if rest else 0.0
    print(
        f"  {status} in {elapsed:.1f}s ({len(cell_times)} code cells; first {first:.1f}s, "
        f"median of the others {median:.2f}s"
        + (f"; slowest: {slow_txt}" if slow_txt else "")
        + ")",
        flush=True,
    )
    if args.times:
        print("  cells: " + ", ".join(f"#{i} {t:.2f}s" for i, t in cell_times), flush=True)
    if not ok:
        print(failure, flush=True)
        if kernel_log is not None and log_text.strip():
            tail = plain(log_text).strip("\n").splitlines()[-30:]
            print("  kernel log (last lines):")
            print(indent("\n".join(tail)), flush=True)

    if args.inplace and ok:
        nbformat.write(nb, path)
        print(f"  outputs written back to {path}")
    else:
        target = out_dir / path.name
        nbformat.write(nb, target)
        if args.inplace:
            print(f"  not written back (it failed); executed copy: {target}")
    return ok, elapsed, first, median, cell_times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help=".ipynb files, run in order")
    parser.add_argument(
        "--inplace",
        action="store_true",
        help="write the executed outputs back into the notebook files (only for notebooks that pass)",
    )
    parser.add_argument(
        "--output-dir",
        type=Path,
        help="where executed copies go (default: a new temp dir, printed)",
    )
    parser.add_argument(
        "--config-dir",
        type=Path,
        default=ROOT / "tools" / "evcxr" / "test",
        help="EVCXR_CONFIG_DIR for the kernels (default: tools/evcxr/test)",
    )
    parser.add_argument(
        "--kernel-dir",
        type=Path,
        default=DEFAULT_KERNEL_DIR,
        help="installed rust kernelspec to start from (default: <venv>/share/jupyter/kernels/rust)",
    )
    parser.add_argument(
        "--timeout",
        type=int,
        default=int(os.environ.get("NB_CELL_TIMEOUT", "600")),
        help="per-cell timeout in seconds; the first :dep cell compiles crates (default 600)",
    )
    parser.add_argument("--startup-timeout", type=int, default=120, help="kernel start timeout (s)")
    parser.add_argument(
        "--verbose",
        action="store_true",
        help="show the kernel's own output (cargo's Compiling lines) instead of logging it",
    )
    parser.add_argument("--label", default="notebooks", help="word before the summary line")
    parser.add_argument(
        "--fresh",
        action="store_true",
        help="give each notebook a new, empty work directory (a cold kernel start) instead of a slot",
    )
    parser.add_argument(
        "--slots",
        type=Path,
        help="slots directory for the kernel launcher (ANN_EVCXR_SLOTS; default .cache/evcxr-slots)",
    )
    parser.add_argument("--times", action="store_true", help="print the time of every code cell")
    parser.add_argument(
        "--graders",
        choices=["solved", "blank", "none"],
        help="grader reports to require: all passed, all not implemented, or no check (default: from the path)",
    )
    parser.add_argument("--json", type=Path, help="also write the times of every notebook and cell here")
    args = parser.parse_args()

    if not args.notebooks:
        print("no notebooks yet")
        return 0
    args.config_dir = args.config_dir.resolve()
    if args.slots is not None:
        args.slots = args.slots.resolve()
    if not (args.config_dir / "evcxr.toml").is_file():
        print(f"run_notebooks.py: {args.config_dir}/evcxr.toml is missing", file=sys.stderr)
        return 2
    base_spec = load_base_spec(args.kernel_dir)
    cache_home = base_spec.get("env", {}).get("XDG_CACHE_HOME", str(ROOT / ".cache"))
    print(
        f"kernel: {' '.join(Path(a).name for a in base_spec['argv'][:3])}\n"
        f"EVCXR_CONFIG_DIR={args.config_dir}  crate cache: {cache_home}/evcxr  "
        f"cell timeout: {args.timeout}s",
        flush=True,
    )
    out_dir = args.output_dir or Path(tempfile.mkdtemp(prefix="executed-notebooks-"))
    out_dir.mkdir(parents=True, exist_ok=True)

    results = []
    total = time.monotonic()
    for i, path in enumerate(args.notebooks, 1):
        if not path.is_file():
            print(f"[{i}/{len(args.notebooks)}] {path}: no such file")
            results.append((path, False, 0.0, 0.0, 0.0, []))
            continue
        print(f"[{i}/{len(args.notebooks)}] {path}", flush=True)
        results.append((path, *run_one(path, args, base_spec, out_dir)))

    passed = sum(1 for _, ok, *_ in results if ok)
    failed = len(results) - passed
    print(f"\nrun times ({time.monotonic() - total:.1f}s in all; first cell, median of the other cells):")
    for path, ok, elapsed, first, median, _ in results:
        print(f"  {elapsed:7.1f}s  {first:6.1f}s  {median:5.2f}s  {'ok    ' if ok else 'FAILED'}  {path}")
    if args.json:
        report = [
            {"notebook": str(p), "ok": ok, "total": t, "first": f, "median": m, "cells": cells}
            for p, ok, t, f, m, cells in results
        ]
        args.json.write_text(json.dumps(report, indent=1) + "\n")
    if not args.inplace or failed:
        print(f"executed copies: {out_dir}")
    print(f"{args.label}: {passed} passed, {failed} failed", flush=True)
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
