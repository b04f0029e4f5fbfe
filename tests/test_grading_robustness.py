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

from dlbgrader.cells import grade_id, is_test_cell, nbgrader_meta
from dlbgrader.collect import repair
from dlbgrader.grade import Result, grade_class
from dlbgrader.synthetic import write_solution_submission
from tests.grading_helpers import ROOT, released_course
from tests.grading_helpers import points as cell_points

ASSIGNMENT = "ps2_activations"
TIMEOUT = (
    10  # seconds per cell, for this test only (nbgrader_config.py keeps 60 s; `import torch` alone can take seconds)
)

WRONG_RELU = {"relu": ("out = np.maximum(x, 0)", "out = np.abs(x)")}
USES_REFERENCE = {
    "relu": (
        "out = np.maximum(x, 0)\n    cache = x\n    return out, cache",
        "from dlbasics.activations import relu_forward as _ref\n    return _ref(x)",
    )
}
LOOPS = {"relu": ("out = np.maximum(x, 0)", "while True:\n        pass\n    out = np.maximum(x, 0)")}

RELU_TESTS = ["test_relu_forward", "test_relu_backward", "test_relu_edge", "test_relu_torch"]
WRONG_RELU_LOSES = set(RELU_TESTS)  # every relu test calls relu_forward (backward uses its cache)

