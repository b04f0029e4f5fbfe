"""The ``dlb`` command: release assignments, grade a class, check a notebook.

Instructors::

    dlb release ps2_activations          # solutions/ -> exercises/ (student version) and the gradebook
    dlb release --all
    dlb grade ps2_activations SUBMISSIONS [--out DIR] [--force] [--no-progress]
                                         # SUBMISSIONS: a folder or a .zip; reruns regrade only what changed
    dlb report ps2_activations [--out DIR]   # the class report again, from the gradebook

Students::

    dlb check exercises/ps2_activations/ps2_activations.ipynb   # run the visible tests

Set-up (``make env`` runs it)::

    dlb kernel-env                       # the Python that runs students' notebooks when grading
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from dlbgrader.course import Course, find_root
from dlbgrader.errors import CourseError


def _release(args: argparse.Namespace) -> int:
    course = Course(find_root())
    names = course.assignments() if args.all else args.assignment
    if not names:
        print("error: name an assignment or use --all", file=sys.stderr)
        return 2
    for name in names:
        t0 = time.perf_counter()
        out = course.release(name)
        print(f"released {name} -> {out.relative_to(course.root)} ({time.perf_counter() - t0:.1f} s)")
    return 0


def _grade(args: argparse.Namespace) -> int:
    from dlbgrader.grade import grade_class, summary

    course = Course(find_root(), sandbox=args.sandbox)
    t0 = time.perf_counter()
    out = Path(args.out) if args.out else course.grading_dir / "exports" / args.assignment
    results = grade_class(
        course,
        args.assignment,
        Path(args.submissions),
        out_dir=out,
        feedback=not args.no_feedback,
        workers=args.workers,
        timeout=args.timeout,
        force=args.force,
        progress=args.progress,
    )
    print(summary(results))
    print(f"grades: {out / 'grades.csv'} (for an LMS: canvas.csv, moodle.csv)")
    if (out / "report.html").is_file():
        print(f"class report: {out / 'report.html'}")
    if not args.no_feedback:
        print(f"feedback: {out / 'feedback'}/<student>.html")
    print(f"total {time.perf_counter() - t0:.1f} s")
    return 0


def _report(args: argparse.Namespace) -> int:
    from dlbgrader import classreport, reportpage

    course = Course(find_root())
    out = Path(args.out) if args.out else course.grading_dir / "exports" / args.assignment
    run, cells = classreport.run_from_gradebook(course, args.assignment)
    path = reportpage.write(course, args.assignment, run, cells, out)
    print(f"class report: {path} (and canvas.csv, moodle.csv)")
    return 0


def _kernel_env(args: argparse.Namespace) -> int:
    from dlbgrader.kernel import create_kernel_env, default_kernel_env, kernel_env_state

    dest = Path(args.path) if args.path else default_kernel_env()
    py = create_kernel_env(dest, quiet=not args.verbose)
    print(f"kernel environment ready: {py}")
    print(kernel_env_state(str(py) if args.path else ""))
    return 0


def _check(args: argparse.Namespace) -> int:
    from dlbgrader.student import check_notebook

    report = check_notebook(Path(args.notebook), timeout=args.timeout)
    print(report.text())
    return 0 if report.all_passed else 1


def build_parser() -> argparse.ArgumentParser:
    from dlbgrader.manifest import triggers_text

    p = argparse.ArgumentParser(prog="dlb", description="Deep Learning Basics course tools")
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("release", help="generate student versions in exercises/ from solutions/")
    r.add_argument("assignment", nargs="*", help="assignment name(s), e.g. ps2_activations")
    r.add_argument("--all", action="store_true", help="every assignment in solutions/")
    r.set_defaults(func=_release)

    g = sub.add_parser(
        "grade",
        help="autograde a folder or zip of submissions and export grades.csv and feedback",
        description="Autograde every submission of ASSIGNMENT in SUBMISSIONS and write grades.csv (one row per "
        "student of this input: status, reason, total and the points of every test) and feedback. "
        "A rerun regrades only the students whose notebook changed since their last grading; "
        f"everyone when {triggers_text()} changed, or with --force.",
    )
    g.add_argument("assignment", metavar="ASSIGNMENT", help="assignment name, e.g. ps2_activations")
    g.add_argument(
        "submissions",
        metavar="SUBMISSIONS",
        help="a folder or a .zip holding <student>/<assignment>/*.ipynb, <student>/*.ipynb or "
        "<student>.ipynb (an LMS download; one wrapping folder in a zip is fine). "
        "Student ids are the folder or file names",
    )
    g.add_argument("--out", help="output folder (default grading/exports/<assignment>)")
    g.add_argument("--no-feedback", action="store_true", help="skip the feedback HTML")
    g.add_argument("--workers", type=int, default=None, help="parallel grading processes (default: one per CPU)")
    g.add_argument(
        "--timeout",
        type=int,
        default=None,
        help="seconds a cell may run before it is interrupted (default: c.Execute.timeout in nbgrader_config.py)",
    )
    g.add_argument(
        "--force", action="store_true", help="regrade every submission, even those unchanged since their last grading"
    )
    bar = g.add_mutually_exclusive_group()
    bar.add_argument(
        "--no-progress",
        dest="progress",
        action="store_const",
        const=False,
        default=None,
        help="no progress bar and no per-student lines on stderr (default: a bar when stderr is a terminal)",
    )
    bar.add_argument(
        "--progress",
        dest="progress",
        action="store_const",
        const=True,
        help="show the progress bar even when stderr is not a terminal",
    )
    g.add_argument(
        "--sandbox",
        choices=["auto", "on", "off"],
        default=None,
        help="run student code in a bubblewrap sandbox: auto (if bubblewrap works here, else "
        "grade unsandboxed with a warning), on (required: refuse to grade without it), off "
        "(default: c.SandboxedKernelManager.mode in nbgrader_config.py, normally auto)",
    )
    g.set_defaults(func=_grade)

    rp = sub.add_parser(
        "report",
        help="write the class report (report.html) and the LMS grade files from the gradebook",
        description="Write report.html (scores, pass rate per test, students × tests, misconceptions, similar "
        "submissions, the run) and canvas.csv / moodle.csv for ASSIGNMENT's last dlb grade, from the "
        "gradebook and the autograded notebooks (dlb grade writes them too).",
    )
    rp.add_argument("assignment", metavar="ASSIGNMENT", help="assignment name, e.g. ps2_activations")
    rp.add_argument(
        "--out",
        help="output folder (default grading/exports/<assignment>; feedback links point to its feedback/ folder)",
    )
    rp.set_defaults(func=_report)

    k = sub.add_parser(
        "kernel-env",
        help="create the Python environment that runs students' notebooks when grading "
        "(NumPy, matplotlib, ipykernel; no PyTorch)",
    )
    k.add_argument("--path", help="where (default: <this environment>/kernel)")
    k.add_argument("--verbose", action="store_true", help="show pip's output")
    k.set_defaults(func=_kernel_env)

    c = sub.add_parser("check", help="run a notebook and report its visible tests (for students)")
    c.add_argument("notebook")
    c.add_argument("--timeout", type=int, default=120, help="seconds per cell")
    c.set_defaults(func=_check)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except CourseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
