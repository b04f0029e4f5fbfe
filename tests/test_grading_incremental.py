"""Grading a real class: a zip of submissions as an LMS gives it, safe extraction, and incremental
re-runs (only changed notebooks are regraded; everything when the assignment or the time limit
changes or with --force; an interrupted run keeps what it finished).

Everything runs the real `grade_class` / `dlb grade` with nbgrader; nothing is mocked.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import pytest

from dlbgrader.collect import discover, extract_zip, opened
from dlbgrader.course import Course
from dlbgrader.errors import CourseError
from dlbgrader.grade import GradingRun, grade_class, summary
from dlbgrader.manifest import manifest_path
from dlbgrader.synthetic import write_solution_submission
from tests.bugzoo.ps1_foundations import BUGS
from tests.grading_helpers import make_course, points, released_course

ASSIGNMENT = "ps1_foundations"  # the faster assignment to grade
BUG = BUGS[0]
DLB = Path(sys.executable).parent / "dlb"


# ---------------------------------------------------------------------------------------------
# Building submissions
# ---------------------------------------------------------------------------------------------


def _course(tmp: Path) -> tuple[Course, Path, Path]:
    """A course with the assignment released; returns (course, source notebook, release notebook)."""
    return released_course(tmp / "course", ASSIGNMENT)


def _write_zip(path: Path, members: dict[str, bytes]) -> Path:
    """A zip holding exactly these member names (kept verbatim, even unsafe ones)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(zipfile.ZipInfo(name), data, compress_type=zipfile.ZIP_DEFLATED)
    return path


