"""dlbasics.normalization against PyTorch (float64), numerical gradients, hand calculations and properties."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from dlbasics.gradcheck import numerical_gradient_array, rel_error
from dlbasics.normalization import (
    batchnorm_backward,
    batchnorm_forward,
    layernorm_backward,
    layernorm_forward,
)
from tests.oracle import torch_forward_backward
from tests.strategies import float_dtypes

F64 = torch.float64


def _torch_bn(d: int, gamma: np.ndarray, beta: np.ndarray, momentum: float, eps: float) -> torch.nn.BatchNorm1d:
    bn = torch.nn.BatchNorm1d(d, momentum=momentum, eps=eps, dtype=F64)
    with torch.no_grad():
        bn.weight.copy_(torch.from_numpy(gamma))
        bn.bias.copy_(torch.from_numpy(beta))
    return bn


def _torch_bn_step(bn: torch.nn.BatchNorm1d, x: np.ndarray, dout: np.ndarray) -> dict[str, np.ndarray]:
    """One forward and backward pass of ``bn`` in its current mode; its gradients are reset first."""
    bn.zero_grad(set_to_none=True)
    tx = torch.tensor(x, dtype=F64, requires_grad=True)
    out = bn(tx)
    out.backward(torch.tensor(dout, dtype=F64))
    assert tx.grad is not None and bn.weight.grad is not None and bn.bias.grad is not None
    return {
        "out": out.detach().numpy(),
        "dx": tx.grad.numpy(),
        "dgamma": bn.weight.grad.numpy().copy(),
        "dbeta": bn.bias.grad.numpy().copy(),
        "running_mean": bn.running_mean.numpy().copy(),
        "running_var": bn.running_var.numpy().copy(),
    }


def _compare(ours: dict[str, np.ndarray], theirs: dict[str, np.ndarray], where: str, tol: float = 1e-10) -> None:
    for name, ref in theirs.items():
        err = rel_error(ours[name], ref)
        assert err <= tol, f"{where}: {name} differs from torch.nn.BatchNorm1d/LayerNorm by {err:.3g} (relative)"


# ------------------------------------------------------------------------- batch norm: PyTorch parity


@pytest.mark.parametrize("momentum,eps", [(0.1, 1e-5), (0.3, 1e-3), (1.0, 1e-5), (0.0, 0.1)])
@pytest.mark.parametrize("seed", [0, 1])
def test_batchnorm_matches_torch_over_training_steps_then_evaluation(momentum: float, eps: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    d = int(rng.integers(1, 7))
    gamma, beta = rng.uniform(0.5, 2.0, d), rng.standard_normal(d)
    running_mean, running_var = np.zeros(d), np.ones(d)
    bn = _torch_bn(d, gamma, beta, momentum, eps)
    bn.train()
    for step in range(5):
        n = int(rng.integers(2, 9))  # a different batch size every step, 2 included
        x = rng.standard_normal((n, d)) * rng.uniform(0.1, 5.0, d) + rng.uniform(-3, 3, d)
        dout = rng.standard_normal((n, d))
        out, cache, running_mean, running_var = batchnorm_forward(
            x, gamma, beta, running_mean, running_var, training=True, momentum=momentum, eps=eps
        )
        dx, dgamma, dbeta = batchnorm_backward(dout, cache)
        ours = {
            "out": out,
            "dx": dx,
            "dgamma": dgamma,
            "dbeta": dbeta,
            "running_mean": running_mean,
            "running_var": running_var,
        }
        _compare(ours, _torch_bn_step(bn, x, dout), f"training step {step} (N={n})")
    bn.eval()
    for n in (1, 5):  # evaluation works for a single example too
        x = rng.standard_normal((n, d)) * 2 + 1
        dout = rng.standard_normal((n, d))
        out, cache, rm, rv = batchnorm_forward(
            x, gamma, beta, running_mean, running_var, training=False, momentum=momentum, eps=eps
        )
        dx, dgamma, dbeta = batchnorm_backward(dout, cache)
        ours = {"out": out, "dx": dx, "dgamma": dgamma, "dbeta": dbeta, "running_mean": rm, "running_var": rv}
        _compare(ours, _torch_bn_step(bn, x, dout), f"evaluation (N={n})")
        np.testing.assert_array_equal(rm, running_mean, err_msg="evaluation must return running_mean unchanged")
        np.testing.assert_array_equal(rv, running_var, err_msg="evaluation must return running_var unchanged")


def test_batchnorm_matches_torch_functional_with_large_offsets() -> None:
    # |mean| >> std: a one-pass variance (E[x^2] - mean^2) would lose most digits here
    rng = np.random.default_rng(5)
    x = 1e6 + rng.standard_normal((16, 3)) * 1e-2
    gamma, beta, dout = rng.standard_normal(3), rng.standard_normal(3), rng.standard_normal((16, 3))
    rm, rv = np.zeros(3), np.ones(3)
    out, cache, new_rm, new_rv = batchnorm_forward(x, gamma, beta, rm, rv, training=True)
    dx, dgamma, dbeta = batchnorm_backward(dout, cache)
    t_rm, t_rv = torch.zeros(3, dtype=F64), torch.ones(3, dtype=F64)

    def twin(tx: torch.Tensor, tg: torch.Tensor, tb: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.batch_norm(tx, t_rm, t_rv, tg, tb, training=True, momentum=0.1, eps=1e-5)

    t_out, (t_dx, t_dg, t_db) = torch_forward_backward(twin, dout, x, gamma, beta)
    _compare(
        {"out": out, "dx": dx, "dgamma": dgamma, "dbeta": dbeta, "running_mean": new_rm, "running_var": new_rv},
        {
            "out": t_out,
            "dx": t_dx,
            "dgamma": t_dg,
            "dbeta": t_db,
            "running_mean": t_rm.numpy(),
            "running_var": t_rv.numpy(),
        },
        "offset 1e6",
        tol=1e-8,
    )


def test_batchnorm_running_statistics_by_hand() -> None:
    # one feature, batch [1, 3]: mean 2, biased variance 1, unbiased variance 2
    x = np.array([[1.0], [3.0]])
    out, _, rm, rv = batchnorm_forward(x, np.ones(1), np.zeros(1), np.zeros(1), np.ones(1), training=True)
    np.testing.assert_allclose(rm, [0.9 * 0 + 0.1 * 2], rtol=1e-15, err_msg="running mean: 0.9 * 0 + 0.1 * 2")
    np.testing.assert_allclose(
        rv,
        [0.9 * 1 + 0.1 * 2],
        rtol=1e-15,
        err_msg="running variance must be updated with the UNBIASED variance (2, not 1)",
    )
    expected = np.array([[-1.0], [1.0]]) / np.sqrt(1.0 + 1e-5)
    np.testing.assert_allclose(out, expected, rtol=1e-15, err_msg="normalize with the BIASED variance (1) plus eps")


def test_batchnorm_evaluation_uses_the_running_statistics_by_hand() -> None:
    x = np.array([[4.0, -1.0]])
    out, _, _, _ = batchnorm_forward(
        x,
        np.array([2.0, 1.0]),
        np.array([0.5, 0.0]),
        np.array([1.0, 0.0]),
        np.array([9.0, 4.0]),
        training=False,
        eps=0.0,
    )
    np.testing.assert_allclose(out, [[2.0 * (4 - 1) / 3 + 0.5, -1.0 / 2]], rtol=1e-15)


# ------------------------------------------------------------------------ batch norm: numerical gradients


@pytest.mark.parametrize("training", [True, False], ids=["training", "evaluation"])
def test_batchnorm_numerical_gradient(training: bool) -> None:
    rng = np.random.default_rng(11)
    x = rng.standard_normal((6, 4)) * 2 + 0.5
    gamma, beta = rng.uniform(0.5, 2, 4), rng.standard_normal(4)
    rm, rv = rng.standard_normal(4), rng.uniform(0.5, 2, 4)
    dout = rng.standard_normal((6, 4))

    def f(x_: np.ndarray, g_: np.ndarray, b_: np.ndarray) -> np.ndarray:
        return batchnorm_forward(x_, g_, b_, rm, rv, training=training)[0]

    _, cache, _, _ = batchnorm_forward(x, gamma, beta, rm, rv, training=training)
    dx, dgamma, dbeta = batchnorm_backward(dout, cache)
    checks = {
        "dx": (dx, numerical_gradient_array(lambda z: f(z, gamma, beta), x.copy(), dout)),
        "dgamma": (dgamma, numerical_gradient_array(lambda z: f(x, z, beta), gamma.copy(), dout)),
        "dbeta": (dbeta, numerical_gradient_array(lambda z: f(x, gamma, z), beta.copy(), dout)),
    }
    for name, (analytic, numeric) in checks.items():
        err = rel_error(analytic, numeric)
        assert err <= 1e-7, (
            f"batch norm ({'training' if training else 'evaluation'}) {name}: analytic vs numerical gradient {err:.3g}"
        )


def test_batchnorm_training_gradient_is_not_the_evaluation_formula() -> None:
    # In training the statistics depend on x: dout * gamma * inv_std alone is wrong. A constant
    # upstream gradient is the clearest case: the output's sum over the batch does not depend on x.
    rng = np.random.default_rng(2)
    x = rng.standard_normal((5, 3))
    _, cache, _, _ = batchnorm_forward(x, np.ones(3), np.zeros(3), np.zeros(3), np.ones(3), training=True)
    dx, _, _ = batchnorm_backward(np.ones((5, 3)), cache)
    np.testing.assert_allclose(
        dx, 0.0, atol=1e-15, err_msg="sum over the batch of BN(x) is N * beta, independent of x: its dx is 0"
    )


# ------------------------------------------------------------------------------- batch norm: edge cases


def test_batchnorm_single_example_in_training_raises_like_torch() -> None:
    x = np.ones((1, 3))
    with pytest.raises(ValueError, match="more than 1 value"):
        batchnorm_forward(x, np.ones(3), np.zeros(3), np.zeros(3), np.ones(3), training=True)
    with pytest.raises(ValueError, match="more than 1 value"):
        torch.nn.BatchNorm1d(3, dtype=F64).train()(torch.ones(1, 3, dtype=F64))


def test_batchnorm_constant_feature_gives_beta() -> None:
    x = np.full((4, 2), 7.0)
    out, cache, _, rv = batchnorm_forward(
        x, np.array([3.0, 3.0]), np.array([0.25, -1.0]), np.zeros(2), np.ones(2), training=True
    )
    np.testing.assert_array_equal(out, np.tile([0.25, -1.0], (4, 1)), err_msg="x - mean is exactly 0: out = beta")
    np.testing.assert_allclose(rv, [0.9, 0.9], rtol=1e-15, err_msg="a constant feature has variance 0")
    dx, _, _ = batchnorm_backward(np.arange(8.0).reshape(4, 2), cache)
    assert np.all(np.isfinite(dx)), "eps keeps the gradient finite for a constant feature"


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"momentum": -0.1}, "Invalid momentum value: -0.1"),
        ({"momentum": 1.5}, "Invalid momentum value: 1.5"),
        ({"eps": -1e-5}, "Invalid epsilon value: -1e-05"),
    ],
)
def test_batchnorm_rejects_bad_hyperparameters(kwargs: dict[str, float], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        batchnorm_forward(np.ones((2, 3)), np.ones(3), np.zeros(3), np.zeros(3), np.ones(3), training=True, **kwargs)


def test_batchnorm_rejects_bad_shapes_and_types() -> None:
    with pytest.raises(ValueError, match=r"\(N, D\)"):
        batchnorm_forward(np.ones((2, 3, 4)), np.ones(3), np.zeros(3), np.zeros(3), np.ones(3), training=True)
    with pytest.raises(ValueError, match="gamma and beta"):
        batchnorm_forward(np.ones((2, 3)), np.ones(4), np.zeros(3), np.zeros(3), np.ones(3), training=True)
    with pytest.raises(ValueError, match="running_mean and running_var"):
        batchnorm_forward(np.ones((2, 3)), np.ones(3), np.zeros(3), np.zeros(2), np.ones(3), training=False)
    with pytest.raises(TypeError, match="floating"):
        batchnorm_forward(np.ones((2, 3), dtype=int), np.ones(3), np.zeros(3), np.zeros(3), np.ones(3), training=True)


# ----------------------------------------------------------------------------------------- layer norm


@pytest.mark.parametrize("eps", [1e-5, 1e-2])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_layernorm_matches_torch(seed: int, eps: float) -> None:
    rng = np.random.default_rng(seed)
    n, d = (int(v) for v in rng.integers(1, 8, size=2))
    x = rng.standard_normal((n, d)) * rng.uniform(0.1, 5, (n, 1)) + rng.uniform(-3, 3, (n, 1))
    gamma, beta, dout = rng.uniform(0.5, 2, d), rng.standard_normal(d), rng.standard_normal((n, d))
    out, cache = layernorm_forward(x, gamma, beta, eps=eps)
    dx, dgamma, dbeta = layernorm_backward(dout, cache)

    def twin(tx: torch.Tensor, tg: torch.Tensor, tb: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.layer_norm(tx, (d,), tg, tb, eps=eps)

    t_out, (t_dx, t_dg, t_db) = torch_forward_backward(twin, dout, x, gamma, beta)
    _compare(
        {"out": out, "dx": dx, "dgamma": dgamma, "dbeta": dbeta},
        {"out": t_out, "dx": t_dx, "dgamma": t_dg, "dbeta": t_db},
        f"layer norm N={n}, D={d}",
    )


def test_layernorm_matches_torch_module() -> None:
    rng = np.random.default_rng(9)
    x, dout = rng.standard_normal((4, 6)), rng.standard_normal((4, 6))
    ln = torch.nn.LayerNorm(6, dtype=F64)
    with torch.no_grad():
        ln.weight.copy_(torch.from_numpy(rng.uniform(0.5, 2, 6)))
        ln.bias.copy_(torch.from_numpy(rng.standard_normal(6)))
    tx = torch.tensor(x, requires_grad=True)
    t_out = ln(tx)
    t_out.backward(torch.tensor(dout))
    assert tx.grad is not None and ln.weight.grad is not None and ln.bias.grad is not None
    out, cache = layernorm_forward(x, ln.weight.detach().numpy().copy(), ln.bias.detach().numpy().copy())
    dx, dgamma, dbeta = layernorm_backward(dout, cache)
    _compare(
        {"out": out, "dx": dx, "dgamma": dgamma, "dbeta": dbeta},
        {
            "out": t_out.detach().numpy(),
            "dx": tx.grad.numpy(),
            "dgamma": ln.weight.grad.numpy(),
            "dbeta": ln.bias.grad.numpy(),
        },
        "torch.nn.LayerNorm",
    )


def test_layernorm_numerical_gradient() -> None:
    rng = np.random.default_rng(12)
    x = rng.standard_normal((5, 6)) * 2 + 0.5
    gamma, beta, dout = rng.uniform(0.5, 2, 6), rng.standard_normal(6), rng.standard_normal((5, 6))
    _, cache = layernorm_forward(x, gamma, beta)
    dx, dgamma, dbeta = layernorm_backward(dout, cache)
    checks = {
        "dx": (dx, numerical_gradient_array(lambda z: layernorm_forward(z, gamma, beta)[0], x.copy(), dout)),
        "dgamma": (dgamma, numerical_gradient_array(lambda z: layernorm_forward(x, z, beta)[0], gamma.copy(), dout)),
        "dbeta": (dbeta, numerical_gradient_array(lambda z: layernorm_forward(x, gamma, z)[0], beta.copy(), dout)),
    }
    for name, (analytic, numeric) in checks.items():
        err = rel_error(analytic, numeric)
        assert err <= 1e-7, f"layer norm {name}: analytic vs numerical gradient {err:.3g}"


def test_layernorm_single_feature_gives_beta_like_torch() -> None:
    x = np.array([[3.0], [-2.0]])
    out, cache = layernorm_forward(x, np.array([5.0]), np.array([0.5]))
    t_out = torch.nn.functional.layer_norm(
        torch.tensor(x), (1,), torch.tensor([5.0], dtype=F64), torch.tensor([0.5], dtype=F64)
    )
    np.testing.assert_array_equal(out, t_out.numpy(), err_msg="D = 1: x - mean is 0, so out = beta, as in PyTorch")
    np.testing.assert_array_equal(out, [[0.5], [0.5]])


def test_layernorm_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="gamma and beta"):
        layernorm_forward(np.ones((2, 3)), np.ones(2), np.zeros(3))
    with pytest.raises(ValueError, match="Invalid epsilon value"):
        layernorm_forward(np.ones((2, 3)), np.ones(3), np.zeros(3), eps=-1.0)
    with pytest.raises(ValueError, match=r"\(N, D\)"):
        layernorm_forward(np.ones(3), np.ones(3), np.zeros(3))


# ------------------------------------------------------------------------------------------ properties


@st.composite
def batches(draw: st.DrawFn, *, min_rows: int = 1) -> np.ndarray:
    """(N, D) float32/float64 arrays, entries in [-100, 100], with repeated values and constant columns."""
    dtype = draw(float_dtypes)
    n = draw(st.integers(min_rows, 8))
    d = draw(st.integers(1, 5))
    elements = st.one_of(st.just(0.0), st.just(1.5), st.floats(-100, 100, allow_nan=False, width=32))
    arr: np.ndarray = draw(hnp.arrays(dtype, (n, d), elements=elements))
    return arr


def _tolerance(x: np.ndarray, var: np.ndarray, eps: float, dtype: Any) -> np.ndarray:
    """Rounding bound for a standardized value: N ulps (of ``dtype``) of the largest |x| over the std used."""
    u = float(np.finfo(dtype).eps)
    return 8 * x.shape[0] * u * (np.max(np.abs(x), axis=0) / np.sqrt(var + eps) + 1.0)


@settings(max_examples=60, deadline=None)
@given(x=batches(min_rows=2))
def test_batchnorm_training_output_has_mean_zero_and_variance_one_per_feature(x: np.ndarray) -> None:
    eps = 1e-5
    out, _, _, _ = batchnorm_forward(
        x,
        np.ones(x.shape[1], x.dtype),
        np.zeros(x.shape[1], x.dtype),
        np.zeros(x.shape[1], x.dtype),
        np.ones(x.shape[1], x.dtype),
        training=True,
    )
    x64 = x.astype(np.float64)
    var = x64.var(axis=0)  # the biased variance of the input, computed independently in float64
    tol = _tolerance(x, var, eps, x.dtype)
    mean_err = np.abs(out.astype(np.float64).mean(axis=0))
    assert np.all(mean_err <= tol), f"per-feature mean of the output must be 0, got {out.mean(axis=0)}"
    # with gamma = 1, beta = 0 the output's biased variance is var / (var + eps): 1 up to eps
    var_err = np.abs(out.astype(np.float64).var(axis=0) - var / (var + eps))
    assert np.all(var_err <= 2 * tol * np.max(np.abs(out), axis=0) + tol), (
        f"per-feature variance of the output must be var/(var+eps) (1 when var >> eps), got {out.var(axis=0)}"
    )


@settings(max_examples=60, deadline=None)
@given(x=batches(min_rows=2), training=st.booleans(), momentum=st.sampled_from([0.0, 0.1, 0.5, 1.0]))
def test_batchnorm_keeps_dtype_and_shape_and_never_modifies_its_inputs(
    x: np.ndarray, training: bool, momentum: float
) -> None:
    d = x.shape[1]
    rng = np.random.default_rng(0)
    gamma, beta = rng.uniform(0.5, 2, d).astype(x.dtype), rng.standard_normal(d).astype(x.dtype)
    rm, rv = rng.standard_normal(d).astype(x.dtype), rng.uniform(0.5, 2, d).astype(x.dtype)
    dout = rng.standard_normal(x.shape).astype(x.dtype)
    inputs = {"x": x, "gamma": gamma, "beta": beta, "running_mean": rm, "running_var": rv, "dout": dout}
    before = {k: v.copy() for k, v in inputs.items()}
    out, cache, new_rm, new_rv = batchnorm_forward(x, gamma, beta, rm, rv, training=training, momentum=momentum)
    dx, dgamma, dbeta = batchnorm_backward(dout, cache)
    for k, v in inputs.items():
        np.testing.assert_array_equal(v, before[k], err_msg=f"batch norm modified its input {k}")
    shapes: dict[str, tuple[Any, tuple[int, ...]]] = {
        "out": (out, x.shape),
        "dx": (dx, x.shape),
        "dgamma": (dgamma, (d,)),
        "dbeta": (dbeta, (d,)),
        "new_running_mean": (new_rm, (d,)),
        "new_running_var": (new_rv, (d,)),
    }
    for name, (arr, shape) in shapes.items():
        assert arr.shape == shape and arr.dtype == x.dtype, (
            f"{name}: expected shape {shape} and dtype {x.dtype}, got {arr.shape} and {arr.dtype}"
        )
        assert np.all(np.isfinite(arr)), f"{name} is not finite for |x| <= 100"
    if not training:
        np.testing.assert_array_equal(new_rm, rm, err_msg="evaluation must not change running_mean")
        np.testing.assert_array_equal(new_rv, rv, err_msg="evaluation must not change running_var")


@settings(max_examples=40, deadline=None)
@given(x=batches(min_rows=2), seed=st.integers(0, 2**16))
def test_batchnorm_training_gradient_removes_shift_and_scale(x: np.ndarray, seed: int) -> None:
    # BN(x + c) = BN(x) and BN(a x) = BN(x) (eps aside), so dx has no component along the
    # batch's constant direction or along x_hat: per feature, sum(dx) = 0 and sum(dx * x_hat) ~ 0.
    x = x.astype(np.float64)
    d = x.shape[1]
    rng = np.random.default_rng(seed)
    dout = rng.standard_normal(x.shape)
    _, cache, _, _ = batchnorm_forward(
        x, rng.uniform(0.5, 2, d), np.zeros(d), np.zeros(d), np.ones(d), training=True, eps=1e-5
    )
    dx, _, _ = batchnorm_backward(dout, cache)
    scale = np.max(np.abs(dout), axis=0) * cache.inv_std * cache.gamma * x.shape[0] + 1e-300
    assert np.all(np.abs(dx.sum(axis=0)) <= 1e-12 * scale), f"sum of dx over the batch must be 0, got {dx.sum(0)}"
    var = x.var(axis=0)
    # orthogonality to x_hat holds exactly for eps = 0; with eps it is off by a factor eps / (var + eps)
    bound = 1e-10 * scale * x.shape[0] + scale * 1e-5 / (var + 1e-5)
    assert np.all(np.abs((dx * cache.x_hat).sum(axis=0)) <= bound), "dx must be orthogonal to x_hat per feature"


@settings(max_examples=40, deadline=None)
@given(x=batches(min_rows=1))
def test_batchnorm_evaluation_treats_each_example_alone(x: np.ndarray) -> None:
    d = x.shape[1]
    gamma, beta = np.full(d, 1.5, x.dtype), np.full(d, -0.5, x.dtype)
    rm, rv = np.full(d, 2.0, x.dtype), np.full(d, 3.0, x.dtype)
    whole, _, _, _ = batchnorm_forward(x, gamma, beta, rm, rv, training=False)
    for i in range(x.shape[0]):
        alone, _, _, _ = batchnorm_forward(x[i : i + 1], gamma, beta, rm, rv, training=False)
        np.testing.assert_array_equal(
            alone[0], whole[i], err_msg="in evaluation an example's output must not depend on the batch"
        )


@settings(max_examples=60, deadline=None)
@given(x=batches(min_rows=1))
def test_layernorm_output_has_mean_zero_and_variance_one_per_example(x: np.ndarray) -> None:
    eps = 1e-5
    d = x.shape[1]
    before = x.copy()
    out, cache = layernorm_forward(x, np.ones(d, x.dtype), np.zeros(d, x.dtype), eps=eps)
    np.testing.assert_array_equal(x, before, err_msg="layer norm modified its input")
    assert out.dtype == x.dtype and out.shape == x.shape, f"out {out.shape}/{out.dtype} for x {x.shape}/{x.dtype}"
    xt = x.astype(np.float64).T  # the per-example statistics are the per-column ones of the transpose
    var = xt.var(axis=0)
    tol = _tolerance(xt, var, eps, x.dtype)
    assert np.all(np.abs(out.astype(np.float64).mean(axis=1)) <= tol), "each row of the output must have mean 0"
    var_err = np.abs(out.astype(np.float64).var(axis=1) - var / (var + eps))
    assert np.all(var_err <= 2 * tol * np.max(np.abs(out), axis=1) + tol), "each row must have variance var/(var+eps)"
    dout = np.ones_like(x)
    dx, dgamma, dbeta = layernorm_backward(dout, cache)
    assert dx.dtype == dgamma.dtype == dbeta.dtype == x.dtype, "layer norm gradients must keep the dtype"
    assert dx.shape == x.shape and dgamma.shape == dbeta.shape == (d,)


@settings(max_examples=40, deadline=None)
@given(x=batches(min_rows=1))
def test_layernorm_treats_each_example_alone(x: np.ndarray) -> None:
    d = x.shape[1]
    gamma, beta = np.full(d, 2.0, x.dtype), np.full(d, 0.5, x.dtype)
    whole, _ = layernorm_forward(x, gamma, beta)
    for i in range(x.shape[0]):
        alone, _ = layernorm_forward(x[i : i + 1], gamma, beta)
        np.testing.assert_array_equal(alone[0], whole[i], err_msg="a row's layer norm must not depend on other rows")
