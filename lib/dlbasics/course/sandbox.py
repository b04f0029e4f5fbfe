"""Run student notebooks in a bubblewrap sandbox while grading.

:class:`SandboxedKernelManager` is a jupyter_client kernel manager that nbgrader's Execute
preprocessor (through :class:`dlbasics.course.execute.GuardedExecute`) uses to start the kernel
that runs a student's notebook. The kernel is started as::

    bwrap --ro-bind / / --dev /dev --proc /proc --tmpfs /tmp --tmpfs /dev/shm
          --tmpfs <each hidden directory> --ro-bind <what Python needs inside them>
          --bind SCRATCH SCRATCH --unshare-net --unshare-pid --unshare-ipc --unshare-uts
          --die-with-parent --clearenv --setenv HOME ... --chdir SCRATCH/work
          [--cap-drop ALL --cap-add CAP_SETUID --cap-add CAP_SETGID
           setpriv --reuid UID --regid UID --clear-groups --inh-caps=-all]     # when grading as root
          prlimit --as=... --cpu=... --fsize=... --core=0 [--nproc=...] --
          python -m ipykernel_launcher -f SCRATCH/ipc/kernel.json

* The whole filesystem is read-only; the course root (its ``solutions/``, ``grading/`` with the
  gradebook, every submission, autograded copy, feedback and release), the repository the
  ``dlbasics`` package comes from, the grader's home directory and ``/root`` are replaced by empty
  directories, with only the Python installation and the ``dlbasics`` package bound back,
  read-only. The assignments' recorded PyTorch reference values (``grading/references/``, see
  :mod:`dlbasics.course.references`) are bound read-only at ``/tmp/dlb-references``.
* The kernel can write only to its scratch directory (a fresh one per kernel, deleted afterwards)
  and to private in-memory ``/tmp`` and ``/dev/shm`` of bounded size. Its working directory is
  ``SCRATCH/work``, holding a copy of the data files shipped next to the notebook (never a
  notebook: the one being graded contains the hidden tests).
* No network (an empty network namespace: not even the host's loopback), its own PID namespace
  (every process it starts dies with it), and an environment with nothing but PATH, HOME,
  TMPDIR, locale and thread settings (no database URL, no credentials).
* Limits per kernel: address space (memory), CPU seconds, size of a written file; when the grader
  runs as root, the kernel runs under its own unprivileged uid, so the number of processes is
  bounded too and files readable only by root stay unreadable.
* The client talks to the kernel over Unix sockets in ``SCRATCH/ipc`` (IPC transport; TCP
  loopback is unreachable from an empty network namespace), and interrupts it with an
  ``interrupt_request`` message (a SIGINT to the process group would stop bubblewrap itself).
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jupyter_client.manager import AsyncKernelManager
from traitlets import Integer, List, Unicode

from dlbasics.course.course import CourseError

MODES = ("auto", "on", "off")

#: Defaults (documented in nbgrader_config.py). The reference solutions of the course, PyTorch
#: parity tests included, peak at about 1.3 GiB of address space in the kernel (measured).
DEFAULT_MEMORY_MB = 4096
DEFAULT_FILE_MB = 512
DEFAULT_TMP_MB = 256
DEFAULT_MAX_PROCESSES = 256
#: CPU seconds for the whole kernel when not configured: this many times the per-cell timeout.
CPU_PER_TIMEOUT = 10
#: Where the kernel finds the recorded PyTorch reference values (inside its private /tmp, read-only).
KERNEL_REFERENCES = Path("/tmp/dlb-references")
#: Kernels started by a root grader run as uid/gid FIRST_UID + (grading process id % UID_RANGE):
#: one uid per concurrent grading process, none of them a real account.
FIRST_UID = 200_000
UID_RANGE = 100_000

_ENV_PASSED = ("LANG", "LC_ALL", "LC_CTYPE", "TZ", "PYTHONHASHSEED", "NBGRADER_EXECUTION", "MPLBACKEND",
               "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


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


def project_root() -> Path | None:
    """The repository the ``dlbasics`` package is imported from, if it is one (editable install)."""
    import dlbasics

    pkg = Path(dlbasics.__file__).resolve().parent
    for d in pkg.parents:
        if (d / "nbgrader_config.py").is_file() or (d / "solutions").is_dir() or (d / ".git").exists():
            return d
    return None


def python_paths() -> list[Path]:
    """Directories the kernel's Python must be able to read: the installation, sys.path, dlbasics."""
    import dlbasics

    found: list[Path] = []
    candidates = [sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(os.path.realpath(sys.executable)),
                  *sys.path, *os.environ.get("PYTHONPATH", "").split(os.pathsep),
                  str(Path(dlbasics.__file__).resolve().parent.parent)]
    for entry in candidates:
        if not entry:
            continue
        p = Path(entry).resolve()
        if p.is_dir() and p not in found:
            found.append(p)
    return found


