r"""Regularization: weight penalties, the proximal step of L1, dropout and early stopping.

- :func:`l2_penalty` and :func:`l1_penalty`: a penalty added to the loss and its gradient.
  ``params`` is a **mapping from names to arrays** (``{"w1": w1, "w2": w2}``, the structure the
  chapters use for model parameters); the gradients come back as a new ``dict`` with the same keys
  in the same order. Pass only the arrays you want penalized (biases are usually left out).
- :func:`soft_threshold`: the proximal operator of :math:`t\,\lVert w \rVert_1`, the step that
  makes L1-regularized weights exactly zero.
- :func:`dropout_forward` / :func:`dropout_backward`: inverted dropout, as PyTorch implements it.
- :func:`early_stopping`: PyTorch Lightning's ``EarlyStopping`` rule on a list of validation losses.

Inputs are never modified and the floating dtype is kept; randomness comes from an explicit
``rng: numpy.random.Generator``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import NamedTuple

import numpy as np

from dlbasics._typing import FloatArray, check_floating


def _check_params(params: Mapping[str, FloatArray]) -> None:
    if not isinstance(params, Mapping):
        raise TypeError(
            f"params must be a mapping from names to arrays (e.g. a dict), got {type(params).__name__}"
        )
    for name, w in params.items():
        check_floating(w, f"params[{name!r}]")


def _check_lam(lam: float) -> None:
    if not lam >= 0.0:  # also rejects NaN
        raise ValueError(f"Invalid regularization strength lam: {lam}")


def l2_penalty(
    params: Mapping[str, FloatArray], lam: float
) -> tuple[float, dict[str, FloatArray]]:
    r"""L2 penalty (squared Euclidean norm of the weights) and its gradient.

    .. math::

        R(w) = \frac{\lambda}{2} \sum_{k} \sum_{i} w_{k,i}^2, \qquad
        \frac{\partial R}{\partial w_k} = \lambda\, w_k,

    summed over every array :math:`w_k` of ``params``. Adding :math:`R` to the loss and taking a
    plain gradient step gives :math:`w \leftarrow w - \eta(g + \lambda w) = (1 - \eta\lambda)\,w - \eta g`:
    exactly ``torch.optim.SGD(..., weight_decay=lam)`` (for Adam it is *not* ``AdamW``'s weight decay).

    Parameters
    ----------
    params : mapping of str to ndarray (any shapes), float32 or float64
        The arrays to penalize, e.g. ``{"w1": w1, "w2": w2}``; not modified.
    lam : float
        Regularization strength :math:`\lambda \ge 0`.

    Returns
    -------
    penalty : float
        :math:`R(w)`, accumulated in float64.
    grads : dict of str to ndarray
        :math:`\lambda w_k` for every key of ``params``, in the same order; each has its array's
        shape and dtype.

    Raises
    ------
    ValueError
        If ``lam`` is negative or NaN.
    TypeError
        If ``params`` is not a mapping of floating-point arrays.

    See Also
    --------
    torch.optim.SGD : ``weight_decay=lam`` adds the same ``lam * w`` to every gradient.
    torch.optim.AdamW : decoupled weight decay, which is not an L2 penalty.

    Notes
    -----
    The sum of squares is accumulated in float64, so float32 weights up to about
    :math:`10^{154}` give a finite penalty.
    """
    _check_params(params)
    _check_lam(lam)
    total = 0.0
    grads: dict[str, FloatArray] = {}
    for name, w in params.items():
        w64 = w.astype(np.float64, copy=False)
        total += float(np.sum(w64 * w64))
        grads[name] = (lam * w).astype(w.dtype, copy=False)
    return 0.5 * lam * total, grads


def l1_penalty(
    params: Mapping[str, FloatArray], lam: float
) -> tuple[float, dict[str, FloatArray]]:
    r"""L1 penalty (sum of absolute values of the weights) and a subgradient.

    .. math::

        R(w) = \lambda \sum_{k} \sum_{i} |w_{k,i}|, \qquad
        \frac{\partial R}{\partial w_{k,i}} = \lambda \operatorname{sign}(w_{k,i}),
        \quad \operatorname{sign}(0) = 0.

    :math:`|w|` has no derivative at 0; any value in :math:`[-\lambda, \lambda]` is a
    *subgradient* there. Like PyTorch's autograd of ``torch.abs``, we use 0.
    A gradient step with this subgradient almost never lands exactly on 0; :func:`soft_threshold`
    is the step that does.

    Parameters
    ----------
    params : mapping of str to ndarray (any shapes), float32 or float64
        The arrays to penalize; not modified.
    lam : float
        Regularization strength :math:`\lambda \ge 0`.

    Returns
    -------
    penalty : float
        :math:`R(w)`, accumulated in float64.
    grads : dict of str to ndarray
        :math:`\lambda \operatorname{sign}(w_k)` for every key, same order, shapes and dtypes.

    Raises
    ------
    ValueError
        If ``lam`` is negative or NaN.
    TypeError
        If ``params`` is not a mapping of floating-point arrays.

    See Also
    --------
    torch.abs : its autograd gradient at 0 is 0, as here.
    torch.nn.functional.softshrink : the proximal step, :func:`soft_threshold`.

    Notes
    -----
    No products of weights: the penalty overflows only if the sum of :math:`|w|` exceeds the
    float64 range.
    """
    _check_params(params)
    _check_lam(lam)
    total = 0.0
    grads: dict[str, FloatArray] = {}
    for name, w in params.items():
        w64 = w.astype(np.float64, copy=False)
        total += float(np.sum(np.abs(w64)))
        grads[name] = (lam * np.sign(w)).astype(w.dtype, copy=False)
    return lam * total, grads


def soft_threshold(x: FloatArray, threshold: float) -> FloatArray:
    r"""Soft-thresholding: the proximal operator of :math:`t\,\lVert x \rVert_1`.

    .. math::

        \operatorname{prox}_{t\lVert\cdot\rVert_1}(x)
        = \arg\min_{z} \Bigl(\tfrac12 \lVert z - x \rVert^2 + t \lVert z \rVert_1\Bigr)
        = \operatorname{sign}(x)\,\max(|x| - t,\ 0),

    entry by entry: entries with :math:`|x| \le t` become exactly 0, the others move
    :math:`t` towards 0. One *proximal gradient* step of the loss plus
    :math:`\lambda \lVert w \rVert_1` with learning rate :math:`\eta` is
    ``soft_threshold(w - lr * dw, lr * lam)``, with ``dw`` the gradient of the loss alone.

    Parameters
    ----------
    x : ndarray of any shape, float32 or float64
        Input; not modified.
    threshold : float
        :math:`t \ge 0`.

    Returns
    -------
    out : ndarray, same shape and dtype as ``x``
        Entries with :math:`|x| \le t` are ``+0.0``.

    Raises
    ------
    ValueError
        If ``threshold`` is negative or NaN.

    See Also
    --------
    torch.nn.functional.softshrink : the same function, ``softshrink(x, lambd=threshold)``.

    Notes
    -----
    One subtraction and a comparison per entry: no overflow or cancellation beyond that of
    :math:`|x| - t`. NaN inputs stay NaN.
    """
    check_floating(x)
    if not threshold >= 0.0:
        raise ValueError(f"Invalid threshold: {threshold}")
    t = x.dtype.type(threshold)
    zero = x.dtype.type(0.0)
    out = np.where(x > t, x - t, np.where(x < -t, x + t, zero))
    out = np.where(np.isnan(x), x, out)
    result: FloatArray = out.astype(x.dtype, copy=False)
    return result


class DropoutCache(NamedTuple):
    """What :func:`dropout_backward` needs: the multipliers applied in the forward pass."""

    scale: FloatArray | None
    """``mask / (1 - p)`` (0 for a dropped entry, :math:`1/(1-p)` for a kept one), dtype of ``x``;
    ``None`` when the forward pass was the identity (evaluation mode, or ``p = 0``)."""


def dropout_forward(
    x: FloatArray, p: float, training: bool, rng: np.random.Generator | None
) -> tuple[FloatArray, DropoutCache]:
    r"""Inverted dropout, as PyTorch implements it.

    In training, each entry is dropped (set to 0) independently with probability :math:`p` and
    the kept entries are scaled by :math:`1/(1-p)`, so the expected output equals the input:

    .. math::

        m_i \sim \operatorname{Bernoulli}(1 - p), \qquad
        \text{out}_i = \frac{m_i}{1 - p}\, x_i, \qquad
        \mathbb{E}[\text{out}_i] = x_i .

    In evaluation (``training=False``) the layer is the identity: nothing is dropped and
    nothing is rescaled. (The original formulation instead drops without rescaling during
    training and multiplies by the keep probability :math:`1-p` at test time; both give the
    same expected value.)

    Parameters
    ----------
    x : ndarray of any shape, float32 or float64
        Input; not modified.
    p : float
        Probability of *dropping* an entry, :math:`0 \le p \le 1` (PyTorch's meaning of ``p``;
        the dropout paper's :math:`p` is the probability of *keeping* one). ``p = 1`` gives zeros.
    training : bool
        Training mode (random mask) or evaluation mode (identity).
    rng : numpy.random.Generator or None
        Draws the mask; needed only when ``training`` and :math:`0 < p < 1`, and not used (not
        advanced) otherwise.

    Returns
    -------
    out : ndarray, same shape and dtype as ``x``
    cache : DropoutCache

    Raises
    ------
    ValueError
        If ``p`` is not in [0, 1], or an ``rng`` is needed and ``None`` was given.

    See Also
    --------
    torch.nn.functional.dropout : ``dropout(x, p, training)``; the same computation
        (``x * (mask / (1 - p))``), with PyTorch's random numbers instead of ``rng``'s.
    torch.nn.Dropout

    Notes
    -----
    The scale :math:`1/(1-p)` is computed in the dtype of ``x``, as PyTorch does; for ``p``
    close to 1 it is large, but finite for every ``p < 1``. ``p = 1`` multiplies by 0 instead of
    dividing by 0 (so, as in PyTorch, infinite or NaN inputs give NaN).
    """
    check_floating(x)
    if not 0.0 <= p <= 1.0:
        raise ValueError(
            f"dropout probability has to be between 0 and 1, but got {p}"
        )
    if not training or p == 0.0:
        return x.copy(), DropoutCache(scale=None)
    if p == 1.0:
        scale = np.zeros_like(x)
    else:
        if rng is None:
            raise ValueError(
                "dropout_forward needs an rng in training mode when 0 < p < 1"
            )
        keep = rng.random(x.shape) >= p  # P(keep) = 1 - p
        scale = keep.astype(x.dtype) / x.dtype.type(1.0 - p)
    out: FloatArray = (x * scale).astype(x.dtype, copy=False)
    return out, DropoutCache(scale=scale)


def dropout_backward(dout: FloatArray, cache: DropoutCache) -> FloatArray:
    r"""Gradient of inverted dropout: the same multipliers as the forward pass.

    .. math::

        \frac{\partial L}{\partial x_i} = \frac{\partial L}{\partial \text{out}_i}\,\frac{m_i}{1-p},

    with the mask :math:`m` drawn in the forward pass (kept in the cache, never redrawn).
    After a forward pass in evaluation mode the gradient passes unchanged.

    Parameters
    ----------
    dout : ndarray, shape of ``x``
        Upstream gradient.
    cache : DropoutCache

    Returns
    -------
    dx : ndarray, same shape and dtype as ``dout``
    """
    check_floating(dout, "dout")
    if cache.scale is None:
        return dout.copy()
    if cache.scale.shape != dout.shape:
        raise ValueError(
            f"dout has shape {dout.shape}, the forward input "
            f"had {cache.scale.shape}"
        )
    dx: FloatArray = (dout * cache.scale).astype(dout.dtype, copy=False)
    return dx


def early_stopping(
    val_losses: Sequence[float], patience: int, min_delta: float = 0.0
) -> bool:
    r"""Whether to stop training now, by PyTorch Lightning's ``EarlyStopping`` rule (``mode="min"``).

    Call it after every validation check with all the validation losses so far. The rule, applied
    to the losses :math:`v_1, v_2, \dots` in order (the one of Lightning's ``EarlyStopping``
    callback with ``check_finite=True`` and no thresholds):

    - start with ``best`` :math:`= +\infty` and ``wait`` :math:`= 0`;
    - a check :math:`v_t` is an *improvement* if :math:`v_t + \delta < \text{best}`, with
      :math:`\delta` = ``min_delta`` (a decrease of at most :math:`\delta` is *not* one); then
      ``best`` :math:`= v_t` and ``wait`` :math:`= 0`, and the check says "go on";
    - otherwise ``wait`` grows by 1, and the check says "stop" if ``wait`` :math:`\ge` ``patience``;
    - a NaN or infinite :math:`v_t` says "stop" at once (and changes neither ``best`` nor ``wait``).

    The function returns what the *last* check says. So, with ``patience`` :math:`= P \ge 1`, it
    returns True exactly when the last loss is not finite, or when none of the last :math:`P`
    losses improved on the best loss before them by more than ``min_delta``; with ``patience = 0``,
    whenever the last loss is not an improvement. A training loop that calls it after every epoch
    stops at the first True; for a list that goes on past such a point, the answer is still the
    one of the last check (a later improvement resets ``wait``).

    Parameters
    ----------
    val_losses : sequence of float
        The validation losses, one per check (usually per epoch), oldest first; not modified.
        An empty sequence gives False.
    patience : int
        Number of checks without improvement after which to stop, :math:`\ge 0` (Lightning's
        default is 3).
    min_delta : float, default 0.0
        Smallest decrease of the loss that counts as an improvement, :math:`\ge 0`.

    Returns
    -------
    bool

    Raises
    ------
    ValueError
        If ``patience`` is negative or ``min_delta`` is negative or NaN.

    See Also
    --------
    lightning.pytorch.callbacks.EarlyStopping : ``EarlyStopping(monitor="val_loss", mode="min",
        patience=patience, min_delta=min_delta)``.

    Notes
    -----
    The comparison is done in float64 on Python floats (Lightning compares tensors, usually float32,
    so losses that differ only beyond float32 precision can be judged differently).
    """
    integer = isinstance(patience, (int, np.integer))
    if isinstance(patience, bool) or not integer or patience < 0:
        raise ValueError(f"Invalid patience: {patience}")
    if not min_delta >= 0.0:
        raise ValueError(f"Invalid min_delta: {min_delta}")
    best = math.inf
    wait = 0
    stop = False
    for value in val_losses:
        v = float(value)
        if not math.isfinite(v):
            stop = True
        elif v + min_delta < best:
            best, wait, stop = v, 0, False
        else:
            wait += 1
            stop = wait >= patience
    return stop
