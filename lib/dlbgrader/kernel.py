"""The Python that runs students' notebooks while grading, and the kernel manager that starts it.

Grading kernels run from a *kernel environment* of their own, holding only what the rules allow:
NumPy (the graded work), matplotlib (so that plotting cells run) and ipykernel (to be a kernel at
all). PyTorch, SciPy and the course's reference package ``dlbasics`` are not there, so graded work
cannot be handed to them: ``import torch`` fails, and the agent (:mod:`dlbgrader.agent`) turns that
failure into a message the feedback explains. The environment is a virtual environment at
``<grader's environment>/kernel`` (``.venv/kernel`` in the repository), made by ``dlb kernel-env``
(``make env`` runs it) with the same NumPy and matplotlib versions as the grader's, or wherever
``c.GradingKernelManager.python`` in ``nbgrader_config.py`` points.

Without it, kernels fall back to the grader's own Python (PyTorch installed; only the agent's
import rule stands in the way), and the grading summary says so.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jupyter_client.manager import AsyncKernelManager
from traitlets import Unicode

#: What the kernel environment holds besides the standard library (pinned to the grader's versions).
KERNEL_PACKAGES = ("numpy", "matplotlib", "ipykernel")


def default_kernel_env() -> Path:
    return Path(sys.prefix) / "kernel"


def kernel_python(configured: str = "") -> Path | None:
    """The kernel environment's Python: ``configured`` if given, else the default one if it exists."""
    if configured:
        p = Path(configured)
        return p if p.exists() else None
    p = default_kernel_env() / "bin" / "python"
    return p if p.exists() else None


@dataclass(frozen=True)
class Runtime:
    """The directories a Python needs at run time (read-only): its environment and installation."""

    python: str
    paths: tuple[str, ...]


@functools.lru_cache(maxsize=8)
def runtime(python: str) -> Runtime:
    """Ask ``python`` which directories it reads from (prefix, base installation, sys.path)."""
    code = (
        "import sys, os, json; print(json.dumps([sys.prefix, sys.base_prefix, sys.exec_prefix, "
        "os.path.dirname(os.path.realpath(sys.executable))] + sys.path))"
    )
    out = subprocess.run([python, "-I", "-c", code], capture_output=True, text=True, timeout=60, check=True)
    found: list[str] = []
    for entry in json.loads(out.stdout):
        if not entry:
            continue
        p = Path(entry).resolve()
        if p.is_dir() and str(p) not in found:
            found.append(str(p))
    return Runtime(python, tuple(found))


def create_kernel_env(dest: Path | None = None, *, quiet: bool = True) -> Path:
    """Create (or refresh) the kernel environment at ``dest`` with :data:`KERNEL_PACKAGES`, every package
    at the version the grader's own environment has (so the two agree on NumPy, IPython, ...); return
    its Python."""
    from importlib.metadata import distributions, version

    dest = Path(dest or default_kernel_env())
    py = dest / "bin" / "python"
    if not py.exists():
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(dest)], check=True)
    pins = [f"{name}=={version(name)}" for name in KERNEL_PACKAGES]
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        for d in distributions():
            name = d.metadata["Name"]
            if name and "+" not in d.version and name.lower() not in ("dlbasics", "pip", "setuptools"):
                f.write(f"{name}=={d.version}\n")
        constraints = f.name
    try:
        cmd = [
            str(py),
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "-c",
            constraints,
            *(["--quiet"] if quiet else []),
            *pins,
        ]
        subprocess.run(cmd, check=True)
    finally:
        os.unlink(constraints)
    (dest / "dlb-kernel-env.json").write_text(json.dumps({"packages": pins}, indent=1) + "\n", encoding="utf-8")
    return py


def kernel_env_state(configured: str = "") -> str:
    """A line for fingerprints and summaries: which Python runs the students' notebooks."""
    py = kernel_python(configured)
    if py is None:
        return "the grader's Python (no kernel environment: run `dlb kernel-env`)"
    stamp = py.parent.parent / "dlb-kernel-env.json"
    pins = json.loads(stamp.read_text(encoding="utf-8")).get("packages", []) if stamp.is_file() else []
    return f"kernel environment {py.parent.parent} ({', '.join(pins) or 'unknown packages'})"


class GradingKernelManager(AsyncKernelManager):
    """Starts a grading kernel with the kernel environment's Python, over Unix sockets.

    The sandbox (:class:`dlbgrader.sandbox.SandboxedKernelManager`) builds on this; used alone it runs
    the kernel unsandboxed (``--sandbox off``, and ``dlb check``)."""

    python = Unicode(
        "",
        help="The Python of the grading kernels (default: the kernel environment "
        "<grader's environment>/kernel, made by `dlb kernel-env`; if it does not "
        "exist, the grader's own Python).",
    ).tag(config=True)

    _dlb_ipc_dir: str | None = None
    #: Where the kernel's own stdout and stderr go (set by the executor per student; None: discarded).
    log_path: str | None = None
    _dlb_log: Any = None

    def kernel_python(self) -> str:
        return str(kernel_python(str(self.python)) or sys.executable)

    def ipc_dir(self) -> str:
        """A private folder for the kernel's sockets (and the grader's, see :mod:`dlbgrader.execute`)."""
        if self._dlb_ipc_dir is None:
            self._dlb_ipc_dir = tempfile.mkdtemp(prefix="dlb-ipc-")
        return self._dlb_ipc_dir

    async def _async_pre_start_kernel(self, **kw: Any) -> tuple[list[str], dict[str, Any]]:
        d = self.ipc_dir()
        self.transport = "ipc"
        self.ip = os.path.join(d, "kernel")
        self.connection_file = os.path.join(d, "kernel.json")
        # The kernel's own output (ipykernel's banner, a crash's message, anything the student's code
        # writes to the process's file descriptors) goes to a log file, never to the grader's terminal.
        if self.log_path:
            self._dlb_log = open(self.log_path, "ab")
            kw["stdout"] = kw["stderr"] = self._dlb_log
        else:
            kw["stdout"] = kw["stderr"] = subprocess.DEVNULL
        cmd, kw = await super()._async_pre_start_kernel(**kw)
        return self.with_python(list(cmd)), kw

    def with_python(self, cmd: list[str]) -> list[str]:
        """The kernel command with the grading kernel's Python in place of the grader's."""
        if cmd and (os.path.realpath(cmd[0]) == os.path.realpath(sys.executable) or cmd[0] in ("python", "python3")):
            cmd = [self.kernel_python(), *cmd[1:]]
        return cmd

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        try:
            await super()._async_cleanup_resources(restart=restart)
        finally:
            if self._dlb_log is not None:
                self._dlb_log.close()
                self._dlb_log = None
            if not restart and self._dlb_ipc_dir is not None:
                import shutil

                shutil.rmtree(self._dlb_ipc_dir, ignore_errors=True)
                self._dlb_ipc_dir = None
