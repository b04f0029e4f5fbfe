r"""Learning-rate schedules: the learning rate as a plain function of the step.

Each function returns the learning rate of update number ``t`` (``t = 0`` for the first update),
the value ``optimizer.param_groups[0]["lr"]`` has during that update when the matching
``torch.optim.lr_scheduler`` is stepped once after every ``optimizer.step()``. PyTorch updates the
rate recursively, multiplying the previous one; these are closed forms, equal up to rounding.

To use one with :class:`dlbasics.optim.Optimizer`, bind the hyperparameters::

    Optimizer(adam_step, lr=lambda t: cosine_annealing_lr(t, lr=1e-2, t_max=1000))
"""

from __future__ import annotations

import math


def _check_t(t: int) -> None:
    if t < 0:
        raise ValueError(f"Invalid step: {t} (the first update is t = 0)")


def step_lr(t: int, *, lr: float, step_size: int, gamma: float = 0.1) -> float:
    r"""Step decay: multiply the learning rate by ``gamma`` every ``step_size`` updates.

    .. math::

        \eta_t = \eta_0 \cdot \text{gamma}^{\lfloor t / \text{step\_size} \rfloor}

    Parameters
    ----------
    t : int
        The update, :math:`t \ge 0`.
    lr : float
        The initial learning rate :math:`\eta_0`.
    step_size : int
        Updates between two decays, :math:`\ge 1`.
    gamma : float, default 0.1
        The factor applied at each decay.

    Returns
    -------
    float
        The learning rate of update ``t``.

    See Also
    --------
    torch.optim.lr_scheduler.StepLR : ``StepLR(optimizer, step_size, gamma)``.

    Notes
    -----
    A closed form; PyTorch multiplies the previous rate by ``gamma`` at each decay. Both agree to
    rounding.
    """
    _check_t(t)
    if step_size < 1:
        raise ValueError(f"Invalid step_size: {step_size}")
    return lr * gamma ** (t // step_size)


def cosine_annealing_lr(
    t: int, *, lr: float, t_max: int, eta_min: float = 0.0
) -> float:
    r"""Cosine annealing: from ``lr`` down to ``eta_min`` along half a cosine over ``t_max`` updates.

    .. math::

        \eta_t = \eta_{\min} + \tfrac12 (\eta_0 - \eta_{\min})
        \Bigl(1 + \cos\bigl(\pi\, t / T_{\max}\bigr)\Bigr)

    Parameters
    ----------
    t : int
        The update, :math:`t \ge 0`. After ``t_max`` the rate rises again (the cosine goes on), as
        in PyTorch; train for ``t_max`` updates.
    lr : float
        The initial (largest) learning rate :math:`\eta_0`.
    t_max : int
        :math:`T_{\max} \ge 1`, the update at which the rate reaches ``eta_min`` (PyTorch's ``T_max``).
    eta_min : float, default 0
        The final (smallest) learning rate.

    Returns
    -------
    float

    See Also
    --------
    torch.optim.lr_scheduler.CosineAnnealingLR : ``CosineAnnealingLR(optimizer, T_max, eta_min)``.

    Notes
    -----
    Loshchilov and Hutter (2017) restart the cosine periodically ("SGDR"); this is one period
    without restarts. PyTorch computes the same values recursively (ratios of consecutive
    cosines); the closed form avoids accumulating rounding.
    """
    _check_t(t)
    if t_max < 1:
        raise ValueError(f"Invalid t_max: {t_max}")
    return eta_min + (lr - eta_min) * (1 + math.cos(math.pi * t / t_max)) / 2


def linear_lr(
    t: int,
    *,
    lr: float,
    start_factor: float = 1.0 / 3,
    end_factor: float = 1.0,
    total_iters: int = 5,
) -> float:
    r"""Linear warm-up (or decay): the factor goes linearly from ``start_factor`` to ``end_factor``.

    .. math::

        \eta_t = \eta_0 \Bigl(f_{\text{start}} + (f_{\text{end}} - f_{\text{start}})\,
        \frac{\min(t, T)}{T}\Bigr), \qquad T = \text{total\_iters}

    With ``start_factor < end_factor = 1`` this is the usual warm-up: small steps for the first
    ``total_iters`` updates, then ``lr``.

    Parameters
    ----------
    t : int
        The update, :math:`t \ge 0`.
    lr : float
        The base learning rate :math:`\eta_0`.
    start_factor : float, default 1/3
        In :math:`(0, 1]`.
    end_factor : float, default 1
        In :math:`[0, 1]`.
    total_iters : int, default 5
        :math:`T \ge 1`, the update from which the factor stays at ``end_factor``.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        With PyTorch's messages for the factors.

    See Also
    --------
    torch.optim.lr_scheduler.LinearLR : ``LinearLR(optimizer, start_factor, end_factor, total_iters)``.
    """
    _check_t(t)
    if not 0 < start_factor <= 1:
        raise ValueError(
            "Starting multiplicative factor expected to be greater than 0 and less or equal to 1."
        )
    if not 0 <= end_factor <= 1:
        raise ValueError(
            "Ending multiplicative factor expected to be between 0 and 1."
        )
    if total_iters < 1:
        raise ValueError(f"Invalid total_iters: {total_iters}")
    return lr * (
        start_factor
        + (end_factor - start_factor) * min(t, total_iters) / total_iters
    )


def warmup_cosine_lr(
    t: int,
    *,
    lr: float,
    warmup_steps: int,
    total_steps: int,
    start_factor: float = 0.1,
    eta_min: float = 0.0,
) -> float:
    r"""Linear warm-up for ``warmup_steps`` updates, then cosine annealing until ``total_steps``.

    .. math::

        \eta_t =
        \begin{cases}
        \eta_0 \bigl(f + (1 - f)\, t / W\bigr) & t < W \\
        \eta_{\min} + \tfrac12 (\eta_0 - \eta_{\min})\bigl(1 + \cos(\pi\, (t - W) / (T - W))\bigr) & t \ge W
        \end{cases}

    with :math:`f` = ``start_factor``, :math:`W` = ``warmup_steps`` and :math:`T` = ``total_steps``.

    Parameters
    ----------
    t : int
        The update, :math:`t \ge 0`.
    lr : float
        The peak learning rate :math:`\eta_0`, reached at update ``warmup_steps``.
    warmup_steps : int
        :math:`W \ge 1`.
    total_steps : int
        :math:`T > W`: the rate reaches ``eta_min`` at update ``total_steps``.
    start_factor : float, default 0.1
        The first update uses ``start_factor * lr``; in :math:`(0, 1]`.
    eta_min : float, default 0
        The final learning rate.

    Returns
    -------
    float

    See Also
    --------
    torch.optim.lr_scheduler.SequentialLR : ``SequentialLR(optimizer, [LinearLR(optimizer,
        start_factor, total_iters=W), CosineAnnealingLR(optimizer, T - W, eta_min)], milestones=[W])``.
    """
    _check_t(t)
    if warmup_steps < 1:
        raise ValueError(f"Invalid warmup_steps: {warmup_steps}")
    if total_steps <= warmup_steps:
        raise ValueError(
            f"total_steps must exceed warmup_steps, got {total_steps} <= {warmup_steps}"
        )
    if t < warmup_steps:
        return linear_lr(
            t,
            lr=lr,
            start_factor=start_factor,
            end_factor=1.0,
            total_iters=warmup_steps,
        )
    return cosine_annealing_lr(
        t - warmup_steps,
        lr=lr,
        t_max=total_steps - warmup_steps,
        eta_min=eta_min,
    )
