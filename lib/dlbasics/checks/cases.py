"""Hidden tests as tables of cases: seeded case generators and checks over a student function and a reference.

A hidden test is a table of cases run through one or two of these checks, not a copy of a loop::

    import dlbasics.activations as ref
    from dlbasics.checks import FLOATS, cases, check_forward, hints, random_shape

    H = hints("ps2_activations")
    table = cases(range(200, 204), lambda rng: {"x": 3.0 * rng.standard_normal(random_shape(rng))})
    for case in table:
        for dtype in FLOATS:
            check_forward(sigmoid_forward, ref.sigmoid_forward, case.cast(dtype).args("x"),
                          name=f"sigmoid_forward, {case}", hint=H.sigmoid_definition)

(The reference is imported under another name: test cells share one namespace when graded, and a
name such as ``sigmoid_forward`` must stay the student's.)

* :func:`check_forward`: the output against a reference, for random cases;
* :func:`check_backward`: the gradients against central differences of the student's own forward pass;
* :func:`check_pass`: one forward and backward pass against expected results (a reference's, PyTorch's,
  or values written by hand), with the checks in a fixed order so that the first failure names the most
  specific misconception (:class:`Diagnosis`): an exception, a warning, a modified argument, a lost
  dtype, inf or nan, wrong values, wrong gradients, the gradient at a kink;
* :func:`check_unchanged`, :func:`check_dtypes`: immutability and dtypes on their own.

Conventions: the student's function always gets fresh copies of the inputs (a check of
immutability passes the originals on purpose, through :func:`check_unchanged`); references are
computed in float64 and compared with a tolerance that depends on the dtype (:data:`TOLERANCE`).
An exception the student's function raises fails the check with the check's hint (see
:func:`~dlbasics.checks.asserts.diagnose`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dlbasics.checks.asserts import (
    HintLike,
    assert_close,
    assert_dtype,
    assert_entrywise_close,
    assert_finite,
    assert_shape,
    assert_unchanged,
    call_student,
    check_gradient,
    diagnose,
    fail,
    no_warnings,
)
from dlbasics.checks.hints import Hint

FLOATS: tuple[type[np.floating[Any]], ...] = (np.float64, np.float32)
#: Relative error allowed between a student's result in this dtype and the float64 reference.
TOLERANCE: dict[Any, float] = {
    np.dtype(np.float64): 1e-10,
    np.dtype(np.float32): 1e-5,
}
#: Relative error allowed between an analytic gradient and central differences (float64, h = 1e-5).
GRADIENT_TOLERANCE = 1e-7


def tolerance(dtype: Any) -> float:
    return TOLERANCE[np.dtype(dtype)]


def random_shape(
    rng: np.random.Generator,
    ndim: tuple[int, int] = (1, 3),
    size: tuple[int, int] = (1, 6),
) -> tuple[int, ...]:
    """A random shape with ``ndim[0]..ndim[1]`` axes of length ``size[0]..size[1]`` (inclusive)."""
    n = int(rng.integers(ndim[0], ndim[1] + 1))
    return tuple(int(s) for s in rng.integers(size[0], size[1] + 1, size=n))


def away_from_zero(
    rng: np.random.Generator,
    shape: tuple[int, ...],
    low: float = 0.05,
    high: float = 3.0,
) -> np.ndarray[Any, Any]:
    """Values with ``low <= |v| <= high`` and random signs: away from a kink at 0, where central
    differences are meaningless."""
    out: np.ndarray[Any, Any] = rng.uniform(low, high, shape) * rng.choice(
        [-1.0, 1.0], shape
    )
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

    def inputs(self, *names: str) -> dict[str, Any]:
        """Fresh copies of the named inputs, by name and in order (the ``args`` of :func:`check_pass`)."""
        return {n: _copy(self.values[n]) for n in names}

    def cast(self, dtype: Any, *names: str) -> Case:
        """This case with its float arrays (or only ``names``) in ``dtype``."""
        out = {}
        for k, v in self.values.items():
            if (
                (not names or k in names)
                and isinstance(v, np.ndarray)
                and v.dtype.kind == "f"
            ):
                v = v.astype(dtype)
            out[k] = v
        return Case(
            out,
            f"{self.label}, {np.dtype(dtype).name}"
            if self.label
            else np.dtype(dtype).name,
            self.seed,
            self.meta,
        )

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


#: The inputs of the contract's edge for element-wise functions: magnitudes up to 1000, tiny values and an exact 0.
EXTREME_VALUES: tuple[float, ...] = (
    -1000.0,
    -750.0,
    -100.0,
    -30.0,
    -1.0,
    -1e-3,
    -1e-8,
    0.0,
    1e-8,
    1e-3,
    1.0,
    30.0,
    100.0,
    750.0,
    1000.0,
)


def extremes() -> list[Case]:
    """One case: ``x`` holds :data:`EXTREME_VALUES` (float64) and ``dout`` an upstream gradient of the same size."""
    x = np.array(EXTREME_VALUES)
    return table(
        [
            {
                "label": "x from -1000 to 1000, tiny values and 0",
                "x": x,
                "dout": np.linspace(0.5, 1.5, x.size),
            }
        ]
    )


def cases(
    seeds: Iterable[int], make: Callable[[np.random.Generator], dict[str, Any]]
) -> list[Case]:
    """One case per seed: ``make(np.random.default_rng(seed))`` gives the named inputs."""
    out = []
    for seed in seeds:
        values = make(np.random.default_rng(seed))
        out.append(
            Case(
                values,
                f"seed {seed}, {_describe(values)}"
                if _describe(values)
                else f"seed {seed}",
                seed,
            )
        )
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


def _float64(a: Any) -> Any:
    return (
        a.astype(np.float64)
        if isinstance(a, np.ndarray) and a.dtype.kind == "f"
        else _copy(a)
    )


def _first_float_dtype(args: Iterable[Any]) -> Any:
    return next(
        (
            a.dtype
            for a in args
            if isinstance(a, np.ndarray) and a.dtype.kind == "f"
        ),
        np.dtype(np.float64),
    )


def _label(fn: Callable[..., Any]) -> str:
    return f"{getattr(fn, '__name__', 'your function')}()"


def check_forward(
    student: Callable[..., Any],
    reference: Callable[..., Any],
    args: Sequence[Any],
    *,
    name: str,
    hint: HintLike,
    output: int | None = 0,
    kwargs: dict[str, Any] | None = None,
    rtol: float | None = None,
    dtype: Any = None,
) -> Any:
    """``student(*args)`` (on copies) has the shape of ``reference(*args)`` (computed in float64) and
    equals it within the dtype's tolerance; returns the student's whole result.

    ``output``: which element of a tuple result to compare (None: the result itself); ``dtype``: the
    dtype that sets the tolerance (default: that of the first float array among ``args``)."""
    kwargs = dict(kwargs or {})
    with diagnose(hint, name=_label(student)):
        got = call_student(student, *[_copy(a) for a in args], **kwargs)
        actual = _pick(got, output)
    expected = np.asarray(
        _pick(reference(*[_float64(a) for a in args], **kwargs), output)
    )
    if dtype is None:
        dtype = _first_float_dtype(args)
    assert_shape(actual, expected.shape, name=name, hint=hint)
    assert_close(
        actual,
        expected,
        rtol=tolerance(dtype) if rtol is None else rtol,
        name=name,
        hint=hint,
    )
    return got


def _per_gradient(hint: GradientHints, n: int) -> list[HintLike]:
    if hint is None or isinstance(hint, (Hint, str)):
        return [hint] * n
    if len(hint) != n:
        raise ValueError(f"{len(hint)} hints for {n} gradients")
    return list(hint)


def _unpack(
    result: Any, extra: Sequence[str], name: str, hint: HintLike
) -> tuple[Any, Any, tuple[Any, ...]]:
    """A forward pass's ``(out, cache, *extra)`` as ``(out, cache, extras)``."""
    n = 2 + len(extra)
    if not isinstance(result, (tuple, list)) or len(result) != n:
        got = (
            f"{len(result)} results"
            if isinstance(result, (tuple, list))
            else type(result).__name__
        )
        raise fail(
            f"{name}: expected the forward pass to return {n} results ({', '.join(['out', 'cache', *extra])}), "
            f"got {got}",
            hint,
        )
    return result[0], result[1], tuple(result[2:])


