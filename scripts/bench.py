#!/usr/bin/env python
"""Benchmarks the course's two expensive jobs and prints what it measured.

1. A cold book build (fresh output folder: every chapter executed, warnings are errors), then an
   unchanged rebuild into the same folder (Sphinx's saved environment and jupyter-cache's outputs:
   nothing is executed again).
2. Grading a synthetic class: N submissions made from an assignment's reference answers and its
   bug-zoo variants, graded by `dlb grade` (hardened execution in the sandbox, feedback, CSV) with
   one worker and with one worker per CPU, once more without the sandbox (its cost), and, for
   comparison, by stock nbgrader over the same submissions: `nbgrader autograde` (serial, no
   hardening, no sandbox) and `nbgrader generate_feedback` (the rest of the same work).
   Every `dlb grade` run starts without recorded PyTorch reference values, so its time includes
   recording them once for the class (dlbgrader.references); stock nbgrader computes them
   in every student's kernel.

Usage: .venv/bin/python scripts/bench.py [--students 20] [--assignment ps2_activations] [--skip-book | --book-only]
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

from dlbgrader.course import Course  # noqa: E402
from dlbgrader.grade import grade_class, summary  # noqa: E402
from dlbgrader.synthetic import write_solution_submission  # noqa: E402
from tests.grading_helpers import released_course  # noqa: E402

BIN = Path(sys.executable).parent


def bench_book(tmp: Path) -> tuple[float, list[str]]:
    """One book build into tmp/book: its time and the notebooks it executed (not taken from the cache)."""
    t0 = time.perf_counter()
    proc = subprocess.run(
        [str(BIN / "jupyter-book"), "build", str(ROOT), "--path-output", str(tmp / "book"),
         "--warningiserror", "--nitpick", "--keep-going"],
        capture_output=True, text=True,
    )
    elapsed = time.perf_counter() - t0
    log = proc.stdout + proc.stderr
    if proc.returncode != 0:
        raise SystemExit(f"book build failed:\n{log[-4000:]}")
    executed = re.findall(r"([^\s]+\.ipynb): Executing notebook", log)
    return elapsed, [Path(p).name for p in executed]


def make_class(tmp: Path, assignment: str, n: int) -> tuple[Course, Path]:
    course, source_nb, release_nb = released_course(tmp / "course", assignment)
    try:
        bugs = list(importlib.import_module(f"tests.bugzoo.{assignment}").BUGS)
    except ModuleNotFoundError:
        bugs = []
    variants: list[dict[str, tuple[str, str]] | None] = [None] + [{b.cell: (b.old, b.new)} for b in bugs]
    subs = tmp / "submissions"
    for i in range(n):
        variant = variants[i % len(variants)]
        write_solution_submission(source_nb, release_nb,
                                  subs / f"student{i:03d}" / assignment / source_nb.name, replace=variant)
    return course, subs


def _nbgrader(course: Course, *args: str) -> float:
    """Run one stock `nbgrader` command in the course folder; return its wall time."""
    t0 = time.perf_counter()
    proc = subprocess.run([str(BIN / "nbgrader"), *args], cwd=course.root, capture_output=True, text=True,
                          env={**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"})
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
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--students", type=int, default=20)
    ap.add_argument("--assignment", default="ps2_activations")
    ap.add_argument("--skip-book", action="store_true", help="skip the book builds")
    ap.add_argument("--book-only", action="store_true", help="only the book builds, not the grading benchmark")
    args = ap.parse_args()
    if args.skip_book and args.book_only:
        ap.error("--skip-book and --book-only exclude each other")
    results: dict[str, object] = {"machine": f"{platform.node()} {platform.processor()} cpus={os.cpu_count()}"}
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        if not args.skip_book:
            cold_s, cold_exec = bench_book(tmp)
            results["book_cold_build_s"] = round(cold_s, 1)
            results["book_cold_build_executed"] = cold_exec
            print(f"cold book build: {results['book_cold_build_s']} s (executed: {', '.join(cold_exec) or 'nothing'})")
            warm_s, warm_exec = bench_book(tmp)
            results["book_unchanged_rebuild_s"] = round(warm_s, 1)
            results["book_unchanged_rebuild_executed"] = warm_exec
            print(f"unchanged book rebuild: {results['book_unchanged_rebuild_s']} s "
                  f"(executed: {', '.join(warm_exec) or 'nothing'})")
        if args.book_only:
            write_results(results)
            return 0
        course, subs = make_class(tmp, args.assignment, args.students)
        n = args.students
        workers = os.cpu_count() or 1

        def dlb(label: str, **kw: object) -> float:
            c = dataclasses.replace(course, sandbox=kw.pop("sandbox", "auto"))  # type: ignore[arg-type]
            # Every run starts cold: it records PyTorch's answers to the hidden tests itself (a later
            # grading of the same assignment would reuse them), and that time is in its total.
            shutil.rmtree(c.references_dir, ignore_errors=True)
            t0 = time.perf_counter()
            run = grade_class(c, args.assignment, subs, out_dir=tmp / label, progress=False, force=True, **kw)
            elapsed = time.perf_counter() - t0
            print(f"--- {label}: {elapsed:.1f} s\n{summary(run)}")
            return elapsed

        serial_s = dlb("dlb-1-worker", workers=1)
        dlb_s = dlb("dlb-all-workers", workers=workers)
        nosandbox_s = dlb("dlb-all-workers-no-sandbox", workers=workers, sandbox="off")
        nofeedback_s = dlb("dlb-all-workers-no-feedback", workers=workers, feedback=False)
        cli_s = bench_nbgrader_cli(course, args.assignment, subs)
        fb_s = bench_nbgrader_feedback(course, args.assignment)
        results.update(
            assignment=args.assignment, students=n, workers=workers,
            dlb_grade_1_worker_total_s=round(serial_s, 1),
            dlb_grade_total_s=round(dlb_s, 1), dlb_grade_per_submission_s=round(dlb_s / n, 2),
            dlb_grade_no_sandbox_total_s=round(nosandbox_s, 1),
            dlb_grade_no_feedback_total_s=round(nofeedback_s, 1),
            ratio_vs_nbgrader_autograde_no_feedback=round(cli_s / nofeedback_s, 2),
            parallel_speedup=round(serial_s / dlb_s, 2),
            nbgrader_autograde_total_s=round(cli_s, 1),
            nbgrader_autograde_per_submission_s=round(cli_s / n, 2),
            nbgrader_generate_feedback_total_s=round(fb_s, 1),
            ratio_vs_nbgrader_autograde=round(cli_s / dlb_s, 2),
            ratio_1_worker_vs_nbgrader_autograde=round(cli_s / serial_s, 2),
            ratio_vs_nbgrader_autograde_and_feedback=round((cli_s + fb_s) / dlb_s, 2),
        )
    print()
    print(f"dlb grade, 1 worker, sandboxed:            {serial_s:7.1f} s, {serial_s / n:.2f} s per submission")
    print(f"dlb grade, {workers} workers, sandboxed:           {dlb_s:7.1f} s, {dlb_s / n:.2f} s per submission "
          f"({serial_s / dlb_s:.2f}x the 1-worker run)")
    print(f"dlb grade, {workers} workers, no sandbox:          {nosandbox_s:7.1f} s, {nosandbox_s / n:.2f} s per submission")
    print(f"dlb grade, {workers} workers, no feedback:         {nofeedback_s:7.1f} s, {nofeedback_s / n:.2f} s per submission")
    print(f"stock nbgrader autograde (serial):         {cli_s:7.1f} s, {cli_s / n:.2f} s per submission")
    print(f"stock nbgrader generate_feedback (serial): {fb_s:7.1f} s, {fb_s / n:.2f} s per submission")
    print(f"ratio, stock autograde / dlb grade:               {cli_s / dlb_s:.2f}x")
    print(f"ratio, stock autograde / dlb grade with 1 worker: {cli_s / serial_s:.2f}x (without parallelism)")
    print(f"ratio, stock autograde / dlb grade --no-feedback: {cli_s / nofeedback_s:.2f}x (the same work)")
    print(f"ratio, stock autograde + feedback / dlb grade:    {(cli_s + fb_s) / dlb_s:.2f}x (the same work)")
    write_results(results)
    return 0


def write_results(results: dict[str, object]) -> None:
    out = ROOT / "bench-results"
    out.mkdir(exist_ok=True)
    (out / "bench.json").write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    sys.exit(main())
