"""Bug zoos: known-wrong answers per assignment (``tests/bugzoo/<assignment>.py`` defines ``BUGS``).

A bug is applied to the reference answer of one solution cell (``cell`` is its grade_id), with the
``### BEGIN/END SOLUTION`` lines removed, by replacing the first occurrence of ``old`` with ``new``.
``loses`` is the exact set of autograded test cells that must then score less than full points;
every other test cell must keep its full points. ``misconception`` is the id of the misconception
the bug embodies (``dlbasics.checks.misconceptions.<assignment>``): the grader's feedback must
diagnose it as that one.

A module may also define ``ALTERNATIVES``: correct answers written differently from the reference
(another but equivalent formula, loop order or NumPy idiom), as ``Bug`` values with empty ``loses``:
each must get full marks (a grader that accepts only one way of writing the answer is wrong).
"""

from __future__ import annotations

from typing import NamedTuple


class Bug(NamedTuple):
    name: str
    cell: str  # grade_id of the solution cell to modify
    old: str  # exact substring of that solution cell's source with the SOLUTION marker lines removed
    new: str  # replacement
    loses: frozenset[str]  # exactly the grade_ids of the test cells that must score less than full points
    why: str  # the misconception, in one line
    misconception: str | None = None  # its id in the assignment's table of misconceptions
