"""PyTorch as the oracle: run a function forward and backward in float64 with autograd."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch


def torch_forward_backward(
    fn: Callable[..., torch.Tensor], dout: np.ndarray, *xs: np.ndarray
) -> tuple[np.ndarray, list[np.ndarray]]:
    """``fn(*xs)`` in float64 and the gradient of ``sum(fn(*xs) * dout)`` with respect to each input."""
    ts = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in xs]
    out = fn(*ts)
    out.backward(torch.tensor(dout, dtype=torch.float64))
    grads = []
    for t in ts:
        assert t.grad is not None, "the function does not depend on every input"
        grads.append(t.grad.numpy())
    return out.detach().numpy(), grads