def mount_plan(hidden: list[Path], secret: list[Path], exposed: list[Path],
               emptied: tuple[Path, ...] = ()) -> list[str]:
    """bwrap arguments that empty each ``hidden`` directory, then bind back (read-only) each
    ``exposed`` directory inside one of them (or inside ``emptied``, directories the caller already
    replaced, such as ``/tmp``) that holds none of the ``secret`` directories."""
    args: list[str] = []
    hidden = sorted({h.resolve() for h in hidden if h.is_dir() and h.resolve() != Path("/")},
                    key=lambda p: len(p.parts))
    kept: list[Path] = [Path(e) for e in emptied]
    for h in hidden:
        if not any(_under(h, k) for k in kept):
            kept.append(h)
            args += ["--tmpfs", str(h)]
    made: set[Path] = set(kept)
    bound: list[Path] = []
    for p in sorted(set(exposed), key=lambda p: len(p.parts)):
        home = next((h for h in kept if _under(p, h) and p != h), None)
        if home is None or any(_under(s, p) for s in secret):
            continue  # not hidden, or binding it back would uncover a secret (e.g. the repo root)
        if any(_under(p, b) for b in bound):
            continue  # already bound back through a parent
        for d in reversed(p.parents):  # bwrap would create missing parents as 0700: make them 0755
            if _under(d, home) and d != home and d not in made:
                args += ["--perms", "0755", "--dir", str(d)]
                made.add(d)
        args += ["--ro-bind", str(p), str(p)]
        made.add(p)
        bound.append(p)
    return args


@dataclass(frozen=True)
class Limits:
    memory_mb: int = DEFAULT_MEMORY_MB
    cpu_seconds: int = 600
    file_mb: int = DEFAULT_FILE_MB
    tmp_mb: int = DEFAULT_TMP_MB
    max_processes: int = DEFAULT_MAX_PROCESSES


def build_command(bwrap: str, scratch: Path, inner: list[str], *, hidden: list[Path], secret: list[Path],
                  limits: Limits, uid: int | None, references: Path | None = None) -> list[str]:
    """The full command line that runs ``inner`` in the sandbox with ``scratch`` as its only writable directory.

    ``references``: a folder of recorded reference values, bound read-only at :data:`KERNEL_REFERENCES`."""
    home = scratch / "home"
    mb = 1024 * 1024
    cmd = [bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
           "--size", str(limits.tmp_mb * mb), "--perms", "1777", "--tmpfs", "/tmp",
           "--size", str(limits.tmp_mb * mb), "--perms", "1777", "--tmpfs", "/dev/shm"]
    # The host's /tmp is replaced: bind back what Python needs from it (a venv or checkout under /tmp).
    cmd += mount_plan(hidden, secret, python_paths(), emptied=(Path("/tmp"), Path("/dev/shm")))
    if references is not None and references.is_dir():
        cmd += ["--ro-bind", str(references), str(KERNEL_REFERENCES)]
    cmd += ["--bind", str(scratch), str(scratch),
            "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--die-with-parent",
            "--clearenv",
            "--setenv", "PATH", f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
            "--setenv", "HOME", str(home), "--setenv", "TMPDIR", "/tmp",
            "--setenv", "IPYTHONDIR", str(home / ".ipython"), "--setenv", "MPLCONFIGDIR", str(home / ".matplotlib"),
            "--setenv", "PYTHONDONTWRITEBYTECODE", "1"]
    pythonpath = os.environ.get("PYTHONPATH")
    if pythonpath:
        cmd += ["--setenv", "PYTHONPATH", pythonpath]
    for name in _ENV_PASSED:
        if name in os.environ:
            cmd += ["--setenv", name, os.environ[name]]
    cmd += ["--chdir", str(scratch / "work")]
    if uid is not None:  # grader is root: no capabilities but the two setpriv needs to become `uid`
        cmd += ["--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID",
                "setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--inh-caps=-all"]
    cmd += ["prlimit", f"--as={limits.memory_mb * mb}", f"--cpu={limits.cpu_seconds}:{limits.cpu_seconds + 5}",
            f"--fsize={limits.file_mb * mb}", "--core=0"]
    if uid is not None:  # RLIMIT_NPROC counts per uid and never applies to root: only meaningful here
        cmd.append(f"--nproc={limits.max_processes}")
    return [*cmd, "--", *inner]


