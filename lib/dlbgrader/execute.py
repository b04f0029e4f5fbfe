"""Run a student's notebook for grading: answer cells in the student's kernel, test cells here.

:class:`DrivenExecute` replaces nbgrader's Execute preprocessor. The student's own cells (answers,
set-up, anything that is not an autograded test) run in a kernel started by the configured kernel
manager (the sandbox, :mod:`dlbgrader.sandbox`, when grading), from the kernel environment
(:mod:`dlbgrader.kernel`: NumPy and matplotlib, no PyTorch, no reference package). Every
autograded test cell, visible or hidden, runs **in this process**: the names it uses that the
notebook defines as functions are :class:`dlbgrader.proxy.Proxy` objects that call into the kernel
with data (:mod:`dlbgrader.agent`). The expected values, the tolerances, PyTorch's answers and the
verdict never leave this process, and the test cell's outputs are written here: nothing the
kernel sends can make a test pass. nbgrader then scores each test cell from those outputs (an error
output is a failed test) and writes the gradebook.

One crash costs one test: when the kernel dies, or a call outlives its time limit and ignores the
interrupt, that test fails with the reason, a fresh kernel runs the student's cells again (those
that had run, except any that killed or hung a kernel) and grading goes on with the next cell. A
kernel cell that kills or hangs the kernel is skipped the same way. The whole notebook has a
wall-clock budget (``notebook_timeout``); cells left when it is spent are not run (their tests
fail, saying so). Output is capped per cell and per notebook, whatever its type.

What happened is in :data:`LAST_RUN` (one notebook at a time per process), read by the grader to
put it in the student's row.
"""

from __future__ import annotations

import ast
import asyncio
import builtins
import contextlib
import io
import json
import os
import re
import socket
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from queue import Empty
from typing import Any, Literal

from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbclient.util import ensure_async, run_sync
from nbformat import NotebookNode
from nbformat.v4 import new_output
from nbgrader.preprocessors import Execute
from traitlets import Float, Integer, Unicode

from dlbgrader import agent
from dlbgrader.cells import grade_id, is_test_cell
from dlbgrader.proxy import Channel, KernelLost, Proxy

AGENT_SOURCE = Path(agent.__file__).read_text(encoding="utf-8")
_SERVE = "__import__('sys').modules['_dlb_agent'].serve()"
_BUILTIN_NAMES = frozenset(dir(builtins))
_OWN_TIMEOUT = re.compile(r"\A\s*# dlbgrader: timeout=(\d+)\b")

Problem = Literal["killed", "hung", "timeout", "budget", "gave-up"]


@dataclass
class CellProblem:
    """A cell that could not run normally: it killed or hung the kernel, timed out, or was not run."""

    index: int
    cell: str  # grade_id or cell id
    kind: Problem
    detail: str

    def text(self) -> str:
        return f"cell {self.cell}: {self.detail}"


@dataclass
class RunReport:
    """What running one notebook took and met (for the student's row and the benchmark)."""

    problems: list[CellProblem] = field(default_factory=list)
    restarts: int = 0
    calls: int = 0  # calls from the test cells into the kernel
    call_seconds: float = 0.0  # their total wall-clock time, round trips included
    seconds: float = 0.0
    kernel_python: str = ""

    def notes(self) -> list[str]:
        return [p.text() for p in self.problems]


#: The report of the notebook this process ran last.
LAST_RUN: RunReport | None = None


