"""Grading survives bad submissions: edited/deleted/duplicated tests, endless loops, a killed kernel,
an output flood, code that silences the checks, and work handed to the reference implementation.

One temporary course and one submissions folder hold every kind; it is graded once (module fixture).
"""

from __future__ import annotations

import copy
import csv
import html as html_mod
import re
import time
from pathlib import Path
from typing import Any

import nbformat
import pytest

from dlbgrader.cells import grade_id, is_test_cell
from dlbgrader.collect import repair
from dlbgrader.grade import Result, grade_class
from dlbgrader.synthetic import write_solution_submission
from tests.grading_helpers import ROOT, released_course
from tests.grading_helpers import points as cell_points

ASSIGNMENT = "ps2_activations"
TIMEOUT = 10  # seconds per cell, for this test only (nbgrader_config.py keeps 60 s; `import torch` alone can take seconds)

WRONG_RELU = {"relu": ("out = np.maximum(x, 0)", "out = np.abs(x)")}
USES_REFERENCE = {"relu": ("out = np.maximum(x, 0)\n    cache = x\n    return out, cache",
                           "from dlbasics.activations import relu_forward as _ref\n    return _ref(x)")}
LOOPS = {"relu": ("out = np.maximum(x, 0)", "while True:\n        pass\n    out = np.maximum(x, 0)")}

RELU_TESTS = ["test_relu_forward", "test_relu_backward", "test_relu_edge", "test_relu_torch"]
WRONG_RELU_LOSES = set(RELU_TESTS)  # every relu test calls relu_forward (backward uses its cache)

ATTACKS = {
    "atk_numpy_testing": "import numpy.testing\nnumpy.testing.assert_allclose = lambda *a, **k: None",
    "atk_np_allclose": "import numpy as np\nnp.allclose = lambda *a, **k: True\nnp.testing.assert_allclose = lambda *a, **k: None",
    "atk_checks": (
        "import dlbasics.checks as _c, dlbgrader.guard as _g\n"
        "_c.assert_close = _c.assert_shape = _c.assert_dtype = _c.assert_unchanged = lambda *a, **k: None\n"
        "_c.rel_error = lambda a, b: 0.0\n"
        "_c.call_student = _g.call_student = lambda f, *a, **k: f(*a, **k)"
    ),
    # Without the restore, this makes the PyTorch comparison of relu compare the answer with itself.
    "atk_references": (
        "import dlbgrader.references as _r\n"
        "def _fake(fn):\n"
        "    def w(*a, **k):\n"
        "        if fn.__name__ != 'torch_relu':\n"
        "            return fn(*a, **k)\n"
        "        out, cache = relu_forward(a[0])\n"
        "        return out, relu_backward(a[1], cache)\n"
        "    return w\n"
        "_r.torch_reference = _fake"
    ),
    "atk_showtraceback": (
        "import sys\nimport IPython\n"
        "IPython.get_ipython().showtraceback = lambda *a, **k: None\n"
        "IPython.get_ipython()._showtraceback = lambda *a, **k: None\n"
        "sys.excepthook = lambda *a: None"
    ),
}


def points() -> dict[str, float]:
    """Autograded test cell -> points."""
    return cell_points(ASSIGNMENT)[0]


def gid(cell: Any) -> str:
    return grade_id(cell) or ""


def code_cell(source: str) -> Any:
    return nbformat.v4.new_code_cell(source)


