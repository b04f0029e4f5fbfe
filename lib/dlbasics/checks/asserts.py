"""Short, readable assertions for exercise test cells (NumPy only).

Every failure message says what was expected, what was found and, through ``hint``, the likely
misconception and the book section that explains it. A hint is a :class:`~dlbasics.checks.hints.Hint`
(from the assignment's table of misconceptions) or plain text; with a Hint, the failure is a
:class:`CheckFailed` that carries the misconception's id, so the grader can count misconceptions.

An exception raised by the student's function (a shape error in a matrix product, say) is a failure
too: :func:`diagnose` reports it with the hint of the check that made the call, and
:func:`call_student` reports graded work handed to PyTorch or the reference package as
:class:`ReferenceUsed`, with the misconception ``uses_reference``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import numpy as np

from dlbasics.checks.hints import USES_REFERENCE, Hint
from dlbasics.gradcheck import numerical_gradient_array, rel_error

__all__ = [
    "CheckFailed",
    "HintLike",
    "ReferenceUsed",
    "assert_close",
    "assert_dtype",
    "assert_entrywise_close",
    "assert_finite",
    "assert_shape",
    "assert_unchanged",
    "call_student",
    "check_gradient",
    "diagnose",
    "fail",
    "no_warnings",
    "rel_error",
]

T = TypeVar("T")
#: What a check accepts as its hint: a misconception from the assignment's table, plain text, or nothing.
HintLike = Hint | str | None


class CheckFailed(AssertionError):
    """A failed check; ``misconception`` is the id of the likely misconception, if the test named one."""

    def __init__(self, message: str, misconception: str | None = None) -> None:
        super().__init__(message)
        self.misconception = misconception


class ReferenceUsed(CheckFailed):
    """Graded work used PyTorch or the course's reference package instead of the student's own NumPy code."""


def call_student(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Call the student's ``fn(*args, **kwargs)``.

    In the student's own Jupyter this is a plain call. When the notebook is graded, ``fn`` is the
    grader's proxy for the student's function: the call runs in the student's kernel, and the result
    comes back as plain data (see :mod:`dlbgrader.proxy`). If the function tried to use PyTorch or the
    course's reference package (which grading does not offer), the grader's ``ReferenceUsed`` is raised
    again as this module's :class:`ReferenceUsed`, naming the misconception ``uses_reference``."""
    try:
        return fn(*args, **kwargs)
    except AssertionError as exc:
        if type(exc).__name__ == "ReferenceUsed" and not isinstance(
            exc, CheckFailed
        ):
            raise ReferenceUsed(
                str(exc) + _hint(USES_REFERENCE), USES_REFERENCE.id
            ) from None
        raise


def _hint(hint: HintLike) -> str:
    if not hint:
        return ""
    if isinstance(hint, Hint):
        return f"\n  Hint: {hint.text} ({hint.section}) [misconception: {hint.id}]"
    return f"\n  Hint: {hint}"


def fail(message: str, hint: HintLike = None) -> CheckFailed:
    """The exception for a failed check (raise it): the message, the hint, the misconception's id."""
    return CheckFailed(
        message + _hint(hint), hint.id if isinstance(hint, Hint) else None
    )


@contextmanager
def diagnose(hint: HintLike, *, name: str = "your function") -> Iterator[None]:
    """Report an exception raised in the body (by the student's function) as a failed check with ``hint``.

    A shape error inside a backward pass is a wrong gradient like any other: the test says so with
    the misconception it probes. Failed checks, ``NotImplementedError`` (an answer not written yet) and
    the grader's own failures (time limits, a lost kernel: assertion errors) pass through unchanged."""
    try:
        yield
    except (AssertionError, NotImplementedError):
        raise
    except Exception as exc:
        raise fail(
            f"{name} raised {type(exc).__name__}: {exc}", hint
        ) from None


def assert_shape(
    actual: Any,
    shape: tuple[int, ...],
    *,
    name: str = "output",
    hint: HintLike = None,
) -> None:
    """Assert ``actual`` is an ndarray of the given shape."""
    if not isinstance(actual, np.ndarray):
        raise fail(
            f"{name}: expected a numpy array, got {type(actual).__name__}",
            hint,
        )
    if actual.shape != tuple(shape):
        raise fail(
            f"{name}: expected shape {tuple(shape)}, got {actual.shape}", hint
        )


def assert_dtype(
    actual: Any, dtype: Any, *, name: str = "output", hint: HintLike = None
) -> None:
    """Assert ``actual`` has exactly ``dtype`` (float32 must stay float32)."""
    got = getattr(actual, "dtype", type(actual).__name__)
    if got != np.dtype(dtype):
        raise fail(
            f"{name}: expected dtype {np.dtype(dtype)}, got {got} (the output must keep the input's "
            f"dtype: float32 in, float32 out)",
            hint,
        )


