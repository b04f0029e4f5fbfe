"""Hidden tests as tables of cases: seeded case generators and checks over a student function and a reference.

A hidden test is a table of cases run through one or two of these checks, not a copy of a loop::

    from dlbasics.activations import sigmoid_forward as reference
    from dlbasics.checks import FLOATS, cases, check_forward, hints, random_shape

    H = hints("ps2_activations")
    table = cases(range(200, 204), lambda rng: {"x": 3.0 * rng.standard_normal(random_shape(rng))})
    for case in table:
        for dtype in FLOATS:
            check_forward(sigmoid_forward, reference, case.cast(dtype).args("x"), name=f"sigmoid_forward, {case}",
                          hint=H.sigmoid_formula)

Conventions: the student's function always gets fresh copies of the inputs (a check of
immutability passes the originals on purpose, through :func:`check_unchanged`); references are
computed in float64 and compared with a tolerance that depends on the dtype (:data:`TOLERANCE`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from dlbasics.checks.asserts import (
    assert_close,
    assert_dtype,
    assert_shape,
    assert_unchanged,
    call_student,
    check_gradient,
)
from dlbasics.checks.hints import Hint

FLOATS: tuple[type[np.floating[Any]], ...] = (np.float64, np.float32)
#: Relative error allowed between a student's result in this dtype and the float64 reference.
TOLERANCE: dict[Any, float] = {np.dtype(np.float64): 1e-10, np.dtype(np.float32): 1e-5}
#: Relative error allowed between an analytic gradient and central differences (float64, h = 1e-5).
GRADIENT_TOLERANCE = 1e-7


def tolerance(dtype: Any) -> float:
    return TOLERANCE[np.dtype(dtype)]


def random_shape(rng: np.random.Generator, ndim: tuple[int, int] = (1, 3), size: tuple[int, int] = (1, 6)) -> tuple[int, ...]:
    """A random shape with ``ndim[0]..ndim[1]`` axes of length ``size[0]..size[1]`` (inclusive)."""
    n = int(rng.integers(ndim[0], ndim[1] + 1))
    return tuple(int(s) for s in rng.integers(size[0], size[1] + 1, size=n))


def away_from_zero(rng: np.random.Generator, shape: tuple[int, ...], low: float = 0.05,
                   high: float = 3.0) -> np.ndarray[Any, Any]:
    """Values with ``low <= |v| <= high`` and random signs: away from a kink at 0, where central
    differences are meaningless."""
    out: np.ndarray[Any, Any] = rng.uniform(low, high, shape) * rng.choice([-1.0, 1.0], shape)
    return out


@dataclass(frozen=True)
class Case:
    """One row of a table: named inputs, and a label for messages ("seed 3, x of shape (2, 4)")."""

    values: dict[str, Any]
    label: str = ""
    seed: int | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Any:
        return self.values[name]

    def args(self, *names: str) -> tuple[Any, ...]:
        """Fresh copies of the named inputs, in order."""
        return tuple(_copy(self.values[n]) for n in names)

    def cast(self, dtype: Any, *names: str) -> Case:
        """This case with its float arrays (or only ``names``) in ``dtype``."""
        out = {}
        for k, v in self.values.items():
            if (not names or k in names) and isinstance(v, np.ndarray) and v.dtype.kind == "f":
                v = v.astype(dtype)
            out[k] = v
        return Case(out, f"{self.label}, {np.dtype(dtype).name}" if self.label else np.dtype(dtype).name,
                    self.seed, self.meta)

    def __str__(self) -> str:
        return self.label


def _copy(v: Any) -> Any:
    return v.copy() if isinstance(v, np.ndarray) else v


def _describe(values: dict[str, Any]) -> str:
    parts = []
    for k, v in values.items():
        if isinstance(v, np.ndarray):
            parts.append(f"{k} of shape {v.shape}")
    return ", ".join(parts)


def cases(seeds: Iterable[int], make: Callable[[np.random.Generator], dict[str, Any]]) -> list[Case]:
    """One case per seed: ``make(np.random.default_rng(seed))`` gives the named inputs."""
    out = []
    for seed in seeds:
        values = make(np.random.default_rng(seed))
        out.append(Case(values, f"seed {seed}, {_describe(values)}" if _describe(values) else f"seed {seed}", seed))
    return out


def table(rows: Iterable[dict[str, Any]]) -> list[Case]:
    """Cases written out by hand (edge cases): each row's ``label`` key, if any, labels it."""
    out = []
    for row in rows:
        values = {k: v for k, v in row.items() if k != "label"}
        out.append(Case(values, str(row.get("label") or _describe(values))))
    return out


