#!/usr/bin/env python3
"""Start evcxr_jupyter in a persistent work directory of its own: the `rust` kernel's launcher.

The kernelspec (``make setup``) runs ``python scripts/evcxr_kernel.py EVCXR_JUPYTER ARGS...``.
evcxr compiles every cell in its work directory (``EVCXR_TMPDIR``; the cargo target dir is
always ``<tmpdir>/target``) and never caches path crates such as ``ann_core``, so a fresh
directory per kernel means compiling ``ann_core`` and ``ann_plot`` again at every start. This
launcher gives each kernel the first free *slot* of ``.cache/evcxr-slots/`` instead:

* slot ``N`` is the directory ``slot-N/``; the kernel holds an exclusive lock on
  ``slot-N.lock`` for its whole life (the lock's file descriptor is inherited by evcxr and
  released when the last of its processes exits), so two live kernels never share a slot;
* when every slot is taken, the kernel gets a new ``spill-*`` directory beside them (locked the
  same way; a spill directory nobody holds is removed at the next start);
* stale ``libcode_*`` files of the previous kernel in the slot are removed;
* ``.cargo/config.toml`` in the slots directory keeps every dependency optimized (opt-level 3,
  no debug assertions) while the cell crate is compiled at evcxr's ``opt_level`` (set to 0 in
  ``tools/evcxr/*/evcxr.toml``): cells compile fast, and what they call runs at full speed.

Cargo's freshness check then rebuilds a path crate only when its sources changed. Then it
``exec``s evcxr_jupyter with ``EVCXR_TMPDIR`` set, so it is evcxr itself that Jupyter talks to.

Environment: ``ANN_EVCXR_SLOTS`` (the slots directory, default ``<repo>/.cache/evcxr-slots``),
``ANN_EVCXR_SLOT_COUNT`` (default 4), ``ANN_EVCXR_FRESH=1`` (a new, empty spill directory: a
cold start, for measurements). An ``EVCXR_TMPDIR`` already set is respected as is.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Cargo reads .cargo/config.toml from every parent of the crate directory, so this applies to
# the crate evcxr writes in each slot. `"*"` is every package but the crate itself (the cell).
CARGO_CONFIG = """\
# Written by scripts/evcxr_kernel.py: the dependencies of notebook cells (ann_core, ann_plot,
# ndarray, plotters, ...) are compiled optimized and without debug assertions; the cell crate
# itself uses evcxr's opt_level (tools/evcxr/*/evcxr.toml), so that cells compile fast.
[profile.dev.package."*"]
opt-level = 3
debug-assertions = false
overflow-checks = false
"""


def lock(path: Path) -> int | None:
    """An exclusive lock on `path` (created if missing): its file descriptor, or None if held."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


def remove_stale_spills(root: Path) -> None:
    """Spill directories whose lock nobody holds belong to kernels that have exited."""
    for lock_file in root.glob("spill-*.lock"):
        fd = lock(lock_file)
        if fd is None:
            continue
        shutil.rmtree(lock_file.with_suffix(""), ignore_errors=True)
        lock_file.unlink(missing_ok=True)
        os.close(fd)


def remove_stale_outputs(slot: Path) -> None:
    """The previous kernel's compiled cells (evcxr numbers them from 1 again)."""
    for so in slot.glob("target/*/debug/deps/libcode_*"):
        so.unlink(missing_ok=True)


def claim(root: Path, count: int) -> tuple[Path, int]:
    """The first free slot, or a new spill directory; returns it with its lock's fd."""
    remove_stale_spills(root)
    for n in range(count if os.environ.get("ANN_EVCXR_FRESH") != "1" else 0):
        fd = lock(root / f"slot-{n}.lock")
        if fd is not None:
            return root / f"slot-{n}", fd
    spill = Path(tempfile.mkdtemp(prefix="spill-", dir=root))
    fd = lock(spill.with_name(spill.name + ".lock"))
    if fd is None:  # a fresh name: cannot be held by anyone else
        raise SystemExit(f"evcxr_kernel.py: cannot lock {spill}.lock")
    return spill, fd


def main() -> None:
    if len(sys.argv) < 2:
        raise SystemExit("usage: evcxr_kernel.py EVCXR_JUPYTER [ARGS...]")
    evcxr, args = sys.argv[1], sys.argv[2:]
    env = os.environ
    if "EVCXR_TMPDIR" not in env:
        root = Path(env.get("ANN_EVCXR_SLOTS", ROOT / ".cache" / "evcxr-slots"))
        root.mkdir(parents=True, exist_ok=True)
        config = root / ".cargo" / "config.toml"
        if not config.is_file() or config.read_text() != CARGO_CONFIG:
            config.parent.mkdir(exist_ok=True)
            config.write_text(CARGO_CONFIG)
        slot, fd = claim(root, int(env.get("ANN_EVCXR_SLOT_COUNT", "4")))
        slot.mkdir(exist_ok=True)
        remove_stale_outputs(slot)
        os.set_inheritable(fd, True)  # evcxr and its children keep the lock
        env["EVCXR_TMPDIR"] = str(slot)
    os.execv(evcxr, [evcxr, *args])


if __name__ == "__main__":
    main()
