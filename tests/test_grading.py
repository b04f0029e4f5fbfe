"""Grading round trips with the real nbgrader: reference answers, the blank student version, the bug zoo,
broken and renamed submissions, and the instructor's `dlb grade` command."""

from __future__ import annotations

import csv
import importlib
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import nbformat
import pytest

from dlbasics.checks import hints
from dlbgrader.grade import grade_class
from dlbgrader.synthetic import write_solution_submission
from tests.grading_helpers import ROOT, assignments, points, released_course


def with_bugzoo() -> list[str]:
    """Every assignment: one without a bug zoo fails (test_every_assignment_has_a_bug_zoo), never passes silently."""
    return assignments()


@pytest.mark.parametrize("assignment", assignments())
def test_every_assignment_has_a_bug_zoo(assignment: str) -> None:
    assert importlib.util.find_spec(f"tests.bugzoo.{assignment}") is not None, (
        f"{assignment} has no bug zoo: add tests/bugzoo/{assignment}.py (see tests/bugzoo/__init__.py)"
    )


def bugs(assignment: str) -> list[Any]:
    return list(importlib.import_module(f"tests.bugzoo.{assignment}").BUGS)


def alternatives(assignment: str) -> list[Any]:
    return list(getattr(importlib.import_module(f"tests.bugzoo.{assignment}"), "ALTERNATIVES", []))


class Graded:
    def __init__(self, assignment: str, results: Any, csv_path: Path, course: Any) -> None:
        self.assignment = assignment
        self.run = results
        self.by_student = {r.student: r for r in results}
        self.csv_path = csv_path
        self.course = course
        self.root = course.root


@pytest.fixture(scope="module", params=with_bugzoo())
def graded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Graded:
    assignment: str = request.param
    tmp = tmp_path_factory.mktemp(assignment)
    course, source_nb, release_nb = released_course(tmp / "course", assignment)
    subs = tmp / "submissions"
    subs.mkdir()
    # flat layout, as an LMS download
    write_solution_submission(source_nb, release_nb, subs / "reference.ipynb")
    (subs / "blank.ipynb").write_bytes(release_nb.read_bytes())
    (subs / "broken_json.ipynb").write_text('{"cells": [', encoding="utf-8")
    # nbgrader layout, with the notebook renamed by the student
    write_solution_submission(source_nb, release_nb, subs / "renamed" / assignment / "my work (1).ipynb")
    for bug in bugs(assignment):
        write_solution_submission(
            source_nb, release_nb, subs / f"bug_{bug.name}.ipynb", replace={bug.cell: (bug.old, bug.new)}
        )
    for alt in alternatives(assignment):
        write_solution_submission(
            source_nb, release_nb, subs / f"alt_{alt.name}.ipynb", replace={alt.cell: (alt.old, alt.new)}
        )
    out = tmp / "export"
    results = grade_class(course, assignment, subs, out_dir=out, progress=False)
    return Graded(assignment, results, out / "grades.csv", course)


@pytest.mark.slow
def test_reference_answers_score_full_marks(graded: Graded) -> None:
    auto, manual = points(graded.assignment)
    for student in ("reference", "renamed"):
        r = graded.by_student[student]
        assert r.status == "graded", f"{student}: {r.reason}"
        lost = {c: r.cells.get(c) for c, p in auto.items() if r.cells.get(c) != p}
        assert not lost, f"{student}: the reference solution lost points in {lost}"
        assert r.score == sum(auto.values())
        assert all(r.cells.get(c) is None for c in manual), "written answers await a person's grade"


@pytest.mark.slow
def test_blank_student_version_scores_zero_without_crashing(graded: Graded) -> None:
    auto, manual = points(graded.assignment)
    r = graded.by_student["blank"]
    assert r.status == "graded", f"the unmodified student version must be graded, not fail: {r.reason}"
    assert r.score == 0, f"blank version scored {r.score}: {[c for c, s in r.cells.items() if s]}"
    assert set(auto) <= set(r.cells), "every test cell must have been graded"


