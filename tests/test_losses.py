"""dlbasics.losses against PyTorch (float64), numerical gradients and properties."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings

from dlbasics.gradcheck import numerical_gradient, rel_error
from dlbasics.losses import mse_loss
from tests.strategies import float_arrays


@pytest.mark.parametrize("shape", [(1,), (5,), (4, 1), (3, 7), (2, 3, 4)])
def test_mse_matches_torch(shape: tuple[int, ...]) -> None:
    rng = np.random.default_rng(len(shape) * 10 + shape[0])
    pred, target = rng.standard_normal(shape) * 3, rng.standard_normal(shape)
    loss, dpred = mse_loss(pred, target)
    tp = torch.tensor(pred, requires_grad=True)
    t_loss = F.mse_loss(tp, torch.tensor(target))
    t_loss.backward()
    assert tp.grad is not None
    assert rel_error(loss, t_loss.item()) <= 1e-10, f"mse forward {loss} vs torch {t_loss.item()}"
    err = rel_error(dpred, tp.grad.numpy())
    assert err <= 1e-10, f"mse gradient differs from autograd ({err:.3g}); the mean is over ALL elements: 2(pred-target)/K"


def test_mse_numerical_gradient() -> None:
    rng = np.random.default_rng(3)
    pred, target = rng.standard_normal((6, 2)), rng.standard_normal((6, 2))
    _, dpred = mse_loss(pred, target)
    num = numerical_gradient(lambda z: mse_loss(z, target)[0], pred.copy())
    assert rel_error(dpred, num) <= 1e-7, f"analytic vs numerical {rel_error(dpred, num):.3g}"


def test_mse_is_zero_at_the_target_and_rejects_mismatch() -> None:
    t = np.array([[1.0], [2.0]])
    loss, dpred = mse_loss(t.copy(), t)
    assert loss == 0.0 and not dpred.any(), "loss and gradient must be exactly 0 when pred == target"
    with pytest.raises(ValueError, match="shape"):
        mse_loss(np.ones((3, 1)), np.ones(3))  # (N, 1) vs (N,) would silently broadcast to (N, N)


@settings(max_examples=40, deadline=None)
@given(pred=float_arrays(bound=1e3))
def test_mse_properties(pred: np.ndarray) -> None:
    target = np.flip(pred).copy()
    p0, t0 = pred.copy(), target.copy()
    loss, dpred = mse_loss(pred, target)
    assert loss >= 0.0, "MSE cannot be negative"
    assert dpred.shape == pred.shape and dpred.dtype == pred.dtype, "dpred must keep the shape and dtype of pred"
    assert np.array_equal(pred, p0) and np.array_equal(target, t0), "mse_loss must not modify its inputs"
