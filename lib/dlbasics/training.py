r"""A small, functional training loop and a mini-batch iterator.

The loop knows nothing about networks: it is handed a function that returns the
loss and the gradients for a batch, and either a function that updates the model
parameters from the gradients or a :class:`dlbasics.optim.Optimizer`, which also
carries its states (momentum buffers, moving averages) from step to step.
Chapters plug in their own models and optimizers.

.. math::

    \theta \leftarrow \text{update}\bigl(\theta, \nabla_\theta L(\theta; x_B, y_B)\bigr)
    \quad \text{for every mini-batch } B \text{ of every epoch.}
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TypeVar, cast

import numpy as np

from dlbasics._typing import FloatArray
from dlbasics.optim import Optimizer

P = TypeVar("P")
"""The model parameters: any structure, e.g. ``dict[str, ndarray]``."""
G = TypeVar("G")
"""The gradients: usually the same structure as the model parameters."""


@dataclass
class History:
    """What :func:`fit` records.

    ``train_loss[k]`` is the mini-batch loss of step ``k`` (before that step's update)
    and ``step_time[k]`` the wall-clock seconds since the start of training at the end of
    step ``k``. The per-epoch lists have one entry per epoch, measured after the epoch's
    last update; ``val_loss`` and ``train_eval_loss`` stay empty when no function is given.
    Evaluation time is *not* counted in ``step_time``. When ``fit`` was given an
    :class:`~dlbasics.optim.Optimizer`, ``optimizer`` is that optimizer after the last
    update (its states and update count), so training can be continued; otherwise None.
    """

    train_loss: list[float] = field(default_factory=list)
    step_time: list[float] = field(default_factory=list)
    epoch_end_step: list[int] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    train_eval_loss: list[float] = field(default_factory=list)
    optimizer: Optimizer | None = None


def iterate_minibatches(
    x: FloatArray,
    y: FloatArray,
    batch_size: int,
    rng: np.random.Generator | None = None,
    shuffle: bool = True,
) -> Iterator[tuple[FloatArray, FloatArray]]:
    r"""Yield the mini-batches of one epoch: every example exactly once.

    Parameters
    ----------
    x : ndarray of shape (N, ...)
    y : ndarray of shape (N, ...)
    batch_size : int
        Rows per batch; the last batch is smaller when ``batch_size`` does not divide
        :math:`N` (as PyTorch's ``DataLoader`` with ``drop_last=False``).
    rng : numpy.random.Generator, optional
        Draws the order of the examples; required when ``shuffle`` is true.
    shuffle : bool, default True
        Visit the examples in a new random order (a fresh permutation per call).

    Yields
    ------
    xb : ndarray of shape (B, ...)
    yb : ndarray of shape (B, ...)

    See Also
    --------
    torch.utils.data.DataLoader
    """
    n = x.shape[0]
    if y.shape[0] != n:
        raise ValueError(
            f"x and y must have the same number of rows, got {n} and {y.shape[0]}"
        )
    if batch_size < 1:
        raise ValueError(f"Invalid batch_size: {batch_size}")
    if shuffle:
        if rng is None:
            raise ValueError("shuffle=True needs an rng")
        order = rng.permutation(n)
    else:
        order = np.arange(n)
    for start in range(0, n, batch_size):
        idx = order[start : start + batch_size]
        yield x[idx], y[idx]


def fit(
    params: P,
    loss_and_grads: Callable[[P, FloatArray, FloatArray], tuple[float, G]],
    update: Callable[[P, G], P] | Optimizer,
    batches: Callable[[], Iterable[tuple[FloatArray, FloatArray]]],
    num_epochs: int,
    *,
    val_fn: Callable[[P], float] | None = None,
    train_eval_fn: Callable[[P], float] | None = None,
) -> tuple[P, History]:
    r"""Train for ``num_epochs`` epochs and record the losses.

    Parameters
    ----------
    params : P
        Initial model parameters; passed to ``update``, which should return new ones
        (the loop never modifies anything itself). With an ``Optimizer``, a mapping from
        names to arrays, e.g. ``{"w1": ..., "b1": ...}``.
    loss_and_grads : callable
        ``loss_and_grads(params, xb, yb) -> (loss, grads)`` for one mini-batch.
    update : callable or Optimizer
        Either a plain function ``update(params, grads) -> params``, e.g.
        ``lambda p, g: {k: p[k] - lr * g[k] for k in p}`` (it must keep no state of its own), or
        an :class:`~dlbasics.optim.Optimizer`, e.g. ``Optimizer(adam_step, lr=1e-3)``: then each
        step is ``params, optimizer = optimizer.update(params, grads)``, and the new optimizer
        (with its new states) is the one used at the next step.
    batches : callable
        Called once per epoch, returns that epoch's mini-batches, e.g.
        ``lambda: iterate_minibatches(x, y, 32, rng)``; ``lambda: [(x, y)]`` is full-batch GD.
    num_epochs : int
        Passes over the data.
    val_fn : callable, optional
        ``val_fn(params) -> float``: the validation loss, evaluated after every epoch.
    train_eval_fn : callable, optional
        ``train_eval_fn(params) -> float``: the loss on the whole training set after every epoch.

    Returns
    -------
    params : P
        The model parameters after the last update.
    history : History
        ``history.optimizer`` is the final optimizer when ``update`` is an ``Optimizer``.

    See Also
    --------
    torch.optim.Optimizer.step : what ``update`` does in PyTorch.
    """
    if num_epochs < 0:
        raise ValueError(f"Invalid num_epochs: {num_epochs}")
    hist = History()
    elapsed = 0.0
    for _ in range(num_epochs):
        for xb, yb in batches():
            t0 = time.perf_counter()
            loss, grads = loss_and_grads(params, xb, yb)
            if isinstance(update, Optimizer):
                # the new optimizer (its new states) is used at the next step
                p = cast(dict[str, FloatArray], params)
                g = cast(dict[str, FloatArray], grads)
                new_params, update = update.update(p, g)
                params = cast(P, new_params)
            else:
                params = update(params, grads)
            elapsed += time.perf_counter() - t0
            hist.train_loss.append(float(loss))
            hist.step_time.append(elapsed)
        hist.epoch_end_step.append(len(hist.train_loss))
        if val_fn is not None:
            hist.val_loss.append(float(val_fn(params)))
        if train_eval_fn is not None:
            hist.train_eval_loss.append(float(train_eval_fn(params)))
    hist.optimizer = update if isinstance(update, Optimizer) else None
    return params, hist
