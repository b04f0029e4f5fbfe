"""What was graded before, and what must be graded again.

A manifest (``grading/manifests/<assignment>.json``, rewritten atomically after every student)
remembers, per student, a hash of the notebook that was graded and the outcome, and a
*fingerprint* of everything else a grade depends on (:data:`TRIGGERS`). A later run regrades only
the students whose notebook changed, and everyone when the fingerprint changed or when forced.
:func:`plan` decides that, from data only (no files, no gradebook), so it is tested in milliseconds.

The fingerprint covers exactly what grading depends on: the assignment's source, the grading
settings, the grader's code (the ``dlbgrader`` package), the ``dlbasics`` modules the assignment's
test cells import (and what those import, transitively: not the rest of the package, so a new
chapter's module regrades nobody), and the versions of nbgrader, NumPy, PyTorch and the kernel
environment, and the sandbox state.
"""

from __future__ import annotations

import ast
import contextlib
import datetime
import fcntl
import hashlib
import importlib.util
import json
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from dlbgrader.errors import CourseError

MANIFEST_VERSION = 2

#: Everything besides a student's notebook that decides a grade: a change regrades the whole class.
#: The one list: fingerprints, messages and ``dlb grade --help`` are made from it.
TRIGGERS: dict[str, str] = {
    "assignment": "the assignment's source changed (solutions/{a}/: tests, points or answers)",
    "config": "nbgrader_config.py changed",
    "timeout": "the time limit changed ({old} s -> {new} s)",
    "grader": "the grader's code (the dlbgrader package) changed",
    "checks": "the dlbasics code the tests import changed ({new_short})",
    "nbgrader": "nbgrader's version changed ({old} -> {new})",
    "numpy": "NumPy's version changed ({old} -> {new})",
    "torch": "PyTorch's version changed ({old} -> {new})",
    "kernel": "the students' kernel environment changed ({old} -> {new})",
    "sandbox": "the sandbox state changed ({old} -> {new})",
}

#: The grader's modules that change no grade and no feedback (what is written after grading): a change
#: to them regrades nobody.
REPORT_ONLY = ("cli.py", "report.py", "classreport.py", "reportpage.py", "charts.py", "similarity.py", "lms.py")

_TRIGGER_WORDS = {
    "assignment": "the assignment's source",
    "config": "nbgrader_config.py",
    "timeout": "the time limit",
    "grader": "the grader's code",
    "checks": "the dlbasics code the tests import",
    "nbgrader": "nbgrader",
    "numpy": "NumPy",
    "torch": "PyTorch",
    "kernel": "the students' kernel environment",
    "sandbox": "the sandbox state",
}


def triggers_text() -> str:
    """One sentence listing what regrades everyone (for ``--help`` and the README)."""
    words = list(_TRIGGER_WORDS.values())
    return ", ".join(words[:-1]) + " or " + words[-1]


# ---------------------------------------------------------------------------------------- hashing
def _hash_file(h: Any, path: Path) -> None:
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)


def hash_tree(folder: Path, *, suffix: str = "", skip: tuple[str, ...] = ()) -> str:
    """A hash of every file's relative path and bytes under ``folder`` (dotfiles and caches excluded)."""
    h = hashlib.sha256()
    if folder.is_dir():
        for path in sorted(folder.rglob(f"*{suffix}")):
            rel = path.relative_to(folder)
            if (
                not path.is_file()
                or rel.as_posix() in skip
                or any(p.startswith(".") or p == "__pycache__" for p in rel.parts)
            ):
                continue
            h.update(rel.as_posix().encode() + b"\0")
            _hash_file(h, path)
            h.update(b"\0")
    return h.hexdigest()


_IMPORT = re.compile(r"^\s*(?:from\s+(dlbasics(?:\.\w+)*)\s+import|import\s+(dlbasics(?:\.\w+)*))", re.M)


