r"""Optimizers with a step size per coordinate: Adagrad, RMSProp, Adam and AdamW.

Each divides the step of every coordinate by a running size of that coordinate's gradients, so
that coordinates with large gradients take smaller steps. They differ in how that size is kept:
a sum of all squared gradients (Adagrad), an exponential moving average of them (RMSProp), or that
average with bias correction and a moving average of the gradients themselves (Adam, AdamW).

Every ``*_step(w, dw, state=None, *, lr, ...) -> (new_w, new_state)`` makes one update as the
matching ``torch.optim`` optimizer's ``step()``; the state is a NamedTuple with PyTorch's names,
None on the first call, and never modified (a new one is returned).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from dlbasics._typing import FloatArray
from dlbasics.optim._checks import (
    LearningRate,
    check_betas,
    check_eps,
    check_lr,
    check_state,
    check_step_inputs,
    check_weight_decay,
    nonnegative,
)


class AdagradState(NamedTuple):
    r"""The state of :func:`adagrad_step`: PyTorch's ``state["sum"]``.

    Attributes
    ----------
    sum : ndarray, shape and dtype of ``w``
        :math:`G_t = \sum_{s \le t} g_s^2`, the sum of every squared gradient so far.
    """

    sum: FloatArray


class RMSpropState(NamedTuple):
    r"""The state of :func:`rmsprop_step`: PyTorch's ``state["square_avg"]``.

    Attributes
    ----------
    square_avg : ndarray, shape and dtype of ``w``
        :math:`v_t`, the exponential moving average of the squared gradients (started at 0).
    """

    square_avg: FloatArray


class AdamState(NamedTuple):
    r"""The state of :func:`adam_step` and :func:`adamw_step`: PyTorch's ``state["step"]``,
    ``state["exp_avg"]`` and ``state["exp_avg_sq"]``.

    Attributes
    ----------
    step : int
        :math:`t`, the number of updates made so far (the bias correction needs it).
    exp_avg : ndarray, shape and dtype of ``w``
        :math:`m_t`, the exponential moving average of the gradients (started at 0).
    exp_avg_sq : ndarray, shape and dtype of ``w``
        :math:`v_t`, the exponential moving average of the squared gradients (started at 0).
    """

    step: int
    exp_avg: FloatArray
    exp_avg_sq: FloatArray


def adagrad_step(
    w: FloatArray,
    dw: FloatArray,
    state: AdagradState | None = None,
    *,
    lr: LearningRate = 1e-2,
    eps: float = 1e-10,
) -> tuple[FloatArray, AdagradState]:
    r"""One step of Adagrad (adaptive gradient), as ``torch.optim.Adagrad``.

    .. math::

        \begin{aligned}
        &\textbf{input: } \eta \text{ (lr)},\ \theta_{t-1} \text{ (w)},\ g_t \text{ (dw)},\
            \ \epsilon \text{ (eps)};\quad G_0 = 0 \\
        &G_t \leftarrow G_{t-1} + g_t^2 \\
        &\theta_t \leftarrow \theta_{t-1} - \eta\, \frac{g_t}{\sqrt{G_t} + \epsilon} \\
        &\textbf{return } \theta_t,\ G_t
        \end{aligned}

    (Squares, square roots and the division are entry by entry.) Because :math:`G_t` only grows,
    each coordinate's step size :math:`\eta/(\sqrt{G_t} + \epsilon)` only shrinks: for a
    gradient of constant size it falls like :math:`1/\sqrt{t}` (Duchi et al., 2011).

    Parameters
    ----------
    w : ndarray of any shape, float32 or float64
        The model parameters :math:`\theta_{t-1}`; not modified.
    dw : ndarray, shape of ``w``
        The gradient :math:`g_t`; not modified.
    state : AdagradState or None
        None on the first call, then the state returned by the previous call; not modified.
    lr : float or ndarray, default 0.01
        :math:`\eta \ge 0` (an array broadcasting against ``w``: one learning rate per row).
    eps : float, default 1e-10
        :math:`\epsilon \ge 0`, added to :math:`\sqrt{G_t}`, *outside* the square root, as PyTorch does.

    Returns
    -------
    new_w : ndarray, shape and dtype of ``w``
    new_state : AdagradState

    Raises
    ------
    ValueError
        ``Invalid learning rate: ...``, ``Invalid epsilon value: ...`` (torch.optim's wording).

    See Also
    --------
    torch.optim.Adagrad : ``Adagrad([w], lr=lr, eps=eps)`` (``lr_decay``, ``weight_decay`` and
        ``initial_accumulator_value`` left at 0).

    Notes
    -----
    :math:`\epsilon` keeps the division finite while :math:`G_t = 0` (a coordinate whose gradient
    has always been 0, which then does not move). Where the gradients are tiny, comparable to
    :math:`\epsilon`, where it is added changes the step; here it is where PyTorch adds it.
    """
    check_step_inputs(w, dw)
    check_lr(lr)
    check_eps(eps)
    check_state(state, AdagradState, "adagrad_step", w)
    g_sum = dw * dw if state is None else state.sum + dw * dw
    new_w = w - lr * (dw / (np.sqrt(g_sum) + eps))
    return new_w.astype(w.dtype), AdagradState(g_sum.astype(w.dtype))


def rmsprop_step(
    w: FloatArray,
    dw: FloatArray,
    state: RMSpropState | None = None,
    *,
    lr: LearningRate = 1e-2,
    alpha: float = 0.99,
    eps: float = 1e-8,
) -> tuple[FloatArray, RMSpropState]:
    r"""One step of RMSProp (root mean square propagation), as ``torch.optim.RMSprop``.

    .. math::

        \begin{aligned}
        &\textbf{input: } \eta \text{ (lr)},\ \alpha \text{ (alpha)},\ \theta_{t-1} \text{ (w)},\
            \ g_t \text{ (dw)},\ \epsilon \text{ (eps)};\quad v_0 = 0 \\
        &v_t \leftarrow \alpha\, v_{t-1} + (1 - \alpha)\, g_t^2 \\
        &\theta_t \leftarrow \theta_{t-1} - \eta\, \frac{g_t}{\sqrt{v_t} + \epsilon} \\
        &\textbf{return } \theta_t,\ v_t
        \end{aligned}

    An exponential moving average (EMA) replaces Adagrad's sum, so old gradients are forgotten
    (Tieleman and Hinton, 2012). There is no bias correction: :math:`v_t` starts at 0, so while
    :math:`t \ll 1/(1 - \alpha)` it underestimates the squared gradients and the first steps are
    larger than :math:`\eta` (up to :math:`\eta/\sqrt{1 - \alpha}`, 10 times for the default).

    Parameters
    ----------
    w : ndarray of any shape, float32 or float64
        The model parameters :math:`\theta_{t-1}`; not modified.
    dw : ndarray, shape of ``w``
        The gradient :math:`g_t`; not modified.
    state : RMSpropState or None
        None on the first call, then the state returned by the previous call; not modified.
    lr : float or ndarray, default 0.01
        :math:`\eta \ge 0` (an array broadcasting against ``w``: one learning rate per row).
    alpha : float, default 0.99
        :math:`\alpha \ge 0`, the smoothing constant: the average covers about :math:`1/(1-\alpha)` steps.
    eps : float, default 1e-8
        :math:`\epsilon \ge 0`, added to :math:`\sqrt{v_t}`, outside the square root, as PyTorch does.

    Returns
    -------
    new_w : ndarray, shape and dtype of ``w``
    new_state : RMSpropState

    Raises
    ------
    ValueError
        ``Invalid learning rate: ...``, ``Invalid epsilon value: ...``, ``Invalid alpha value: ...``
        (torch.optim's wording and order).

    See Also
    --------
    torch.optim.RMSprop : ``RMSprop([w], lr=lr, alpha=alpha, eps=eps)`` (not centred, no momentum,
        no weight decay).

    Notes
    -----
    :math:`\epsilon` keeps the division finite while :math:`v_t = 0`; for gradients of size
    comparable to :math:`\epsilon` it changes the step, so it is added where PyTorch adds it.
    """
    check_step_inputs(w, dw)
    check_lr(lr)
    check_eps(eps)
    if not nonnegative(alpha):
        raise ValueError(f"Invalid alpha value: {alpha}")
    check_state(state, RMSpropState, "rmsprop_step", w)
    v_prev = np.zeros_like(w) if state is None else state.square_avg
    v = alpha * v_prev + (1 - alpha) * (dw * dw)
    new_w = w - lr * (dw / (np.sqrt(v) + eps))
    return new_w.astype(w.dtype), RMSpropState(v.astype(w.dtype))


def adam_step(
    w: FloatArray,
    dw: FloatArray,
    state: AdamState | None = None,
    *,
    lr: LearningRate = 1e-3,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    weight_decay: float = 0.0,
) -> tuple[FloatArray, AdamState]:
    r"""One step of Adam (adaptive moment estimation), as ``torch.optim.Adam``.

    .. math::

        \begin{aligned}
        &\textbf{input: } \eta \text{ (lr)},\ \beta_1, \beta_2 \text{ (betas)},\
            \ \theta_{t-1} \text{ (w)},\ g_t \text{ (dw)},\ \epsilon \text{ (eps)},\
            \ \lambda \text{ (weight\_decay)};\quad m_0 = v_0 = 0 \\
        &\textbf{if } \lambda \neq 0: \quad g_t \leftarrow g_t + \lambda\, \theta_{t-1} \\
        &m_t \leftarrow \beta_1 m_{t-1} + (1 - \beta_1)\, g_t \\
        &v_t \leftarrow \beta_2 v_{t-1} + (1 - \beta_2)\, g_t^2 \\
        &\widehat{m}_t \leftarrow m_t / (1 - \beta_1^t) \\
        &\widehat{v}_t \leftarrow v_t / (1 - \beta_2^t) \\
        &\theta_t \leftarrow \theta_{t-1} - \eta\, \widehat{m}_t / \bigl(\sqrt{\widehat{v}_t} + \epsilon\bigr) \\
        &\textbf{return } \theta_t,\ (t, m_t, v_t)
        \end{aligned}

    :math:`m_t` and :math:`v_t` are exponential moving averages of the gradients and of their
    squares, started at 0; dividing by :math:`1 - \beta^t` (the bias correction) removes their pull
    towards that 0 start (Kingma and Ba, 2015). With ``weight_decay`` the penalty's gradient
    :math:`\lambda\theta` is added to :math:`g_t` and so is divided by :math:`\sqrt{\widehat v_t}`
    too: this is "Adam with L2 regularization", not AdamW (see :func:`adamw_step`).

    Parameters
    ----------
    w : ndarray of any shape, float32 or float64
        The model parameters :math:`\theta_{t-1}`; not modified.
    dw : ndarray, shape of ``w``
        The gradient :math:`g_t`; not modified.
    state : AdamState or None
        None on the first call, then the state returned by the previous call; not modified.
    lr : float or ndarray, default 0.001
        :math:`\eta \ge 0` (an array broadcasting against ``w``: one learning rate per row).
    betas : (float, float), default (0.9, 0.999)
        :math:`(\beta_1, \beta_2)`, each in :math:`[0, 1)`.
    eps : float, default 1e-8
        :math:`\epsilon \ge 0`, added *after* the square root of :math:`\widehat v_t`, as PyTorch does.
    weight_decay : float, default 0
        :math:`\lambda \ge 0`, L2 regularization through the gradient.

    Returns
    -------
    new_w : ndarray, shape and dtype of ``w``
    new_state : AdamState

    Raises
    ------
    ValueError
        ``Invalid learning rate: ...``, ``Invalid epsilon value: ...``,
        ``Invalid beta parameter at index 0: ...`` (or 1), ``Invalid weight_decay value: ...``
        (torch.optim's wording and order).

    See Also
    --------
    torch.optim.Adam : ``Adam([w], lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)``.
    adamw_step : decoupled weight decay.

    Notes
    -----
    Where the gradients are far larger than :math:`\epsilon`, the step of each coordinate is about
    :math:`\eta` times the ratio :math:`\widehat m_t/\sqrt{\widehat v_t}`, at most about 1 in size;
    where they are far smaller, :math:`\epsilon` dominates the denominator and the step shrinks
    towards :math:`\eta\,\widehat m_t/\epsilon`. ``dw * dw`` overflows float32 above about 1.8e19.
    """
    check_step_inputs(w, dw)
    check_lr(lr)
    check_eps(eps)
    check_betas(betas)
    check_weight_decay(weight_decay)
    check_state(state, AdamState, "adam_step", w)
    beta1, beta2 = betas
    g = dw + weight_decay * w if weight_decay != 0 else dw
    if state is None:
        state = AdamState(0, np.zeros_like(w), np.zeros_like(w))
    t = state.step + 1
    m = beta1 * state.exp_avg + (1 - beta1) * g
    v = beta2 * state.exp_avg_sq + (1 - beta2) * (g * g)
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    new_w = w - lr * m_hat / (np.sqrt(v_hat) + eps)
    new_state = AdamState(t, m.astype(w.dtype), v.astype(w.dtype))
    return new_w.astype(w.dtype), new_state


def adamw_step(
    w: FloatArray,
    dw: FloatArray,
    state: AdamState | None = None,
    *,
    lr: LearningRate = 1e-3,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    weight_decay: float = 1e-2,
) -> tuple[FloatArray, AdamState]:
    r"""One step of AdamW (Adam with decoupled weight decay), as ``torch.optim.AdamW``.

    .. math::

        \begin{aligned}
        &\textbf{input: } \text{as } \texttt{adam\_step} \\
        &\theta_{t-1} \leftarrow \theta_{t-1} - \eta \lambda\, \theta_{t-1}
            \qquad \text{(the decay, decoupled from the gradient)} \\
        &m_t, v_t, \widehat{m}_t, \widehat{v}_t \text{ as in Adam, from } g_t \text{ alone} \\
        &\theta_t \leftarrow \theta_{t-1} - \eta\, \widehat{m}_t / \bigl(\sqrt{\widehat{v}_t} + \epsilon\bigr) \\
        &\textbf{return } \theta_t,\ (t, m_t, v_t)
        \end{aligned}

    The weights shrink by the same factor :math:`1 - \eta\lambda` in every coordinate, whatever
    the size of its gradients; in Adam with L2 regularization (:func:`adam_step` with
    ``weight_decay``) the shrinkage passes through the moving averages and is divided by
    :math:`\sqrt{\widehat v_t}`, so coordinates with large gradients are barely decayed
    (Loshchilov and Hutter, 2019).

    Parameters
    ----------
    w, dw, state, lr, betas, eps
        As in :func:`adam_step`.
    weight_decay : float, default 0.01
        :math:`\lambda \ge 0` (PyTorch's default for AdamW).

    Returns
    -------
    new_w : ndarray, shape and dtype of ``w``
    new_state : AdamState

    Raises
    ------
    ValueError
        As :func:`adam_step` (torch.optim's wording).

    See Also
    --------
    torch.optim.AdamW : ``AdamW([w], lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)``.

    Notes
    -----
    Numerically as :func:`adam_step`; the decay factor :math:`1 - \eta\lambda` is negative (the
    weights flip sign) if :math:`\eta\lambda > 1`, a setting no one should use.
    """
    check_step_inputs(w, dw)
    check_lr(lr)
    check_eps(eps)
    check_betas(betas)
    check_weight_decay(weight_decay)
    decayed = (w * (1 - lr * weight_decay)).astype(w.dtype)
    return adam_step(decayed, dw, state, lr=lr, betas=betas, eps=eps)
