"""Short, readable assertions for exercise test cells (NumPy only).

Every failure message says what was expected, what was found and, through ``hint``, the likely
misconception and the book section that explains it. A hint is a :class:`~dlbasics.checks.hints.Hint`
(from the assignment's table of misconceptions) or plain text; with a Hint, the failure is a
:class:`CheckFailed` that carries the misconception's id, so the grader can count misconceptions.
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager
from typing import Any, Callable, Iterator, TypeVar

import numpy as np

from dlbasics.checks.hints import Hint
from dlbasics.gradcheck import numerical_gradient_array, rel_error

__all__ = ["CheckFailed", "ReferenceUsed", "assert_close", "assert_dtype", "assert_shape", "assert_unchanged",
           "call_student", "check_gradient", "fail", "no_warnings", "rel_error"]

T = TypeVar("T")


class ReferenceUsed(AssertionError):
    """Graded work used PyTorch or the course's reference package instead of the student's own NumPy code."""


def call_student(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Call the student's ``fn(*args, **kwargs)``.

    In the student's own Jupyter this is a plain call. When the notebook is graded, ``fn`` is the
    grader's proxy for the student's function: the call runs in the student's kernel, and the result
    comes back as plain data (see :mod:`dlbgrader.proxy`)."""
    return fn(*args, **kwargs)


class CheckFailed(AssertionError):
    """A failed check; ``misconception`` is the id of the likely misconception, if the test named one."""

    def __init__(self, message: str, misconception: str | None = None) -> None:
        super().__init__(message)
        self.misconception = misconception


def _hint(hint: Hint | str | None) -> str:
    if not hint:
        return ""
    if isinstance(hint, Hint):
        return f"\n  Hint: {hint.text} ({hint.section}) [misconception: {hint.id}]"
    return f"\n  Hint: {hint}"


def fail(message: str, hint: Hint | str | None = None) -> CheckFailed:
    """The exception for a failed check (raise it): the message, the hint, the misconception's id."""
    return CheckFailed(message + _hint(hint), hint.id if isinstance(hint, Hint) else None)


def assert_shape(actual: Any, shape: tuple[int, ...], *, name: str = "output", hint: Hint | str | None = None) -> None:
    """Assert ``actual`` is an ndarray of the given shape."""
    if not isinstance(actual, np.ndarray):
        raise fail(f"{name}: expected a numpy array, got {type(actual).__name__}", hint)
    if actual.shape != tuple(shape):
        raise fail(f"{name}: expected shape {tuple(shape)}, got {actual.shape}", hint)


def assert_dtype(actual: Any, dtype: Any, *, name: str = "output", hint: Hint | str | None = None) -> None:
    """Assert ``actual`` has exactly ``dtype`` (float32 must stay float32)."""
    got = getattr(actual, "dtype", type(actual).__name__)
    if got != np.dtype(dtype):
        raise fail(f"{name}: expected dtype {np.dtype(dtype)}, got {got} (the output must keep the input's "
                   f"dtype: float32 in, float32 out)", hint)


def assert_close(
    actual: Any,
    expected: Any,
    *,
    rtol: float = 1e-10,
    name: str = "output",
    hint: Hint | str | None = None,
) -> None:
    """Assert shape equality and a norm-wise relative error of at most ``rtol``.

    The relative error is :func:`dlbasics.gradcheck.rel_error`:
    ``max|a - b| / max(max|a|, max|b|)``.
    """
    if actual is None:
        raise fail(f"{name}: got None (did the function return its result?)", hint)
    a = np.asarray(actual)
    e = np.asarray(expected)
    if a.shape != e.shape:
        raise fail(f"{name}: expected shape {e.shape}, got {a.shape}", hint)
    if not (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
        raise fail(f"{name}: expected numbers, got dtype {a.dtype}", hint)
    err = rel_error(a, e)
    if not err <= rtol:
        flat = np.argmax(np.abs(np.nan_to_num(a.astype(np.float64) - e.astype(np.float64), nan=np.inf)))
        idx = np.unravel_index(flat, a.shape) if a.ndim else ()
        where = (f" (largest difference at index {tuple(int(i) for i in idx)}: "
                 f"got {float(a[idx]):.10g}, expected {float(e[idx]):.10g})")
        raise fail(f"{name}: relative error {err:.3g} exceeds {rtol:g}{where}", hint)


def assert_unchanged(before: Any, after: Any, *, name: str = "input", hint: Hint | str | None = None) -> None:
    """Assert an input array still equals the copy taken before the call (bit for bit)."""
    if not np.array_equal(np.asarray(before), np.asarray(after), equal_nan=True):
        raise fail(f"{name} was modified by your function: it must leave its inputs as they were and "
                   f"return new arrays", hint)


@contextmanager
def no_warnings(*, name: str = "your function", hint: Hint | str | None = None) -> Iterator[None]:
    """Fail if the body emits a numerical warning (``RuntimeWarning: overflow encountered in exp``, invalid
    value, division by zero). Other warnings a student's code chooses to emit are not failures."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with np.errstate(over="warn", divide="warn", invalid="warn", under="ignore"):
            yield
    numerical = [w for w in caught if issubclass(w.category, RuntimeWarning)]
    if numerical:
        w = numerical[0]
        raise fail(f"{name} emitted {w.category.__name__}: {w.message}", hint)


def check_gradient(
    f: Callable[[Any], Any],
    x: Any,
    analytic: Any,
    dout: Any,
    *,
    tol: float = 1e-7,
    h: float = 1e-5,
    name: str = "gradient",
    hint: Hint | str | None = None,
) -> None:
    """Compare an analytic gradient with central differences of ``sum(f(x) * dout)`` (float64)."""
    x64 = np.array(x, dtype=np.float64)
    num = numerical_gradient_array(lambda z: np.asarray(f(z), dtype=np.float64), x64, np.asarray(dout, dtype=np.float64), h)
    assert_close(analytic, num, rtol=tol, name=f"{name} (vs. numerical gradient)", hint=hint)
