"""Grade a class: collect a folder or zip of submissions, autograde with nbgrader, export grades.

See :mod:`dlbasics.course.collect` for the accepted layouts. Every submission ends as a row of
the grades CSV. One that cannot be graded (invalid JSON, no notebook, nbgrader failing) scores 0
with the reason in the row, and the batch goes on.

Grading is incremental. A manifest (``grading/manifests/<assignment>.json``, rewritten atomically
after every student) remembers, per student, a hash of the notebook that was graded and the
outcome. A later run regrades only the students whose notebook changed, and everyone when the
assignment's source (``solutions/<assignment>/``), the grading settings (time limit,
``nbgrader_config.py``), the grading code, nbgrader or PyTorch changed, or when forced. Scores of the
students it reuses are read from the gradebook, so manual grades entered since are included.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import datetime
import fcntl
import hashlib
import json
import multiprocessing
import os
import shutil
import statistics
import sys
import time
import warnings
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

import nbformat

from dlbasics.course.cells import grade_id
from dlbasics.course.collect import Submission, discover, opened, place
from dlbasics.course.course import Course, CourseError
from dlbasics.course.execute import CURRENT
from dlbasics.course.references import ensure_recorded


@dataclass
class Result:
    """The outcome of grading one student."""

    student: str
    status: str  # "graded" or "failed"
    reason: str = ""
    score: float = 0.0
    max_score: float = 0.0
    cells: dict[str, float | None] = field(default_factory=dict)  # None: awaiting manual grading
    seconds: float = 0.0
    #: True when this run kept the previous grading (the notebook and the assignment were unchanged).
    reused: bool = False


class GradingRun(list[Result]):
    """What :func:`grade_class` returns: the results, one per submission in input order, and what the run did."""

    def __init__(self, results: Iterable[Result] = (), *, cell_max: dict[str, float] | None = None,
                 regrade_all: str = "", removed: list[str] | None = None, sandbox: str = "") -> None:
        super().__init__(results)
        #: How student code ran: "sandboxed (...)" or "NOT sandboxed: <why>" ('' when unknown).
        self.sandbox = sandbox
        #: Points of every autograded test cell (the summary counts a cell below its points as failed).
        self.cell_max: dict[str, float] = dict(cell_max or {})
        #: Why every submission was regraded ('' when only changed ones were).
        self.regrade_all = regrade_all
        #: Students of the previous run that are not in this input (so not in grades.csv).
        self.removed: list[str] = list(removed or [])

    @property
    def regraded(self) -> list[Result]:
        return [r for r in self if not r.reused]

    @property
    def reused(self) -> list[Result]:
        return [r for r in self if r.reused]


def _submission_scores(sub: Any) -> tuple[dict[str, float | None], float]:
    """Points per graded cell of a gradebook submission (None where a person still has to grade it)
    and nbgrader's total."""
    cells: dict[str, float | None] = {}
    for nb in sub.notebooks:
        for g in nb.grades:
            cells[g.name] = None if g.needs_manual_grade else float(g.score or 0.0)
    return cells, float(sub.score)


def _read_scores(course: Course, assignment: str, student: str) -> tuple[dict[str, float | None], float]:
    """One student's points per graded cell and total, from the gradebook."""
    from nbgrader.api import Gradebook

    with Gradebook(course.db_url) as gb:
        return _submission_scores(gb.find_submission(assignment, student))


def _max_scores(course: Course, assignment: str) -> tuple[dict[str, float], set[str]]:
    """Every graded cell's points, autograded tests first, then manually graded answers; and the
    names of the autograded test cells (code cells)."""
    from nbgrader.api import Gradebook

    with Gradebook(course.db_url) as gb:
        a = gb.find_assignment(assignment)
        cells = [c for nb in a.notebooks for c in nb.grade_cells]
        ordered = [c for c in cells if c.cell_type == "code"] + [c for c in cells if c.cell_type != "code"]
        return {c.name: float(c.max_score) for c in ordered}, {c.name for c in cells if c.cell_type == "code"}


