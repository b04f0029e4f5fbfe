"""Detect graded work handed to the reference implementation or to PyTorch.

A student function is run under :func:`no_reference_calls`, which installs a
profile hook (``sys.setprofile``) for the duration of the call. Every Python
function call whose code lives in ``dlbasics`` (outside :mod:`dlbasics.course`)
or in ``torch``, and every C-level call into ``torch``, is recorded. The call is
therefore caught however the student reached it (``import``, alias, closure,
``getattr``), not only by name.

What it does not catch: copying the reference source text into the answer
(that is plagiarism of a published file, for the instructor to see), and a
submission that removes the hook itself -- which is detected and reported as
tampering, so it also earns nothing.
"""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from types import FrameType
from typing import Any, Callable, Iterator, TypeVar

import dlbasics

T = TypeVar("T")

_PKG_DIR = os.path.dirname(os.path.abspath(dlbasics.__file__)) + os.sep
_COURSE_DIR = os.path.join(_PKG_DIR, "course") + os.sep


class ReferenceUsed(AssertionError):
    """Raised when graded work called the reference implementation or PyTorch."""


def _torch_dir() -> str | None:
    mod = sys.modules.get("torch")
    path = getattr(mod, "__file__", None)
    return os.path.dirname(os.path.abspath(path)) + os.sep if path else None


def _forbidden_file(filename: str, torch_dir: str | None) -> bool:
    if filename.startswith(_PKG_DIR) and not filename.startswith(_COURSE_DIR):
        return True
    return bool(torch_dir and filename.startswith(torch_dir))


def _forbidden_builtin(fn: Any) -> bool:
    mod = getattr(fn, "__module__", None) or ""
    if mod == "torch" or mod.startswith("torch."):
        return True
    torch = sys.modules.get("torch")
    owner = getattr(fn, "__self__", None)
    return torch is not None and isinstance(owner, torch.Tensor)


@contextmanager
def no_reference_calls(what: str = "your function") -> Iterator[None]:
    """Fail with :class:`ReferenceUsed` if the body calls ``dlbasics`` reference code or PyTorch."""
    seen: list[str] = []
    torch_dir = _torch_dir()

    def hook(frame: FrameType, event: str, arg: Any) -> None:
        if seen:
            return
        if event == "call":
            code = frame.f_code
            if _forbidden_file(code.co_filename, torch_dir):
                module = frame.f_globals.get("__name__", "?")
                seen.append(f"{module}.{code.co_name}")
        elif event == "c_call" and _forbidden_builtin(arg):
            seen.append(f"torch builtin {getattr(arg, '__qualname__', repr(arg))}")

    previous = sys.getprofile()
    sys.setprofile(hook)
    try:
        yield
    finally:
        tampered = sys.getprofile() is not hook
        sys.setprofile(previous)
    if tampered:
        raise ReferenceUsed(
            f"{what} removed or replaced the grader's profile hook (sys.setprofile): "
            "the check cannot vouch for this work, so it earns no points."
        )
    if seen:
        raise ReferenceUsed(
            f"{what} called {seen[0]}: graded work must be your own NumPy code, not the "
            "course's reference implementation (dlbasics) or PyTorch. No points for this test."
        )


def call_student(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Call ``fn(*args, **kwargs)`` under :func:`no_reference_calls` and return its result."""
    name = getattr(fn, "__name__", "your function")
    with no_reference_calls(f"{name}()"):
        return fn(*args, **kwargs)
