"""Reading nbgrader's gradebook: the points of each test cell, per student and at most."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from dlbgrader.course import Course


@dataclass
class Scores:
    """One student's points per graded cell (None: a person still has to grade it) and nbgrader's total."""

    cells: dict[str, float | None] = field(default_factory=dict)
    total: float = 0.0


def _scores(sub: Any) -> Scores:
    cells: dict[str, float | None] = {}
    for nb in sub.notebooks:
        for g in nb.grades:
            cells[g.name] = None if g.needs_manual_grade else float(g.score or 0.0)
    return Scores(cells, float(sub.score))


def student_scores(course: Course, assignment: str, student: str) -> Scores:
    """One student's scores (the submission must be in the gradebook)."""
    from nbgrader.api import Gradebook

    with Gradebook(course.db_url) as gb:
        return _scores(gb.find_submission(assignment, student))


def scores(course: Course, assignment: str, students: Iterable[str]) -> dict[str, Scores]:
    """Scores of those ``students`` the gradebook has a submission for (one connection for all)."""
    from nbgrader.api import Gradebook, MissingEntry

    out: dict[str, Scores] = {}
    with Gradebook(course.db_url) as gb:
        for student in students:
            try:
                out[student] = _scores(gb.find_submission(assignment, student))
            except MissingEntry:
                continue
    return out


@dataclass(frozen=True)
class Points:
    """Every graded cell's points: autograded test cells first, then manually graded answers."""

    cells: dict[str, float]
    autograded: frozenset[str]

    @property
    def total(self) -> float:
        return sum(self.cells.values())

    @property
    def tests(self) -> dict[str, float]:
        return {c: p for c, p in self.cells.items() if c in self.autograded}


def points(course: Course, assignment: str) -> Points:
    from nbgrader.api import Gradebook

    with Gradebook(course.db_url) as gb:
        a = gb.find_assignment(assignment)
        cells = [c for nb in a.notebooks for c in nb.grade_cells]
        ordered = [c for c in cells if c.cell_type == "code"] + [c for c in cells if c.cell_type != "code"]
        return Points(
            {c.name: float(c.max_score) for c in ordered}, frozenset(c.name for c in cells if c.cell_type == "code")
        )


def gradebook_name(course: Course) -> str:
    """The gradebook in use, for messages: the SQLite file, or the server URL without its password."""
    from sqlalchemy.engine import make_url

    url = make_url(course.db_url)
    if url.get_backend_name() == "sqlite":
        return str(course.db_path)
    return url.render_as_string(hide_password=True)
