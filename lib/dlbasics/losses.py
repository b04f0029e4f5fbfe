r"""Loss functions: each returns the loss and its gradient with respect to the prediction.

Every ``*_loss(pred, target)`` returns ``(loss, dpred)``: a Python float and
:math:`\partial L / \partial \text{pred}`, the start of the backward pass, with the shape and
dtype of ``pred``. Reductions are the mean, as in PyTorch's defaults.

Regression: :func:`mse_loss`, :func:`l1_loss`.
Probabilities from scores (logits), along the last axis: :func:`softmax`,
:func:`log_softmax`, :func:`logsumexp`.
Classification (targets are integer class indices, or 0/1 labels for the binary loss):
:func:`nll_loss`, :func:`cross_entropy_loss`, :func:`binary_cross_entropy_with_logits`.

The classification losses take logits (or log-probabilities) of shape (N, C): N examples,
C classes, one row per example, as ``torch.nn.functional.cross_entropy`` does for 2-D input.
Nothing here exponentiates a large positive number: every exponential sees an argument
:math:`\le 0`, so logits of :math:`\pm 10^4` give exact, finite results without warnings.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from dlbasics._typing import FloatArray, check_floating
from dlbasics.activations import sigmoid_forward

IntArray = npt.NDArray[np.integer[Any]]


# ----------------------------------------------------------------------------------- regression
def _check_same_shape(pred: FloatArray, target: np.ndarray[Any, Any]) -> None:
    if pred.shape != target.shape:
        raise ValueError(
            "pred and target must have the same shape, "
            f"got {pred.shape} and {target.shape}"
        )


def mse_loss(pred: FloatArray, target: FloatArray) -> tuple[float, FloatArray]:
    r"""Mean squared error (MSE), averaged over *all* elements.

    .. math::

        L = \frac{1}{K} \sum_{k=1}^{K} (\text{pred}_k - \text{target}_k)^2, \qquad
        \frac{\partial L}{\partial \text{pred}} = \frac{2}{K} (\text{pred} - \text{target}),

    where :math:`K` is the number of elements of ``pred`` (for shape (N, M), :math:`K = NM`).

    Parameters
    ----------
    pred : ndarray of any shape, float32 or float64
        Predictions; not modified.
    target : ndarray, same shape as ``pred``
        Targets; not modified.

    Returns
    -------
    loss : float
        NaN for empty arrays, as in PyTorch.
    dpred : ndarray, same shape and dtype as ``pred``

    See Also
    --------
    torch.nn.functional.mse_loss : with its default ``reduction="mean"``.

    Notes
    -----
    No exponentials or divisions by data; squares of differences above about
    :math:`10^{154}` would overflow float64.
    """
    check_floating(pred, "pred")
    check_floating(target, "target")
    _check_same_shape(pred, target)
    diff = pred - target
    k = diff.size
    loss = float(np.mean(diff * diff)) if k else float("nan")
    scaled = diff * (2.0 / k) if k else diff
    dpred = scaled.astype(pred.dtype, copy=False)
    return loss, dpred


def l1_loss(pred: FloatArray, target: FloatArray) -> tuple[float, FloatArray]:
    r"""Mean absolute error (MAE, the L1 loss), averaged over *all* elements.

    .. math::

        L = \frac{1}{K} \sum_{k=1}^{K} \lvert \text{pred}_k - \text{target}_k \rvert, \qquad
        \frac{\partial L}{\partial \text{pred}} = \frac{1}{K}
        \operatorname{sign}(\text{pred} - \text{target}),

    with :math:`\operatorname{sign}(0) = 0` where the absolute value has a kink, as in PyTorch.

    Parameters
    ----------
    pred : ndarray of any shape, float32 or float64
        Predictions; not modified.
    target : ndarray, same shape as ``pred``
        Targets; not modified.

    Returns
    -------
    loss : float
        NaN for empty arrays, as in PyTorch.
    dpred : ndarray, same shape and dtype as ``pred``

    See Also
    --------
    torch.nn.functional.l1_loss : with its default ``reduction="mean"``.

    Notes
    -----
    No exponentials; the gradient's size does not depend on how large an error is, which is
    why a single outlier pulls the MAE's minimizer (a median) far less than the MSE's (a mean).
    """
    check_floating(pred, "pred")
    check_floating(target, "target")
    _check_same_shape(pred, target)
    diff = pred - target
    k = diff.size
    loss = float(np.mean(np.abs(diff))) if k else float("nan")
    dpred = (np.sign(diff) / k if k else diff).astype(pred.dtype, copy=False)
    return loss, dpred


# ------------------------------------------------------------------------------ probabilities
def _check_logits(logits: FloatArray, name: str = "logits") -> None:
    check_floating(logits, name)
    if logits.ndim == 0:
        raise ValueError(
            f"{name} must have at least one axis (the classes), got a 0-d array"
        )


def logsumexp(logits: FloatArray) -> FloatArray:
    r"""The log-sum-exp over the last axis, computed without overflow.

    .. math::

        \operatorname{LSE}(z) = \log \sum_{j=1}^{C} e^{z_j}
        = m + \log \sum_{j=1}^{C} e^{z_j - m}, \qquad m = \max_j z_j .

    Parameters
    ----------
    logits : ndarray of shape (..., C), float32 or float64
        Scores; not modified.

    Returns
    -------
    lse : ndarray of shape (...), same dtype as ``logits``

    See Also
    --------
    torch.logsumexp : with ``dim=-1``.

    Notes
    -----
    Shifting by the row maximum :math:`m` is exact algebra (:math:`e^{z-m}e^{m} = e^{z}`) and
    makes every exponent :math:`\le 0`, so ``exp`` cannot overflow; the largest term is
    :math:`e^0 = 1`, so the sum is at least 1 and its logarithm is finite.
    """
    _check_logits(logits)
    if logits.shape[-1] == 0:
        return np.full(logits.shape[:-1], -np.inf, dtype=logits.dtype)
    m = np.max(logits, axis=-1, keepdims=True)
    lse = m + np.log(np.sum(np.exp(logits - m), axis=-1, keepdims=True))
    out: FloatArray = np.squeeze(lse, axis=-1).astype(logits.dtype, copy=False)
    return out


def log_softmax(logits: FloatArray) -> FloatArray:
    r"""Logarithm of the softmax over the last axis, computed without overflow.

    .. math::

        \log \operatorname{softmax}(z)_i = z_i - \log \sum_{j=1}^{C} e^{z_j}
        = (z_i - m) - \log \sum_{j=1}^{C} e^{z_j - m}, \qquad m = \max_j z_j .

    Parameters
    ----------
    logits : ndarray of shape (..., C), float32 or float64
        Scores (logits), one row of C per example; not modified.

    Returns
    -------
    log_probs : ndarray, same shape and dtype as ``logits``
        Every entry :math:`\le 0`; the exponentials of a row sum to 1.

    See Also
    --------
    torch.nn.functional.log_softmax : with ``dim=-1``.
    softmax, logsumexp

    Notes
    -----
    Stable for any finite logits: after the shift every exponent is :math:`\le 0` and the
    sum inside the logarithm lies in :math:`[1, C]`. For logits of :math:`\pm 10^4` the result
    is exact to float rounding (e.g. :math:`[10^4, -10^4] \mapsto [0, -2 \cdot 10^4]`), where
    ``log(softmax(z))`` would give :math:`\log 0 = -\infty`.
    """
    _check_logits(logits)
    if logits.size == 0:
        return logits.copy()
    shifted = logits - np.max(logits, axis=-1, keepdims=True)
    lse = np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))
    out: FloatArray = (shifted - lse).astype(logits.dtype, copy=False)
    return out


def softmax(logits: FloatArray) -> FloatArray:
    r"""Softmax over the last axis: turns a row of scores into probabilities.

    .. math::

        \operatorname{softmax}(z)_i = \frac{e^{z_i}}{\sum_{j=1}^{C} e^{z_j}}
        = \frac{e^{z_i - m}}{\sum_{j=1}^{C} e^{z_j - m}}, \qquad m = \max_j z_j .

    Parameters
    ----------
    logits : ndarray of shape (..., C), float32 or float64
        Scores (logits); not modified.

    Returns
    -------
    probs : ndarray, same shape and dtype as ``logits``
        Entries in :math:`[0, 1]`; each row sums to 1 (to rounding).

    See Also
    --------
    torch.nn.functional.softmax : with ``dim=-1``.
    log_softmax

    Notes
    -----
    Subtracting the row maximum changes nothing mathematically (numerator and denominator
    are both multiplied by :math:`e^{-m}`) and keeps every exponent :math:`\le 0`, so nothing
    overflows; the denominator is at least 1. The naive formula gives ``inf / inf = nan`` for a
    logit of 1000. Very negative logits give probabilities that underflow to exactly 0: use
    :func:`log_softmax` when the logarithm is needed.
    """
    _check_logits(logits)
    if logits.size == 0:
        return logits.copy()
    e = np.exp(logits - np.max(logits, axis=-1, keepdims=True))
    probs = e / np.sum(e, axis=-1, keepdims=True)
    out: FloatArray = probs.astype(logits.dtype, copy=False)
    return out


# ------------------------------------------------------------------------------ classification
def _check_class_inputs(
    scores: FloatArray, targets: IntArray, name: str
) -> tuple[int, int]:
    """Check (N, C) scores and (N,) integer targets in [0, C); return (N, C)."""
    check_floating(scores, name)
    if scores.ndim != 2:
        raise ValueError(f"{name} must have shape (N, C), got {scores.shape}")
    n, c = scores.shape
    if not isinstance(targets, np.ndarray):
        raise TypeError(
            f"targets must be a numpy.ndarray of class indices, got {type(targets).__name__}"
        )
    if not np.issubdtype(targets.dtype, np.integer):
        raise TypeError(
            f"targets must be integer class indices, got dtype {targets.dtype}"
        )
    if targets.shape != (n,):
        raise ValueError(
            f"targets must have shape (N,) = ({n},) for {name} of shape {scores.shape}, "
            f"got {targets.shape}"
        )
    if n and (targets.min() < 0 or targets.max() >= c):
        bad = targets[(targets < 0) | (targets >= c)][0]
        raise ValueError(
            f"Target {bad} is out of bounds: class indices must be in [0, {c - 1}]"
        )
    return n, c


def _class_weights(
    weight: FloatArray | None, c: int, dtype: np.dtype[Any]
) -> FloatArray:
    if weight is None:
        return np.ones(c, dtype=dtype)
    check_floating(weight, "weight")
    if weight.shape != (c,):
        raise ValueError(
            f"weight must have one entry per class, shape ({c},), got {weight.shape}"
        )
    return weight


def _safe_divide(num: Any, den: Any) -> FloatArray:
    """``num / den``, NaN (as PyTorch) without a warning when ``den`` is 0."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(num / den)