class Graded:
    def __init__(self, results: list[Result], out: Path, root: Path, seconds: float) -> None:
        self.by = {r.student: r for r in results}
        self.out = out
        self.root = root
        self.seconds = seconds

    def lost(self, student: str) -> set[str]:
        r = self.by[student]
        assert r.status == "graded", f"{student}: {r.reason}"
        return {c for c, p in points().items() if (r.cells.get(c) or 0.0) < p}


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> Graded:
    tmp = tmp_path_factory.mktemp("robust")
    course, source_nb, release_nb = released_course(tmp / "course", ASSIGNMENT)
    subs = tmp / "submissions"
    subs.mkdir()

    def make(name: str, replace: dict[str, tuple[str, str]] | None = None) -> Any:
        path = write_solution_submission(source_nb, release_nb, tmp / "base" / f"{name}.ipynb", replace=replace)
        return nbformat.read(str(path), as_version=4)

    def save(name: str, nb: Any) -> None:
        nbformat.write(nb, str(subs / f"{name}.ipynb"))

    def insert_after(nb: Any, grade_id: str, source: str) -> Any:
        i = next(i for i, c in enumerate(nb.cells) if gid(c) == grade_id)
        nb.cells.insert(i + 1, code_cell(source))
        return nb

    def append_to(nb: Any, grade_id: str, source: str) -> Any:
        cell = next(c for c in nb.cells if gid(c) == grade_id)
        cell.source += "\n\n" + source
        return nb

    save("reference", make("reference"))
    save("wrong_relu", make("wrong_relu", WRONG_RELU))
    # 1. tests edited to `pass`, deleted, duplicated
    nb = make("tests_pass_correct")
    for c in nb.cells:
        if is_test_cell(c):
            c.source = "pass"
    save("tests_pass_correct", nb)
    nb = make("tests_pass_wrong", WRONG_RELU)
    for c in nb.cells:
        if gid(c) in RELU_TESTS:
            c.source = "pass"
    save("tests_pass_wrong", nb)
    nb = make("tests_deleted_wrong", WRONG_RELU)
    nb.cells = [c for c in nb.cells if gid(c) not in RELU_TESTS]
    save("tests_deleted_wrong", nb)
    nb = make("tests_duplicated")
    extra = [copy.deepcopy(c) for c in nb.cells if gid(c).startswith("test_")]
    for k, c in enumerate(extra):
        c["id"] = f"dup-{k}"
    nb.cells.extend(extra)
    save("tests_duplicated", nb)
    # 2. an answer that never returns; a top-level cell that swallows the interrupt
    save("endless_relu", make("endless_relu", LOOPS))
    save("swallows_interrupt", append_to(make("swallows_interrupt"), "maxout",
                                         "try:\n    while True:\n        pass\nexcept KeyboardInterrupt:\n"
                                         "    while True:\n        pass"))
    # 3. a cell that kills the kernel
    save("kills_kernel", append_to(make("kills_kernel"), "elu", "import os\nos._exit(1)"))
    # 4. an output flood: 50 MB in 500 000 lines, then 50 MB in one line
    save("output_flood", append_to(make("output_flood"), "sigmoid",
                                   "print(('x' * 99 + '\\n') * 500_000)\nprint('y' * 50_000_000)"))
    # 5. code that silences the checks, next to a wrong answer
    for name, attack in ATTACKS.items():
        save(name, insert_after(make(name, WRONG_RELU), "setup", attack))
    # 6. graded work handed to the reference implementation
    save("uses_reference", make("uses_reference", USES_REFERENCE))
    # not a notebook at all
    (subs / "broken_json.ipynb").write_text('{"cells": [', encoding="utf-8")

    out = tmp / "export"
    t0 = time.perf_counter()
    results = grade_class(course, ASSIGNMENT, subs, out_dir=out, progress=False, workers=2, timeout=TIMEOUT)
    return Graded(results, out, course.root, time.perf_counter() - t0)


