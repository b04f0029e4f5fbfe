"""The course directory and nbgrader, driven through its Python API.

One :class:`Course` is a directory laid out as nbgrader expects, configured by the
repository's ``nbgrader_config.py`` (``solutions/`` is the source directory,
``exercises/`` the release directory, ``grading/`` holds submissions, autograded
copies, feedback and the SQLite gradebook). The API is used in-process, so a
class's grading pays nbgrader's start-up once, not once per student.
"""

from __future__ import annotations

import copy
import functools
import importlib.util
import os
import sqlite3
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

from dlbgrader.errors import CourseError
from dlbgrader.settings import Settings, settings

if TYPE_CHECKING:
    from dlbgrader.sandbox import SandboxStatus

__all__ = ["CONFIG_NAME", "Course", "CourseError", "find_root"]

CONFIG_NAME = "nbgrader_config.py"


def find_root(start: Path | None = None) -> Path:
    """The nearest directory at or above ``start`` (default: cwd) holding ``nbgrader_config.py``."""
    here = (start or Path.cwd()).resolve()
    for d in (here, *here.parents):
        if (d / CONFIG_NAME).is_file() and (d / "solutions").is_dir():
            return d
    raise CourseError(f"no course found at or above {here}: expected a directory with {CONFIG_NAME} and solutions/")


def _pipelines(c: Config) -> None:
    """The grader's preprocessors: test cells run by the grader (:mod:`dlbgrader.execute`), and feedback
    that shows which check failed and why, never the hidden test code."""
    from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor
    from nbgrader.preprocessors import (
        AssignLatePenalties,
        CheckCellMetadata,
        ClearHiddenTests,
        GetGrades,
        IgnorePattern,
        LimitOutput,
        SaveAutoGrades,
    )

    from dlbgrader.diagnosis import LikelyMisconception
    from dlbgrader.execute import DrivenExecute
    from dlbgrader.feedback import SanitizeOutputs, ShortenTracebacks

    # nbgrader 0.9's Autograde.autograde_preprocessors, with the driven Execute first.
    c.Autograde.autograde_preprocessors = [
        DrivenExecute,
        IgnorePattern,
        ClearMetadataPreprocessor,
        LimitOutput,
        SaveAutoGrades,
        AssignLatePenalties,
        CheckCellMetadata,
    ]
    c.GenerateFeedback.preprocessors = [
        GetGrades,
        ClearHiddenTests,
        ShortenTracebacks,
        SanitizeOutputs,
        LikelyMisconception,
        CSSHTMLHeaderPreprocessor,
    ]


def _ensure_env_bin_on_path() -> None:
    """nbgrader runs ``alembic`` from PATH: make this environment's bin/ come first."""
    bin_dir = str(Path(sys.executable).parent)
    parts = os.environ.get("PATH", "").split(os.pathsep)
    if parts[:1] != [bin_dir]:
        os.environ["PATH"] = os.pathsep.join([bin_dir, *[p for p in parts if p != bin_dir]])


DB_URL_ENV = "DLB_DB_URL"


def _is_sqlite(url: str) -> bool:
    return url.split(":", 1)[0].split("+", 1)[0].strip().lower() == "sqlite"


@functools.lru_cache(maxsize=8)
def _read_config_file(path: str, mtime_ns: int, size: int) -> Config:
    loader = PyFileConfigLoader(Path(path).name, path=str(Path(path).parent))
    return loader.load_config()


def load_config_file(config_file: Path | None) -> Config:
    """The settings of ``nbgrader_config.py`` (empty if there is none): read once per version of the
    file, not at every gradebook access. A copy, so callers may change it."""
    if config_file is None or not Path(config_file).is_file():
        return Config()
    st = Path(config_file).stat()
    return copy.deepcopy(_read_config_file(str(config_file), st.st_mtime_ns, st.st_size))