def _pick(result: Any, output: int | None) -> Any:
    return result if output is None else result[output]


def check_forward(student: Callable[..., Any], reference: Callable[..., Any], args: Sequence[Any], *,
                  name: str, hint: Hint | str | None, output: int | None = 0, kwargs: dict[str, Any] | None = None,
                  rtol: float | None = None, dtype: Any = None) -> Any:
    """``student(*args)`` (on copies) has the shape of ``reference(*args)`` (computed in float64) and
    equals it within the dtype's tolerance; returns the student's whole result.

    ``output``: which element of a tuple result to compare (None: the result itself); ``dtype``: the
    dtype that sets the tolerance (default: that of the first float array among ``args``)."""
    kwargs = dict(kwargs or {})
    got = call_student(student, *[_copy(a) for a in args], **kwargs)
    ref_args = [a.astype(np.float64) if isinstance(a, np.ndarray) and a.dtype.kind == "f" else _copy(a) for a in args]
    expected = np.asarray(_pick(reference(*ref_args, **kwargs), output))
    if dtype is None:
        dtype = next((a.dtype for a in args if isinstance(a, np.ndarray) and a.dtype.kind == "f"), np.float64)
    actual = _pick(got, output)
    assert_shape(actual, expected.shape, name=name, hint=hint)
    assert_close(actual, expected, rtol=tolerance(dtype) if rtol is None else rtol, name=name, hint=hint)
    return got


def check_backward(forward: Callable[..., Any], backward: Callable[..., Any], args: Sequence[Any], dout: Any, *,
                   wrt: Sequence[int], names: Sequence[str], name: str, hint: Hint | str | None,
                   kwargs: dict[str, Any] | None = None, tol: float = GRADIENT_TOLERANCE) -> Any:
    """The student's ``backward(dout, cache)`` against central differences of ``sum(forward(*args)[0] * dout)``
    with respect to each argument in ``wrt`` (float64); returns the student's gradients.

    ``backward`` returns one gradient (``wrt`` of length 1) or a tuple with one per entry of ``wrt``;
    ``names`` labels them in messages (``["dx", "dw", "db"]``)."""
    kwargs = dict(kwargs or {})
    _, cache = call_student(forward, *[_copy(a) for a in args], **kwargs)
    grads = call_student(backward, _copy(dout), cache)
    if len(wrt) == 1 and not isinstance(grads, tuple):
        grads = (grads,)
    if not isinstance(grads, tuple) or len(grads) != len(wrt):
        raise AssertionError(f"{name}: expected {len(wrt)} gradient(s) ({', '.join(names)}), got "
                             f"{type(grads).__name__}")
    for k, (pos, label) in enumerate(zip(wrt, names)):
        def f(z: Any, pos: int = pos) -> Any:
            a = [_copy(v) for v in args]
            a[pos] = z.copy()
            return call_student(forward, *a, **kwargs)[0]

        assert_shape(grads[k], np.shape(args[pos]), name=f"{label}, {name}", hint=hint)
        check_gradient(f, args[pos], grads[k], dout, tol=tol, name=f"{label}, {name}", hint=hint)
    return grads if len(wrt) > 1 else grads[0]


def check_unchanged(student: Callable[..., Any], args: Sequence[Any], *, names: Sequence[str], name: str,
                    hint: Hint | str | None, kwargs: dict[str, Any] | None = None) -> Any:
    """Call ``student`` on the original arrays (not copies) and check that none of them changed, bit for bit."""
    before = [_copy(a) for a in args]
    result = call_student(student, *args, **dict(kwargs or {}))
    for label, b, a in zip(names, before, args):
        if isinstance(a, np.ndarray):
            assert_unchanged(b, a, name=f"{label} ({name})", hint=hint)
            if a.tobytes() != b.tobytes():
                raise AssertionError(f"{label} ({name}) was not left bit for bit as it was (e.g. 0.0 became -0.0)")
    return result


def check_dtypes(arrays: dict[str, Any], dtype: Any, *, name: str, hint: Hint | str | None) -> None:
    """Every named array has exactly ``dtype``."""
    for label, arr in arrays.items():
        assert_dtype(arr, dtype, name=f"{label} ({name})", hint=hint)