def _as_tuple(
    grads: Any, n: int, names: Sequence[str], name: str, hint: HintLike
) -> tuple[Any, ...]:
    if n == 1 and not isinstance(grads, tuple):
        grads = (grads,)
    if not isinstance(grads, tuple) or len(grads) != n:
        got = (
            f"a tuple of {len(grads)}"
            if isinstance(grads, tuple)
            else type(grads).__name__
        )
        raise fail(
            f"{name}: expected {n} gradient(s) ({', '.join(names)}), got {got}",
            hint,
        )
    return grads


def check_backward(
    forward: Callable[..., Any],
    backward: Callable[..., Any],
    args: Sequence[Any],
    dout: Any,
    *,
    wrt: Sequence[int],
    names: Sequence[str],
    name: str,
    hint: GradientHints,
    kwargs: dict[str, Any] | None = None,
    tol: float = GRADIENT_TOLERANCE,
    extra: Sequence[str] = (),
) -> Any:
    """The student's ``backward(dout, cache)`` against central differences of ``sum(forward(*args)[0] * dout)``
    with respect to each argument in ``wrt`` (float64); returns the student's gradients.

    ``backward`` returns one gradient (``wrt`` of length 1) or a tuple with one per entry of ``wrt``;
    ``names`` labels them in messages (``["dx", "dw", "db"]``). ``hint`` is one hint, or one per
    gradient (the first one also covers the calls themselves). ``extra`` names what the forward pass
    returns after its cache, if anything (batch normalization's new running statistics): the forward
    pass returns ``(out, cache, *extra)``; those results are not compared here."""
    kwargs = dict(kwargs or {})
    hints_ = _per_gradient(hint, len(wrt))
    with diagnose(hints_[0], name=_label(forward)):
        _, cache, _ = _unpack(
            call_student(forward, *[_copy(a) for a in args], **kwargs),
            extra,
            name,
            hints_[0],
        )
    with diagnose(hints_[0], name=_label(backward)):
        grads = _as_tuple(
            call_student(backward, _copy(dout), cache),
            len(wrt),
            names,
            name,
            hints_[0],
        )
    for k, (pos, label) in enumerate(zip(wrt, names)):

        def f(z: Any, pos: int = pos) -> Any:
            a = [_copy(v) for v in args]
            a[pos] = z.copy()
            return call_student(forward, *a, **kwargs)[0]

        assert_shape(
            grads[k],
            np.shape(args[pos]),
            name=f"{label}, {name}",
            hint=hints_[k],
        )
        with diagnose(hints_[k], name=_label(forward)):
            check_gradient(
                f,
                args[pos],
                grads[k],
                dout,
                tol=tol,
                name=f"{label}, {name}",
                hint=hints_[k],
            )
    return grads if len(wrt) > 1 else grads[0]


