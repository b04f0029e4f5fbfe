"""The grader's agent inside a student's kernel, and the wire format both sides share.

When a notebook is graded, its test cells run in the grader's process, not in the student's kernel
(:mod:`dlbgrader.execute`). A test cell calls the student's functions through proxies
(:mod:`dlbgrader.proxy`); each call travels as *data* over a Unix socket to this agent, which runs in
the kernel, calls the student's function and sends the result back as data. The kernel never
receives test code, expected values or anything else of the grader's but the arguments of the calls.

This module is NumPy only and self-contained: the grader sends its source text to the kernel (which
need not have ``dlbgrader`` or ``dlbasics`` installed) and runs it there; the grader imports the same
module for :func:`to_wire` and :func:`from_wire`, so the two sides cannot disagree on the format.

Wire format (JSON; arrays as base64 of their C-order bytes; no pickle anywhere):

* ``None``, ``bool``, ``int``, ``float``, ``str``: themselves; a list: a list;
* ``{"$t": [...]}`` a tuple, ``{"$d": [[k, v], ...]}`` a dict, ``{"$c": [re, im]}`` a complex,
  ``{"$b": base64}`` bytes;
* ``{"$a": [dtype, shape, base64]}`` an ``np.ndarray`` of booleans or numbers (exactly that class:
  subclasses and object arrays are not data), ``{"$s": [dtype, base64]}`` a NumPy scalar;
* ``{"$g": state}`` a ``np.random.Generator`` (its bit generator's state: the callee draws from an
  equal generator, and the caller's generator is advanced to the callee's final state);
* ``{"$h": id}`` an object that stays in the kernel (a cache, a returned function, an optimizer
  state of the student's own class): the grader holds a handle and can pass it back or call it;
* ``{"$cb": id}`` a callable of the grader's (the ``f`` of ``numerical_gradient``): calling it in
  the kernel asks the grader to run it and send the result.

Messages are an 8-byte big-endian length followed by that many bytes of JSON.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import struct
import sys
import traceback
import warnings
from typing import Any, Callable

import numpy as np

#: Largest message either side accepts (bytes of JSON).
MAX_MESSAGE = 256 * 1024 * 1024
_DATA_KINDS = "biufc"


class WireError(ValueError):
    """A value that cannot travel, or a malformed message."""


# ------------------------------------------------------------------------------------------- values
def to_wire(value: Any, other: Callable[[Any], Any]) -> Any:
    """``value`` as JSON-able data; ``other(obj)`` encodes whatever is not plain data."""
    if value is None or isinstance(value, (bool, str)):
        return value
    t = type(value)
    if t is int or t is float:
        return value
    if t is np.ndarray:
        if value.dtype.kind not in _DATA_KINDS:
            return other(value)
        # tobytes() is C order whatever the layout (np.ascontiguousarray would turn a 0-d array into 1-d)
        return {"$a": [value.dtype.str, list(value.shape), base64.b64encode(value.tobytes()).decode("ascii")]}
    if isinstance(value, np.generic) and value.dtype.kind in _DATA_KINDS:
        return {"$s": [value.dtype.str, base64.b64encode(value.tobytes()).decode("ascii")]}
    if t is list:
        return [to_wire(v, other) for v in value]
    if t is tuple:
        return {"$t": [to_wire(v, other) for v in value]}
    if t is dict:
        return {"$d": [[to_wire(k, other), to_wire(v, other)] for k, v in value.items()]}
    if t is complex:
        return {"$c": [value.real, value.imag]}
    if t is bytes:
        return {"$b": base64.b64encode(value).decode("ascii")}
    if t is np.random.Generator:
        return {"$g": _plain_state(value.bit_generator.state)}
    return other(value)


def _plain_state(state: Any) -> Any:
    """A bit generator's state with NumPy integers and arrays turned into JSON-able values."""
    if isinstance(state, dict):
        return {str(k): _plain_state(v) for k, v in state.items()}
    if isinstance(state, np.ndarray):
        return {"$a": [state.dtype.str, list(state.shape), base64.b64encode(state.tobytes()).decode("ascii")]}
    if isinstance(state, np.integer):
        return int(state)
    return state


def _state_from_plain(state: Any) -> Any:
    if isinstance(state, dict):
        if "$a" in state and len(state) == 1:
            return _array(state["$a"])
        return {k: _state_from_plain(v) for k, v in state.items()}
    return state


