"""The grader's side of a call into a student's kernel: proxies for the student's functions.

A test cell runs in the grader's process (:mod:`dlbgrader.execute`). Every name it uses that the
student's notebook defines as a function is bound to a :class:`Proxy`; calling it sends the name and
the arguments, as data, to the agent in the kernel (:mod:`dlbgrader.agent`) and rebuilds the result
as data here: exact ``np.ndarray``s, numbers, tuples, dicts. Whatever is not data (a cache of the
student's own class, a returned ``predict`` function) stays in the kernel behind a :class:`Handle`,
which can be passed back or called. A callable of the test's (``f`` of ``numerical_gradient``) is
run here when the student's code calls it. Arrays the student's function changed in place are
changed here too, so a test sees the mutation exactly as it would in the student's own kernel; a
warning the student's code raised is raised again here; an exception is raised here as the same
built-in exception type, with the student's message.

Time: every call must finish before the channel's deadline (the test cell's time limit). Then the
kernel is interrupted; a call that returns after the interrupt fails the test with
:class:`CallTimeout`; a kernel that does not answer, or dies, raises :class:`KernelLost`, after
which the executor starts a fresh kernel for the next test cell.
"""

from __future__ import annotations

import builtins
import itertools
import socket
import threading
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from dlbgrader import agent as wire


class StudentError(Exception):
    """The student's code raised an exception that is not a built-in one (its name is in the message)."""


class CallTimeout(AssertionError):
    """A call to a student's function did not finish within the time limit (it was interrupted)."""


class KernelLost(AssertionError):
    """The kernel died, or does not answer: this test fails and the kernel is started again."""


def _exception_class(name: str) -> type[Exception]:
    cls = getattr(builtins, name, None)
    if isinstance(cls, type) and issubclass(cls, Exception) and not issubclass(cls, Warning):
        return cls
    return StudentError


def _warning_class(name: str) -> type[Warning]:
    cls = getattr(builtins, name, None)
    return cls if isinstance(cls, type) and issubclass(cls, Warning) else UserWarning


