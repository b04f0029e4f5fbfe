"""The chapter table (``chapters.yml``): what belongs to each chapter. Read by tests and the benchmark."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
TABLE = ROOT / "chapters.yml"


@dataclass(frozen=True)
class Chapter:
    number: int
    slug: str
    title: str
    status: str  # "written" or "planned"
    book: str
    assignment: str
    lib: tuple[str, ...]
    tests: tuple[str, ...]
    bugzoo: str

    @property
    def written(self) -> bool:
        return self.status == "written"

    @property
    def marker(self) -> str:
        """The pytest marker of everything that belongs to this chapter: ``ps3`` for ``ps3_losses``."""
        return self.assignment.split("_", 1)[0]

    @property
    def toc_entry(self) -> str:
        return self.book.rsplit(".", 1)[0]


@cache
def chapters() -> tuple[Chapter, ...]:
    data = yaml.safe_load(TABLE.read_text(encoding="utf-8"))
    out = []
    for row in data["chapters"]:
        out.append(
            Chapter(
                number=int(row["number"]),
                slug=str(row["slug"]),
                title=str(row["title"]),
                status=str(row.get("status", "written")),
                book=str(row["book"]),
                assignment=str(row["assignment"]),
                lib=tuple(row.get("lib") or ()),
                tests=tuple(row.get("tests") or ()),
                bugzoo=str(row["bugzoo"]),
            )
        )
    return tuple(out)


@cache
def shared() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(lib modules, test modules) that belong to every chapter."""
    data = yaml.safe_load(TABLE.read_text(encoding="utf-8"))
    s = data.get("shared") or {}
    return tuple(s.get("lib") or ()), tuple(s.get("tests") or ())


def written() -> list[Chapter]:
    return [c for c in chapters() if c.written]


def by_assignment(assignment: str) -> Chapter:
    for c in chapters():
        if c.assignment == assignment:
            return c
    raise KeyError(f"{assignment} is not in chapters.yml")


def graded_assignments() -> list[str]:
    """Assignments of the written chapters: the ones the grading round trips run."""
    return [c.assignment for c in written()]


def course_assignments() -> list[str]:
    """The assignments that exist (a folder in solutions/), in chapter order: what the grading round trips,
    the exercises' sync checks and the site's Exercises page cover. Each must have a bug zoo
    (tests/test_grading.py fails, saying so, where one is missing)."""
    return [c.assignment for c in chapters() if (ROOT / "solutions" / c.assignment).is_dir()]
