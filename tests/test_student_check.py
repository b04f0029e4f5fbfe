"""`dlb check`: a student runs the visible tests of a notebook from the terminal."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from dlbgrader.synthetic import write_solution_submission

ROOT = Path(__file__).resolve().parent.parent
DLB = Path(sys.executable).parent / "dlb"


@pytest.mark.slow
def test_check_reports_every_test_cell_of_the_blank_and_the_solved_notebook(tmp_path: Path) -> None:
    blank = ROOT / "exercises" / "ps1_foundations" / "ps1_foundations.ipynb"
    before = blank.read_bytes()
    proc = subprocess.run([str(DLB), "check", str(blank)], capture_output=True, text=True)
    assert proc.returncode == 1, "a notebook with failing visible tests must exit non-zero"
    assert "FAIL  test_linear_forward" in proc.stdout
    assert "not implemented yet" in proc.stdout
    assert "visible tests: 0/" in proc.stdout
    assert blank.read_bytes() == before, "dlb check must not modify the student's notebook"
    for stream in (proc.stdout, proc.stderr):
        assert "WARNING" not in stream and "without encryption" not in stream, f"noise shown to students: {stream}"

    solved = write_solution_submission(
        ROOT / "solutions" / "ps1_foundations" / "ps1_foundations.ipynb", blank, tmp_path / "ps1_foundations.ipynb"
    )
    proc = subprocess.run([str(DLB), "check", str(solved)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "FAIL" not in proc.stdout
    assert "PASS  test_gd_values" in proc.stdout
