"""exercises/ is exactly what nbgrader generates from solutions/ (regenerate with `make exercises`)."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from tests.grading_helpers import ROOT, assignments, make_course


@pytest.mark.slow
@pytest.mark.parametrize("assignment", assignments())
def test_exercises_are_generated_from_solutions(assignment: str, tmp_path: Path) -> None:
    course = make_course(tmp_path, [assignment])
    fresh_dir = course.release(assignment)
    committed_dir = ROOT / "exercises" / assignment
    fresh = sorted(p.name for p in fresh_dir.iterdir())
    committed = sorted(p.name for p in committed_dir.iterdir()) if committed_dir.is_dir() else []
    assert fresh == committed, f"exercises/{assignment} files {committed} != generated {fresh}; run `make exercises`"
    for name in fresh:
        if name.endswith(".ipynb"):
            a = nbformat.read(str(fresh_dir / name), as_version=4)
            b = nbformat.read(str(committed_dir / name), as_version=4)
            assert a == b, f"exercises/{assignment}/{name} is out of date with solutions/; run `make exercises`"
        else:
            assert (fresh_dir / name).read_bytes() == (committed_dir / name).read_bytes()


@pytest.mark.parametrize("assignment", assignments())
def test_student_version_has_no_solutions_or_hidden_tests(assignment: str) -> None:
    for nb_path in (ROOT / "exercises" / assignment).glob("*.ipynb"):
        text = nb_path.read_text(encoding="utf-8")
        for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"):
            assert marker not in text, f"{nb_path.relative_to(ROOT)} leaks {marker!r}"