def nll_loss(
    log_probs: FloatArray,
    targets: IntArray,
    *,
    weight: FloatArray | None = None,
) -> tuple[float, FloatArray]:
    r"""Negative log-likelihood (NLL) of the target classes, averaged over the examples.

    .. math::

        L = -\frac{1}{N} \sum_{n=1}^{N} \log p_{n, y_n}, \qquad
        \frac{\partial L}{\partial \log p_{n,c}} = -\frac{1}{N}\, \mathbb{1}[c = y_n] .

    With class weights :math:`w` the mean is weighted, and divided by the total weight of
    the targets (PyTorch's definition):

    .. math::

        L = -\frac{\sum_n w_{y_n} \log p_{n, y_n}}{\sum_n w_{y_n}}, \qquad
        \frac{\partial L}{\partial \log p_{n,c}} = -\frac{w_{y_n}}{\sum_m w_{y_m}}\,
        \mathbb{1}[c = y_n] .

    Parameters
    ----------
    log_probs : ndarray of shape (N, C), float32 or float64
        Log-probabilities (usually from :func:`log_softmax`); not modified.
    targets : ndarray of shape (N,), integer
        The class index :math:`y_n \in \{0, \dots, C-1\}` of each example; not modified.
    weight : ndarray of shape (C,), optional, keyword-only
        A weight per class; ``None`` (default) weighs every class 1.

    Returns
    -------
    loss : float
        NaN when N = 0 or the targets' weights sum to 0, as in PyTorch.
    dlog_probs : ndarray of shape (N, C), same dtype as ``log_probs``
        Non-zero only at the targets.

    Raises
    ------
    TypeError
        If ``targets`` is not an integer array.
    ValueError
        If the shapes do not fit or a target is outside ``[0, C)``.

    See Also
    --------
    torch.nn.functional.nll_loss : with its defaults (``reduction="mean"``); ``ignore_index``
        is not supported here.

    Notes
    -----
    No exponentials or logarithms: the NLL only picks entries, so it is as stable as the
    log-probabilities it is given. Computing them as ``log(softmax(z))`` is not stable; use
    :func:`log_softmax` or :func:`cross_entropy_loss`.
    """
    n, c = _check_class_inputs(log_probs, targets, "log_probs")
    w = _class_weights(weight, c, log_probs.dtype)
    rows = np.arange(n)
    w_t = w[targets]  # the weight of each example's class
    total = np.sum(w_t)
    picked = log_probs[rows, targets]  # log p of each true class
    loss = float(_safe_divide(-np.sum(w_t * picked), total))
    dlog_probs = np.zeros_like(log_probs)
    dlog_probs[rows, targets] = _safe_divide(-w_t, total)
    return loss, dlog_probs