def check_unchanged(
    student: Callable[..., Any],
    args: Sequence[Any],
    *,
    names: Sequence[str],
    name: str,
    hint: HintLike,
    kwargs: dict[str, Any] | None = None,
) -> Any:
    """Call ``student`` on the original arrays (not copies) and check that none of them changed, bit for bit."""
    before = [_copy(a) for a in args]
    result = call_student(student, *args, **dict(kwargs or {}))
    for label, b, a in zip(names, before, args):
        _assert_same_bits(b, a, name=f"{label} ({name})", hint=hint)
    return result


def _assert_same_bits(
    before: Any, after: Any, *, name: str, hint: HintLike
) -> None:
    if isinstance(after, np.ndarray):
        assert_unchanged(before, after, name=name, hint=hint)


def check_dtypes(
    arrays: dict[str, Any], dtype: Any, *, name: str, hint: HintLike
) -> None:
    """Every named array has exactly ``dtype``."""
    for label, arr in arrays.items():
        assert_dtype(arr, dtype, name=f"{label} ({name})", hint=hint)


#: A hint for every gradient, or one hint per gradient (None: that gradient is not compared).
GradientHints = HintLike | Sequence[HintLike]


@dataclass(frozen=True)
class Diagnosis:
    """The misconception each kind of failure of one forward and backward pass most likely reveals.

    :func:`check_pass` makes a check only if its hint is given, in this order, so that the first
    failure names the most specific misconception: ``warns`` (a warning came out of the student's
    functions), ``modifies`` (an argument changed), ``dtype`` (a result lost the input's dtype),
    ``finite`` (inf or nan where the answer is finite), ``values`` (the forward output; entry by entry,
    each relative to its own size, if ``entrywise``), ``gradients`` (one hint, or one per gradient;
    away from the kinks) and ``kink`` (the first gradient at the kinks, where the derivative is a
    convention). An exception raised by the forward pass is reported with ``values`` (or the first
    gradient's hint), one raised by the backward pass with the first gradient's hint. ``extra``: one
    hint, or one per extra result of the forward pass (:func:`check_pass`'s ``extra``), compared after
    ``values`` and before the gradients (None: not compared)."""

    values: HintLike = None
    gradients: GradientHints = None
    extra: GradientHints = None
    warns: HintLike = None
    modifies: HintLike = None
    dtype: HintLike = None
    finite: HintLike = None
    kink: HintLike = None
    entrywise: bool = False