def _configured_db_url(config_file: Path | None) -> str | None:
    """A server gradebook URL from ``$DLB_DB_URL`` or the config file's ``CourseDirectory.db_url``; None for SQLite."""
    url = os.environ.get(DB_URL_ENV, "").strip()
    where = f"${DB_URL_ENV}"
    if url and _is_sqlite(url):
        raise CourseError(
            f"{DB_URL_ENV}={url!r}: the SQLite gradebook is always grading/gradebook.db in the course; "
            f"unset {DB_URL_ENV} to use it, or set it to a server URL such as postgresql+psycopg2://user@host/db"
        )
    if not url and config_file is not None and Path(config_file).is_file():
        value = load_config_file(config_file).CourseDirectory.get("db_url")
        url = value.strip() if isinstance(value, str) and not _is_sqlite(value) else ""
        where = f"c.CourseDirectory.db_url in {config_file}"
    if not url:
        return None
    if url.split(":", 1)[0].lower() in ("postgresql", "postgres") and importlib.util.find_spec("psycopg") is None:
        # SQLAlchemy 2.1 maps a bare postgresql:// to psycopg 3; this environment ships psycopg2.
        raise CourseError(
            f"{where}: write the gradebook URL as postgresql+psycopg2://... (a bare postgresql:// needs the "
            f"psycopg 3 driver, which is not installed)"
        )
    return url


