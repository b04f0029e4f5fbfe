"""One source of configuration (dlbgrader.settings): nbgrader_config.py as written, checked values,
one default each, and the README generated from the same lists."""

from __future__ import annotations

from pathlib import Path

import pytest

from dlbgrader.course import Course
from dlbgrader.errors import CourseError
from dlbgrader.manifest import triggers_text
from dlbgrader.settings import SPECS, Settings, documentation

ROOT = Path(__file__).resolve().parent.parent


def course_with(tmp_path: Path, lines: str) -> Course:
    cfg = tmp_path / "nbgrader_config.py"
    cfg.write_text("c = get_config()\n" + lines + "\n", encoding="utf-8")
    (tmp_path / "solutions").mkdir(exist_ok=True)
    return Course(tmp_path)


def test_the_file_is_used_as_written(tmp_path: Path) -> None:
    c = course_with(
        tmp_path,
        "c.Execute.timeout = 17\nc.DrivenExecute.notebook_timeout = 300\n"
        "c.LimitOutput.max_lines = 9\nc.SandboxedKernelManager.cpu_seconds = 0",
    )
    cfg = c.config()
    assert cfg.Execute.timeout == 17 and cfg.DrivenExecute.notebook_timeout == 300 and cfg.LimitOutput.max_lines == 9
    assert cfg.SandboxedKernelManager.cpu_seconds == 170, "0 means 10 x the cell time limit, decided in one place"
    assert Course(tmp_path, timeout=5).config().Execute.timeout == 5, "the command line overrides it"


@pytest.mark.parametrize(
    "line, what",
    [
        ("c.Execute.timeout = 'long'", "c.Execute.timeout"),
        ("c.Execute.timeout = 0", "c.Execute.timeout"),
        ("c.SandboxedKernelManager.mode = 'maybe'", "c.SandboxedKernelManager.mode"),
        ("c.DrivenExecute.output_chars = -1", "c.DrivenExecute.output_chars"),
        ("c.Grading.max_cells = 1.5", "c.Grading.max_cells"),
    ],
)
def test_a_bad_value_is_an_error_that_says_what_is_allowed(tmp_path: Path, line: str, what: str) -> None:
    with pytest.raises(CourseError, match=rf"{what} = .* in nbgrader_config.py is not allowed: it must be"):
        course_with(tmp_path, line).config()


def test_a_bad_command_line_value_is_the_same_error(tmp_path: Path) -> None:
    c = course_with(tmp_path, "")
    with pytest.raises(CourseError, match="on the command line is not allowed: it must be a whole number"):
        Course(c.root, timeout=-3).settings  # noqa: B018
    with pytest.raises(CourseError, match="'auto', 'on' or 'off'"):
        Course(c.root, sandbox="maybe").settings  # noqa: B018


def test_every_setting_has_one_default_and_the_repository_config_is_valid() -> None:
    defaults = Settings()
    for spec in SPECS:
        assert getattr(defaults, spec.name) == spec.default, spec.name
    Course(ROOT).settings  # noqa: B018 - nbgrader_config.py itself passes the checks


def test_the_readme_lists_the_settings_and_what_regrades_everyone() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert documentation() in readme, "README.md: paste dlbgrader.settings.documentation() under 'Settings'"
    assert triggers_text() in readme, (
        "README.md: the list of what regrades everyone is dlbgrader.manifest.triggers_text()"
    )