def reference_pass(
    forward: Callable[..., Any],
    backward: Callable[..., Any],
    args: Sequence[Any],
    dout: Any,
    *,
    kwargs: dict[str, Any] | None = None,
) -> tuple[Any, ...]:
    """A reference's forward output and gradients, computed in float64 (for :func:`check_pass`):
    ``(out, gradients)``, or ``(out, gradients, extras)`` for a forward pass that returns
    ``(out, cache, *extras)``."""
    out, cache, *extras = forward(
        *[_float64(a) for a in args], **dict(kwargs or {})
    )
    grads = backward(_float64(dout), cache)
    grads = grads if isinstance(grads, tuple) else (grads,)
    return (out, grads, tuple(extras)) if extras else (out, grads)


def _masked(a: Any, mask: Any) -> Any:
    arr = np.asarray(a)
    return (
        arr[mask] if mask is not None and arr.shape == np.shape(mask) else arr
    )


def check_pass(
    forward: Callable[..., Any],
    backward: Callable[..., Any] | None,
    args: Mapping[str, Any],
    dout: Any,
    expected: tuple[Any, ...],
    *,
    grads: Sequence[str],
    name: str,
    diagnosis: Diagnosis,
    kwargs: dict[str, Any] | None = None,
    kinks: Any = None,
    extra: Sequence[str] = (),
) -> tuple[Any, ...]:
    """Run the student's ``forward(*args)`` and ``backward(dout, cache)`` once and check the results,
    in the order :class:`Diagnosis` gives; return ``(out, gradients)``.

    ``args`` maps each input's name to its value, in the order of the forward pass's parameters; the
    student's functions get these arrays (and ``dout``) themselves, which must be left bit for bit as
    they were. ``expected`` is ``(out, (gradient, ...))`` (an entry None: not compared); ``grads``
    names the gradients. ``kinks`` is a boolean mask over the first input: where it is True the first
    gradient is a convention, compared only under ``diagnosis.kink``. Tolerances follow the dtype of the
    first float input (:data:`TOLERANCE`); entrywise comparisons let values below the dtype's smallest
    normal number come out as 0.

    ``backward`` None: the forward pass alone (``grads`` empty; ``dout`` is not used). ``extra`` names
    what the forward pass returns after its cache (batch normalization's new running statistics): it
    returns ``(out, cache, *extra)``, ``expected`` is ``(out, (gradient, ...), (extra value, ...))``
    (an entry None: not compared), and ``diagnosis.extra`` gives their hints; they are checked like
    ``out`` (dtype, finiteness, values), after it. Returns ``(out, gradients, extras)`` then."""
    kwargs = dict(kwargs or {})
    names = list(args)
    inputs = [args[n] for n in names]
    if backward is None:
        grads = []
    else:
        names, inputs = names + ["dout"], inputs + [dout]
    before = [_copy(a) for a in inputs]
    dtype = _first_float_dtype(inputs)
    tol = tolerance(dtype)
    grad_hints = (
        _per_gradient(diagnosis.gradients, len(grads))
        if backward is not None
        else []
    )
    extra_hints = _per_gradient(diagnosis.extra, len(extra))
    first_grad_hint = next((h for h in grad_hints if h is not None), None)
    forward_hint = (
        diagnosis.values if diagnosis.values is not None else first_grad_hint
    )
    backward_hint = (
        first_grad_hint if first_grad_hint is not None else diagnosis.values
    )
    labels = (
        _label(forward)
        if backward is None
        else f"{_label(forward)} / {_label(backward)}"
    )
    watch = (
        no_warnings(name=f"{labels}, {name}", hint=diagnosis.warns)
        if diagnosis.warns is not None
        else contextlib.nullcontext()
    )
    with watch:
        with diagnose(forward_hint, name=_label(forward)):
            out, cache, extras = _unpack(
                call_student(forward, *inputs[: len(args)], **kwargs),
                extra,
                name,
                forward_hint,
            )
        got: tuple[Any, ...] = ()
        if backward is not None:
            with diagnose(backward_hint, name=_label(backward)):
                got = _as_tuple(
                    call_student(backward, dout, cache),
                    len(grads),
                    grads,
                    name,
                    backward_hint,
                )
    if diagnosis.modifies is not None:
        for label, b, a in zip(names, before, inputs):
            _assert_same_bits(
                b, a, name=f"{label} ({name})", hint=diagnosis.modifies
            )
    results = {"out": out, **dict(zip(extra, extras)), **dict(zip(grads, got))}
    if diagnosis.dtype is not None:
        check_dtypes(results, dtype, name=name, hint=diagnosis.dtype)
    exp_out, exp_grads = expected[0], list(expected[1])
    exp_extras = (
        list(expected[2]) if len(expected) > 2 else [None] * len(extra)
    )
    if diagnosis.finite is not None:
        for (label, value), exp in zip(
            results.items(), [exp_out, *exp_extras, *exp_grads]
        ):
            finite = (
                None
                if exp is None
                else np.isfinite(np.asarray(exp, dtype=np.float64))
            )
            assert_finite(
                value,
                name=f"{label} ({name})",
                hint=diagnosis.finite,
                where=finite,
            )
    if diagnosis.values is not None and exp_out is not None:
        exp_out = np.asarray(exp_out)
        assert_shape(
            out, exp_out.shape, name=f"out ({name})", hint=diagnosis.values
        )
        if diagnosis.entrywise:
            assert_entrywise_close(
                out,
                exp_out,
                rtol=tol,
                atol=float(np.finfo(dtype).tiny),
                name=f"out ({name})",
                hint=diagnosis.values,
            )
        else:
            assert_close(
                out,
                exp_out,
                rtol=tol,
                name=f"out ({name})",
                hint=diagnosis.values,
            )
    for label, value, exp, hint in zip(extra, extras, exp_extras, extra_hints):
        if hint is None or exp is None:
            continue
        exp = np.asarray(exp)
        assert_shape(value, exp.shape, name=f"{label} ({name})", hint=hint)
        assert_close(value, exp, rtol=tol, name=f"{label} ({name})", hint=hint)
    mask = None if kinks is None else ~np.asarray(kinks, dtype=bool)
    for k, (label, value, exp, hint) in enumerate(
        zip(grads, got, exp_grads, grad_hints)
    ):
        if hint is None or exp is None:
            continue
        exp = np.asarray(exp)
        assert_shape(value, exp.shape, name=f"{label} ({name})", hint=hint)
        where = mask if k == 0 else None
        assert_close(
            _masked(value, where),
            _masked(exp, where),
            rtol=tol,
            name=f"{label} ({name}{', away from the kinks' if where is not None else ''})",
            hint=hint,
        )
    if (
        kinks is not None
        and diagnosis.kink is not None
        and exp_grads
        and exp_grads[0] is not None
    ):
        at = np.asarray(kinks, dtype=bool)
        if at.any():
            assert_close(
                _masked(got[0], at),
                _masked(exp_grads[0], at),
                rtol=tol,
                name=f"{grads[0]} at the kinks ({name})",
                hint=diagnosis.kink,
            )
    return (out, got, extras) if extra else (out, got)
