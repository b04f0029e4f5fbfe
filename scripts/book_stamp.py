"""Print a hash of everything the book's executed chapters depend on besides their own cells.

jupyter-cache re-executes a chapter when its code cells change; it cannot see the modules they
import, the pinned environment, or the book's Sphinx extensions. ``make book`` compares this hash
with the one of the last successful build and, when they differ, executes every chapter again.
It covers exactly the ``dlbasics`` modules the chapters import (transitively): an edit to the grader
(lib/dlbgrader) or to a module no chapter imports does not re-execute the book.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import nbformat
import yaml

from dlbgrader.manifest import grading_dependencies, hash_tree

ROOT = Path(__file__).resolve().parent.parent


def chapter_sources() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    files = [c["file"] for p in toc.get("parts", []) for c in p.get("chapters", [])]
    out = []
    for f in files:
        path = ROOT / f"{f}.ipynb"
        if path.is_file():
            nb = nbformat.read(str(path), as_version=4)
            out += [c.source for c in nb.cells if c.cell_type == "code"]
    return out


def main() -> int:
    h = hashlib.sha256()
    for path in grading_dependencies(chapter_sources(), always=("dlbasics",)):
        h.update(str(path.relative_to(ROOT / "lib")).encode() + b"\0" + path.read_bytes() + b"\0")
    for name in ("pyproject.toml", "constraints.txt", "_config.yml"):
        p = ROOT / name
        h.update(name.encode() + b"\0" + (p.read_bytes() if p.is_file() else b"") + b"\0")
    h.update(hash_tree(ROOT / "_ext").encode())
    print(h.hexdigest())
    return 0


if __name__ == "__main__":
    sys.exit(main())
