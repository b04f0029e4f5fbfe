"""Build submissions from the released notebook: the reference answers, or a known bug.

Used by the grading round-trip tests (bug zoo) and by the grading benchmark,
which needs a synthetic class of realistic submissions.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import nbformat

from dlbgrader.cells import grade_id, nbgrader_meta

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"


def strip_markers(source: str) -> str:
    """Remove nbgrader's solution delimiters, keeping the solution code."""
    return "\n".join(line for line in source.splitlines() if line.strip() not in (BEGIN, END))


def solution_sources(source_nb: Any) -> dict[str, str]:
    """grade_id -> the answer a perfect student would type, for every solution cell of the source notebook."""
    out: dict[str, str] = {}
    for cell in source_nb.cells:
        meta = nbgrader_meta(cell)
        if meta.get("solution"):
            out[meta["grade_id"]] = strip_markers(cell.source) if cell.cell_type == "code" else cell.source
    return out


def fill(
    release_nb: Any,
    answers: Mapping[str, str],
    *,
    replace: Mapping[str, tuple[str, str]] | None = None,
) -> Any:
    """A copy of ``release_nb`` with each solution cell's source set to ``answers[grade_id]``.

    ``replace`` maps a grade_id to ``(old, new)``: a substring of that answer to swap
    (how a bug-zoo variant is made). A missing ``old`` raises ``ValueError`` so a bug
    that silently stopped applying cannot pass for a caught bug.
    """
    nb = copy.deepcopy(release_nb)
    replace = dict(replace or {})
    for cell in nb.cells:
        gid = grade_id(cell)
        if gid is not None and nbgrader_meta(cell).get("solution") and gid in answers:
            src = answers[gid]
            if gid in replace:
                old, new = replace.pop(gid)
                if old not in src:
                    raise ValueError(f"bug for cell {gid!r} does not apply: {old!r} not found in the solution")
                src = src.replace(old, new, 1)
            cell.source = src
    if replace:
        raise ValueError(f"no solution cells named {sorted(replace)}")
    return nb


def write_solution_submission(
    source: Path, release: Path, dest: Path, *, replace: Mapping[str, tuple[str, str]] | None = None
) -> Path:
    """Write the released notebook filled with the source's answers (optionally with a bug) to ``dest``."""
    src_nb = nbformat.read(str(source), as_version=4)
    rel_nb = nbformat.read(str(release), as_version=4)
    nb = fill(rel_nb, solution_sources(src_nb), replace=replace)
    dest.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(dest))
    return dest
