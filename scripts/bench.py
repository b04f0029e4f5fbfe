#!/usr/bin/env python
"""Benchmarks the course's two expensive jobs and prints what it measured.

1. A cold book build (fresh output folder: every chapter executed, warnings are errors), then an
   unchanged rebuild into the same folder (Sphinx's saved environment and jupyter-cache's outputs:
   nothing is executed again).
   The time each chapter took to execute is read from the cold build's log.
2. Grading a synthetic class of every written chapter's assignment (chapters.yml): N submissions
   made from the reference answers, the correct alternatives and the bug-zoo variants, graded by
   `dlb grade` with one worker per CPU, sandboxed, with feedback: seconds per submission, and what
   a call from a test cell into a student's kernel costs (the proxy's round trip), and what writing the
   class report (report.html, canvas.csv, moodle.csv) adds.
3. For the first assignment (``--compare``, on by default): the same class with one worker, without
   the sandbox and without feedback, and by stock nbgrader over the same submissions
   (`nbgrader autograde`: test cells in the student's kernel, no sandbox; and
   `nbgrader generate_feedback`).

Usage: .venv/bin/python scripts/bench.py [--students 20] [--assignment ps2_activations ...] [--no-compare]
                                         [--skip-book | --book-only]
Results are printed and written to bench-results/bench.json.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.grading_helpers import released_course  # noqa: E402

from dlbgrader.course import Course  # noqa: E402
from dlbgrader.grade import grade_class, summary  # noqa: E402
from dlbgrader.synthetic import write_solution_submission  # noqa: E402

BIN = Path(sys.executable).parent


def bench_book(tmp: Path) -> tuple[float, list[str], dict[str, float]]:
    """One book build into tmp/book: its time, the notebooks it executed (not taken from the cache) and
    how long each took to execute."""
    t0 = time.perf_counter()
    proc = subprocess.run(
        [
            str(BIN / "jupyter-book"),
            "build",
            str(ROOT),
            "--path-output",
            str(tmp / "book"),
            "--warningiserror",
            "--nitpick",
            "--keep-going",
        ],
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - t0
    log = proc.stdout + proc.stderr
    if proc.returncode != 0:
        raise SystemExit(f"book build failed:\n{log[-4000:]}")
    executed = re.findall(r"([^\s]+\.ipynb): Executing notebook", log)
    times = {
        Path(p).name: float(t) for p, t in re.findall(r"([^\s]+\.ipynb): Executed notebook in ([\d.]+) seconds", log)
    }
    return elapsed, [Path(p).name for p in executed], times


def make_class(tmp: Path, assignment: str, n: int) -> tuple[Course, Path]:
    course, source_nb, release_nb = released_course(tmp / "course", assignment)
    try:
        zoo = importlib.import_module(f"tests.bugzoo.{assignment}")
        bugs = list(getattr(zoo, "ALTERNATIVES", [])) + list(zoo.BUGS)
    except ModuleNotFoundError:
        bugs = []
    variants: list[dict[str, tuple[str, str]] | None] = [None] + [{b.cell: (b.old, b.new)} for b in bugs]
    subs = tmp / "submissions"
    for i in range(n):
        variant = variants[i % len(variants)]
        write_solution_submission(
            source_nb, release_nb, subs / f"student{i:03d}" / assignment / source_nb.name, replace=variant
        )
    return course, subs


def _nbgrader(course: Course, *args: str) -> float:
    """Run one stock `nbgrader` command in the course folder; return its wall time."""
    t0 = time.perf_counter()
    proc = subprocess.run(
        [str(BIN / "nbgrader"), *args],
        cwd=course.root,
        capture_output=True,
        text=True,
        env={**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"},
    )
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        print(f"warning: nbgrader {args[0]} exited {proc.returncode}", file=sys.stderr)
    return elapsed


def bench_nbgrader_cli(course: Course, assignment: str, subs: Path) -> float:
    """Stock nbgrader: copy into submitted/ and run `nbgrader autograde` once for the whole class."""
    submitted = course.root / "grading" / "submitted"
    if submitted.exists():
        shutil.rmtree(submitted)
    shutil.copytree(subs, submitted)
    return _nbgrader(course, "autograde", assignment, "--force")


def bench_nbgrader_feedback(course: Course, assignment: str) -> float:
    """Stock nbgrader: `nbgrader generate_feedback` for the class (dlb grade writes feedback too)."""
    return _nbgrader(course, "generate_feedback", assignment, "--force")


def main() -> int:
    from tests.chapters import graded_assignments

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--students", type=int, default=20)
    ap.add_argument("--assignment", nargs="*", default=None, help="default: every written chapter's assignment")
    ap.add_argument(
        "--no-compare",
        dest="compare",
        action="store_false",
        help="skip the 1-worker, no-sandbox, no-feedback and stock nbgrader runs",
    )
    ap.add_argument("--skip-book", action="store_true", help="skip the book builds")
    ap.add_argument("--book-only", action="store_true", help="only the book builds, not the grading benchmark")
    args = ap.parse_args()
    if args.skip_book and args.book_only:
        ap.error("--skip-book and --book-only exclude each other")
    assignments = args.assignment or graded_assignments()
    results: dict[str, object] = {
        "machine": f"{platform.node()} {platform.processor()} cpus={os.cpu_count()}",
        "load_average_at_start": os.getloadavg()[0],
    }
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        if not args.skip_book:
            cold_s, cold_exec, times = bench_book(tmp)
            results["book_cold_build_s"] = round(cold_s, 1)
            results["book_cold_build_executed"] = cold_exec
            results["chapter_execution_s"] = times
            print(f"cold book build: {results['book_cold_build_s']} s (executed: {', '.join(cold_exec) or 'nothing'})")
            for name, t in times.items():
                print(f"  {name}: executed in {t:.1f} s")
            warm_s, warm_exec, _ = bench_book(tmp)
            results["book_unchanged_rebuild_s"] = round(warm_s, 1)
            results["book_unchanged_rebuild_executed"] = warm_exec
            print(
                f"unchanged book rebuild: {results['book_unchanged_rebuild_s']} s "
                f"(executed: {', '.join(warm_exec) or 'nothing'})"
            )
        if args.book_only:
            write_results(results)
            return 0
        n = args.students
        workers = os.cpu_count() or 1
        grading: dict[str, object] = {}
        for k, assignment in enumerate(assignments):
            course, subs = make_class(tmp / assignment, assignment, n)

            def dlb(
                label: str, course: Course = course, assignment: str = assignment, subs: Path = subs, **kw: object
            ) -> tuple[float, object]:
                c = dataclasses.replace(course, sandbox=kw.pop("sandbox", "auto"))  # type: ignore[arg-type]
                t0 = time.perf_counter()
                run = grade_class(
                    c, assignment, subs, out_dir=tmp / assignment / label, progress=False, force=True, **kw
                )
                elapsed = time.perf_counter() - t0
                print(f"--- {assignment}, {label}: {elapsed:.1f} s\n{summary(run)}")
                return elapsed, run

            dlb_s, run = dlb("dlb-all-workers", workers=workers)
            calls = getattr(run, "calls", 0)
            ms_per_call = 1000 * getattr(run, "call_seconds", 0.0) / calls if calls else 0.0
            report_s = float(getattr(run, "report_seconds", 0.0))
            row: dict[str, object] = {
                "students": n,
                "workers": workers,
                "dlb_grade_total_s": round(dlb_s, 1),
                "dlb_grade_per_submission_s": round(dlb_s / n, 2),
                "calls_into_kernels": calls,
                "ms_per_call": round(ms_per_call, 2),
                # the class report and LMS files, written after grades.csv (included in the total)
                "report_s": round(report_s, 2),
                "report_share_of_total": round(report_s / dlb_s, 3),
            }
            print(
                f"{assignment}: dlb grade, {workers} workers, sandboxed, with feedback: {dlb_s:.1f} s, "
                f"{dlb_s / n:.2f} s per submission; {calls} calls into kernels, {ms_per_call:.2f} ms each; "
                f"class report {report_s:.1f} s ({100 * report_s / dlb_s:.1f}% of the total)"
            )
            if args.compare and k == 0:
                serial_s, _ = dlb("dlb-1-worker", workers=1)
                nosandbox_s, _ = dlb("dlb-all-workers-no-sandbox", workers=workers, sandbox="off")
                nofeedback_s, _ = dlb("dlb-all-workers-no-feedback", workers=workers, feedback=False)
                cli_s = bench_nbgrader_cli(course, assignment, subs)
                fb_s = bench_nbgrader_feedback(course, assignment)
                row.update(
                    dlb_grade_1_worker_total_s=round(serial_s, 1),
                    parallel_speedup=round(serial_s / dlb_s, 2),
                    dlb_grade_no_sandbox_total_s=round(nosandbox_s, 1),
                    dlb_grade_no_feedback_total_s=round(nofeedback_s, 1),
                    nbgrader_autograde_total_s=round(cli_s, 1),
                    nbgrader_generate_feedback_total_s=round(fb_s, 1),
                    ratio_vs_nbgrader_autograde=round(cli_s / dlb_s, 2),
                    ratio_vs_nbgrader_autograde_no_feedback=round(cli_s / nofeedback_s, 2),
                    ratio_vs_nbgrader_autograde_and_feedback=round((cli_s + fb_s) / dlb_s, 2),
                )
                print(f"dlb grade, 1 worker:                  {serial_s:7.1f} s, {serial_s / n:.2f} s per submission")
                print(f"dlb grade, {workers} workers, no sandbox:     {nosandbox_s:7.1f} s")
                print(f"dlb grade, {workers} workers, no feedback:    {nofeedback_s:7.1f} s")
                print(f"stock nbgrader autograde (serial):    {cli_s:7.1f} s, {cli_s / n:.2f} s per submission")
                print(f"stock nbgrader generate_feedback:     {fb_s:7.1f} s")
            grading[assignment] = row
        results["grading"] = grading
    write_results(results)
    return 0


def write_results(results: dict[str, object]) -> None:
    out = ROOT / "bench-results"
    out.mkdir(exist_ok=True)
    (out / "bench.json").write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    sys.exit(main())
