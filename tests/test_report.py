"""The instructor's class report (issue 16): report.html, the misconceptions behind the failures, similar
submissions, the LMS exports; checked on made-up data, on a small fake assignment graded end to end, on
the bug zoo, and in a real browser.

The similarity detector's measured rates (:func:`test_similarity_rates`, threshold
``similarity.THRESHOLD`` = 0.6, k = 5 tokens, window 4; ps1 and ps2): every disguised copy of the
reference and of each bug-zoo variant is found (47 pairs renamed + reordered + commented + re-indented:
score 1.00; 47 more with one statement added to every function: 0.88 to 0.93). Of the pairs of
independently written correct answers, 1 of 232 is flagged: none of 165 pairs of whole answers (at
most 0.28), of 54 pairs of single functions (at most 0.34) or of 6 answers against the reference
package's source (at most 0.37); 1 of the 7 functions the bug zoo's ALTERNATIVES change
(``numgrad_reverse_order``, the reference with only its loop's order reversed: 0.76).
"""

from __future__ import annotations

import csv
import functools
import html
import http.server
import importlib
import itertools
import os
import random
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

from dlbgrader import classreport, diagnosis, lms, reportpage, similarity
from dlbgrader.cells import nbgrader_meta
from dlbgrader.course import Course
from dlbgrader.report import GradingRun, Result, write_csv
from dlbgrader.synthetic import solution_sources
from tests.conftest import artifacts_dir
from tests.grading_helpers import ROOT
from tests.similarity_corpus import INDEPENDENT, disguise, disguise_and_edit

SIM_ASSIGNMENTS = sorted(INDEPENDENT)


# ------------------------------------------------------------------------------------------------
# Similarity: measured on made-up pairs.


def _cells(assignment: str) -> tuple[dict[str, str], list[str]]:
    """The reference answers (code cells) and the released starter code of an assignment."""
    nb = nbformat.read(str(ROOT / "solutions" / assignment / f"{assignment}.ipynb"), as_version=4)
    code = {nbgrader_meta(c).get("grade_id") for c in nb.cells if c.cell_type == "code"}
    ref = {g: s for g, s in solution_sources(nb).items() if g in code}
    rel = nbformat.read(str(ROOT / "exercises" / assignment / f"{assignment}.ipynb"), as_version=4)
    starter = [c.source for c in rel.cells if c.cell_type == "code" and nbgrader_meta(c).get("solution")]
    return ref, starter


def _variants(assignment: str, ref: dict[str, str]) -> list[tuple[str, dict[str, str]]]:
    """The reference answers, and each bug zoo entry (and correct alternative) applied to them."""
    zoo = importlib.import_module(f"tests.bugzoo.{assignment}")
    out = [("reference", ref)]
    for bug in [*getattr(zoo, "ALTERNATIVES", []), *zoo.BUGS]:
        if bug.cell in ref and bug.old in ref[bug.cell]:
            out.append((bug.name, {**ref, bug.cell: ref[bug.cell].replace(bug.old, bug.new, 1)}))
    return out


