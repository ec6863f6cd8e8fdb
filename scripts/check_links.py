#!/usr/bin/env python3
"""`make links`: every relative link of the course resolves, and the chapters form one chain.

Reads the Markdown of README.md, notebooks/*.md and the markdown cells of every notebook under
notebooks/ (exercises included). A link [text](target) whose target is not a URL must name an
existing file relative to the linking file; `#anchor` parts pointing into a Markdown file must
match one of its headings (GitHub's slug: lower case, punctuation dropped, spaces to hyphens;
in a notebook also JupyterLab's: the heading as written, spaces to hyphens).
Then the chapters: each course notebook's first cell links its **Previous:** and **Next:**
chapter, and A's Next is B exactly when B's Previous is A, so the chain has no gap or fork.
Exit 1 with one line per problem.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINK = re.compile(r"\[([^\]]*)\]\(([^)\s]+)\)")
NAV = re.compile(r"\*\*(Previous|Next|Start):\*\*\s*\[[^\]]*\]\(([^)\s]+)\)")


def markdown_of(path: Path) -> list[str]:
    """The Markdown texts of a file: the whole file, or a notebook's markdown cells."""
    if path.suffix == ".ipynb":
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        return ["".join(c["source"]) for c in cells if c["cell_type"] == "markdown"]
    return [path.read_text(encoding="utf-8")]


def slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    found = set()
    for text in markdown_of(path):
        for line in text.splitlines():
            if line.startswith("#"):
                heading = line.lstrip("#")
                found.add(slug(heading))
                if path.suffix == ".ipynb":
                    # JupyterLab's anchor: the heading as written, spaces to hyphens.
                    found.add(heading.strip().replace(" ", "-"))
    return found


def check_links(files: list[Path]) -> list[str]:
    problems = []
    for path in files:
        for text in markdown_of(path):
            # Code spans and fenced blocks hold example syntax, not links.
            text = re.sub(r"```.*?```", "", text, flags=re.S)
            text = re.sub(r"`[^`\n]*`", "", text)
            # An escaped bracket, as in g\[l\](Z), is text.
            text = text.replace("\\[", "").replace("\\]", "")
            # So is LaTeX: $dZ^{[l](j)}$ is an index, not a link.
            text = re.sub(r"\$\$.*?\$\$", "", text, flags=re.S)
            text = re.sub(r"\$[^$\n]*\$", "", text)
            for _, target in LINK.findall(text):
                if re.match(r"^[a-z]+:", target) or target.startswith("mailto:"):
                    continue
                file_part, _, anchor = target.partition("#")
                dest = (path.parent / file_part).resolve() if file_part else path
                where = path.relative_to(ROOT)
                if not dest.exists():
                    problems.append(f"{where}: link to {target}: no such file")
                elif anchor and dest.suffix in (".md", ".ipynb") and anchor not in anchors(dest):
                    problems.append(f"{where}: link to {target}: no heading with that anchor")
    return problems


def check_chain(chapters: list[Path]) -> list[str]:
    problems, prev_of, next_of = [], {}, {}
    for path in chapters:
        first = markdown_of(path)[0] if markdown_of(path) else ""
        nav = dict((kind, (path.parent / target).resolve()) for kind, target in NAV.findall(first))
        if "Next" not in nav and "Previous" not in nav:
            problems.append(f"{path.relative_to(ROOT)}: the first cell has no **Previous:** / **Next:** line")
        if "Previous" in nav:
            prev_of[path.resolve()] = nav["Previous"]
        if "Next" in nav:
            next_of[path.resolve()] = nav["Next"]
    for a, b in next_of.items():
        if b.suffix == ".ipynb" and prev_of.get(b) != a:
            problems.append(f"{a.relative_to(ROOT)}: Next is {b.name}, whose Previous is not back here")
    for b, a in prev_of.items():
        if next_of.get(a) != b:
            problems.append(f"{b.relative_to(ROOT)}: Previous is {a.name}, whose Next is not this notebook")
    return problems


def main() -> int:
    notebooks = ROOT / "notebooks"
    files = [ROOT / "README.md", *sorted(notebooks.rglob("*.md")), *sorted(notebooks.rglob("*.ipynb"))]
    files = [f for f in files if ".ipynb_checkpoints" not in f.parts]
    chapters = sorted(p for p in notebooks.glob("*.ipynb"))
    problems = check_links(files) + check_chain(chapters)
    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        return 1
    print(f"links: {len(files)} files, every relative link resolves; {len(chapters)} chapters in one chain")
    return 0


if __name__ == "__main__":
    sys.exit(main())
