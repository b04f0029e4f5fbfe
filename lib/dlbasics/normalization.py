r"""Normalization layers: batch normalization and layer normalization.

Both standardize their input, then scale it by a learned :math:`\gamma` and shift it by a learned
:math:`\beta` (one of each per feature). They differ in *what* they average over:

- **Batch normalization** averages each feature (column) over the examples of the batch (axis 0).
  In training it uses the statistics of the current batch and updates the running statistics
  (buffers); in evaluation it uses the running statistics and changes nothing.
- **Layer normalization** averages each example (row) over its features (the last axis). It has no
  buffers and behaves the same in training and evaluation.

Conventions (PyTorch's): the variance used to normalize is the *biased* one (divide by :math:`N`);
the running variance is updated with the *unbiased* one (divide by :math:`N - 1`); ``momentum`` is
the weight of the *new* batch statistic,

.. math::

    \text{running} \leftarrow (1 - \text{momentum})\cdot \text{running} + \text{momentum}\cdot \text{batch},

so PyTorch's default ``momentum=0.1`` is CS231n's ``momentum=0.9`` (there it is the weight of the old
value). Nothing is modified in place: the running statistics are returned as new arrays.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from dlbasics._typing import FloatArray, check_floating


class BatchNormCache(NamedTuple):
    """What :func:`batchnorm_backward` needs.

    ``x_hat`` is the normalized input, ``inv_std`` is :math:`1/\\sqrt{\\sigma^2 + \\epsilon}` per
    feature (of the batch in training, of the running variance in evaluation), and ``training`` says
    which of the two backward formulas applies.
    """

    x_hat: FloatArray
    gamma: FloatArray
    inv_std: FloatArray
    training: bool


class LayerNormCache(NamedTuple):
    """What :func:`layernorm_backward` needs: the normalized input, :math:`\\gamma`, and
    :math:`1/\\sqrt{\\sigma^2 + \\epsilon}` per example, shape (N, 1)."""

    x_hat: FloatArray
    gamma: FloatArray
    inv_std: FloatArray


def _check_affine(x: FloatArray, gamma: FloatArray, beta: FloatArray) -> None:
    check_floating(x)
    check_floating(gamma, "gamma")
    check_floating(beta, "beta")
    if x.ndim != 2:
        raise ValueError(f"expected x of shape (N, D), got shape {x.shape}")
    d = x.shape[1]
    if gamma.shape != (d,) or beta.shape != (d,):
        raise ValueError(
            f"gamma and beta must have shape ({d},) for x of shape {x.shape}, "
            f"got {gamma.shape} and {beta.shape}"
        )


def batchnorm_forward(
    x: FloatArray,
    gamma: FloatArray,
    beta: FloatArray,
    running_mean: FloatArray,
    running_var: FloatArray,
    *,
    training: bool,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> tuple[FloatArray, BatchNormCache, FloatArray, FloatArray]:
    r"""Batch normalization of a batch of feature vectors.

    In training (``training=True``), with :math:`N` examples, for every feature :math:`d`:

    .. math::

        \mu_d = \frac1N \sum_{n} x_{nd}, \qquad
        \sigma^2_d = \frac1N \sum_{n} (x_{nd} - \mu_d)^2, \qquad
        \hat x_{nd} = \frac{x_{nd} - \mu_d}{\sqrt{\sigma^2_d + \epsilon}}, \qquad
        \text{out}_{nd} = \gamma_d\, \hat x_{nd} + \beta_d,

    and the running statistics (buffers) move towards the batch's, the variance unbiased:

    .. math::

        \text{new\_running\_mean} = (1 - m)\,\text{running\_mean} + m\,\mu, \qquad
        \text{new\_running\_var} = (1 - m)\,\text{running\_var} + m\,\frac{N}{N - 1}\,\sigma^2 .

    In evaluation (``training=False``) the running statistics take the place of :math:`\mu` and
    :math:`\sigma^2`, the output of each example depends on that example only, and the buffers are
    returned unchanged.

    Parameters
    ----------
    x : ndarray of shape (N, D), float32 or float64
        A batch of :math:`N` examples with :math:`D` features; not modified.
    gamma : ndarray of shape (D,)
        Scale :math:`\gamma` (a model parameter; PyTorch's ``weight``).
    beta : ndarray of shape (D,)
        Shift :math:`\beta` (a model parameter; PyTorch's ``bias``).
    running_mean : ndarray of shape (D,)
        Running mean (a buffer); not modified.
    running_var : ndarray of shape (D,)
        Running variance (a buffer); not modified.
    training : bool
        Use the batch's statistics and update the buffers (True), or use the buffers (False).
    momentum : float, default 0.1
        Weight :math:`m` of the new batch statistic in the running averages, in [0, 1]
        (PyTorch's convention; CS231n's ``momentum`` is :math:`1 - m`).
    eps : float, default 1e-5
        :math:`\epsilon \ge 0`, added to the variance before the square root.

    Returns
    -------
    out : ndarray of shape (N, D), dtype of ``x``
    cache : BatchNormCache
    new_running_mean : ndarray of shape (D,), dtype of ``running_mean``
        In evaluation, ``running_mean`` itself.
    new_running_var : ndarray of shape (D,), dtype of ``running_var``
        In evaluation, ``running_var`` itself.

    Raises
    ------
    ValueError
        If the shapes do not match, ``momentum`` is outside [0, 1], ``eps`` is negative, or
        ``training`` is true and :math:`N = 1` (a single example has no spread to normalize by;
        PyTorch raises "Expected more than 1 value per channel when training").

    See Also
    --------
    torch.nn.BatchNorm1d : with ``affine=True, track_running_stats=True``; ``.train()`` and
        ``.eval()`` select the mode.
    torch.nn.functional.batch_norm

    Notes
    -----
    The variance is computed in two passes, :math:`\frac1N\sum (x - \mu)^2`, not as
    :math:`\overline{x^2} - \mu^2`, which cancels catastrophically when :math:`|\mu| \gg \sigma`.
    :math:`\epsilon` keeps the division finite for a constant feature (:math:`\sigma^2 = 0`).
    """
    _check_affine(x, gamma, beta)
    check_floating(running_mean, "running_mean")
    check_floating(running_var, "running_var")
    n, d = x.shape
    if running_mean.shape != (d,) or running_var.shape != (d,):
        raise ValueError(
            f"running_mean and running_var must have shape ({d},), "
            f"got {running_mean.shape} and {running_var.shape}"
        )
    if not 0.0 <= momentum <= 1.0:
        raise ValueError(f"Invalid momentum value: {momentum}")
    if not eps >= 0.0:
        raise ValueError(f"Invalid epsilon value: {eps}")
    if training:
        if n < 2:
            raise ValueError(
                "Expected more than 1 value per feature when training, "
                f"got input of shape {x.shape}"
            )
        mean = np.mean(x, axis=0)
        centred = x - mean
        var = np.mean(centred * centred, axis=0)  # biased: divide by N
        inv_std = 1.0 / np.sqrt(var + eps)
        x_hat = centred * inv_std
        unbiased = var * (n / (n - 1))  # the running variance is unbiased
        new_mean = (1.0 - momentum) * running_mean + momentum * mean
        new_var = (1.0 - momentum) * running_var + momentum * unbiased
        new_mean = new_mean.astype(running_mean.dtype, copy=False)
        new_var = new_var.astype(running_var.dtype, copy=False)
    else:
        inv_std = 1.0 / np.sqrt(running_var + eps)
        x_hat = (x - running_mean) * inv_std
        new_mean, new_var = running_mean, running_var
    x_hat = x_hat.astype(x.dtype, copy=False)
    inv_std = inv_std.astype(x.dtype, copy=False)
    out = (gamma * x_hat + beta).astype(x.dtype, copy=False)
    cache = BatchNormCache(
        x_hat=x_hat, gamma=gamma, inv_std=inv_std, training=training
    )
    return out, cache, new_mean, new_var


def batchnorm_backward(
    dout: FloatArray, cache: BatchNormCache
) -> tuple[FloatArray, FloatArray, FloatArray]:
    r"""Gradients of batch normalization with respect to its input, :math:`\gamma` and :math:`\beta`.

    In training, the batch mean and variance depend on every example, and the chain rule through
    them gives the compact form (:math:`s = 1/\sqrt{\sigma^2 + \epsilon}`, sums over the batch):

    .. math::

        \frac{\partial L}{\partial \beta} = \sum_n \text{dout}_{n}, \qquad
        \frac{\partial L}{\partial \gamma} = \sum_n \text{dout}_{n} \odot \hat x_{n}, \qquad
        \frac{\partial L}{\partial x_{n}} = \frac{\gamma\, s}{N} \odot \Bigl(
            N\,\text{dout}_{n} - \frac{\partial L}{\partial \beta}
            - \hat x_{n} \odot \frac{\partial L}{\partial \gamma} \Bigr).

    In evaluation, the statistics are constants and the layer is an affine map of each example:
    :math:`\partial L / \partial x_n = \gamma\, s \odot \text{dout}_n`, with :math:`s` from the
    running variance; :math:`\partial L/\partial\gamma` and :math:`\partial L/\partial\beta` are as above.

    Parameters
    ----------
    dout : ndarray of shape (N, D)
        Upstream gradient :math:`\partial L / \partial\,\text{out}`.
    cache : BatchNormCache
        From :func:`batchnorm_forward`.

    Returns
    -------
    dx : ndarray of shape (N, D), dtype of ``x``
    dgamma : ndarray of shape (D,), dtype of ``gamma``
    dbeta : ndarray of shape (D,), dtype of ``gamma``

    See Also
    --------
    torch.nn.BatchNorm1d : its autograd computes the same three gradients.

    Notes
    -----
    In training, ``dx`` sums to 0 over the batch and is orthogonal to :math:`\hat x` per feature
    (up to rounding): the components of the gradient that would only shift or rescale the batch
    are removed, because normalization undoes any shift or rescaling of its input.
    """
    x_hat, gamma, inv_std, training = cache
    dbeta = np.sum(dout, axis=0)
    dgamma = np.sum(dout * x_hat, axis=0)
    if training:
        n = dout.shape[0]
        dx = (gamma * inv_std / n) * (n * dout - dbeta - x_hat * dgamma)
    else:
        dx = dout * (gamma * inv_std)
    return (
        dx.astype(x_hat.dtype, copy=False),
        dgamma.astype(gamma.dtype, copy=False),
        dbeta.astype(gamma.dtype, copy=False),
    )


def layernorm_forward(
    x: FloatArray, gamma: FloatArray, beta: FloatArray, *, eps: float = 1e-5
) -> tuple[FloatArray, LayerNormCache]:
    r"""Layer normalization: standardize each example over its features, then scale and shift.

    For every example :math:`n` (row), with :math:`D` features:

    .. math::

        \mu_n = \frac1D \sum_{d} x_{nd}, \qquad
        \sigma^2_n = \frac1D \sum_{d} (x_{nd} - \mu_n)^2, \qquad
        \text{out}_{nd} = \gamma_d\, \frac{x_{nd} - \mu_n}{\sqrt{\sigma^2_n + \epsilon}} + \beta_d .

    No running statistics: training and evaluation compute the same thing, and each example's
    output depends on that example only.

    Parameters
    ----------
    x : ndarray of shape (N, D), float32 or float64
        Normalized over the last axis (D); not modified.
    gamma : ndarray of shape (D,)
        Scale (PyTorch's ``weight``).
    beta : ndarray of shape (D,)
        Shift (PyTorch's ``bias``).
    eps : float, default 1e-5
        :math:`\epsilon \ge 0`, added to the variance before the square root.

    Returns
    -------
    out : ndarray of shape (N, D), dtype of ``x``
    cache : LayerNormCache

    Raises
    ------
    ValueError
        If the shapes do not match or ``eps`` is negative.

    See Also
    --------
    torch.nn.LayerNorm : ``LayerNorm(D)`` (``normalized_shape=D``, ``elementwise_affine=True``).
    torch.nn.functional.layer_norm

    Notes
    -----
    Two-pass variance, as in :func:`batchnorm_forward`. With :math:`D = 1` every
    :math:`\hat x` is 0 and the output is :math:`\beta`, as in PyTorch.
    """
    _check_affine(x, gamma, beta)
    if not eps >= 0.0:
        raise ValueError(f"Invalid epsilon value: {eps}")
    mean = np.mean(x, axis=1, keepdims=True)
    centred = x - mean
    var = np.mean(centred * centred, axis=1, keepdims=True)
    inv_std = (1.0 / np.sqrt(var + eps)).astype(x.dtype, copy=False)
    x_hat = (centred * inv_std).astype(x.dtype, copy=False)
    out = (gamma * x_hat + beta).astype(x.dtype, copy=False)
    return out, LayerNormCache(x_hat=x_hat, gamma=gamma, inv_std=inv_std)


def layernorm_backward(
    dout: FloatArray, cache: LayerNormCache
) -> tuple[FloatArray, FloatArray, FloatArray]:
    r"""Gradients of layer normalization with respect to its input, :math:`\gamma` and :math:`\beta`.

    The same derivation as batch normalization's, along the other axis: with
    :math:`g_{nd} = \gamma_d\, \text{dout}_{nd}` (the gradient reaching :math:`\hat x`) and
    :math:`s_n = 1/\sqrt{\sigma_n^2 + \epsilon}`,

    .. math::

        \frac{\partial L}{\partial x_{nd}} = \frac{s_n}{D} \Bigl( D\, g_{nd} - \sum_{k} g_{nk}
            - \hat x_{nd} \sum_{k} g_{nk}\, \hat x_{nk} \Bigr), \qquad
        \frac{\partial L}{\partial \gamma_d} = \sum_n \text{dout}_{nd}\, \hat x_{nd}, \qquad
        \frac{\partial L}{\partial \beta_d} = \sum_n \text{dout}_{nd} .

    Because :math:`\gamma` multiplies features *after* the per-row statistics, it stays inside the
    row sums (in batch normalization it factors out of the batch sums).

    Parameters
    ----------
    dout : ndarray of shape (N, D)
        Upstream gradient :math:`\partial L / \partial\,\text{out}`.
    cache : LayerNormCache
        From :func:`layernorm_forward`.

    Returns
    -------
    dx : ndarray of shape (N, D), dtype of ``x``
    dgamma : ndarray of shape (D,), dtype of ``gamma``
    dbeta : ndarray of shape (D,), dtype of ``gamma``

    See Also
    --------
    torch.nn.LayerNorm

    Notes
    -----
    Each row of ``dx`` sums to 0 and is orthogonal to its row of :math:`\hat x` (up to rounding).
    """
    x_hat, gamma, inv_std = cache
    d = x_hat.shape[1]
    g = dout * gamma
    g_sum = np.sum(g, axis=1, keepdims=True)
    g_xhat_sum = np.sum(g * x_hat, axis=1, keepdims=True)
    dx = (inv_std / d) * (d * g - g_sum - x_hat * g_xhat_sum)
    dgamma = np.sum(dout * x_hat, axis=0)
    dbeta = np.sum(dout, axis=0)
    return (
        dx.astype(x_hat.dtype, copy=False),
        dgamma.astype(gamma.dtype, copy=False),
        dbeta.astype(gamma.dtype, copy=False),
    )
