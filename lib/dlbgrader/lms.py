"""The grades in the CSV layouts that learning-management systems import, besides ``grades.csv``.

Each file has one row per student of ``grades.csv`` with the same total score (a submission that
could not be graded scores 0 there too). The student id is the one ``dlb grade`` used (the
submission's file or folder name), so it must be the LMS's login or id number for the rows to match.

* ``canvas.csv``: Canvas's Gradebook import (Instructor Guide, "How do I import grades in the
  Gradebook?"). Canvas requires the columns ``Student``, ``ID``, ``SIS User ID``, ``SIS Login ID``
  and ``Section`` before the assignment columns; a column whose header is not an existing assignment
  creates one, and a second row starting ``Points Possible`` gives its maximum. The student id goes
  into ``SIS Login ID`` (the student's login, one of the columns Canvas identifies a student by) and
  ``Student``; ``ID``, ``SIS User ID`` and ``Section`` are left empty (dlb does not know them). To
  update an existing assignment, rename the column to the ``<name> (<assignment id>)`` header of a
  Canvas export. (Checked against the documentation, not against a Canvas instance.)
* ``moodle.csv``: Moodle's grade import from a CSV file (Grades › Import › CSV file; Moodle docs
  "Grade import"): one column identifies the user and is mapped by the teacher ("Map from" this
  column, "Map to" username, ID number, email or user id), every other column is mapped to a grade
  item or to its feedback. Columns: ``Username`` (the student id), the assignment's score, and
  ``Feedback`` (why a submission could not be graded; empty otherwise).
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable
from pathlib import Path

from dlbgrader.report import Result

CANVAS_IDENTITY = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
MOODLE_COLUMNS = ["Username", "{assignment}", "Feedback"]


def _write(path: Path, rows: Iterable[list[str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)
    os.replace(tmp, path)


def _score(r: Result) -> str:
    return f"{r.score:g}"


def canvas_rows(assignment: str, results: list[Result]) -> list[list[str]]:
    mx = max((r.max_score for r in results), default=0.0)
    rows = [[*CANVAS_IDENTITY, assignment], ["Points Possible", "", "", "", "", f"{mx:g}"]]
    rows += [[r.student, "", "", r.student, "", _score(r)] for r in results]
    return rows


def moodle_rows(assignment: str, results: list[Result]) -> list[list[str]]:
    rows = [[c.format(assignment=assignment) for c in MOODLE_COLUMNS]]
    rows += [
        [r.student, _score(r), "" if r.status == "graded" else f"could not be graded: {r.reason}"] for r in results
    ]
    return rows


def write_canvas(path: Path, assignment: str, results: list[Result]) -> None:
    _write(path, canvas_rows(assignment, list(results)))


def write_moodle(path: Path, assignment: str, results: list[Result]) -> None:
    _write(path, moodle_rows(assignment, list(results)))