# Each attack is an extra cell put after the cell named (after=...) of a submission whose ReLU is wrong
# (WRONG_RELU): it must lose exactly the ReLU tests, no more and no fewer, whatever the attack does.
# Test cells run in the grader's process; none of this reaches them.
ATTACKS: dict[str, tuple[str, str]] = {
    # -- patching what the old in-kernel tests relied on
    "atk_numpy_testing": ("setup", "import numpy.testing\nnumpy.testing.assert_allclose = lambda *a, **k: None"),
    "atk_np_allclose": (
        "setup",
        "import numpy as np\nnp.allclose = lambda *a, **k: True\nnp.testing.assert_allclose = lambda *a, **k: None",
    ),
    "atk_check_helpers": (
        "setup",
        "try:\n    import dlbasics.checks as _c\n"
        "    _c.assert_close = _c.assert_shape = lambda *a, **k: None\n"
        "except ImportError as e:\n    print('no helpers here:', e)",
    ),
    "atk_showtraceback": (
        "setup",
        "import sys\nimport IPython\n"
        "IPython.get_ipython().showtraceback = lambda *a, **k: None\n"
        "IPython.get_ipython()._showtraceback = lambda *a, **k: None\n"
        "sys.excepthook = lambda *a: None",
    ),
    # -- forging the kernel's messages: replies always 'ok', error outputs never sent
    "atk_forge_messages": (
        "setup",
        """
import jupyter_client.session as _s
_orig_send = _s.Session.send
def _send(self, stream, msg_or_type, content=None, *a, **k):
    kind = msg_or_type.get("msg_type") if isinstance(msg_or_type, dict) else msg_or_type
    if kind == "error":
        return {}
    if isinstance(content, dict) and content.get("status") == "error":
        content = {**content, "status": "ok"}
    if isinstance(msg_or_type, dict) and isinstance(msg_or_type.get("content"), dict):
        if msg_or_type["content"].get("status") == "error":
            msg_or_type["content"]["status"] = "ok"
    return _orig_send(self, stream, msg_or_type, content, *a, **k)
_s.Session.send = _send
""",
    ),
    # -- an execute_result read as a partial grade, a display with a number, from inside the function
    "atk_display_grade": (
        "relu",
        """
import sys
from IPython.display import display
_wrong_relu = relu_forward
def relu_forward(x):
    sys.displayhook("full marks")
    display(1.0)
    print(1.0)
    return _wrong_relu(x)
sys.displayhook("ok")
""",
    ),
    # -- objects that impersonate arrays
    "atk_impersonate_array": (
        "relu",
        """
import numpy as np
class _Fake(np.ndarray):
    def __eq__(self, other):
        return np.ones(np.shape(other), bool)
class _Liar:
    @property
    def __class__(self):
        return np.ndarray
    def __init__(self, x):
        self.shape, self.dtype = x.shape, x.dtype
    def __array__(self, *a, **k):
        import inspect
        f = inspect.currentframe().f_back
        return f.f_locals.get("expected", np.zeros(self.shape))
def relu_forward(x):
    return (_Liar(x) if x.ndim == 1 else np.asarray(x).view(_Fake)), x
""",
    ),
    # -- code objects, trace hooks, events, builtins, globals, threads and timers
    "atk_patch_everything": (
        "relu",
        """
import builtins, signal, sys, threading, time
import numpy as np
range = lambda *a: iter(())  # the old hidden loops 'for seed in range(3)' would check nothing
builtins.abs = lambda v: 0
def assert_close(*a, **k):
    pass
def call_student(f, *a, **k):
    return np.zeros(1)
sys.settrace(lambda *a: None)
get_ipython().events.register("pre_run_cell", lambda *a: None)
def _repatch():
    while True:
        np.testing.assert_allclose = lambda *a, **k: None
        time.sleep(0.002)
threading.Thread(target=_repatch, daemon=True).start()
signal.signal(signal.SIGALRM, lambda *a: setattr(np, "allclose", lambda *a, **k: True))
signal.setitimer(signal.ITIMER_REAL, 0.05, 0.05)
relu_forward.__code__ = (lambda x: (np.abs(x), x)).__code__
""",
    ),
    # -- reading the hidden tests or the expected values from inside the kernel
    "atk_read_tests": (
        "relu",
        """
import gc, sys
import numpy as np
def relu_forward(x):
    marks = ("### BEGIN " + "HIDDEN", "call_" + "student(", "assert_" + "close(")
    leaks = [o[:120] for o in gc.get_objects() if isinstance(o, str) and any(m in o for m in marks)]
    f = sys._getframe()
    while f is not None:
        leaks += [k for k in f.f_locals if k in ("expected", "reference", "out_t")]
        f = f.f_back
    leaks += [str(v)[:120] for v in get_ipython().user_ns.get("In", []) if any(m in str(v) for m in marks)]
    print("LEAKED", leaks)
    same = [o for o in gc.get_objects() if isinstance(o, np.ndarray) and o.shape == x.shape and o is not x
            and not np.array_equal(o, x)]
    return (same[0] if same else np.abs(x)), x
""",
    ),
    # -- handing the work to PyTorch or the reference package, however it is reached
    "atk_delegate": (
        "relu",
        f"""
import importlib, sys
def relu_forward(x):
    sys.path[:0] = [{str(ROOT / "lib")!r}, {str(ROOT / ".venv" / "lib" / "python3.11" / "site-packages")!r}]
    errors = []
    for how in (lambda: __import__("torch").relu(__import__("torch").from_numpy(x)).numpy(),
                lambda: importlib.import_module("dlbasics.activations").relu_forward(x)[0],
                lambda: exec(open({str(ROOT / "lib" / "dlbasics" / "activations" / "rectified.py")!r}).read(), {{}})):
        try:
            return how(), x
        except Exception as exc:
            errors.append(f"{{type(exc).__name__}}: {{exc}}")
    raise ImportError("; ".join(errors))
""",
    ),
}

XSS_CODE = """
from IPython.display import HTML, Javascript, display
display(HTML("<script>window.__pwned = 1</script><img src=x onerror='window.__pwned = 2'>"))
display(Javascript("window.__pwned = 3"))
display({"image/svg+xml": "<svg xmlns='http://www.w3.org/2000/svg' onload='window.__pwned = 7'/>"}, raw=True)
print("<script>window.__pwned = 8</script>")
"""
XSS_MARKDOWN = (
    "<script>window.__pwned = 4</script>\n\n<img src='https://example.com/x.png' "
    "onerror='window.__pwned = 5'>\n\n[click](javascript:window.__pwned=6)\n\n"
    "<iframe src='https://example.com'></iframe>"
)

