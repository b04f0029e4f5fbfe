"""Temporary course directories for grading tests: the real nbgrader, the repo's config and sources."""

from __future__ import annotations

import shutil
from pathlib import Path

from dlbasics.course.course import Course

ROOT = Path(__file__).resolve().parent.parent


def make_course(tmp: Path, assignments: list[str]) -> Course:
    """A fresh course in ``tmp`` with the repository's nbgrader_config.py and the given source assignments."""
    tmp.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "nbgrader_config.py", tmp / "nbgrader_config.py")
    for a in assignments:
        shutil.copytree(ROOT / "solutions" / a, tmp / "solutions" / a)
    return Course(tmp)


def assignments() -> list[str]:
    return sorted(p.name for p in (ROOT / "solutions").iterdir() if p.is_dir() and any(p.glob("*.ipynb")))