def assert_close(
    actual: Any,
    expected: Any,
    *,
    rtol: float = 1e-10,
    name: str = "output",
    hint: HintLike = None,
) -> None:
    """Assert shape equality and a norm-wise relative error of at most ``rtol``.

    The relative error is :func:`dlbasics.gradcheck.rel_error`:
    ``max|a - b| / max(max|a|, max|b|)``.
    """
    if actual is None:
        raise fail(
            f"{name}: got None (did the function return its result?)", hint
        )
    a = np.asarray(actual)
    e = np.asarray(expected)
    if a.shape != e.shape:
        raise fail(f"{name}: expected shape {e.shape}, got {a.shape}", hint)
    if not (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
        raise fail(f"{name}: expected numbers, got dtype {a.dtype}", hint)
    err = rel_error(a, e)
    if not err <= rtol:
        flat = np.argmax(
            np.abs(
                np.nan_to_num(
                    a.astype(np.float64) - e.astype(np.float64), nan=np.inf
                )
            )
        )
        idx = np.unravel_index(flat, a.shape) if a.ndim else ()
        where = (
            f" (largest difference at index {tuple(int(i) for i in idx)}: "
            f"got {float(a[idx]):.10g}, expected {float(e[idx]):.10g})"
        )
        raise fail(
            f"{name}: relative error {err:.3g} exceeds {rtol:g}{where}", hint
        )


def assert_entrywise_close(
    actual: Any,
    expected: Any,
    *,
    rtol: float,
    atol: float = 0.0,
    name: str = "output",
    hint: HintLike = None,
) -> None:
    """Assert shape equality and, for every entry, ``|actual - expected| <= rtol * |expected| + atol``.

    Unlike :func:`assert_close` (relative to the largest entry), each entry is measured against its
    own size: a tiny value such as ELU(-1e-8) must keep its digits. ``atol`` lets values too small for
    the dtype (below its smallest normal number, say) come out as 0. NaN or inf where a finite value
    is expected fails."""
    if actual is None:
        raise fail(
            f"{name}: got None (did the function return its result?)", hint
        )
    a = np.asarray(actual)
    e = np.asarray(expected)
    if a.shape != e.shape:
        raise fail(f"{name}: expected shape {e.shape}, got {a.shape}", hint)
    if not (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
        raise fail(f"{name}: expected numbers, got dtype {a.dtype}", hint)
    a64, e64 = a.astype(np.float64), e.astype(np.float64)
    with np.errstate(all="ignore"):
        excess = np.abs(a64 - e64) - (rtol * np.abs(e64) + atol)
    excess = np.where(
        a64 == e64, -1.0, np.nan_to_num(excess, nan=np.inf)
    )  # equal infinities are fine
    if a.size and excess.max() > 0:
        idx = (
            np.unravel_index(int(np.argmax(excess)), a.shape) if a.ndim else ()
        )
        got, want = float(a64[idx]), float(e64[idx])
        err = abs(got - want) / abs(want) if want else float("inf")
        raise fail(
            f"{name}: entry {tuple(int(i) for i in idx)} is {got:.10g}, expected {want:.10g} "
            f"(relative error {err:.3g} exceeds {rtol:g} for that entry)",
            hint,
        )


def assert_finite(
    actual: Any,
    *,
    name: str = "output",
    hint: HintLike = None,
    where: Any = None,
) -> None:
    """Assert every entry of ``actual`` (or every entry where the boolean mask ``where`` is True) is finite."""
    a = np.asarray(actual)
    if not (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
        raise fail(f"{name}: expected numbers, got dtype {a.dtype}", hint)
    bad = ~np.isfinite(a.astype(np.float64))
    if where is not None and np.shape(where) == a.shape:
        bad &= np.asarray(where, dtype=bool)
    if bad.any():
        idx = np.unravel_index(int(np.argmax(bad)), a.shape) if a.ndim else ()
        raise fail(
            f"{name}: entry {tuple(int(i) for i in idx)} is {float(a[idx])} ({int(bad.sum())} of {a.size} "
            f"entries are inf or nan), where the right value is a finite number",
            hint,
        )


def assert_unchanged(
    before: Any, after: Any, *, name: str = "input", hint: HintLike = None
) -> None:
    """Assert an input array is still, bit for bit, the copy taken before the call (so 0.0 must not
    become -0.0, and a value must not come back one rounding step off)."""
    b, a = np.asarray(before), np.asarray(after)
    if b.shape != a.shape or b.dtype != a.dtype or b.tobytes() != a.tobytes():
        if np.array_equal(b, a, equal_nan=True):
            raise fail(
                f"{name} was not left bit for bit as it was (the values compare equal, but e.g. 0.0 became "
                f"-0.0, or the dtype changed from {b.dtype} to {a.dtype})",
                hint,
            )
        raise fail(
            f"{name} was modified by your function: it must leave its inputs as they were and "
            f"return new arrays",
            hint,
        )


@contextmanager
def no_warnings(
    *, name: str = "your function", hint: HintLike = None
) -> Iterator[None]:
    """Fail if the body emits a numerical warning (``RuntimeWarning: overflow encountered in exp``, invalid
    value, division by zero). Other warnings a student's code chooses to emit are not failures."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with np.errstate(
            over="warn", divide="warn", invalid="warn", under="ignore"
        ):
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
    hint: HintLike = None,
) -> None:
    """Compare an analytic gradient with central differences of ``sum(f(x) * dout)`` (float64)."""
    x64 = np.array(x, dtype=np.float64)
    num = numerical_gradient_array(
        lambda z: np.asarray(f(z), dtype=np.float64),
        x64,
        np.asarray(dout, dtype=np.float64),
        h,
    )
    assert_close(
        analytic,
        num,
        rtol=tol,
        name=f"{name} (vs. numerical gradient)",
        hint=hint,
    )