#: Scratch directories of this process not yet removed: removed at exit even when a kernel died
#: without nbclient cleaning up (multiprocessing's Finalize also runs in pool workers, which skip atexit).
_LIVE_SCRATCH: set[Path] = set()


def _remove_live_scratch() -> None:
    for d in list(_LIVE_SCRATCH):
        shutil.rmtree(d, ignore_errors=True)
        _LIVE_SCRATCH.discard(d)


@functools.lru_cache(maxsize=None)
def _register_scratch_cleanup() -> None:
    import multiprocessing.util

    multiprocessing.util.Finalize(None, _remove_live_scratch, exitpriority=10)


def make_scratch(uid: int | None) -> Path:
    """A fresh scratch directory (ipc/, work/, home/), owned by the sandbox uid (others cannot list it)."""
    _register_scratch_cleanup()
    scratch = Path(tempfile.mkdtemp(prefix="dlb-kernel-"))
    _LIVE_SCRATCH.add(scratch)
    for sub in ("ipc", "work", "home"):
        (scratch / sub).mkdir()
    for d in (scratch, scratch / "ipc", scratch / "work", scratch / "home"):
        os.chmod(d, 0o711)  # others may only pass through (bwrap enters work/ before dropping to uid)
        if uid is not None:
            os.chown(d, uid, uid)
    return scratch


def _chown_tree(root: Path, uid: int) -> None:
    os.chown(root, uid, uid)
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            os.chown(os.path.join(dirpath, name), uid, uid, follow_symlinks=False)


def _which(bwrap: str) -> str | None:
    return bwrap if os.path.isabs(bwrap) and os.access(bwrap, os.X_OK) else shutil.which(bwrap)


@functools.lru_cache(maxsize=None)
def probe(bwrap: str) -> str:
    """'' if ``bwrap`` runs this Python in the sandbox here, else why not (checked once per process)."""
    path = _which(bwrap)
    if path is None:
        return (f"bubblewrap not found ({bwrap!r} is not an executable on PATH); "
                "install it (Debian/Ubuntu: apt-get install bubblewrap)")
    for tool in ("prlimit", "setpriv"):
        if shutil.which(tool) is None:
            return f"{tool} not found; install util-linux"
    uid = sandbox_uid()
    scratch = make_scratch(uid)
    try:
        cmd = build_command(path, scratch, [sys.executable, "-c", "import dlbasics, ipykernel"],
                            hidden=[Path.home(), Path("/root")], secret=[], limits=Limits(), uid=uid)
        try:
            res = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"{path} could not run: {exc}"
        if res.returncode != 0:
            last = (res.stderr.strip().splitlines() or ["(no message)"])[-1]
            return (f"{path} is installed but cannot start a sandbox here: {last} "
                    "(are user namespaces disabled, e.g. kernel.unprivileged_userns_clone=0 or inside a "
                    "container without them?)")
        return ""
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        _LIVE_SCRATCH.discard(scratch)


def resolve(mode: str, bwrap: str = "bwrap") -> SandboxStatus:
    """Decide whether grading kernels are sandboxed. ``on`` raises :class:`SandboxError` if it cannot be."""
    if mode not in MODES:
        raise SandboxError(f"sandbox mode must be one of {', '.join(MODES)}, not {mode!r}")
    if mode == "off":
        return SandboxStatus(mode, False, "sandbox turned off (sandbox mode 'off')")
    why = probe(bwrap)
    if why:
        if mode == "on":
            raise SandboxError(f"the sandbox is required (sandbox mode 'on') but unavailable: {why}. "
                               "Fix that, or grade with sandbox mode 'auto'/'off' on an account that "
                               "holds nothing but the course.")
        return SandboxStatus(mode, False, why)
    uid = sandbox_uid()
    who = f"as uid {FIRST_UID}+, process limit on" if uid is not None else "as the grader's uid, no process limit"
    return SandboxStatus(mode, True, f"bubblewrap, {who}")


_WARNED_ENV = "DLBASICS_SANDBOX_WARNED"


def warn_once(status: SandboxStatus) -> None:
    """Print the fallback warning once per grading run (spawned worker processes inherit the mark)."""
    if status.active or status.mode == "off" or os.environ.get(_WARNED_ENV):
        return
    os.environ[_WARNED_ENV] = "1"
    print(f"WARNING: student code will run NOT sandboxed: {status.detail}. It can read solutions/ and "
          "the hidden tests and write the gradebook. Grade on an account that holds nothing but the "
          "course, or make bubblewrap work (sandbox mode 'on' makes this an error).",
          file=sys.stderr, flush=True)


