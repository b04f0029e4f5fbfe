"""dlbasics.regularization against PyTorch (float64), numerical gradients, hand calculations and
properties: weight penalties, soft-thresholding, inverted dropout and the early-stopping rule."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from dlbasics import regularization as R
from dlbasics.gradcheck import numerical_gradient, rel_error
from tests.strategies import float_arrays


def random_params(seed: int, dtype: type = np.float64) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "w1": rng.standard_normal((4, 5)).astype(dtype),
        "b1": rng.standard_normal(5).astype(dtype),
        "w2": rng.standard_normal((5, 3, 2)).astype(dtype),
    }


def torch_penalty(params: dict[str, np.ndarray], fn) -> tuple[float, dict[str, np.ndarray]]:  # type: ignore[no-untyped-def]
    """``fn(list of float64 tensors)`` and its autograd gradient with respect to each array."""
    ts = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in params.items()}
    out = fn(list(ts.values()))
    out.backward()
    return out.item(), {k: t.grad.numpy() for k, t in ts.items()}  # type: ignore[union-attr]


# ----------------------------------------------------------------------------------------------- L2
def test_l2_penalty_hand_calculation() -> None:
    penalty, grads = R.l2_penalty({"a": np.array([3.0, 4.0]), "b": np.array([[1.0]])}, 2.0)
    assert penalty == 26.0, f"1/2 * 2 * (9 + 16 + 1) = 26, got {penalty}"
    np.testing.assert_array_equal(grads["a"], [6.0, 8.0], err_msg="the gradient of (lam/2) w^2 is lam * w")
    np.testing.assert_array_equal(grads["b"], [[2.0]])


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("lam", [0.0, 1e-3, 0.7])
def test_l2_penalty_matches_torch(seed: int, lam: float) -> None:
    params = random_params(seed)
    penalty, grads = R.l2_penalty(params, lam)
    t_pen, t_grads = torch_penalty(params, lambda ts: 0.5 * lam * sum((t**2).sum() for t in ts))
    assert rel_error(penalty, t_pen) <= 1e-12, f"penalty {penalty} vs PyTorch {t_pen}"
    assert list(grads) == list(params), "grads must have the keys of params, in the same order"
    for k in params:
        assert rel_error(grads[k], t_grads[k]) <= 1e-12, (
            f"grad {k} differs from PyTorch: {rel_error(grads[k], t_grads[k]):.3g}"
        )


def test_l2_numerical_gradient() -> None:
    params = random_params(3)
    _, grads = R.l2_penalty(params, 0.3)
    for k in params:
        num = numerical_gradient(lambda z, k=k: R.l2_penalty({**params, k: z}, 0.3)[0], params[k].copy())
        assert rel_error(grads[k], num) <= 1e-7, f"{k}: analytic vs numerical gradient {rel_error(grads[k], num):.3g}"


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_l2_gradient_step_equals_torch_sgd_weight_decay(momentum: float) -> None:
    """SGD on loss + l2_penalty gives the iterates of torch.optim.SGD(weight_decay=lam) on the loss."""
    rng = np.random.default_rng(4)
    x, y = rng.standard_normal((32, 6)), rng.standard_normal((32, 2))
    w0 = rng.standard_normal((6, 2))
    lr, lam, steps = 0.05, 0.3, 25

    w_t = torch.tensor(w0, requires_grad=True)
    opt = torch.optim.SGD([w_t], lr=lr, momentum=momentum, weight_decay=lam)
    x_t, y_t = torch.tensor(x), torch.tensor(y)
    torch_iterates = []
    for _ in range(steps):
        opt.zero_grad()
        torch.mean((x_t @ w_t - y_t) ** 2).backward()
        opt.step()
        torch_iterates.append(w_t.detach().numpy().copy())

    w, buf = w0.copy(), None
    for k in range(steps):
        dw = 2.0 * x.T @ (x @ w - y) / y.size  # gradient of the mean squared error
        dw = dw + R.l2_penalty({"w": w}, lam)[1]["w"]  # plus the penalty's gradient
        if momentum:
            buf = dw if buf is None else momentum * buf + dw
            dw = buf
        w = w - lr * dw
        err = rel_error(w, torch_iterates[k])
        assert err <= 1e-12, f"step {k + 1}: SGD + l2_penalty differs from SGD(weight_decay) by {err:.3g}"


@pytest.mark.parametrize("lam", [-1.0, float("nan")])
def test_penalties_reject_a_bad_strength(lam: float) -> None:
    for fn in (R.l2_penalty, R.l1_penalty):
        with pytest.raises(ValueError, match="Invalid regularization strength"):
            fn({"w": np.ones(2)}, lam)


def test_penalties_want_a_mapping_of_float_arrays() -> None:
    with pytest.raises(TypeError, match="mapping"):
        R.l2_penalty([np.ones(2)], 1.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="floating dtype"):
        R.l1_penalty({"w": np.arange(3)}, 1.0)


def test_penalties_of_no_arrays_are_zero() -> None:
    assert R.l2_penalty({}, 1.0) == (0.0, {})
    assert R.l1_penalty({}, 1.0) == (0.0, {})


# ----------------------------------------------------------------------------------------------- L1
def test_l1_penalty_hand_calculation() -> None:
    penalty, grads = R.l1_penalty({"a": np.array([-2.0, 0.0, 3.0])}, 0.5)
    assert penalty == 2.5, f"0.5 * (2 + 0 + 3) = 2.5, got {penalty}"
    np.testing.assert_array_equal(grads["a"], [-0.5, 0.0, 0.5], err_msg="subgradient lam * sign(w), and 0 at w = 0")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_l1_penalty_matches_torch_including_exact_zeros(seed: int) -> None:
    params = random_params(seed)
    params["w1"][0, :3] = 0.0  # the kink: PyTorch's autograd of abs gives 0 there
    lam = 0.25
    penalty, grads = R.l1_penalty(params, lam)
    t_pen, t_grads = torch_penalty(params, lambda ts: lam * sum(t.abs().sum() for t in ts))
    assert rel_error(penalty, t_pen) <= 1e-12, f"penalty {penalty} vs PyTorch {t_pen}"
    for k in params:
        np.testing.assert_array_equal(grads[k], t_grads[k], err_msg=f"{k}: subgradient must be PyTorch's")


def test_l1_numerical_gradient_away_from_zero() -> None:
    params = random_params(5)
    for v in params.values():
        v[np.abs(v) < 1e-3] = 0.5  # central differences need distance from the kink at 0
    _, grads = R.l1_penalty(params, 0.4)
    for k in params:
        num = numerical_gradient(lambda z, k=k: R.l1_penalty({**params, k: z}, 0.4)[0], params[k].copy())
        assert rel_error(grads[k], num) <= 1e-7, f"{k}: analytic vs numerical gradient {rel_error(grads[k], num):.3g}"


# -------------------------------------------------------------------------------------- soft-threshold
def test_soft_threshold_hand_calculation() -> None:
    out = R.soft_threshold(np.array([-3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 3.0]), 1.0)
    np.testing.assert_array_equal(
        out, [-2.0, 0.0, 0.0, 0.0, 0.0, 0.0, 2.0], err_msg="|x| <= t must give exactly 0, the rest moves t towards 0"
    )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("t", [0.0, 0.3, 2.0])
def test_soft_threshold_is_torch_softshrink(dtype: type, t: float) -> None:
    rng = np.random.default_rng(6)
    x = (rng.standard_normal(200) * 2).astype(dtype)
    x[:4] = [t, -t, 0.0, 1e-30]  # the boundary |x| = t and zero
    out = R.soft_threshold(x, t)
    ref = F.softshrink(torch.from_numpy(x), t).numpy()
    assert out.dtype == x.dtype
    np.testing.assert_array_equal(out, ref, err_msg="soft_threshold must equal torch.nn.functional.softshrink")


@settings(max_examples=40, deadline=None)
@given(x=float_arrays(bound=10.0), t=st.floats(0.0, 5.0))
def test_soft_threshold_is_the_proximal_step(x: np.ndarray, t: float) -> None:
    """out minimizes 1/2 (z - x)^2 + t |z| entry by entry: its optimality conditions hold."""
    before = x.copy()
    out = R.soft_threshold(x, t)
    np.testing.assert_array_equal(x, before, err_msg="soft_threshold modified its input")
    assert out.shape == x.shape and out.dtype == x.dtype
    tt = x.dtype.type(t)
    zero = out == 0
    assert np.all(np.abs(x[zero]) <= tt), "an entry was set to 0 although |x| > t"
    nz = ~zero
    np.testing.assert_array_equal(
        out[nz], x[nz] - np.sign(x[nz]) * tt, err_msg="a non-zero entry must be x - t sign(x)"
    )


def test_soft_threshold_rejects_a_negative_threshold() -> None:
    with pytest.raises(ValueError, match="Invalid threshold"):
        R.soft_threshold(np.ones(2), -0.1)


# ------------------------------------------------------------------------------------------ dropout
def five_sigma(p: float, n: int) -> float:
    return 5.0 * math.sqrt(p * (1.0 - p) / n)


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_drops_a_fraction_p_like_torch(p: float) -> None:
    n = 200_000
    x = np.ones(n)
    out, _ = R.dropout_forward(x, p, True, np.random.default_rng(0))
    ours = float(np.mean(out == 0.0))
    torch.manual_seed(0)
    theirs = float((F.dropout(torch.ones(n, dtype=torch.float64), p, True) == 0).double().mean())
    for who, frac in (("dlbasics", ours), ("PyTorch", theirs)):
        assert abs(frac - p) <= five_sigma(p, n), f"{who} dropped {frac:.4f} of the entries, expected p = {p}"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("p", [0.2, 0.5, 0.9])
def test_dropout_kept_entries_are_scaled_exactly_as_torch(dtype: type, p: float) -> None:
    rng = np.random.default_rng(1)
    x = rng.standard_normal(20_000).astype(dtype)
    out, _ = R.dropout_forward(x, p, True, np.random.default_rng(2))
    torch.manual_seed(2)
    t_out = F.dropout(torch.from_numpy(x), p, True).numpy()
    both = (out != 0) & (t_out != 0)
    assert both.sum() > 100, "expected many entries kept by both"
    assert out.dtype == x.dtype
    np.testing.assert_array_equal(
        out[both], t_out[both], err_msg="a kept entry must be x * (1 / (1 - p)), computed in x's dtype as PyTorch"
    )


@pytest.mark.parametrize("p", [0.3, 0.7])
def test_dropout_preserves_the_mean(p: float) -> None:
    draws = 40_000
    x = np.linspace(-2.0, 3.0, 11)
    out, _ = R.dropout_forward(np.broadcast_to(x, (draws, x.size)).copy(), p, True, np.random.default_rng(3))
    mean = out.mean(axis=0)
    sigma = np.abs(x) * math.sqrt(p / (1.0 - p)) / math.sqrt(draws)  # sd of the mean of x m / (1 - p)
    assert np.all(np.abs(mean - x) <= 5 * sigma + 1e-12), (
        f"E[dropout(x)] must equal x (inverted dropout); mean over {draws} draws {mean}, x {x}"
    )


@pytest.mark.parametrize("p", [0.25, 0.6])
def test_dropout_backward_uses_the_forward_mask(p: float) -> None:
    rng = np.random.default_rng(4)
    x = rng.uniform(0.5, 2.0, size=(30, 40)) * rng.choice([-1, 1], size=(30, 40))  # no zeros
    dout = rng.standard_normal(x.shape)
    out, cache = R.dropout_forward(x, p, True, np.random.default_rng(5))
    dx = R.dropout_backward(dout, cache)
    kept = out != 0
    np.testing.assert_array_equal(dx[~kept], 0.0, err_msg="a dropped entry passes no gradient")
    np.testing.assert_array_equal(
        dx[kept], dout[kept] * (1.0 / (1.0 - p)), err_msg="a kept entry's gradient is dout / (1 - p)"
    )
    # PyTorch's autograd obeys the same rule with its own mask
    torch.manual_seed(5)
    xt = torch.tensor(x, requires_grad=True)
    t_out = F.dropout(xt, p, True)
    t_out.backward(torch.tensor(dout))
    t_kept = (t_out != 0).numpy()
    np.testing.assert_array_equal(xt.grad.numpy()[~t_kept], 0.0)  # type: ignore[union-attr]
    np.testing.assert_array_equal(xt.grad.numpy()[t_kept], dout[t_kept] * (1.0 / (1.0 - p)))  # type: ignore[union-attr]


def test_dropout_numerical_gradient_with_a_fixed_mask() -> None:
    rng = np.random.default_rng(6)
    x, dout = rng.standard_normal((6, 7)), rng.standard_normal((6, 7))
    _, cache = R.dropout_forward(x, 0.4, True, np.random.default_rng(7))
    dx = R.dropout_backward(dout, cache)
    # the mask depends only on the generator's state and the shape, so the same seed repeats it
    num = numerical_gradient(
        lambda z: float(np.sum(R.dropout_forward(z, 0.4, True, np.random.default_rng(7))[0] * dout)), x.copy()
    )
    assert rel_error(dx, num) <= 1e-7, f"analytic vs numerical gradient {rel_error(dx, num):.3g}"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dropout_evaluation_mode_is_the_identity_like_torch(dtype: type) -> None:
    x = np.random.default_rng(8).standard_normal((5, 6)).astype(dtype)
    rng = np.random.default_rng(9)
    state = rng.bit_generator.state
    out, cache = R.dropout_forward(x, 0.5, False, rng)
    np.testing.assert_array_equal(out, F.dropout(torch.from_numpy(x), 0.5, False).numpy())
    np.testing.assert_array_equal(out, x, err_msg="evaluation mode must not drop or rescale")
    assert out is not x and out.dtype == x.dtype, "return a new array of x's dtype"
    assert rng.bit_generator.state == state, "evaluation mode must not draw random numbers"
    dout = np.ones_like(x)
    np.testing.assert_array_equal(R.dropout_backward(dout, cache), dout)
    assert R.dropout_forward(x, 0.5, False, None)[0].dtype == x.dtype, "no rng is needed in evaluation"


def test_dropout_p0_is_the_identity_and_p1_gives_zeros_like_torch() -> None:
    x = np.random.default_rng(10).standard_normal((4, 5))
    out0, cache0 = R.dropout_forward(x, 0.0, True, np.random.default_rng(0))
    np.testing.assert_array_equal(out0, F.dropout(torch.from_numpy(x), 0.0, True).numpy())
    np.testing.assert_array_equal(out0, x)
    np.testing.assert_array_equal(R.dropout_backward(np.ones_like(x), cache0), np.ones_like(x))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # p = 1 must not divide by zero
        out1, cache1 = R.dropout_forward(x, 1.0, True, np.random.default_rng(0))
        dx1 = R.dropout_backward(np.ones_like(x), cache1)
    np.testing.assert_array_equal(out1, F.dropout(torch.from_numpy(x), 1.0, True).numpy())
    np.testing.assert_array_equal(out1, np.zeros_like(x), err_msg="p = 1 drops everything")
    np.testing.assert_array_equal(dx1, np.zeros_like(x))


def test_dropout_same_seed_same_mask() -> None:
    x = np.ones((8, 8))
    a, _ = R.dropout_forward(x, 0.5, True, np.random.default_rng(11))
    b, _ = R.dropout_forward(x, 0.5, True, np.random.default_rng(11))
    np.testing.assert_array_equal(a, b, err_msg="the mask must come from rng alone")


@pytest.mark.parametrize("p", [-0.1, 1.5, float("nan")])
def test_dropout_rejects_p_outside_0_1_as_torch(p: float) -> None:
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1"):
        R.dropout_forward(np.ones(3), p, True, np.random.default_rng(0))
    if not math.isnan(p):
        with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1"):
            F.dropout(torch.ones(3), p, True)


def test_dropout_needs_an_rng_to_draw_a_mask() -> None:
    with pytest.raises(ValueError, match="rng"):
        R.dropout_forward(np.ones(3), 0.5, True, None)


@settings(max_examples=40, deadline=None)
@given(
    x=float_arrays(),
    p=st.sampled_from([0.0, 0.1, 0.5, 0.9, 1.0]),
    training=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_dropout_properties(x: np.ndarray, p: float, training: bool, seed: int) -> None:
    before = x.copy()
    out, cache = R.dropout_forward(x, p, training, np.random.default_rng(seed))
    dx = R.dropout_backward(np.ones_like(x), cache)
    np.testing.assert_array_equal(x, before, err_msg="dropout_forward modified its input")
    assert out.shape == x.shape and out.dtype == x.dtype, f"out {out.shape}/{out.dtype} for x {x.shape}/{x.dtype}"
    assert dx.shape == x.shape and dx.dtype == x.dtype
    if not training or p == 0.0:
        scale = x.dtype.type(1.0)  # the identity
    elif p < 1.0:
        scale = x.dtype.type(1.0) / x.dtype.type(1.0 - p)
    else:
        scale = x.dtype.type(0.0)
    kept = dx != 0
    # every entry is either dropped (0) or kept and scaled by 1 / (1 - p); the gradient says which
    np.testing.assert_array_equal(out[kept], x[kept] * scale)
    np.testing.assert_array_equal(out[~kept], 0.0)
    if not training or p == 0.0:
        np.testing.assert_array_equal(out, x)


# ------------------------------------------------------------------------------------- early stopping
CURVES = [
    # (validation losses, patience, min_delta, expected, why)
    ([], 3, 0.0, False, "no check yet"),
    ([5.0], 0, 0.0, False, "the first finite loss is an improvement on +inf"),
    ([4.0, 3.0, 2.0, 1.0], 1, 0.0, False, "a loss that keeps falling never stops"),
    ([1.0, 0.5, 0.75, 0.875, 0.9375], 3, 0.0, True, "three checks without improvement, patience 3"),
    ([1.0, 0.5, 0.75, 0.875, 0.9375], 4, 0.0, False, "only three checks without improvement, patience 4"),
    ([1.0, 1.0], 1, 0.0, True, "an equal loss is not an improvement"),
    ([1.0, 0.5], 0, 0.0, False, "patience 0 stops only at a check without improvement"),
    ([1.0, 2.0], 0, 0.0, True, "patience 0: the first check without improvement stops"),
    ([1.0, 0.75], 1, 0.25, True, "a decrease equal to min_delta is not an improvement"),
    ([1.0, 0.5], 1, 0.25, False, "a decrease larger than min_delta is an improvement"),
    ([1.0, 0.875, 0.8125, 0.78125], 3, 0.25, True, "no loss is min_delta below the best, 1.0"),
    ([1.0, 0.875, 0.75, 0.625], 1, 0.125, True, "0.75 beats 1.0 by more than min_delta, 0.625 by exactly it"),
    ([1.0, 2.0, 3.0, 0.5, 0.75], 2, 0.0, False, "an improvement resets the wait"),
    ([1.0, 2.0, 3.0, 0.5, 0.75, 0.625], 2, 0.0, True, "two checks after the reset"),
    ([1.0, float("nan")], 10, 0.0, True, "a NaN loss stops at once"),
    ([float("inf")], 10, 0.0, True, "an infinite loss stops at once"),
    ([1.0, float("nan"), 0.5], 1, 0.0, False, "after a NaN, a finite improvement says go on"),
    ([1.0, float("nan"), 2.0], 1, 0.0, True, "a NaN does not reset the wait: the best is still 1.0"),
    ([1.0, 2.0, float("nan"), 3.0], 3, 0.0, False, "a NaN does not count as a check without improvement"),
]


@pytest.mark.parametrize("losses,patience,min_delta,expected,why", CURVES, ids=[c[4] for c in CURVES])
def test_early_stopping_on_hand_made_curves(
    losses: list[float], patience: int, min_delta: float, expected: bool, why: str
) -> None:
    got = R.early_stopping(losses, patience, min_delta)
    assert got is expected, f"{losses}, patience {patience}, min_delta {min_delta}: expected {expected} ({why})"


def test_early_stopping_a_training_loop_stops_where_lightning_would() -> None:
    """Called after every epoch of a U-shaped curve, it stops `patience` epochs after the minimum."""
    curve = [1.0, 0.6, 0.4, 0.3, 0.25, 0.24, 0.26, 0.3, 0.35, 0.4, 0.5]
    stopped = next(e for e in range(1, len(curve) + 1) if R.early_stopping(curve[:e], patience=3))
    assert stopped == 9, f"the minimum is at epoch 6, so patience 3 stops after epoch 9, not {stopped}"


def test_early_stopping_accepts_numpy_arrays_and_does_not_modify_them() -> None:
    losses = np.array([1.0, 0.5, 0.6, 0.7])
    before = losses.copy()
    assert R.early_stopping(losses, 2) is True
    np.testing.assert_array_equal(losses, before)


@pytest.mark.parametrize("patience,min_delta", [(-1, 0.0), (2, -0.1), (2, float("nan")), (1.5, 0.0)])
def test_early_stopping_rejects_bad_arguments(patience: int, min_delta: float) -> None:
    with pytest.raises(ValueError, match="Invalid"):
        R.early_stopping([1.0, 2.0], patience, min_delta)


@settings(max_examples=60, deadline=None)
@given(
    losses=st.lists(st.floats(0.0, 10.0), min_size=1, max_size=30),
    patience=st.integers(1, 6),
    min_delta=st.sampled_from([0.0, 0.01, 0.5]),
)
def test_early_stopping_properties(losses: list[float], patience: int, min_delta: float) -> None:
    stop = R.early_stopping(losses, patience, min_delta)
    if stop:  # a shorter patience would also have stopped
        assert R.early_stopping(losses, patience - 1, min_delta), "stopping with patience P implies P - 1"
    new_best = min(losses) - min_delta - 1.0
    assert not R.early_stopping(losses + [new_best], patience, min_delta), "a new clear minimum never stops"
    falling = sorted(set(losses), reverse=True)
    if min_delta == 0.0:
        assert not R.early_stopping(falling, patience), "a strictly falling curve never stops"
    trailing = losses + [max(losses) + 1.0] * patience
    assert R.early_stopping(trailing, patience, min_delta), f"{patience} worse checks in a row must stop"


# ------------------------------------------------------------------------------ penalty properties
@settings(max_examples=40, deadline=None)
@given(w=float_arrays(bound=100.0), v=float_arrays(bound=100.0), lam=st.floats(0.0, 10.0))
def test_penalty_properties(w: np.ndarray, v: np.ndarray, lam: float) -> None:
    params = {"w": w, "v": v}
    before = {k: a.copy() for k, a in params.items()}
    for fn in (R.l2_penalty, R.l1_penalty):
        penalty, grads = fn(params, lam)
        for k in params:
            np.testing.assert_array_equal(params[k], before[k], err_msg=f"{fn.__name__} modified its input")
            assert grads[k].shape == params[k].shape and grads[k].dtype == params[k].dtype, (
                f"{fn.__name__}: grad {k} must keep shape {params[k].shape} and dtype {params[k].dtype}"
            )
        assert list(grads) == ["w", "v"], "grads keep the order of params"
        assert penalty >= 0.0 and math.isfinite(penalty)
    l2, _ = R.l2_penalty(params, lam)
    l2_double, _ = R.l2_penalty({k: 2 * a for k, a in params.items()}, lam)
    assert math.isclose(l2_double, 4 * l2, rel_tol=1e-12, abs_tol=1e-300), "L2 is quadratic: doubling w quadruples it"
    l1, _ = R.l1_penalty(params, lam)
    l1_double, _ = R.l1_penalty({k: 2 * a for k, a in params.items()}, lam)
    assert math.isclose(l1_double, 2 * l1, rel_tol=1e-12, abs_tol=1e-300), "L1 is absolutely homogeneous"
