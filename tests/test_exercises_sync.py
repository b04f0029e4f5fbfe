"""exercises/ is exactly what nbgrader generates from solutions/ (regenerate with `make exercises`)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat
import pytest

from dlbgrader.cells import is_test_cell
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


def _unused_imports(source: str) -> list[str]:
    tree = ast.parse(source)
    imported = {
        (alias.asname or alias.name).split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in node.names
    }
    used = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    return sorted(imported - used)


@pytest.mark.parametrize("assignment", assignments())
def test_test_cells_import_only_what_they_use(assignment: str) -> None:
    """Every test cell, and its visible part (what the student sees), imports only names it uses."""
    nb = nbformat.read(str(next((ROOT / "solutions" / assignment).glob("*.ipynb"))), as_version=4)
    problems = []
    for cell in nb.cells:
        if cell.cell_type != "code" or not is_test_cell(cell):
            continue
        visible = re.sub(r"### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS", "", cell.source, flags=re.S)
        for part, source in (("visible part", visible), ("whole cell", cell.source)):
            unused = _unused_imports(source)
            if unused:
                problems.append(f"{cell.metadata['nbgrader']['grade_id']} ({part}) imports but never uses {unused}")
    assert not problems, "\n".join(problems)