def measure(assignment: str) -> dict[str, list[float]]:
    """Scores of the made-up pairs of one assignment, by kind."""
    ref, starter = _cells(assignment)
    bp = similarity.boilerplate_of(starter)
    scores: dict[str, list[float]] = {
        "copies": [],
        "edited copies": [],
        "independent answers": [],
        "independent functions": [],
        "against the reference package": [],
        "alternatives (changed functions)": [],
    }
    for k, (_name, answers) in enumerate(_variants(assignment, ref)):
        base = similarity.answer("a", answers.values(), boilerplate=bp)
        for kind, make in (("copies", disguise), ("edited copies", disguise_and_edit)):
            copy = similarity.answer(
                "b", [make(s, 100 * k + i) for i, s in enumerate(answers.values())], boilerplate=bp
            )
            scores[kind].append(similarity.compare(base, copy).score)
    versions = [ref] + [{g: INDEPENDENT[assignment][g][i] for g in ref} for i in range(2)]
    whole = [similarity.answer(f"v{i}", v.values(), boilerplate=bp) for i, v in enumerate(versions)]
    for x, y in itertools.combinations(whole, 2):
        m = similarity.compare(x, y)
        scores["independent answers"].append(m.score)
        scores["independent functions"].extend(m.per_unit.values())
    rng = random.Random(0)  # students made of independent versions, no two sharing the version of any cell
    mixed = []
    for i in range(30):
        pick = {g: rng.randrange(len(versions)) for g in ref}
        mixed.append((pick, similarity.answer(f"m{i}", [versions[pick[g]][g] for g in ref], boilerplate=bp)))
    for (p, x), (q, y) in itertools.combinations(mixed, 2):
        if all(p[g] != q[g] for g in ref):
            scores["independent answers"].append(similarity.compare(x, y).score)
    pkg = similarity.reference_answer(
        {n for a in whole for n in a.units}, classreport.reference_package(), boilerplate=bp
    )
    for m in similarity.reference_matches(whole, pkg, threshold=0.0, min_fingerprints=1):
        scores["against the reference package"].append(m.score)
    zoo = importlib.import_module(f"tests.bugzoo.{assignment}")
    base = similarity.answer("ref", ref.values(), boilerplate=bp)
    for alt in getattr(zoo, "ALTERNATIVES", []):  # correct answers written differently: the function they change
        other = similarity.answer("alt", [ref[alt.cell].replace(alt.old, alt.new, 1)], boilerplate=bp)
        for name, unit in other.units.items():
            if name in base.units and unit.normalized != base.units[name].normalized:
                scores["alternatives (changed functions)"].append(
                    similarity.jaccard(unit.fingerprints, base.units[name].fingerprints)
                )
    return scores


