"""Shared pytest configuration and helpers."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


def artifacts_dir() -> Path:
    """Where tests leave files for a person to look at (ignored by git)."""
    d = Path(os.environ.get("DLB_TEST_ARTIFACTS", ROOT / "test-artifacts"))
    d.mkdir(parents=True, exist_ok=True)
    return d


@pytest.fixture(scope="session")
def built_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The book built from a clean state into a temporary folder (every chapter executed, -W -n).

    Session-scoped: the build tests, the browser test and the site-content tests share one build.
    Returns ``<tmp>/_build/html``; the build time is in ``<tmp>/build-seconds.txt``.
    """
    out = tmp_path_factory.mktemp("book")
    jb = Path(sys.executable).parent / "jupyter-book"
    t0 = time.perf_counter()
    proc = subprocess.run(
        [str(jb), "build", str(ROOT), "--path-output", str(out), "--warningiserror", "--nitpick", "--keep-going"],
        capture_output=True, text=True,
    )
    elapsed = time.perf_counter() - t0
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"book build failed ({elapsed:.0f} s):\n{log[-6000:]}"
    (out / "build-seconds.txt").write_text(f"{elapsed:.1f}\n")
    return out / "_build" / "html"


# ------------------------------------------------------------------------------------------------
# One marker per chapter (``pytest -m ps3``): everything that belongs to the chapter of ps3_losses
# in chapters.yml -- its lib tests, and every test parametrized with (or bound to) its assignment.
# ------------------------------------------------------------------------------------------------
def pytest_configure(config: pytest.Config) -> None:
    from tests.chapters import chapters

    for ch in chapters():
        config.addinivalue_line("markers", f"{ch.marker}: everything of chapter {ch.number} ({ch.assignment})")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    from tests.chapters import chapters

    by_test_file = {t: ch for ch in chapters() for t in ch.tests}
    by_assignment = {ch.assignment: ch for ch in chapters()}
    for item in items:
        marks: set[str] = set()
        rel = Path(str(item.fspath)).resolve().relative_to(ROOT).as_posix()
        if rel in by_test_file:
            marks.add(by_test_file[rel].marker)
        bound = getattr(getattr(item, "module", None), "ASSIGNMENT", None)
        if bound in by_assignment:
            marks.add(by_assignment[bound].marker)
        callspec = getattr(item, "callspec", None)
        for value in (callspec.params.values() if callspec else ()):
            if isinstance(value, str) and value in by_assignment:
                marks.add(by_assignment[value].marker)
        for m in sorted(marks):
            item.add_marker(getattr(pytest.mark, m))
        # Under pytest-xdist (`make test` runs two workers, --dist loadgroup), tests that share an
        # expensive fixture stay on one worker, so it is built once: every test of the built site
        # (one book build), and the tests of one grading class (a module fixture, per assignment).
        group = _xdist_group(item, rel)
        if group:
            item.add_marker(pytest.mark.xdist_group(group))


_BOOK_MODULES = {"tests/test_book.py", "tests/test_site_content.py", "tests/test_browser.py"}


def _xdist_group(item: pytest.Item, rel: str) -> str:
    if rel in _BOOK_MODULES:
        return "book"
    if item.get_closest_marker("slow") is None:
        return ""
    callspec = getattr(item, "callspec", None)
    param = next((v for v in (callspec.params.values() if callspec else ()) if isinstance(v, str)
                  and v.startswith("ps")), "")
    return f"{rel}[{param}]" if param else rel
