"""Every grading setting in one place: read from ``nbgrader_config.py``, checked, with one default each.

``nbgrader_config.py`` as it is written is what ``dlb grade`` uses. :func:`settings` reads the
values below from it; the command line's overrides (``--timeout``, ``--sandbox``) go through the same
checks; a value that is not allowed is an error that says what is allowed, wherever it came from.
:meth:`Settings.apply` writes the checked values back into the nbgrader configuration the grader
runs with, so nbgrader, the executor and the sandbox all see the same numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from typing import Any, Literal

from dlbgrader.errors import CourseError

SandboxMode = Literal["auto", "on", "off"]


@dataclass(frozen=True)
class Spec:
    """One setting: where it lives in nbgrader_config.py, its default, what it must be, what it means."""

    name: str
    section: str
    key: str
    default: Any
    check: Callable[[Any], bool]
    allowed: str
    help: str

    @property
    def where(self) -> str:
        return f"c.{self.section}.{self.key}"


def _int_between(lo: int, hi: int) -> Callable[[Any], bool]:
    return lambda v: isinstance(v, int) and not isinstance(v, bool) and lo <= v <= hi


SPECS: tuple[Spec, ...] = (
    Spec(
        "timeout",
        "Execute",
        "timeout",
        60,
        _int_between(1, 3600),
        "a whole number of seconds from 1 to 3600",
        "Seconds a cell may run (a test cell: seconds its calls may keep the student's kernel busy) before it "
        "is interrupted; the rest of the notebook still runs.",
    ),
    Spec(
        "notebook_timeout",
        "DrivenExecute",
        "notebook_timeout",
        600,
        _int_between(1, 24 * 3600),
        "a whole number of seconds from 1 to 86400",
        "Wall-clock seconds for a whole notebook; cells left when it is spent are not run (their tests fail).",
    ),
    Spec(
        "max_restarts",
        "DrivenExecute",
        "max_restarts",
        5,
        _int_between(0, 100),
        "a whole number from 0 to 100",
        "Kernel restarts per notebook (after a crash or a hang) before the rest of the notebook is given up.",
    ),
    Spec(
        "output_chars",
        "DrivenExecute",
        "output_chars",
        100_000,
        _int_between(1_000, 10_000_000),
        "a whole number from 1000 to 10000000",
        "Characters of output kept per cell, whatever its type.",
    ),
    Spec(
        "notebook_output_chars",
        "DrivenExecute",
        "notebook_output_chars",
        1_000_000,
        _int_between(1_000, 100_000_000),
        "a whole number from 1000 to 100000000",
        "Characters of output kept per notebook.",
    ),
    Spec(
        "max_notebook_mb",
        "Grading",
        "max_notebook_mb",
        20,
        _int_between(1, 1024),
        "a whole number from 1 to 1024",
        "Largest submitted notebook file (MiB); a larger one is not graded (its row says why).",
    ),
    Spec(
        "max_cells",
        "Grading",
        "max_cells",
        2_000,
        _int_between(10, 100_000),
        "a whole number from 10 to 100000",
        "Most cells a submitted notebook may have; one with more is not graded (its row says why).",
    ),
    Spec(
        "sandbox",
        "SandboxedKernelManager",
        "mode",
        "auto",
        lambda v: v in ("auto", "on", "off"),
        "'auto', 'on' or 'off'",
        "Run student code in the bubblewrap sandbox: auto (if it works here, else unsandboxed with a warning), "
        "on (required), off.",
    ),
    Spec(
        "memory_mb",
        "SandboxedKernelManager",
        "memory_mb",
        2048,
        _int_between(256, 1 << 20),
        "a whole number of MiB, at least 256",
        "Address space of a sandboxed kernel (MiB).",
    ),
    Spec(
        "cpu_seconds",
        "SandboxedKernelManager",
        "cpu_seconds",
        0,
        _int_between(0, 1 << 30),
        "a whole number of seconds (0: 10 x the cell time limit)",
        "CPU seconds of one sandboxed kernel (a kernel killed by it is restarted; the test that was running fails).",
    ),
    Spec(
        "file_mb",
        "SandboxedKernelManager",
        "file_mb",
        256,
        _int_between(1, 1 << 20),
        "a whole number of MiB",
        "Largest file a sandboxed kernel may write (MiB).",
    ),
    Spec(
        "tmp_mb",
        "SandboxedKernelManager",
        "tmp_mb",
        256,
        _int_between(1, 1 << 20),
        "a whole number of MiB",
        "Size of each of a sandboxed kernel's in-memory /tmp, /dev/shm, working folder and home (MiB).",
    ),
    Spec(
        "max_processes",
        "SandboxedKernelManager",
        "max_processes",
        256,
        _int_between(1, 1 << 20),
        "a whole number",
        "Processes and threads of a sandboxed kernel's uid (root graders only).",
    ),
    Spec(
        "kernel_python",
        "GradingKernelManager",
        "python",
        "",
        lambda v: isinstance(v, str),
        "a path to a Python ('' for the kernel environment made by `dlb kernel-env`)",
        "The Python that runs students' notebooks.",
    ),
)
SPEC = {s.name: s for s in SPECS}
#: CPU seconds of a sandboxed kernel when ``cpu_seconds`` is 0: this many times the cell time limit.
CPU_PER_TIMEOUT = 10


@dataclass(frozen=True)
class Settings:
    timeout: int = 60
    notebook_timeout: int = 600
    max_restarts: int = 5
    output_chars: int = 100_000
    notebook_output_chars: int = 1_000_000
    max_notebook_mb: int = 20
    max_cells: int = 2_000
    sandbox: SandboxMode = "auto"
    memory_mb: int = 2048
    cpu_seconds: int = 0
    file_mb: int = 256
    tmp_mb: int = 256
    max_processes: int = 256
    kernel_python: str = ""

    @property
    def kernel_cpu_seconds(self) -> int:
        """CPU seconds of one sandboxed kernel (the one place where the 0 default is decided)."""
        return self.cpu_seconds or CPU_PER_TIMEOUT * self.timeout

    def with_overrides(self, **overrides: Any) -> Settings:
        """These settings with command-line values (None means: not given), checked like the file's."""
        given = {k: v for k, v in overrides.items() if v is not None}
        for name, value in given.items():
            _check(SPEC[name], value, "on the command line")
        return replace(self, **given)

    def apply(self, c: Any) -> None:
        """Write the settings into an nbgrader (traitlets) configuration."""
        for spec in SPECS:
            value = getattr(self, spec.name)
            if spec.name == "cpu_seconds":
                value = self.kernel_cpu_seconds
            setattr(getattr(c, spec.section), spec.key, value)
        c.Execute.interrupt_on_timeout = True


def _check(spec: Spec, value: Any, where: str) -> None:
    if not spec.check(value):
        raise CourseError(f"{spec.where} = {value!r} {where} is not allowed: it must be {spec.allowed}")


def settings(c: Any, where: str = "in nbgrader_config.py") -> Settings:
    """The checked settings of an nbgrader configuration (defaults for what it does not set)."""
    values: dict[str, Any] = {}
    for spec in SPECS:
        section = getattr(c, spec.section)
        if spec.key in section:
            value = section[spec.key]
            _check(spec, value, where)
            values[spec.name] = value
    names = {f.name for f in fields(Settings)}
    assert names == set(SPEC), "Settings and SPECS must list the same settings"
    return Settings(**values)


def documentation() -> str:
    """The settings as Markdown lines, for the README and ``dlb grade --help``."""
    return "\n".join(f"- `{s.where}` (default {s.default!r}): {s.help}" for s in SPECS)