_WORKER: dict[str, Any] = {}


def _worker_init(course: Course) -> None:
    """Per worker process: one nbgrader API (its start-up is paid once per worker, not per student).

    The whole Course is passed (pickled), so every setting of it (time limit, ...) reaches the workers."""
    _WORKER["course"] = course
    _WORKER["api"] = course.grading_api()


def _run_autograde(api: Any, assignment: str, student: str) -> tuple[str, str]:
    """One nbgrader autograde (retrying a locked database); return (error or '', nbgrader's log)."""
    err, text = "", ""
    for _attempt in range(3):
        res = api.autograde(assignment, student, force=True, create=True)
        if res.get("success"):
            return "", ""
        text = f"{res.get('error') or ''}\n{res.get('log') or ''}".strip()
        lines = [ln for ln in text.splitlines() if ln.strip()]
        err = "autograde failed: " + (lines[-1].strip() if lines else "unknown error")
        if "database is locked" not in text:
            break
    return err, text


def _why(text: str, timeout: Any) -> str:
    if "Kernel died" in text or "DeadKernelError" in text:
        return "killed the Python kernel (e.g. os._exit, a crash or running out of memory)"
    if "Timeout waiting for IOPub" in text or "CellTimeoutError" in text or "Timeout waiting for execute" in text:
        return f"did not stop when interrupted after the {timeout} s time limit (it swallows KeyboardInterrupt)"
    return ""


def _neutralise(course: Course, assignment: str, student: str, blame: dict[str, Any]) -> str:
    """Replace the blamed (non-test) cell of the submitted notebook by its release version; return its name."""
    if not blame or blame.get("test"):
        return ""
    folder = course.grading_dir / "submitted" / student / assignment
    nbs = sorted(folder.glob("*.ipynb"))
    if not nbs:
        return ""
    nb = nbformat.read(str(nbs[0]), as_version=4)
    idx = int(blame["index"])
    if not 0 <= idx < len(nb.cells):
        return ""
    cell = nb.cells[idx]
    name = blame.get("grade_id") or blame.get("cell_id") or f"#{idx}"
    release = course.grading_release_dir / assignment / nbs[0].name
    stub = None
    if blame.get("grade_id") and release.is_file():
        rel = nbformat.read(str(release), as_version=4)
        stub = next((c.source for c in rel.cells
                     if grade_id(c) == blame["grade_id"]), None)
    cell.source = stub if stub is not None else "# removed by the grader: this cell stopped the notebook from running"
    nbformat.write(nb, str(nbs[0]))
    return f"cell {name}"


def _autograde_one(assignment: str, student: str, feedback: bool) -> tuple[str, str, str, float]:
    """Autograde one student (and write feedback); return (student, error or '', note, seconds).

    If the notebook cannot be run to the end because one of the student's cells kills the kernel
    or ignores the interrupt sent at the time limit, that cell is replaced by its release version
    (the stub) and the notebook is graded again, so the other answers still score; the note says so.
    """
    api = _WORKER["api"]
    course: Course = _WORKER["course"]
    t0 = time.perf_counter()
    notes: list[str] = []
    err = ""
    for _round in range(4):
        CURRENT.clear()
        with warnings.catch_warnings():
            # nbgrader's SQLAlchemy session warns ("not in session") when it adds a new student's
            # submission; the grades are right, and the warning would only tear the progress bar.
            warnings.filterwarnings("ignore", message=".*not in session.*")
            err, text = _run_autograde(api, assignment, student)
        if not err:
            break
        blame = dict(CURRENT)
        why = _why(text, api.config.Execute.get("timeout"))
        where = f" while running cell {blame.get('grade_id') or blame.get('cell_id') or blame.get('index')}" if blame else ""
        if why:
            err = f"autograde failed: the notebook {why}{where}"
        fixed = _neutralise(course, assignment, student, blame) if why else ""
        if not fixed:
            break
        notes.append(f"{fixed} {why}; graded with that cell replaced by the release version")
    if not err and feedback:
        api.generate_feedback(assignment, student, force=True)
    return student, err, "; ".join(notes), time.perf_counter() - t0


