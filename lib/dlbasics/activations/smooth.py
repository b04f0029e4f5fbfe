r"""Smooth ReLU-like activations: GELU and SiLU (also called Swish)."""

from __future__ import annotations

import math
from typing import Literal, NamedTuple

import numpy as np
from scipy.special import erf

from dlbasics._typing import FloatArray, check_floating
from dlbasics.activations.saturating import sigmoid_forward

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


class GeluCache(NamedTuple):
    """The forward input and which GELU formula was used."""

    x: FloatArray
    approximate: str


class SiluCache(NamedTuple):
    """The forward input and its sigmoid."""

    x: FloatArray
    sig: FloatArray


def gelu_forward(
    x: FloatArray, approximate: Literal["none", "tanh"] = "none"
) -> tuple[FloatArray, GeluCache]:
    r"""Gaussian error linear unit (Hendrycks & Gimpel, 2016).

    .. math::

        \operatorname{GELU}(x) = x\,\Phi(x) = \frac{x}{2}\left(1 + \operatorname{erf}\frac{x}{\sqrt 2}\right)

    or, with ``approximate="tanh"``,
    :math:`\frac{x}{2}\left(1 + \tanh\left(\sqrt{2/\pi}\,(x + 0.044715\,x^3)\right)\right)`.

    Parameters
    ----------
    x : ndarray of any shape, float32 or float64
    approximate : {"none", "tanh"}, default "none"

    Returns
    -------
    out : ndarray, same shape and dtype as ``x``
    cache : GeluCache

    See Also
    --------
    torch.nn.functional.gelu
    """
    check_floating(x)
    if approximate == "none":
        out = 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))
    elif approximate == "tanh":
        out = (
            0.5 * x * (1.0 + np.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x**3)))
        )
    else:
        raise ValueError(
            f"Invalid approximate value: {approximate!r} (use 'none' or 'tanh')"
        )
    return np.asarray(out, dtype=x.dtype), GeluCache(
        x=x, approximate=approximate
    )


def gelu_backward(dout: FloatArray, cache: GeluCache) -> FloatArray:
    r"""Gradient of GELU.

    .. math::

        \frac{d}{dx}\,x\Phi(x) = \Phi(x) + x\,\varphi(x), \qquad
        \varphi(x) = \frac{e^{-x^2/2}}{\sqrt{2\pi}}

    Parameters
    ----------
    dout : ndarray, shape of ``x``
    cache : GeluCache

    Returns
    -------
    dx : ndarray, same shape and dtype as ``dout``
    """
    x = cache.x
    if cache.approximate == "tanh":
        inner = _SQRT_2_OVER_PI * (x + 0.044715 * x**3)
        t = np.tanh(inner)
        dinner = _SQRT_2_OVER_PI * (1.0 + 3 * 0.044715 * x**2)
        local = 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * dinner
    else:
        cdf = 0.5 * (1.0 + erf(x / math.sqrt(2.0)))
        pdf = np.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)
        local = cdf + x * pdf
    return np.asarray(dout * local, dtype=dout.dtype)


def silu_forward(x: FloatArray) -> tuple[FloatArray, SiluCache]:
    r"""Sigmoid linear unit, also called Swish (Ramachandran et al., 2017).

    .. math::

        \operatorname{SiLU}(x) = x\,\sigma(x)

    Parameters
    ----------
    x : ndarray of any shape, float32 or float64

    Returns
    -------
    out : ndarray, same shape and dtype as ``x``
    cache : SiluCache

    See Also
    --------
    torch.nn.functional.silu

    Notes
    -----
    Uses the stable :func:`~dlbasics.activations.sigmoid_forward`.
    """
    sig, _ = sigmoid_forward(x)
    return x * sig, SiluCache(x=x, sig=sig)


def silu_backward(dout: FloatArray, cache: SiluCache) -> FloatArray:
    r"""Gradient of SiLU.

    .. math::

        \frac{d}{dx}\,x\sigma(x) = \sigma(x)\,\bigl(1 + x\,(1 - \sigma(x))\bigr)

    Parameters
    ----------
    dout : ndarray, shape of ``x``
    cache : SiluCache

    Returns
    -------
    dx : ndarray, same shape and dtype as ``dout``
    """
    s, x = cache.sig, cache.x
    return dout * s * (1.0 + x * (1.0 - s))