def generator_from_state(state: Any) -> np.random.Generator:
    state = _state_from_plain(state)
    name = state.get("bit_generator") if isinstance(state, dict) else None
    cls = getattr(np.random, str(name), None) if isinstance(name, str) else None
    if cls is None or not isinstance(cls, type) or not issubclass(cls, np.random.BitGenerator):
        raise WireError(f"unknown bit generator {name!r}")
    bg = cls()
    bg.state = state
    return np.random.Generator(bg)


def _array(spec: Any) -> np.ndarray[Any, Any]:
    try:
        dtype_str, shape, b64 = spec
        dtype = np.dtype(str(dtype_str))
        shape = tuple(int(s) for s in shape)
    except (TypeError, ValueError) as exc:
        raise WireError(f"malformed array: {exc}") from None
    if dtype.kind not in _DATA_KINDS or any(s < 0 for s in shape):
        raise WireError(f"not a data array: dtype {dtype}, shape {shape}")
    raw = base64.b64decode(b64, validate=True)
    count = 1
    for s in shape:
        count *= s
    if len(raw) != count * dtype.itemsize:
        raise WireError(
            f"array of shape {shape} and dtype {dtype} needs {count * dtype.itemsize} bytes, got {len(raw)}"
        )
    return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()


def from_wire(obj: Any, special: Callable[[str, Any], Any]) -> Any:
    """The value that ``obj`` encodes; ``special(kind, payload)`` rebuilds handles and callbacks."""
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, list):
        return [from_wire(v, special) for v in obj]
    if isinstance(obj, dict) and len(obj) == 1:
        ((kind, payload),) = obj.items()
        if kind == "$a":
            return _array(payload)
        if kind == "$t":
            return tuple(from_wire(v, special) for v in payload)
        if kind == "$d":
            return {from_wire(k, special): from_wire(v, special) for k, v in payload}
        if kind == "$s":
            dtype = np.dtype(str(payload[0]))
            if dtype.kind not in _DATA_KINDS:
                raise WireError(f"not a data scalar: {dtype}")
            raw = base64.b64decode(payload[1], validate=True)
            if len(raw) != dtype.itemsize:
                raise WireError("malformed scalar")
            return np.frombuffer(raw, dtype=dtype)[0]
        if kind == "$c":
            return complex(float(payload[0]), float(payload[1]))
        if kind == "$b":
            return base64.b64decode(payload, validate=True)
        if kind == "$g":
            return generator_from_state(payload)
        if kind in ("$h", "$cb"):
            return special(kind, payload)
    raise WireError(f"malformed value: {str(obj)[:80]}")


# ----------------------------------------------------------------------------------------- messages
def send(sock: socket.socket, message: Any) -> None:
    data = json.dumps(message, separators=(",", ":")).encode("utf-8")
    if len(data) > MAX_MESSAGE:
        raise WireError(f"message of {len(data)} bytes is larger than the limit of {MAX_MESSAGE}")
    sock.sendall(struct.pack(">Q", len(data)) + data)


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    chunks = []
    while n:
        chunk = sock.recv(min(n, 1 << 20))
        if not chunk:
            raise EOFError("connection closed")
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def recv(sock: socket.socket) -> Any:
    (size,) = struct.unpack(">Q", _recv_exact(sock, 8))
    if size > MAX_MESSAGE:
        raise WireError(f"message of {size} bytes is larger than the limit of {MAX_MESSAGE}")
    return json.loads(_recv_exact(sock, size).decode("utf-8"))


# ------------------------------------------------------------------------------ the kernel's side
_sock: socket.socket | None = None
_serving: list[socket.socket | None] = [None]  # the connection serve() answers on
_handles: dict[int, Any] = {}
_next_handle = [0]


def connect(path: str) -> None:
    """Connect to the grader (once, right after the kernel started)."""
    global _sock
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    _sock = s


def _handle(obj: Any) -> Any:
    _next_handle[0] += 1
    _handles[_next_handle[0]] = obj
    return {"$h": _next_handle[0]}


