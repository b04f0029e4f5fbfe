"""Collect a folder of submissions into nbgrader's layout, repairing what students broke.

Accepted layouts for the submissions folder:

* nbgrader's ``<dir>/<student>/<assignment>/<notebook>.ipynb`` (or ``<dir>/<student>/<notebook>.ipynb``);
* a flat folder of ``<student>.ipynb`` files, as an LMS download gives.

A ``.zip`` of either layout is accepted too (see :func:`opened`): it is checked (no absolute paths,
no ``..``, bounded size and member count) and extracted into a temporary folder. Student ids come
from file and folder names only (the file stem for a flat layout); no LMS naming scheme is guessed.
"""

from __future__ import annotations

import contextlib
import copy
import re
import shutil
import stat
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import nbformat

from dlbgrader.cells import grade_id
from dlbgrader.course import Course
from dlbgrader.errors import CourseError

_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


@dataclass
class Submission:
    """One student's submission as found in the input folder."""

    student: str
    notebook: Path | None
    problem: str = ""


def student_id(name: str) -> str:
    """A safe student id from a file or folder name."""
    sid = _SAFE.sub("_", name).strip("._")
    if not sid:
        raise CourseError(f"cannot derive a student id from {name!r}")
    return sid


def discover(submissions: Path, assignment: str) -> list[Submission]:
    """Find each student's notebook in ``submissions`` (nbgrader layout or a flat folder)."""
    submissions = Path(submissions)
    if not submissions.is_dir():
        raise CourseError(f"submissions folder not found: {submissions}")
    found: list[Submission] = []
    for entry in sorted(submissions.iterdir()):
        if _skipped((entry.name,)):
            continue
        if entry.is_file() and entry.suffix == ".ipynb":
            found.append(Submission(student_id(entry.stem), entry))
        elif entry.is_dir():
            folder = entry / assignment if (entry / assignment).is_dir() else entry
            nbs = sorted(p for p in folder.glob("*.ipynb") if not p.name.startswith("."))
            sid = student_id(entry.name)
            if not nbs:
                found.append(Submission(sid, None, f"no notebook found in {folder.relative_to(submissions)}/"))
            elif len(nbs) > 1:
                found.append(Submission(sid, nbs[0], f"{len(nbs)} notebooks found; graded {nbs[0].name}"))
            else:
                found.append(Submission(sid, nbs[0]))
    return _separate_collisions(found, submissions)


def _separate_collisions(found: list[Submission], root: Path) -> list[Submission]:
    """Submissions whose names map to the same student id are none of them graded (which one is the
    student's is unclear): each gets a row of its own (``id``, ``id~2``, ...) saying why."""
    by_id: dict[str, list[Submission]] = {}
    for s in found:
        by_id.setdefault(s.student, []).append(s)
    out: list[Submission] = []
    for s in found:
        group = by_id[s.student]
        if len(group) == 1:
            out.append(s)
            continue
        k = group.index(s)
        names = ", ".join(str(g.notebook.relative_to(root)) if g.notebook else "?" for g in group)
        sid = s.student if k == 0 else f"{s.student}~{k + 1}"
        out.append(
            Submission(
                sid,
                None,
                f"{len(group)} submissions map to the student id {s.student!r} ({names}); "
                f"none of them was graded: rename them so that each student has one",
            )
        )
    return out


#: Bounds on what a submissions zip may hold (a zip bomb is refused before anything is extracted).
MAX_ZIP_BYTES = 1 << 30  # 1 GiB uncompressed in total
MAX_ZIP_MEMBERS = 10_000
_JUNK = ("__MACOSX",)  # macOS resource forks, added by Finder's "Compress"


def _skipped(parts: tuple[str, ...]) -> bool:
    """Archive junk: macOS resource forks and dotfiles/dot-folders (``.DS_Store``, ``.ipynb_checkpoints``)."""
    return any(p in _JUNK or p.startswith(".") for p in parts)


def _member_parts(name: str) -> tuple[str, ...]:
    """The path components of a zip member, refusing anything that could land outside the target folder."""
    norm = name.replace("\\", "/")
    if norm.startswith("/") or re.match(r"^[A-Za-z]:", norm):
        raise CourseError(
            f"unsafe zip: member '{name}' has an absolute path; nothing was extracted. "
            "Re-create the zip from the submissions folder itself."
        )
    parts = tuple(p for p in PurePosixPath(norm).parts if p not in ("", "."))
    if ".." in parts:
        raise CourseError(
            f"unsafe zip: member '{name}' points outside the archive ('..'); nothing was extracted. "
            "Re-create the zip from the submissions folder itself."
        )
    return parts


