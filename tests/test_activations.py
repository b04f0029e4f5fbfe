"""dlbasics.activations against PyTorch (float64), numerical gradients and properties."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from dlbasics import activations as A
from dlbasics.gradcheck import numerical_gradient_array, rel_error
from tests.oracle import torch_forward_backward
from tests.strategies import float_arrays

# (name, forward(x) -> (out, cache), backward, torch twin)
ELEMENTWISE: list[tuple[str, Callable[..., Any], Callable[..., Any], Callable[[torch.Tensor], torch.Tensor]]] = [
    ("sigmoid", A.sigmoid_forward, A.sigmoid_backward, torch.sigmoid),
    ("tanh", A.tanh_forward, A.tanh_backward, torch.tanh),
    ("relu", A.relu_forward, A.relu_backward, F.relu),
    ("leaky_relu", A.leaky_relu_forward, A.leaky_relu_backward, F.leaky_relu),
    ("leaky_relu_0.2", lambda x: A.leaky_relu_forward(x, 0.2), A.leaky_relu_backward, lambda t: F.leaky_relu(t, 0.2)),
    ("elu", A.elu_forward, A.elu_backward, F.elu),
    ("elu_0.5", lambda x: A.elu_forward(x, 0.5), A.elu_backward, lambda t: F.elu(t, 0.5)),
    ("gelu", A.gelu_forward, A.gelu_backward, F.gelu),
    ("gelu_tanh", lambda x: A.gelu_forward(x, "tanh"), A.gelu_backward, lambda t: F.gelu(t, approximate="tanh")),
    ("silu", A.silu_forward, A.silu_backward, F.silu),
]
IDS = [e[0] for e in ELEMENTWISE]


@pytest.mark.parametrize("name,fwd,bwd,twin", ELEMENTWISE, ids=IDS)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_elementwise_matches_torch(name: str, fwd: Any, bwd: Any, twin: Any, seed: int) -> None:
    rng = np.random.default_rng(seed)
    shape = tuple(rng.integers(1, 7, size=rng.integers(1, 4)))
    x = rng.standard_normal(shape) * 3
    x.flat[0] = 0.0  # the kink / tie point is always exercised
    dout = rng.standard_normal(shape)
    out, cache = fwd(x)
    dx = bwd(dout, cache)
    t_out, (t_dx,) = torch_forward_backward(twin, dout, x)
    assert rel_error(out, t_out) <= 1e-10, f"{name} forward differs from PyTorch: {rel_error(out, t_out):.3g}"
    assert rel_error(dx, t_dx) <= 1e-10, f"{name} backward differs from PyTorch: {rel_error(dx, t_dx):.3g}"


@pytest.mark.parametrize("name,fwd,bwd,twin", ELEMENTWISE, ids=IDS)
def test_elementwise_numerical_gradient(name: str, fwd: Any, bwd: Any, twin: Any) -> None:
    rng = np.random.default_rng(42)
    x = rng.standard_normal((4, 5)) * 2
    x[np.abs(x) < 1e-3] = 0.5  # central differences need distance from the kink at 0
    dout = rng.standard_normal(x.shape)
    _, cache = fwd(x)
    dx = bwd(dout, cache)
    num = numerical_gradient_array(lambda z: fwd(z)[0], x.copy(), dout)
    assert rel_error(dx, num) <= 1e-7, f"{name}: analytic vs numerical gradient {rel_error(dx, num):.3g}"


@pytest.mark.parametrize(
    "fwd,bwd,twin",
    [
        (A.relu_forward, A.relu_backward, F.relu),
        (lambda x: A.leaky_relu_forward(x, 0.3), A.leaky_relu_backward, lambda t: F.leaky_relu(t, 0.3)),
        (lambda x: A.elu_forward(x, 0.7), A.elu_backward, lambda t: F.elu(t, 0.7)),
    ],
    ids=["relu", "leaky_relu", "elu"],
)
def test_gradient_at_exactly_zero_matches_torch(fwd: Any, bwd: Any, twin: Any) -> None:
    x = np.zeros(3)
    dout = np.ones(3)
    _, cache = fwd(x)
    _, (t_dx,) = torch_forward_backward(twin, dout, x)
    np.testing.assert_array_equal(bwd(dout, cache), t_dx, err_msg="gradient at x = 0 must follow PyTorch")


def test_sigmoid_derivative_at_zero_is_exactly_a_quarter() -> None:
    out, cache = A.sigmoid_forward(np.zeros(1))
    assert A.sigmoid_backward(np.ones(1), cache)[0] == 0.25


@pytest.mark.parametrize("d", [1, 5])
@pytest.mark.parametrize("extra_dims", [0, 2])
def test_prelu_matches_torch(d: int, extra_dims: int) -> None:
    rng = np.random.default_rng(d + 10 * extra_dims)
    shape = (4, 5) + (3,) * extra_dims
    x = rng.standard_normal(shape)
    x[0, 0] = 0.0
    alpha = rng.uniform(0.05, 0.5, size=d)
    dout = rng.standard_normal(shape)
    out, cache = A.prelu_forward(x, alpha)
    dx, dalpha = A.prelu_backward(dout, cache)
    t_out, (t_dx, t_da) = torch_forward_backward(F.prelu, dout, x, alpha)
    assert rel_error(out, t_out) <= 1e-10
    assert rel_error(dx, t_dx) <= 1e-10
    assert dalpha.shape == alpha.shape, f"dalpha must have alpha's shape {alpha.shape}, got {dalpha.shape}"
    assert rel_error(dalpha, t_da) <= 1e-10, "the slope's gradient must be summed over the batch"


def test_prelu_rejects_mismatched_alpha() -> None:
    with pytest.raises(ValueError, match="slopes"):
        A.prelu_forward(np.ones((2, 3)), np.ones(4))


def maxout_torch(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    z = torch.einsum("nd,dmk->nmk", x, w) + b
    return z.max(dim=-1).values  # gradient to the first maximum, like the reference


@pytest.mark.parametrize("seed", [0, 1])
def test_maxout_matches_torch(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, d, m, k = 6, 4, 3, 5
    x, w, b = rng.standard_normal((n, d)), rng.standard_normal((d, m, k)), rng.standard_normal((m, k))
    dout = rng.standard_normal((n, m))
    out, cache = A.maxout_forward(x, w, b)
    dx, dw, db = A.maxout_backward(dout, cache)
    t_out, (t_dx, t_dw, t_db) = torch_forward_backward(maxout_torch, dout, x, w, b)
    for name, mine, ref in [("out", out, t_out), ("dx", dx, t_dx), ("dw", dw, t_dw), ("db", db, t_db)]:
        assert rel_error(mine, ref) <= 1e-10, f"maxout {name} differs from PyTorch: {rel_error(mine, ref):.3g}"


def test_maxout_numerical_gradient() -> None:
    rng = np.random.default_rng(3)
    x, w, b = rng.standard_normal((5, 4)), rng.standard_normal((4, 3, 2)), rng.standard_normal((3, 2))
    dout = rng.standard_normal((5, 3))
    _, cache = A.maxout_forward(x, w, b)
    dx, dw, db = A.maxout_backward(dout, cache)
    assert rel_error(dx, numerical_gradient_array(lambda z: A.maxout_forward(z, w, b)[0], x.copy(), dout)) <= 1e-7
    assert rel_error(dw, numerical_gradient_array(lambda z: A.maxout_forward(x, z, b)[0], w.copy(), dout)) <= 1e-7
    assert rel_error(db, numerical_gradient_array(lambda z: A.maxout_forward(x, w, z)[0], b.copy(), dout)) <= 1e-7


@settings(max_examples=40, deadline=None)
@given(x=float_arrays(), which=st.sampled_from(range(len(ELEMENTWISE))))
def test_properties_shape_dtype_immutability_no_warnings(x: np.ndarray, which: int) -> None:
    name, fwd, bwd, _ = ELEMENTWISE[which]
    before = x.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", divide="raise", invalid="raise", under="ignore"):
            out, cache = fwd(x)
            dx = bwd(np.ones_like(x), cache)
    np.testing.assert_array_equal(x, before, err_msg=f"{name} modified its input")
    assert out.shape == x.shape and out.dtype == x.dtype, (
        f"{name}: out {out.shape}/{out.dtype} for x {x.shape}/{x.dtype}"
    )
    assert dx.shape == x.shape and dx.dtype == x.dtype, f"{name}: dx {dx.shape}/{dx.dtype} for x {x.shape}/{x.dtype}"
    assert np.all(np.isfinite(out)) and np.all(np.isfinite(dx)), f"{name}: non-finite values for |x| <= 1e3"


@settings(max_examples=25, deadline=None)
@given(x=float_arrays(min_dims=2, max_dims=2))
def test_prelu_maxout_properties(x: np.ndarray) -> None:
    before = x.copy()
    alpha = np.full(x.shape[1], 0.25, dtype=x.dtype)
    out, cache = A.prelu_forward(x, alpha)
    dx, dalpha = A.prelu_backward(np.ones_like(x), cache)
    assert out.dtype == dx.dtype == dalpha.dtype == x.dtype
    w = np.ones((x.shape[1], 2, 3), dtype=x.dtype)
    b = np.zeros((2, 3), dtype=x.dtype)
    mo, mcache = A.maxout_forward(x, w, b)
    mdx, mdw, mdb = A.maxout_backward(np.ones_like(mo), mcache)
    assert mo.shape == (x.shape[0], 2) and mo.dtype == x.dtype
    assert mdx.dtype == mdw.dtype == mdb.dtype == x.dtype
    np.testing.assert_array_equal(x, before)


@settings(max_examples=50, deadline=None)
@given(x=float_arrays(bound=1e4))
def test_sigmoid_is_a_probability_and_symmetric(x: np.ndarray) -> None:
    s, _ = A.sigmoid_forward(x)
    s_neg, _ = A.sigmoid_forward(-x)
    assert np.all((s >= 0) & (s <= 1))
    tol = 1e-6 if x.dtype == np.float32 else 1e-15
    assert np.allclose(s + s_neg, 1.0, atol=tol), "sigmoid(x) + sigmoid(-x) must equal 1"


def test_integer_input_is_rejected_clearly() -> None:
    with pytest.raises(TypeError, match="floating dtype"):
        A.relu_forward(np.arange(3))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_backward_zeros_are_positive_like_torch(dtype: type) -> None:
    # The mask is applied by a multiplication: -2.0 * False is -0.0, which PyTorch never returns.
    x = np.array([-1.0, 0.0, 1.0, -1e-30, 3.0], dtype=dtype)
    dout = np.array([-2.0, -3.0, -4.0, -5.0, 0.5], dtype=dtype)
    dx = A.relu_backward(dout, A.relu_forward(x)[1])
    t_dx = torch_forward_backward(F.relu, dout, x)[1][0]
    assert dx.dtype == dtype, f"relu_backward must keep the dtype {dtype}, returned {dx.dtype}"
    assert np.array_equal(dx, np.array([0.0, 0.0, -4.0, 0.0, 0.5], dtype=dtype)), (
        f"expected [0, 0, -4, 0, 0.5], got {dx}"
    )
    assert np.array_equal(np.signbit(dx), np.signbit(t_dx)), f"signs of zero differ from PyTorch: {dx} vs {t_dx}"