def cross_entropy_loss(
    logits: FloatArray,
    targets: IntArray,
    *,
    weight: FloatArray | None = None,
    label_smoothing: float = 0.0,
) -> tuple[float, FloatArray]:
    r"""Cross-entropy (CE) loss: softmax of the logits followed by the NLL, averaged over the examples.

    .. math::

        L = -\frac{1}{N} \sum_{n=1}^{N} \log \operatorname{softmax}(z_n)_{y_n}
          = \frac{1}{N} \sum_{n=1}^{N} \Bigl( \log \sum_{j} e^{z_{n,j}} - z_{n, y_n} \Bigr),
        \qquad
        \frac{\partial L}{\partial z_n} = \frac{1}{N}\bigl(\operatorname{softmax}(z_n)
        - \operatorname{onehot}(y_n)\bigr).

    With ``label_smoothing`` :math:`\varepsilon` and class weights :math:`w` (PyTorch's
    definitions), write :math:`\ell_{n,c} = \log\operatorname{softmax}(z_n)_c` and
    :math:`S = \sum_n w_{y_n}`; then

    .. math::

        L = -\frac{1 - \varepsilon}{S} \sum_n w_{y_n} \ell_{n, y_n}
            - \frac{\varepsilon}{C S} \sum_n \sum_c w_c\, \ell_{n, c}
          = -\sum_{n,c} q_{n,c}\, \ell_{n,c},
        \qquad
        \frac{\partial L}{\partial z_{n,c}} = p_{n,c} \sum_{c'} q_{n,c'} - q_{n,c},

    with :math:`q_{n,c} = \bigl((1-\varepsilon)\, w_{y_n} \mathbb{1}[c = y_n]
    + \varepsilon\, w_c / C\bigr) / S` and :math:`p_n = \operatorname{softmax}(z_n)`.
    Without weights, :math:`\sum_{c'} q_{n,c'} = 1/N` and the gradient is
    :math:`(p_n - t_n)/N` for the smoothed target :math:`t_n = (1-\varepsilon)\,
    \operatorname{onehot}(y_n) + \varepsilon / C`.

    Parameters
    ----------
    logits : ndarray of shape (N, C), float32 or float64
        Unnormalized scores, one row per example; not modified.
    targets : ndarray of shape (N,), integer
        The class index of each example, in ``[0, C)``; not modified.
    weight : ndarray of shape (C,), optional, keyword-only
        A weight per class (``None``: all 1). The mean is divided by the total weight of the
        targets, as in PyTorch.
    label_smoothing : float in [0, 1], default 0.0, keyword-only
        Mixes the one-hot target with the uniform distribution over the C classes.

    Returns
    -------
    loss : float
        At least 0. NaN when N = 0 or the targets' weights sum to 0, as in PyTorch.
    dlogits : ndarray of shape (N, C), same dtype as ``logits``

    Raises
    ------
    TypeError
        If ``targets`` is not an integer array.
    ValueError
        If the shapes do not fit, a target is outside ``[0, C)`` or ``label_smoothing`` is
        outside ``[0, 1]``.

    See Also
    --------
    torch.nn.functional.cross_entropy : with class-index targets and ``reduction="mean"``;
        ``ignore_index`` and probability targets are not supported here.
    log_softmax, nll_loss

    Notes
    -----
    Stable for any finite logits: it is computed from :func:`log_softmax` (max-shifted), never
    as ``log(softmax(z))``, so a confidently wrong logit of :math:`10^4` costs exactly
    :math:`\approx 10^4` instead of :math:`\infty`. The gradient rows sum to 0 (without weights).
    """
    n, c = _check_class_inputs(logits, targets, "logits")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"Invalid label_smoothing value: {label_smoothing}")
    w = _class_weights(weight, c, logits.dtype)
    log_probs = log_softmax(logits)
    probs = np.exp(log_probs)
    rows = np.arange(n)
    w_t = w[targets]  # the weight of each example's class
    total = np.sum(w_t)
    # q[n, c]: the weight of -log p[n, c] in the loss (smoothed target * w)
    eps = label_smoothing
    q = np.zeros_like(logits)
    q[rows, targets] = (1.0 - eps) * w_t
    loss_sum = -(1.0 - eps) * np.sum(w_t * log_probs[rows, targets])
    if eps > 0.0:
        q = q + (eps / c) * w
        loss_sum = loss_sum - (eps / c) * np.sum(log_probs @ w)
    q = _safe_divide(q, total)
    loss = float(_safe_divide(loss_sum, total))
    dlogits = probs * np.sum(q, axis=1, keepdims=True) - q
    return loss, dlogits.astype(logits.dtype, copy=False)