def _callback(cb_id: Any) -> Callable[..., Any]:
    sock = _serving[0] or _sock

    def grader_function(*args: Any, **kwargs: Any) -> Any:
        assert sock is not None
        send(sock, {"callback": cb_id, "args": to_wire(args, _handle), "kwargs": to_wire(kwargs, _handle)})
        reply = recv(sock)
        if reply.get("op") == "cb_result":
            return from_wire(reply.get("value"), _special)
        raise RuntimeError(str(reply.get("message") or "the grader's function failed"))

    return grader_function


def _special(kind: str, payload: Any) -> Any:
    if kind == "$h":
        try:
            return _handles[int(payload)]
        except (KeyError, ValueError, TypeError):
            raise WireError("this value no longer exists in the kernel (stale handle)") from None
    return _callback(payload)


def _decode_tracked(obj: Any, path: list[Any], seen: list[tuple[list[Any], Any, Any]]) -> Any:
    """Like :func:`from_wire`, remembering every array and generator (with a pristine copy) by path."""
    if isinstance(obj, list):
        return [_decode_tracked(v, path + [i], seen) for i, v in enumerate(obj)]
    if isinstance(obj, dict) and len(obj) == 1:
        ((kind, payload),) = obj.items()
        if kind == "$t":
            return tuple(_decode_tracked(v, path + [i], seen) for i, v in enumerate(payload))
        if kind == "$d":
            return {from_wire(k, _special): _decode_tracked(v, path + [i], seen) for i, (k, v) in enumerate(payload)}
        value = from_wire(obj, _special)
        if isinstance(value, np.ndarray):
            seen.append((path, value, value.copy()))
        elif isinstance(value, np.random.Generator):
            seen.append((path, value, None))
        return value
    return from_wire(obj, _special)


def _changes(seen: list[tuple[list[Any], Any, Any]]) -> list[Any]:
    out = []
    for path, value, before in seen:
        if isinstance(value, np.ndarray):
            if value.shape != before.shape or value.dtype != before.dtype or value.tobytes() != before.tobytes():
                out.append([path, to_wire(value, _handle) if type(value) is np.ndarray else None])
        else:
            out.append([path, to_wire(value, _handle)])
    return out


def _target(spec: dict[str, Any], namespace: dict[str, Any]) -> Any:
    if "name" in spec:
        name = str(spec["name"])
        if name not in namespace:
            raise NameError(f"name '{name}' is not defined (run the cell that defines it)")
        obj = namespace[name]
    else:
        obj = _special("$h", spec.get("handle"))
    attr = spec.get("attr")
    return getattr(obj, str(attr)) if attr else obj


def _error(exc: BaseException) -> dict[str, Any]:
    tb = traceback.extract_tb(exc.__traceback__)
    where = [f"{f.name}, line {f.lineno}: {f.line}" for f in tb if not f.filename.startswith("<dlb-agent")][-3:]
    return {"type": type(exc).__name__, "message": str(exc)[:2000], "where": where}


def _existing_handle(obj: Any) -> Any:
    for hid, kept in _handles.items():
        if kept is obj:
            return {"$h": hid}
    return _handle(obj)


def _containers(request: dict[str, Any], args: Any, kwargs: Any) -> list[tuple[list[Any], Any, Any]]:
    """The dict and list arguments, with their wire form as sent (to see afterwards whether they changed)."""
    found: list[tuple[list[Any], Any, Any]] = []
    sent_args = (request.get("args") or {}).get("$t", []) if isinstance(request.get("args"), dict) else []
    for i, (value, sent) in enumerate(zip(args, sent_args)):
        if type(value) in (dict, list):
            found.append((["a", i], value, sent))
    sent_kwargs = (request.get("kwargs") or {}).get("$d", []) if isinstance(request.get("kwargs"), dict) else []
    for i, ((_, sent), value) in enumerate(zip(sent_kwargs, kwargs.values())):
        if type(value) in (dict, list):
            found.append((["k", i], value, sent))
    return found


