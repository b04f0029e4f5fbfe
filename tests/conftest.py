"""Shared pytest configuration and helpers."""

from __future__ import annotations

import functools
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

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
        capture_output=True,
        text=True,
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


# trylast: the order below is the final one (after pytest grouped the tests by their fixtures).
@pytest.hookimpl(trylast=True)
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
        for value in callspec.params.values() if callspec else ():
            if isinstance(value, str) and value in by_assignment:
                marks.add(by_assignment[value].marker)
        for m in sorted(marks):
            item.add_marker(getattr(pytest.mark, m))
    # Slow tests first: pytest-xdist hands out whole scopes (below) in collection order, so the long ones
    # (the book build, the grading classes) start at once and the many short tests fill the gaps.
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


# ------------------------------------------------------------------------------------------------
# Under pytest-xdist (`make test` runs two workers, --dist loadgroup) tests that share an expensive
# fixture must run on one worker, or each worker builds it: every test of the built site (one book
# build), the tests of one grading class (a module fixture, per assignment in test_grading.py), the
# tests of a module with a module fixture. The scope of a test is decided here from its node id and its
# module's source, for the controller, which sees no test items. (xdist_group markers did this until
# pytest 9.2: pytest-xdist 3.8 renames the node ids through `item._nodeid`, which pytest 9.2 no longer
# reads, so every group was silently ignored and both workers graded each class.)
# ------------------------------------------------------------------------------------------------
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class SharedFixtureScheduling(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            return xdist_scope(nodeid)

    return SharedFixtureScheduling(config, log)


@functools.cache
def _sharing(rel: str) -> str:
    """What the tests of a test module share: "book" (the built site), "param" (a module fixture per
    parameter), "module" (a module fixture) or "" (nothing expensive)."""
    try:
        src = (ROOT / rel).read_text(encoding="utf-8")
    except OSError:
        return ""
    if "built_site" in src:
        return "book"
    if re.search(r"scope=\"module\",\s*params=", src):
        return "param"
    return "module" if 'scope="module"' in src else ""


def xdist_scope(nodeid: str) -> str:
    """The unit of work a test belongs to: tests with the same scope run on one worker, in order."""
    rel = nodeid.split("::", 1)[0]
    kind = _sharing(rel)
    if kind == "book":
        return "book"
    if kind == "param":
        m = re.search(r"\[(?:[^\]]*-)?(ps\d+_[a-z0-9_]+?)(?:-[^\]]*)?\]$", nodeid)
        return f"{rel}::{m.group(1)}" if m else nodeid
    return rel if kind == "module" else nodeid