def extract_zip(
    archive: Path, dest: Path, *, max_bytes: int = MAX_ZIP_BYTES, max_members: int = MAX_ZIP_MEMBERS
) -> Path:
    """Extract the submissions ``archive`` into the empty folder ``dest``; return the folder to :func:`discover`.

    Every member is checked before anything is written: absolute paths and ``..`` (zip slip) are
    refused, as are more than ``max_members`` members or more than ``max_bytes`` uncompressed
    (zip bombs; the byte count is enforced while extracting too, not only as declared). Directory
    entries, symbolic links, ``__MACOSX/`` and dotfiles are skipped. If everything sits in one
    wrapping folder (as an LMS download or "compress folder" makes), that folder is returned,
    unless it is itself a student's folder in nbgrader's layout (it holds ``<assignment>/``;
    see :func:`unwrap`).
    """
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise CourseError(f"{archive} is not a readable zip file ({exc}); download the submissions again") from exc
    with zf:
        infos = zf.infolist()
        if len(infos) > max_members:
            raise CourseError(
                f"{archive} has {len(infos)} members, more than the {max_members} allowed; "
                "is it really a class's submissions?"
            )
        plan: list[tuple[zipfile.ZipInfo, tuple[str, ...]]] = []
        seen: set[tuple[str, ...]] = set()
        declared = 0
        for info in infos:
            parts = _member_parts(info.filename)
            is_link = stat.S_ISLNK(info.external_attr >> 16)
            if info.is_dir() or not parts or is_link or _skipped(parts):
                continue
            if parts in seen:
                raise CourseError(f"{archive} holds '{info.filename}' twice; which one to grade is unclear")
            seen.add(parts)
            declared += info.file_size
            if declared > max_bytes:
                raise CourseError(
                    f"{archive} would extract to more than {max_bytes / 2**30:g} GiB; refused (a zip bomb?)"
                )
            plan.append((info, parts))
        written = 0
        for info, parts in plan:
            target = dest.joinpath(*parts)
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as src, open(target, "wb") as out:
                    while chunk := src.read(1 << 20):
                        written += len(chunk)
                        if written > max_bytes:
                            raise CourseError(
                                f"{archive} extracts to more than {max_bytes / 2**30:g} GiB; refused (a zip bomb?)"
                            )
                        out.write(chunk)
            except CourseError:
                raise
            except (
                zipfile.BadZipFile,
                zipfile.LargeZipFile,
                RuntimeError,
                OSError,
                EOFError,
                NotImplementedError,
                ValueError,
            ) as exc:  # CRC error, encrypted, truncated, bad method
                raise CourseError(
                    f"{archive}: cannot extract '{info.filename}' ({exc}); "
                    "the zip is damaged or encrypted, download the submissions again"
                ) from exc
    return dest


def unwrap(folder: Path, assignment: str) -> Path:
    """Step into single wrapping folders: ``folder`` holding nothing but one folder ``X`` means ``X``
    holds the submissions, unless ``X/<assignment>/`` exists (then ``X`` is one student in nbgrader's layout)."""
    for _level in range(8):
        entries = [e for e in folder.iterdir() if not _skipped((e.name,))]
        if len(entries) != 1 or not entries[0].is_dir() or (entries[0] / assignment).is_dir():
            break
        folder = entries[0]
    return folder


@contextlib.contextmanager
def opened(submissions: Path, assignment: str) -> Iterator[Path]:
    """The submissions folder to :func:`discover`: ``submissions`` itself, or a ``.zip`` extracted
    (safely, see :func:`extract_zip`) into a temporary folder that is removed on exit."""
    submissions = Path(submissions)
    if submissions.is_file() and (submissions.suffix.lower() == ".zip" or zipfile.is_zipfile(submissions)):
        with tempfile.TemporaryDirectory(prefix="dlb-submissions-") as tmp:
            yield unwrap(extract_zip(submissions, Path(tmp)), assignment)
    elif submissions.is_dir():
        yield submissions
    elif submissions.exists():
        raise CourseError(f"{submissions} is neither a folder nor a .zip of submissions")
    else:
        raise CourseError(f"submissions not found: {submissions} (give a folder or a .zip)")


