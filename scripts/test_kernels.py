#!/usr/bin/env python3
"""Prove three properties of the `rust` kernel started by its launcher (scripts/evcxr_kernel.py):

1. a kernel reuses its slot's compiled state, and an edit to a path crate's source shows up at
   the next kernel start (cargo rebuilds what changed, and only that);
2. two kernels alive at the same time get two different slots;
3. Kernel -> Interrupt (an ``interrupt_request`` on the control channel: the kernelspec's
   ``interrupt_mode`` is ``message``) stops a running cell at once and the same kernel runs the
   next cell; the variables are lost, the ``:dep`` crates, ``use`` lines and functions are kept.

All run on a tiny crate written into a temporary directory, with a private slots directory;
1 and 2 through scripts/run_notebooks.py, 3 through jupyter_client with the learner's evcxr
configuration (tools/evcxr/lab). Run with the project venv (``make test-runner`` does):
``.venv/bin/python scripts/test_kernels.py``. Exit status 0 when all three hold.
"""

from __future__ import annotations

import json
import queue
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from run_notebooks import DEFAULT_KERNEL_DIR, load_base_spec, write_spec

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


def execute(kc, code: str, timeout: float = 120) -> tuple[dict, list[dict], float]:
    """Run one cell: its execute_reply content, its iopub messages and its wall time (s)."""
    outputs: list[dict] = []
    start = time.monotonic()
    reply = kc.execute_interactive(code, timeout=timeout, output_hook=outputs.append)
    return reply["content"], outputs, time.monotonic() - start


def result(outputs: list[dict]) -> str:
    """The text/plain value of a cell, or its error message."""
    for msg in outputs:
        if msg["msg_type"] == "execute_result":
            return msg["content"]["data"].get("text/plain", "")
        if msg["msg_type"] == "error":
            return "error: " + msg["content"]["evalue"]
    return ""


def interrupt(work: Path, slots: Path, dep: str) -> None:
    """Interrupt a running cell as JupyterLab's Kernel -> Interrupt does, then use the kernel."""
    lab_config = ROOT / "tools" / "evcxr" / "lab"
    spec_dir = write_spec(load_base_spec(DEFAULT_KERNEL_DIR), lab_config, False, slots, work / "spec")
    km = KernelManager(kernel_name="rust", kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(spec_dir)]))
    if km.kernel_spec.interrupt_mode != "message":
        raise SystemExit(f"test_kernels: the kernelspec's interrupt_mode is {km.kernel_spec.interrupt_mode!r}")
    km.start_kernel(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=120)
        pid = km.provisioner.process.pid
        for code in (dep, "use std::cmp::max;\nfn double(x: i32) -> i32 { 2 * x }", "let kept = 41;"):
            reply, _, _ = execute(kc, code)
            if reply["status"] != "ok":
                raise SystemExit(f"test_kernels: {code!r} failed before the interrupt: {reply}")

        long_cell = kc.execute('println!("sleeping"); std::thread::sleep(std::time::Duration::from_secs(60));')
        # Interrupt once the cell runs (it printed), not while it is still being compiled.
        deadline = time.monotonic() + 120
        while True:
            msg = kc.get_iopub_msg(timeout=max(deadline - time.monotonic(), 0.1))
            if msg["parent_header"].get("msg_id") == long_cell and msg["msg_type"] == "stream":
                break
        sent = time.monotonic()
        km.interrupt_kernel()
        try:
            reply = kc.get_shell_msg(timeout=10)
            while reply["parent_header"].get("msg_id") != long_cell:
                reply = kc.get_shell_msg(timeout=10)
        except queue.Empty:
            raise SystemExit("test_kernels: the 60 s cell still ran 10 s after the interrupt") from None
        stopped = time.monotonic() - sent
        error = ""
        while not error:
            msg = kc.get_iopub_msg(timeout=5)
            if msg["parent_header"].get("msg_id") == long_cell and msg["msg_type"] == "error":
                error = msg["content"]["evalue"]
        print(f"    the 60 s cell ended {stopped:.2f} s after the interrupt: {reply['content']['status']}: {error}")
        # evcxr 0.22 kills the subprocess that runs the cells (SIGKILL) and starts a new one.
        if reply["content"]["status"] != "error" or "Subprocess terminated" not in error or stopped > 5:
            raise SystemExit("test_kernels: the interrupt did not stop the running cell within 5 s")
        if not km.is_alive() or km.provisioner.process.pid != pid:
            raise SystemExit("test_kernels: the kernel did not survive the interrupt")

        after = {}
        for code in ("1 + 1", "kept", "double(21)", "max(20, 21)", "probe::message()"):
            _, outputs, seconds = execute(kc, code)
            after[code] = result(outputs)
            print(f"    after the interrupt, same kernel: {code} -> {after[code]} ({seconds:.2f} s)")
        # Observed with evcxr 0.22: the new subprocess has no variables, but evcxr still knows
        # the `use` lines, the functions and the `:dep` crates, and those are not compiled again.
        if after["1 + 1"] != "2":
            raise SystemExit("test_kernels: the kernel did not run a cell after the interrupt")
        if "cannot find value `kept`" not in after["kept"]:
            raise SystemExit("test_kernels: a variable survived the interrupt (the README says they are lost)")
        if after["double(21)"] != "42" or after["max(20, 21)"] != "21":
            raise SystemExit("test_kernels: a function or a `use` was lost at the interrupt")
        if after["probe::message()"] != '"second build"':
            raise SystemExit("test_kernels: the :dep crate was lost at the interrupt")
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


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

    print("--- 3. Kernel -> Interrupt stops a running cell; the kernel goes on without the variables")
    start = time.monotonic()
    interrupt(work, slots, dep)
    print(f"    (kernel start, interrupt and shutdown: {time.monotonic() - start:.1f} s)")
    print("kernel-launcher: 3 passed, 0 failed")
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
