r"""Maxout: the maximum over :math:`K` affine pieces (Goodfellow et al., 2013)."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from dlbasics._typing import FloatArray, check_floating


class MaxoutCache(NamedTuple):
    """The forward input, weights and, per output, the index of the winning piece."""

    x: FloatArray
    w: FloatArray
    argmax: npt.NDArray[np.intp]


def maxout_forward(
    x: FloatArray, w: FloatArray, b: FloatArray
) -> tuple[FloatArray, MaxoutCache]:
    r"""Maxout unit: a learned, piecewise-linear, convex activation.

    .. math::

        z_{nmk} = \sum_d x_{nd} w_{dmk} + b_{mk}, \qquad
        \text{out}_{nm} = \max_k z_{nmk}

    Parameters
    ----------
    x : ndarray of shape (N, D), float32 or float64
        Input; not modified.
    w : ndarray of shape (D, M, K)
        Weights of the :math:`K` affine pieces of each of the :math:`M` outputs.
    b : ndarray of shape (M, K)
        Biases of the pieces.

    Returns
    -------
    out : ndarray of shape (N, M), dtype of ``x``
    cache : MaxoutCache

    See Also
    --------
    torch.amax : PyTorch has no Maxout layer; ``(x @ w + b).amax(-1)`` is its twin.

    Notes
    -----
    When two pieces tie, the gradient goes to the first (``argmax``), as
    ``torch.max(dim=...)`` does; ``torch.amax`` would split it evenly.
    """
    check_floating(x)
    if x.ndim != 2 or w.ndim != 3 or b.ndim != 2:
        raise ValueError(
            f"expected x (N, D), w (D, M, K), b (M, K); got {x.shape}, {w.shape}, {b.shape}"
        )
    if w.shape[0] != x.shape[1] or w.shape[1:] != b.shape:
        raise ValueError(
            f"shape mismatch: x {x.shape}, w {w.shape}, b {b.shape}"
        )
    z = np.einsum("nd,dmk->nmk", x, w) + b
    idx = np.argmax(z, axis=-1)
    out = np.take_along_axis(z, idx[..., None], axis=-1)[..., 0].astype(
        x.dtype, copy=False
    )
    return out, MaxoutCache(x=x, w=w, argmax=idx)


def maxout_backward(
    dout: FloatArray, cache: MaxoutCache
) -> tuple[FloatArray, FloatArray, FloatArray]:
    r"""Gradients of maxout: only the winning piece of each output receives gradient.

    .. math::

        \frac{\partial L}{\partial z_{nmk}} = \frac{\partial L}{\partial \text{out}_{nm}}\,
        \mathbb{1}[k = k^*_{nm}], \quad
        \frac{\partial L}{\partial x} = \sum_{mk} \frac{\partial L}{\partial z_{nmk}} w_{dmk}, \quad
        \frac{\partial L}{\partial w_{dmk}} = \sum_n x_{nd} \frac{\partial L}{\partial z_{nmk}}, \quad
        \frac{\partial L}{\partial b_{mk}} = \sum_n \frac{\partial L}{\partial z_{nmk}}

    Parameters
    ----------
    dout : ndarray of shape (N, M)
    cache : MaxoutCache

    Returns
    -------
    dx : ndarray of shape (N, D)
    dw : ndarray of shape (D, M, K)
    db : ndarray of shape (M, K)
    """
    x, w, idx = cache.x, cache.w, cache.argmax
    k = w.shape[2]
    onehot: Any = idx[..., None] == np.arange(k)
    dz = (dout[..., None] * onehot).astype(dout.dtype, copy=False)
    dx = np.einsum("nmk,dmk->nd", dz, w)
    dw = np.einsum("nd,nmk->dmk", x, dz)
    db = dz.sum(axis=0)
    return dx, dw, db