def place(course: Course, assignment: str, notebook_name: str, sub: Submission, release_nb: Any) -> str:
    """Copy a submission into nbgrader's submitted/ layout, repaired against the release notebook
    ``release_nb`` (see :func:`repair`); return a problem string or ''."""
    dest_dir = course.submitted_dir / sub.student / assignment
    if sub.notebook is None:
        if dest_dir.exists():
            shutil.rmtree(dest_dir)
        return sub.problem
    src = sub.notebook
    # Read everything from the input first: it may be dest_dir itself (the folder that
    # `nbgrader collect` fills), which is replaced below.
    nb: Any = None
    problem = ""
    limits = course.settings
    try:
        size = src.stat().st_size
    except OSError as exc:
        size, problem = 0, f"unreadable notebook ({exc})"
    if size > limits.max_notebook_mb * 1024 * 1024:
        problem = (
            f"the notebook file is {size / 2**20:.1f} MiB, larger than the limit of {limits.max_notebook_mb} MiB "
            f"(c.Grading.max_notebook_mb); clear its outputs and submit again"
        )
    if not problem:
        try:
            nb = nbformat.read(str(src), as_version=4)
        except Exception as exc:  # invalid JSON, wrong schema, unreadable file
            problem = f"invalid notebook ({type(exc).__name__}: {str(exc).splitlines()[0][:200]})"
    if nb is not None and len(nb.cells) > limits.max_cells:
        problem = (
            f"the notebook has {len(nb.cells)} cells, more than the limit of {limits.max_cells} (c.Grading.max_cells)"
        )
        nb = None
    # nbgrader's exchange writes these beside the notebook: the submission time (late penalties)
    # and the secret that `nbgrader release_feedback` checks. Keep them.
    keep = {
        name: (src.parent / name).read_bytes()
        for name in ("timestamp.txt", "submission_secret.txt")
        if (src.parent / name).is_file()
    }
    if dest_dir.resolve() in src.resolve().parents:
        # Graded in place: keep the student's files as handed in, and never replace an unreadable one.
        kept = course.grading_dir / "originals" / sub.student / assignment
        if kept.exists():
            shutil.rmtree(kept)
        shutil.copytree(dest_dir, kept)
        if nb is None:
            return problem
    if dest_dir.exists():
        shutil.rmtree(dest_dir)
    if nb is None:
        return problem
    notes = repair(nb, release_nb)
    if notes:
        sub.problem = "; ".join(([sub.problem] if sub.problem else []) + notes)
    dest_dir.mkdir(parents=True, exist_ok=True)
    for name, data in keep.items():
        (dest_dir / name).write_bytes(data)
    # Whatever the student named the file, it is graded as the assignment's notebook.
    nbformat.write(nb, str(dest_dir / notebook_name))
    return ""


_CELL_ID = re.compile(r"[a-zA-Z0-9_-]{1,64}")


def _fix_cell_ids(nb: Any, notes: list[str]) -> None:
    used: set[str] = set()
    bad = 0
    for k, cell in enumerate(nb.cells):
        cid = cell.get("id")
        if cid is None:
            continue
        if not isinstance(cid, str) or not _CELL_ID.fullmatch(cid) or cid in used:
            new = f"cell-{k}"
            while new in used:
                new += "x"
            cell["id"] = new
            bad += 1
        used.add(cell["id"])
    if bad:
        notes.append(f"{bad} cell id(s) that are not valid notebook ids were replaced")


def repair(nb: Any, release_nb: Any) -> list[str]:
    """Make ``nb`` structurally match the release before autograding; return what was changed.

    Test and other locked cells the student deleted are put back (from the release version, in
    their place); a duplicated test cell is dropped, so it cannot count twice; a duplicated answer
    cell stays as ordinary code (it still runs) but only the first copy is graded. nbgrader then
    restores every test cell's source from the gradebook, so edited tests are undone too. Cell ids
    that nbformat would reject (hand-edited: characters outside ``[A-Za-z0-9_-]``, too long, repeated)
    are replaced, so one bad id does not make the whole notebook invalid.
    """
    notes: list[str] = []
    _fix_cell_ids(nb, notes)
    seen: set[str] = set()
    kept = []
    for cell in nb.cells:
        g = grade_id(cell)
        if g and g in seen:
            if cell.metadata["nbgrader"].get("solution"):
                del cell.metadata["nbgrader"]
                kept.append(cell)
                notes.append(f"cell {g} appears twice: only the first copy is graded")
            else:
                notes.append(f"duplicated cell {g} removed")
            continue
        if g:
            seen.add(g)
        kept.append(cell)
    nb.cells = kept
    pos = 0
    ids = {c.get("id") for c in nb.cells}
    for rcell in release_nb.cells:
        g = grade_id(rcell)
        if not g:
            continue
        where = next((i for i, c in enumerate(nb.cells) if grade_id(c) == g), None)
        if where is not None:
            pos = where + 1
            continue
        new = copy.deepcopy(rcell)
        if new.get("id") in ids:
            new["id"] = f"{new['id']}-restored"[:64]
        ids.add(new.get("id"))
        nb.cells.insert(pos, new)
        pos += 1
        notes.append(f"deleted cell {g} restored")
    return notes
