"""Collect a folder of submissions into nbgrader's layout, repairing what students broke.

Accepted layouts for the submissions folder:

* nbgrader's ``<dir>/<student>/<assignment>/<notebook>.ipynb`` (or ``<dir>/<student>/<notebook>.ipynb``);
* a flat folder of ``<student>.ipynb`` files, as an LMS download gives.
"""

from __future__ import annotations

import copy
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat

from dlbasics.course.cells import grade_id
from dlbasics.course.course import Course, CourseError

_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


@dataclass
class Submission:
    """One student's submission as found in the input folder."""

    student: str
    notebook: Path | None
    problem: str = ""


def student_id(name: str) -> str:
    """A safe student id from a file or folder name."""
    sid = _SAFE.sub("_", name).strip("._")
    if not sid:
        raise CourseError(f"cannot derive a student id from {name!r}")
    return sid


def discover(submissions: Path, assignment: str) -> list[Submission]:
    """Find each student's notebook in ``submissions`` (nbgrader layout or a flat folder)."""
    submissions = Path(submissions)
    if not submissions.is_dir():
        raise CourseError(f"submissions folder not found: {submissions}")
    found: list[Submission] = []
    for entry in sorted(submissions.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_file() and entry.suffix == ".ipynb":
            found.append(Submission(student_id(entry.stem), entry))
        elif entry.is_dir():
            folder = entry / assignment if (entry / assignment).is_dir() else entry
            nbs = sorted(p for p in folder.glob("*.ipynb") if not p.name.startswith("."))
            sid = student_id(entry.name)
            if not nbs:
                found.append(Submission(sid, None, f"no notebook found in {folder}"))
            elif len(nbs) > 1:
                found.append(Submission(sid, nbs[0], f"{len(nbs)} notebooks found; graded {nbs[0].name}"))
            else:
                found.append(Submission(sid, nbs[0]))
    seen: set[str] = set()
    for s in found:
        if s.student in seen:
            raise CourseError(f"two submissions map to the same student id {s.student!r}")
        seen.add(s.student)
    return found


def place(course: Course, assignment: str, notebook_name: str, sub: Submission, release_nb: Any) -> str:
    """Copy a submission into nbgrader's submitted/ layout, repaired against the release notebook
    ``release_nb`` (see :func:`repair`); return a problem string or ''."""
    dest_dir = course.grading_dir / "submitted" / sub.student / assignment
    if dest_dir.exists():
        shutil.rmtree(dest_dir)
    if sub.notebook is None:
        return sub.problem
    try:
        nb = nbformat.read(str(sub.notebook), as_version=4)
    except Exception as exc:  # invalid JSON, wrong schema, unreadable file
        return f"invalid notebook ({type(exc).__name__}: {str(exc).splitlines()[0][:200]})"
    notes = repair(nb, release_nb)
    if notes:
        sub.problem = "; ".join(([sub.problem] if sub.problem else []) + notes)
    dest_dir.mkdir(parents=True, exist_ok=True)
    # Whatever the student named the file, it is graded as the assignment's notebook.
    nbformat.write(nb, str(dest_dir / notebook_name))
    return ""


def repair(nb: Any, release_nb: Any) -> list[str]:
    """Make ``nb`` structurally match the release before autograding; return what was changed.

    Test and other locked cells the student deleted are put back (from the release version, in
    their place); a duplicated test cell is dropped, so it cannot count twice; a duplicated answer
    cell stays as ordinary code (it still runs) but only the first copy is graded. nbgrader then
    restores every test cell's source from the gradebook, so edited tests are undone too.
    """
    notes: list[str] = []
    seen: set[str] = set()
    kept = []
    for cell in nb.cells:
        g = grade_id(cell)
        if g and g in seen:
            if cell.metadata["nbgrader"].get("solution"):
                del cell.metadata["nbgrader"]
                kept.append(cell)
                notes.append(f"cell {g} appears twice: only the first copy is graded")
            else:
                notes.append(f"duplicated cell {g} removed")
            continue
        if g:
            seen.add(g)
        kept.append(cell)
    nb.cells = kept
    pos = 0
    ids = {c.get("id") for c in nb.cells}
    for rcell in release_nb.cells:
        g = grade_id(rcell)
        if not g:
            continue
        where = next((i for i, c in enumerate(nb.cells) if grade_id(c) == g), None)
        if where is not None:
            pos = where + 1
            continue
        new = copy.deepcopy(rcell)
        if new.get("id") in ids:
            new["id"] = f"{new['id']}-restored"[:64]
        ids.add(new.get("id"))
        nb.cells.insert(pos, new)
        pos += 1
        notes.append(f"deleted cell {g} restored")
    return notes
