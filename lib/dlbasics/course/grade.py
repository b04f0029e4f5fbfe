"""Grade a class: collect a folder of submissions, autograde with nbgrader, export grades.

See :mod:`dlbasics.course.collect` for the accepted layouts. Every submission ends as a row of
the grades CSV. One that cannot be graded (invalid JSON, no notebook, nbgrader failing) scores 0
with the reason in the row, and the batch goes on.
"""

from __future__ import annotations

import csv
import multiprocessing
import os
import shutil
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import nbformat

from dlbasics.course.cells import grade_id
from dlbasics.course.collect import Submission, discover, place
from dlbasics.course.course import Course, CourseError
from dlbasics.course.execute import CURRENT

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


def _read_scores(course: Course, assignment: str, student: str) -> tuple[dict[str, float | None], float]:
    """Points per graded cell (None where a person still has to grade it) and nbgrader's total."""
    from nbgrader.api import Gradebook

    with Gradebook(course.db_url) as gb:
        sub = gb.find_submission(assignment, student)
        cells: dict[str, float | None] = {}
        for nb in sub.notebooks:
            for g in nb.grades:
                cells[g.name] = None if g.needs_manual_grade else float(g.score or 0.0)
        return cells, float(sub.score)


def _max_scores(course: Course, assignment: str) -> dict[str, float]:
    """Every graded cell's points, autograded tests first, then manually graded answers."""
    from nbgrader.api import Gradebook

    with Gradebook(course.db_url) as gb:
        a = gb.find_assignment(assignment)
        cells = [c for nb in a.notebooks for c in nb.grade_cells]
        ordered = [c for c in cells if c.cell_type == "code"] + [c for c in cells if c.cell_type != "code"]
        return {c.name: float(c.max_score) for c in ordered}


_WORKER: dict[str, Any] = {}


def _worker_init(root: str, config_file: str | None, timeout: int | None = None) -> None:
    """Per worker process: one nbgrader API (its start-up is paid once per worker, not per student)."""
    course = Course(Path(root), Path(config_file) if config_file else None, timeout)
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


def grade_class(
    course: Course,
    assignment: str,
    submissions: Path,
    *,
    out_dir: Path | None = None,
    feedback: bool = True,
    progress: bool = True,
    workers: int | None = None,
    timeout: int | None = None,
) -> list[Result]:
    """Grade every submission in ``submissions``; write ``grades.csv`` and feedback; return the results.

    Students are autograded by ``workers`` processes (default: one per CPU), each with its own
    nbgrader API and kernel, all writing to the one SQLite gradebook. The gradebook is put in
    write-ahead-log mode and opened with a busy timeout, so concurrent writers wait for each other
    instead of failing; a write that still finds the database locked is retried.

    ``timeout`` overrides the per-cell time limit of ``nbgrader_config.py`` (seconds).
    """
    if timeout is not None:
        course = Course(course.root, course.config_file, timeout)
    notebooks = course.source_notebooks(assignment)
    if len(notebooks) != 1:
        raise CourseError(f"{assignment} has {len(notebooks)} notebooks; one per assignment is supported")
    notebook_name = notebooks[0].name
    subs = discover(submissions, assignment)
    api = course.grading_api()
    # (Re)generate from solutions/: this records the assignment's tests in the gradebook.
    gen = api.generate_assignment(assignment, force=True, create=True)
    if not gen.get("success"):
        raise CourseError(f"could not generate {assignment} from solutions/:\n{gen.get('error')}")
    course.enable_wal()
    release_nb = nbformat.read(str(course.grading_release_dir / assignment / notebook_name), as_version=4)
    max_scores = _max_scores(course, assignment)
    total = sum(max_scores.values())
    results: dict[str, Result] = {}
    todo: list[Submission] = []
    notes: dict[str, str] = {}
    for sub in subs:
        problem = place(course, assignment, notebook_name, sub, release_nb)  # fatal: nothing to grade
        if problem:
            results[sub.student] = Result(sub.student, "failed", problem, 0.0, total)
        else:
            notes[sub.student] = sub.problem  # e.g. several notebooks handed in: which one was graded
            todo.append(sub)
    n_workers = max(1, min(workers or default_workers(), len(todo) or 1))
    done = len(results)

    def record(student: str, err: str, note: str, seconds: float) -> None:
        nonlocal done
        reason = "; ".join(x for x in (notes.get(student, ""), note, err) if x)
        if err:
            r = Result(student, "failed", reason, 0.0, total)
        else:
            cells, score = _read_scores(course, assignment, student)
            r = Result(student, "graded", reason, score, total, cells)
        r.seconds = seconds
        results[student] = r
        done += 1
        if progress:
            print(f"[{done}/{len(subs)}] {r.student}: {r.status} {r.score:g}/{r.max_score:g} {r.reason}",
                  file=sys.stderr, flush=True)

    if n_workers == 1:
        _WORKER["api"] = api
        _WORKER["course"] = course
        for sub in todo:
            record(*_autograde_one(assignment, sub.student, feedback))
    else:
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(n_workers, mp_context=ctx, initializer=_worker_init,
                                 initargs=(str(course.root), str(course.config_file) if course.config_file else None,
                                           course.timeout)) as pool:
            futures = [pool.submit(_autograde_one, assignment, sub.student, feedback) for sub in todo]
            for fut in as_completed(futures):
                record(*fut.result())
    ordered = [results[s.student] for s in subs]
    out = Path(out_dir) if out_dir else course.grading_dir / "exports" / assignment
    write_csv(out / "grades.csv", ordered, list(max_scores))
    if feedback:
        _copy_feedback(course, assignment, out / "feedback")
    return ordered