def _check_binary_targets(
    logits: FloatArray, targets: np.ndarray[Any, Any]
) -> None:
    if not isinstance(targets, np.ndarray):
        raise TypeError(
            f"targets must be a numpy.ndarray, got {type(targets).__name__}"
        )
    if not (
        np.issubdtype(targets.dtype, np.number) or targets.dtype == np.bool_
    ):
        raise TypeError(
            f"targets must be numeric (0/1 labels or probabilities), got dtype {targets.dtype}"
        )
    if targets.shape != logits.shape:
        raise ValueError(
            "logits and targets must have the same shape, "
            f"got {logits.shape} and {targets.shape}"
        )


def binary_cross_entropy_with_logits(
    logits: FloatArray, targets: np.ndarray[Any, Any]
) -> tuple[float, FloatArray]:
    r"""Binary cross-entropy (BCE) on logits: a sigmoid and the BCE in one stable step.

    Each entry is its own yes/no question with probability :math:`p = \sigma(x)`:

    .. math::

        L = -\frac{1}{K} \sum_{k=1}^{K} \bigl( t_k \log \sigma(x_k)
              + (1 - t_k) \log (1 - \sigma(x_k)) \bigr)
          = \frac{1}{K} \sum_{k=1}^{K} \bigl( \max(x_k, 0) - x_k t_k
              + \log(1 + e^{-\lvert x_k \rvert}) \bigr),

    .. math::

        \frac{\partial L}{\partial x} = \frac{1}{K}\bigl(\sigma(x) - t\bigr),

    averaged over all :math:`K` elements.

    Parameters
    ----------
    logits : ndarray of any shape, float32 or float64
        Scores :math:`x`; not modified.
    targets : ndarray, same shape as ``logits``
        Labels: integer or boolean 0/1 (the class index of a two-class problem, or one
        yes/no per class in a multi-label problem), or floats in :math:`[0, 1]` as PyTorch
        takes them; not modified.

    Returns
    -------
    loss : float
        NaN for empty arrays, as in PyTorch.
    dlogits : ndarray, same shape and dtype as ``logits``

    See Also
    --------
    torch.nn.functional.binary_cross_entropy_with_logits : with its defaults (no ``weight``,
        no ``pos_weight``, ``reduction="mean"``).

    Notes
    -----
    Stable for any finite logits: :math:`\log\sigma(x) = -\log(1 + e^{-x})` is computed as
    :math:`\min(x, 0) - \log(1 + e^{-\lvert x \rvert})`, whose exponent is never positive.
    ``np.log(sigmoid(x))`` would return :math:`\log 0 = -\infty` for :math:`x \lesssim -745`
    in float64 (:math:`x \lesssim -104` in float32).
    """
    check_floating(logits, "logits")
    _check_binary_targets(logits, targets)
    t = targets.astype(logits.dtype)
    k = logits.size
    if k == 0:
        return float("nan"), np.zeros_like(logits)
    # max(x, 0) - t x + log(1 + e^(-|x|)): no exponent is positive; the
    # first two terms cancel exactly for a confident right answer
    per_element = (
        np.maximum(logits, 0) - logits * t + np.log1p(np.exp(-np.abs(logits)))
    )
    loss = float(np.mean(per_element))
    probs, _ = sigmoid_forward(logits)
    dlogits = (probs - t) / k
    return loss, dlogits.astype(logits.dtype, copy=False)
