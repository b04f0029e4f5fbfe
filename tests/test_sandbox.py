"""Student code graded in the bubblewrap sandbox cannot reach the instructor's files, the network or
the host, and stays within its limits; without bubblewrap "auto" grades unsandboxed and says so,
"on" refuses.

Each attack is the reference solution plus code appended to an answer cell (or one extra cell).
The attack code prints what it managed; the assertions are made on the host side: files untouched,
gradebook intact, nothing received by a listening socket, no process left.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import nbformat
import pytest

from dlbgrader.course import Course
from dlbgrader.errors import CourseError
from dlbgrader.grade import Result, grade_class
from dlbgrader.kernel import kernel_python, runtime
from dlbgrader.sandbox import Limits, build_command, make_scratch, probe, resolve, sandbox_uid
from dlbgrader.synthetic import write_solution_submission
from tests.grading_helpers import ROOT, released_course
from tests.grading_helpers import points as cell_points

ASSIGNMENT = "ps2_activations"
TIMEOUT = 30  # seconds per cell (generous: the machine may be loaded; no attack here loops)
MAX_PROCESSES = 64
SECRET_ENV = "DLB_SANDBOX_TEST_SECRET"


def _require_bwrap() -> None:
    """The sandbox tests fail, never skip, where bubblewrap cannot run: a skipped sandbox test would
    let a broken sandbox pass CI (`make test` installs Debian's bubblewrap when run as root)."""
    why = probe("bwrap")
    if why:
        pytest.fail(f"the grading sandbox cannot run here: {why}")


needs_bwrap = pytest.mark.usefixtures("_bwrap_required")


@pytest.fixture
def _bwrap_required() -> None:
    _require_bwrap()


# Prints one line per attempt: "ATTACK <what>: SUCCEEDED ..." or "ATTACK <what>: blocked <error>".
_TRY = """
def _dlb_try(label, fn):
    try:
        r = fn()
        print(f"ATTACK {label}: SUCCEEDED {r!r}"[:200])
    except Exception as e:
        print(f"ATTACK {label}: blocked {type(e).__name__}")
"""


def _read(path: Path) -> str:
    return f"lambda: open({str(path)!r}, 'rb').read(64)"


def full_marks() -> float:
    return sum(cell_points(ASSIGNMENT)[0].values())


class Graded:
    def __init__(
        self,
        results: list[Result],
        root: Path,
        tmp: Path,
        marker: str,
        outside: list[Path],
        connections: list[Any],
        seconds: float,
    ) -> None:
        self.by = {r.student: r for r in results}
        self.root, self.tmp, self.marker, self.outside = root, tmp, marker, outside
        self.connections, self.seconds = connections, seconds

    def outputs(self, student: str) -> str:
        nb = nbformat.read(
            str(self.root / "grading" / "autograded" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"), as_version=4
        )
        return "\n".join(
            str(o.get("text", "")) + str(o.get("evalue", ""))
            for c in nb.cells
            if c.cell_type == "code"
            for o in c.outputs
        )

    def attempts(self, student: str) -> tuple[list[str], list[str]]:
        lines = [ln for ln in self.outputs(student).splitlines() if ln.startswith("ATTACK ")]
        return [ln for ln in lines if "SUCCEEDED" in ln], [ln for ln in lines if ": blocked" in ln]


def _listener() -> tuple[socket.socket, list[Any]]:
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.bind(("0.0.0.0", 0))
    srv.listen(16)
    got: list[Any] = []

    def serve() -> None:
        while True:
            try:
                conn, addr = srv.accept()
            except OSError:
                return
            got.append(addr)
            conn.close()

    threading.Thread(target=serve, daemon=True).start()
    return srv, got


def _build(tmp: Path, config: str) -> tuple[Course, Path, Path, Path]:
    course, source_nb, release_nb = released_course(tmp / "course", ASSIGNMENT)
    with open(course.root / "nbgrader_config.py", "a", encoding="utf-8") as f:
        f.write("\n" + config + "\n")
    subs = tmp / "submissions"
    subs.mkdir()
    return course, source_nb, release_nb, subs


def _submission(
    source_nb: Path, release_nb: Path, dest: Path, append: str = "", cell: str = "", after: str = "setup"
) -> None:
    """The reference solution, with ``append`` added to the ``relu`` answer cell and ``cell`` as a new cell."""
    write_solution_submission(source_nb, release_nb, dest)
    nb = nbformat.read(str(dest), as_version=4)
    if append:
        answer = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "relu")
        answer.source += "\n\n" + _TRY + append
    if cell:
        i = next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == after)
        nb.cells.insert(i + 1, nbformat.v4.new_code_cell(cell))
    nbformat.write(nb, str(dest))


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> Any:
    if probe("bwrap"):
        pytest.skip(f"bubblewrap unusable here: {probe('bwrap')}")
    tmp = tmp_path_factory.mktemp("sandbox")
    course, source_nb, release_nb, subs = _build(
        tmp,
        "\n".join(
            [
                'c.SandboxedKernelManager.mode = "on"',
                f"c.SandboxedKernelManager.max_processes = {MAX_PROCESSES}",
            ]
        ),
    )
    root = course.root
    grading = root / "grading"
    token = uuid.uuid4().hex[:12]
    marker = "PWN" + "ED-" + token  # the attack code builds it, so its source never contains it
    srv, connections = _listener()
    port = srv.getsockname()[1]
    outside = [
        root / f"pwned-{token}.txt",
        tmp / f"pwned-{token}.txt",
        Path("/tmp") / f"pwned-{token}.txt",
        Path("/var/tmp") / f"pwned-{token}.txt",
        Path.home() / f"pwned-{token}.txt",
    ]
    victim_sub = grading / "submitted" / "victim" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    victim_auto = grading / "autograded" / "victim" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    # Another copy of the course, and submissions kept elsewhere: an allow-list sandbox shows neither.
    elsewhere = Path("/var/tmp") / f"dlb-copy-{token}"
    shutil.copytree(root / "solutions", elsewhere / "solutions")
    (elsewhere / "inbox").mkdir()
    shutil.copy(source_nb, elsewhere / "inbox" / "someone.ipynb")

    def sub(name: str, append: str = "", cell: str = "") -> None:
        _submission(source_nb, release_nb, subs / f"{name}.ipynb", append, cell)

    sub("victim")  # the reference answers, and the target of the writer
    sub(
        "reader",
        "import os, socket\n"
        + "\n".join(
            [
                f"_dlb_try('connect loopback', lambda: socket.create_connection(('127.0.0.1', {port}), timeout=3))",
                f"_dlb_try('connect host address', lambda: socket.create_connection((socket.gethostbyname(socket.gethostname()), {port}), timeout=3))",
                "_dlb_try('resolve a name', lambda: socket.getaddrinfo('pypi.org', 443))",
                f"_dlb_try('read course solutions', {_read(source_nb)})",
                f"_dlb_try('list course solutions', lambda: os.listdir({str(root / 'solutions')!r}) or 1/0)",
                f"_dlb_try('list course root', lambda: os.listdir({str(root)!r}) or 1/0)",
                f"_dlb_try('read repo solutions', {_read(ROOT / 'solutions' / ASSIGNMENT / (ASSIGNMENT + '.ipynb'))})",
                f"_dlb_try('read gradebook', {_read(grading / 'gradebook.db')})",
                f"_dlb_try('read other submission', {_read(victim_sub)})",
                f"_dlb_try('read own notebook with hidden tests', {_read(Path(ASSIGNMENT + '.ipynb'))})",
                f"_dlb_try('read grader secret', lambda: os.environ[{SECRET_ENV!r}])",
                f"_dlb_try('read another copy of the course', {_read(elsewhere / 'solutions' / ASSIGNMENT / (ASSIGNMENT + '.ipynb'))})",
                f"_dlb_try('read submissions kept elsewhere', {_read(elsewhere / 'inbox' / 'someone.ipynb')})",
                "_dlb_try('read /etc/passwd', lambda: open('/etc/passwd').read(64))",
                "_dlb_try('import torch', lambda: __import__('torch'))",
                "_dlb_try('import the reference package', lambda: __import__('dlbasics.activations'))",
                "_dlb_try('find notebooks', lambda: [p for d in (os.getcwd(), os.path.expanduser('~'), "
                f"{str(root.parent)!r}, {str(ROOT / 'solutions')!r}) "
                "for p in __import__('glob').glob(d + '/**/*.ipynb', recursive=True)] or 1/0)",
            ]
        ),
    )
    writes = [
        f"_dlb_try('append to gradebook', lambda: open({str(grading / 'gradebook.db')!r}, 'ab').write(M.encode()))",
        f"_dlb_try('delete gradebook', lambda: os.remove({str(grading / 'gradebook.db')!r}))",
        f"_dlb_try('overwrite other submission', lambda: open({str(victim_sub)!r}, 'w').write(M))",
        f"_dlb_try('overwrite other autograded', lambda: open({str(victim_auto)!r}, 'w').write(M))",
        f"_dlb_try('overwrite solutions', lambda: open({str(source_nb)!r}, 'a').write(M))",
        "_dlb_try('fill the working folder with 1 GiB', lambda: [open(f'fill{i}', 'wb').write(b'0' * 2**27) "
        "for i in range(8)])",
        "_dlb_try('reserve 1 GiB with fallocate', lambda: [os.posix_fallocate(os.open(f'res{i}', os.O_CREAT | "
        "os.O_WRONLY), 0, 2**27) for i in range(8)])",
        *[f"_dlb_try('write {p}', lambda: open({str(p)!r}, 'w').write(M))" for p in outside],
        "_dlb_try('allocate 6 GiB', lambda: len(bytearray(6 * 2**30)))",
        "_dlb_try('allocate 8 GiB with numpy', lambda: __import__('numpy').ones(2**30).sum())",
    ]
    sub("writer", "import os\nM = 'PWN' + 'ED-' + " + repr(token) + "\n" + "\n".join(writes))
    sub(
        "forkbomb",
        "import os, time\n_pids = []\n"
        + "\n".join(
            [
                "def _bomb():",
                "    for _ in range(500):",
                "        pid = os.fork()",
                "        if pid == 0:",
                "            time.sleep(600)",
                "            os._exit(0)",
                "        _pids.append(pid)",
                "    return len(_pids)",
                "_dlb_try('fork 500 processes', _bomb)",
                "print('forked', len(_pids), 'in', os.getcwd())",
                "for _pid in _pids[5:]:  # keep five asleep: they must not outlive the kernel",
                "    os.kill(_pid, 9)",
                "    os.waitpid(_pid, 0)",
            ]
        ),
    )
    os.environ[SECRET_ENV] = "hunter2-" + token  # inherited by the grading workers, not by the kernels
    try:
        t0 = time.perf_counter()
        results = grade_class(course, ASSIGNMENT, subs, progress=False, workers=2, timeout=TIMEOUT)
        seconds = time.perf_counter() - t0
    finally:
        del os.environ[SECRET_ENV]
        srv.close()
        shutil.rmtree(elsewhere, ignore_errors=True)
    return Graded(results, root, tmp, marker, outside, connections, seconds)


