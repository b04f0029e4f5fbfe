"""The instructor's class report: where the class stands, which misconceptions to address, what looks copied.

:func:`build` gathers it from a grading run (the rows of ``grades.csv``), the source notebook (the
order of the tests and the function each belongs to), the autograded notebooks (the misconception
each failed check names, and the answer code) and the reference package (for
:mod:`dlbgrader.similarity`). :func:`dlbgrader.reportpage.render` turns it into one self-contained
HTML page; :func:`write` writes ``report.html`` and the LMS files (:mod:`dlbgrader.lms`).
``dlb grade`` calls :func:`write` after ``grades.csv``; ``dlb report`` rebuilds the run from the
gradebook and the grading manifest (:func:`run_from_gradebook`).
"""

from __future__ import annotations

import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from dlbgrader import diagnosis, similarity
from dlbgrader.cells import grade_id, is_test_cell, nbgrader_meta
from dlbgrader.course import Course
from dlbgrader.report import GradingRun, Result

#: What the last word of a test's grade_id says it checks.
COMPONENTS = {
    "forward": "forward",
    "backward": "backward",
    "edge": "edge cases",
    "torch": "parity (PyTorch)",
    "parity": "parity (PyTorch)",
}


@dataclass
class Test:
    """One autograded test cell and how the graded did on it."""

    name: str
    function: str  # the solution cell it tests (the one before it in the notebook)
    component: str  # forward / backward / edge cases / parity, or the grade_id's last word
    points: float
    passed: int = 0
    graded: int = 0

    @property
    def rate(self) -> float:
        return self.passed / self.graded if self.graded else 0.0


@dataclass
class Misconception:
    """One misconception: its words, the section to reread, and the students whose failed checks named it."""

    id: str
    text: str
    section: str
    students: list[str] = field(default_factory=list)
    checks: int = 0  # failed test cells that named it
    known: bool = True  # in the assignment's table


@dataclass
class ClassReport:
    assignment: str
    run: GradingRun
    cells: list[str]  # every graded cell of grades.csv, in its column order
    tests: list[Test]
    misconceptions: list[Misconception]
    diagnoses: dict[str, list[str]]  # student -> misconception ids of their failed checks, most named first
    unexplained: dict[str, list[str]]  # student -> failed tests that named no misconception
    answers: dict[str, similarity.Answer]
    pairs: list[similarity.Match]
    reference: list[similarity.Match]
    pairs_left_out: int  # pairs in which both answers match the reference (listed there)
    feedback: dict[str, str]  # student -> href of their feedback file, relative to the report
    wall_seconds: float | None
    unread: list[str] = field(default_factory=list)  # graded, but their autograded notebook was not found
    reference_source: similarity.Answer | None = None  # the reference package's functions of the same names
    build_seconds: float = 0.0

    @property
    def graded(self) -> list[Result]:
        return [r for r in self.run if r.status == "graded"]

    @property
    def failed(self) -> list[Result]:
        return [r for r in self.run if r.status != "graded"]

    @property
    def max_score(self) -> float:
        return max((r.max_score for r in self.run), default=0.0)

    def stats(self) -> dict[str, float]:
        """Mean, median, standard deviation, min and max of the graded's totals (and the mean over all)."""
        s = [r.score for r in self.graded]
        if not s:
            return {}
        return {
            "mean": statistics.fmean(s),
            "median": statistics.median(s),
            "stdev": statistics.pstdev(s),
            "min": min(s),
            "max": max(s),
            "mean_all": statistics.fmean([r.score for r in self.run]),
        }


def test_layout(source_notebook: Path) -> dict[str, tuple[str, str]]:
    """grade_id of every autograded test cell -> (function, component), in notebook order. The function is
    the solution cell before the test; the component is the grade_id's last word (``test_relu_backward``)."""
    nb = nbformat.read(str(source_notebook), as_version=4)
    out: dict[str, tuple[str, str]] = {}
    function = ""
    for cell in nb.cells:
        gid = grade_id(cell)
        if gid is None:
            continue
        if nbgrader_meta(cell).get("solution") and cell.get("cell_type") == "code":
            function = gid
        elif is_test_cell(cell):
            word = gid.rsplit("_", 1)[-1]
            out[gid] = (function or gid.removeprefix("test_").rsplit("_", 1)[0], COMPONENTS.get(word, word))
    return out


def _tests(run: GradingRun, layout: dict[str, tuple[str, str]]) -> list[Test]:
    names = list(layout) + [c for c in run.cell_max if c not in layout]
    tests = []
    for name in names:
        if name not in run.cell_max:
            continue
        function, component = layout.get(name, (name, ""))
        t = Test(name, function, component, run.cell_max[name])
        for r in run:
            if r.status == "graded" and r.cells.get(name) is not None:
                t.graded += 1
                t.passed += int((r.cells.get(name) or 0.0) >= t.points)
        tests.append(t)
    return tests