def _module_file(name: str) -> Path | None:
    """The source file of a module (a package's ``__init__.py``)."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.origin or spec.origin in ("built-in", "frozen"):
        return None
    return Path(spec.origin)


def _imports_of(path: Path, name: str) -> set[str]:
    """The dlbasics modules that the module ``name`` (at ``path``) imports, relative imports resolved."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            if base.startswith("dlbasics"):
                found.add(base)
                found.update(f"{base}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("dlbasics"))
    return found


def grading_dependencies(
    sources: list[str], assignment: str = "", *, always: tuple[str, ...] = ("dlbasics", "dlbasics.checks")
) -> list[Path]:
    """The files of ``dlbasics`` that code cells with these ``sources`` import, transitively, besides the
    modules ``always`` (and the assignment's table of misconceptions, which :func:`dlbasics.checks.hints`
    imports by name)."""
    todo = set(always)
    if assignment:
        todo.add(f"dlbasics.checks.misconceptions.{assignment}")
    for src in sources:
        for m in _IMPORT.finditer(src):
            todo.add(m.group(1) or m.group(2))
    seen: set[str] = set()
    files: set[Path] = set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            path = _module_file(name)
        except (ImportError, ValueError):
            path = None
        if path is None:
            continue
        files.add(path)
        todo |= _imports_of(path, name)
        parent = name.rpartition(".")[0]
        if parent:
            todo.add(parent)  # importing a submodule runs its package's __init__
    return sorted(files)


def _test_sources(source_notebook: Path) -> list[str]:
    import nbformat

    from dlbgrader.cells import is_test_cell

    nb = nbformat.read(str(source_notebook), as_version=4)
    return [c.source for c in nb.cells if is_test_cell(c)]


def fingerprint(course: Any, assignment: str, sandbox: str, kernel: str) -> dict[str, str]:
    """Everything besides a student's notebook that decides their grade (see :data:`TRIGGERS`)."""
    import nbgrader
    import numpy

    import dlbgrader

    cfg = Path(course.config_file) if course.config_file else None
    h = hashlib.sha256()
    deps = grading_dependencies(_test_sources(course.source_notebooks(assignment)[0]), assignment)
    for path in deps:
        h.update(path.name.encode() + b"\0")
        _hash_file(h, path)
    return {
        "assignment": hash_tree(course.root / "solutions" / assignment),
        "config": hashlib.sha256(cfg.read_bytes()).hexdigest() if cfg and cfg.is_file() else "",
        "timeout": str(course.settings.timeout),
        "grader": hash_tree(Path(dlbgrader.__file__).parent, suffix=".py", skip=REPORT_ONLY),
        "checks": h.hexdigest()[:16] + " " + ",".join(sorted({_short(p) for p in deps})),
        "nbgrader": str(nbgrader.__version__),
        "numpy": numpy.__version__,
        "torch": version("torch"),
        "kernel": kernel,
        "sandbox": sandbox,
    }


def _short(path: Path) -> str:
    return path.parent.name if path.name == "__init__.py" else path.stem


def version(dist: str) -> str:
    """The installed version of a distribution ('' if it is not installed)."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as _version

    try:
        return _version(dist)
    except PackageNotFoundError:
        return ""


def changes(old: dict[str, str], new: dict[str, str], assignment: str) -> str:
    """Why everyone must be regraded ('' if nothing changed)."""
    why = []
    for k in new:
        if old.get(k) != new.get(k):
            new_short = str(new.get(k, "")).split(" ", 1)[-1]
            why.append(
                TRIGGERS.get(k, k + " changed").format(
                    a=assignment, old=old.get(k) or "?", new=new.get(k), new_short=new_short
                )
            )
    return "; ".join(why)


# --------------------------------------------------------------------------------------- manifests
@dataclass
class Entry:
    """One student's last grading: the notebook's hash, the outcome, when."""

    input: str
    status: str
    reason: str = ""
    seconds: float = 0.0
    graded_at: str = ""


@dataclass
class Manifest:
    assignment: str
    fingerprint: dict[str, str] = field(default_factory=dict)
    students: dict[str, Entry] = field(default_factory=dict)
    input_students: list[str] = field(default_factory=list)

    def remember(self, student: str, key: str, status: str, reason: str, seconds: float) -> None:
        now = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
        self.students[student] = Entry(key, status, reason, round(seconds, 3), now)


def manifest_path(course: Any, assignment: str) -> Path:
    return Path(course.grading_dir) / "manifests" / f"{assignment}.json"


def load(path: Path, assignment: str) -> Manifest | None:
    """The manifest at ``path``, or None if there is none or it is unreadable or of another format."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if (
        not isinstance(data, dict)
        or data.get("version") != MANIFEST_VERSION
        or data.get("assignment") != assignment
        or not isinstance(data.get("students"), dict)
    ):
        return None
    try:
        students = {str(k): Entry(**v) for k, v in data["students"].items()}
    except TypeError:
        return None
    return Manifest(
        assignment, dict(data.get("fingerprint") or {}), students, [str(s) for s in data.get("input_students") or []]
    )