@pytest.mark.slow
def test_bug_zoo_each_bug_loses_exactly_its_named_tests(graded: Graded) -> None:
    auto, _ = points(graded.assignment)
    zoo = bugs(graded.assignment)
    assert len(zoo) >= 5, "each assignment's bug zoo needs at least 5 known-wrong implementations"
    problems = []
    for bug in zoo:
        r = graded.by_student[f"bug_{bug.name}"]
        assert r.status == "graded", f"{bug.name}: {r.reason}"
        assert bug.loses, f"{bug.name}: a bug must name the tests it loses"
        lost = {c for c, p in auto.items() if (r.cells.get(c) or 0.0) < p}
        if lost != set(bug.loses):
            problems.append(f"{bug.name} ({bug.why}): expected to lose {sorted(bug.loses)}, lost {sorted(lost)}")
    assert not problems, "\n".join(problems)


@pytest.mark.slow
def test_alternative_correct_answers_score_full_marks(graded: Graded) -> None:
    auto, _ = points(graded.assignment)
    alts = alternatives(graded.assignment)
    assert len(alts) >= 2, "each assignment needs at least 2 correct answers written differently from the reference"
    problems = []
    for alt in alts:
        assert not alt.loses, f"{alt.name}: an alternative is a correct answer, it loses nothing"
        r = graded.by_student[f"alt_{alt.name}"]
        assert r.status == "graded", f"{alt.name}: {r.reason}"
        lost = {c: r.cells.get(c) for c, p in auto.items() if (r.cells.get(c) or 0.0) < p}
        if lost:
            problems.append(f"{alt.name} ({alt.why}) is correct but lost points in {lost}")
    assert not problems, "\n".join(problems)


def autograded_notebook(graded: Graded, student: str) -> Any:
    found = list(graded.root.glob(f"**/autograded/{student}/{graded.assignment}/*.ipynb"))
    assert len(found) == 1, f"autograded notebook of {student}: {found}"
    return nbformat.read(str(found[0]), as_version=4)


@pytest.mark.slow
def test_each_bug_is_diagnosed_as_its_misconception(graded: Graded) -> None:
    """Every cell a bug loses says, in its error, the misconception the bug embodies."""
    auto, _ = points(graded.assignment)
    table = hints(graded.assignment)
    problems = []
    for bug in bugs(graded.assignment):
        assert bug.misconception in table, (
            f"{bug.name}: {bug.misconception!r} is not a misconception of {graded.assignment}"
        )
        r = graded.by_student[f"bug_{bug.name}"]
        cells = {
            c.metadata.get("nbgrader", {}).get("grade_id"): c
            for c in autograded_notebook(graded, f"bug_{bug.name}").cells
        }
        for cell_id in sorted(c for c, p in auto.items() if (r.cells.get(c) or 0.0) < p):
            errors = " ".join(
                str(o.get("evalue", "")) for o in cells[cell_id].get("outputs", []) if o.get("output_type") == "error"
            )
            if f"[misconception: {bug.misconception}]" not in errors:
                problems.append(
                    f"{bug.name}: {cell_id} does not name [misconception: {bug.misconception}]: {errors[:300]!r}"
                )
    assert not problems, "\n".join(problems)


@pytest.mark.slow
def test_every_submission_is_a_csv_row_with_a_reason_when_ungraded(graded: Graded) -> None:
    with open(graded.csv_path, newline="", encoding="utf-8") as f:
        rows = {row["student"]: row for row in csv.DictReader(f)}
    assert set(rows) == set(graded.by_student)
    broken = rows["broken_json"]
    assert broken["status"] == "failed" and broken["score"] == "0"
    assert "invalid notebook" in broken["reason"]
    auto, _ = points(graded.assignment)
    assert float(rows["reference"]["score"]) == sum(auto.values())
    for cell in auto:
        assert cell in rows["reference"], f"grades.csv lacks a column for {cell}"


@pytest.mark.slow
def test_feedback_shows_failures_but_not_hidden_test_code(graded: Graded) -> None:
    source = next((ROOT / "solutions" / graded.assignment).glob("*.ipynb")).read_text(encoding="utf-8")
    hidden_lines = set()
    for block in re.findall(r"### BEGIN HIDDEN TESTS(.*?)### END HIDDEN TESTS", json_unescape(source), re.S):
        hidden_lines |= {ln.strip() for ln in block.splitlines() if len(ln.strip()) > 25}
    released = json_unescape(
        (ROOT / "exercises" / graded.assignment / f"{graded.assignment}.ipynb").read_text(encoding="utf-8")
    )
    hidden_lines -= {ln.strip() for ln in released.splitlines()}  # also in a visible test: not a secret
    assert hidden_lines, "the assignment should have hidden tests"
    zoo = bugs(graded.assignment)
    fb_dir = graded.csv_path.parent / "feedback"
    html = (fb_dir / f"bug_{zoo[0].name}.html").read_text(encoding="utf-8")
    assert "AssertionError" in html or "Error" in html, "feedback must show which check failed"
    import html as html_mod

    text = html_mod.unescape(re.sub(r"<[^>]+>", "", html))
    shown = {ln.strip() for ln in text.splitlines()}
    leaked = [ln for ln in hidden_lines if ln in shown]
    assert not leaked, f"feedback reveals hidden test code: {leaked[:3]}"


