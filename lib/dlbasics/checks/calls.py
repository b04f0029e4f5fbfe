"""Checks of functions that return their results directly, without a cache: a loss with its gradient, a softmax.

A loss function such as ``cross_entropy_loss(logits, targets) -> (loss, dlogits)`` has no backward pass to
hand a cache to, and a softmax returns one array; :func:`~dlbasics.checks.cases.check_pass` needs both. For
these, a hidden test is a table of cases run through :func:`check_call`, with the expected results of a
reference (:func:`reference_call`) or of PyTorch::

    from dlbasics.checks import Diagnosis, cases, check_call, hints, reference_call, rounding
    from dlbasics.losses import cross_entropy_loss as ref_cross_entropy_loss

    H = hints("ps3_losses")
    BATCH = Diagnosis(values=H.mean_reduction, gradients=H.gradient_of_mean)
    for case in cases(range(500, 503), batch):
        expected = reference_call(ref_cross_entropy_loss, case.args("logits", "targets"))
        check_call(cross_entropy_loss, case.inputs("logits", "targets"), expected, returns=["loss", "dlogits"],
                   name=f"cross_entropy_loss, {case}", diagnosis=BATCH, atol=rounding(case["logits"]))

The checks run in the order :class:`~dlbasics.checks.cases.Diagnosis` gives (a warning, a modified argument, a
lost dtype, inf or nan, the value, the gradients), so that the first failure names the most specific
misconception. A value that the reference gives as a scalar (a loss) must be a real number (a Python float,
a NumPy scalar or a 0-d array) and is compared relative to its own size; its dtype is not checked (the
contract is "a float"), the dtypes of arrays are.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from dlbasics.checks.asserts import (
    HintLike,
    assert_close,
    assert_entrywise_close,
    assert_finite,
    assert_shape,
    call_student,
    diagnose,
    fail,
    no_warnings,
)
from dlbasics.checks.cases import (
    Diagnosis,
    _assert_same_bits,
    _copy,
    _first_float_dtype,
    _float64,
    _label,
    _per_gradient,
    check_dtypes,
    tolerance,
)

__all__ = ["check_call", "reference_call", "rounding"]


def rounding(x: Any, steps: float = 8.0) -> float:
    """An absolute tolerance of a few rounding steps of the largest entry of ``x`` (at least of 1) in its dtype.

    A result computed from large inputs by an honest formula can be off by a few units in the last place of
    those inputs: the log-softmax of scores near 1000 in float32 as ``z - LSE(z)`` is off by about 6e-5, and
    a loss of 0.002 computed as a difference of two numbers near 5 keeps few of its own digits. Such results
    are compared with this absolute tolerance added (:func:`check_call`'s ``atol``); an overflow, a logarithm
    of 0 or a clipped probability is off by far more."""
    arr = np.asarray(x)
    eps = (
        float(np.finfo(arr.dtype).eps)
        if arr.dtype.kind == "f"
        else float(np.finfo(np.float64).eps)
    )
    finite = np.abs(arr[np.isfinite(arr)]) if arr.size else np.zeros(0)
    return steps * eps * max(1.0, float(finite.max()) if finite.size else 1.0)


def reference_call(
    fn: Callable[..., Any],
    args: Sequence[Any],
    *,
    kwargs: dict[str, Any] | None = None,
) -> tuple[Any, tuple[Any, ...]]:
    """A reference's results, computed in float64, as ``(value, (gradient, ...))`` for :func:`check_call`.

    ``fn`` returns a tuple ``(value, gradient, ...)`` (a loss and its gradients) or a single value (then the
    gradients are ``()``). Float arrays among ``args`` are cast to float64 first, integer ones (class indices)
    are passed as they are."""
    result = fn(*[_float64(a) for a in args], **dict(kwargs or {}))
    if isinstance(result, tuple):
        return result[0], tuple(result[1:])
    return result, ()


def _is_real_scalar(value: Any) -> bool:
    if value is None or isinstance(value, (str, bytes)):
        return False
    arr = np.asarray(value)
    return arr.shape == () and (
        np.issubdtype(arr.dtype, np.floating)
        or np.issubdtype(arr.dtype, np.integer)
    )


def _assert_scalar_close(
    value: Any,
    expected: Any,
    *,
    rtol: float,
    atol: float,
    name: str,
    hint: HintLike,
) -> None:
    """``value`` is a real number (a float, a NumPy scalar or a 0-d array) within ``rtol`` of ``expected``,
    relative to ``expected``'s own size, plus ``atol``."""
    if value is None:
        raise fail(
            f"{name}: got None (did the function return its result?)", hint
        )
    if not _is_real_scalar(value):
        shape = getattr(value, "shape", None)
        what = (
            f"an array of shape {shape}"
            if shape is not None
            else type(value).__name__
        )
        raise fail(
            f"{name}: expected a single real number (a float), got {what}",
            hint,
        )
    got, want = float(np.asarray(value)), float(np.asarray(expected))
    if got == want:
        return
    if abs(got - want) <= rtol * abs(want) + atol:  # false when got is nan
        return
    err = abs(got - want) / abs(want) if want else float("inf")
    allowed = f"{rtol:g}" + (f" plus an absolute {atol:.2g}" if atol else "")
    raise fail(
        f"{name}: got {got:.10g}, expected {want:.10g} (relative error {err:.3g} exceeds {allowed})",
        hint,
    )


def _assert_near(
    actual: Any,
    expected: Any,
    *,
    rtol: float,
    atol: float,
    name: str,
    hint: HintLike,
) -> None:
    """:func:`assert_close` (relative to the largest entry), or every entry within ``atol`` of the expected one."""
    if atol and np.shape(actual) == np.shape(expected):
        with np.errstate(all="ignore"):
            diff = np.abs(
                np.asarray(actual, dtype=np.float64)
                - np.asarray(expected, dtype=np.float64)
            )
        if diff.size and np.all(diff <= atol):
            return
    assert_close(actual, expected, rtol=rtol, name=name, hint=hint)


def _unpack(
    result: Any, returns: Sequence[str], name: str, hint: HintLike
) -> tuple[Any, tuple[Any, ...]]:
    if len(returns) == 1:
        return result, ()
    if not isinstance(result, tuple) or len(result) != len(returns):
        got = (
            f"a tuple of {len(result)}"
            if isinstance(result, tuple)
            else type(result).__name__
        )
        raise fail(
            f"{name}: expected a tuple of {len(returns)}, ({', '.join(returns)}), got {got}",
            hint,
        )
    return result[0], tuple(result[1:])


def check_call(
    fn: Callable[..., Any],
    args: Mapping[str, Any],
    expected: tuple[Any, Sequence[Any]],
    *,
    name: str,
    diagnosis: Diagnosis,
    returns: Sequence[str] = ("out",),
    kwargs: dict[str, Any] | None = None,
    raises: HintLike = None,
    rtol: float | None = None,
    atol: float = 0.0,
) -> tuple[Any, tuple[Any, ...]]:
    """Call the student's ``fn(*args)`` once and check its results in the order :class:`Diagnosis` gives;
    return ``(value, gradients)``.

    ``returns`` names what ``fn`` returns: one name for a single value (``["probs"]`` for a softmax), or the
    value and then its gradients, returned as a tuple (``["loss", "dlogits"]``). ``args`` maps each input's
    name to its value, in the order of ``fn``'s parameters; the student's function gets these arrays
    themselves, which must be left bit for bit as they were. ``expected`` is ``(value, (gradient, ...))`` (an
    entry None: not compared), as :func:`reference_call` gives. The relative tolerance ``rtol`` is by default
    the dtype's of the first float input (:data:`~dlbasics.checks.cases.TOLERANCE`); ``atol`` (see
    :func:`rounding`) is added to it for the value, and a gradient whose every entry is within ``atol`` of the
    expected one passes too.

    The checks made, each only if its hint is given: ``warns`` (a numerical warning came out of the call),
    ``modifies`` (an argument changed), ``dtype`` (an array result lost the input's dtype), ``finite`` (inf or nan
    where the expected result is finite), ``values`` (the value: a scalar relative to its own size, an array
    relative to its largest entry or, with ``entrywise``, entry by entry) and ``gradients`` (shape, and
    closeness relative to the largest entry). An exception raised by ``fn`` is reported with ``raises`` if
    given, else with the hint of the first check made (``values``, then the first gradient's)."""
    kwargs = dict(kwargs or {})
    returns = list(returns)
    grads = returns[1:]
    names = list(args)
    inputs = [args[n] for n in names]
    before = [_copy(a) for a in inputs]
    dtype = _first_float_dtype(inputs)
    tol = tolerance(dtype) if rtol is None else rtol
    grad_hints = _per_gradient(diagnosis.gradients, len(grads))
    first_hint = (
        diagnosis.values
        if diagnosis.values is not None
        else next((h for h in grad_hints if h is not None), None)
    )
    call_hint = raises if raises is not None else first_hint
    watch = (
        no_warnings(name=f"{_label(fn)}, {name}", hint=diagnosis.warns)
        if diagnosis.warns is not None
        else contextlib.nullcontext()
    )
    with watch:
        with diagnose(call_hint, name=_label(fn)):
            value, got = _unpack(
                call_student(fn, *inputs, **kwargs), returns, name, call_hint
            )
    if diagnosis.modifies is not None:
        for label, b, a in zip(names, before, inputs):
            _assert_same_bits(
                b, a, name=f"{label} ({name})", hint=diagnosis.modifies
            )
    exp_value, exp_grads = expected[0], list(expected[1])
    scalar = exp_value is not None and np.ndim(exp_value) == 0
    results = {returns[0]: value, **dict(zip(grads, got))}
    if diagnosis.dtype is not None:
        arrays = dict(list(results.items())[1:]) if scalar else results
        check_dtypes(arrays, dtype, name=name, hint=diagnosis.dtype)
    if diagnosis.finite is not None:
        for k, ((label, v), exp) in enumerate(
            zip(results.items(), [exp_value, *exp_grads])
        ):
            where = (
                None
                if exp is None
                else np.isfinite(np.asarray(exp, dtype=np.float64))
            )
            if v is not None and not (
                k == 0 and scalar and not _is_real_scalar(v)
            ):
                assert_finite(
                    v,
                    name=f"{label} ({name})",
                    hint=diagnosis.finite,
                    where=where,
                )
    if diagnosis.values is not None and exp_value is not None:
        what = f"{returns[0]} ({name})"
        if scalar:
            _assert_scalar_close(
                value,
                exp_value,
                rtol=tol,
                atol=atol,
                name=what,
                hint=diagnosis.values,
            )
        else:
            exp_arr = np.asarray(exp_value)
            assert_shape(
                value, exp_arr.shape, name=what, hint=diagnosis.values
            )
            if diagnosis.entrywise:
                assert_entrywise_close(
                    value,
                    exp_arr,
                    rtol=tol,
                    atol=max(atol, float(np.finfo(dtype).tiny)),
                    name=what,
                    hint=diagnosis.values,
                )
            else:
                _assert_near(
                    value,
                    exp_arr,
                    rtol=tol,
                    atol=atol,
                    name=what,
                    hint=diagnosis.values,
                )
    for label, v, exp, hint in zip(grads, got, exp_grads, grad_hints):
        if hint is None or exp is None:
            continue
        exp_arr = np.asarray(exp)
        assert_shape(v, exp_arr.shape, name=f"{label} ({name})", hint=hint)
        _assert_near(
            v,
            exp_arr,
            rtol=tol,
            atol=atol,
            name=f"{label} ({name})",
            hint=hint,
        )
    return value, got