class Channel:
    """One connection to the agent of one kernel. Used by one thread at a time (the test cell's)."""

    def __init__(self, sock: socket.socket, interrupt: Callable[[], None], *, grace: float = 5.0) -> None:
        self.sock = sock
        self.interrupt = interrupt
        self.grace = grace
        #: Seconds the current test cell may spend in calls to the kernel (None: no limit). Only the
        #: calls count, not the test's own work between them (e.g. computing PyTorch's answer).
        self.limit: float | None = None
        self.spent = 0.0
        self.limit_text = ""
        self.lost: str = ""  # why the kernel is gone ('' while it works)
        self._callbacks: dict[int, Callable[..., Any]] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self.calls = 0
        self.seconds = 0.0

    # ---------------------------------------------------------------------------------- encoding
    def encode(self, value: Any) -> Any:
        def other(obj: Any) -> Any:
            if isinstance(obj, Handle):
                if obj.channel is not self:
                    raise KernelLost("a value from an earlier kernel (it was restarted since)")
                return {"$h": obj.id}
            if isinstance(obj, Proxy):
                raise wire.WireError(f"cannot pass the student's function {obj.name} itself as an argument")
            if callable(obj):
                cid = next(self._ids)
                self._callbacks[cid] = obj
                return {"$cb": cid}
            raise wire.WireError(f"cannot send a {type(obj).__name__} to the student's kernel")

        return wire.to_wire(value, other)

    def decode(self, obj: Any) -> Any:
        def special(kind: str, payload: Any) -> Any:
            if kind == "$h":
                return Handle(self, int(payload))
            raise wire.WireError("the kernel sent a callback where a value was expected")

        return wire.from_wire(obj, special)

    # ---------------------------------------------------------------------------------- requests
    def begin(self, limit: float | None) -> None:
        """A new test cell: it may keep the kernel busy for ``limit`` seconds in all."""
        self.limit = limit
        self.spent = 0.0
        self.limit_text = "" if limit is None else f" of {limit:.0f} s"

    def _left(self, since: float) -> float | None:
        return None if self.limit is None else self.limit - self.spent - (time.perf_counter() - since)

    def _recv(self, what: str, since: float) -> Any:
        """The next message, within the time left; interrupt the kernel when it runs out."""
        left = self._left(since)
        if left is None or left > 0:
            self.sock.settimeout(left)
            try:
                return wire.recv(self.sock)
            except TimeoutError:
                pass
            except (EOFError, OSError) as exc:
                self._lose(
                    f"the kernel died while running {what} ({type(exc).__name__}: e.g. os._exit, a crash, "
                    f"or running out of memory)"
                )
        # Over time: interrupt, and give the kernel a moment to stop.
        try:
            self.interrupt()
        except Exception:
            pass
        self.sock.settimeout(self.grace)
        try:
            wire.recv(self.sock)  # the interrupted call's reply (or a result that raced the interrupt)
        except (TimeoutError, EOFError, OSError):
            self._lose(
                f"{what} did not stop when interrupted after the time limit{self.limit_text} "
                f"(it ignores KeyboardInterrupt, or the kernel hung)"
            )
        raise CallTimeout(
            f"{what} did not finish within the time limit{self.limit_text} and was interrupted "
            f"(an endless loop, or far too slow?)"
        )

    def _lose(self, why: str) -> None:
        self.lost = self.lost or why
        raise KernelLost(why)

    def request(self, message: dict[str, Any], what: str) -> dict[str, Any]:
        if self.lost:
            raise KernelLost(self.lost)
        if not self._lock.acquire(blocking=False):
            raise RuntimeError("a test cannot call a student's function from inside a function it passed to one")
        t0 = time.perf_counter()
        # The time of the grader's own callbacks counts too: a student's loop that calls one forever
        # must run out of time like any other endless loop.
        since = t0
        try:
            try:
                wire.send(self.sock, message)
            except OSError as exc:
                self._lose(f"the kernel died before {what} ran ({type(exc).__name__})")
            while True:
                reply = self._recv(what, since)
                if not isinstance(reply, dict):
                    raise wire.WireError("malformed reply from the kernel")
                if "callback" in reply:
                    self._answer_callback(reply)
                    continue
                return reply
        finally:
            elapsed = time.perf_counter() - t0
            self.seconds += elapsed
            self.spent += elapsed
            self._lock.release()

    def _answer_callback(self, msg: dict[str, Any]) -> None:
        fn = self._callbacks.get(int(msg.get("callback", -1)))
        try:
            if fn is None:
                raise wire.WireError("unknown callback")
            args = self.decode(msg.get("args"))
            kwargs = self.decode(msg.get("kwargs"))
            out = {"op": "cb_result", "value": self.encode(fn(*args, **dict(kwargs)))}
        except Exception as exc:
            out = {"op": "cb_error", "message": f"{type(exc).__name__}: {exc}"}
        try:
            wire.send(self.sock, out)
        except OSError:
            self._lose("the kernel died while a function it was given ran")

    def call(self, target: dict[str, Any], args: tuple[Any, ...], kwargs: dict[str, Any], what: str) -> Any:
        self.calls += 1
        message = {"op": "call", "target": target, "args": self.encode(args), "kwargs": self.encode(kwargs)}
        reply = self.request(message, what)
        _apply_changes(self, reply.get("mutated") or [], args, kwargs)
        for category, text in reply.get("warnings") or []:
            warnings.warn(f"{text} (in {what})", _warning_class(str(category)), stacklevel=3)
        if reply.get("ok"):
            return self.decode(reply.get("value"))
        err = reply.get("error") or {}
        ename, message_text = str(err.get("type", "Error")), str(err.get("message", ""))
        where = [str(w) for w in err.get("where") or []]
        if ename == "KeyboardInterrupt":
            raise CallTimeout(f"{what} was interrupted")
        if ename == "NotImplementedError" and not message_text:
            raise NotImplementedError(
                f"{what}: not implemented yet (replace `raise NotImplementedError()` with your code)"
            )
        if ename == "ModuleNotFoundError" and "graded work runs with NumPy" in message_text:
            raise ReferenceUsed(
                f"{what}: {message_text}. Graded work must be your own NumPy code; no points for this test."
            )
        at = f" (at {where[-1]})" if where else ""
        cls = _exception_class(ename)
        text = (
            f"{what} raised {ename}: {message_text}{at}"
            if cls is StudentError
            else f"{message_text} [raised by {what}{at}]"
        )
        raise cls(text)

    def describe(self, names: list[str]) -> dict[str, str]:
        reply = self.request({"op": "describe", "names": names}, "looking up names")
        return {str(k): str(v) for k, v in (reply.get("kinds") or {}).items()}

    def fetch(self, names: list[str]) -> dict[str, Any]:
        reply = self.request({"op": "fetch", "names": names}, "reading values")
        return {str(k): self.decode(v) for k, v in (reply.get("values") or {}).items()}

    def forget(self) -> None:
        """Drop the kernel's handles and this side's callbacks (between test cells)."""
        self._callbacks.clear()
        self.request({"op": "forget"}, "cleaning up")

    def stop(self) -> None:
        """End the agent's serve loop (the cell running it then finishes)."""
        if not self.lost:
            try:
                wire.send(self.sock, {"op": "stop"})
            except OSError:
                self.lost = "the kernel died"