def test_repair_restores_deleted_and_drops_duplicated_test_cells() -> None:
    release = nbformat.read(str(ROOT / "exercises" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"), as_version=4)
    nb = copy.deepcopy(release)
    nb.cells = [c for c in nb.cells if gid(c) != "test_relu_forward"]
    dup = copy.deepcopy(next(c for c in nb.cells if gid(c) == "test_tanh_edge"))
    dup["id"] = "dup"
    nb.cells.append(dup)
    notes = repair(nb, release)
    assert [gid(c) for c in nb.cells] == [gid(c) for c in release.cells]
    assert any("test_relu_forward" in n for n in notes) and any("test_tanh_edge" in n for n in notes)


def test_time_limit_default_is_sane_and_overridable(tmp_path: Path) -> None:
    from dlbgrader.course import Course, CourseError

    c = Course(ROOT).config()
    assert c.Execute.timeout == 60 and c.Execute.interrupt_on_timeout is True
    assert 0 < c.LimitOutput.max_lines <= 1000 and 0 < c.LimitOutput.max_traceback <= 100
    names = [p.__name__ for p in c.Autograde.autograde_preprocessors]
    assert names[0] == "GuardedExecute" and "LimitOutput" in names and "SaveAutoGrades" in names
    assert Course(ROOT, timeout=5).config().Execute.timeout == 5
    with pytest.raises(CourseError):
        Course(ROOT, timeout=0).config()
    cfg = tmp_path / "nbgrader_config.py"
    cfg.write_text("c = get_config()\nc.Execute.timeout = None\n", encoding="utf-8")
    assert Course(ROOT, config_file=cfg).config().Execute.timeout == 60


@pytest.mark.slow
def test_reference_scores_full_marks(graded: Graded) -> None:
    assert graded.lost("reference") == set()
    assert graded.lost("wrong_relu") == WRONG_RELU_LOSES


@pytest.mark.slow
def test_edited_tests_are_restored(graded: Graded) -> None:
    assert graded.lost("tests_pass_correct") == set(), "a correct answer keeps full marks with edited tests"
    assert graded.lost("tests_pass_wrong") == WRONG_RELU_LOSES, "editing a test to `pass` gains nothing"


@pytest.mark.slow
def test_deleted_tests_are_restored_and_still_score(graded: Graded) -> None:
    assert graded.lost("tests_deleted_wrong") == WRONG_RELU_LOSES
    assert "restored" in graded.by["tests_deleted_wrong"].reason
    assert set(points()) <= set(graded.by["tests_deleted_wrong"].cells)


@pytest.mark.slow
def test_duplicated_tests_do_not_count_twice(graded: Graded) -> None:
    r = graded.by["tests_duplicated"]
    assert graded.lost("tests_duplicated") == set()
    assert r.score == sum(points().values()) <= r.max_score  # max_score also counts manually graded answers


@pytest.mark.slow
def test_endless_answer_loses_only_the_tests_that_call_it(graded: Graded) -> None:
    assert graded.lost("endless_relu") == set(RELU_TESTS)


@pytest.mark.slow
def test_swallowed_interrupt_is_reported_and_the_rest_graded(graded: Graded) -> None:
    r = graded.by["swallows_interrupt"]
    assert r.status == "graded", r.reason
    assert "maxout" in r.reason and "KeyboardInterrupt" in r.reason
    assert graded.lost("swallows_interrupt") == {c for c in points() if "maxout" in c}


@pytest.mark.slow
def test_killed_kernel_is_reported_and_the_rest_graded(graded: Graded) -> None:
    r = graded.by["kills_kernel"]
    assert r.status == "graded", r.reason
    assert "elu" in r.reason and "killed the Python kernel" in r.reason
    assert graded.lost("kills_kernel") == {c for c in points() if c.startswith("test_elu")}


@pytest.mark.slow
def test_output_flood_is_truncated(graded: Graded) -> None:
    assert graded.lost("output_flood") == set()
    autograded = graded.root / "grading" / "autograded" / "output_flood" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    assert autograded.stat().st_size < 1_000_000, f"{autograded.stat().st_size} bytes kept"
    assert (graded.out / "feedback" / "output_flood.html").stat().st_size < 2_000_000


@pytest.mark.slow
@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_silencing_the_checks_gains_nothing(graded: Graded, attack: str) -> None:
    assert graded.lost(attack) == WRONG_RELU_LOSES, ATTACKS[attack]
    assert graded.by[attack].score == graded.by["wrong_relu"].score


@pytest.mark.slow
def test_calling_the_reference_earns_nothing_and_feedback_says_why(graded: Graded) -> None:
    assert graded.lost("uses_reference") == set(RELU_TESTS)
    html = (graded.out / "feedback" / "uses_reference.html").read_text(encoding="utf-8")
    text = html_mod.unescape(re.sub(r"<[^>]+>", "", html))
    assert "ReferenceUsed" in text and "dlbasics.activations" in text


@pytest.mark.slow
def test_every_submission_is_a_row_with_a_reason_for_non_answer_zeros(graded: Graded) -> None:
    names = {p.stem for p in (graded.root.parent / "submissions").glob("*.ipynb")}
    with open(graded.out / "grades.csv", newline="", encoding="utf-8") as f:
        rows = {row["student"]: row for row in csv.DictReader(f)}
    assert set(rows) == names
    for name, row in rows.items():
        if row["status"] != "graded" or float(row["score"]) == 0:
            assert row["reason"], f"{name} scored 0 without a reason"
    assert rows["broken_json"]["status"] == "failed" and "invalid notebook" in rows["broken_json"]["reason"]
    assert all(rows[n]["status"] == "graded" for n in names - {"broken_json"}), {
        n: rows[n]["reason"] for n in names if rows[n]["status"] != "graded"}
    print(f"graded {len(rows)} submissions in {graded.seconds:.1f} s")
