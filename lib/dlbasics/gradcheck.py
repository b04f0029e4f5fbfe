r"""Gradient checking: numerical derivatives by central differences and a relative error.

A backward pass is checked by comparing it with

.. math::

    \frac{\partial f}{\partial x_i} \approx \frac{f(x + h e_i) - f(x - h e_i)}{2h},

whose error is :math:`O(h^2)` (truncation) plus :math:`O(\epsilon / h)` (round-off),
smallest near :math:`h = 10^{-5}` in float64.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from dlbasics._typing import FloatArray, check_floating


def numerical_gradient(
    f: Callable[[FloatArray], Any], x: FloatArray, h: float = 1e-5
) -> FloatArray:
    r"""Gradient of a scalar function by central differences.

    .. math::

        \left[\nabla f(x)\right]_i \approx \frac{f(x + h e_i) - f(x - h e_i)}{2h}

    Parameters
    ----------
    f : callable
        Maps an array shaped like ``x`` to a scalar (a Python float or 0-d array).
    x : ndarray of any shape, float32 or float64
        The point. Each entry is perturbed in place and then restored exactly,
        so ``x`` holds its original values when the function returns.
    h : float, default 1e-5
        Step. The error of the estimate is :math:`O(h^2)`.

    Returns
    -------
    grad : ndarray, same shape and dtype as ``x``

    Notes
    -----
    Use float64: in float32, round-off in :math:`f` dominates any useful ``h``.
    The original entry is saved and written back (not recomputed as ``x + h - h``),
    so restoring is exact even in floating point.
    """
    check_floating(x)
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i].copy()
        try:
            x[i] = old + h
            f_plus = float(f(x))
            x[i] = old - h
            f_minus = float(f(x))
        finally:
            x[i] = old
        grad[i] = (f_plus - f_minus) / (2.0 * h)
    return grad


def numerical_gradient_array(
    f: Callable[[FloatArray], FloatArray],
    x: FloatArray,
    dout: FloatArray,
    h: float = 1e-5,
) -> FloatArray:
    r"""Gradient of :math:`L = \sum_j \text{dout}_j\, f(x)_j` for an array-valued ``f``.

    This is what a backward pass returns when handed the upstream gradient
    ``dout``, so ``numerical_gradient_array(f, x, dout)`` checks ``*_backward(dout, cache)``.

    Parameters
    ----------
    f : callable
        Maps an array shaped like ``x`` to an array shaped like ``dout``.
    x : ndarray
        The point; restored exactly on return.
    dout : ndarray
        Upstream gradient.
    h : float, default 1e-5

    Returns
    -------
    grad : ndarray, same shape and dtype as ``x``
    """
    return numerical_gradient(lambda z: float(np.sum(f(z) * dout)), x, h)


def rel_error(actual: Any, expected: Any) -> float:
    r"""Norm-wise relative error between two arrays.

    .. math::

        \operatorname{rel}(a, b) = \frac{\max_i |a_i - b_i|}{\max(\max_i |a_i|, \max_i |b_i|)}

    Returns 0 when both arrays are all zeros, ``inf`` if only one is, and ``nan``
    if either contains NaN where the other does not. Shapes must match.

    Unlike an element-wise relative error, this does not blow up at entries that
    are legitimately zero (a ReLU's output, say).
    """
    a = np.asarray(actual, dtype=np.float64)
    b = np.asarray(expected, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"shape mismatch: {a.shape} vs {b.shape}")
    if a.size == 0:
        return 0.0
    same_nan = np.isnan(a) & np.isnan(b)
    a = np.where(same_nan, 0.0, a)
    b = np.where(same_nan, 0.0, b)
    if np.isnan(a).any() or np.isnan(b).any():
        return float("nan")
    same_inf = np.isinf(a) & (a == b)
    a = np.where(same_inf, 0.0, a)
    b = np.where(same_inf, 0.0, b)
    scale = max(float(np.max(np.abs(a))), float(np.max(np.abs(b))))
    diff = float(np.max(np.abs(a - b)))
    if scale == 0.0:
        return 0.0
    return diff / scale
