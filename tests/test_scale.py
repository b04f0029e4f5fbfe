"""Running the course for a large class (docs/scaling.md), with the real parts on this machine.

* A PostgreSQL 15 server (Debian's binaries, started on 127.0.0.1 in a temporary folder) as the
  gradebook, set through ``c.CourseDirectory.db_url`` or ``$DLB_DB_URL``: a class graded with two
  worker processes gets exactly the scores the default SQLite gradebook gives (and the bug zoo
  says which tests each bug must lose), and the grades are rows in PostgreSQL.
* Two course directories ("machines") grading disjoint shards of a class into the one PostgreSQL
  gradebook, following the procedure of docs/scaling.md.
* nbgrader's file-system exchange, as JupyterHub deployments use it: release, a student (another
  Unix user) fetches, answers and submits, the instructor collects, ``grade_class`` grades the
  collected folder, feedback goes back through the exchange.
"""

from __future__ import annotations

import csv
import getpass
import json
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import pytest

from dlbgrader.course import DB_URL_ENV, Course
from dlbgrader.errors import CourseError
from dlbgrader.grade import Result, grade_class
from dlbgrader.synthetic import solution_sources, write_solution_submission
from tests.bugzoo import Bug
from tests.grading_helpers import ROOT, make_course, points

ASSIGNMENT = "ps1_foundations"
INSTALL_HINT = (
    "install Debian's PostgreSQL server: `sudo apt-get install postgresql` (`make test` installs it when run as root)"
)


def _bugs() -> list[Bug]:
    """Two bugs of the zoo that lose different sets of tests (a small class keeps the test short)."""
    from tests.bugzoo.ps1_foundations import BUGS

    chosen: list[Bug] = []
    for bug in BUGS:
        if all(bug.loses != b.loses for b in chosen):
            chosen.append(bug)
        if len(chosen) == 2:
            break
    return chosen


def _write_class(course: Course, folder: Path) -> dict[str, frozenset[str]]:
    """The reference answers and two bug-zoo variants as a flat folder; student -> tests it must lose."""
    release = course.release(ASSIGNMENT, release_dir="release")
    source = next((course.root / "solutions" / ASSIGNMENT).glob("*.ipynb"))
    expected: dict[str, frozenset[str]] = {"reference": frozenset()}
    write_solution_submission(source, release / source.name, folder / "reference.ipynb")
    for bug in _bugs():
        write_solution_submission(
            source, release / source.name, folder / f"bug_{bug.name}.ipynb", replace={bug.cell: (bug.old, bug.new)}
        )
        expected[f"bug_{bug.name}"] = bug.loses
    return expected


def _lost(r: Result) -> set[str]:
    auto, _ = points(ASSIGNMENT)
    return {c for c, p in auto.items() if (r.cells.get(c) or 0.0) < p}


# ---------------------------------------------------------------------------------------------
# A PostgreSQL server on loopback
# ---------------------------------------------------------------------------------------------


