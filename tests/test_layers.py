"""dlbasics.layers against PyTorch (float64), numerical gradients and properties."""

from __future__ import annotations

import numpy as np
import pytest
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from dlbasics.gradcheck import numerical_gradient_array, rel_error
from dlbasics.layers import linear_backward, linear_forward
from tests.oracle import torch_forward_backward
from tests.strategies import float_dtypes


def _random_linear(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    n, d, m = (int(v) for v in rng.integers(1, 8, size=3))
    return rng.standard_normal((n, d)), rng.standard_normal((d, m)), rng.standard_normal(m), rng.standard_normal((n, m))


@pytest.mark.parametrize("seed", range(5))
def test_linear_matches_torch(seed: int) -> None:
    x, w, b, dout = _random_linear(seed)
    out, cache = linear_forward(x, w, b)
    dx, dw, db = linear_backward(dout, cache)
    # PyTorch stores the weight transposed, (M, D)
    t_out, (t_dx, t_dw, t_db) = torch_forward_backward(lambda tx, tw, tb: F.linear(tx, tw.T, tb), dout, x, w, b)
    assert rel_error(out, t_out) <= 1e-10, "linear forward differs from F.linear"
    for name, ours, theirs in (("dx", dx, t_dx), ("dw", dw, t_dw), ("db", db, t_db)):
        err = rel_error(ours, theirs)
        assert err <= 1e-10, f"linear_backward {name} differs from autograd: {err:.3g}"


def test_linear_numerical_gradient() -> None:
    x, w, b, dout = _random_linear(42)
    _, cache = linear_forward(x, w, b)
    dx, dw, db = linear_backward(dout, cache)
    checks = {
        "dx": (dx, numerical_gradient_array(lambda z: linear_forward(z, w, b)[0], x.copy(), dout)),
        "dw": (dw, numerical_gradient_array(lambda z: linear_forward(x, z, b)[0], w.copy(), dout)),
        "db": (db, numerical_gradient_array(lambda z: linear_forward(x, w, z)[0], b.copy(), dout)),
    }
    for name, (analytic, numeric) in checks.items():
        assert rel_error(analytic, numeric) <= 1e-7, f"{name}: analytic vs numerical {rel_error(analytic, numeric):.3g}"


def test_bias_gradient_is_summed_over_the_batch() -> None:
    x, w, b = np.ones((4, 2)), np.ones((2, 3)), np.zeros(3)
    _, cache = linear_forward(x, w, b)
    _, _, db = linear_backward(np.ones((4, 3)), cache)
    assert np.array_equal(db, np.full(3, 4.0)), f"db must be the sum of dout over the batch (4 each), got {db}"


def test_linear_rejects_bad_shapes() -> None:
    with pytest.raises(ValueError, match="shape"):
        linear_forward(np.ones((2, 3)), np.ones((4, 5)), np.ones(5))
    with pytest.raises(TypeError, match="floating"):
        linear_forward(np.ones((2, 3), dtype=int), np.ones((3, 1)), np.ones(1))


@settings(max_examples=30, deadline=None)
@given(dtype=float_dtypes, n=st.integers(1, 6), d=st.integers(1, 6), m=st.integers(1, 6), seed=st.integers(0, 2**16))
def test_linear_properties(dtype: type, n: int, d: int, m: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    x, w, b = (rng.standard_normal(s).astype(dtype) for s in ((n, d), (d, m), (m,)))
    dout = rng.standard_normal((n, m)).astype(dtype)
    before = [a.copy() for a in (x, w, b, dout)]
    out, cache = linear_forward(x, w, b)
    dx, dw, db = linear_backward(dout, cache)
    assert out.shape == (n, m) and out.dtype == dtype, f"out {out.shape} {out.dtype}, expected {(n, m)} {dtype}"
    for name, g, ref in (("dx", dx, x), ("dw", dw, w), ("db", db, b)):
        assert g.shape == ref.shape and g.dtype == dtype, f"{name} must keep shape {ref.shape} and dtype {dtype}"
    for a, a0 in zip((x, w, b, dout), before):
        assert np.array_equal(a, a0), "linear_forward/backward must not modify their inputs"