# A function that crashes inside a test loses what raising an exception there loses, no more.
CRASHES = {
    "crash_raise": "raise RuntimeError('baseline')",
    "crash_exit": "import os; os._exit(3)",
    "crash_segfault": "import ctypes; ctypes.string_at(0)",
    "crash_sigkill": "import os, signal; os.kill(os.getpid(), signal.SIGKILL)",
    "crash_swallow": "import time\n    while True:\n        try:\n            time.sleep(0.01)\n        except KeyboardInterrupt:\n            pass",
}
CRASH_CELL, CRASH_AT = "maxout", "def maxout_backward(dout, cache):\n"


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

    def text(self, student: str) -> str:
        """Everything the autograded notebook of ``student`` shows (outputs, errors)."""
        nb = nbformat.read(
            str(self.root / "grading" / "autograded" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"), as_version=4
        )
        return "\n".join(
            str(o.get("text", "")) + str(o.get("ename", "")) + ": " + str(o.get("evalue", ""))
            for c in nb.cells
            if c.cell_type == "code"
            for o in c.outputs
        )

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
    save(
        "swallows_interrupt",
        append_to(
            make("swallows_interrupt"),
            "maxout",
            "try:\n    while True:\n        pass\nexcept KeyboardInterrupt:\n    while True:\n        pass",
        ),
    )
    # 3. a cell that kills the kernel
    save("kills_kernel", append_to(make("kills_kernel"), "elu", "import os\nos._exit(1)"))
    # 4. an output flood: 5 MB in 50 000 lines, then 5 MB in one line (50 times the cap per cell), and
    # big rich outputs (HTML and an image) that must be capped too
    save(
        "output_flood",
        append_to(
            make("output_flood"),
            "sigmoid",
            "print(('x' * 99 + '\\n') * 50_000)\nprint('y' * 5_000_000)\n"
            "from IPython.display import HTML, display\n"
            "display(HTML('<b>' + 'z' * 3_000_000 + '</b>'))",
        ),
    )
    # 5. attacks on the grader, next to a wrong answer
    for name, (after, attack) in ATTACKS.items():
        save(name, insert_after(make(name, WRONG_RELU), after, attack))
    # 6. a function that crashes, hangs or kills its kernel while a test calls it
    for name, body in CRASHES.items():
        nb = make(name)
        cell = next(c for c in nb.cells if gid(c) == CRASH_CELL)
        assert CRASH_AT in cell.source
        cell.source = cell.source.replace(CRASH_AT, CRASH_AT + "    " + body + "\n", 1)
        save(name, nb)
    # 10. per-student problems that are rows: two files with the same id, a notebook too large, too many cells
    save("collide", make("collide"))
    save("collide!", make("collide_bang"))
    huge = make("huge")
    huge.cells[-1].source += "\n" + "x" * (21 * 2**20)
    save("huge", huge)
    many = make("many_cells")
    many.cells += [code_cell("pass") for _ in range(2100)]
    save("many_cells", many)
    # 9. an honest answer that writes to stderr and warns: stderr is not failure
    save(
        "honest_stderr",
        append_to(
            make("honest_stderr"),
            "relu",
            """
import sys, warnings
_quiet_relu = relu_forward
def relu_forward(x):
    print("debugging relu", file=sys.stderr)
    warnings.warn("just so you know", UserWarning)
    return _quiet_relu(x)
""",
        ),
    )
    # 8. script and external loads in outputs and Markdown: the feedback must stay inert
    nb = append_to(make("xss"), "sigmoid", XSS_CODE)
    written = next(c for c in nb.cells if c.cell_type == "markdown" and nbgrader_meta(c).get("solution"))
    written.source = XSS_MARKDOWN
    save("xss", nb)
    # 11. nbgrader's own markers in an answer (two BEGIN HIDDEN TESTS): stock feedback generation fails on it
    save(
        "hidden_markers",
        append_to(
            make("hidden_markers"), "relu", "# ### BEGIN HIDDEN TESTS\n# ### BEGIN HIDDEN TESTS\n# ### END HIDDEN TESTS"
        ),
    )
    # 7. graded work handed to the reference implementation
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
    from dlbgrader.course import Course
    from dlbgrader.errors import CourseError

    c = Course(ROOT).config()
    assert c.Execute.timeout == 60 and c.Execute.interrupt_on_timeout is True
    assert 0 < c.LimitOutput.max_lines <= 1000 and 0 < c.LimitOutput.max_traceback <= 100
    names = [p.__name__ for p in c.Autograde.autograde_preprocessors]
    assert names[0] == "DrivenExecute" and "LimitOutput" in names and "SaveAutoGrades" in names
    assert Course(ROOT, timeout=5).config().Execute.timeout == 5
    with pytest.raises(CourseError):
        Course(ROOT, timeout=0).config()
    cfg = tmp_path / "nbgrader_config.py"
    cfg.write_text("c = get_config()\nc.Execute.timeout = None\n", encoding="utf-8")
    with pytest.raises(CourseError, match=r"c.Execute.timeout = None in nbgrader_config.py is not allowed: it must be"):
        Course(ROOT, config_file=cfg).config()
    with pytest.raises(CourseError, match="on the command line is not allowed"):
        Course(ROOT, sandbox="sometimes").config()
    cfg.write_text("c = get_config()\nc.LimitOutput.max_lines = 7\nc.Execute.timeout = 9\n", encoding="utf-8")
    written = Course(ROOT, config_file=cfg).config()
    assert written.LimitOutput.max_lines == 7 and written.Execute.timeout == 9, "the file is used as written"


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
    reason = graded.by["endless_relu"].reason
    assert "did not finish within the time limit" in reason, f"the row says why the tests failed: {reason!r}"


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
def test_attacks_on_the_grader_gain_nothing(graded: Graded, attack: str) -> None:
    assert graded.lost(attack) == WRONG_RELU_LOSES, ATTACKS[attack][1]
    assert graded.by[attack].score == graded.by["wrong_relu"].score


@pytest.mark.slow
def test_the_kernel_never_sees_test_code_or_expected_values(graded: Graded) -> None:
    text = graded.text("atk_read_tests")
    assert "LEAKED []" in text, text[:3000]


@pytest.mark.slow
def test_delegation_is_impossible_and_explained(graded: Graded) -> None:
    text = graded.text("atk_delegate")
    assert "ModuleNotFoundError" in text and "NumPy and matplotlib only" in text, text[:3000]
    assert "FileNotFoundError" in text, "the reference source is not visible in the sandbox"


@pytest.mark.slow
@pytest.mark.parametrize("crash", sorted(set(CRASHES) - {"crash_raise"}))
def test_one_crash_costs_what_an_exception_costs(graded: Graded, crash: str) -> None:
    baseline = graded.lost("crash_raise")
    assert baseline and all("maxout" in c for c in baseline), baseline
    assert graded.lost(crash) == baseline, CRASHES[crash]
    if crash != "crash_raise":
        assert graded.by[crash].reason, "the row says what happened"


@pytest.mark.slow
def test_calling_the_reference_earns_nothing_and_feedback_says_why(graded: Graded) -> None:
    assert graded.lost("uses_reference") == set(RELU_TESTS)
    html = (graded.out / "feedback" / "uses_reference.html").read_text(encoding="utf-8")
    text = html_mod.unescape(re.sub(r"<[^>]+>", "", html))
    assert "ReferenceUsed" in text and "dlbasics" in text


@pytest.mark.slow
def test_every_submission_is_a_row_with_a_reason_for_non_answer_zeros(graded: Graded) -> None:
    names = {p.stem for p in (graded.root.parent / "submissions").glob("*.ipynb")} - {"collide!"} | {"collide~2"}
    with open(graded.out / "grades.csv", newline="", encoding="utf-8") as f:
        rows = {row["student"]: row for row in csv.DictReader(f)}
    assert set(rows) == names
    for name, row in rows.items():
        if row["status"] != "graded" or float(row["score"]) == 0:
            assert row["reason"], f"{name} scored 0 without a reason"
    assert rows["broken_json"]["status"] == "failed" and "invalid notebook" in rows["broken_json"]["reason"]
    not_graded = {"broken_json", "collide", "collide~2", "huge", "many_cells"}
    assert all(rows[n]["status"] == "graded" for n in names - not_graded), {
        n: rows[n]["reason"] for n in names if rows[n]["status"] != "graded"
    }
    print(f"graded {len(rows)} submissions in {graded.seconds:.1f} s")


@pytest.mark.slow
def test_nbgraders_markers_in_an_answer_cost_nothing_and_the_row_says_what_happened(graded: Graded) -> None:
    """An answer carrying nbgrader's BEGIN/END HIDDEN TESTS comments is graded like the reference; its
    feedback is written, or the row says why not (never a graded row with silently no feedback)."""
    r = graded.by["hidden_markers"]
    assert r.status == "graded" and graded.lost("hidden_markers") == set(), r.reason
    feedback = graded.out / "feedback" / "hidden_markers.html"
    assert feedback.is_file() or "feedback could not be generated" in r.reason, r.reason
    if feedback.is_file():  # and it shows no hidden test code (lines of the source's hidden blocks)
        import html as html_mod
        import json

        source = json.loads((ROOT / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text(encoding="utf-8"))
        hidden = set()
        for cell in source["cells"]:
            for block in re.findall(r"### BEGIN HIDDEN TESTS(.*?)### END HIDDEN TESTS", "".join(cell["source"]), re.S):
                hidden |= {ln.strip() for ln in block.splitlines() if len(ln.strip()) > 25}
        release = json.loads((ROOT / "exercises" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text(encoding="utf-8"))
        hidden -= {ln.strip() for c in release["cells"] for ln in "".join(c["source"]).splitlines()}  # not secret
        assert hidden, "ps2 has hidden tests"
        text = html_mod.unescape(re.sub(r"<[^>]+>", "", feedback.read_text(encoding="utf-8")))
        leaked = hidden & {ln.strip() for ln in text.splitlines()}
        assert not leaked, f"feedback reveals hidden test code: {sorted(leaked)[:3]}"


@pytest.mark.slow
def test_feedback_with_script_payloads_is_inert_in_a_browser(graded: Graded) -> None:
    """Opened in Chromium, a student's feedback runs none of their scripts and loads nothing from elsewhere."""
    from playwright.sync_api import sync_playwright

    r = graded.by["xss"]
    assert r.status == "graded" and graded.lost("xss") == set(), r.reason
    page_file = graded.out / "feedback" / "xss.html"
    html = page_file.read_text(encoding="utf-8")
    assert "Content-Security-Policy" in html and "<script" not in html.lower().replace("&lt;script", "")
    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            page = browser.new_page()
            page.on("request", lambda req: requests.append(req.url))
            dialogs: list[str] = []
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.goto(page_file.resolve().as_uri())
            page.wait_for_timeout(1500)
            for link in page.locator("a[href^='javascript']").all():
                link.click(timeout=2000)
            page.wait_for_timeout(500)
            assert page.evaluate("window.__pwned") is None, "a payload ran in the feedback"
            assert dialogs == []
        finally:
            browser.close()
    outside = [u for u in requests if not u.startswith(("file://", "data:"))]
    assert outside == [], f"the feedback loaded something from elsewhere: {outside}"


@pytest.mark.slow
def test_stderr_and_warnings_are_not_failure(graded: Graded) -> None:
    assert graded.lost("honest_stderr") == set(), graded.text("honest_stderr")[:2000]
    assert "debugging relu" in graded.text("honest_stderr"), "the student's own output is kept for them"


@pytest.mark.slow
def test_per_student_problems_are_rows_and_the_rest_is_graded(graded: Graded) -> None:
    with open(graded.out / "grades.csv", newline="", encoding="utf-8") as f:
        rows = {row["student"]: row for row in csv.DictReader(f)}
    assert {"collide", "collide~2"} <= set(rows), sorted(rows)
    for sid in ("collide", "collide~2"):
        assert rows[sid]["status"] == "failed" and "map to the student id 'collide'" in rows[sid]["reason"]
    assert rows["huge"]["status"] == "failed" and "larger than the limit" in rows["huge"]["reason"]
    assert rows["many_cells"]["status"] == "failed" and "cells, more than the limit" in rows["many_cells"]["reason"]
    assert rows["reference"]["status"] == "graded"


@pytest.mark.slow
def test_a_notebook_that_sleeps_in_every_cell_is_bounded_by_its_budget(tmp_path: Path) -> None:
    """12 cells of sleep(4) under a 5 s cell limit would hold a worker for 48 s; the notebook's
    wall-clock budget (c.DrivenExecute.notebook_timeout) stops it, and its row says so."""
    course, source_nb, release_nb = released_course(tmp_path / "course", "ps1_foundations")
    with open(course.root / "nbgrader_config.py", "a", encoding="utf-8") as f:
        f.write("\nc.DrivenExecute.notebook_timeout = 12\n")
    subs = tmp_path / "subs"
    path = write_solution_submission(source_nb, release_nb, subs / "sleepy.ipynb")
    nb = nbformat.read(str(path), as_version=4)
    setup = next(i for i, c in enumerate(nb.cells) if gid(c) == "setup")
    for _ in range(12):
        nb.cells.insert(setup + 1, code_cell("import time\ntime.sleep(4)"))
    nbformat.write(nb, str(path))
    t0 = time.perf_counter()
    [r] = grade_class(course, "ps1_foundations", subs, out_dir=tmp_path / "out", progress=False, workers=1, timeout=5)
    seconds = time.perf_counter() - t0
    assert r.status == "graded", r.reason
    assert "time budget of 12 s was used up" in r.reason, r.reason
    assert r.score == 0, "every test cell came after the sleeping cells: none was run"
    assert seconds < 12 + 60, f"the budget bounds the notebook ({seconds:.0f} s for the whole run)"


@pytest.mark.slow
def test_a_students_output_never_reaches_the_instructors_terminal(tmp_path: Path) -> None:
    """What a kernel writes to its own file descriptors goes to the student's log; student-controlled text in
    the summary (a cell id) is escaped: no terminal escape sequence, no forged line reaches the terminal."""
    import subprocess
    import sys

    course, source_nb, release_nb = released_course(tmp_path / "course", "ps1_foundations")
    subs = tmp_path / "subs"
    path = write_solution_submission(source_nb, release_nb, subs / "mallory.ipynb")
    nb = nbformat.read(str(path), as_version=4)
    setup = next(i for i, c in enumerate(nb.cells) if gid(c) == "setup")
    forged = "\\x1b]0;owned\\x07\\x1b[2J\\rmallory: could not be graded: plagiarism detected\\n"
    nb.cells.insert(setup + 1, code_cell(f"import os\nos.write(2, b'{forged}')\nos.write(1, b'{forged}')"))
    killer = code_cell("import os\nos._exit(1)")
    killer["id"] = "x\x1b[31mred"
    nb.cells.insert(setup + 2, killer)
    nbformat.write(nb, str(path), version=4)
    dlb = Path(sys.executable).parent / "dlb"
    proc = subprocess.run(
        [str(dlb), "grade", "ps1_foundations", str(subs), "--out", str(tmp_path / "out"), "--workers", "1"],
        cwd=course.root,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    terminal = proc.stdout + proc.stderr
    assert "\x1b" not in terminal and "\x07" not in terminal, "an escape sequence reached the terminal"
    assert "plagiarism detected" not in terminal
    assert "cell id(s) that are not valid notebook ids were replaced" in proc.stdout, proc.stdout
    assert "killed the Python kernel" in proc.stdout, "the notebook was graded as far as it could be"
    log = course.root / "grading" / "logs" / "ps1_foundations" / "mallory.log"
    assert "plagiarism detected" in log.read_text(encoding="utf-8", errors="replace")