def _folder_members(folder: Path, prefix: str = "") -> dict[str, bytes]:
    return {prefix + p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _macos_junk(prefix: str) -> dict[str, bytes]:
    """What Finder's "Compress" adds: resource forks under __MACOSX/ and .DS_Store files."""
    return {
        f"__MACOSX/{prefix}._ada.ipynb": b"\x00\x05\x16\x07 resource fork",
        f"{prefix}.DS_Store": b"\x00\x00\x00\x01Bud1",
        f"__MACOSX/{prefix}.__junk.ipynb": b"not a notebook",
    }


def _found(subs: list) -> dict[str, bytes | None]:  # type: ignore[type-arg]
    return {s.student: (s.notebook.read_bytes() if s.notebook else None) for s in subs}


def _csv_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _notebook_bytes(
    tmp: Path, source_nb: Path, release_nb: Path, name: str, replace: dict[str, tuple[str, str]] | None = None
) -> bytes:
    path = write_solution_submission(source_nb, release_nb, tmp / "made" / f"{name}.ipynb", replace=replace)
    return path.read_bytes()


# ---------------------------------------------------------------------------------------------
# Zip input (no grading needed: what is found, and what is refused)
# ---------------------------------------------------------------------------------------------


def test_zip_layouts_are_found_like_the_folder(tmp_path: Path) -> None:
    folder = tmp_path / "inbox"
    folder.mkdir()
    (folder / "ada.ipynb").write_bytes(b'{"ada": 1}')
    (folder / "lastname_12345_67890_ps1.ipynb").write_bytes(b'{"lms": 1}')  # an LMS name: the stem is the id
    (folder / "cy" / ASSIGNMENT).mkdir(parents=True)
    (folder / "cy" / ASSIGNMENT / "my work.ipynb").write_bytes(b'{"cy": 1}')
    expected = _found(discover(folder, ASSIGNMENT))
    assert set(expected) == {"ada", "lastname_12345_67890_ps1", "cy"}

    zips = {
        "flat": _write_zip(tmp_path / "flat.zip", _folder_members(folder)),
        "wrapped, with macOS junk": _write_zip(
            tmp_path / "wrapped.zip", {**_folder_members(folder, "PS1 submissions/"), **_macos_junk("PS1 submissions/")}
        ),
        "wrapped twice": _write_zip(tmp_path / "twice.zip", _folder_members(folder, "export/submitted/")),
    }
    for label, archive in zips.items():
        with opened(archive, ASSIGNMENT) as extracted:
            assert _found(discover(extracted, ASSIGNMENT)) == expected, label
            tmpdir = extracted
        assert not tmpdir.exists(), f"{label}: the extracted copy must be removed afterwards"

    # One student in nbgrader's layout is that student, not a wrapping folder to step into.
    one = _write_zip(tmp_path / "one.zip", {f"cy/{ASSIGNMENT}/a.ipynb": b"{}"})
    with opened(one, ASSIGNMENT) as extracted:
        assert [s.student for s in discover(extracted, ASSIGNMENT)] == ["cy"]


@pytest.mark.parametrize(
    "member",
    ["../escaped.ipynb", "inbox/../../escaped.ipynb", "/tmp/escaped.ipynb", "..\\escaped.ipynb", "C:/escaped.ipynb"],
)
def test_zip_slip_is_refused_naming_the_member(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, member: str) -> None:
    course = make_course(tmp_path / "course", [ASSIGNMENT])
    scratch = tmp_path / "scratch"  # where the zip would be extracted
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    archive = _write_zip(tmp_path / "evil.zip", {"ada.ipynb": b"{}", member: b"pwned"})
    with pytest.raises(CourseError) as err:
        grade_class(course, ASSIGNMENT, archive, out_dir=tmp_path / "out", progress=False)
    assert member in str(err.value) and "unsafe zip" in str(err.value)
    assert list(scratch.iterdir()) == [], "nothing may be left extracted"
    assert not (tmp_path / "escaped.ipynb").exists() and not Path("/tmp/escaped.ipynb").exists()
    assert not (tmp_path / "out").exists(), "no grades.csv for a refused input"
    assert not course.db_path.exists(), "a refused zip must stop before nbgrader starts"


def test_corrupt_zip_is_a_clear_error(tmp_path: Path) -> None:
    course = make_course(tmp_path / "course", [ASSIGNMENT])
    garbage = tmp_path / "download.zip"
    garbage.write_bytes(b"<html>session expired</html>")
    proc = subprocess.run(
        [str(DLB), "grade", ASSIGNMENT, str(garbage), "--out", str(tmp_path / "out")],
        cwd=course.root,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "not a readable zip file" in proc.stderr and str(garbage) in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr

    # A member whose bytes were damaged (stored uncompressed, one byte flipped): the CRC check catches it.
    damaged = tmp_path / "damaged.zip"
    with zipfile.ZipFile(damaged, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("ada.ipynb", b'{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}')
    data = bytearray(damaged.read_bytes())
    at = data.index(b'"cells"')
    data[at + 1] ^= 0x20
    damaged.write_bytes(bytes(data))
    with pytest.raises(CourseError, match=r"cannot extract 'ada.ipynb'.*damaged"):
        with opened(damaged, ASSIGNMENT):
            pass
    # Truncated in transfer: the central directory is gone.
    truncated = tmp_path / "truncated.zip"
    truncated.write_bytes(_write_zip(tmp_path / "whole.zip", {"ada.ipynb": b"{}" * 1000}).read_bytes()[:-30])
    with pytest.raises(CourseError, match="not a readable zip file"):
        with opened(truncated, ASSIGNMENT):
            pass


def test_zip_bombs_are_bounded(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("ada.ipynb", b"\0" * (4 << 20))  # 4 MiB of zeros compress to a few KiB
    assert bomb.stat().st_size < 100_000
    with pytest.raises(CourseError, match="zip bomb"):
        extract_zip(bomb, tmp_path / "x", max_bytes=1 << 20)
    assert not (tmp_path / "x").exists(), "the size is checked before anything is written"
    many = _write_zip(tmp_path / "many.zip", {f"s{i}.ipynb": b"{}" for i in range(20)})
    with pytest.raises(CourseError, match="20 members"):
        extract_zip(many, tmp_path / "y", max_members=10)
    # The real limits are generous enough for a class and small enough for a laptop.
    from dlbgrader import collect

    assert collect.MAX_ZIP_BYTES == 1 << 30 and 1000 <= collect.MAX_ZIP_MEMBERS <= 100_000


# ---------------------------------------------------------------------------------------------
# Incremental re-runs, end to end
# ---------------------------------------------------------------------------------------------


def _run(course: Course, subs: Path, out: Path, **kw: object) -> GradingRun:
    return grade_class(course, ASSIGNMENT, subs, out_dir=out, workers=2, **kw)  # type: ignore[arg-type]


def _names(results: list) -> set[str]:  # type: ignore[type-arg]
    return {r.student for r in results}


@pytest.mark.slow
def test_reruns_regrade_only_what_changed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    course, source_nb, release_nb = _course(tmp_path)
    auto, _ = points(ASSIGNMENT)
    full = sum(auto.values())
    reference = _notebook_bytes(tmp_path, source_nb, release_nb, "reference")
    buggy = _notebook_bytes(tmp_path, source_nb, release_nb, "buggy", replace={BUG.cell: (BUG.old, BUG.new)})
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "ada.ipynb").write_bytes(reference)
    (inbox / "bo.ipynb").write_bytes(buggy)
    (inbox / "cy.ipynb").write_text('{"cells": [', encoding="utf-8")
    out = tmp_path / "out"

    # 1. First run, from the folder (stderr is not a terminal here: no bar, only failure lines).
    first = _run(course, inbox, out, progress=None)
    err = capsys.readouterr().err
    assert "\r" not in err and "\x1b[" not in err and "%|" not in err, f"progress bar in a non-TTY stream:\n{err}"
    assert "cy: could not be graded: invalid notebook" in err
    assert {r.student: r.status for r in first} == {"ada": "graded", "bo": "graded", "cy": "failed"}
    assert first.reused == [] and first.regrade_all == ""
    by = {r.student: r for r in first}
    assert by["ada"].score == full and by["bo"].score == full - sum(auto[c] for c in BUG.loses)
    manifest = json.loads(manifest_path(course, ASSIGNMENT).read_text(encoding="utf-8"))
    assert set(manifest["students"]) == {"ada", "bo", "cy"}, "every outcome, failures too, is remembered"
    text = summary(first)
    assert "3 submissions: 2 graded, 1 could not be graded" in text
    assert f"over all 3 (could-not-grade count as 0); {(full + by['bo'].score) / 2:.2f} over the 2 graded" in text
    assert "  cy: invalid notebook" in text
    for test in BUG.loses:  # bo's misconception shows as the most failed tests, with the count
        assert f"  {test}: 1/2" in text, text
    csv_first = (out / "grades.csv").read_bytes()
    assert sorted(p.name for p in (out / "feedback").iterdir()) == ["ada.html", "bo.html"]

    # 2. The same submissions as an LMS zip (one wrapping folder, macOS junk): nothing to regrade, same CSV.
    wrapped = _write_zip(
        tmp_path / "wrapped.zip", {**_folder_members(inbox, "ps1 submissions/"), **_macos_junk("ps1 submissions/")}
    )
    again = _run(course, wrapped, out, progress=False)
    assert again.regraded == [] and _names(again.reused) == {"ada", "bo", "cy"}, summary(again)
    assert "regraded 0, reused 3" in summary(again)
    assert (out / "grades.csv").read_bytes() == csv_first
    assert sorted(p.name for p in (out / "feedback").iterdir()) == ["ada.html", "bo.html"]

    # 3. --force, from a flat zip: everything really regraded, and it grades exactly like the folder.
    flat = _write_zip(tmp_path / "flat.zip", _folder_members(inbox))
    forced = _run(course, flat, out, progress=False, force=True)
    assert forced.reused == [] and _names(forced.regraded) == {"ada", "bo", "cy"}
    assert "forced" in forced.regrade_all and "regraded all 3: forced" in summary(forced)
    assert (out / "grades.csv").read_bytes() == csv_first, "a zip must grade like the folder it was made from"

    # 4. bo fixes the bug and cy's submission is withdrawn: exactly bo is regraded, cy leaves the CSV.
    (inbox / "bo.ipynb").write_bytes(reference)
    (inbox / "cy.ipynb").unlink()
    proc = subprocess.run(
        [str(DLB), "grade", ASSIGNMENT, str(inbox), "--out", str(out), "--workers", "2"],
        cwd=course.root,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "\r" not in proc.stderr and "%|" not in proc.stderr, proc.stderr
    assert "2 submissions: 2 graded, 0 could not be graded" in proc.stdout, proc.stdout
    assert "regraded 1, reused 1" in proc.stdout, proc.stdout
    assert "no longer in the input (left out of grades.csv): cy" in proc.stdout, proc.stdout
    assert "no test failed" in proc.stdout, proc.stdout
    rows = _csv_rows(out / "grades.csv")
    assert [(r["student"], float(r["score"])) for r in rows] == [("ada", full), ("bo", full)]
    assert sorted(p.name for p in (out / "feedback").iterdir()) == ["ada.html", "bo.html"]
    manifest = json.loads(manifest_path(course, ASSIGNMENT).read_text(encoding="utf-8"))
    assert manifest["students"]["bo"]["input"] == manifest["students"]["ada"]["input"], "bo now hands in ada's bytes"

    # 5. A grading setting that changes grades (the time limit): everyone is regraded.
    slower = _run(course, inbox, out, progress=False, timeout=45)
    assert slower.reused == [] and _names(slower.regraded) == {"ada", "bo"}
    assert "time limit changed (60 s -> 45 s)" in slower.regrade_all
    # ... and the same setting again: nothing.
    same = _run(course, inbox, out, progress=False, timeout=45)
    assert same.regraded == [] and _names(same.reused) == {"ada", "bo"}

    # 6. The assignment's source changes (a test is worth more): everyone is regraded, with the new points.
    src = source_nb.read_text(encoding="utf-8")
    test_cell = sorted(auto)[0]
    nb = json.loads(src)
    cell = next(c for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") == test_cell)
    cell["metadata"]["nbgrader"]["points"] = auto[test_cell] + 1
    source_nb.write_text(json.dumps(nb, indent=1), encoding="utf-8")
    changed = _run(course, inbox, out, progress=False, timeout=45)
    assert changed.reused == [] and "assignment's source changed" in changed.regrade_all
    assert [r.score for r in changed] == [full + 1, full + 1]


@pytest.mark.slow
def test_an_interrupted_run_keeps_what_it_finished(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    course, source_nb, release_nb = _course(tmp_path)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "ada.ipynb").write_bytes(_notebook_bytes(tmp_path, source_nb, release_nb, "reference"))
    (inbox / "bo.ipynb").write_bytes(
        _notebook_bytes(tmp_path, source_nb, release_nb, "buggy", replace={BUG.cell: (BUG.old, BUG.new)})
    )
    out = tmp_path / "out"
    mpath = manifest_path(course, ASSIGNMENT)

    # One worker grades ada then bo; the grader is killed (SIGKILL: no clean-up) as soon as ada is recorded.
    proc = subprocess.Popen(
        [str(DLB), "grade", ASSIGNMENT, str(inbox), "--out", str(out), "--workers", "1", "--no-progress"],
        cwd=course.root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    done: dict[str, dict[str, str]] = {}
    deadline = time.monotonic() + 600
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if mpath.exists():
                done = json.loads(mpath.read_text(encoding="utf-8"))["students"]  # always whole: atomic rename
                if done:
                    break
            time.sleep(0.05)
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the grader finished before it could be interrupted"
    kept = json.loads(mpath.read_text(encoding="utf-8"))["students"]
    assert set(kept) == {"ada"}, f"expected exactly ada recorded when killed, got {sorted(kept)}"
    assert kept["ada"]["status"] == "graded"
    assert not (out / "grades.csv").exists(), "the CSV is written at the end of a run"

    resumed = _run(course, inbox, out, progress=True)  # the bar forced on although stderr is not a terminal
    err = capsys.readouterr().err
    assert "1/1" in err and "100%" in err, f"the bar counts the one submission left to grade:\n{err}"
    assert "1 of 2 submissions unchanged since their last grading" in err, err
    assert _names(resumed.reused) == {"ada"} and _names(resumed.regraded) == {"bo"}, summary(resumed)
    auto, _ = points(ASSIGNMENT)
    assert [(r.student, r.status, r.score) for r in resumed] == [
        ("ada", "graded", sum(auto.values())),
        ("bo", "graded", sum(auto.values()) - sum(auto[c] for c in BUG.loses)),
    ]
    assert [r["student"] for r in _csv_rows(out / "grades.csv")] == ["ada", "bo"]
    assert sorted(p.name for p in (out / "feedback").iterdir()) == ["ada.html", "bo.html"]