def _pg_bin() -> Path:
    for version in ("15", *sorted((p.name for p in Path("/usr/lib/postgresql").glob("*")), reverse=True)):
        d = Path("/usr/lib/postgresql") / version / "bin"
        if (d / "postgres").is_file() and (d / "initdb").is_file():
            return d
    pytest.fail(f"PostgreSQL server binaries not found in /usr/lib/postgresql/<version>/bin: {INSTALL_HINT}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PgServer:
    bin: Path
    base: Path
    port: int
    password: str

    @property
    def sockets(self) -> Path:
        return self.base / "sock"

    def admin(self, dbname: str = "postgres") -> Any:
        """A superuser connection over the Unix socket (trusted there; TCP needs the password)."""
        import psycopg2

        con = psycopg2.connect(host=str(self.sockets), port=self.port, user="postgres", dbname=dbname)
        con.autocommit = True
        return con

    def new_database(self, name: str) -> str:
        """A database owned by the unprivileged role ``grader``; its SQLAlchemy URL (TCP, password)."""
        con = self.admin()
        try:
            with con.cursor() as cur:
                cur.execute("SELECT 1 FROM pg_roles WHERE rolname = 'grader'")
                if cur.fetchone() is None:
                    cur.execute("CREATE ROLE grader LOGIN PASSWORD %s", (self.password,))
                cur.execute(f'CREATE DATABASE "{name}" OWNER grader')
        finally:
            con.close()
        return f"postgresql+psycopg2://grader:{self.password}@127.0.0.1:{self.port}/{name}"

    def query(self, dbname: str, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        con = self.admin(dbname)
        try:
            with con.cursor() as cur:
                cur.execute(sql, args)
                return list(cur.fetchall())
        finally:
            con.close()


def _as_postgres(cmd: list[str]) -> list[str]:
    """The server refuses to run as root: run its tools as the ``postgres`` user then."""
    if os.geteuid() != 0:
        return cmd
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        pytest.fail(f"running as root, but there is no `postgres` user to run the server as: {INSTALL_HINT}")
    return ["runuser", "-u", "postgres", "--", *cmd]


@pytest.fixture(scope="module")
def postgres() -> Iterator[PgServer]:
    """A PostgreSQL server on 127.0.0.1 (a free port), its data and socket in a temporary folder; stopped after."""
    import psycopg2  # noqa: F401  (a test dependency: a missing one must fail, not skip)

    pg = _pg_bin()
    base = Path(tempfile.mkdtemp(prefix="dlb-pg-"))  # not under pytest's 0700 tmp: postgres must enter it
    server = PgServer(pg, base, _free_port(), secrets.token_hex(12))
    server.sockets.mkdir()
    if os.geteuid() == 0:
        shutil.chown(base, "postgres", "postgres")
        shutil.chown(server.sockets, "postgres", "postgres")
    data, log = base / "data", base / "server.log"
    started = False
    try:
        init = subprocess.run(
            _as_postgres(
                [
                    str(pg / "initdb"),
                    "-D",
                    str(data),
                    "-U",
                    "postgres",
                    "-E",
                    "UTF8",
                    "--auth-local=trust",
                    "--auth-host=scram-sha-256",
                    "--no-sync",
                ]
            ),
            capture_output=True,
            text=True,
        )
        assert init.returncode == 0, f"initdb failed:\n{init.stdout}\n{init.stderr}"
        for _attempt in range(3):  # the free port may be taken between choosing and binding it
            opts = (
                f"-c listen_addresses=127.0.0.1 -p {server.port} -c unix_socket_directories={server.sockets} "
                "-c fsync=off -c full_page_writes=off -c synchronous_commit=off"
            )
            start = subprocess.run(
                _as_postgres(
                    [str(pg / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "30", "-o", opts, "start"]
                ),
                capture_output=True,
                text=True,
            )
            if start.returncode == 0:
                started = True
                break
            server.port = _free_port()
        assert started, f"PostgreSQL did not start:\n{start.stdout}{start.stderr}\n" + (
            log.read_text() if log.is_file() else ""
        )
        yield server
    finally:
        if started:
            subprocess.run(
                _as_postgres([str(pg / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]),
                capture_output=True,
                text=True,
            )
        shutil.rmtree(base, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# The gradebook URL (fast: no server needed)
# ---------------------------------------------------------------------------------------------


def _spawned_db_url(course: Course) -> str:
    """What a grading worker sees: a new interpreter that inherits the environment and builds
    ``Course(root, config_file, timeout)``, as grade.py's spawned workers do."""
    code = (
        "import sys; from pathlib import Path; from dlbgrader.course import Course; "
        "print(Course(Path(sys.argv[1]), Path(sys.argv[2]), 30).db_url)"
    )
    p = subprocess.run(
        [sys.executable, "-c", code, str(course.root), str(course.config_file)],
        capture_output=True,
        text=True,
        check=True,
    )
    return p.stdout.strip()


def test_gradebook_url_default_config_and_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(DB_URL_ENV, raising=False)
    course = make_course(tmp_path / "c", [])
    # The repository's config names a SQLite file: that means the course's own, with a busy timeout.
    assert course.db_url == f"sqlite:///{course.root}/grading/gradebook.db?timeout=60"
    server = "postgresql+psycopg2://grader:pw@db.example.org:5432/dlbasics"
    with open(course.root / "nbgrader_config.py", "a", encoding="utf-8") as f:
        f.write(f"\nc.CourseDirectory.db_url = {server!r}\n")
    assert course.db_url == server
    assert course.config().CourseDirectory.db_url == server, "nbgrader must get the same URL"
    assert _spawned_db_url(course) == server
    other = "postgresql+psycopg2://grader@127.0.0.1:5433/elsewhere"
    monkeypatch.setenv(DB_URL_ENV, other)
    assert course.db_url == other, "the environment variable wins over the config file"
    assert _spawned_db_url(course) == other, "spawned workers inherit the environment"
    course.enable_wal()  # a no-op for a server: must not create a SQLite file
    assert not course.db_path.exists()


def test_gradebook_url_mistakes_are_explained(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    course = make_course(tmp_path / "c", [])
    monkeypatch.setenv(DB_URL_ENV, "sqlite:////tmp/elsewhere.db")
    with pytest.raises(CourseError, match="unset DLB_DB_URL"):
        _ = course.db_url
    import importlib.util

    if importlib.util.find_spec("psycopg") is None:  # SQLAlchemy 2.1 maps postgresql:// to psycopg 3
        monkeypatch.setenv(DB_URL_ENV, "postgresql://grader@127.0.0.1/dlbasics")
        with pytest.raises(CourseError, match=r"postgresql\+psycopg2://"):
            _ = course.db_url


# ---------------------------------------------------------------------------------------------
# Grading into PostgreSQL
# ---------------------------------------------------------------------------------------------


@dataclass
class Oracle:
    """The class graded with the default SQLite gradebook (the reference for the PostgreSQL runs)."""

    submissions: Path
    expected_losses: dict[str, frozenset[str]]
    by_student: dict[str, Result]
    seconds: float


@pytest.fixture(scope="module")
def sqlite_class(tmp_path_factory: pytest.TempPathFactory) -> Oracle:
    tmp = tmp_path_factory.mktemp("sqlite_class")
    saved = os.environ.pop(DB_URL_ENV, None)
    try:
        course = make_course(tmp / "course", [ASSIGNMENT])
        subs = tmp / "submissions"
        expected = _write_class(course, subs)
        t0 = time.perf_counter()
        results = grade_class(course, ASSIGNMENT, subs, workers=2, progress=False, feedback=False)
        seconds = time.perf_counter() - t0
        assert course.db_path.is_file(), "the default gradebook is the course's SQLite file"
    finally:
        if saved is not None:
            os.environ[DB_URL_ENV] = saved
    by_student = {r.student: r for r in results}
    for student, loses in expected.items():  # the independent oracle: the bug zoo
        r = by_student[student]
        assert r.status == "graded", f"{student}: {r.reason}"
        assert _lost(r) == set(loses), f"{student} (SQLite): expected to lose {sorted(loses)}, lost {_lost(r)}"
    return Oracle(subs, expected, by_student, seconds)


_GRADES_SQL = """
    SELECT st.id, bc.name, COALESCE(g.manual_score, g.auto_score), g.needs_manual_grade
    FROM grade g
    JOIN base_cell bc ON g.cell_id = bc.id
    JOIN submitted_notebook sn ON g.notebook_id = sn.id
    JOIN submitted_assignment sa ON sn.assignment_id = sa.id
    JOIN student st ON sa.student_id = st.id
    JOIN assignment a ON sa.assignment_id = a.id
    WHERE a.name = %s"""


def _grades_in_postgres(postgres: PgServer, dbname: str) -> dict[str, dict[str, float | None]]:
    out: dict[str, dict[str, float | None]] = {}
    for student, cell, score, manual in postgres.query(dbname, _GRADES_SQL, ASSIGNMENT):
        out.setdefault(student, {})[cell] = None if manual else float(score or 0.0)
    return out


@pytest.mark.slow
def test_postgresql_gradebook_gives_the_sqlite_scores(
    postgres: PgServer, sqlite_class: Oracle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(DB_URL_ENV, raising=False)
    url = postgres.new_database("class_config")
    course = make_course(tmp_path / "course", [ASSIGNMENT])
    # The documented way: nbgrader_config.py names the server; every worker reads the same file.
    with open(course.root / "nbgrader_config.py", "a", encoding="utf-8") as f:
        f.write(f"\nc.CourseDirectory.db_url = {url!r}\n")
    assert course.db_url == url
    t0 = time.perf_counter()
    results = grade_class(course, ASSIGNMENT, sqlite_class.submissions, workers=2, progress=False, feedback=True)
    seconds = time.perf_counter() - t0
    print(f"graded {len(results)} submissions: PostgreSQL {seconds:.1f} s, SQLite {sqlite_class.seconds:.1f} s")
    by_student = {r.student: r for r in results}
    assert set(by_student) == set(sqlite_class.expected_losses)
    for student, loses in sqlite_class.expected_losses.items():
        r, ref = by_student[student], sqlite_class.by_student[student]
        assert r.status == "graded", f"{student}: {r.reason}"
        assert _lost(r) == set(loses), f"{student} (PostgreSQL): expected to lose {sorted(loses)}, lost {_lost(r)}"
        assert (r.score, r.cells) == (ref.score, ref.cells), f"{student}: PostgreSQL and SQLite grades differ"
        assert (course.grading_dir / "feedback" / student / ASSIGNMENT).is_dir(), "feedback reads the gradebook"
    assert not course.db_path.exists(), "nothing may go to a SQLite gradebook when a server is configured"
    # The grades really are rows in PostgreSQL.
    in_db = _grades_in_postgres(postgres, "class_config")
    assert set(in_db) == set(by_student)
    auto, _ = points(ASSIGNMENT)
    for student, r in by_student.items():
        assert {c: in_db[student].get(c) for c in auto} == {c: r.cells.get(c) for c in auto}, student
    with open(course.grading_dir / "exports" / ASSIGNMENT / "grades.csv", newline="", encoding="utf-8") as f:
        rows = {row["student"]: float(row["score"]) for row in csv.DictReader(f)}
    assert rows == {s: r.score for s, r in by_student.items()}


@pytest.mark.slow
def test_two_machines_grade_shards_into_one_postgresql_gradebook(
    postgres: PgServer, sqlite_class: Oracle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """docs/scaling.md's procedure: the first shard (or one submission) is graded before the others start,
    then the machines grade their shards at the same time, each with `dlb grade` and DLB_DB_URL."""
    url = postgres.new_database("class_sharded")
    monkeypatch.setenv(DB_URL_ENV, url)
    students = sorted(sqlite_class.expected_losses)
    shards = {
        "first": ["reference"],
        "a": [s for s in students if s != "reference"][:1],
        "b": [s for s in students if s != "reference"][1:2],
    }
    machines = {name: make_course(tmp_path / f"machine_{name}", [ASSIGNMENT]) for name in ("a", "b")}
    inboxes = {}
    for shard, members in shards.items():
        inboxes[shard] = tmp_path / f"inbox_{shard}"
        inboxes[shard].mkdir()
        for s in members:
            shutil.copy(sqlite_class.submissions / f"{s}.ipynb", inboxes[shard] / f"{s}.ipynb")
    first = grade_class(machines["a"], ASSIGNMENT, inboxes["first"], workers=1, progress=False, feedback=False)
    assert [r.status for r in first] == ["graded"], first[0].reason
    dlb = Path(sys.executable).parent / "dlb"
    t0 = time.perf_counter()
    procs = {
        m: subprocess.Popen(
            [str(dlb), "grade", ASSIGNMENT, str(inboxes[m]), "--workers", "1", "--no-feedback", "--no-progress"],
            cwd=machines[m].root,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for m in ("a", "b")
    }
    outputs = {m: p.communicate(timeout=300)[0] for m, p in procs.items()}
    print(f"two shards graded at the same time in {time.perf_counter() - t0:.1f} s")
    for m, p in procs.items():
        assert p.returncode == 0, f"machine {m}:\n{outputs[m][-3000:]}"
    in_db = _grades_in_postgres(postgres, "class_sharded")
    graded = [s for members in shards.values() for s in members]
    assert sorted(in_db) == sorted(graded)
    for s in graded:
        ref = sqlite_class.by_student[s]
        assert in_db[s] == ref.cells, f"{s}: the sharded grade differs from the single-machine SQLite grade"
    for m in ("a", "b"):
        assert not machines[m].db_path.exists()


# ---------------------------------------------------------------------------------------------
# nbgrader's exchange: release, fetch, submit, collect, grade, feedback
# ---------------------------------------------------------------------------------------------

STUDENT_SCRIPT = r'''
"""A student's side of nbgrader's exchange (run as the student's Unix user): fetch, answer, submit, or
fetch the feedback. argv: exchange_root course_id assignment action [answers.json]"""
import json, sys
import nbformat
from traitlets.config import Config
from nbgrader.auth import Authenticator
from nbgrader.coursedir import CourseDirectory
from nbgrader.exchange.default import ExchangeFetchAssignment, ExchangeFetchFeedback, ExchangeSubmit

root, course_id, assignment, action = sys.argv[1:5]
c = Config()
c.Exchange.root = root
c.CourseDirectory.course_id = course_id

def run(cls):
    coursedir = CourseDirectory(config=c)
    coursedir.assignment_id = assignment
    cls(coursedir=coursedir, authenticator=Authenticator(config=c), config=c).start()

if action == "work":
    run(ExchangeFetchAssignment)                      # into ./<assignment>/
    answers = json.load(open(sys.argv[5]))
    path = f"{assignment}/{assignment}.ipynb"
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:                             # the student types the reference answers
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") and meta.get("grade_id") in answers:
            cell.source = answers[meta["grade_id"]]
    nbformat.write(nb, path)
    run(ExchangeSubmit)
else:
    run(ExchangeFetchFeedback)                        # into ./<assignment>/feedback/<timestamp>/
print("done", action)
'''


def _student_runner(home: Path) -> tuple[list[str], dict[str, str], str]:
    """(command prefix, environment, student id): the student runs as the unprivileged user ``nobody``
    when we are root (nbgrader 0.9.6 takes the student id from the OS user, pwd.getpwuid(os.getuid()),
    not from $USER), else as ourselves."""
    lib = str(ROOT / "lib")
    env = {"HOME": str(home), "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}
    if os.geteuid() != 0:
        return [sys.executable], env, getpass.getuser()
    shutil.chown(home, "nobody", pwd.getpwnam("nobody").pw_gid)
    runuser = ["runuser", "-u", "nobody", "--", "env", *[f"{k}={v}" for k, v in env.items()]]
    check = "import nbgrader.exchange.default, nbformat"
    ours = subprocess.run([*runuser, sys.executable, "-c", check], capture_output=True, text=True)
    if ours.returncode == 0:
        return [*runuser, sys.executable], env, "nobody"
    # This interpreter may live where other users cannot enter (e.g. pyenv under /root): use the
    # system Python of the same version with this environment's packages.
    system = shutil.which(f"python{sys.version_info.major}.{sys.version_info.minor}", path="/usr/bin:/usr/local/bin")
    site = sysconfig.get_paths()["purelib"]
    if system:
        alt = [*runuser, f"PYTHONPATH={site}{os.pathsep}{lib}", system]
        if subprocess.run([*alt, "-c", check], capture_output=True, text=True).returncode == 0:
            return alt, env, "nobody"
    pytest.fail(
        f"the user `nobody` cannot run {sys.executable} ({ours.stderr.strip()[-300:]}) and there is no "
        f"system python{sys.version_info.major}.{sys.version_info.minor} it can run with {site}: "
        "make the Python installation readable by other users"
    )


@pytest.mark.slow
# nbgrader 0.9.6's NbGraderAPI.release_feedback passes `authentictor=` (sic): a harmless traitlets warning.
@pytest.mark.filterwarnings("ignore:Passing unrecognized arguments:DeprecationWarning")
def test_exchange_round_trip_release_submit_collect_grade_feedback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(DB_URL_ENV, raising=False)
    base = Path(tempfile.mkdtemp(prefix="dlb-exchange-"))  # other users must be able to enter it
    try:
        base.chmod(0o755)
        exchange = base / "exchange"
        exchange.mkdir()
        exchange.chmod(0o777)  # as nbgrader's docs ask: everyone may write, nbgrader sets the modes inside
        home = base / "home"
        home.mkdir()
        course = make_course(base / "course", [ASSIGNMENT])
        with open(course.root / "nbgrader_config.py", "a", encoding="utf-8") as f:
            f.write(f"\nc.Exchange.root = {str(exchange)!r}\n")
        course_id = course.config().CourseDirectory.course_id
        course.release(ASSIGNMENT)  # solutions/ -> exercises/ (the release directory) and the gradebook
        api = course.api()
        out = api.release_assignment(ASSIGNMENT)
        assert out["success"], out.get("error") or out.get("log")
        released = exchange / course_id / "outbound" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
        assert released.is_file()
        assert "### BEGIN HIDDEN TESTS" not in released.read_text(encoding="utf-8")

        answers = base / "answers.json"
        answers.write_text(
            json.dumps(
                solution_sources(
                    nbformat.read(str(course.root / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"), as_version=4)
                )
            ),
            encoding="utf-8",
        )
        answers.chmod(0o644)
        script = base / "student.py"
        script.write_text(STUDENT_SCRIPT, encoding="utf-8")
        script.chmod(0o644)
        prefix, env, student = _student_runner(home)

        def as_student(*args: str) -> None:
            p = subprocess.run(
                [*prefix, str(script), str(exchange), course_id, ASSIGNMENT, *args],
                cwd=home,
                env=env,
                capture_output=True,
                text=True,
            )
            assert p.returncode == 0 and "done" in p.stdout, f"student {args[0]}:\n{p.stdout}\n{p.stderr[-3000:]}"

        t0 = time.perf_counter()
        as_student("work", str(answers))
        print(f"student fetch + answer + submit: {time.perf_counter() - t0:.1f} s")
        inbound = list((exchange / course_id / "inbound").iterdir())
        assert [p.name.split("+")[:2] for p in inbound] == [[student, ASSIGNMENT]]

        out = api.collect(ASSIGNMENT)
        assert out["success"], out.get("error") or out.get("log")
        collected = course.grading_dir / "submitted" / student / ASSIGNMENT
        assert (collected / f"{ASSIGNMENT}.ipynb").is_file()
        assert (collected / "timestamp.txt").is_file(), "collect keeps the submission time (lateness)"

        results = grade_class(course, ASSIGNMENT, course.grading_dir / "submitted", workers=1, progress=False)
        r = results[0]
        assert [x.student for x in results] == [student]
        assert r.status == "graded", r.reason
        auto, _ = points(ASSIGNMENT)
        assert r.score == sum(auto.values()), f"the reference answers lost {_lost(r)}"

        out = api.release_feedback(ASSIGNMENT)
        assert out["success"], out.get("error") or out.get("log")
        as_student("fetch_feedback")
        fetched = sorted((home / ASSIGNMENT / "feedback").glob(f"*/{ASSIGNMENT}.html"))
        assert len(fetched) == 1, f"the student found no feedback: {sorted(map(str, home.rglob('*')))}"
        html = fetched[0].read_text(encoding="utf-8")
        assert f"{r.score:g}" in html and "### BEGIN HIDDEN TESTS" not in html
    finally:
        shutil.rmtree(base, ignore_errors=True)