class SandboxedKernelManager(AsyncKernelManager):
    """An AsyncKernelManager whose kernel runs in a bubblewrap sandbox (see the module docstring)."""

    bwrap = Unicode("bwrap", help="The bubblewrap executable (a name on PATH or a path).").tag(config=True)
    mode = Unicode("auto", help="auto, on or off; read by dlbasics.course.Course, not by the manager.").tag(config=True)
    memory_mb = Integer(DEFAULT_MEMORY_MB, help="Address-space limit of the kernel (MiB).").tag(config=True)
    cpu_seconds = Integer(0, help="CPU seconds for the whole kernel (0: 10 x the cell timeout).").tag(config=True)
    file_mb = Integer(DEFAULT_FILE_MB, help="Largest file the kernel may write (MiB).").tag(config=True)
    tmp_mb = Integer(DEFAULT_TMP_MB, help="Size of the kernel's private /tmp and /dev/shm (MiB each).").tag(config=True)
    max_processes = Integer(DEFAULT_MAX_PROCESSES,
                            help="Processes and threads of the kernel's uid (root graders only).").tag(config=True)
    hidden = List(Unicode(), help="Directories replaced by empty ones in the sandbox.").tag(config=True)
    secret = List(Unicode(), help="Directories that must stay hidden even when a parent is bound back.").tag(config=True)
    references = Unicode("", help="Folder of recorded PyTorch reference values (dlbasics.course.references), "
                                   f"bound read-only at {KERNEL_REFERENCES} when it exists.").tag(config=True)

    _dlb_scratch: Path | None = None

    def _limits(self) -> Limits:
        return Limits(memory_mb=int(self.memory_mb), cpu_seconds=int(self.cpu_seconds) or 600,
                      file_mb=int(self.file_mb), tmp_mb=int(self.tmp_mb), max_processes=int(self.max_processes))

    async def _async_pre_start_kernel(self, **kw: Any) -> tuple[list[str], dict[str, Any]]:
        why = probe(str(self.bwrap))
        if why:
            raise SandboxError(f"cannot start a sandboxed kernel: {why}")
        self._dlb_remove_scratch()
        uid = sandbox_uid()
        scratch = make_scratch(uid)
        self._dlb_scratch = scratch
        cwd = kw.get("cwd")
        if cwd and Path(cwd).is_dir():  # data shipped next to the notebook; never a notebook
            shutil.copytree(cwd, scratch / "work", dirs_exist_ok=True, symlinks=False,
                            ignore=shutil.ignore_patterns("*.ipynb", ".ipynb_checkpoints"))
        if uid is not None:
            _chown_tree(scratch, uid)
        kw["cwd"] = str(scratch)
        kw.setdefault("stdout", subprocess.DEVNULL)  # ipykernel's "connect with --existing" banner
        self.transport = "ipc"
        self.ip = str(scratch / "ipc" / "kernel")
        self.connection_file = str(scratch / "ipc" / "kernel.json")
        assert self.kernel_spec is not None
        self.kernel_spec.interrupt_mode = "message"  # SIGINT to the process group would stop bwrap
        cmd, kw = await super()._async_pre_start_kernel(**kw)
        if uid is not None:
            os.chown(self.connection_file, uid, uid)
        wrapped = build_command(shutil.which(str(self.bwrap)) or str(self.bwrap), scratch, list(cmd),
                                hidden=[Path(h) for h in self.hidden], secret=[Path(s) for s in self.secret],
                                limits=self._limits(), uid=uid,
                                references=Path(self.references) if self.references else None)
        return wrapped, kw

    def path_in_kernel(self, path: str) -> str:
        """Where the kernel sees ``path`` (a folder inside :attr:`references`); other paths unchanged."""
        if self.references:
            root, p = Path(self.references), Path(path)
            if _under(p, root):
                return str(KERNEL_REFERENCES / p.relative_to(root))
        return path

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


def hidden_directories(course_root: Path, extra: list[str]) -> tuple[list[str], list[str]]:
    """(directories to hide, directories that must never be bound back) for a course."""
    root = course_root.resolve()
    secret = [root / "solutions", root / "grading", root]
    hidden = [root, Path.home(), Path("/root")]
    repo = project_root()
    if repo is not None:
        hidden.append(repo)
        secret += [repo / "solutions", repo / "grading", repo]
    hidden += [Path(e) for e in extra]
    return [str(p) for p in hidden], [str(p.resolve()) for p in secret]
