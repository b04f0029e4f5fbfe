"""Short, readable assertions for exercise test cells.

Every failure message says what was expected, what was found and, through
``hint``, the likely misconception and the book section that explains it::

    out, _ = call_student(relu_forward, x)
    assert_close(out, expected, name="relu_forward(x)",
                 hint="ReLU keeps positive inputs unchanged (Activation functions, ReLU)")
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager
from typing import Any, Callable, Iterator, TypeVar

import numpy as np

from dlbasics.checks.references import torch_reference
from dlbasics.gradcheck import numerical_gradient_array, rel_error

__all__ = [
    "ReferenceUsed",
    "assert_close",
    "assert_dtype",
    "assert_shape",
    "assert_unchanged",
    "call_student",
    "check_gradient",
    "no_warnings",
    "rel_error",
    "torch_reference",
]


T = TypeVar("T")


class ReferenceUsed(AssertionError):
    """Graded work used PyTorch or the course's reference package instead of the student's own NumPy code."""


def call_student(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Call the student's ``fn(*args, **kwargs)``.

    In the student's own Jupyter this is a plain call. When the notebook is graded, ``fn`` is the
    grader's proxy for the student's function: the call runs in the student's kernel, and the result
    comes back as plain data (see :mod:`dlbgrader.proxy`)."""
    return fn(*args, **kwargs)


def _hint(hint: str | None) -> str:
    return f"\n  Hint: {hint}" if hint else ""


def assert_shape(actual: Any, shape: tuple[int, ...], *, name: str = "output", hint: str | None = None) -> None:
    """Assert ``actual`` is an ndarray of the given shape."""
    if not isinstance(actual, np.ndarray):
        raise AssertionError(f"{name}: expected a numpy array, got {type(actual).__name__}{_hint(hint)}")
    if actual.shape != tuple(shape):
        raise AssertionError(f"{name}: expected shape {tuple(shape)}, got {actual.shape}{_hint(hint)}")


def assert_dtype(actual: Any, dtype: Any, *, name: str = "output", hint: str | None = None) -> None:
    """Assert ``actual`` has exactly ``dtype`` (float32 must stay float32)."""
    got = getattr(actual, "dtype", type(actual).__name__)
    if got != np.dtype(dtype):
        raise AssertionError(
            f"{name}: expected dtype {np.dtype(dtype)}, got {got} "
            f"(keep the input's dtype: do not upcast float32 to float64 or return a list)"
            f"{_hint(hint)}"
        )


def assert_close(
    actual: Any,
    expected: Any,
    *,
    rtol: float = 1e-10,
    name: str = "output",
    hint: str | None = None,
) -> None:
    """Assert shape equality and a norm-wise relative error of at most ``rtol``.

    The relative error is :func:`dlbasics.gradcheck.rel_error`:
    ``max|a - b| / max(max|a|, max|b|)``.
    """
    if actual is None:
        raise AssertionError(f"{name}: got None (did the function return its result?){_hint(hint)}")
    a = np.asarray(actual)
    e = np.asarray(expected)
    if a.shape != e.shape:
        raise AssertionError(f"{name}: expected shape {e.shape}, got {a.shape}{_hint(hint)}")
    if not (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
        raise AssertionError(f"{name}: expected numbers, got dtype {a.dtype}{_hint(hint)}")
    err = rel_error(a, e)
    if not err <= rtol:
        flat = np.argmax(np.abs(np.nan_to_num(a.astype(np.float64) - e.astype(np.float64), nan=np.inf)))
        idx = np.unravel_index(flat, a.shape) if a.ndim else ()
        where = (f" (largest difference at index {tuple(int(i) for i in idx)}: "
                 f"got {float(a[idx]):.10g}, expected {float(e[idx]):.10g})")
        raise AssertionError(f"{name}: relative error {err:.3g} exceeds {rtol:g}{where}{_hint(hint)}")


def assert_unchanged(before: Any, after: Any, *, name: str = "input", hint: str | None = None) -> None:
    """Assert an input array still equals the copy taken before the call (bit for bit)."""
    if not np.array_equal(np.asarray(before), np.asarray(after), equal_nan=True):
        raise AssertionError(
            f"{name} was modified by your function: compute into a new array instead of "
            f"writing into the input (e.g. avoid x[x < 0] = 0 or x *= ...){_hint(hint)}"
        )


@contextmanager
def no_warnings(*, name: str = "your function", hint: str | None = None) -> Iterator[None]:
    """Fail if the body emits any warning (e.g. ``RuntimeWarning: overflow in exp``)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with np.errstate(over="warn", divide="warn", invalid="warn", under="ignore"):
            yield
    if caught:
        w = caught[0]
        raise AssertionError(f"{name} emitted {w.category.__name__}: {w.message}{_hint(hint)}")


def check_gradient(
    f: Callable[[Any], Any],
    x: Any,
    analytic: Any,
    dout: Any,
    *,
    tol: float = 1e-7,
    h: float = 1e-5,
    name: str = "gradient",
    hint: str | None = None,
) -> None:
    """Compare an analytic gradient with central differences of ``sum(f(x) * dout)`` (float64)."""
    x64 = np.array(x, dtype=np.float64)
    num = numerical_gradient_array(lambda z: np.asarray(f(z), dtype=np.float64), x64, np.asarray(dout, dtype=np.float64), h)
    assert_close(analytic, num, rtol=tol, name=f"{name} (vs. numerical gradient)", hint=hint)
