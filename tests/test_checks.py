"""dlbasics.checks: the assertions, the misconception tables and the case-table checks that test cells use."""

from __future__ import annotations

import re
from typing import Any

import nbformat
import numpy as np
import pytest

import dlbasics.activations as ref
import dlbasics.losses as losses
from dlbasics.activations import relu_backward, relu_forward
from dlbasics.checks import (
    USES_REFERENCE,
    CheckFailed,
    Diagnosis,
    Hint,
    ReferenceUsed,
    StepDiagnosis,
    assert_close,
    assert_dtype,
    assert_entrywise_close,
    assert_finite,
    assert_shape,
    assert_unchanged,
    call_student,
    cases,
    check_backward,
    check_call,
    check_forward,
    check_gradient,
    check_pass,
    check_steps,
    check_unchanged,
    diagnose,
    extremes,
    hints,
    no_warnings,
    random_shape,
    reference_call,
    reference_pass,
    reference_steps,
    rounding,
)
from dlbasics.checks.steps import is_plain
from tests.chapters import ROOT, chapters


def test_assert_close_messages_say_what_and_why() -> None:
    assert_close(np.array([1.0, 2.0]), np.array([1.0, 2.0]))
    with pytest.raises(AssertionError, match=r"(?s)relu\(x\): relative error .* exceeds 1e-10.*Hint: ReLU section"):
        assert_close(np.array([1.0, 2.0]), np.array([1.0, 2.5]), name="relu(x)", hint="ReLU section")
    with pytest.raises(AssertionError, match="expected shape"):
        assert_close(np.ones(3), np.ones((3, 1)))
    with pytest.raises(AssertionError, match="got None"):
        assert_close(None, np.ones(3))
    with pytest.raises(AssertionError, match="relative error nan"):
        assert_close(np.array([np.nan]), np.array([1.0]))


def test_dtype_shape_and_immutability_checks() -> None:
    assert_dtype(np.ones(2, np.float32), np.float32)
    with pytest.raises(AssertionError, match="expected dtype float32, got float64"):
        assert_dtype(np.ones(2), np.float32)
    with pytest.raises(AssertionError, match="expected shape"):
        assert_shape(np.ones(2), (3,))
    x = np.array([-1.0, 1.0])
    before = x.copy()
    x[x < 0] = 0
    with pytest.raises(AssertionError, match="was modified"):
        assert_unchanged(before, x, name="x")
    with pytest.raises(AssertionError, match="bit for bit"):
        assert_unchanged(np.array([0.0]), np.array([-0.0]), name="x")


def test_entrywise_closeness_measures_each_entry_against_its_own_size() -> None:
    expected = np.array([-1e-8, 1000.0])
    assert_entrywise_close(expected * (1 + 1e-12), expected, rtol=1e-10)
    assert_close(np.array([-1.1e-8, 1000.0]), expected)  # relative to the largest entry: fine
    with pytest.raises(CheckFailed, match=r"entry \(0,\) is -1.1e-08, expected -1e-08"):
        assert_entrywise_close(np.array([-1.1e-8, 1000.0]), expected, rtol=1e-10)
    tiny = np.finfo(np.float64).tiny
    assert_entrywise_close(np.array([0.0]), np.array([tiny / 4]), rtol=1e-10, atol=tiny)  # below the normal range
    for bad in (np.nan, np.inf):
        with pytest.raises(CheckFailed):
            assert_entrywise_close(np.array([bad]), np.array([1.0]), rtol=1e-10)
    assert_entrywise_close(np.array([np.inf]), np.array([np.inf]), rtol=1e-10)
    with pytest.raises(CheckFailed, match="2 of 3 entries are inf or nan"):
        assert_finite(np.array([1.0, np.nan, np.inf]), name="dx")
    assert_finite(np.array([1.0, np.inf]), where=np.array([True, False]))


def test_no_warnings_catches_overflow_but_not_underflow() -> None:
    with no_warnings():
        np.exp(np.array([-1000.0]))  # underflow to 0 is harmless
    with pytest.raises(AssertionError, match="RuntimeWarning.*overflow"):
        with no_warnings(name="sigmoid_forward"):
            np.exp(np.array([1000.0]))


def test_check_gradient_detects_a_wrong_backward() -> None:
    x = np.array([[0.5, -1.5, 2.0]])
    dout = np.array([[1.0, 2.0, 3.0]])
    check_gradient(np.tanh, x, dout * (1 - np.tanh(x) ** 2), dout)
    with pytest.raises(AssertionError, match="numerical gradient"):
        check_gradient(np.tanh, x, dout * (1 - np.tanh(x)), dout)


def test_a_hint_names_its_misconception_and_section() -> None:
    h = Hint("relu_slope", "the slope of ReLU for positive inputs is 1", "Activation functions › ReLU")
    with pytest.raises(CheckFailed) as err:
        assert_close(np.array([1.0]), np.array([2.0]), name="relu(x)", hint=h)
    assert err.value.misconception == "relu_slope"
    assert "Hint: the slope of ReLU for positive inputs is 1 (Activation functions › ReLU)" in str(err.value)
    assert "[misconception: relu_slope]" in str(err.value)


def _relu_bad_backward(dout: np.ndarray, cache: Any) -> np.ndarray:
    return dout * (cache.x >= -1.0)  # wrong: passes the gradient for x in [-1, 0)


