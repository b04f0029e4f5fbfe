"""PyTorch's answers to a hidden test, computed once per grading process, not once per student.

A hidden test compares a student's function with PyTorch on inputs the test makes from fixed
seeds. Those inputs do not depend on the student, so neither do PyTorch's answers. A test cell
writes its PyTorch computation as a function of its inputs, decorated with :func:`torch_reference`::

    @torch_reference
    def torch_sigmoid(x, dout):
        import torch
        xt = torch.tensor(x, requires_grad=True)
        torch.sigmoid(xt).backward(torch.tensor(dout))
        return xt.detach().sigmoid().numpy(), xt.grad.numpy()

and calls it after the student's function. When grading, test cells run in the grader's process
(:mod:`dlbgrader.execute`), so the decorated function runs there, never in the student's kernel; the
decorator remembers each result by a key made of the function's code and its arguments' bytes, and
the next student with the same call gets the remembered value (a copy). In a student's own Jupyter
it simply computes.

The function must depend on nothing but its arguments (and PyTorch): that is what makes the result a
function of the key. Arguments may be arrays, numbers, strings, None, and tuples, lists or dicts of
them; a call with any other argument is computed every time.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import sys
import types
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

F = TypeVar("F", bound=Callable[..., Any])

#: key -> result, for this process (bounded: the oldest entries go first beyond this many).
_MEMO: dict[str, Any] = {}
MAX_ENTRIES = 4096


class _Uncacheable(Exception):
    pass


def _code_digest(h: Any, code: types.CodeType) -> None:
    """What a code object does, without where it was defined (file name and line numbers vary)."""
    h.update(code.co_code)
    h.update(
        repr(
            (
                code.co_names,
                code.co_varnames,
                code.co_freevars,
                code.co_cellvars,
                code.co_argcount,
                code.co_kwonlyargcount,
                code.co_flags,
            )
        ).encode()
    )
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            _code_digest(h, const)
        else:
            h.update(repr(const).encode())
        h.update(b"\0")


def _value_digest(h: Any, value: Any) -> None:
    if isinstance(value, np.ndarray):
        if value.dtype.hasobject:
            raise _Uncacheable
        h.update(f"nd:{value.dtype.str}:{value.shape}:".encode())
        h.update(np.ascontiguousarray(value).tobytes())
    elif isinstance(
        value, (np.generic, bool, int, float, complex, str, type(None))
    ):
        h.update(f"{type(value).__name__}:{value!r}".encode())
    elif isinstance(value, (tuple, list)):
        h.update(f"{type(value).__name__}[{len(value)}](".encode())
        for item in value:
            _value_digest(h, item)
            h.update(b",")
        h.update(b")")
    elif isinstance(value, dict):
        h.update(f"dict[{len(value)}](".encode())
        for k in sorted(value, key=repr):
            _value_digest(h, k)
            h.update(b"=")
            _value_digest(h, value[k])
            h.update(b",")
        h.update(b")")
    else:
        raise _Uncacheable


def key(
    fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> str | None:
    """The key of ``fn(*args, **kwargs)``, or None if an argument (or a captured variable) cannot be keyed."""
    h = hashlib.sha256(
        f"{sys.version_info[:2]}:{getattr(fn, '__name__', '?')}:".encode()
    )
    try:
        _code_digest(h, fn.__code__)
        _value_digest(
            h,
            (
                fn.__defaults__,
                fn.__kwdefaults__,
                tuple(c.cell_contents for c in (fn.__closure__ or ())),
                args,
                kwargs,
            ),
        )
    except (_Uncacheable, AttributeError, ValueError):
        return None
    return h.hexdigest()


def torch_reference(fn: F) -> F:
    """Decorate a test cell's PyTorch computation so that a grading process computes it once."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        k = key(fn, args, kwargs)
        if k is not None and k in _MEMO:
            return copy.deepcopy(_MEMO[k])
        result = fn(*args, **kwargs)
        if k is not None:
            if len(_MEMO) >= MAX_ENTRIES:
                _MEMO.pop(next(iter(_MEMO)))
            _MEMO[k] = copy.deepcopy(result)
        return result

    return wrapper  # type: ignore[return-value]
