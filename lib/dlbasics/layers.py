r"""Layers with learnable weights: the affine (fully connected) layer.

Every ``*_forward`` returns ``(out, cache)``; every ``*_backward(dout, cache)``
returns one gradient per input. Inputs are never modified and the floating dtype
is preserved.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from dlbasics._typing import FloatArray, check_floating


class LinearCache(NamedTuple):
    """What :func:`linear_backward` needs: the forward input and the weights."""

    x: FloatArray
    w: FloatArray


def linear_forward(
    x: FloatArray, w: FloatArray, b: FloatArray
) -> tuple[FloatArray, LinearCache]:
    r"""Affine (fully connected) layer.

    .. math::

        \text{out} = x W + b, \qquad \text{out}_{nm} = \sum_{d} x_{nd} W_{dm} + b_m

    Parameters
    ----------
    x : ndarray of shape (N, D), float32 or float64
        A batch of :math:`N` inputs with :math:`D` features each; not modified.
    w : ndarray of shape (D, M)
        Weights (note: PyTorch stores the transpose, shape (M, D)).
    b : ndarray of shape (M,)
        Biases, added to every row.

    Returns
    -------
    out : ndarray of shape (N, M), dtype of ``x``
    cache : LinearCache

    See Also
    --------
    torch.nn.functional.linear : computes ``x @ weight.T + bias``.
    torch.nn.Linear

    Notes
    -----
    A matrix product and an addition: no overflow or cancellation beyond that of
    the product itself.
    """
    check_floating(x)
    check_floating(w, "w")
    check_floating(b, "b")
    if x.ndim != 2 or w.ndim != 2 or b.ndim != 1:
        raise ValueError(
            f"expected x (N, D), w (D, M), b (M,); got {x.shape}, {w.shape}, {b.shape}"
        )
    if x.shape[1] != w.shape[0] or w.shape[1] != b.shape[0]:
        raise ValueError(
            f"shape mismatch: x {x.shape}, w {w.shape}, b {b.shape}"
        )
    out = (x @ w + b).astype(x.dtype, copy=False)
    return out, LinearCache(x=x, w=w)


def linear_backward(
    dout: FloatArray, cache: LinearCache
) -> tuple[FloatArray, FloatArray, FloatArray]:
    r"""Gradients of the affine layer.

    .. math::

        \frac{\partial L}{\partial x} = \frac{\partial L}{\partial \text{out}} W^\top, \qquad
        \frac{\partial L}{\partial W} = x^\top \frac{\partial L}{\partial \text{out}}, \qquad
        \frac{\partial L}{\partial b} = \sum_{n} \frac{\partial L}{\partial \text{out}_{n}}

    The bias is shared by all :math:`N` rows, so its gradient is summed over the batch.

    Parameters
    ----------
    dout : ndarray of shape (N, M)
        Upstream gradient :math:`\partial L / \partial \text{out}`.
    cache : LinearCache

    Returns
    -------
    dx : ndarray of shape (N, D), dtype of ``x``
    dw : ndarray of shape (D, M), dtype of ``w``
    db : ndarray of shape (M,), dtype of ``w``
    """
    x, w = cache
    dx = (dout @ w.T).astype(x.dtype, copy=False)
    dw = (x.T @ dout).astype(w.dtype, copy=False)
    db = np.sum(dout, axis=0).astype(w.dtype, copy=False)
    return dx, dw, db