def test_similarity_rates() -> None:
    """Disguised copies must all be found; independently written correct answers must mostly not be flagged.
    The rates are written to test-artifacts/similarity-rates.txt."""
    t = similarity.THRESHOLD
    totals: dict[str, list[float]] = {}
    for a in SIM_ASSIGNMENTS:
        for kind, values in measure(a).items():
            totals.setdefault(kind, []).extend(values)
    lines = [f"threshold {t} (Jaccard index of winnowed fingerprints), k={similarity.K}, window={similarity.WINDOW}"]
    for kind, values in totals.items():
        if values:
            flagged = sum(v >= t for v in values)
            lines.append(
                f"{kind}: {len(values)} pairs, flagged {flagged} ({100 * flagged / len(values):.1f}%), "
                f"min {min(values):.2f}, max {max(values):.2f}"
            )
    (artifacts_dir() / "similarity-rates.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    for kind in ("copies", "edited copies"):
        missed = [v for v in totals[kind] if v < t]
        assert not missed, f"{kind} not found: scores {missed} below {t}\n" + "\n".join(lines)
    negatives = (
        "independent answers",
        "independent functions",
        "against the reference package",
        "alternatives (changed functions)",
    )
    for kind in negatives:  # each kind mostly not flagged (a bug-zoo alternative may change one line only)
        values = totals[kind]
        if values:
            rate = sum(v >= t for v in values) / len(values)
            assert rate <= 0.2, f"{kind}: {100 * rate:.1f}% flagged (at most 20% allowed)\n" + "\n".join(lines)
    every = [v for kind in negatives for v in totals[kind]]
    rate = sum(v >= t for v in every) / len(every)
    assert rate <= 0.05, f"independent answers: {100 * rate:.1f}% flagged overall (at most 5%)\n" + "\n".join(lines)
    assert len(totals["copies"]) >= 20 and len(totals["independent answers"]) >= 20, "\n".join(lines)


def test_normalization_ignores_names_comments_layout_and_order() -> None:
    a = "def f(x):\n    y = np.exp(-x)\n    return 1 / (1 + y)\n\n\ndef g(d, c):\n    return d * c * (1 - c)\n"
    b = (
        "def g(up, s):  # backward\n  return up * s * (1 - s)\n\n# forward\ndef f(inp):\n  '''doc'''\n"
        "  e = np.exp(-inp)\n\n  return 1 / (1 + e)\n"
    )
    ua, ub = similarity.split_units([a]), similarity.split_units([b])
    assert {n: t for n, _, t in ua} == {n: t for n, _, t in ub}
    assert similarity.compare(similarity.answer("a", [a]), similarity.answer("b", [b])).score == 1.0
    c = "def f(x):\n    return np.tanh(x)\n\n\ndef g(d, c):\n    return d - d * c ** 2\n"
    assert similarity.compare(similarity.answer("a", [a]), similarity.answer("c", [c])).score < 0.3
    broken = similarity.answer("x", ["def f(x:\n    return x"])  # does not parse: raw tokens, no crash
    assert broken.units and all(u.fingerprints for u in broken.units.values())


def test_misconception_id_is_read_only_at_the_end_of_a_message() -> None:
    assert diagnosis.misconception_of("out wrong\n  Hint: words (Ch › Sec) [misconception: relu_slope]") == "relu_slope"
    assert diagnosis.misconception_of("[misconception: forged] and then the check's own text") is None
    assert diagnosis.misconception_of("no hint here") is None
    text, section = diagnosis.describe("a_b", "x: bad\n  Hint: keep the sign (Ch › Sec 2) [misconception: a_b]", {})
    assert (text, section) == ("keep the sign", "Ch › Sec 2")
    assert diagnosis.describe("a_b", "whatever", {"a_b": ("words", "where")}) == ("words", "where")
    note = diagnosis.note_html("x < y & <script>", "A › B")
    assert "<script>" not in note and "&lt;script&gt;" in note and "Likely misconception" in note


# ------------------------------------------------------------------------------------------------
# A small fake assignment: its own misconceptions (hints made in the test cells), two functions.

FAKE = "fake_report"
HINTS = {
    "double_factor": ("doubling means multiplying by two, not adding one", "Fake chapter › Doubling"),
    "double_dtype": ("the output must keep the input's dtype", "Fake chapter › Types"),
}
SOLUTION = '''def double(x):
    """Twice x, element-wise (same dtype)."""
    ### BEGIN SOLUTION
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        out[i] = x[i] + x[i]
    total = out.sum()
    check = total - 2 * x.sum()
    return out
    ### END SOLUTION


def halve(x):
    """Half of x, element-wise."""
    ### BEGIN SOLUTION
    result = np.zeros_like(x)
    for j in range(len(x)):
        result[j] = x[j] * 0.5
    return result
    ### END SOLUTION
'''
TEST_HEAD = "import numpy as np\nfrom dlbasics.checks import fail\nfrom dlbasics.checks.hints import Hint\n"


def _hint(mid: str) -> str:
    return f"Hint({mid!r}, {HINTS[mid][0]!r}, {HINTS[mid][1]!r})"


def _meta(gid: str, *, solution: bool = False, points: float = 0) -> dict[str, Any]:
    m: dict[str, Any] = {
        "grade": bool(points),
        "grade_id": gid,
        "locked": not solution,
        "schema_version": 3,
        "solution": solution,
        "task": False,
    }
    if points:
        m["points"] = points
    return {"nbgrader": m}


def fake_source() -> Any:
    tests = {
        "test_double_forward": (
            2,
            TEST_HEAD + "x = np.arange(5.0)\nif not np.allclose(double(x), 2 * x):\n"
            f"    raise fail('double(x): wrong values', {_hint('double_factor')})\n",
        ),
        "test_double_edge": (
            1,
            TEST_HEAD + "x = np.arange(3, dtype=np.float32)\nif double(x).dtype != np.float32:\n"
            f"    raise fail('double(x): float32 in, float32 out', {_hint('double_dtype')})\n",
        ),
        "test_halve_forward": (
            1,
            ("import numpy as np\nx = np.arange(4.0)\nassert np.allclose(halve(x), x / 2), 'halve(x): wrong values'\n"),
        ),
    }
    for fn, what in itertools.product(("double", "halve"), ("backward", "edge", "parity")):  # a wider matrix
        if f"test_{fn}_{what}" not in tests:
            tests[f"test_{fn}_{what}"] = (1, f"import numpy as np\nassert {fn}(np.zeros(3)).shape == (3,), 'shape'\n")
    cells = [
        new_code_cell("import numpy as np", metadata=_meta("setup")),
        new_code_cell(SOLUTION, metadata=_meta("double", solution=True)),
    ]
    cells += [new_code_cell(src, metadata=_meta(gid, points=p)) for gid, (p, src) in tests.items()]
    return new_notebook(
        cells=cells, metadata={"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}}
    )


def fake_course(root: Path) -> Course:
    root.mkdir(parents=True, exist_ok=True)
    (root / "nbgrader_config.py").write_bytes((ROOT / "nbgrader_config.py").read_bytes())
    (root / "solutions" / FAKE).mkdir(parents=True)
    nbformat.write(fake_source(), str(root / "solutions" / FAKE / f"{FAKE}.ipynb"))
    return Course(root)


ANSWER = solution_sources(fake_source())["double"]
BO = ANSWER.replace("out[i] = x[i] + x[i]", "out[i] = x[i] + 1")
CY = ANSWER.replace("out = np.empty_like(x)", "out = np.empty(x.shape)")
EVIL = disguise(
    ANSWER.replace("    return result", "    # </code></pre><script>alert(1)</script>\n    return result"), 3
)


def _fill(release_nb: Any, answer: str) -> Any:
    from dlbgrader.synthetic import fill

    return fill(release_nb, {"double": answer})


# ------------------------------------------------------------------------------------------------
# Reading the page back.


class Page(HTMLParser):
    """The numbers of the students × tests matrix, and what the page contains that matters for safety."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.rows: dict[str, dict[str, str]] = {}
        self.handlers: list[str] = []
        self.scripts = 0
        self._row: str | None = None
        self._cell: str | None = None
        self._buf = ""
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.handlers += [k for k in a if k.startswith("on")]
        if tag == "script":
            self.scripts += 1
        if tag == "tr" and "data-student" in a and "data-score" in a:
            self._row = str(a["data-student"])
            self.rows[self._row] = {"score": str(a["data-score"])}
        if tag == "td" and self._row is not None and "data-cell" in a:
            self._cell, self._buf = str(a["data-cell"]), ""

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._buf += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cell is not None and self._row is not None:
            self.rows[self._row][self._cell] = self._buf.strip()
            self._cell = None
        if tag == "tr":
            self._row = None


def csv_rows(path: Path) -> dict[str, dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return {r["student"]: r for r in csv.DictReader(f)}


def assert_page_equals_csv(page_text: str, grades: Path) -> None:
    page = Page(page_text)
    rows = csv_rows(grades)
    assert list(page.rows) == list(rows), "the matrix lists exactly the students of grades.csv, in its order"
    cells = [
        c
        for c in next(iter(rows.values()))
        if c not in ("student", "status", "reason", "score", "max_score", "awaiting_manual_grading", "sandboxed")
    ]
    for student, row in rows.items():
        shown = page.rows[student]
        assert float(shown["score"]) == float(row["score"]), f"{student}: score {shown['score']} != {row['score']}"
        for c in cells:
            assert shown.get(c) == row[c], f"{student} {c}: page {shown.get(c)!r}, grades.csv {row[c]!r}"


def assert_safe(text: str) -> None:
    page = Page(text)
    assert not page.handlers, f"inline event handlers: {page.handlers}"
    assert page.scripts == 1, "exactly one script (the sorting), allowed by its hash"
    assert f"'sha256-{reportpage.script_hash()}'" in text and "default-src 'none'" in text
    assert "<script>alert(1)" not in text and "<img src=x" not in text
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", text), "nothing may be loaded from elsewhere"


def test_page_from_made_up_data_is_safe_and_equals_the_csv(tmp_path: Path) -> None:
    """No nbgrader: a course folder with hand-made autograded notebooks, hostile ids, reasons and code."""
    course = fake_course(tmp_path / "course")
    hostile = '<img src=x onerror="alert(1)">'
    cells = ["test_double_forward", "test_double_edge", "test_halve_forward"]
    cell_max = {"test_double_forward": 2.0, "test_double_edge": 1.0, "test_halve_forward": 1.0}
    src = fake_source()
    runs = {
        "ada": (ANSWER, {}),
        "bo": (BO, {"test_double_forward": "double_factor"}),
        "cy": (CY, {"test_double_edge": "double_dtype"}),
        hostile: (EVIL, {"test_halve_forward": None}),
    }
    results = []
    for student, (answer, failed) in runs.items():
        nb = _fill(src, answer)
        for cell in nb.cells:
            gid = nbgrader_meta(cell).get("grade_id")
            if gid in failed:
                mid = failed[gid]
                ev = f"{hostile}: wrong" + (
                    f"\n  Hint: {HINTS[mid][0]} ({HINTS[mid][1]}) [misconception: {mid}]" if mid else ""
                )
                cell.outputs = [new_output("error", ename="CheckFailed", evalue=ev, traceback=[])]
        folder = course.autograded_dir / student / FAKE
        folder.mkdir(parents=True)
        nbformat.write(nb, str(folder / f"{FAKE}.ipynb"))
        scores = {c: (0.0 if c in failed else cell_max[c]) for c in cells}
        results.append(Result(student, "graded", "", sum(scores.values()), 4.0, dict(scores)))
    results.append(Result("zed", "failed", f"invalid notebook {hostile}", 0.0, 4.0))
    run = GradingRun(results, cell_max=cell_max, sandboxed=True, sandbox="sandboxed (test)")
    out = tmp_path / "out"
    write_csv(out / "grades.csv", run, cells, sandboxed=True)
    path = reportpage.write(course, FAKE, run, cells, out, wall_seconds=12.5)
    text = path.read_text(encoding="utf-8")
    assert_safe(text)
    assert_page_equals_csv(text, out / "grades.csv")
    rep = classreport.build(course, FAKE, run, cells, out_dir=out)
    assert rep.diagnoses == {"bo": ["double_factor"], "cy": ["double_dtype"]}
    assert {m.id: m.students for m in rep.misconceptions} == {"double_factor": ["bo"], "double_dtype": ["cy"]}
    assert rep.misconceptions[0].text == HINTS[rep.misconceptions[0].id][0], "words parsed back from the hint"
    assert rep.unexplained == {hostile: ["test_halve_forward"]}
    pairs = {(m.a, m.b) for m in rep.pairs} | {(m.b, m.a) for m in rep.pairs}
    assert ("ada", hostile) in pairs, "a disguised copy is listed"
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text, "the copied code is shown, escaped"
    assert [t.function for t in rep.tests] == ["double"] * 3
    assert [t.component for t in rep.tests] == ["forward", "edge cases", "forward"]
    assert "12.5 s for the run" in text and 'data-sandboxed="yes"' in text
    with open(out / "canvas.csv", newline="", encoding="utf-8") as f:
        canvas = list(csv.reader(f))
    assert canvas[0] == [*lms.CANVAS_IDENTITY, FAKE] and canvas[1][0] == "Points Possible" and canvas[1][-1] == "4"
    grades = csv_rows(out / "grades.csv")
    assert {r[3]: r[5] for r in canvas[2:]} == {s: r["score"] for s, r in grades.items()}
    with open(out / "moodle.csv", newline="", encoding="utf-8") as f:
        moodle = list(csv.DictReader(f))
    assert {r["Username"]: r[FAKE] for r in moodle} == {s: r["score"] for s, r in grades.items()}
    assert "could not be graded" in next(r["Feedback"] for r in moodle if r["Username"] == "zed")


# ------------------------------------------------------------------------------------------------
# End to end with nbgrader: the fake assignment graded by `dlb grade`, the report, `dlb report`.


class Graded:
    def __init__(self, course: Course, out: Path, run: GradingRun) -> None:
        self.course, self.out, self.run = course, out, run


@pytest.fixture(scope="module")
def fake_graded(tmp_path_factory: pytest.TempPathFactory) -> Graded:
    from dlbgrader.grade import grade_class

    tmp = tmp_path_factory.mktemp("fake")
    course = fake_course(tmp / "course")
    release = course.release(FAKE, release_dir="release") / f"{FAKE}.ipynb"
    rel = nbformat.read(str(release), as_version=4)
    subs = tmp / "subs"
    subs.mkdir()
    for student, answer in (("ada", ANSWER), ("bo", BO), ("cy", CY), ("evil", EVIL), ("copycat", disguise(ANSWER, 9))):
        nbformat.write(_fill(rel, answer), str(subs / f"{student}.ipynb"))
    (subs / "blank.ipynb").write_bytes(release.read_bytes())
    (subs / "broken.ipynb").write_text('{"cells": [', encoding="utf-8")
    out = tmp / "out"
    run = grade_class(course, FAKE, subs, out_dir=out, progress=False, workers=1)
    return Graded(course, out, run)


@pytest.mark.slow
def test_dlb_grade_writes_the_report_equal_to_grades_csv(fake_graded: Graded) -> None:
    text = (fake_graded.out / "report.html").read_text(encoding="utf-8")
    assert_safe(text)
    assert_page_equals_csv(text, fake_graded.out / "grades.csv")
    by = {r.student: r for r in fake_graded.run}
    assert by["ada"].score == 9 and by["bo"].score == 7 and by["cy"].score == 8, {s: r.score for s, r in by.items()}
    assert by["broken"].status == "failed"
    assert 'id="failed"' in text and "broken" in text
    assert 'href="feedback/ada.html"' in text, "a student's row links to their feedback"
    assert (fake_graded.out / "canvas.csv").is_file() and (fake_graded.out / "moodle.csv").is_file()


@pytest.mark.slow
def test_report_counts_the_misconceptions_and_finds_the_copies(fake_graded: Graded) -> None:
    rep = classreport.build(
        fake_graded.course, FAKE, fake_graded.run, list(fake_graded.run.cell_max), out_dir=fake_graded.out
    )
    assert rep.diagnoses.get("bo") == ["double_factor"] and rep.diagnoses.get("cy") == ["double_dtype"]
    assert {m.id: sorted(m.students) for m in rep.misconceptions} == {"double_factor": ["bo"], "double_dtype": ["cy"]}
    pairs = {frozenset((m.a, m.b)) for m in rep.pairs}
    assert {frozenset(("ada", "copycat")), frozenset(("ada", "evil")), frozenset(("copycat", "evil"))} <= pairs
    assert "blank" not in {s for p in pairs for s in p}, "an unanswered notebook is not a copy"


@pytest.mark.slow
def test_feedback_names_the_likely_misconception(fake_graded: Graded) -> None:
    fb = (fake_graded.out / "feedback" / "bo.html").read_text(encoding="utf-8")
    assert "Likely misconception:" in fb and html.escape(HINTS["double_factor"][0], quote=False) in fb
    assert "Revisit: Fake chapter › Doubling" in fb
    assert "<script" not in fb.lower(), "the feedback stays script-free"
    ada = (fake_graded.out / "feedback" / "ada.html").read_text(encoding="utf-8")
    assert "Likely misconception:" not in ada


@pytest.mark.slow
def test_dlb_report_rebuilds_the_same_page_from_the_gradebook(fake_graded: Graded, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "lib"), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run(
        [sys.executable, "-m", "dlbgrader.cli", "report", FAKE, "--out", str(tmp_path / "again")],
        cwd=fake_graded.course.root,
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "class report:" in proc.stdout
    assert_page_equals_csv(
        (tmp_path / "again" / "report.html").read_text(encoding="utf-8"), fake_graded.out / "grades.csv"
    )


# ------------------------------------------------------------------------------------------------
# In a real browser: Debian's Chromium driven by Playwright (see tests/test_browser.py).

CHROMIUM = Path("/usr/bin/chromium")


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def served(fake_graded: Graded) -> Iterator[str]:
    handler = functools.partial(_Quiet, directory=str(fake_graded.out))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/report.html"
    server.shutdown()


class Opened:
    """A page opened at one width, with its console errors and every request it made."""

    def __init__(self, browser: Any, url: str, width: int) -> None:
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page = browser.new_page(viewport={"width": width, "height": 900})
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.goto(url)
        self.page.wait_for_load_state("load")

    def column(self, attr: str) -> list[str]:
        return [
            str(v)
            for v in self.page.eval_on_selector_all(
                "#matrix tbody tr", f"rows => rows.map(r => r.getAttribute('data-{attr}'))"
            )
        ]


def _check_page(o: Opened, url: str, width: int) -> None:
    assert not o.errors, f"console errors at {width} px: {o.errors}"
    assert o.requests == [url], f"requests besides the page itself: {o.requests}"
    drawn = o.page.eval_on_selector_all(
        "svg.chart",
        "els => els.map(e => { const b = e.getBoundingClientRect(); "
        "return [b.width, b.height, e.querySelectorAll('path, rect, use').length]; })",
    )
    assert len(drawn) >= 3 and all(w > 100 and h > 50 and n > 5 for w, h, n in drawn), drawn
    overflow = o.page.evaluate("document.scrollingElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page scrolls sideways at {width} px by {overflow} px"


@pytest.mark.slow
@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed")
def test_report_in_a_browser(served: str) -> None:
    """Charts drawn, no console error, no request but the page, sorting works, usable at 390 px (the page does
    not scroll sideways; the matrix scrolls inside its box). Screenshots in test-artifacts/report/."""
    from playwright.sync_api import sync_playwright

    shots = artifacts_dir() / "report"
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
        )
        try:
            phone = Opened(browser, served, 390)
            _check_page(phone, served, 390)
            phone.page.screenshot(path=str(shots / "report-390.png"), full_page=True)
            box = phone.page.evaluate(
                "(() => { const b = document.getElementById('matrix-box'); return [b.scrollWidth, b.clientWidth]; })()"
            )
            assert box[0] > box[1], f"the matrix should scroll inside its box at 390 px: {box}"

            desk = Opened(browser, served, 1280)
            _check_page(desk, served, 1280)
            desk.page.screenshot(path=str(shots / "report-1280.png"), full_page=True)
            desk.page.click("button[data-sort=score]")
            scores = [float(v) for v in desk.column("score")]
            assert scores == sorted(scores, reverse=True), f"score: highest first, got {scores}"
            desk.page.click("button[data-sort=student]")
            assert desk.column("student") == sorted(desk.column("student")), "student: alphabetical"
            desk.page.select_option("#sort-test", label="test_double_forward")
            forward = [float(v) for v in desk.column(desk.page.eval_on_selector("#sort-test", "s => s.value"))]
            assert forward == sorted(forward), f"by a test: lowest first (who failed it on top), got {forward}"
            assert "sorted by test_double_forward" in desk.page.inner_text("#sort-state")
            assert not desk.errors, desk.errors
        finally:
            browser.close()


# The bug zoo as the test set of the diagnosis is tests/test_grading.py::test_bug_zoo_students_are_diagnosed_...
# (it reuses the class that test grades, instead of grading the zoo a second time).