def _diagnose(
    notebooks: dict[str, diagnosis.Notebook],
    run: GradingRun,
    known: dict[str, tuple[str, str]],
) -> tuple[list[Misconception], dict[str, list[str]], dict[str, list[str]]]:
    found: dict[str, Misconception] = {}
    diagnoses: dict[str, list[str]] = {}
    unexplained: dict[str, list[str]] = {}
    for r in run:
        nb = notebooks.get(r.student)
        if r.status != "graded" or nb is None:
            continue
        lost = {c for c, p in run.cell_max.items() if (r.cells.get(c) or 0.0) < p}
        named: Counter[str] = Counter()
        first: dict[str, int] = {}
        for i, f in enumerate(nb.failures.values()):
            if f.cell not in lost:
                continue
            if f.misconception is None:
                unexplained.setdefault(r.student, []).append(f.cell)
                continue
            mid = f.misconception
            named[mid] += 1
            first.setdefault(mid, i)
            if mid not in found:
                text, section = diagnosis.describe(mid, f.evalue, known)
                found[mid] = Misconception(mid, text, section, known=mid in known)
            found[mid].checks += 1
        for mid in named:
            found[mid].students.append(r.student)
        if named:
            diagnoses[r.student] = sorted(named, key=lambda m: (-named[m], first[m]))
    ranked = sorted(found.values(), key=lambda m: (-len(m.students), -m.checks, m.id))
    return ranked, diagnoses, unexplained


def _starter_code(course: Course, assignment: str, notebook_name: str) -> list[str]:
    path = course.grading_release_dir / assignment / notebook_name
    if not path.is_file():
        path = course.root / "exercises" / assignment / notebook_name
    if not path.is_file():
        return []
    nb = nbformat.read(str(path), as_version=4)
    return [c.source for c in nb.cells if c.get("cell_type") == "code" and nbgrader_meta(c).get("solution")]


def reference_package() -> Path:
    import dlbasics

    return Path(dlbasics.__file__).parent


def build(
    course: Course,
    assignment: str,
    run: GradingRun,
    cells: list[str],
    *,
    out_dir: Path,
    wall_seconds: float | None = None,
    known: dict[str, tuple[str, str]] | None = None,
) -> ClassReport:
    """Everything the report shows, from the run, the notebooks and the reference package."""
    t0 = time.perf_counter()
    source = course.source_notebooks(assignment)[0]
    known = diagnosis.table(assignment) if known is None else known
    notebooks: dict[str, diagnosis.Notebook] = {}
    missing: list[str] = []
    for r in run:
        if r.status == "graded":
            path = diagnosis.autograded_notebook(course.autograded_dir, assignment, r.student)
            try:
                if path is None:
                    raise OSError("not found")
                notebooks[r.student] = diagnosis.read(path)
            except (OSError, ValueError):  # no diagnosis or similarity for this student; the grade stands
                missing.append(r.student)
    misconceptions, diagnoses, unexplained = _diagnose(notebooks, run, known)
    boiler = similarity.boilerplate_of(_starter_code(course, assignment, source.name))
    answers = {s: similarity.answer(s, nb.answers.values(), boilerplate=boiler) for s, nb in notebooks.items()}
    ref = similarity.reference_answer(
        {n for a in answers.values() for n in a.units}, reference_package(), boilerplate=boiler
    )
    reference = similarity.reference_matches(list(answers.values()), ref)
    copied_ref = {m.a for m in reference}
    all_pairs = similarity.similar_pairs(list(answers.values()))
    pairs = [m for m in all_pairs if not (m.a in copied_ref and m.b in copied_ref)]
    feedback = {
        r.student: f"feedback/{r.student}.html"
        for r in run
        if r.status == "graded" and (out_dir / "feedback" / f"{r.student}.html").is_file()
    }
    rep = ClassReport(
        assignment,
        run,
        cells,
        _tests(run, test_layout(source)),
        misconceptions,
        diagnoses,
        unexplained,
        answers,
        pairs,
        reference,
        len(all_pairs) - len(pairs),
        feedback,
        wall_seconds,
        missing,
        ref,
    )
    rep.build_seconds = time.perf_counter() - t0
    return rep


def run_from_gradebook(course: Course, assignment: str) -> tuple[GradingRun, list[str]]:
    """The last grading run of ``assignment`` as ``dlb grade`` returned it, rebuilt from the grading
    manifest (who was in the input, who could not be graded and why, the time each took, the sandbox)
    and the gradebook (the scores): the rows of its ``grades.csv``."""
    from dlbgrader import gradebook, manifest
    from dlbgrader.errors import CourseError

    m = manifest.load(manifest.manifest_path(course, assignment), assignment)
    if m is None:
        raise CourseError(
            f"{assignment} has not been graded here (no grading record in "
            f"{manifest.manifest_path(course, assignment)}): run dlb grade first"
        )
    points = gradebook.points(course, assignment)
    scores = gradebook.scores(course, assignment, m.input_students)
    sandbox = m.fingerprint.get("sandbox", "")
    results = []
    for s in m.input_students:
        e = m.students.get(s)
        if e is not None and e.status == "graded" and s in scores:
            results.append(
                Result(
                    s,
                    "graded",
                    e.reason,
                    scores[s].total,
                    points.total,
                    scores[s].cells,
                    seconds=e.seconds,
                    reused=True,
                )
            )
        else:
            why = e.reason if e is not None else "no grading recorded (the last run could not grade it; run dlb grade)"
            results.append(Result(s, "failed", why, 0.0, points.total, seconds=e.seconds if e else 0.0, reused=True))
    run = GradingRun(
        results,
        cell_max=points.tests,
        sandboxed=sandbox.startswith("sandboxed"),
        sandbox=sandbox,
        kernel=m.fingerprint.get("kernel", ""),
    )
    return run, list(points.cells)