def write_csv(path: Path, results: Iterable[Result], cell_names: list[str]) -> None:
    """One row per student: status, reason, total, max and the points of every autograded test cell."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["student", "status", "reason", "score", "max_score", "awaiting_manual_grading", *cell_names])
        for r in results:
            pending = [c for c in cell_names if c in r.cells and r.cells[c] is None]
            w.writerow([
                r.student, r.status, r.reason, f"{r.score:g}", f"{r.max_score:g}", " ".join(pending),
                *["" if r.cells.get(c, 0.0) is None else f"{r.cells.get(c) or 0.0:g}" for c in cell_names],
            ])


def _copy_feedback(course: Course, assignment: str, dest: Path) -> None:
    src_root = course.grading_dir / "feedback"
    if dest.exists():
        shutil.rmtree(dest)
    for html in sorted(src_root.glob(f"*/{assignment}/*.html")):
        student = html.parent.parent.name
        target = dest / f"{student}.html"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(html, target)


def summary(results: list[Result]) -> str:
    """A closing summary: counts, mean score, failures with reasons, most-failed tests."""
    graded = [r for r in results if r.status == "graded"]
    failed = [r for r in results if r.status != "graded"]
    lines = [f"{len(results)} submissions: {len(graded)} graded, {len(failed)} could not be graded"]
    if results:
        mx = max((r.max_score for r in results), default=0.0)
        mean = sum(r.score for r in results) / len(results)
        lines.append(f"mean score {mean:.2f} / {mx:g}")
        per = [r.seconds for r in results]
        lines.append(f"time per submission: mean {sum(per) / len(per):.2f} s")
    for r in failed:
        lines.append(f"  {r.student}: {r.reason}")
    for r in graded:
        if r.reason:  # graded, but something had to be repaired or neutralised first
            lines.append(f"  {r.student} (graded, note): {r.reason}")
    misses: dict[str, int] = {}
    for r in graded:
        for name, pts in r.cells.items():
            if pts is not None and pts <= 0:
                misses[name] = misses.get(name, 0) + 1
    if misses:
        lines.append("tests most often failed:")
        for name, n in sorted(misses.items(), key=lambda kv: (-kv[1], kv[0]))[:8]:
            lines.append(f"  {name}: {n}/{len(graded)}")
    return "\n".join(lines)
