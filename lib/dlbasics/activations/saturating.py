r"""Saturating activations: the logistic sigmoid and the hyperbolic tangent."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from dlbasics._typing import FloatArray, check_floating


class SigmoidCache(NamedTuple):
    """What :func:`sigmoid_backward` needs: the forward output."""

    out: FloatArray


class TanhCache(NamedTuple):
    """What :func:`tanh_backward` needs: the forward output."""

    out: FloatArray


def sigmoid_forward(x: FloatArray) -> tuple[FloatArray, SigmoidCache]:
    r"""Logistic sigmoid, element-wise.

    .. math::

        \sigma(x) = \frac{1}{1 + e^{-x}}

    Parameters
    ----------
    x : ndarray of any shape, float32 or float64
        Input; not modified.

    Returns
    -------
    out : ndarray, same shape and dtype as ``x``
        :math:`\sigma(x)`, in :math:`[0, 1]`.
    cache : SigmoidCache
        The output, which is all the backward pass needs.

    See Also
    --------
    torch.sigmoid

    Notes
    -----
    Numerically stable: with :math:`z = e^{-|x|} \in (0, 1]` we use
    :math:`1/(1+z)` for :math:`x \ge 0` and :math:`z/(1+z)` for :math:`x < 0`,
    so ``exp`` never sees a large positive argument and never overflows.
    """
    check_floating(x)
    z = np.exp(-np.abs(x))
    out = np.where(x >= 0, 1.0 / (1.0 + z), z / (1.0 + z))
    out = out.astype(x.dtype, copy=False)
    return out, SigmoidCache(out=out)


def sigmoid_backward(dout: FloatArray, cache: SigmoidCache) -> FloatArray:
    r"""Gradient of the sigmoid.

    .. math::

        \frac{\partial L}{\partial x} = \frac{\partial L}{\partial \sigma}\,\sigma(x)\,(1 - \sigma(x))

    The local derivative :math:`\sigma(1-\sigma)` is at most :math:`1/4`, reached at
    :math:`x = 0`: the root of the vanishing gradient in deep sigmoid networks.

    Parameters
    ----------
    dout : ndarray, shape of the forward output
        Upstream gradient :math:`\partial L / \partial \text{out}`.
    cache : SigmoidCache
        From :func:`sigmoid_forward`.

    Returns
    -------
    dx : ndarray, same shape and dtype as ``dout``
    """
    out = cache.out
    return dout * out * (1.0 - out)


def tanh_forward(x: FloatArray) -> tuple[FloatArray, TanhCache]:
    r"""Hyperbolic tangent, element-wise.

    .. math::

        \tanh(x) = \frac{e^{x} - e^{-x}}{e^{x} + e^{-x}} = 2\sigma(2x) - 1

    Parameters
    ----------
    x : ndarray of any shape, float32 or float64
        Input; not modified.

    Returns
    -------
    out : ndarray, same shape and dtype as ``x``, in :math:`[-1, 1]`
    cache : TanhCache

    See Also
    --------
    torch.tanh

    Notes
    -----
    ``np.tanh`` is stable for any finite input (it saturates to :math:`\pm 1`).
    """
    check_floating(x)
    out = np.tanh(x)
    return out, TanhCache(out=out)


def tanh_backward(dout: FloatArray, cache: TanhCache) -> FloatArray:
    r"""Gradient of tanh.

    .. math::

        \frac{\partial L}{\partial x} = \frac{\partial L}{\partial \text{out}}\,(1 - \tanh^2(x))

    The local derivative is at most 1 (at :math:`x = 0`).

    Parameters
    ----------
    dout : ndarray, shape of the forward output
    cache : TanhCache

    Returns
    -------
    dx : ndarray, same shape and dtype as ``dout``
    """
    out = cache.out
    return dout * (1.0 - out * out)
