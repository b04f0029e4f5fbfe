r"""Optimizers: gradient descent and, in later chapters, its variants.

Nothing is updated in place: each function returns new arrays.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from dlbasics._typing import FloatArray, check_floating


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