def save(path: Path, manifest: Manifest) -> None:
    """Write atomically (temporary file + rename): an interrupted run leaves the previous or the new version."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {
        "version": MANIFEST_VERSION,
        "assignment": manifest.assignment,
        "fingerprint": manifest.fingerprint,
        "input_students": manifest.input_students,
        "students": {k: asdict(v) for k, v in manifest.students.items()},
    }
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=1, sort_keys=True)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


@contextlib.contextmanager
def exclusive(course: Any, assignment: str) -> Iterator[None]:
    """One ``dlb grade`` of an assignment at a time (two would overwrite each other's submissions)."""
    lock = manifest_path(course, assignment).with_suffix(".lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "w") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise CourseError(
                f"{assignment} is being graded by another dlb process in {course.root} "
                f"(lock {lock}); wait for it to finish"
            ) from None
        yield


def input_key(notebook: Path | None, problem: str) -> str:
    """A hash of what the student handed in (the notebook's bytes) and of how it was found."""
    h = hashlib.sha256()
    try:
        if notebook is not None:
            _hash_file(h, notebook)
    except OSError as exc:
        h.update(f"unreadable: {exc}".encode())
    h.update(b"\0" + problem.encode())
    return h.hexdigest()


# ------------------------------------------------------------------------------------------ planning
@dataclass
class Plan:
    """What a run does: whom it keeps (their earlier outcome) and whom it grades, and why all, if all."""

    regrade_all: str
    keep: dict[str, Entry]
    grade: list[str]
    removed: list[str]


def plan(
    students: list[str],
    keys: dict[str, str],
    old: Manifest | None,
    fp: dict[str, str],
    *,
    force: bool = False,
    had_file: bool = False,
    in_gradebook: set[str] | frozenset[str] = frozenset(),
    feedback_kept: Callable[[str], bool] = lambda s: True,
) -> Plan:
    """Decide, from data alone, which students to regrade.

    ``keys``: each student's :func:`input_key` now; ``old``: the last manifest (None if none or
    unreadable; ``had_file`` says a file was there); ``in_gradebook``: students whose graded
    submission the gradebook still has; ``feedback_kept(student)``: whether their feedback file is
    still there (when feedback is wanted). A student is kept only if their notebook is unchanged
    and what their outcome needs still exists (a failure needs nothing; a grade needs the gradebook
    row and the feedback)."""
    if force:
        regrade_all = "forced (--force)"
    elif old is None:
        regrade_all = "the previous run's record was unreadable" if had_file else ""
    else:
        regrade_all = changes(old.fingerprint, fp, old.assignment)
    previous = old.students if (old is not None and not force and not regrade_all) else {}
    keep: dict[str, Entry] = {}
    grade: list[str] = []
    for s in students:
        e = previous.get(s)
        if e is not None and e.input == keys.get(s):
            if e.status == "failed" or (s in in_gradebook and feedback_kept(s)):
                keep[s] = e
                continue
        grade.append(s)
    removed = sorted(set(old.input_students if old else []) - set(students))
    return Plan(regrade_all, keep, grade, removed)