def test_sandbox_is_an_allow_list(tmp_path: Path) -> None:
    """Nothing of the host is bound but /usr, the loader's files and the kernel's Python (read-only)."""
    python = str(kernel_python() or sys.executable)
    readable = [Path(p) for p in runtime(python).paths]
    scratch = tmp_path / "scratch"
    (scratch / "ipc").mkdir(parents=True)
    data = tmp_path / "data.csv"
    data.write_text("1,2\n")
    cmd = build_command(
        "bwrap",
        scratch,
        [python, "-m", "ipykernel_launcher"],
        readable=readable,
        limits=Limits(tmp_mb=64),
        uid=None,
        data=[data],
    )
    pairs = list(zip(cmd, cmd[1:], cmd[2:]))
    assert ("--ro-bind", "/", "/") not in pairs and ("--bind", "/", "/") not in pairs
    ro = {a for op, a, b in pairs if op in ("--ro-bind", "--ro-bind-try") and a == b}
    allowed = {"/usr", *map(str, (p.resolve() for p in readable))}
    assert ro <= allowed | {f for f in ro if f.startswith("/etc/")}, ro - allowed
    assert not any(str(ROOT) == r or r.startswith(str(ROOT) + "/solutions") for r in ro), (
        "the repository is never bound"
    )
    rw = [(a, b) for op, a, b in pairs if op == "--bind"]
    assert rw == [(str(scratch / "ipc"), str(scratch / "ipc"))], (
        f"only the sockets folder is writable on the host: {rw}"
    )
    assert ("--ro-bind", str(data), str(scratch / "work" / "data.csv")) in pairs
    sizes = [cmd[i + 1] for i, a in enumerate(cmd) if a == "--size"]
    assert len(sizes) == 4 and set(sizes) == {str(64 * 2**20)}, "/tmp, /dev/shm, work and home are size-capped tmpfs"


