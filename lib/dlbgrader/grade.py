"""Grade a class: collect a folder or zip of submissions, autograde with nbgrader, export grades.

See :mod:`dlbgrader.collect` for the accepted layouts. Every submission ends as a row of the
grades CSV. One that cannot be graded (invalid JSON, no notebook, too large, an id shared with
another submission) scores 0 with the reason in the row, and the batch goes on.

The parts: :mod:`dlbgrader.manifest` decides whom to grade again (incremental grading);
:mod:`dlbgrader.worker` grades one student in a worker process; :mod:`dlbgrader.gradebook` reads
the scores; :mod:`dlbgrader.report` writes ``grades.csv``, the feedback and the summary. This module
puts them in order.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import sys
import time
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import nbformat

from dlbgrader import gradebook, manifest, worker
from dlbgrader.collect import Submission, discover, opened, place
from dlbgrader.course import Course
from dlbgrader.errors import CourseError
from dlbgrader.kernel import kernel_env_state
from dlbgrader.report import GradingRun, Result, copy_feedback, escape, summary, write_csv

__all__ = ["GradingRun", "Result", "default_workers", "grade_class", "summary", "write_csv"]


def default_workers() -> int:
    return max(1, os.cpu_count() or 1)


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
    nbgrader API and kernel, all writing to the one gradebook (:attr:`Course.db_url`: SQLite in
    write-ahead-log mode with a busy timeout, or a server database). Only students whose notebook
    changed since their last grading are graded again, unless something else a grade depends on
    changed or ``force`` is given (:mod:`dlbgrader.manifest`). ``grades.csv`` always lists exactly
    the students of this input, in input order.

    ``timeout`` overrides the per-cell time limit of ``nbgrader_config.py`` (seconds).
    ``progress``: None shows a progress bar on stderr when it is a terminal, True always shows it,
    False prints nothing; unless False, failures and notes are printed as they happen.
    """
    if timeout is not None:
        course = dataclasses.replace(course, timeout=timeout)
    course.settings  # noqa: B018 - checks every setting first: a bad value is an error before anything is written
    notebooks = course.source_notebooks(assignment)
    if len(notebooks) != 1:
        raise CourseError(f"{assignment} has {len(notebooks)} notebooks; one per assignment is supported")
    # A zip is checked and extracted first, so a bad one fails before anything is written.
    with manifest.exclusive(course, assignment), opened(Path(submissions), assignment) as folder:
        subs = discover(folder, assignment)
        return _ClassRun(
            course,
            assignment,
            subs,
            notebooks[0].name,
            out_dir=out_dir,
            feedback=feedback,
            progress=progress,
            workers=workers,
            force=force,
        ).run()


#: What a grading worker imports before its first student: nbgrader and nbconvert, the checks, and
#: PyTorch, which the test cells use for their reference values (about 5 s of CPU in all).
PRELOAD = [
    "dlbgrader.worker",
    "dlbgrader.execute",
    "nbgrader.apps.api",
    "nbconvert.exporters.html",
    "dlbasics.checks",
    "torch",
]


