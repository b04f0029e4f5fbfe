"""Run student notebooks in a bubblewrap sandbox while grading.

:class:`SandboxedKernelManager` starts the kernel that runs a student's answer cells
(:mod:`dlbgrader.execute`) as::

    bwrap --dev /dev --proc /proc --tmpfs /tmp --tmpfs /dev/shm          # sizes capped
          --symlink usr/bin /bin ... --ro-bind /usr /usr --ro-bind-try /etc/ld.so.cache ...
          --ro-bind <each directory the kernel's Python reads> ...       # nothing else of the host
          --bind SCRATCH/ipc SCRATCH/ipc --tmpfs SCRATCH/work --tmpfs SCRATCH/home   # sizes capped
          --ro-bind <each data file shipped next to the notebook> SCRATCH/work/<name>
          --unshare-net --unshare-pid --unshare-ipc --unshare-uts --die-with-parent --clearenv ...
          [setpriv --reuid UID --regid UID --clear-groups --inh-caps=-all]   # when grading as root
          prlimit --as=... --cpu=... --fsize=... --core=0 [--nproc=...] --
          KERNEL-PYTHON -m ipykernel_launcher -f SCRATCH/ipc/kernel.json

* **An allow-list.** The sandbox starts from an empty root and binds in, read-only, only ``/usr``
  (with the usual ``/bin``, ``/lib`` links), the dynamic loader's files of ``/etc``, and the
  directories of the kernel's Python: the kernel environment (:mod:`dlbgrader.kernel`: NumPy,
  matplotlib, ipykernel) and the Python installation it is built on. Nothing else of the host is
  visible: no course folder, no submissions wherever they lie, no home folder, no other checkout.
* **Writable**: a private ``/tmp`` and ``/dev/shm``, and the working folder ``SCRATCH/work`` and
  home ``SCRATCH/home``, all in-memory file systems of bounded size (``tmp_mb`` each), so a kernel
  cannot fill the host's disk. The data files shipped next to the notebook (never a notebook) are
  bound read-only into the working folder. ``SCRATCH/ipc`` holds the kernel's sockets and the
  grader's; when grading as root it is made read-only for the kernel as soon as the kernel has
  started (:meth:`SandboxedKernelManager.seal`).
* No network (an empty network namespace: not even the host's loopback), its own PID namespace
  (every process it starts dies with it), and an environment with nothing but PATH, HOME, TMPDIR,
  locale and thread settings (no database URL, no credentials).
* Limits per kernel: address space (memory), CPU seconds, size of a written file; when the grader
  runs as root, the kernel runs under its own unprivileged uid, so the number of processes is
  bounded too.
* The kernel's stdout and stderr go to a log file (never to the grader's terminal).
* The client talks to the kernel over Unix sockets in ``SCRATCH/ipc`` (IPC transport), and
  interrupts it with an ``interrupt_request`` message (a SIGINT to the process group would stop
  bubblewrap itself).
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from traitlets import Integer, Unicode

from dlbgrader.errors import CourseError
from dlbgrader.kernel import GradingKernelManager, runtime

MODES = ("auto", "on", "off")

#: Defaults (documented in nbgrader_config.py).
DEFAULT_MEMORY_MB = 2048
DEFAULT_FILE_MB = 256
DEFAULT_TMP_MB = 256
DEFAULT_MAX_PROCESSES = 256
#: CPU seconds for one kernel when not configured: this many times the per-cell timeout.
CPU_PER_TIMEOUT = 10
#: Kernels started by a root grader run as uid/gid FIRST_UID + (grading process id % UID_RANGE):
#: one uid per concurrent grading process, none of them a real account.
FIRST_UID = 200_000
UID_RANGE = 100_000

_ENV_PASSED = ("LANG", "LC_ALL", "LC_CTYPE", "TZ", "PYTHONHASHSEED", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
#: One BLAS thread per kernel: the workers already use every core, and each thread reserves memory.
_ONE_THREAD = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
#: Of /etc, what the dynamic loader and fontconfig read (bound when present).
_ETC = ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/fonts", "/etc/localtime", "/etc/alternatives")


class SandboxError(CourseError):
    """The sandbox was required but cannot be used; the message says why and what to do."""


@dataclass(frozen=True)
class SandboxStatus:
    """Whether grading kernels run sandboxed, and why not when they do not."""

    mode: str  # as configured: auto, on or off
    active: bool
    detail: str  # how it runs, or why it does not

    def describe(self) -> str:
        if self.active:
            return f"sandboxed ({self.detail})"
        return f"NOT sandboxed: {self.detail}"


def _under(path: Path, parent: Path) -> bool:
    return path == parent or parent in path.parents


def sandbox_uid() -> int | None:
    """The uid the kernel runs as: its own when the grader is root, else None (the grader's uid)."""
    if os.geteuid() != 0:
        return None
    return FIRST_UID + os.getpid() % UID_RANGE


@dataclass(frozen=True)
class Limits:
    memory_mb: int = DEFAULT_MEMORY_MB
    cpu_seconds: int = 600
    file_mb: int = DEFAULT_FILE_MB
    tmp_mb: int = DEFAULT_TMP_MB
    max_processes: int = DEFAULT_MAX_PROCESSES


def _system_binds() -> list[str]:
    args: list[str] = []
    for top in ("/bin", "/lib", "/lib32", "/lib64", "/libx32", "/sbin"):
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            args += ["--ro-bind", top, top]
    args += ["--ro-bind", "/usr", "/usr"]
    for f in _ETC:
        args += ["--ro-bind-try", f, f]
    return args


def _dirs_for(path: Path, made: set[Path]) -> list[str]:
    """``--dir`` arguments for the parents of ``path`` not yet made (0755, so the kernel's uid can pass)."""
    args: list[str] = []
    for d in reversed(path.parents):
        if d == Path("/") or d in made or any(_under(d, Path(s)) for s in ("/usr", "/proc", "/dev")):
            continue
        args += ["--perms", "0755", "--dir", str(d)]
        made.add(d)
    return args


def build_command(
    bwrap: str,
    scratch: Path,
    inner: list[str],
    *,
    readable: list[Path],
    limits: Limits,
    uid: int | None,
    data: Sequence[Path] = (),
) -> list[str]:
    """The command line that runs ``inner`` in the sandbox: only ``readable`` (besides /usr and the
    loader's files) is visible, read-only; ``data`` files are bound read-only into the working folder."""
    mb = 1024 * 1024
    size = str(limits.tmp_mb * mb)
    cmd = [
        bwrap,
        "--dev",
        "/dev",
        "--proc",
        "/proc",
        "--size",
        size,
        "--perms",
        "1777",
        "--tmpfs",
        "/tmp",
        "--size",
        size,
        "--perms",
        "1777",
        "--tmpfs",
        "/dev/shm",
    ]
    cmd += _system_binds()
    made: set[Path] = {Path("/tmp"), Path("/dev"), Path("/dev/shm")}
    bound: list[Path] = []
    for p in sorted({Path(r).resolve() for r in readable}, key=lambda p: len(p.parts)):
        if any(_under(p, b) for b in bound) or _under(p, Path("/usr")):
            continue
        cmd += _dirs_for(p, made)
        cmd += ["--ro-bind", str(p), str(p)]
        bound.append(p)
        made.add(p)
    cmd += _dirs_for(scratch / "ipc", made)
    cmd += [
        "--perms",
        "0711",
        "--dir",
        str(scratch),
        "--bind",
        str(scratch / "ipc"),
        str(scratch / "ipc"),
        "--size",
        size,
        "--perms",
        "1777",
        "--tmpfs",
        str(scratch / "work"),
        "--size",
        size,
        "--perms",
        "1777",
        "--tmpfs",
        str(scratch / "home"),
    ]
    for f in data:
        cmd += ["--ro-bind", str(f), str(scratch / "work" / f.name)]
    home = scratch / "home"
    cmd += [
        "--unshare-net",
        "--unshare-pid",
        "--unshare-ipc",
        "--unshare-uts",
        "--die-with-parent",
        "--clearenv",
        "--setenv",
        "PATH",
        f"{Path(inner[0]).parent}:/usr/local/bin:/usr/bin:/bin",
        "--setenv",
        "HOME",
        str(home),
        "--setenv",
        "TMPDIR",
        "/tmp",
        "--setenv",
        "IPYTHONDIR",
        str(home / ".ipython"),
        "--setenv",
        "MPLCONFIGDIR",
        str(home / ".matplotlib"),
        "--setenv",
        "PYTHONDONTWRITEBYTECODE",
        "1",
        "--setenv",
        "MPLBACKEND",
        "agg",
    ]
    for name in _ENV_PASSED:
        if name in os.environ:
            cmd += ["--setenv", name, os.environ[name]]
    for name in _ONE_THREAD:
        cmd += ["--setenv", name, "1"]
    cmd += ["--chdir", str(scratch / "work")]
    if uid is not None:  # grader is root: no capabilities but the two setpriv needs to become `uid`
        cmd += [
            "--cap-drop",
            "ALL",
            "--cap-add",
            "CAP_SETUID",
            "--cap-add",
            "CAP_SETGID",
            "setpriv",
            f"--reuid={uid}",
            f"--regid={uid}",
            "--clear-groups",
            "--inh-caps=-all",
        ]
    cmd += [
        "prlimit",
        f"--as={limits.memory_mb * mb}",
        f"--cpu={limits.cpu_seconds}:{limits.cpu_seconds + 5}",
        f"--fsize={limits.file_mb * mb}",
        "--core=0",
    ]
    if uid is not None:  # RLIMIT_NPROC counts per uid and never applies to root: only meaningful here
        cmd.append(f"--nproc={limits.max_processes}")
    return [*cmd, "--", *inner]


#: Scratch directories of this process not yet removed: removed at exit even when a kernel died
#: without the client cleaning up (multiprocessing's Finalize also runs in pool workers, which skip atexit).
_LIVE_SCRATCH: set[Path] = set()


def _remove_live_scratch() -> None:
    for d in list(_LIVE_SCRATCH):
        shutil.rmtree(d, ignore_errors=True)
        _LIVE_SCRATCH.discard(d)


@functools.cache
def _register_scratch_cleanup() -> None:
    import multiprocessing.util

    multiprocessing.util.Finalize(None, _remove_live_scratch, exitpriority=10)


def make_scratch(uid: int | None) -> Path:
    """A fresh scratch directory with ``ipc/`` for the sockets (the rest lives in the sandbox's memory)."""
    _register_scratch_cleanup()
    scratch = Path(tempfile.mkdtemp(prefix="dlb-kernel-"))
    _LIVE_SCRATCH.add(scratch)
    (scratch / "ipc").mkdir()
    for d in (scratch, scratch / "ipc"):
        os.chmod(d, 0o711)
    if uid is not None:
        os.chown(scratch / "ipc", uid, uid)
        os.chmod(scratch / "ipc", 0o700)
    return scratch


def _which(bwrap: str) -> str | None:
    return bwrap if os.path.isabs(bwrap) and os.access(bwrap, os.X_OK) else shutil.which(bwrap)


@functools.cache
def probe(bwrap: str, python: str = "") -> str:
    """'' if ``bwrap`` runs ``python`` (default: this one) in the sandbox here, else why not (once per process)."""
    path = _which(bwrap)
    if path is None:
        return (
            f"bubblewrap not found ({bwrap!r} is not an executable on PATH); "
            "install it (Debian/Ubuntu: apt-get install bubblewrap)"
        )
    for tool in ("prlimit", "setpriv"):
        if shutil.which(tool) is None:
            return f"{tool} not found; install util-linux"
    python = python or sys.executable
    uid = sandbox_uid()
    scratch = make_scratch(uid)
    try:
        cmd = build_command(
            path,
            scratch,
            [python, "-c", "import numpy, ipykernel"],
            readable=[Path(p) for p in runtime(python).paths],
            limits=Limits(),
            uid=uid,
        )
        try:
            res = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"{path} could not run: {exc}"
        if res.returncode != 0:
            last = (res.stderr.strip().splitlines() or ["(no message)"])[-1]
            return (
                f"{path} is installed but cannot start a sandbox here: {last} "
                "(are user namespaces disabled, e.g. kernel.unprivileged_userns_clone=0 or inside a "
                "container without them?)"
            )
        return ""
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        _LIVE_SCRATCH.discard(scratch)


def resolve(mode: str, bwrap: str = "bwrap", python: str = "") -> SandboxStatus:
    """Decide whether grading kernels are sandboxed. ``on`` raises :class:`SandboxError` if it cannot be."""
    if mode not in MODES:
        raise SandboxError(f"sandbox mode must be one of {', '.join(MODES)}, not {mode!r}")
    if mode == "off":
        return SandboxStatus(mode, False, "sandbox turned off (sandbox mode 'off')")
    why = probe(bwrap, python)
    if why:
        if mode == "on":
            raise SandboxError(
                f"the sandbox is required (sandbox mode 'on') but unavailable: {why}. "
                "Fix that, or grade with sandbox mode 'auto'/'off' on an account that "
                "holds nothing but the course."
            )
        return SandboxStatus(mode, False, why)
    uid = sandbox_uid()
    who = f"as uid {FIRST_UID}+, process limit on" if uid is not None else "as the grader's uid, no process limit"
    return SandboxStatus(mode, True, f"bubblewrap, allow-list file system, {who}")


_WARNED_ENV = "DLBGRADER_SANDBOX_WARNED"


def warn_once(status: SandboxStatus) -> None:
    """Print the fallback warning once per grading run (spawned worker processes inherit the mark)."""
    if status.active or status.mode == "off" or os.environ.get(_WARNED_ENV):
        return
    os.environ[_WARNED_ENV] = "1"
    print(
        f"WARNING: student code will run NOT sandboxed: {status.detail}. It can read solutions/ and "
        "the hidden tests and write the gradebook. Grade on an account that holds nothing but the "
        "course, or make bubblewrap work (sandbox mode 'on' makes this an error).",
        file=sys.stderr,
        flush=True,
    )


class SandboxedKernelManager(GradingKernelManager):
    """A grading kernel manager whose kernel runs in a bubblewrap sandbox (see the module docstring)."""

    bwrap = Unicode("bwrap", help="The bubblewrap executable (a name on PATH or a path).").tag(config=True)
    mode = Unicode("auto", help="auto, on or off; read by dlbgrader.course.Course, not by the manager.").tag(
        config=True
    )
    memory_mb = Integer(DEFAULT_MEMORY_MB, help="Address-space limit of the kernel (MiB).").tag(config=True)
    cpu_seconds = Integer(0, help="CPU seconds for one kernel (0: 10 x the cell timeout).").tag(config=True)
    file_mb = Integer(DEFAULT_FILE_MB, help="Largest file the kernel may write (MiB).").tag(config=True)
    tmp_mb = Integer(
        DEFAULT_TMP_MB, help="Size of each of the kernel's in-memory /tmp, /dev/shm, working folder and home (MiB)."
    ).tag(config=True)
    max_processes = Integer(
        DEFAULT_MAX_PROCESSES, help="Processes and threads of the kernel's uid (root graders only)."
    ).tag(config=True)

    _dlb_scratch: Path | None = None

    def _limits(self) -> Limits:
        return Limits(
            memory_mb=int(self.memory_mb),
            cpu_seconds=int(self.cpu_seconds) or 600,
            file_mb=int(self.file_mb),
            tmp_mb=int(self.tmp_mb),
            max_processes=int(self.max_processes),
        )

    def ipc_dir(self) -> str:
        assert self._dlb_scratch is not None, "the sandbox's scratch folder is made when the kernel starts"
        return str(self._dlb_scratch / "ipc")

    async def _async_pre_start_kernel(self, **kw: Any) -> tuple[list[str], dict[str, Any]]:
        python = self.kernel_python()
        why = probe(str(self.bwrap), python)
        if why:
            raise SandboxError(f"cannot start a sandboxed kernel: {why}")
        self._dlb_remove_scratch()
        uid = sandbox_uid()
        scratch = make_scratch(uid)
        self._dlb_scratch = scratch
        cwd = kw.get("cwd")
        data = []
        if cwd and Path(cwd).is_dir():  # data shipped next to the notebook; never a notebook
            data = sorted(
                p
                for p in Path(cwd).iterdir()
                if not p.name.startswith(".") and p.suffix != ".ipynb" and not p.is_symlink()
            )
        kw["cwd"] = str(scratch)
        assert self.kernel_spec is not None
        self.kernel_spec.interrupt_mode = "message"  # SIGINT to the process group would stop bwrap
        cmd, kw = await super()._async_pre_start_kernel(**kw)
        if uid is not None:
            os.chown(self.connection_file, uid, uid)
        wrapped = build_command(
            shutil.which(str(self.bwrap)) or str(self.bwrap),
            scratch,
            list(cmd),
            readable=[Path(p) for p in runtime(python).paths],
            limits=self._limits(),
            uid=uid,
            data=data,
        )
        return wrapped, kw

    def seal(self) -> None:
        """Once the kernel has made its sockets: the sockets folder becomes read-only for it (root graders)."""
        if self._dlb_scratch is None or os.geteuid() != 0:
            return
        ipc = self._dlb_scratch / "ipc"
        os.chown(ipc, 0, 0)
        os.chmod(ipc, 0o755)

    def _dlb_remove_scratch(self) -> None:
        if self._dlb_scratch is not None:
            shutil.rmtree(self._dlb_scratch, ignore_errors=True)
            _LIVE_SCRATCH.discard(self._dlb_scratch)
            self._dlb_scratch = None

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        try:
            await super()._async_cleanup_resources(restart=restart)
        finally:
            if not restart:
                self._dlb_remove_scratch()