@pytest.mark.slow
@needs_bwrap
def test_reference_answers_score_full_marks_next_to_every_attack(graded: Graded) -> None:
    print({n: round(r.seconds, 1) for n, r in graded.by.items()})
    for name in ("victim", "reader", "writer", "forkbomb"):
        r = graded.by[name]
        assert r.status == "graded", f"{name}: {r.reason}"
        assert r.score == full_marks(), f"{name}: {r.score} ({r.reason})"
    print(f"graded {len(graded.by)} submissions in the sandbox in {graded.seconds:.1f} s")


@pytest.mark.slow
@needs_bwrap
def test_instructor_files_are_unreadable(graded: Graded) -> None:
    won, blocked = graded.attempts("reader")
    assert won == [], won
    assert len(blocked) == 9 + 3 + 5, graded.outputs("reader")
    out = graded.outputs("reader")
    assert "BEGIN HIDDEN TESTS" not in out and "SQLite format" not in out and "hunter2" not in out
    assert "ATTACK import torch: blocked ModuleNotFoundError" in out


@pytest.mark.slow
@needs_bwrap
def test_nothing_is_written_outside_the_scratch_directory(graded: Graded) -> None:
    won, blocked = graded.attempts("writer")
    # The kernel has a private, size-limited /tmp of its own: writing there may succeed, and the
    # host's /tmp must stay untouched (checked below with the other targets).
    private_tmp = [w for w in won if w.startswith("ATTACK write /tmp/pwned-")]
    assert [w for w in won if w not in private_tmp] == [], won
    assert len(blocked) + len(private_tmp) == 5 + len(graded.outside) + 2 + 2
    for p in graded.outside:
        assert not p.exists(), p
    hits = [p for p in graded.root.rglob("*") if p.is_file() and graded.marker.encode() in p.read_bytes()]
    assert hits == []
    with sqlite3.connect(graded.root / "grading" / "gradebook.db") as con:  # intact, one row per student
        n = con.execute("select count(*) from submitted_assignment").fetchone()[0]
    assert n == len(graded.by)
    assert graded.by["victim"].score == full_marks()