def worker_context() -> Any:
    """The workers' start method: a fork server that imported PRELOAD once, so that each worker starts
    warm (a spawned worker imports everything again: about 5 s of CPU per worker and per class). Forked
    workers would inherit the environment and the folder of the moment the fork server started, so
    worker.init is given the current ones. Without a fork server (not Linux), spawn."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(PRELOAD)
    return ctx


class _ClassRun:
    """One grading run of one assignment (the steps of :func:`grade_class`, in order)."""

    def __init__(
        self,
        course: Course,
        assignment: str,
        subs: list[Submission],
        notebook_name: str,
        *,
        out_dir: Path | None,
        feedback: bool,
        progress: bool | None,
        workers: int | None,
        force: bool,
    ) -> None:
        self.course, self.assignment, self.subs, self.notebook_name = course, assignment, subs, notebook_name
        self.out = Path(out_dir) if out_dir else course.grading_dir / "exports" / assignment
        self.feedback, self.progress, self.workers, self.force = feedback, progress, workers, force
        self.results: dict[str, Result] = {}
        self.notes: dict[str, str] = {}
        self.calls, self.call_seconds = 0, 0.0
        self.t0 = time.perf_counter()

    def say(self, msg: str) -> None:
        if self.progress is not False:
            from tqdm import tqdm  # type: ignore[import-untyped]

            tqdm.write(msg, file=sys.stderr)

    # ------------------------------------------------------------------------------------ steps
    def run(self) -> GradingRun:
        course, assignment = self.course, self.assignment
        status = course.sandbox_status()  # decided once per run (an error for mode 'on' without bubblewrap)
        self.sandbox = status
        self.kernel = kernel_env_state(course.settings.kernel_python)
        self.api = course.grading_api()
        self._generate()
        course.enable_wal()
        release_nb = nbformat.read(str(course.grading_release_dir / assignment / self.notebook_name), as_version=4)
        self.points = gradebook.points(course, assignment)
        todo = self._plan(release_nb)
        self._grade(todo)
        return self._finish()

    def _generate(self) -> None:
        """(Re)generate from solutions/: this records the assignment's tests in the gradebook."""
        gen = self.api.generate_assignment(self.assignment, force=True, create=True)
        if gen.get("success"):
            return
        err = str(gen.get("error") or gen.get("log") or "")
        if "Cannot add or remove cells" in err:
            raise CourseError(
                f"test or answer cells were added to or removed from {self.assignment} after students were graded, "
                f"and nbgrader cannot change the cells of an assignment that has submissions in the gradebook "
                f"({gradebook.gradebook_name(self.course)}). Move that gradebook away (it also holds any manual "
                f"grades) and run again."
            )
        raise CourseError(f"could not generate {self.assignment} from solutions/:\n{err}")

    def _feedback_file(self, student: str) -> Path | None:
        folder = self.course.feedback_dir / student / self.assignment
        return next(iter(sorted(folder.glob("*.html"))), None)

    def _plan(self, release_nb: Any) -> list[Submission]:
        course, assignment = self.course, self.assignment
        mpath = manifest.manifest_path(course, assignment)
        self.fp = manifest.fingerprint(course, assignment, self.sandbox.describe(), self.kernel)
        old = manifest.load(mpath, assignment)
        self.keys = {s.student: manifest.input_key(s.notebook, s.problem) for s in self.subs}
        unchanged = [
            s.student
            for s in self.subs
            if old and s.student in old.students and old.students[s.student].input == self.keys[s.student]
        ]
        in_gradebook = gradebook.scores(course, assignment, unchanged)
        p = manifest.plan(
            [s.student for s in self.subs],
            self.keys,
            old,
            self.fp,
            force=self.force,
            had_file=mpath.exists(),
            in_gradebook=set(in_gradebook),
            feedback_kept=lambda s: not self.feedback or self._feedback_file(s) is not None,
        )
        self.regrade_all, self.removed = p.regrade_all, p.removed
        total = self.points.total
        self.manifest = manifest.Manifest(assignment, self.fp, dict(p.keep), [s.student for s in self.subs])
        todo: list[Submission] = []
        for sub in self.subs:
            e = p.keep.get(sub.student)
            if e is not None:
                if e.status == "failed":
                    self.results[sub.student] = Result(
                        sub.student, "failed", e.reason, 0.0, total, seconds=e.seconds, reused=True
                    )
                else:
                    sc = in_gradebook[sub.student]
                    self.results[sub.student] = Result(
                        sub.student, "graded", e.reason, sc.total, total, sc.cells, seconds=e.seconds, reused=True
                    )
                continue
            problem = place(course, assignment, self.notebook_name, sub, release_nb)  # fatal: nothing to grade
            if problem:
                r = Result(sub.student, "failed", problem, 0.0, total)
                self.results[sub.student] = r
                self._remember(r)
                self.say(f"{escape(sub.student)}: could not be graded: {escape(problem)}")
            else:
                self.notes[sub.student] = sub.problem  # e.g. several notebooks handed in: which one was graded
                todo.append(sub)
        manifest.save(mpath, self.manifest)
        n_kept = len(p.keep)
        if self.regrade_all:
            self.say(f"{assignment}: grading all {len(self.subs)} submissions: {self.regrade_all}")
        elif n_kept:
            self.say(
                f"{assignment}: {n_kept} of {len(self.subs)} submissions unchanged since their last grading "
                f"(kept); grading {len(todo)}"
            )
        return todo

    def _remember(self, r: Result) -> None:
        if r.transient:
            return
        self.manifest.remember(r.student, self.keys[r.student], r.status, r.reason, r.seconds)
        manifest.save(manifest.manifest_path(self.course, self.assignment), self.manifest)

    def _record(self, out: worker.Outcome) -> None:
        total = self.points.total
        reason = "; ".join(x for x in (self.notes.get(out.student, ""), *out.notes, out.error) if x)
        if out.error:
            r = Result(out.student, "failed", reason, 0.0, total, transient=out.transient)
        else:
            sc = gradebook.student_scores(self.course, self.assignment, out.student)
            r = Result(out.student, "graded", reason, sc.total, total, sc.cells)
        r.seconds = out.seconds
        self.calls += out.calls
        self.call_seconds += out.call_seconds
        self.results[out.student] = r
        self._remember(r)
        if r.status != "graded":
            self.say(f"{escape(r.student)}: could not be graded: {escape(r.reason)}")
        elif r.reason:
            self.say(f"{escape(r.student)}: graded {r.score:g}/{r.max_score:g}; note: {escape(r.reason)}")

    def _bar(self, n: int) -> Any:
        from tqdm import tqdm

        show = self.progress is True or (self.progress is None and sys.stderr.isatty())
        try:  # tqdm hides its bar on a terminal that reports no size (some ptys): give it one there
            sized = min(os.get_terminal_size(sys.stderr.fileno())) > 0
        except (OSError, ValueError, AttributeError):
            sized = False
        return tqdm(
            total=n,
            desc=f"grading {self.assignment}",
            unit="nb",
            file=sys.stderr,
            disable=not (show and n),
            dynamic_ncols=sized,
            ncols=None if sized else 100,
            nrows=None if sized else 20,
        )

    def _grade(self, todo: list[Submission]) -> None:
        n_workers = max(1, min(self.workers or default_workers(), len(todo) or 1))
        bar = self._bar(len(todo))
        try:
            if n_workers == 1:
                worker.use(self.course, self.api)
                for sub in todo:
                    self._record(worker.grade_one(self.assignment, sub.student, self.feedback))
                    bar.update(1)
            elif todo:
                with ProcessPoolExecutor(
                    n_workers,
                    mp_context=worker_context(),
                    initializer=worker.init,
                    initargs=(self.course, dict(os.environ), os.getcwd()),
                ) as pool:
                    futures: dict[Future[worker.Outcome], str] = {
                        pool.submit(worker.grade_one, self.assignment, sub.student, self.feedback): sub.student
                        for sub in todo
                    }
                    for fut in as_completed(futures):
                        try:
                            out = fut.result()
                        except Exception as exc:  # e.g. a worker process died: retried on the next run
                            out = worker.Outcome(
                                futures[fut], f"grader error: {type(exc).__name__}: {exc}", transient=True
                            )
                        self._record(out)
                        bar.update(1)
        finally:
            bar.close()

    def _finish(self) -> GradingRun:
        ordered = GradingRun(
            (self.results[s.student] for s in self.subs),
            regrade_all=self.regrade_all,
            removed=self.removed,
            sandboxed=self.sandbox.active,
            sandbox=self.sandbox.describe(),
            kernel=self.kernel,
            cell_max=self.points.tests,
            calls=self.calls,
            call_seconds=self.call_seconds,
        )
        write_csv(self.out / "grades.csv", ordered, list(self.points.cells), sandboxed=self.sandbox.active)
        if self.feedback:
            sources = {
                r.student: f
                for r in ordered
                if r.status == "graded" and (f := self._feedback_file(r.student)) is not None
            }
            copy_feedback(sources, self.out / "feedback")
        self._report(ordered)
        return ordered

    def _report(self, run: GradingRun) -> None:
        """report.html, canvas.csv and moodle.csv next to grades.csv (:mod:`dlbgrader.classreport`); the
        grades stand if the report fails."""
        from dlbgrader import reportpage

        t0 = time.perf_counter()
        try:
            reportpage.write(
                self.course, self.assignment, run, list(self.points.cells), self.out, wall_seconds=t0 - self.t0
            )
            run.report_seconds = time.perf_counter() - t0
        except Exception as exc:
            self.say(f"the class report could not be written: {type(exc).__name__}: {exc}")
