#!/usr/bin/env python
"""Benchmarks the course's two expensive jobs and prints what it measured.

1. A cold book build (fresh output folder: every chapter executed, warnings are errors).
2. Grading a synthetic class: N submissions made from an assignment's reference answers and its
   bug-zoo variants, graded by `dlb grade` with one worker and with one worker per CPU (the same
   work: hardened execution, feedback, CSV) and, for comparison, by the stock `nbgrader autograde`
   command over the same submissions (no feedback, no hardening).

Usage: .venv/bin/python scripts/bench.py [--students 20] [--assignment ps2_activations] [--skip-book]
Results are printed and written to bench-results/bench.json.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dlbasics.course.course import Course  # noqa: E402
from dlbasics.course.grade import grade_class, summary  # noqa: E402
from dlbasics.course.synthetic import write_solution_submission  # noqa: E402
from tests.grading_helpers import make_course  # noqa: E402

BIN = Path(sys.executable).parent


def bench_book(tmp: Path) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(
        [str(BIN / "jupyter-book"), "build", str(ROOT), "--path-output", str(tmp / "book"),
         "--warningiserror", "--nitpick", "--keep-going"],
        capture_output=True, text=True,
    )
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"book build failed:\n{(proc.stdout + proc.stderr)[-4000:]}")
    return elapsed


def make_class(tmp: Path, assignment: str, n: int) -> tuple[Course, Path]:
    course = make_course(tmp / "course", [assignment])
    release = course.release(assignment, release_dir="release")
    source_nb = next((course.root / "solutions" / assignment).glob("*.ipynb"))
    try:
        bugs = list(importlib.import_module(f"tests.bugzoo.{assignment}").BUGS)
    except ModuleNotFoundError:
        bugs = []
    variants: list[dict[str, tuple[str, str]] | None] = [None] + [{b.cell: (b.old, b.new)} for b in bugs]
    subs = tmp / "submissions"
    for i in range(n):
        variant = variants[i % len(variants)]
        write_solution_submission(source_nb, release / source_nb.name,
                                  subs / f"student{i:03d}" / assignment / source_nb.name, replace=variant)
    return course, subs


def bench_nbgrader_cli(course: Course, assignment: str, subs: Path) -> float:
    """Stock nbgrader: copy into submitted/ and run `nbgrader autograde` once for the whole class."""
    submitted = course.root / "grading" / "submitted"
    if submitted.exists():
        shutil.rmtree(submitted)
    shutil.copytree(subs, submitted)
    t0 = time.perf_counter()
    proc = subprocess.run([str(BIN / "nbgrader"), "autograde", assignment, "--force"],
                          cwd=course.root, capture_output=True, text=True,
                          env={**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"})
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        print(f"warning: nbgrader autograde exited {proc.returncode}", file=sys.stderr)
    return elapsed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--students", type=int, default=20)
    ap.add_argument("--assignment", default="ps2_activations")
    ap.add_argument("--skip-book", action="store_true")
    args = ap.parse_args()
    results: dict[str, object] = {"machine": f"{platform.node()} {platform.processor()} cpus={os.cpu_count()}"}
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        if not args.skip_book:
            results["book_cold_build_s"] = round(bench_book(tmp), 1)
            print(f"cold book build: {results['book_cold_build_s']} s")
        course, subs = make_class(tmp, args.assignment, args.students)
        t0 = time.perf_counter()
        graded = grade_class(course, args.assignment, subs, out_dir=tmp / "out1", progress=False, workers=1)
        serial_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        graded = grade_class(course, args.assignment, subs, out_dir=tmp / "out", progress=False)
        dlb_s = time.perf_counter() - t0
        print(summary(graded))
        results.update(
            assignment=args.assignment, students=args.students,
            dlb_grade_1_worker_total_s=round(serial_s, 1),
            dlb_grade_total_s=round(dlb_s, 1), dlb_grade_per_submission_s=round(dlb_s / args.students, 2),
            parallel_speedup=round(serial_s / dlb_s, 2),
        )
        cli_s = bench_nbgrader_cli(course, args.assignment, subs)
        results.update(nbgrader_autograde_total_s=round(cli_s, 1),
                       nbgrader_autograde_per_submission_s=round(cli_s / args.students, 2))
    print(f"dlb grade, 1 worker:              {serial_s:.1f} s total, {serial_s / args.students:.2f} s per submission")
    print(f"dlb grade, {os.cpu_count()} workers (with feedback + CSV): {dlb_s:.1f} s total, "
          f"{dlb_s / args.students:.2f} s per submission, {serial_s / dlb_s:.2f}x the 1-worker run")
    print(f"nbgrader autograde (no feedback):  {cli_s:.1f} s total, {cli_s / args.students:.2f} s per submission")
    out = ROOT / "bench-results"
    out.mkdir(exist_ok=True)
    (out / "bench.json").write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