def _call(request: dict[str, Any], namespace: dict[str, Any]) -> dict[str, Any]:
    seen: list[tuple[list[Any], Any, Any]] = []
    caught: list[Any] = []
    try:
        fn = _target(request.get("target") or {}, namespace)
        args = _decode_tracked(request.get("args"), ["a"], seen)
        kwargs = _decode_tracked(request.get("kwargs"), ["k"], seen)
        containers = _containers(request, args, kwargs)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with np.errstate(over="warn", divide="warn", invalid="warn", under="ignore"):
                result = fn(*args, **kwargs)
        reply: dict[str, Any] = {"ok": True, "value": to_wire(result, _handle)}
    except KeyboardInterrupt:
        reply = {"ok": False, "error": {"type": "KeyboardInterrupt", "message": "interrupted", "where": []}}
    except Exception as exc:  # the student's error: reported to the grader as data
        reply = {"ok": False, "error": _error(exc)}
    try:
        reply["mutated"] = _changes(seen)
    except Exception:
        reply["mutated"] = []
    try:  # a dict or list argument whose entries were replaced (not only arrays changed in place)
        for path, value, before in locals().get("containers", []):
            after = to_wire(value, _existing_handle)
            if after != before:
                reply["mutated"].append([path, after])
    except Exception:
        pass
    reply["warnings"] = [[w.category.__name__, str(w.message)[:500]] for w in caught[:20]]
    return reply


def _describe(names: list[str], namespace: dict[str, Any]) -> dict[str, Any]:
    kinds: dict[str, str] = {}
    for name in names:
        if name not in namespace:
            kinds[name] = "missing"
        elif callable(namespace[name]):
            kinds[name] = "callable"
        else:
            kinds[name] = "value"
    return {"ok": True, "kinds": kinds}


def _fetch(names: list[str], namespace: dict[str, Any]) -> dict[str, Any]:
    return {"ok": True, "values": {n: to_wire(namespace[n], _handle) for n in names if n in namespace}}


def serve(namespace: dict[str, Any] | None = None, sock: socket.socket | None = None) -> None:
    """Answer the grader's requests until it says stop (run by the grader as one cell per test cell).

    ``namespace``: where the student's names live (default: the kernel's ``__main__``); ``sock``: the
    connection (default: the one :func:`connect` made)."""
    main = sys.modules["__main__"].__dict__ if namespace is None else namespace
    sock = sock or _sock
    if sock is None:
        raise RuntimeError("the grader's agent is not connected")
    _serving[0] = sock
    while True:
        try:
            request = recv(sock)
        except KeyboardInterrupt:
            continue  # an interrupt that arrived between calls
        except (EOFError, OSError):
            return
        op = request.get("op")
        if op == "stop":
            return
        try:
            if op == "call":
                reply = _call(request, main)
            elif op == "describe":
                reply = _describe(list(request.get("names") or []), main)
            elif op == "fetch":
                reply = _fetch(list(request.get("names") or []), main)
            elif op == "forget":
                _handles.clear()
                reply = {"ok": True}
            else:
                reply = {"ok": False, "error": {"type": "WireError", "message": f"unknown op {op!r}", "where": []}}
        except KeyboardInterrupt:
            reply = {"ok": False, "error": {"type": "KeyboardInterrupt", "message": "interrupted", "where": []}}
        except Exception as exc:
            reply = {"ok": False, "error": _error(exc)}
        try:
            send(sock, reply)
        except WireError as exc:
            send(
                sock,
                {
                    "ok": False,
                    "error": {"type": "WireError", "message": str(exc), "where": []},
                    "mutated": [],
                    "warnings": [],
                },
            )
        except KeyboardInterrupt:
            continue


# What the kernel is told about packages it does not have: graded work is NumPy only.
_NOT_HERE = ("torch", "dlbasics", "dlbgrader", "tensorflow", "jax", "sklearn", "scipy")


class _NotAvailable:
    """A meta path finder that names the rule when a student imports what grading does not offer."""

    @staticmethod
    def find_spec(name: str, path: Any = None, target: Any = None) -> None:
        top = name.split(".", 1)[0]
        if top in _NOT_HERE:
            raise ModuleNotFoundError(
                f"No module named '{name}': graded work runs with NumPy and matplotlib only "
                f"(PyTorch, the course's reference package and other libraries are not installed where "
                f"notebooks are graded)",
                name=name,
            )
        return None


def install_import_rule() -> None:
    if not any(isinstance(f, _NotAvailable) or f is _NotAvailable for f in sys.meta_path):
        sys.meta_path.insert(0, _NotAvailable)


def bootstrap(path: str) -> None:
    """Everything the grader runs in a fresh kernel before the student's first cell."""
    os.environ.pop("DLB_AGENT_SOCKET", None)
    install_import_rule()
    connect(path)