@dataclass
class Course:
    """A course directory: ``root/solutions/<assignment>/<notebook>.ipynb`` and nbgrader's state.

    Its settings are those of ``nbgrader_config.py`` (:mod:`dlbgrader.settings`), with the two the
    command line may override (``timeout`` in seconds, ``sandbox`` mode) when given here."""

    root: Path
    config_file: Path | None = None
    #: Per-cell time limit in seconds for autograding; None keeps nbgrader_config.py's value.
    timeout: int | None = None
    #: Sandbox mode for student code while grading ("auto", "on", "off"); None keeps nbgrader_config.py's.
    sandbox: str | None = None

    def __post_init__(self) -> None:
        self.root = Path(self.root).resolve()
        if self.config_file is None:
            self.config_file = self.root / CONFIG_NAME

    @property
    def settings(self) -> Settings:
        """The checked grading settings (an error names the bad value and what is allowed)."""
        return settings(load_config_file(self.config_file)).with_overrides(timeout=self.timeout, sandbox=self.sandbox)

    @property
    def grading_dir(self) -> Path:
        """The grader's own state: manifests, exports, kernel logs (and, as configured, nbgrader's folders)."""
        return self.root / "grading"

    @property
    def grading_release_dir(self) -> Path:
        """Where grading regenerates the student version from solutions/ (never exercises/)."""
        return self.grading_dir / "release"

    def _course_dir(self, key: str, default: str) -> Path:
        value = load_config_file(self.config_file).CourseDirectory.get(key) or default
        return self.root / str(value)

    @property
    def submitted_dir(self) -> Path:
        return self._course_dir("submitted_directory", "submitted")

    @property
    def autograded_dir(self) -> Path:
        return self._course_dir("autograded_directory", "autograded")

    @property
    def feedback_dir(self) -> Path:
        return self._course_dir("feedback_directory", "feedback")

    def grading_api(self) -> Any:
        """An nbgrader API that releases into :attr:`grading_release_dir`, as grading needs."""
        return self.api(for_grading=True, release_directory=str(self.grading_release_dir.relative_to(self.root)))

    @property
    def db_path(self) -> Path:
        """The SQLite gradebook file (used only when :attr:`db_url` is the SQLite default)."""
        return self.grading_dir / "gradebook.db"

    @property
    def db_url(self) -> str:
        """The gradebook's SQLAlchemy URL, the same in every process built from the same root and config.

        ``$DLB_DB_URL`` if set, else ``c.CourseDirectory.db_url`` of the config file if it is not
        SQLite (e.g. ``postgresql://grader@dbhost/dlbasics``): either is used as is. Otherwise the
        course's own SQLite file :attr:`db_path` with a 60 s busy timeout, so parallel graders wait
        for the write lock instead of failing (a SQLite URL in the config file means this file).
        """
        url = _configured_db_url(self.config_file)
        if url is not None:
            return url
        return f"sqlite:///{self.db_path}?timeout=60"

    def enable_wal(self) -> None:
        """Write-ahead logging: readers never block the writer, and a crash cannot leave a half-written page.

        SQLite only: a no-op for a database server (PostgreSQL has its own concurrency control)."""
        if not _is_sqlite(self.db_url):
            return
        con = sqlite3.connect(self.db_path, timeout=60)
        try:
            con.execute("PRAGMA journal_mode=WAL")
        finally:
            con.close()

    def source_notebooks(self, assignment: str) -> list[Path]:
        d = self.root / "solutions" / assignment
        nbs = sorted(p for p in d.glob("*.ipynb") if not p.name.startswith("."))
        if not nbs:
            raise CourseError(f"assignment {assignment!r} not found: no notebooks in {d}")
        return nbs

    def assignments(self) -> list[str]:
        return sorted(p.name for p in (self.root / "solutions").iterdir() if p.is_dir() and any(p.glob("*.ipynb")))

    def config(self, *, for_grading: bool = False, **release_overrides: Any) -> Config:
        """The nbgrader configuration of this course: ``nbgrader_config.py`` as written, re-rooted at this
        course directory, with the checked :attr:`settings` and the grader's preprocessors.

        ``for_grading``: the configuration of the grading API, whose kernels run in the sandbox (when it
        is active) and log to ``grading/logs/``."""
        c = load_config_file(self.config_file)
        c.CourseDirectory.root = str(self.root)
        c.CourseDirectory.db_url = self.db_url
        for key, value in release_overrides.items():
            setattr(c.CourseDirectory, key, value)
        self.settings.apply(c)
        _pipelines(c)
        if for_grading:
            c.DrivenExecute.log_dir = str(self.grading_dir / "logs")
            if self.sandbox_status().active:  # raises for mode 'on' when bubblewrap cannot be used
                from dlbgrader.sandbox import SandboxedKernelManager

                c.Execute.kernel_manager_class = SandboxedKernelManager
        c.NbGraderAPI.log_level = "WARN"
        return c

    def sandbox_status(self) -> SandboxStatus:
        """A :class:`dlbgrader.sandbox.SandboxStatus`: whether grading kernels run sandboxed, or why not.

        bubblewrap is tried once per process. Mode "on" raises :class:`CourseError` if it cannot be used;
        "auto" falls back to plain kernels and prints a warning once per grading run.
        """
        from dlbgrader.kernel import kernel_python
        from dlbgrader.sandbox import resolve, warn_once

        s = self.settings
        bwrap = load_config_file(self.config_file).SandboxedKernelManager.get("bwrap") or "bwrap"
        python = str(kernel_python(s.kernel_python) or sys.executable)
        status = resolve(s.sandbox, str(bwrap), python)
        warn_once(status)
        return status

    def api(self, *, for_grading: bool = False, **overrides: Any) -> Any:
        from nbgrader.apps import NbGraderAPI

        _ensure_env_bin_on_path()
        self.grading_dir.mkdir(parents=True, exist_ok=True)
        return NbGraderAPI(config=self.config(for_grading=for_grading, **overrides))

    def release(self, assignment: str, *, release_dir: str = "exercises") -> Path:
        """Generate the student version of ``assignment`` into ``root/<release_dir>/`` (and the gradebook)."""
        self.source_notebooks(assignment)
        api = self.api(release_directory=release_dir)
        result = api.generate_assignment(assignment, force=True, create=True)
        if not result.get("success"):
            raise CourseError(f"nbgrader could not generate {assignment}:\n{result.get('error') or result.get('log')}")
        return self.root / release_dir / assignment