def json_unescape(text: str) -> str:
    import json

    nb = json.loads(text)
    return "\n".join("".join(c["source"]) if isinstance(c["source"], list) else c["source"] for c in nb["cells"])


@pytest.mark.slow
def test_instructor_command_grades_a_folder(tmp_path: Path) -> None:
    assignment = with_bugzoo()[0]
    course, source_nb, release_nb = released_course(tmp_path / "course", assignment)
    subs = tmp_path / "inbox"
    write_solution_submission(source_nb, release_nb, subs / "ada" / assignment / source_nb.name)
    (subs / "bo.ipynb").parent.mkdir(parents=True, exist_ok=True)
    (subs / "bo.ipynb").write_text("not a notebook", encoding="utf-8")
    dlb = Path(sys.executable).parent / "dlb"
    proc = subprocess.run(
        [str(dlb), "grade", assignment, str(subs), "--out", str(tmp_path / "out")],
        cwd=course.root,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "2 submissions: 1 graded, 1 could not be graded" in proc.stdout, proc.stdout
    rows = list(csv.DictReader(open(tmp_path / "out" / "grades.csv", newline="", encoding="utf-8")))
    assert [r["student"] for r in rows] == ["ada", "bo"]
    auto, _ = points(assignment)
    assert float(rows[0]["score"]) == sum(auto.values())
    assert (tmp_path / "out" / "feedback" / "ada.html").is_file()


@pytest.mark.slow
def test_bug_zoo_students_are_diagnosed_with_their_bugs_misconception(graded: Graded) -> None:
    """The bug zoo is the test set of the diagnosis: in the class report (written by `dlb grade` next to
    grades.csv), each bug's student is attributed to the bug's ``misconception`` (the one their failed checks
    name most often), the reference and the correct alternatives to none, and the feedback names it."""
    from dlbgrader import classreport, diagnosis
    from tests.test_report import assert_page_equals_csv

    zoo = bugs(graded.assignment)
    declared = [b for b in zoo if b.misconception]
    assert declared == zoo, f"every bug must declare its misconception: {[b.name for b in zoo if not b.misconception]}"
    out = graded.csv_path.parent
    rep = classreport.build(graded.course, graded.assignment, graded.run, list(graded.run.cell_max), out_dir=out)
    wrong = []
    for bug in declared:
        got = rep.diagnoses.get(f"bug_{bug.name}", [])
        if not got or got[0] != bug.misconception:
            wrong.append(f"{bug.name}: expected {bug.misconception}, diagnosed {got or 'nothing'}")
    assert not wrong, "\n".join(wrong)
    right = ["reference", "renamed"] + [f"alt_{a.name}" for a in alternatives(graded.assignment)]
    assert not [s for s in right if s in rep.diagnoses], {s: rep.diagnoses[s] for s in right if s in rep.diagnoses}
    known = diagnosis.table(graded.assignment)
    assert all(m.known and m.text and m.section for m in rep.misconceptions), [
        m.id for m in rep.misconceptions if not (m.known and m.text)
    ]
    assert {b.misconception for b in declared} <= set(known), "every declared misconception is in the table"
    text = (out / "report.html").read_text(encoding="utf-8")
    assert_page_equals_csv(text, out / "grades.csv")
    for bug in declared:
        row = re.search(rf'<tr data-student="bug_{re.escape(bug.name)}".*?</tr>', text, re.DOTALL)
        assert row and f'<span class="tag">{bug.misconception}</span>' in row.group(0), bug.name
        fb = (out / "feedback" / f"bug_{bug.name}.html").read_text(encoding="utf-8")
        assert "Likely misconception:" in fb, f"{bug.name}: the feedback names the misconception"