def free_names(source: str) -> set[str]:
    """Names a cell reads but never binds (at any level): those it expects to find defined elsewhere."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    loaded: set[str] = set()
    bound: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (loaded if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                bound.add((alias.asname or alias.name).split(".")[0])
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
    return loaded - bound


def _boot_code(socket_path: str) -> str:
    return (
        "def _dlb_boot():\n"
        "    import sys, types\n"
        "    m = types.ModuleType('_dlb_agent')\n"
        f"    exec(compile({AGENT_SOURCE!r}, '<dlb-agent>', 'exec'), m.__dict__)\n"
        "    sys.modules['_dlb_agent'] = m\n"
        f"    m.bootstrap({socket_path!r})\n"
        "_dlb_boot()\n"
        "del _dlb_boot\n"
    )


def _truncation_note(limit: int) -> str:
    return f"\n... output truncated by the grader (more than {limit:,} characters) ...\n"


class DrivenExecute(Execute):  # type: ignore[misc]
    """Execute a notebook with its test cells run by the grader (see the module docstring)."""

    notebook_timeout = Integer(
        600,
        help="Wall-clock seconds for a whole notebook (every cell, restarts included); cells left "
        "when it is spent are not run.",
    ).tag(config=True)
    max_restarts = Integer(
        5, help="Kernel restarts per notebook (after a crash or a hang) before the remaining cells are given up."
    ).tag(config=True)
    output_chars = Integer(100_000, help="Characters of output kept per cell (all output types).").tag(config=True)
    notebook_output_chars = Integer(1_000_000, help="Characters of output kept per notebook.").tag(config=True)
    interrupt_grace = Float(5.0, help="Seconds a kernel has to stop after an interrupt before it is restarted.").tag(
        config=True
    )
    log_dir = Unicode(
        "", help="Folder for the kernels' own stdout/stderr, one log per student ('' discards them)."
    ).tag(config=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # nbgrader's Execute.__init__ passes kernel_manager_class=AsyncKernelManager, which beats the
        # config: honour c.Execute.kernel_manager_class (the sandbox) and default to the grading kernel.
        from dlbgrader.kernel import GradingKernelManager

        self.kernel_manager_class = self.config.Execute.get("kernel_manager_class") or GradingKernelManager

    # ------------------------------------------------------------------------------- the notebook
    def preprocess(self, nb: Any, resources: Any = None, km: Any = None) -> Any:
        global LAST_RUN
        from nbclient import NotebookClient

        NotebookClient.__init__(self, nb, km)
        self.reset_execution_trackers()
        self._check_assign_resources(resources)
        self._report = RunReport()
        LAST_RUN = self._report
        t0 = time.monotonic()
        try:
            run_sync(self._drive)()
        finally:
            self._report.seconds = time.monotonic() - t0
        return self.nb, self.resources

    async def _drive(self) -> None:
        self._cell_timeout: int = int(getattr(self, "timeout", None) or 60)
        self._deadline = time.monotonic() + float(self.notebook_timeout)
        self._ns: dict[str, Any] = {"__name__": "__dlb_tests__", "__builtins__": builtins}
        self._ran: list[int] = []
        self._poisoned: set[int] = set()
        self._given_up = ""
        self._chars: dict[int, int] = {}
        self._total_chars = 0
        self._count = 0
        self.channel: Channel | None = None
        try:
            await self._start()
            for index, cell in enumerate(self.nb.cells):
                if cell.get("cell_type") != "code":
                    continue
                if not cell.source.strip():
                    cell.outputs = []
                    continue
                if self._given_up:
                    self._not_run(cell, index, "gave-up", self._given_up)
                elif time.monotonic() >= self._deadline:
                    self._not_run(
                        cell,
                        index,
                        "budget",
                        f"not run: the notebook's time budget of {self.notebook_timeout} s was used up",
                    )
                elif is_test_cell(cell):
                    await self._test_cell(cell, index)
                else:
                    await self._kernel_cell(cell, index)
        finally:
            await self._stop()

    def _name(self, cell: Any, index: int) -> str:
        return grade_id(cell) or str(cell.get("id") or f"#{index}")

    def _problem(self, cell: Any, index: int, kind: Problem, detail: str) -> None:
        self._report.problems.append(CellProblem(index, self._name(cell, index), kind, detail))

    def _not_run(self, cell: Any, index: int, kind: Problem, why: str) -> None:
        cell.outputs = [new_output("error", ename="NotRun", evalue=why, traceback=[f"NotRun: {why}"])]
        if kind == "budget" and not any(p.kind == "budget" for p in self._report.problems):
            self._problem(cell, index, kind, f"{why} (this cell and those after it)")

    # ---------------------------------------------------------------------------------- kernels
    async def _start(self) -> None:
        self.km = self.create_kernel_manager()
        nb_meta = (self.resources or {}).get("nbgrader") or {}
        if self.log_dir and nb_meta.get("student") and hasattr(self.km, "log_path"):
            folder = Path(self.log_dir) / str(nb_meta.get("assignment", "notebook"))
            folder.mkdir(parents=True, exist_ok=True)
            self.km.log_path = str(folder / f"{nb_meta['student']}.log")
        await self.async_start_new_kernel()
        await self.async_start_new_kernel_client()
        if hasattr(self.km, "kernel_python"):
            self._report.kernel_python = str(self.km.kernel_python())
        ipc = str(self.km.ipc_dir()) if hasattr(self.km, "ipc_dir") else tempfile.mkdtemp(prefix="dlb-ipc-")
        path = os.path.join(ipc, "grader.sock")
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            listener.bind(path)
            os.chmod(path, 0o666)  # the kernel may run under another uid
            listener.listen(1)
            listener.settimeout(float(self.startup_timeout))
            msg_id = await ensure_async(
                self.kc.execute(_boot_code(path), silent=True, store_history=False, stop_on_error=False)
            )
            loop = asyncio.get_running_loop()
            conn, _ = await loop.run_in_executor(None, listener.accept)
            reply = await self._reply(msg_id, float(self.startup_timeout))
            if reply["content"].get("status") != "ok":
                c = reply["content"]
                raise RuntimeError(
                    f"the grader's agent could not start in the kernel: {c.get('ename')}: {c.get('evalue')}"
                )
        finally:
            listener.close()
        if hasattr(self.km, "seal"):
            self.km.seal()
        self.channel = Channel(conn, self._interrupt_from_thread, grace=float(self.interrupt_grace))

    async def _stop(self) -> None:
        if self.channel is not None:
            self._report.calls += self.channel.calls
            self._report.call_seconds += self.channel.seconds
            with contextlib.suppress(OSError):
                self.channel.sock.close()
            self.channel.calls, self.channel.seconds = 0, 0.0
        if getattr(self, "km", None) is not None:
            with contextlib.suppress(Exception):
                await self._async_cleanup_kernel()

    async def _restart(self, why: str) -> None:
        """A fresh kernel with the student's cells that had run so far run again (quietly)."""
        while True:
            self._report.restarts += 1
            if self._report.restarts > self.max_restarts:
                self._given_up = (
                    f"not run: the kernel had to be restarted {self.max_restarts} times "
                    f"(last: {why}); the rest of the notebook was given up"
                )
                await self._stop()
                self.channel = None
                return
            await self._stop()
            await self._start()
            failed = await self._replay()
            if failed is None:
                return
            why = failed

    async def _replay(self) -> str | None:
        """Run again the kernel cells that had run; None if all went well, else why (that cell is dropped)."""
        for i in list(self._ran):
            if i in self._poisoned:
                continue
            cell = self.nb.cells[i]
            remaining = self._deadline - time.monotonic()
            if remaining <= 0:
                return None
            sink = NotebookNode(cell_type="code", source=cell.source, metadata={"execution": {}}, outputs=[])
            msg_id = await ensure_async(self.kc.execute(cell.source, store_history=False, stop_on_error=False))
            poll = asyncio.ensure_future(self._async_poll_output_msg(msg_id, sink, -1 - i))
            try:
                await self._reply(msg_id, min(self._cell_timeout, remaining))
                with contextlib.suppress(asyncio.TimeoutError, Exception):
                    await asyncio.wait_for(poll, 5)
            except (TimeoutError, DeadKernelError, Empty) as exc:
                poll.cancel()
                self._poisoned.add(i)
                what = "killed the kernel" if isinstance(exc, DeadKernelError) else "did not finish in time"
                self._problem(cell, i, "hung", f"{what} when run again after a restart; skipped from then on")
                return f"cell {self._name(cell, i)} {what}"
        return None

    async def _reply(self, msg_id: str, timeout: float) -> dict[str, Any]:
        """The shell reply to ``msg_id`` (checking that the kernel lives)."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no reply within {timeout:.0f} s")
            try:
                msg = await ensure_async(self.kc.shell_channel.get_msg(timeout=min(remaining, 1.0)))
            except Empty:
                if not await ensure_async(self.km.is_alive()):
                    raise DeadKernelError("Kernel died") from None
                continue
            if msg["parent_header"].get("msg_id") == msg_id:
                return msg  # type: ignore[no-any-return]

    def _interrupt_from_thread(self) -> None:
        """Interrupt the kernel from the test cell's thread (the event loop runs in the main thread)."""
        fut = asyncio.run_coroutine_threadsafe(ensure_async(self.km.interrupt_kernel()), self._loop)
        fut.result(timeout=10)

    # ---------------------------------------------------------------------------------- cells
    async def _kernel_cell(self, cell: Any, index: int) -> None:
        if self.channel is None or self.channel.lost:
            await self._restart(self.channel.lost if self.channel else "no kernel")
            if self._given_up:
                self._not_run(cell, index, "gave-up", self._given_up)
                return
        self.timeout = max(1, int(min(self._cell_timeout, self._deadline - time.monotonic())))
        try:
            await self.async_execute_cell(cell, index, store_history=True)
        except DeadKernelError:
            self._poisoned.add(index)
            why = "killed the Python kernel (e.g. os._exit, a crash or running out of memory)"
            self._problem(cell, index, "killed", f"{why}; it was skipped and the notebook went on in a fresh kernel")
            cell.outputs.append(new_output("error", ename="KernelDied", evalue=why, traceback=[f"KernelDied: {why}"]))
            await self._restart(f"cell {self._name(cell, index)} {why}")
            return
        except CellTimeoutError:
            self._poisoned.add(index)
            why = f"did not stop when interrupted after the {self.timeout} s time limit (it swallows KeyboardInterrupt)"
            self._problem(cell, index, "hung", f"{why}; it was skipped and the notebook went on in a fresh kernel")
            cell.outputs.append(
                new_output("error", ename="CellTimeoutError", evalue=why, traceback=[f"CellTimeoutError: {why}"])
            )
            await self._restart(f"cell {self._name(cell, index)} {why}")
            return
        finally:
            self.timeout = self._cell_timeout
        if any(o.get("output_type") == "error" and o.get("ename") == "CellTimeoutError" for o in cell.outputs):
            self._poisoned.add(index)
            self._problem(
                cell, index, "timeout", f"ran longer than the {self._cell_timeout} s time limit and was interrupted"
            )
        self._ran.append(index)

    async def _test_cell(self, cell: Any, index: int) -> None:
        cell.outputs = []
        if self.channel is None or self.channel.lost:
            await self._restart(self.channel.lost if self.channel else "no kernel")
            if self._given_up or self.channel is None:
                self._not_run(cell, index, "gave-up", self._given_up or "no kernel")
                return
        channel = self.channel
        self._loop = asyncio.get_running_loop()
        serve_id = await ensure_async(self.kc.execute(_SERVE, silent=False, store_history=False, stop_on_error=False))
        printed_by_student = NotebookNode(cell_type="code", source="", metadata={"execution": {}}, outputs=[])
        poll = asyncio.ensure_future(self._async_poll_output_msg(serve_id, printed_by_student, index))
        channel.begin(max(0.5, min(float(self._cell_limit(cell)), self._deadline - time.monotonic())))
        error, printed = await asyncio.to_thread(self._run_test_source, cell, index)
        if not channel.lost:
            with contextlib.suppress(Exception):
                channel.begin(float(self.interrupt_grace))
                await asyncio.to_thread(channel.forget)
            channel.stop()
            try:
                await self._reply(serve_id, float(self.interrupt_grace) + 5)
                await asyncio.wait_for(poll, 5)
            except (TimeoutError, DeadKernelError):
                channel.lost = channel.lost or "the kernel did not finish the test cell"
        if not poll.done():
            poll.cancel()
        channel.begin(None)
        self._count += 1
        outputs = []
        student_text = "".join(
            o.get("text", "") for o in printed_by_student.outputs if o.get("output_type") == "stream"
        )
        text = student_text + printed
        if text:
            limit_chars = max(0, min(int(self.output_chars), int(self.notebook_output_chars) - self._total_chars))
            if len(text) > limit_chars:
                text = text[:limit_chars] + _truncation_note(int(self.output_chars))
            self._total_chars += len(text)
            outputs.append(new_output("stream", name="stdout", text=text))
        if error is not None:
            ename, evalue = error
            evalue = evalue[:5000]
            outputs.append(new_output("error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"]))
            if ename == "CallTimeout" and not channel.lost:
                # a student's function that outlived the test cell's time limit (and was interrupted): the
                # test failed like any other, and the row says why (once per message: a capstone's later
                # tests re-raise the same record)
                detail = evalue.splitlines()[0][:300] if evalue else "a call ran out of time"
                if not any(p.kind == "timeout" and p.detail == detail for p in self._report.problems):
                    self._problem(cell, index, "timeout", detail)
            if channel.lost:
                kind: Problem = "hung" if "did not stop" in channel.lost else "killed"
                self._problem(
                    cell,
                    index,
                    kind,
                    f"{channel.lost}; this test failed and a fresh kernel ran the rest of the notebook",
                )
        cell.outputs = outputs
        cell["execution_count"] = self._count

    def _cell_limit(self, cell: Any) -> int:
        """A test cell's time limit: a first line ``# dlbgrader: timeout=SECONDS`` in the test cell (its
        source comes from the gradebook, never from the submission) sets its own, e.g. for a capstone that
        trains a network; otherwise the configured cell time limit."""
        m = _OWN_TIMEOUT.match(str(cell.get("source", "")))
        own = int(m.group(1)) if m else 0
        return own if 0 < own <= 3600 else self._cell_timeout

    def _run_test_source(self, cell: Any, index: int) -> tuple[tuple[str, str] | None, str]:
        """Run one test cell here (in a worker thread); return (the error's name and message, or None;
        what it printed)."""
        ns = self._ns
        buf = io.StringIO()
        channel = self.channel
        assert channel is not None

        def current() -> Channel:
            if self.channel is None:
                raise KernelLost("no kernel")
            return self.channel

        def show(message: Any, category: Any, *args: Any, **kwargs: Any) -> None:
            buf.write(f"{category.__name__}: {message}\n")

        try:
            with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf), warnings.catch_warnings():
                warnings.showwarning = show
                names = sorted(free_names(cell.source) - set(ns) - _BUILTIN_NAMES)
                if names:
                    kinds = channel.describe(names)
                    for name, kind in kinds.items():
                        if kind == "callable":
                            ns[name] = Proxy(current, name)
                    values = [n for n, k in kinds.items() if k == "value"]
                    if values:
                        ns.update(channel.fetch(values))
                code = compile(cell.source, f"<test cell {self._name(cell, index)}>", "exec")
                exec(code, ns)
            return None, buf.getvalue()
        except BaseException as exc:
            return (type(exc).__name__, str(exc) or type(exc).__name__), buf.getvalue()

    # --------------------------------------------------------------------------------- outputs
    def output(self, outs: Any, msg: Any, display_id: Any, cell_index: int) -> Any:
        """Keep at most ``output_chars`` per cell and ``notebook_output_chars`` per notebook, any type."""
        content = msg.get("content", {})
        kind = msg.get("msg_type")
        used = self._chars.get(cell_index, 0)
        room = min(int(self.output_chars) - used, int(self.notebook_output_chars) - self._total_chars)
        if kind == "stream":
            text = content.get("text", "")
            size = len(text)
            if room <= 0:
                return None
            if size > room:
                content["text"] = text[:room] + _truncation_note(int(self.output_chars))
                size = room + 1
        elif kind == "error":
            content["evalue"] = str(content.get("evalue", ""))[:5000]
            content["traceback"] = [str(t)[:5000] for t in content.get("traceback", [])[:50]]
            size = len(content["evalue"]) + sum(len(t) for t in content["traceback"])
        else:
            size = len(json.dumps(content.get("data", {}))) + len(json.dumps(content.get("metadata", {})))
            if size > room:
                if room > 0:
                    note = new_output("stream", name="stdout", text=_truncation_note(int(self.output_chars)))
                    outs.append(note)
                    self._chars[cell_index] = int(self.output_chars)
                return None
        self._chars[cell_index] = used + size
        self._total_chars += size
        return super().output(outs, msg, display_id, cell_index)