@pytest.mark.slow
@needs_bwrap
def test_no_network(graded: Graded) -> None:
    out = graded.outputs("reader")
    assert out.count("ATTACK connect") == 2 and "ATTACK resolve a name: blocked" in out
    assert graded.connections == []


@pytest.mark.slow
@needs_bwrap
def test_memory_limit(graded: Graded) -> None:
    out = graded.outputs("writer")
    assert "ATTACK allocate 6 GiB: blocked MemoryError" in out
    assert "ATTACK allocate 8 GiB with numpy: blocked MemoryError" in out


@pytest.mark.slow
@needs_bwrap
def test_process_limit_and_no_process_survives(graded: Graded) -> None:
    won, blocked = graded.attempts("forkbomb")
    assert won == [] and len(blocked) == 1, graded.outputs("forkbomb")
    line = graded.outputs("forkbomb").split("forked ")[1].splitlines()[0]
    forked, cwd = int(line.split()[0]), line.split(" in ")[1]
    assert 0 < forked < MAX_PROCESSES
    left = []  # five children were left asleep for 600 s: they must have died with the kernel's PID namespace
    for d in Path("/proc").iterdir():
        try:
            if d.name.isdigit() and os.readlink(d / "cwd") == cwd:
                left.append(int(d.name))
        except OSError:
            pass
    assert left == []


@pytest.mark.slow
@needs_bwrap
def test_cpu_limit_kills_what_ignores_signals(tmp_path: Path) -> None:
    uid = sandbox_uid()
    scratch = make_scratch(uid)
    try:
        burn = "import signal\nsignal.signal(signal.SIGXCPU, signal.SIG_IGN)\nwhile True:\n    pass"
        cmd = build_command(
            shutil.which("bwrap") or "bwrap",
            scratch,
            [sys.executable, "-c", burn],
            readable=[Path(p) for p in runtime(sys.executable).paths],
            limits=Limits(cpu_seconds=2),
            uid=uid,
        )
        t0 = time.perf_counter()
        res = subprocess.run(cmd, timeout=120)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    assert res.returncode == 128 + signal.SIGKILL  # the hard limit (soft + 5 s) after SIGXCPU was ignored
    print(f"killed after {time.perf_counter() - t0:.1f} s wall")


@pytest.mark.slow
def test_fallback_without_bubblewrap(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = 'c.SandboxedKernelManager.bwrap = "/nonexistent/bwrap"'
    course, source_nb, release_nb, subs = _build(tmp_path, missing)
    _submission(source_nb, release_nb, subs / "reader.ipynb", f"_dlb_try('read course solutions', {_read(source_nb)})")
    monkeypatch.delenv("DLBGRADER_SANDBOX_WARNED", raising=False)
    status = course.sandbox_status()
    assert not status.active and "/nonexistent/bwrap" in status.detail and "NOT sandboxed" in status.describe()
    assert "NOT sandboxed" in capfd.readouterr().err
    results = grade_class(course, ASSIGNMENT, subs, progress=False, workers=1, timeout=TIMEOUT)
    assert results[0].status == "graded" and results[0].score == full_marks()
    nb = nbformat.read(
        str(course.root / "grading" / "autograded" / "reader" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"), as_version=4
    )
    text = "".join(str(o.get("text", "")) for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "ATTACK read course solutions: SUCCEEDED" in text  # unsandboxed indeed: the attack works here
    assert capfd.readouterr().err.count("NOT sandboxed") <= 1  # reported once per run, not per kernel

    with pytest.raises(CourseError, match="sandbox is required.*/nonexistent/bwrap"):
        Course(course.root, sandbox="on").sandbox_status()
    with pytest.raises(CourseError, match="sandbox is required"):
        grade_class(Course(course.root, sandbox="on"), ASSIGNMENT, subs, progress=False, workers=1)
    assert resolve("off").describe().startswith("NOT sandboxed")