def default_workers() -> int:
    return max(1, os.cpu_count() or 1)


# ---------------------------------------------------------------------------------------------
# What was graded before: the manifest
# ---------------------------------------------------------------------------------------------

MANIFEST_VERSION = 1

#: How each part of the fingerprint is named when it changed (the reason everything is regraded).
_CHANGED = {
    "assignment": "the assignment changed (solutions/{a}/: tests, points or answers)",
    "timeout": "the time limit changed ({old} s -> {new} s)",
    "config": "nbgrader_config.py changed",
    "grader": "the grading code (the dlbasics package) changed",
    "nbgrader": "nbgrader's version changed ({old} -> {new})",
    "torch": "PyTorch's version changed ({old} -> {new})",
    "sandbox": "the sandbox setting changed ({old} -> {new})",
}


def manifest_path(course: Course, assignment: str) -> Path:
    return course.grading_dir / "manifests" / f"{assignment}.json"


def _hash_file(h: Any, path: Path) -> None:
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)


def _hash_tree(folder: Path, *, suffix: str = "", skip: tuple[str, ...] = ()) -> str:
    """A hash of every file's relative path and bytes under ``folder`` (dotfiles and caches excluded)."""
    h = hashlib.sha256()
    if folder.is_dir():
        for path in sorted(folder.rglob(f"*{suffix}")):
            rel = path.relative_to(folder)
            if (not path.is_file() or rel.as_posix() in skip
                    or any(p.startswith(".") or p == "__pycache__" for p in rel.parts)):
                continue
            h.update(rel.as_posix().encode() + b"\0")
            _hash_file(h, path)
            h.update(b"\0")
    return h.hexdigest()


def fingerprint(course: Course, assignment: str, sandbox: str = "") -> dict[str, str]:
    """Everything besides a student's notebook that decides their grade; a change regrades the class."""
    import nbgrader

    import dlbasics

    cfg = Path(course.config_file) if course.config_file else None
    config_hash = hashlib.sha256(cfg.read_bytes()).hexdigest() if cfg and cfg.is_file() else ""
    return {
        "assignment": _hash_tree(course.root / "solutions" / assignment),
        "timeout": str(course.config().Execute.timeout),
        "config": config_hash,
        # The test cells import the check helpers and compare with the reference implementation.
        "grader": _hash_tree(Path(dlbasics.__file__).parent, suffix=".py", skip=("course/cli.py",)),
        "nbgrader": str(nbgrader.__version__),
        # The hidden tests compare with PyTorch (see dlbasics.course.references).
        "torch": _version("torch"),
        # How student code runs (sandboxed or not, and why): a fallback regrades everyone once it works.
        "sandbox": sandbox or str(course.sandbox or ""),
    }