class ReferenceUsed(AssertionError):
    """Graded work tried to use PyTorch or the course's reference package, which grading does not offer."""


def _apply_changes(ch: Channel, changes: list[Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Make in-place changes the student's function made to its arguments visible here."""
    for path, new in changes:
        try:
            obj: Any = {"a": args, "k": kwargs}[path[0]]
            for step in path[1:]:
                obj = list(obj.values())[step] if isinstance(obj, dict) else obj[step]
        except (KeyError, IndexError, TypeError):
            continue
        if isinstance(obj, np.ndarray):
            if new is None:
                continue
            value = ch.decode(new)
            if isinstance(value, np.ndarray) and value.shape == obj.shape and obj.flags.writeable:
                obj[...] = value.astype(obj.dtype, copy=False)
        elif isinstance(obj, np.random.Generator) and isinstance(new, dict) and "$g" in new:
            obj.bit_generator.state = wire.generator_from_state(new["$g"]).bit_generator.state
        elif type(obj) is dict:  # entries replaced, added or removed by the student's function
            value = ch.decode(new)
            if isinstance(value, dict):
                obj.clear()
                obj.update(value)
        elif type(obj) is list:
            value = ch.decode(new)
            if isinstance(value, list):
                obj[:] = value


class Proxy:
    """A student's function, by name: each call runs the notebook's current definition in the kernel."""

    def __init__(self, channel_of: Callable[[], Channel], name: str) -> None:
        self._channel_of = channel_of
        self.name = name
        self.__name__ = name
        self.__qualname__ = name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._channel_of().call({"name": self.name}, args, kwargs, f"{self.name}()")

    def __repr__(self) -> str:
        return f"<your function {self.name}>"


class Handle:
    """Something of the student's that stays in the kernel (a cache, a returned function, a model)."""

    def __init__(self, channel: Channel, hid: int, attr: str | None = None) -> None:
        self.channel = channel
        self.id = hid
        self._attr = attr

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        what = "the function your code returned" if self._attr is None else f"the method .{self._attr}()"
        return self.channel.call({"handle": self.id, "attr": self._attr}, args, kwargs, what)

    def __getattr__(self, attr: str) -> Handle:
        if attr.startswith("__") or self._attr is not None:
            raise AttributeError(attr)
        return Handle(self.channel, self.id, attr)

    def __repr__(self) -> str:
        return "<a value kept in your kernel>"
