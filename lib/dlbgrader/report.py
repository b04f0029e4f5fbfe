"""What a grading run gives the instructor: one row per student (``grades.csv``), the feedback
files, and a closing summary."""

from __future__ import annotations

import csv
import os
import shutil
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

Status = Literal["graded", "failed"]


def escape(text: str) -> str:
    """Student-controlled text made safe for a terminal: control characters shown, not obeyed."""
    return "".join(ch if ch.isprintable() or ch == " " else repr(ch)[1:-1] for ch in str(text))


@dataclass
class Result:
    """The outcome of grading one student."""

    student: str
    status: Status
    reason: str = ""
    score: float = 0.0
    max_score: float = 0.0
    cells: dict[str, float | None] = field(default_factory=dict)  # None: awaiting manual grading
    seconds: float = 0.0
    #: True when this run kept the previous grading (the notebook and the assignment were unchanged).
    reused: bool = False
    #: A failure of the grader, not of the notebook (not remembered: the next run tries again).
    transient: bool = False


class GradingRun(list[Result]):
    """What :func:`dlbgrader.grade.grade_class` returns: one result per submission, in input order,
    and what the run did."""

    def __init__(
        self,
        results: Iterable[Result] = (),
        *,
        cell_max: dict[str, float] | None = None,
        regrade_all: str = "",
        removed: list[str] | None = None,
        sandboxed: bool = False,
        sandbox: str = "",
        kernel: str = "",
        calls: int = 0,
        call_seconds: float = 0.0,
    ) -> None:
        super().__init__(results)
        #: Whether student code ran in the sandbox, and how (or why not).
        self.sandboxed = sandboxed
        self.sandbox = sandbox
        #: Which Python ran the students' notebooks.
        self.kernel = kernel
        #: Points of every autograded test cell (the summary counts a cell below its points as failed).
        self.cell_max: dict[str, float] = dict(cell_max or {})
        #: Why every submission was regraded ('' when only changed ones were).
        self.regrade_all = regrade_all
        #: Students of the previous run that are not in this input (so not in grades.csv).
        self.removed: list[str] = list(removed or [])
        #: Calls from test cells into students' kernels in this run, and the time they took.
        self.calls = calls
        self.call_seconds = call_seconds
        #: Seconds spent writing the class report and the LMS files after grading (0 if not written).
        self.report_seconds = 0.0

    @property
    def regraded(self) -> list[Result]:
        return [r for r in self if not r.reused]

    @property
    def reused(self) -> list[Result]:
        return [r for r in self if r.reused]


def write_csv(path: Path, results: Iterable[Result], cell_names: list[str], *, sandboxed: bool = False) -> None:
    """One row per student: status, reason, total, max, whether student code ran in the sandbox, and the
    points of every graded cell. Written to a temporary file and renamed (a reader never sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(
            ["student", "status", "reason", "score", "max_score", "awaiting_manual_grading", "sandboxed", *cell_names]
        )
        for r in results:
            pending = [c for c in cell_names if c in r.cells and r.cells[c] is None]
            w.writerow(
                [
                    r.student,
                    r.status,
                    r.reason,
                    f"{r.score:g}",
                    f"{r.max_score:g}",
                    " ".join(pending),
                    # reused rows were graded under the same sandbox state (a change regrades everyone)
                    "yes" if sandboxed else "no",
                    *["" if r.cells.get(c, 0.0) is None else f"{r.cells.get(c) or 0.0:g}" for c in cell_names],
                ]
            )
    os.replace(tmp, path)


def copy_feedback(sources: dict[str, Path], dest: Path) -> None:
    """The feedback of exactly these students (none left over from students no longer in the input)."""
    if dest.exists():
        shutil.rmtree(dest)
    for student, html in sources.items():
        dest.mkdir(parents=True, exist_ok=True)
        shutil.copy2(html, dest / f"{student}.html")


def summary(results: list[Result]) -> str:
    """A closing summary: counts, what was regraded, mean and spread of the scores, failures with
    their reasons, notes, and the tests most often failed (the class's common misconceptions).
    Student-controlled text (ids, reasons quoting a notebook) is escaped."""
    run = results if isinstance(results, GradingRun) else GradingRun(results)
    graded = [r for r in run if r.status == "graded"]
    failed = [r for r in run if r.status != "graded"]
    lines = [f"{len(run)} submissions: {len(graded)} graded, {len(failed)} could not be graded"]
    if run.sandbox:
        lines.append(f"student code: {run.sandbox}")
    if run.kernel:
        lines.append(f"student kernels: {run.kernel}")
    regraded = run.regraded
    if run.regrade_all:
        lines.append(f"regraded all {len(regraded)}: {run.regrade_all}")
    else:
        lines.append(f"regraded {len(regraded)}, reused {len(run.reused)} unchanged since their last grading")
    if run.removed:
        lines.append(
            f"{len(run.removed)} student(s) of the previous run no longer in the input "
            f"(left out of grades.csv): {escape(', '.join(run.removed))}"
        )
    if run:
        mx = max((r.max_score for r in run), default=0.0)
        mean_all = sum(r.score for r in run) / len(run)
        line = f"mean score {mean_all:.2f} / {mx:g} over all {len(run)} (could-not-grade count as 0)"
        if graded:
            line += f"; {sum(r.score for r in graded) / len(graded):.2f} over the {len(graded)} graded"
        lines.append(line)
        if graded:
            totals = sorted(r.score for r in graded)
            lines.append(
                f"scores of the graded: min {totals[0]:g}, median {statistics.median(totals):g}, max {totals[-1]:g}"
            )
    timed = [r for r in regraded if r.status == "graded"]
    if timed:
        per = [r.seconds for r in timed]
        lines.append(f"time per graded submission: mean {sum(per) / len(per):.2f} s")
    if run.calls:
        lines.append(
            f"calls into students' kernels: {run.calls}, {1000 * run.call_seconds / run.calls:.2f} ms each "
            f"on average (round trip and the student's code)"
        )
    if failed:
        lines.append("could not be graded:")
        lines.extend(f"  {escape(r.student)}: {escape(r.reason)}" for r in failed)
    noted = [r for r in graded if r.reason]  # graded, but something had to be repaired or skipped first
    if noted:
        lines.append("graded with notes:")
        lines.extend(f"  {escape(r.student)}: {escape(r.reason)}" for r in noted)
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