def _version(dist: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return ""


def _changes(old: dict[str, str], new: dict[str, str], assignment: str) -> str:
    why = [_CHANGED.get(k, k + " changed").format(a=assignment, old=old.get(k) or "?", new=new.get(k))
           for k in new if old.get(k) != new.get(k)]
    return "; ".join(why)


def input_key(sub: Submission) -> str:
    """A hash of what the student handed in (the notebook's bytes) and of how it was found."""
    h = hashlib.sha256()
    try:
        if sub.notebook is not None:
            _hash_file(h, sub.notebook)
    except OSError as exc:
        h.update(f"unreadable: {exc}".encode())
    h.update(b"\0" + sub.problem.encode())
    return h.hexdigest()


def _load_manifest(path: Path, assignment: str) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = None
    if (not isinstance(data, dict) or data.get("version") != MANIFEST_VERSION
            or data.get("assignment") != assignment or not isinstance(data.get("students"), dict)):
        return {}
    return data


def _save_manifest(path: Path, data: dict[str, Any]) -> None:
    """Write atomically (temporary file + rename): an interrupted run leaves the previous or the new version."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=1, sort_keys=True)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


@contextlib.contextmanager
def _exclusive(course: Course, assignment: str) -> Iterator[None]:
    """One ``dlb grade`` of an assignment at a time (two would overwrite each other's submissions)."""
    lock = manifest_path(course, assignment).with_suffix(".lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "w") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise CourseError(f"{assignment} is being graded by another dlb process in {course.root} "
                              f"(lock {lock}); wait for it to finish") from None
        yield


def _gradebook_scores(course: Course, assignment: str,
                      students: Iterable[str]) -> dict[str, tuple[dict[str, float | None], float]]:
    """Scores of those ``students`` the gradebook has a submission for (one connection for all)."""
    from nbgrader.api import Gradebook, MissingEntry

    out: dict[str, tuple[dict[str, float | None], float]] = {}
    with Gradebook(course.db_url) as gb:
        for student in students:
            try:
                sub = gb.find_submission(assignment, student)
            except MissingEntry:
                continue
            out[student] = _submission_scores(sub)
    return out


def _feedback_file(course: Course, assignment: str, student: str) -> Path | None:
    return next(iter(sorted((course.grading_dir / "feedback" / student / assignment).glob("*.html"))), None)


def _gradebook_name(course: Course) -> str:
    """The gradebook in use, for messages: the SQLite file, or the server URL without its password."""
    from sqlalchemy.engine import make_url

    url = make_url(course.db_url)
    if url.get_backend_name() == "sqlite":
        return str(course.db_path)
    return url.render_as_string(hide_password=True)


def _transient(err: str) -> bool:
    """A failure of the grader rather than of the notebook: not remembered, so the next run retries it."""
    return err.startswith("grader error") or "database is locked" in err


# ---------------------------------------------------------------------------------------------
# Grading a class
# ---------------------------------------------------------------------------------------------

def grade_class(
    course: Course,
    assignment: str,
    submissions: Path,
    *,
    out_dir: Path | None = None,
    feedback: bool = True,
    progress: bool | None = None,
    workers: int | None = None,
    timeout: int | None = None,
    force: bool = False,
) -> GradingRun:
    """Grade the submissions in ``submissions`` (a folder or a .zip); write ``grades.csv`` and feedback.

    Students are autograded by ``workers`` processes (default: one per CPU), each with its own
    nbgrader API and kernel, all writing to the one gradebook (:attr:`Course.db_url`). The default
    SQLite gradebook is put in write-ahead-log mode and opened with a busy timeout, so concurrent
    writers wait for each other instead of failing; a write that still finds the database locked is
    retried. A server database (PostgreSQL) handles concurrent writers itself.

    Only students whose notebook changed since their last grading are graded again, unless the
    assignment or the grading settings changed or ``force`` is given (see the module docstring).
    ``grades.csv`` always lists exactly the students of this input, in input order.

    ``timeout`` overrides the per-cell time limit of ``nbgrader_config.py`` (seconds).
    ``progress``: None shows a progress bar on stderr when it is a terminal, True always shows it,
    False prints nothing; unless False, failures and notes are printed as they happen.
    """
    if timeout is not None:
        course = dataclasses.replace(course, timeout=timeout)
    notebooks = course.source_notebooks(assignment)
    if len(notebooks) != 1:
        raise CourseError(f"{assignment} has {len(notebooks)} notebooks; one per assignment is supported")
    # A zip is checked and extracted first, so a bad one fails before anything is written.
    with _exclusive(course, assignment), opened(Path(submissions), assignment) as folder:
        subs = discover(folder, assignment)
        return _grade_class(course, assignment, subs, notebooks[0].name, out_dir=out_dir,
                            feedback=feedback, progress=progress, workers=workers, force=force)


def _grade_class(course: Course, assignment: str, subs: list[Submission], notebook_name: str, *,
                 out_dir: Path | None, feedback: bool, progress: bool | None, workers: int | None,
                 force: bool) -> GradingRun:
    from tqdm import tqdm  # type: ignore[import-untyped]

    talk = progress is not False

    def say(msg: str) -> None:
        if talk:
            tqdm.write(msg, file=sys.stderr)

    # Decided once per run (an error for sandbox mode 'on' without bubblewrap; a warning for 'auto').
    sandbox = course.sandbox_status().describe()
    api = course.grading_api()
    # (Re)generate from solutions/: this records the assignment's tests in the gradebook.
    gen = api.generate_assignment(assignment, force=True, create=True)
    if not gen.get("success"):
        err = str(gen.get("error") or gen.get("log") or "")
        if "Cannot add or remove cells" in err:
            raise CourseError(
                f"test or answer cells were added to or removed from {assignment} after students were graded, "
                f"and nbgrader cannot change the cells of an assignment that has submissions in "
                f"the gradebook ({_gradebook_name(course)}). Move that gradebook away (it also holds any manual "
                f"grades) and run again.")
        raise CourseError(f"could not generate {assignment} from solutions/:\n{err}")
    course.enable_wal()
    release_nb = nbformat.read(str(course.grading_release_dir / assignment / notebook_name), as_version=4)
    max_scores, code_cells = _max_scores(course, assignment)
    total = sum(max_scores.values())

    # What the last run left: reuse it only if nothing but some notebooks changed since.
    mpath = manifest_path(course, assignment)
    fp = fingerprint(course, assignment, sandbox)
    old = _load_manifest(mpath, assignment)
    if force:
        regrade_all = "forced (--force)"
    elif not old:
        regrade_all = "" if not mpath.exists() else "the previous run's record was unreadable"
    else:
        regrade_all = _changes(old.get("fingerprint") or {}, fp, assignment)
    entries: dict[str, Any] = {} if (force or regrade_all) else dict(old.get("students") or {})
    previous_input = [str(s) for s in (old.get("input_students") or [])]

    keys = {s.student: input_key(s) for s in subs}
    candidates = [s.student for s in subs
                  if s.student in entries and entries[s.student].get("input") == keys[s.student]]
    in_gradebook = _gradebook_scores(course, assignment, candidates)
    results: dict[str, Result] = {}
    todo: list[Submission] = []
    notes: dict[str, str] = {}
    for sub in subs:
        e = entries.get(sub.student)
        if sub.student in candidates and e is not None:
            if e.get("status") == "failed":
                results[sub.student] = Result(sub.student, "failed", str(e.get("reason", "")), 0.0, total,
                                              seconds=float(e.get("seconds", 0.0)), reused=True)
                continue
            feedback_kept = not feedback or _feedback_file(course, assignment, sub.student) is not None
            if sub.student in in_gradebook and feedback_kept:
                cells, score = in_gradebook[sub.student]
                results[sub.student] = Result(sub.student, "graded", str(e.get("reason", "")), score, total,
                                              cells, seconds=float(e.get("seconds", 0.0)), reused=True)
                continue
        entries.pop(sub.student, None)  # about to be regraded: the old outcome no longer holds
        problem = place(course, assignment, notebook_name, sub, release_nb)  # fatal: nothing to grade
        if problem:
            results[sub.student] = Result(sub.student, "failed", problem, 0.0, total)
        else:
            notes[sub.student] = sub.problem  # e.g. several notebooks handed in: which one was graded
            todo.append(sub)

    removed = sorted(set(previous_input) - {s.student for s in subs})
    manifest: dict[str, Any] = {"version": MANIFEST_VERSION, "assignment": assignment, "fingerprint": fp,
                                "input_students": [s.student for s in subs], "students": entries}

    def remember(r: Result) -> None:
        if r.status == "failed" and _transient(r.reason):
            return
        entries[r.student] = {
            "input": keys[r.student], "status": r.status, "reason": r.reason, "seconds": round(r.seconds, 3),
            "graded_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        }
        _save_manifest(mpath, manifest)

    for sub in subs:  # failed before grading (no notebook, invalid JSON): remembered at once
        r0 = results.get(sub.student)
        if r0 is not None and not r0.reused:
            remember(r0)
            say(f"{r0.student}: could not be graded: {r0.reason}")
    _save_manifest(mpath, manifest)

    n_reused = sum(1 for r in results.values() if r.reused)
    if regrade_all:
        say(f"{assignment}: grading all {len(subs)} submissions: {regrade_all}")
    elif n_reused:
        say(f"{assignment}: {n_reused} of {len(subs)} submissions unchanged since their last grading (kept); "
            f"grading {len(todo)}")
    show_bar = progress is True or (progress is None and sys.stderr.isatty())
    try:  # tqdm hides its bar on a terminal that reports no size (some ptys): give it one there
        sized = min(os.get_terminal_size(sys.stderr.fileno())) > 0
    except (OSError, ValueError, AttributeError):
        sized = False
    bar = tqdm(total=len(todo), desc=f"grading {assignment}", unit="nb", file=sys.stderr,
               disable=not (show_bar and todo), dynamic_ncols=sized,
               ncols=None if sized else 100, nrows=None if sized else 20)

    def record(student: str, err: str, note: str, seconds: float) -> None:
        reason = "; ".join(x for x in (notes.get(student, ""), note, err) if x)
        if err:
            r = Result(student, "failed", reason, 0.0, total)
        else:
            cells, score = _read_scores(course, assignment, student)
            r = Result(student, "graded", reason, score, total, cells)
        r.seconds = seconds
        results[student] = r
        remember(r)
        if r.status != "graded":
            say(f"{student}: could not be graded: {r.reason}")
        elif r.reason:
            say(f"{student}: graded {r.score:g}/{r.max_score:g}; note: {r.reason}")
        bar.update(1)

    if todo:  # PyTorch's answers to the hidden tests, computed once for the class (kept while valid)
        t_rec = time.perf_counter()
        recorded, problem = ensure_recorded(course.source_notebooks(assignment)[0],
                                            course.references_dir / assignment,
                                            timeout=int(api.config.Execute.timeout))
        if recorded:
            say(f"{assignment}: recorded PyTorch's answers to the hidden tests once for the class "
                f"({time.perf_counter() - t_rec:.1f} s)")
        if problem:
            say(f"{assignment}: {problem}; the kernels compute what is missing themselves")
    n_workers = max(1, min(workers or default_workers(), len(todo) or 1))
    try:
        if n_workers == 1:
            _WORKER["api"] = api
            _WORKER["course"] = course
            for sub in todo:
                try:
                    outcome = _autograde_one(assignment, sub.student, feedback)
                except Exception as exc:  # a bug or an environment failure: the batch goes on
                    outcome = (sub.student, f"grader error: {type(exc).__name__}: {exc}", "", 0.0)
                record(*outcome)
        elif todo:
            ctx = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(n_workers, mp_context=ctx, initializer=_worker_init,
                                     initargs=(course,)) as pool:
                futures: dict[Future[tuple[str, str, str, float]], str] = {
                    pool.submit(_autograde_one, assignment, sub.student, feedback): sub.student for sub in todo}
                for fut in as_completed(futures):
                    try:
                        outcome = fut.result()
                    except Exception as exc:  # e.g. a worker process died: retried on the next run
                        outcome = (futures[fut], f"grader error: {type(exc).__name__}: {exc}", "", 0.0)
                    record(*outcome)
    finally:
        bar.close()

    ordered = GradingRun((results[s.student] for s in subs), regrade_all=regrade_all, removed=removed,
                         sandbox=sandbox,
                         cell_max={c: p for c, p in max_scores.items() if c in code_cells})
    out = Path(out_dir) if out_dir else course.grading_dir / "exports" / assignment
    write_csv(out / "grades.csv", ordered, list(max_scores), sandboxed=sandbox.startswith("sandboxed"))
    if feedback:
        _copy_feedback(course, assignment, out / "feedback", [r.student for r in ordered if r.status == "graded"])
    return ordered


def write_csv(path: Path, results: Iterable[Result], cell_names: list[str], *, sandboxed: bool = False) -> None:
    """One row per student: status, reason, total, max, whether student code ran in the sandbox, and the
    points of every autograded test cell.

    Written to a temporary file and renamed, so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["student", "status", "reason", "score", "max_score", "awaiting_manual_grading", "sandboxed",
                    *cell_names])
        for r in results:
            pending = [c for c in cell_names if c in r.cells and r.cells[c] is None]
            w.writerow([
                r.student, r.status, r.reason, f"{r.score:g}", f"{r.max_score:g}", " ".join(pending),
                # reused rows were graded under the same sandbox state (a change regrades everyone)
                "yes" if sandboxed else "no",
                *["" if r.cells.get(c, 0.0) is None else f"{r.cells.get(c) or 0.0:g}" for c in cell_names],
            ])
    os.replace(tmp, path)


def _copy_feedback(course: Course, assignment: str, dest: Path, students: Iterable[str]) -> None:
    """Feedback of exactly these (graded) students: none left over from students no longer in the input."""
    if dest.exists():
        shutil.rmtree(dest)
    for student in students:
        html = _feedback_file(course, assignment, student)
        if html is not None:
            dest.mkdir(parents=True, exist_ok=True)
            shutil.copy2(html, dest / f"{student}.html")


def summary(results: list[Result]) -> str:
    """A closing summary: counts, what was regraded, mean and spread of the scores, failures with
    their reasons, notes, and the tests most often failed (the class's common misconceptions)."""
    run = results if isinstance(results, GradingRun) else GradingRun(results)
    graded = [r for r in run if r.status == "graded"]
    failed = [r for r in run if r.status != "graded"]
    lines = [f"{len(run)} submissions: {len(graded)} graded, {len(failed)} could not be graded"]
    if run.sandbox:
        lines.append(f"student code: {run.sandbox}")
    regraded = run.regraded
    if run.regrade_all:
        lines.append(f"regraded all {len(regraded)}: {run.regrade_all}")
    else:
        lines.append(f"regraded {len(regraded)}, reused {len(run.reused)} unchanged since their last grading")
    if run.removed:
        lines.append(f"{len(run.removed)} student(s) of the previous run no longer in the input "
                     f"(left out of grades.csv): {', '.join(run.removed)}")
    if run:
        mx = max((r.max_score for r in run), default=0.0)
        mean_all = sum(r.score for r in run) / len(run)
        line = f"mean score {mean_all:.2f} / {mx:g} over all {len(run)} (could-not-grade count as 0)"
        if graded:
            line += f"; {sum(r.score for r in graded) / len(graded):.2f} over the {len(graded)} graded"
        lines.append(line)
        if graded:
            totals = sorted(r.score for r in graded)
            lines.append(f"scores of the graded: min {totals[0]:g}, median {statistics.median(totals):g}, "
                         f"max {totals[-1]:g}")
    timed = [r for r in regraded if r.status == "graded"]
    if timed:
        per = [r.seconds for r in timed]
        lines.append(f"time per graded submission: mean {sum(per) / len(per):.2f} s")
    if failed:
        lines.append("could not be graded:")
        lines.extend(f"  {r.student}: {r.reason}" for r in failed)
    noted = [r for r in graded if r.reason]  # graded, but something had to be repaired or neutralised first
    if noted:
        lines.append("graded with notes:")
        lines.extend(f"  {r.student}: {r.reason}" for r in noted)
    misses: dict[str, int] = {}
    for r in graded:
        for name, pts in r.cells.items():
            if pts is None or (run.cell_max and name not in run.cell_max):
                continue
            if pts < run.cell_max.get(name, 0.0) or pts <= 0:
                misses[name] = misses.get(name, 0) + 1
    if misses:
        ranked = sorted(misses.items(), key=lambda kv: (-kv[1], kv[0]))
        lines.append(f"tests most often failed (by how many of the {len(graded)} graded failed them):")
        lines.extend(f"  {name}: {n}/{len(graded)}" for name, n in ranked[:10])
        if len(ranked) > 10:
            lines.append(f"  ... and {len(ranked) - 10} more tests failed by fewer students")
    elif graded:
        lines.append("no test failed")
    return "\n".join(lines)
