"""The capstone (ps7_capstone) trains a network inside the hidden tests: what happens when a student's
training never finishes. The bug zoo and the alternatives go through tests/test_grading.py; a
submission that exceeds the time limit would add two minutes to that class, so it is graded here, with
a short notebook budget, beside a correct one."""

from __future__ import annotations

import time
from pathlib import Path

import nbformat
import pytest

from dlbgrader.grade import grade_class
from dlbgrader.synthetic import write_solution_submission
from tests.grading_helpers import points, released_course

ASSIGNMENT = "ps7_capstone"
BUDGET = 15  # seconds for a whole notebook (c.DrivenExecute.notebook_timeout)

SLOW = """
def train_classifier(x_train, y_train, rng):
    import time
    while True:  # "one more epoch": training that never ends
        time.sleep(0.05)
"""


@pytest.mark.slow
def test_training_past_the_time_limit_loses_the_capstone_and_nothing_else(tmp_path: Path) -> None:
    """A train_classifier that never returns is interrupted at the time limit; its row is graded with 0
    points and says why; the correct submission graded beside it gets full marks; the batch goes on."""
    course, source_nb, release_nb = released_course(tmp_path / "course", ASSIGNMENT)
    with open(course.root / "nbgrader_config.py", "a", encoding="utf-8") as f:
        f.write(f"\nc.DrivenExecute.notebook_timeout = {BUDGET}\n")
    subs = tmp_path / "subs"
    write_solution_submission(source_nb, release_nb, subs / "reference" / ASSIGNMENT / source_nb.name)
    path = write_solution_submission(source_nb, release_nb, subs / "slow" / ASSIGNMENT / source_nb.name)
    nb = nbformat.read(str(path), as_version=4)
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "train_classifier")
    cell.source = SLOW
    nbformat.write(nb, str(path))

    t0 = time.perf_counter()
    results = {
        r.student: r for r in grade_class(course, ASSIGNMENT, subs, out_dir=tmp_path / "out", progress=False, workers=2)
    }
    seconds = time.perf_counter() - t0

    auto, _ = points(ASSIGNMENT)
    ref, slow = results["reference"], results["slow"]
    assert ref.status == "graded" and ref.score == pytest.approx(sum(auto.values())), (ref.status, ref.reason)
    assert slow.status == "graded", slow.reason
    assert slow.score == 0, slow.cells
    assert "train_classifier() did not finish within the time limit" in slow.reason, slow.reason
    assert seconds < BUDGET + 60, f"the budget bounds the slow notebook ({seconds:.0f} s for the run)"