def _relu_in_place(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x[x < 0] = 0.0
    return x, x


def test_case_table_checks_accept_the_reference_and_catch_each_mistake() -> None:
    table = cases(range(3), lambda rng: {"x": rng.uniform(0.1, 2.0, random_shape(rng)) * rng.choice([-1.0, 1.0])})
    assert [c.seed for c in table] == [0, 1, 2] and all("x of shape" in c.label for c in table)
    for case in table:
        for dtype in (np.float64, np.float32):
            c = case.cast(dtype)
            check_forward(relu_forward, relu_forward, c.args("x"), name=f"relu, {c}", hint="ReLU")
        dout = np.ones_like(case["x"])
        check_backward(
            relu_forward, relu_backward, case.args("x"), dout, wrt=[0], names=["dx"], name=str(case), hint="ReLU"
        )
    with pytest.raises(AssertionError, match="relative error"):
        check_forward(lambda x: (np.abs(x), None), relu_forward, (np.array([-1.0, 2.0]),), name="abs", hint="h")
    with pytest.raises(AssertionError, match="numerical gradient"):
        check_backward(
            relu_forward,
            _relu_bad_backward,
            (np.array([-0.5, 1.0]),),
            np.ones(2),
            wrt=[0],
            names=["dx"],
            name="bad",
            hint="h",
        )
    with pytest.raises(AssertionError, match="was modified"):
        check_unchanged(_relu_in_place, (np.array([-1.0, 2.0]),), names=["x"], name="in place", hint="h")


H = Hint("probe", "what this check probes", "Activation functions › Sigmoid and tanh")


def _raises_value_error(dout: np.ndarray, cache: Any) -> np.ndarray:
    return np.ones((2, 3)) @ np.ones((2, 3))  # a shape error, as a missing transpose gives


def test_an_exception_from_the_students_function_is_a_failure_with_the_checks_hint() -> None:
    with pytest.raises(CheckFailed, match=r"(?s)raised ValueError.*\[misconception: probe\]") as err:
        check_backward(
            relu_forward,
            _raises_value_error,
            (np.array([-0.5, 1.0]),),
            np.ones(2),
            wrt=[0],
            names=["dx"],
            name="shape error",
            hint=H,
        )
    assert err.value.misconception == "probe"
    with pytest.raises(NotImplementedError):  # an answer not written yet stays what it is
        with diagnose(H):
            raise NotImplementedError()
    with pytest.raises(CheckFailed, match="probe"):
        with diagnose(H):
            raise TypeError("cannot unpack")


class ReferenceUsedByTheGrader(AssertionError):
    """Stands for dlbgrader.proxy.ReferenceUsed, which dlbasics must not import."""


ReferenceUsedByTheGrader.__name__ = "ReferenceUsed"


def test_graded_work_handed_to_a_reference_names_the_common_misconception() -> None:
    def proxy(x: np.ndarray) -> Any:
        raise ReferenceUsedByTheGrader("sigmoid_forward(): No module named 'torch'")

    with pytest.raises(ReferenceUsed, match=r"(?s)No module named 'torch'.*\[misconception: uses_reference\]") as err:
        call_student(proxy, np.ones(2))
    assert err.value.misconception == USES_REFERENCE.id
    assert hints("ps2_activations")["uses_reference"] is USES_REFERENCE
    assert "uses_reference" not in {h.id for h in hints("ps2_activations")}  # not one of the chapter's


def _sigmoid_naive(x: np.ndarray) -> tuple[np.ndarray, Any]:
    out = 1 / (1 + np.exp(-x))
    return out, ref.SigmoidCache(out=out)


def _sigmoid_derivative_from_x(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return ref.sigmoid_forward(x)[0], x


def _sigmoid_backward_from_x(dout: np.ndarray, x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore", invalid="ignore"):
        e = np.exp(-x)
        return dout * e / (1 + e) ** 2


def _relu_upcast(dout: np.ndarray, cache: Any) -> np.ndarray:
    return dout * np.where(cache.x > 0, 1.0, 0.0)


def _relu_one_at_zero(dout: np.ndarray, cache: Any) -> np.ndarray:
    return np.where(cache.x >= 0, dout, 0.0)


def _relu_in_place_pass(x: np.ndarray) -> tuple[np.ndarray, Any]:
    cache = ref.relu_forward(x.copy())[1]
    np.maximum(x, 0, out=x)
    return x, cache


SIGMOID = (ref.sigmoid_forward, ref.sigmoid_backward)
RELU = (ref.relu_forward, ref.relu_backward)


@pytest.mark.parametrize(
    ("forward", "backward", "reference", "dtype", "misconception"),
    [
        (ref.sigmoid_forward, ref.sigmoid_backward, SIGMOID, np.float32, None),
        (ref.relu_forward, ref.relu_backward, RELU, np.float32, None),
        (_sigmoid_naive, ref.sigmoid_backward, SIGMOID, np.float64, "warns"),
        (_sigmoid_derivative_from_x, _sigmoid_backward_from_x, SIGMOID, np.float64, "finite"),
        (ref.relu_forward, _relu_upcast, RELU, np.float32, "dtype"),
        (_relu_in_place_pass, ref.relu_backward, RELU, np.float64, "modifies"),
        (ref.relu_forward, _relu_one_at_zero, RELU, np.float64, "kink"),
    ],
)
def test_check_pass_names_the_most_specific_misconception_first(
    forward: Any, backward: Any, reference: Any, dtype: Any, misconception: str | None
) -> None:
    diagnosis = Diagnosis(
        **{k: Hint(k, k, "s") for k in ("warns", "modifies", "dtype", "finite", "values", "gradients", "kink")},
        entrywise=True,
    )
    c = extremes()[0].cast(dtype)
    expected = reference_pass(*reference, c.args("x"), c["dout"])

    def run() -> None:
        check_pass(
            forward,
            backward,
            c.inputs("x"),
            c["dout"],
            expected,
            grads=["dx"],
            name=str(c),
            diagnosis=diagnosis,
            kinks=c["x"] == 0,
        )

    if misconception is None:
        run()
        return
    with pytest.raises(CheckFailed) as err:
        run()
    assert err.value.misconception == misconception, str(err.value)


def test_check_pass_compares_values_entry_by_entry_and_gradients_by_their_largest_entry() -> None:
    def elu_exp_minus_one(x: np.ndarray) -> tuple[np.ndarray, Any]:
        out, cache = ref.elu_forward(x)
        with np.errstate(over="ignore"):
            return np.where(x > 0, x, np.exp(x) - 1).astype(x.dtype), cache

    c = extremes()[0]
    expected = reference_pass(ref.elu_forward, ref.elu_backward, c.args("x"), c["dout"])
    loose = Diagnosis(values=Hint("values", "v", "s"), gradients=Hint("gradients", "g", "s"))
    check_pass(
        elu_exp_minus_one,
        ref.elu_backward,
        c.inputs("x"),
        c["dout"],
        expected,
        grads=["dx"],
        name="norm-wise",
        diagnosis=loose,
    )
    with pytest.raises(CheckFailed, match=r"entry \(6,\)") as err:  # ELU(-1e-8)
        check_pass(
            elu_exp_minus_one,
            ref.elu_backward,
            c.inputs("x"),
            c["dout"],
            expected,
            grads=["dx"],
            name="entrywise",
            diagnosis=Diagnosis(values=Hint("values", "v", "s"), entrywise=True),
        )
    assert err.value.misconception == "values"


def test_check_backward_takes_one_hint_per_gradient() -> None:
    x, w, b = np.ones((2, 3)), np.ones((3, 2)), np.ones(2)

    def linear_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, Any]:
        return x @ w + b, (x, w)

    def db_mean(dout: np.ndarray, cache: Any) -> tuple[np.ndarray, ...]:
        x, w = cache
        return dout @ w.T, x.T @ dout, dout.mean(axis=0)

    hints_ = [Hint("dx", "", "s"), Hint("dw", "", "s"), Hint("db", "", "s")]
    with pytest.raises(CheckFailed) as err:
        check_backward(
            linear_forward,
            db_mean,
            (x, w, b),
            np.arange(4.0).reshape(2, 2),
            wrt=[0, 1, 2],
            names=["dx", "dw", "db"],
            name="db as a mean",
            hint=hints_,
        )
    assert err.value.misconception == "db" and "db, db as a mean" in str(err.value)


ASSIGNMENTS = [
    c.assignment
    for c in chapters()
    if (ROOT / "lib" / "dlbasics" / "checks" / "misconceptions" / f"{c.assignment}.py").is_file()
]


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_misconceptions_name_real_sections_and_show_no_code(assignment: str) -> None:
    """Every hint's section is "<chapter title> › <heading>" as the chapter writes them; no hint shows code."""
    ch = next(c for c in chapters() if c.assignment == assignment)
    nb = nbformat.read(str(ROOT / ch.book), as_version=4)
    headings = {
        re.sub(r"\s+", " ", ln.lstrip("#").strip())
        for c in nb.cells
        if c.cell_type == "markdown"
        for ln in c.source.splitlines()
        if ln.startswith("#")
    }
    titles = {c.title: c for c in chapters()}
    for h in hints(assignment):
        title, _, heading = h.section.partition(" › ")
        assert title in titles, f"{assignment} {h.id}: chapter {title!r} does not exist"
        other = titles[title]
        if other.written and other.book != ch.book:
            other_nb = nbformat.read(str(ROOT / other.book), as_version=4)
            found = {
                re.sub(r"\s+", " ", ln.lstrip("#").strip())
                for c in other_nb.cells
                if c.cell_type == "markdown"
                for ln in c.source.splitlines()
                if ln.startswith("#")
            }
        else:
            found = headings
        assert heading in found, f"{assignment} {h.id}: no heading {heading!r} in {title} (headings: {sorted(found)})"
        assert not re.search(r"np\.|\w\(.*\)|\[\w+\]|==|\+=|\*=", h.text), (
            f"{assignment} {h.id}: a hint names the misconception in words, without code: {h.text!r}"
        )


def test_check_pass_and_check_backward_take_forward_passes_with_extra_results() -> None:
    """A forward pass may return more than (out, cache): batch normalization also returns its new running
    statistics. ``extra`` names them; check_pass compares them after ``out`` (also with no backward pass at all),
    and check_backward differentiates ``out`` only."""
    import dlbasics.normalization as norm

    rng = np.random.default_rng(0)
    args = {
        "x": rng.standard_normal((4, 3)),
        "gamma": rng.uniform(0.5, 2.0, 3),
        "beta": rng.standard_normal(3),
        "running_mean": rng.standard_normal(3),
        "running_var": rng.uniform(0.5, 2.0, 3),
    }
    dout, kwargs, extra = rng.standard_normal((4, 3)), {"training": True}, ["new_running_mean", "new_running_var"]
    expected = reference_pass(norm.batchnorm_forward, norm.batchnorm_backward, list(args.values()), dout, kwargs=kwargs)
    assert len(expected) == 3 and len(expected[2]) == 2, "reference_pass returns the extra results third"
    h = {k: Hint(k, k, "s") for k in ("values", "mean", "var", "dx", "shared", "modifies")}
    diagnosis = Diagnosis(
        values=h["values"],
        extra=[h["mean"], h["var"]],
        gradients=[h["dx"], h["shared"], h["shared"]],
        modifies=h["modifies"],
    )

    def run(forward: Any, backward: Any = norm.batchnorm_backward) -> tuple[Any, ...]:
        return check_pass(
            forward,
            backward,
            {k: v.copy() for k, v in args.items()},
            dout.copy(),
            expected if backward is not None else (expected[0], (), expected[2]),
            grads=["dx", "dgamma", "dbeta"] if backward is not None else [],
            extra=extra,
            kwargs=kwargs,
            name="batch norm",
            diagnosis=diagnosis,
        )

    out, grads, (mean, var) = run(norm.batchnorm_forward)
    assert_close(var, expected[2][1]) and assert_close(grads[0], expected[1][0])
    assert len(run(norm.batchnorm_forward, None)[1]) == 0, "backward None: the forward pass alone"

    def biased_running_var(*a: Any, **k: Any) -> tuple[Any, ...]:
        out, cache, mean, var = norm.batchnorm_forward(*a, **k)
        return out, cache, mean, var * 0.75

    def in_place(*a: Any, **k: Any) -> tuple[Any, ...]:
        result = norm.batchnorm_forward(*a, **k)
        a[3][:] = result[2]
        return result

    def two_results(*a: Any, **k: Any) -> tuple[Any, ...]:
        return tuple(norm.batchnorm_forward(*a, **k)[:2])

    for forward, backward, misconception in [
        (biased_running_var, None, "var"),
        (biased_running_var, norm.batchnorm_backward, "var"),
        (in_place, None, "modifies"),
        (two_results, None, "values"),
    ]:
        with pytest.raises(CheckFailed) as err:
            run(forward, backward)
        assert err.value.misconception == misconception, str(err.value)
    assert "expected the forward pass to return 4 results" in str(err.value)

    check_backward(
        norm.batchnorm_forward,
        norm.batchnorm_backward,
        list(args.values()),
        dout,
        wrt=[0, 1, 2],
        names=["dx", "dgamma", "dbeta"],
        kwargs=kwargs,
        extra=extra,
        name="batch norm",
        hint=h["dx"],
    )
    with pytest.raises(CheckFailed, match="return 2 results") as err:
        check_backward(
            norm.batchnorm_forward,
            norm.batchnorm_backward,
            list(args.values()),
            dout,
            wrt=[0],
            names=["dx"],
            kwargs=kwargs,
            name="batch norm without extra",
            hint=h["dx"],
        )
    assert err.value.misconception == "dx"


# ------------------------------------------------------------------ check_call: functions without a cache
def _ce_sum(logits: np.ndarray, targets: np.ndarray) -> tuple[float, np.ndarray]:
    loss, dlogits = losses.cross_entropy_loss(logits, targets)
    return loss * len(targets), dlogits  # the sum over the examples instead of the mean


def _ce_not_divided(logits: np.ndarray, targets: np.ndarray) -> tuple[float, np.ndarray]:
    loss, dlogits = losses.cross_entropy_loss(logits, targets)
    return loss, dlogits * len(targets)


def _ce_upcast(logits: np.ndarray, targets: np.ndarray) -> tuple[float, np.ndarray]:
    loss, dlogits = losses.cross_entropy_loss(logits, targets)
    return loss, dlogits.astype(np.float64)


def _ce_in_place(logits: np.ndarray, targets: np.ndarray) -> tuple[float, np.ndarray]:
    result = losses.cross_entropy_loss(logits, targets)
    logits -= logits.max(axis=1, keepdims=True)
    return result


def _ce_naive(logits: np.ndarray, targets: np.ndarray) -> tuple[float, np.ndarray]:
    p = np.exp(logits) / np.sum(np.exp(logits), axis=1, keepdims=True)
    rows = np.arange(len(targets))
    return float(-np.mean(np.log(p[rows, targets]))), (p - np.eye(logits.shape[1])[targets]) / len(targets)


def _ce_nan_gradient(logits: np.ndarray, targets: np.ndarray) -> tuple[float, np.ndarray]:
    loss, dlogits = losses.cross_entropy_loss(logits, targets)
    return loss, dlogits * np.nan


def _ce_loss_array(logits: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    loss, dlogits = losses.cross_entropy_loss(logits, targets)
    return np.array([loss]), dlogits


def _ce_one_hot_targets(logits: np.ndarray, targets: np.ndarray) -> tuple[float, np.ndarray]:
    p = losses.softmax(logits)
    return 0.0, (p - targets) / len(targets)  # broadcasting fails: targets taken as one-hot rows


@pytest.mark.parametrize(
    ("fn", "dtype", "misconception"),
    [
        (losses.cross_entropy_loss, np.float64, None),
        (losses.cross_entropy_loss, np.float32, None),
        (_ce_naive, np.float64, "warns"),
        (_ce_in_place, np.float64, "modifies"),
        (_ce_upcast, np.float32, "dtype"),
        (_ce_nan_gradient, np.float64, "finite"),
        (_ce_sum, np.float64, "values"),
        (_ce_loss_array, np.float64, "values"),
        (_ce_not_divided, np.float64, "gradients"),
        (_ce_one_hot_targets, np.float64, "raises"),
    ],
)
def test_check_call_names_the_most_specific_misconception_first(fn: Any, dtype: Any, misconception: str | None) -> None:
    diagnosis = Diagnosis(
        **{k: Hint(k, k, "s") for k in ("warns", "modifies", "dtype", "finite", "values", "gradients")}
    )
    logits = np.array([[1000.0, 999.0, 998.0], [0.5, -1.0, 2.0]], dtype=dtype)
    targets = np.array([2, 0])
    expected = reference_call(losses.cross_entropy_loss, (logits, targets))
    assert np.ndim(expected[0]) == 0 and expected[1][0].dtype == np.float64

    def run() -> None:
        check_call(
            fn,
            {"logits": logits.copy(), "targets": targets.copy()},
            expected,
            returns=["loss", "dlogits"],
            name="two examples",
            diagnosis=diagnosis,
            raises=Hint("raises", "r", "s"),
            atol=rounding(logits),
        )

    if misconception is None:
        run()
        return
    with pytest.raises(CheckFailed) as err:
        run()
    assert err.value.misconception == misconception, str(err.value)


def test_check_call_checks_a_single_value_and_a_scalar_relative_to_its_own_size() -> None:
    logits = np.array([[1e4, -1e4, 0.0], [0.0, 1.0, 2.0]])
    expected = reference_call(losses.log_softmax, (logits,))
    assert expected[1] == ()
    exact = Diagnosis(values=Hint("values", "v", "s"), finite=Hint("finite", "f", "s"), entrywise=True)
    check_call(losses.log_softmax, {"logits": logits}, expected, returns=["log_probs"], name="exact", diagnosis=exact)

    def log_of_softmax(z: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore"):
            return np.log(losses.softmax(z))

    with pytest.raises(CheckFailed, match=r"log_probs \(inf\): entry \(0, 1\) is -inf") as err:
        check_call(log_of_softmax, {"logits": logits}, expected, returns=["log_probs"], name="inf", diagnosis=exact)
    assert err.value.misconception == "finite"
    loss = Diagnosis(values=Hint("values", "v", "s"))
    small = np.array([[6.0, 0.0]])
    check_call(
        losses.cross_entropy_loss,
        {"logits": small, "targets": np.array([0])},
        reference_call(losses.cross_entropy_loss, (small, np.array([0]))),
        returns=["loss", "dlogits"],
        name="small loss",
        diagnosis=loss,
    )
    with pytest.raises(CheckFailed, match=r"got 0.002478\d*, expected 0.002475\d* \(relative error"):
        check_call(
            lambda z, t: (0.0024787, None),
            {"logits": small, "targets": np.array([0])},
            (0.0024752851, [None]),
            returns=["loss", "dlogits"],
            name="small loss",
            diagnosis=loss,
        )


def test_rounding_lets_an_honest_float32_formula_through_and_nothing_else() -> None:
    def log_softmax_via_lse(z: np.ndarray) -> np.ndarray:  # z - LSE(z): the chapter's formula, in float32
        return z - losses.logsumexp(z)[..., None]

    logits = np.array([[1000.0, 999.0, 998.0]], dtype=np.float32)
    expected = reference_call(losses.log_softmax, (logits,))
    exact = Diagnosis(values=Hint("values", "v", "s"), entrywise=True)
    with pytest.raises(CheckFailed):
        check_call(
            log_softmax_via_lse, {"logits": logits}, expected, returns=["log_probs"], name="f32", diagnosis=exact
        )
    check_call(
        log_softmax_via_lse,
        {"logits": logits},
        expected,
        returns=["log_probs"],
        name="f32",
        diagnosis=exact,
        atol=rounding(logits),
    )
    assert rounding(logits) == pytest.approx(8 * np.finfo(np.float32).eps * 1000)
    assert rounding(np.array([0.5, -np.inf])) == 8 * np.finfo(np.float64).eps  # at least 1, infinities ignored
    big = np.array([[1e4, -1e4]], dtype=np.float32)

    def log_of_clipped_softmax(z: np.ndarray) -> np.ndarray:  # log(max(p, 1e-30)): -69 where -2e4 is right
        return np.log(np.maximum(losses.softmax(z), np.float32(1e-30)))

    with pytest.raises(CheckFailed, match=r"entry \(0, 1\) is -69.07"):
        check_call(
            log_of_clipped_softmax,
            {"logits": big},
            reference_call(losses.log_softmax, (big,)),
            returns=["log_probs"],
            name="clipped",
            diagnosis=exact,
            atol=rounding(big),
        )


# --------------------------------------------------------------------------- step functions (optimizers)


def _adam_in_place_state(w: np.ndarray, dw: np.ndarray, state: Any = None, **hyper: Any) -> tuple[np.ndarray, Any]:
    """Right iterates, but the averages are updated in the arrays of the state it was given."""
    from dlbasics.optim import adam_step

    new_w, new = adam_step(w, dw, None if state is None else state["nt"], **hyper)
    if state is None:
        return new_w, {"nt": new}
    state["nt"].exp_avg[...] = new.exp_avg
    return new_w, {"nt": new}


class _OwnState:
    """A state of the student's own class (not plain data): only making a step again can check it."""

    def __init__(self, buf: np.ndarray) -> None:
        self.buf = buf


def _momentum_own_state_in_place(
    w: np.ndarray, dw: np.ndarray, state: Any = None, *, lr: float, momentum: float = 0.9
) -> tuple[np.ndarray, Any]:
    if state is None:
        state = _OwnState(dw.copy())
    else:
        state.buf *= momentum
        state.buf += dw
    return w - lr * state.buf, state


def _momentum_own_state(
    w: np.ndarray, dw: np.ndarray, state: Any = None, *, lr: float, momentum: float = 0.9
) -> tuple[np.ndarray, Any]:
    buf = dw.copy() if state is None else momentum * state.buf + dw
    return w - lr * buf, _OwnState(buf)


def _sgd_in_place(w: np.ndarray, dw: np.ndarray, state: Any = None, *, lr: float) -> tuple[np.ndarray, None]:
    w -= lr * dw
    return w, None


def _adam_upcast(w: np.ndarray, dw: np.ndarray, state: Any = None, **hyper: Any) -> tuple[np.ndarray, Any]:
    from dlbasics.optim import adam_step

    new_w, new = adam_step(w, dw, state, **hyper)
    return new_w.astype(np.float64), new


def _adagrad_eps_outside(
    w: np.ndarray, dw: np.ndarray, state: Any = None, *, lr: float = 1e-2, eps: float = 1e-10
) -> tuple[np.ndarray, Any]:
    g_sum = dw * dw if state is None else state + dw * dw
    return w - lr * (dw / np.sqrt(g_sum) + eps), g_sum


def test_step_checks_accept_a_reference_and_its_gradients_at_the_iterates() -> None:
    from dlbasics.optim import adam_step, momentum_step

    table = cases(range(2), lambda rng: {"w0": rng.standard_normal((2, 3)), "grads": rng.standard_normal((5, 2, 3))})
    everything = StepDiagnosis(
        **{k: Hint(k, k, "s") for k in ("values", "warns", "modifies", "modifies_state", "dtype", "finite")}
    )
    for case in table:
        for dtype in (np.float64, np.float32):
            c = case.cast(dtype)
            expected = reference_steps(adam_step, c["w0"], c["grads"], kwargs={"lr": 0.1})
            assert expected.shape == (6, 2, 3) and expected.dtype == np.float64
            traj = check_steps(
                adam_step, c["w0"], c["grads"], expected, kwargs={"lr": 0.1}, name=str(c), diagnosis=everything
            )
            assert traj.shape == (6, 2, 3) and traj.dtype == dtype
    # gradients at the iterates, a learning rate per step, and a state of the student's own class
    a, target = np.array([1.0, 3.0]), np.array([0.5, -1.0])
    lrs = [0.1, 0.2, 0.05, 0.1]
    expected = reference_steps(
        momentum_step, np.zeros(2), lambda w, t: a * (w - target), steps=4, lrs=lrs, kwargs={"momentum": 0.5}
    )
    w, state, manual = np.zeros(2), None, [np.zeros(2)]
    for lr in lrs:
        w, state = momentum_step(w, a * (w - target), state, lr=lr, momentum=0.5)
        manual.append(w)
    assert np.array_equal(expected, np.stack(manual))
    check_steps(
        _momentum_own_state,
        np.zeros(2),
        lambda w, t: a * (w - target),
        expected,
        steps=4,
        lrs=lrs,
        kwargs={"momentum": 0.5},
        name="own state",
        diagnosis=everything,
    )


@pytest.mark.parametrize(
    ("step", "dtype", "misconception"),
    [
        (_sgd_in_place, np.float64, "modifies"),
        (_adam_in_place_state, np.float64, "modifies_state"),
        (_momentum_own_state_in_place, np.float64, "modifies_state"),
        (_adam_upcast, np.float32, "dtype"),
    ],
)
def test_step_checks_name_the_most_specific_misconception(step: Any, dtype: Any, misconception: str) -> None:
    diagnosis = StepDiagnosis(
        **{k: Hint(k, k, "s") for k in ("values", "warns", "modifies", "modifies_state", "dtype", "finite")}
    )
    w0 = np.array([1.0, -2.0, 0.5], dtype=dtype)
    grads = np.array([[1.0, 2.0, -1.0]] * 3, dtype=dtype)
    with pytest.raises(CheckFailed) as err:
        check_steps(step, w0, grads, None, kwargs={"lr": 0.1}, name="probe", diagnosis=diagnosis)
    assert err.value.misconception == misconception, str(err.value)


def test_step_checks_report_the_first_wrong_step_warnings_and_results_that_are_not_pairs() -> None:
    from dlbasics.optim import adagrad_step, sgd_step

    hyper = {"lr": 0.1, "eps": 1e-3}
    expected = reference_steps(adagrad_step, np.ones(2), np.array([[1.0, -1.0]] * 3), kwargs=hyper)
    with pytest.raises(CheckFailed, match=r"(?s)w after step 1 of 3 \(probe\).*\[misconception: values\]"):
        check_steps(
            _adagrad_eps_outside,
            np.ones(2),
            np.array([[1.0, -1.0]] * 3),
            expected,
            kwargs=hyper,
            name="probe",
            diagnosis=StepDiagnosis(values=Hint("values", "v", "s")),
        )
    zeros = np.zeros((2, 2))
    with pytest.raises(CheckFailed, match="RuntimeWarning") as err:
        check_steps(
            _adagrad_eps_outside,
            np.ones(2),
            zeros,
            None,
            name="zero gradients",
            diagnosis=StepDiagnosis(warns=Hint("warns", "w", "s"), finite=Hint("finite", "f", "s")),
        )
    assert err.value.misconception == "warns"
    with pytest.raises(CheckFailed, match=r"expected a pair \(new_w, new_state\)"):
        check_steps(
            lambda w, dw, state, lr: w - lr * dw,
            np.ones(2),
            zeros,
            None,
            kwargs={"lr": 0.1},
            name="pair",
            diagnosis=StepDiagnosis(values=Hint("values", "v", "s")),
        )
    check_steps(
        sgd_step,
        np.ones(2),
        zeros,
        np.ones((3, 2)),
        kwargs={"lr": 0.1},
        name="no hint for modifies",
        diagnosis=StepDiagnosis(values=Hint("values", "v", "s")),
    )


def test_plain_data_is_what_travels_as_data() -> None:
    assert is_plain({"step": 3, "m": np.ones(2), "pair": (1.0, [np.float32(2.0), None])})
    assert not is_plain(_OwnState(np.ones(2)))
    assert not is_plain({"nt": ref.SigmoidCache(out=np.ones(2))})  # a NamedTuple is the student's own class
    assert not is_plain(np.array([object()]))


# ------------------------------------------------------------------ random results and dicts of arrays
@pytest.mark.parametrize(("n", "p"), [(4000, 0.25), (500, 0.85), (2000, 0.1), (30, 0.1), (12, 0.5), (1, 0.3)])
def test_binomial_interval_is_the_exact_central_interval(n: int, p: float) -> None:
    """Each tail outside [lo, hi] has probability at most half the false-failure probability, and no
    narrower interval has that property (scipy's binomial distribution as the judge)."""
    from scipy.stats import binom

    from dlbasics.checks import binomial_interval

    for ff in (1e-9, 1e-3, 0.2):
        lo, hi = binomial_interval(n, p, ff)
        assert 0 <= lo <= hi <= n
        assert binom.cdf(lo - 1, n, p) <= ff / 2 * (1 + 1e-9) < binom.cdf(lo, n, p), (n, p, ff, lo)
        assert binom.sf(hi, n, p) <= ff / 2 * (1 + 1e-9) < binom.sf(hi - 1, n, p), (n, p, ff, hi)
    assert binomial_interval(50, 0.0) == (0, 0) and binomial_interval(50, 1.0) == (50, 50)
    with pytest.raises(ValueError):
        binomial_interval(10, 1.5)


def test_binomial_checks_accept_random_draws_and_catch_the_wrong_probability_or_scale() -> None:
    from dlbasics.checks import assert_binomial_count, assert_binomial_mean

    hint = Hint("dropout_scale", "the scale", "s")
    rng = np.random.default_rng(0)
    n, p = 4000, 0.3
    for _ in range(20):  # a correct random answer passes (each check fails it with probability < 1e-9)
        keep = rng.random(n) >= p
        assert_binomial_count(int(np.sum(~keep)), n, p, name="dropped")
        assert_binomial_mean(float(np.mean(2.0 * keep / (1 - p))), n, 1 - p, 2.0, name="mean", hint=hint)
    with pytest.raises(CheckFailed, match=r"(?s)dropped: 2800 of 4000, expected about 1200 .* below 1e-09") as err:
        assert_binomial_count(2800, n, p, name="dropped", hint=Hint("p_meaning", "", "s"))  # p taken as keep
    assert err.value.misconception == "p_meaning"
    with pytest.raises(CheckFailed, match=r"mean is 1\.4, expected about 2") as err:
        assert_binomial_mean(1.4, n, 1 - p, 2.0, name="mean", hint=hint)  # kept entries not rescaled
    assert err.value.misconception == "dropout_scale"
    assert_binomial_mean(-2.0 * (1 + 1e-7), n, 1 - p, -2.0, name="mean", rtol=1e-6)  # a negative value, rounding


def test_assert_mapping_close_checks_the_structure_then_the_values() -> None:
    from dlbasics.checks import assert_mapping_close

    expected = {"w1": np.ones((2, 3)), "w2": np.arange(3.0)}
    structure, values = Hint("structure", "", "s"), Hint("values", "", "s")
    assert_mapping_close({"w1": np.ones((2, 3)), "w2": np.arange(3.0)}, expected, rtol=1e-12, name="grads")
    wrong = [
        ([np.ones((2, 3)), np.arange(3.0)], "structure", "expected a dict"),
        ({"w2": np.arange(3.0), "w1": np.ones((2, 3))}, "structure", "in this order"),
        ({"w1": np.ones((3, 2)), "w2": np.arange(3.0)}, "structure", r"grads\['w1'\]: expected shape \(2, 3\)"),
        ({"w1": np.ones((2, 3)), "w2": np.arange(3.0) * 2}, "values", r"grads\['w2'\]: relative error"),
    ]
    for actual, misconception, message in wrong:
        with pytest.raises(CheckFailed, match=message) as err:
            assert_mapping_close(actual, expected, rtol=1e-12, name="grads", hint=values, keys_hint=structure)
        assert err.value.misconception == misconception
    # on a part of the entries only: a wrong value elsewhere does not count
    off = {"w1": np.ones((2, 3)), "w2": np.array([0.0, 1.0, 5.0])}
    where = {"w1": np.ones((2, 3), dtype=bool), "w2": np.array([True, True, False])}
    assert_mapping_close(off, expected, rtol=1e-12, name="grads", where=where)
    with pytest.raises(CheckFailed, match=r"grads\['w2'\]"):
        assert_mapping_close(off, expected, rtol=1e-12, name="grads", where={**where, "w2": ~where["w2"]})


# ------------------------------------------------------------------- a whole classifier (chapter 7's capstone)

from dlbasics.checks import ClassifierDiagnosis, check_accuracy, check_predictions, digits_split, trained  # noqa: E402

CLASSIFIER = ClassifierDiagnosis(
    contract="contract",
    modifies="modifies",
    evaluation="evaluation",
    labels="labels",
    preprocessing="preprocessing",
    shuffle="shuffle",
    converges="converges",
)


def centroid_classifier(x_train: Any, y_train: Any, rng: Any) -> Any:
    """Nearest class mean of the standardized pixels: fast, order-independent, about 90 % on digits."""
    mean, std = x_train.mean(axis=0), np.where(x_train.std(axis=0) > 0, x_train.std(axis=0), 1.0)
    centres = np.stack([((x_train[y_train == k] - mean) / std).mean(axis=0) for k in range(10)])

    def predict(x: Any) -> Any:
        z = (x - mean) / std
        return np.argmin(((z[:, None, :] - centres[None]) ** 2).sum(axis=2), axis=1)

    return predict


def _failure(fn: Any, check: Any) -> CheckFailed:
    with pytest.raises(CheckFailed) as err:
        check(fn)
    return err.value


def test_digits_split_holds_back_images_and_groups_the_training_part_by_class() -> None:
    a, b = digits_split(3), digits_split(3)
    assert a.x_train.shape == (1347, 64) and a.x_test.shape == (450, 64) and a.x_train.dtype == np.float64
    assert np.all(np.diff(a.y_train) >= 0), "the training part is sorted by label"
    assert np.array_equal(a.x_test, b.x_test) and a.x_train is not b.x_train, "deterministic, and fresh copies"
    rows = {r.tobytes() for r in a.x_train}
    assert sum(r.tobytes() in rows for r in a.x_test) < 10, "the held-back images are (up to duplicates) not trained on"
    assert not np.array_equal(digits_split(4).y_test, a.y_test)


def test_a_classifier_is_trained_once_per_function_and_split() -> None:
    calls = []

    def counting(x: Any, y: Any, rng: Any) -> Any:
        calls.append(len(y))
        return centroid_classifier(x, y, rng)

    split = digits_split(0)
    first = trained(counting, split)
    assert trained(counting, digits_split(0)) is first and calls == [1347]
    trained(counting, digits_split(1))
    assert len(calls) == 2

    def redefined(x: Any, y: Any, rng: Any) -> Any:
        return counting(x, y, rng)

    trained(redefined, split)
    assert len(calls) == 3, "another function object is trained again"


def test_check_predictions_accepts_a_fixed_function_of_each_image_and_names_each_breach() -> None:
    run = check_predictions(centroid_classifier, digits_split(0), diagnosis=CLASSIFIER)
    assert 0.85 < run.accuracy() < 0.95

    def noisy(x: Any, y: Any, rng: Any) -> Any:
        base = centroid_classifier(x, y, rng)
        return lambda z: np.where(rng.random(len(z)) < 0.1, rng.integers(0, 10, len(z)), base(z))

    def batch_standardized(x: Any, y: Any, rng: Any) -> Any:
        base = centroid_classifier(x, y, rng)
        return lambda z: base(x.mean(axis=0) + (z - z.mean(axis=0)) * x.std(axis=0) / (z.std(axis=0) + 1e-12))

    def in_place(x: Any, y: Any, rng: Any) -> Any:
        x -= x.mean(axis=0)
        return centroid_classifier(x, y, rng)

    def floats(x: Any, y: Any, rng: Any) -> Any:
        base = centroid_classifier(x, y, rng)
        return lambda z: base(z).astype(np.float64)

    def broken(x: Any, y: Any, rng: Any) -> Any:
        raise ValueError("shapes do not fit")

    for fn, expected in (
        (noisy, "evaluation"),
        (batch_standardized, "evaluation"),
        (in_place, "modifies"),
        (floats, "contract"),
        (broken, "contract"),
    ):
        err = _failure(fn, lambda f: check_predictions(f, digits_split(0), diagnosis=CLASSIFIER))
        assert f"Hint: {expected}" in str(err), f"{fn.__name__}: expected the {expected} hint, got {err}"

    def unwritten(x: Any, y: Any, rng: Any) -> Any:
        raise NotImplementedError()

    with pytest.raises(NotImplementedError):
        check_predictions(unwritten, digits_split(0), diagnosis=CLASSIFIER)


def test_check_accuracy_diagnoses_a_low_accuracy_by_what_would_repair_it() -> None:
    splits = [digits_split(0), digits_split(1)]
    assert check_accuracy(centroid_classifier, splits, at_least=0.85, diagnosis=CLASSIFIER) >= 0.85

    def shifted(x: Any, y: Any, rng: Any) -> Any:
        base = centroid_classifier(x, y, rng)
        return lambda z: (base(z) + 1) % 10

    def raw_in_predict(x: Any, y: Any, rng: Any) -> Any:
        # least squares on random tanh features of the standardized pixels (about 97 %), asked raw ones
        mean, std = x.mean(axis=0), np.where(x.std(axis=0) > 0, x.std(axis=0), 1.0)
        r, b = rng.standard_normal((64, 300)) / 8, rng.standard_normal(300)

        def design(z: Any) -> Any:
            return np.hstack([np.tanh(z @ r + b), np.ones((len(z), 1))])

        w = np.linalg.lstsq(design((x - mean) / std), np.eye(10)[y], rcond=None)[0]
        return lambda z: np.argmax(design(z) @ w, axis=1)

    def last_examples_only(x: Any, y: Any, rng: Any) -> Any:  # "remembers" only what came last
        return (
            centroid_classifier(x[-700:], y[-700:], rng)
            if len(set(y[-700:])) == 10
            else (lambda z: np.full(len(z), int(y[-1])))
        )

    for fn, expected in ((shifted, "labels"), (raw_in_predict, "preprocessing"), (last_examples_only, "shuffle")):
        err = _failure(fn, lambda f: check_accuracy(f, splits, at_least=0.85, diagnosis=CLASSIFIER))
        assert f"Hint: {expected}" in str(err), f"{fn.__name__}: expected the {expected} hint, got {err}"
    err = _failure(centroid_classifier, lambda f: check_accuracy(f, splits, at_least=0.99, diagnosis=CLASSIFIER))
    assert "Hint: converges" in str(err) and "below 0.99" in str(err)


def test_every_exported_name_is_importable() -> None:
    import dlbasics.checks as checks

    missing = [name for name in checks.__all__ if not hasattr(checks, name)]
    assert not missing, f"dlbasics.checks.__all__ lists names it does not import: {missing}"
