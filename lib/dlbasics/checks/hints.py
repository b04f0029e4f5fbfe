"""Misconceptions as data: each assignment's table of the mistakes its tests diagnose.

A test cell names the misconception a failing check most likely reveals::

    from dlbasics.checks import hints
    H = hints("ps2_activations")
    assert_close(out, expected, name="sigmoid_forward(x)", hint=H.sigmoid_overflow)

The table (``dlbasics/checks/misconceptions/<assignment>.py``, a dict ``MISCONCEPTIONS`` of
id -> (plain words, "Chapter › Section")) is written once per assignment: every test that can
reveal the same mistake uses the same entry, the feedback shows its words and the section to
reread, and the grader counts, per misconception, how many students it caught. Tests check that
every section named exists as a heading of the chapter.

One misconception is the same in every assignment and is not in the tables: :data:`USES_REFERENCE`,
graded work handed to PyTorch or the reference package, which
:func:`~dlbasics.checks.asserts.call_student` reports by itself. ``hints(a)["uses_reference"]`` finds
it too; iterating over ``hints(a)`` gives the assignment's own table only.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache


@dataclass(frozen=True)
class Hint:
    """One misconception: its id, what it is in plain words (no code), and the section that explains it."""

    id: str
    text: str
    section: str  # "Chapter title › Section heading"

    def __str__(self) -> str:
        return f"{self.text} ({self.section})"


#: Graded work handed to PyTorch or to the course's reference package (every assignment).
USES_REFERENCE = Hint(
    "uses_reference",
    "graded work must be your own NumPy code: PyTorch and the course's reference package are not available "
    "when notebooks are graded, and an answer that calls them earns no points for the test",
    "the problem set's Rules",
)
#: Misconceptions every assignment shares, by id.
COMMON: dict[str, Hint] = {USES_REFERENCE.id: USES_REFERENCE}


class Hints:
    """An assignment's misconceptions, by id: ``H.sigmoid_overflow`` or ``H["sigmoid_overflow"]``."""

    def __init__(
        self, assignment: str, table: dict[str, tuple[str, str]]
    ) -> None:
        self.assignment = assignment
        self._hints = {
            k: Hint(k, text, section) for k, (text, section) in table.items()
        }
        clash = set(self._hints) & set(COMMON)
        if clash:
            raise ValueError(
                f"{assignment}: {sorted(clash)} are common misconceptions; do not redefine them"
            )

    def __getitem__(self, key: str) -> Hint:
        try:
            return self._hints.get(key) or COMMON[key]
        except KeyError:
            raise KeyError(
                f"{self.assignment} has no misconception {key!r}"
            ) from None

    def __contains__(self, key: object) -> bool:
        return key in self._hints or key in COMMON

    def __getattr__(self, key: str) -> Hint:
        if key.startswith("_"):
            raise AttributeError(key)
        try:
            return self[key]
        except KeyError as exc:
            raise AttributeError(str(exc)) from None

    def __iter__(self) -> Iterator[Hint]:
        return iter(self._hints.values())

    def __len__(self) -> int:
        return len(self._hints)


@cache
def hints(assignment: str) -> Hints:
    """The misconceptions of ``assignment`` (from ``dlbasics.checks.misconceptions.<assignment>``)."""
    mod = importlib.import_module(
        f"dlbasics.checks.misconceptions.{assignment}"
    )
    return Hints(assignment, dict(mod.MISCONCEPTIONS))
