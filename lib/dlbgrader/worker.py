"""Grading one student, in a worker process: nbgrader's autograde with the driven executor, then feedback.

Each worker process keeps one nbgrader API for all the students it grades (nbgrader's start-up is
paid once per worker), and the grader's PyTorch answers (computed by the test cells, see
:func:`dlbasics.checks.torch_reference`) are remembered in the worker across students.
"""

from __future__ import annotations

import os
import time
import warnings
from dataclasses import dataclass, field
from typing import Any

from dlbgrader import execute
from dlbgrader.course import Course


@dataclass
class Outcome:
    """What grading one student gave, as the worker knows it."""

    student: str
    error: str = ""  # why the notebook could not be graded at all ('' when it was)
    transient: bool = False  # the grader failed, not the notebook: the next run tries again
    notes: list[str] = field(default_factory=list)  # graded, but something was skipped or could not be made
    seconds: float = 0.0
    calls: int = 0
    call_seconds: float = 0.0


_STATE: dict[str, Any] = {}


def init(course: Course, environ: dict[str, str] | None = None, cwd: str | None = None) -> None:
    """Per worker process: one nbgrader API (its start-up is paid once per worker, not per student).
    The whole Course is passed (pickled), so every setting of it reaches the workers; so are the grading
    process's environment and folder (a worker forked from a fork server would otherwise have those of
    the moment the fork server started)."""
    from dlbgrader.feedback import cache_compiled_templates

    if environ is not None:
        os.environ.clear()
        os.environ.update(environ)
    if cwd is not None:
        os.chdir(cwd)

    cache_compiled_templates()
    _STATE["course"] = course
    _STATE["api"] = course.grading_api()


def use(course: Course, api: Any) -> None:
    """Grade in this process with an API already made (one worker)."""
    from dlbgrader.feedback import cache_compiled_templates

    cache_compiled_templates()
    _STATE["course"] = course
    _STATE["api"] = api


def _autograde(api: Any, assignment: str, student: str) -> str:
    """One nbgrader autograde (retrying a locked database); return the error or ''."""
    err = ""
    for _attempt in range(3):
        with warnings.catch_warnings():
            # nbgrader's SQLAlchemy session warns ("not in session") when it adds a new student's
            # submission; the grades are right, and the warning would only tear the progress bar.
            warnings.filterwarnings("ignore", message=".*not in session.*")
            res = api.autograde(assignment, student, force=True, create=True)
        if res.get("success"):
            return ""
        text = f"{res.get('error') or ''}\n{res.get('log') or ''}".strip()
        lines = [ln for ln in text.splitlines() if ln.strip()]
        err = "autograde failed: " + (lines[-1].strip()[:500] if lines else "unknown error")
        if "database is locked" not in text:
            break
    return err


def grade_one(assignment: str, student: str, feedback: bool) -> Outcome:
    """Autograde one student (and write their feedback)."""
    api = _STATE["api"]
    t0 = time.perf_counter()
    execute.LAST_RUN = None
    out = Outcome(student)
    try:
        out.error = _autograde(api, assignment, student)
        out.transient = "database is locked" in out.error
    except Exception as exc:  # a bug or an environment failure: the batch goes on, the next run retries
        out.error, out.transient = f"grader error: {type(exc).__name__}: {exc}", True
    run = execute.LAST_RUN
    if run is not None:
        out.notes = run.notes()
        out.calls, out.call_seconds = run.calls, run.call_seconds
    if not out.error and feedback:
        try:
            res = api.generate_feedback(assignment, student, force=True)
            if res.get("success"):
                from dlbgrader.feedback import harden_html

                course: Course = _STATE["course"]
                for html in (course.feedback_dir / student / assignment).glob("*.html"):
                    try:
                        harden_html(html)
                    except OSError as exc:  # an unsafe file is no feedback at all
                        html.unlink(missing_ok=True)
                        out.notes.append(f"feedback could not be made safe to open and was removed: {exc}")
            else:
                lines = [ln for ln in str(res.get("error") or res.get("log") or "").splitlines() if ln.strip()]
                out.notes.append("feedback could not be generated: " + (lines[-1][:300] if lines else "unknown error"))
        except Exception as exc:
            out.notes.append(f"feedback could not be generated: {type(exc).__name__}: {exc}")
    out.seconds = time.perf_counter() - t0
    return out
