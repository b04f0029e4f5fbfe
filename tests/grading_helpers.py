"""Temporary course directories for grading tests: the real nbgrader, the repo's config and sources."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat

from dlbgrader.cells import is_test_cell, nbgrader_meta
from dlbgrader.course import Course

ROOT = Path(__file__).resolve().parent.parent


def make_course(tmp: Path, assignments: list[str]) -> Course:
    """A fresh course in ``tmp`` with the repository's nbgrader_config.py and the given source assignments."""
    tmp.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "nbgrader_config.py", tmp / "nbgrader_config.py")
    for a in assignments:
        shutil.copytree(ROOT / "solutions" / a, tmp / "solutions" / a)
    return Course(tmp)


def released_course(tmp: Path, assignment: str) -> tuple[Course, Path, Path]:
    """A fresh course in ``tmp`` with ``assignment`` generated into ``release/``, as grading tests need:
    (course, the source notebook with solutions, the released student notebook)."""
    course = make_course(tmp, [assignment])
    release = course.release(assignment, release_dir="release")
    source_nb = next((course.root / "solutions" / assignment).glob("*.ipynb"))
    return course, source_nb, release / source_nb.name


def assignments() -> list[str]:
    """Every assignment of the course (chapters.yml) that has a source folder, in chapter order."""
    from tests.chapters import course_assignments

    return course_assignments()


def points(assignment: str) -> tuple[dict[str, float], dict[str, float]]:
    """(autograded test cell -> points, manually graded cell -> points), read from the source notebook."""
    nb = nbformat.read(str(next((ROOT / "solutions" / assignment).glob("*.ipynb"))), as_version=4)
    auto: dict[str, float] = {}
    manual: dict[str, float] = {}
    for cell in nb.cells:
        m = nbgrader_meta(cell)
        if m.get("grade"):
            (auto if is_test_cell(cell) else manual)[m["grade_id"]] = float(m["points"])
    return auto, manual
