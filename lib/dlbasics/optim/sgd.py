r"""Gradient descent, stochastic gradient descent (SGD) and SGD with momentum.

:func:`gradient_descent` (chapter 1) runs a whole trajectory from a gradient function. The step
functions (chapter 4) make one update from a gradient that the caller computed, as
``torch.optim.SGD.step()`` does: ``*_step(w, dw, state=None, *, lr, ...) -> (new_w, new_state)``.
Nothing is updated in place: each function returns new arrays, and a new state.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from dlbasics._typing import FloatArray, check_floating
from dlbasics.optim._checks import (
    LearningRate,
    check_lr,
    check_state,
    check_step_inputs,
    check_weight_decay,
    nonnegative,
)


def gradient_descent(
    grad_fn: Callable[[FloatArray], FloatArray],
    x0: FloatArray,
    lr: float,
    num_steps: int,
) -> FloatArray:
    r"""Plain gradient descent (GD) with a fixed learning rate.

    .. math::

        x_{k+1} = x_k - \eta\, \nabla f(x_k), \qquad k = 0, \dots, \text{num\_steps} - 1,

    with :math:`\eta` = ``lr``.

    Parameters
    ----------
    grad_fn : callable
        Maps a point shaped like ``x0`` to the gradient :math:`\nabla f` there (same shape).
        It receives a fresh array each step; modifying it does not affect the trajectory.
    x0 : ndarray of any shape, float32 or float64
        Starting point; not modified.
    lr : float
        Learning rate :math:`\eta > 0`.
    num_steps : int
        Number of updates, :math:`\ge 0`.

    Returns
    -------
    trajectory : ndarray of shape (num_steps + 1, \*x0.shape), dtype of ``x0``
        ``trajectory[0]`` is ``x0`` and ``trajectory[k]`` is :math:`x_k`.

    Raises
    ------
    ValueError
        If ``lr`` is not positive or ``num_steps`` is negative.

    See Also
    --------
    torch.optim.SGD : with ``momentum=0`` and a full-batch gradient, one ``step()`` is one update here.

    Notes
    -----
    If the learning rate is too large the iterates grow without bound; they are
    returned as computed (eventually ``inf``/``nan``) so divergence can be seen.
    """
    check_floating(x0, "x0")
    if not lr > 0.0:
        raise ValueError(f"Invalid learning rate: {lr}")
    if num_steps < 0:
        raise ValueError(f"Invalid num_steps: {num_steps}")
    traj = np.empty((num_steps + 1,) + x0.shape, dtype=x0.dtype)
    traj[0] = x0
    x = x0.copy()
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(num_steps):
            step = lr * np.asarray(grad_fn(x.copy()))
            x = (x - step).astype(x0.dtype, copy=False)
            traj[k + 1] = x
    return traj


class MomentumState(NamedTuple):
    r"""The state of :func:`momentum_step`: PyTorch's ``state["momentum_buffer"]``.

    Attributes
    ----------
    momentum_buffer : ndarray, shape and dtype of ``w``
        :math:`b_t`, the running sum of past gradients, each weighted by :math:`\mu` per step of age.
    """

    momentum_buffer: FloatArray


def sgd_step(
    w: FloatArray,
    dw: FloatArray,
    state: None = None,
    *,
    lr: LearningRate,
    weight_decay: float = 0.0,
) -> tuple[FloatArray, None]:
    r"""One step of stochastic gradient descent (SGD), as ``torch.optim.SGD`` without momentum.

    .. math::

        \begin{aligned}
        &\textbf{input: } \eta \text{ (lr)},\ \theta_{t-1} \text{ (w)},\ g_t \text{ (dw)},\
            \ \lambda \text{ (weight\_decay)} \\
        &\textbf{if } \lambda \neq 0: \quad g_t \leftarrow g_t + \lambda\, \theta_{t-1} \\
        &\theta_t \leftarrow \theta_{t-1} - \eta\, g_t \\
        &\textbf{return } \theta_t
        \end{aligned}

    ``dw`` is the gradient of the loss at ``w`` on the current mini-batch (or on the whole
    training set: then this is one step of gradient descent).

    Parameters
    ----------
    w : ndarray of any shape, float32 or float64
        The model parameters :math:`\theta_{t-1}`; not modified.
    dw : ndarray, shape of ``w``
        The gradient :math:`g_t = \partial L / \partial w`; not modified.
    state : None
        Plain SGD keeps no state; accepted (and returned) so that every step function has the same
        signature.
    lr : float or ndarray
        The learning rate :math:`\eta \ge 0`. An array that broadcasts against ``w`` runs one
        learning rate per row (vectorized experiments); PyTorch's ``lr`` is a float.
    weight_decay : float, default 0
        :math:`\lambda \ge 0`: adds :math:`\lambda\,\theta` to the gradient, which is the gradient of
        the penalty :math:`\tfrac{\lambda}{2}\lVert\theta\rVert^2` (L2 regularization).

    Returns
    -------
    new_w : ndarray, shape and dtype of ``w``
    new_state : None

    Raises
    ------
    ValueError
        ``Invalid learning rate: ...``, ``Invalid weight_decay value: ...`` (torch.optim's wording),
        or ``dw`` shaped unlike ``w``.

    See Also
    --------
    torch.optim.SGD : ``SGD([w], lr=lr, weight_decay=weight_decay)``; one ``step()`` is one call.
    momentum_step : SGD with momentum.

    Notes
    -----
    No division, no exponential: nothing can overflow except by divergence (a learning rate too
    large for the curvature), which is returned as computed.
    """
    check_step_inputs(w, dw)
    check_lr(lr)
    check_weight_decay(weight_decay)
    if state is not None:
        raise TypeError(
            f"sgd_step keeps no state: pass None, got {type(state).__name__}"
        )
    g = dw + weight_decay * w if weight_decay != 0 else dw
    new_w = w - lr * g
    return new_w.astype(w.dtype), None


def momentum_step(
    w: FloatArray,
    dw: FloatArray,
    state: MomentumState | None = None,
    *,
    lr: LearningRate,
    momentum: float = 0.9,
    nesterov: bool = False,
    weight_decay: float = 0.0,
) -> tuple[FloatArray, MomentumState]:
    r"""One step of SGD with momentum (or Nesterov momentum), as ``torch.optim.SGD`` with dampening 0.

    .. math::

        \begin{aligned}
        &\textbf{input: } \eta \text{ (lr)},\ \mu \text{ (momentum)},\ \theta_{t-1} \text{ (w)},\
            \ g_t \text{ (dw)},\ \lambda \text{ (weight\_decay)},\ \textit{nesterov} \\
        &\textbf{if } \lambda \neq 0: \quad g_t \leftarrow g_t + \lambda\, \theta_{t-1} \\
        &\textbf{if } t > 1: \quad b_t \leftarrow \mu\, b_{t-1} + g_t
            \qquad \textbf{else: } \quad b_t \leftarrow g_t \\
        &\textbf{if } \textit{nesterov}: \quad d_t \leftarrow g_t + \mu\, b_t
            \qquad \textbf{else: } \quad d_t \leftarrow b_t \\
        &\theta_t \leftarrow \theta_{t-1} - \eta\, d_t \\
        &\textbf{return } \theta_t,\ b_t
        \end{aligned}

    This is PyTorch's form: the buffer :math:`b` sums gradients and the learning rate multiplies
    it at every step. Sutskever et al. (2013) keep a velocity
    :math:`v_t = \mu v_{t-1} + \eta_t g_t` that already contains the learning rate and step by
    :math:`\theta_t = \theta_{t-1} - v_t`. With a constant :math:`\eta` the iterates are the same
    (:math:`v_t = \eta\, b_t`); when a schedule changes :math:`\eta`, they differ, because
    PyTorch rescales the gradients of the past by the new learning rate and Sutskever's form does not.
    With ``nesterov=True`` the iterates are the look-ahead points
    :math:`\theta + \mu v` of Sutskever's Nesterov accelerated gradient (chapter 4 derives it).

    Parameters
    ----------
    w : ndarray of any shape, float32 or float64
        The model parameters :math:`\theta_{t-1}`; not modified.
    dw : ndarray, shape of ``w``
        The gradient :math:`g_t` at ``w``; not modified.
    state : MomentumState or None
        None on the first call (the buffer starts as the first gradient, as in PyTorch, not as 0);
        afterwards the state returned by the previous call. Not modified.
    lr : float or ndarray
        The learning rate :math:`\eta \ge 0` (an array broadcasting against ``w``: one per row).
    momentum : float, default 0.9
        :math:`\mu \ge 0`. (PyTorch's ``SGD`` defaults to 0, plain SGD; this function *is* the
        momentum variant, so its default is the common choice 0.9.)
    nesterov : bool, default False
        Use Nesterov momentum (needs ``momentum > 0``).
    weight_decay : float, default 0
        :math:`\lambda \ge 0`, added to the gradient as :math:`\lambda\theta` (L2 regularization).

    Returns
    -------
    new_w : ndarray, shape and dtype of ``w``
    new_state : MomentumState
        A new buffer; the one passed in is not modified.

    Raises
    ------
    ValueError
        ``Invalid learning rate: ...``, ``Invalid momentum value: ...``,
        ``Invalid weight_decay value: ...``, ``Nesterov momentum requires a momentum and zero
        dampening`` (torch.optim's wording).

    See Also
    --------
    torch.optim.SGD : ``SGD([w], lr=lr, momentum=momentum, nesterov=nesterov,
        weight_decay=weight_decay)`` (dampening 0).

    Notes
    -----
    The buffer grows like :math:`1/(1-\mu)` times a constant gradient (10 times for
    :math:`\mu = 0.9`), so the largest stable learning rate is smaller than plain SGD's.
    """
    check_step_inputs(w, dw)
    check_lr(lr)
    if not nonnegative(momentum):
        raise ValueError(f"Invalid momentum value: {momentum}")
    check_weight_decay(weight_decay)
    if nesterov and not momentum > 0:
        raise ValueError(
            "Nesterov momentum requires a momentum and zero dampening"
        )
    check_state(state, MomentumState, "momentum_step", w)
    g = dw + weight_decay * w if weight_decay != 0 else dw
    if state is None:
        buf = g.astype(w.dtype)  # a copy: never an alias of dw
    else:
        buf = (momentum * state.momentum_buffer + g).astype(w.dtype)
    d = g + momentum * buf if nesterov else buf
    new_w = w - lr * d
    return new_w.astype(w.dtype), MomentumState(buf)
