#!/usr/bin/env python3
"""Generate the learner's exercise notebooks from the solutions (`make exercises`).

The solutions in ``notebooks/exercises/solutions/`` are the one source of truth. In their code
cells, each answer stands between two marker comments:

    fn linear_forward(w: ArrayView2<f64>, a_prev: ArrayView2<f64>, b: ArrayView2<f64>) -> Array2<f64> {
        // SOLUTION: Z = W·A + b: w.dot(&a_prev), then + &b
        w.dot(&a_prev) + &b
        // END SOLUTION
    }

In ``notebooks/exercises/`` the answer becomes ``todo!("<the hint>")``; relative paths lose
one ``../`` (the learner's notebooks sit one folder higher); outputs are cleared (execute the
notebooks to fill them: ``make notebooks``). ``--check`` writes nothing and fails when a
learner notebook's cells are not what the solutions generate (``make test`` runs it).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "notebooks" / "exercises" / "solutions"
EXERCISES = ROOT / "notebooks" / "exercises"
BEGIN = re.compile(r"^(?P<indent>\s*)// SOLUTION:\s*(?P<hint>.*?)\s*$")
END = re.compile(r"^\s*// END SOLUTION\s*$")


def blank(code: str, where: str) -> str:
    """The code with every marked answer replaced by todo!(hint)."""
    out, inside = [], False
    for line in code.split("\n"):
        begin = BEGIN.match(line)
        if begin:
            if inside:
                raise SystemExit(f"make_exercises: {where}: SOLUTION inside SOLUTION")
            # The hint is a format string of todo!(): escape quotes, backslashes and braces.
            hint = begin["hint"].replace("\\", "\\\\").replace('"', '\\"').replace("{", "{{").replace("}", "}}")
            out.append(f'{begin["indent"]}todo!("{hint}")')
            inside = True
        elif END.match(line):
            if not inside:
                raise SystemExit(f"make_exercises: {where}: END SOLUTION without SOLUTION")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise SystemExit(f"make_exercises: {where}: SOLUTION without END SOLUTION")
    return "\n".join(out)


def one_folder_up(text: str) -> str:
    """Relative links of a solution (in solutions/) as seen from exercises/."""
    text = text.replace('"../../../', '"../../').replace("](../../", "](../")
    # The solutions' link to their own folder, seen from exercises/.
    return text.replace("[`solutions/`](./)", "[`solutions/`](solutions/)")


def source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def lines(text: str) -> list[str]:
    return [line for line in re.split(r"(?<=\n)", text) if line]


def learner_version(solution: dict, name: str) -> dict:
    nb = json.loads(json.dumps(solution))
    for i, cell in enumerate(nb["cells"]):
        text = one_folder_up(source(cell))
        if cell["cell_type"] == "code":
            text = blank(text, f"{name} cell {i}")
            cell["outputs"] = []
            cell["execution_count"] = None
        cell["source"] = lines(text)
    return nb


def cells_of(nb: dict) -> list[tuple[str, str]]:
    return [(c["cell_type"], source(c)) for c in nb["cells"]]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="fail if the learner notebooks are out of date")
    args = parser.parse_args()
    solutions = sorted(SOLUTIONS.glob("*.ipynb"))
    if not solutions:
        print("make_exercises: no solution notebooks")
        return 1
    stale = []
    for path in solutions:
        solution = json.loads(path.read_text())
        learner = learner_version(solution, path.name)
        target = EXERCISES / path.name
        if args.check:
            current = json.loads(target.read_text()) if target.exists() else None
            if current is None or cells_of(current) != cells_of(learner):
                stale.append(target.relative_to(ROOT))
            continue
        if target.exists() and cells_of(json.loads(target.read_text())) == cells_of(learner):
            print(f"  up to date: {target.relative_to(ROOT)}")
            continue
        target.write_text(json.dumps(learner, indent=1, ensure_ascii=False) + "\n")
        print(f"  wrote {target.relative_to(ROOT)} (outputs cleared: run `make notebooks`)")
    for extra in sorted(set(p.name for p in EXERCISES.glob("*.ipynb")) - set(p.name for p in solutions)):
        stale.append(f"notebooks/exercises/{extra} (no solution)")
    if stale:
        print("exercises: out of date with notebooks/exercises/solutions/ (run `make exercises`):")
        for s in stale:
            print(f"  {s}")
        return 1
    print(f"exercises: {len(solutions)} learner notebooks match their solutions")
    return 0


if __name__ == "__main__":
    sys.exit(main())
