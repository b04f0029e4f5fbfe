"""Checks for step functions (optimizers): ``step(w, dw, state=None, **hyper) -> (new_w, new_state)``.

A step function makes one update of the parameters ``w`` from their gradient ``dw`` and the state that
the previous call returned (None on the first call). A test runs it over many steps from ``state=None``
and compares the whole sequence of iterates, the *trajectory*, with a reference's::

    from dlbasics.optim import adam_step as ref_adam_step
    from dlbasics.checks import StepDiagnosis, cases, check_steps, hints, reference_steps

    H = hints("ps4_optimizers")
    table = cases(range(500, 503), lambda rng: {"w0": rng.standard_normal(3), "grads": rng.standard_normal((10, 3))})
    for case in table:
        expected = reference_steps(ref_adam_step, case["w0"], case["grads"], kwargs={"lr": 0.1})
        check_steps(adam_step, case["w0"], case["grads"], expected, kwargs={"lr": 0.1}, name=str(case),
                    diagnosis=StepDiagnosis(values=H.adam_bias_correction))

The gradients are a fixed sequence (an array whose first axis is the step) or a function ``grad(w, t)``
of the current iterate and the step number ``t`` (0, 1, ...; then ``steps`` says how many): the gradient
of a loss at the student's own iterates, as in training. ``lrs`` gives a learning rate per step (a
schedule), passed as ``lr`` in place of the one in ``kwargs``.

The state is the student's: the checks never look inside it, they pass back what the previous call
returned. When it is plain data (arrays, numbers, strings, None, and tuples, lists and dicts of them),
:func:`check_steps` compares it bit for bit with a copy taken before the call. Whatever it is (when
grading, a state of the student's own class stays in the student's kernel behind a handle), it also
calls the step once more with an old state and expects the old result: an optimizer's state is a value
that can be saved and used again.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from dlbasics.checks.asserts import (
    HintLike,
    assert_close,
    assert_dtype,
    assert_finite,
    assert_shape,
    call_student,
    diagnose,
    fail,
    no_warnings,
    rel_error,
)
from dlbasics.checks.cases import tolerance

__all__ = [
    "Gradients",
    "StepDiagnosis",
    "check_steps",
    "is_plain",
    "reference_steps",
]

#: The gradients of a run: an array of shape ``(steps, *w.shape)``, or ``grad(w, t)`` at the current iterate.
Gradients = np.ndarray | Callable[[np.ndarray, int], Any]

_PLAIN_SCALARS = (type(None), bool, int, float, complex, str, bytes)


def is_plain(value: Any) -> bool:
    """Whether ``value`` is plain data (what travels between a student's kernel and the grader as data):
    None, numbers, strings, NumPy arrays and scalars, and tuples, lists and dicts of them (exact types)."""
    t = type(value)
    if t in _PLAIN_SCALARS or t is np.ndarray or isinstance(value, np.generic):
        return not (t is np.ndarray and value.dtype.hasobject)
    if t is tuple or t is list:
        return all(is_plain(v) for v in value)
    if t is dict:
        return all(is_plain(k) and is_plain(v) for k, v in value.items())
    return False


def _snapshot(value: Any) -> Any:
    """A deep copy of plain data."""
    if type(value) is np.ndarray:
        return value.copy()
    if type(value) is tuple:
        return tuple(_snapshot(v) for v in value)
    if type(value) is list:
        return [_snapshot(v) for v in value]
    if type(value) is dict:
        return {k: _snapshot(v) for k, v in value.items()}
    return value


def _same(a: Any, b: Any) -> bool:
    """Plain data ``a`` and ``b`` are equal bit for bit (arrays: dtype, shape and bytes)."""
    if type(a) is not type(b):
        return False
    if type(a) is np.ndarray:
        return bool(
            a.dtype == b.dtype
            and a.shape == b.shape
            and a.tobytes() == b.tobytes()
        )
    if type(a) is tuple or type(a) is list:
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if type(a) is dict:
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, np.generic):
        return bool(a.dtype == b.dtype and a.tobytes() == b.tobytes())
    if isinstance(a, float) and a != a:  # nan
        return bool(b != b)
    equal: bool = a == b
    return equal


@dataclass(frozen=True)
class StepDiagnosis:
    """The misconception each kind of failure of a run of a step function most likely reveals.

    :func:`check_steps` makes a check only if its hint is given, in this order, so that the first
    failure names the most specific misconception: ``warns`` (a numerical warning came out of the
    student's function), ``modifies`` (``w`` or ``dw`` changed), ``modifies_state`` (the state passed
    in changed, or passing an old state again gave another result), ``dtype`` (an iterate lost the
    dtype of ``w``), ``finite`` (inf or nan where the answer is finite), ``values`` (the iterates).
    An exception raised by the student's function, or a result that is not a pair ``(new_w, new_state)``
    with ``new_w`` shaped like ``w``, is reported with the first hint given, in the order ``values``,
    ``finite``, ``dtype``, ``modifies``, ``modifies_state``, ``warns``."""

    values: HintLike = None
    warns: HintLike = None
    modifies: HintLike = None
    modifies_state: HintLike = None
    dtype: HintLike = None
    finite: HintLike = None

    def first(self) -> HintLike:
        for hint in (
            self.values,
            self.finite,
            self.dtype,
            self.modifies,
            self.modifies_state,
            self.warns,
        ):
            if hint is not None:
                return hint
        return None


def _count(grads: Gradients, steps: int | None) -> int:
    if callable(grads):
        if steps is None:
            raise ValueError(
                "steps is needed when the gradients are a function grad(w, t)"
            )
        return int(steps)
    n = len(grads)
    if steps is not None and steps != n:
        raise ValueError(f"steps={steps} but {n} gradients were given")
    return n


def _gradient(
    grads: Gradients, w: np.ndarray, t: int, dtype: Any
) -> np.ndarray:
    g = grads(w.copy(), t) if callable(grads) else grads[t]
    return np.array(g, dtype=dtype)  # a fresh array in the dtype of w


def _hyper(
    kwargs: Mapping[str, Any], lrs: Sequence[float] | None, t: int
) -> dict[str, Any]:
    return dict(kwargs) if lrs is None else {**kwargs, "lr": lrs[t]}


def reference_steps(
    step: Callable[..., Any],
    w0: np.ndarray,
    grads: Gradients,
    *,
    steps: int | None = None,
    kwargs: Mapping[str, Any] | None = None,
    lrs: Sequence[float] | None = None,
) -> np.ndarray:
    """A reference's trajectory from ``state=None``, computed in float64: an array of shape
    ``(steps + 1, *w0.shape)`` whose row 0 is ``w0`` and row ``t`` the iterate after ``t`` steps."""
    kwargs = dict(kwargs or {})
    n = _count(grads, steps)
    w = np.array(w0, dtype=np.float64)
    out = [w.copy()]
    state: Any = None
    for t in range(n):
        w, state = step(
            w.copy(),
            _gradient(grads, w, t, np.float64),
            state,
            **_hyper(kwargs, lrs, t),
        )
        w = np.array(w, dtype=np.float64)
        out.append(w.copy())
    return np.stack(out)


def _pair(result: Any, name: str, hint: HintLike) -> tuple[Any, Any]:
    if isinstance(result, (tuple, list)) and len(result) == 2:
        return result[0], result[1]
    got = (
        f"a {type(result).__name__} of length {len(result)}"
        if isinstance(result, (tuple, list))
        else type(result).__name__
    )
    raise fail(f"{name}: expected a pair (new_w, new_state), got {got}", hint)


def _label(fn: Callable[..., Any]) -> str:
    return f"{getattr(fn, '__name__', 'your function')}()"


def _modified(before: np.ndarray, after: np.ndarray) -> bool:
    return bool(
        before.dtype != after.dtype
        or before.shape != after.shape
        or before.tobytes() != after.tobytes()
    )


def check_steps(
    student: Callable[..., Any],
    w0: np.ndarray,
    grads: Gradients,
    expected: Any,
    *,
    name: str,
    diagnosis: StepDiagnosis,
    steps: int | None = None,
    kwargs: Mapping[str, Any] | None = None,
    lrs: Sequence[float] | None = None,
) -> np.ndarray:
    """Run the student's ``step(w, dw, state, **kwargs)`` from ``state=None`` for every gradient and check
    the run in the order :class:`StepDiagnosis` gives; return the trajectory (``steps + 1`` rows, row 0 is
    ``w0``).

    ``expected`` is the expected trajectory (a reference's, PyTorch's, or values written by hand; None:
    the values are not compared). The tolerance follows the dtype of ``w0`` (:data:`TOLERANCE`), and the
    gradients are given to the student in that dtype. With ``diagnosis.modifies`` the student's function
    gets the arrays themselves (which must be left as they were), otherwise fresh copies; with
    ``diagnosis.modifies_state`` the state passed in must be left as it was (bit for bit, if it is plain
    data), and after the run the last step is made again from the state it received, which must give the
    same iterate (so also a state kept in the student's kernel is checked)."""
    kwargs = dict(kwargs or {})
    n = _count(grads, steps)
    dtype = np.asarray(w0).dtype
    tol = tolerance(dtype)
    label = _label(student)
    call_hint = diagnosis.first()
    watch = (
        no_warnings(name=f"{label}, {name}", hint=diagnosis.warns)
        if diagnosis.warns is not None
        else contextlib.nullcontext()
    )
    w = np.array(w0, dtype=dtype)
    iterates: list[Any] = [w.copy()]
    inputs: list[tuple[np.ndarray, np.ndarray, Any]] = []
    changed_inputs: list[
        str
    ] = []  # which of w and dw the student's function modified, and when
    changed_state: list[
        int
    ] = []  # the steps whose (plain) state the student's function modified
    state: Any = None
    with watch:
        for t in range(n):
            dw = _gradient(grads, w, t, dtype)
            w_arg, dw_arg = (
                (w, dw)
                if diagnosis.modifies is not None
                else (w.copy(), dw.copy())
            )
            w_before, dw_before = w.copy(), dw.copy()
            snapshot = (
                _snapshot(state)
                if diagnosis.modifies_state is not None and is_plain(state)
                else None
            )
            with diagnose(call_hint, name=label):
                new_w, new_state = _pair(
                    call_student(
                        student, w_arg, dw_arg, state, **_hyper(kwargs, lrs, t)
                    ),
                    f"{label}, step {t + 1}, {name}",
                    call_hint,
                )
            if diagnosis.modifies is not None:
                changed_inputs += [
                    f"{arg} at step {t + 1}"
                    for arg, b, a in (
                        ("w", w_before, w_arg),
                        ("dw", dw_before, dw_arg),
                    )
                    if _modified(b, a)
                ]
            if snapshot is not None and not _same(snapshot, state):
                changed_state.append(t + 1)
            assert_shape(
                new_w,
                w0.shape,
                name=f"new_w after step {t + 1} ({name})",
                hint=call_hint,
            )
            inputs.append((w_before, dw_before, state))
            iterates.append(np.array(new_w, copy=True))
            w = np.array(new_w, dtype=dtype)
            state = new_state
        if diagnosis.modifies_state is not None and n >= 2:
            w_in, dw_in, old_state = inputs[-1]
            with diagnose(call_hint, name=label):
                again, _ = _pair(
                    call_student(
                        student,
                        w_in.copy(),
                        dw_in.copy(),
                        old_state,
                        **_hyper(kwargs, lrs, n - 1),
                    ),
                    f"{label}, step {n} again, {name}",
                    call_hint,
                )
    if diagnosis.modifies is not None and changed_inputs:
        raise fail(
            f"{label} modified {changed_inputs[0]} ({name}): it must leave w and dw as they were and "
            f"return a new array",
            diagnosis.modifies,
        )
    if diagnosis.modifies_state is not None:
        if changed_state:
            raise fail(
                f"{label} modified the state it was given at step {changed_state[0]} ({name}): it must leave "
                f"the state as it was and return a new one",
                diagnosis.modifies_state,
            )
        if n >= 2:
            assert_shape(
                again,
                w0.shape,
                name=f"new_w of step {n} made again ({name})",
                hint=diagnosis.modifies_state,
            )
            if (
                not rel_error(
                    np.asarray(again, dtype=np.float64),
                    np.asarray(iterates[n], dtype=np.float64),
                )
                <= tol
            ):
                raise fail(
                    f"{label}: making step {n} again, from the same w, dw and the state that step {n} was "
                    f"given, gave another result ({name}): the first call changed that state (a state must "
                    f"be left as it was, so that it can be used again)",
                    diagnosis.modifies_state,
                )
    if diagnosis.dtype is not None:
        for t, it in enumerate(iterates[1:], start=1):
            assert_dtype(
                it,
                dtype,
                name=f"new_w after step {t} ({name})",
                hint=diagnosis.dtype,
            )
    trajectory = np.stack([np.asarray(it) for it in iterates])
    exp = None if expected is None else np.asarray(expected)
    if exp is not None and exp.shape != trajectory.shape:
        raise ValueError(
            f"expected trajectory of shape {exp.shape} for {n} steps of w of shape {w0.shape}"
        )
    if diagnosis.finite is not None:
        where = None if exp is None else np.isfinite(exp.astype(np.float64))
        for t in range(1, n + 1):
            assert_finite(
                trajectory[t],
                name=f"new_w after step {t} ({name})",
                hint=diagnosis.finite,
                where=None if where is None else where[t],
            )
    if diagnosis.values is not None and exp is not None:
        for t in range(1, n + 1):
            if (
                not rel_error(
                    trajectory[t].astype(np.float64), exp[t].astype(np.float64)
                )
                <= tol
            ):
                assert_close(
                    trajectory[t],
                    exp[t],
                    rtol=tol,
                    name=f"w after step {t} of {n} ({name})",
                    hint=diagnosis.values,
                )
    return trajectory
