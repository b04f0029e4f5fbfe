r"""An immutable optimizer for a training loop: one step function, one state per parameter array.

The step functions update one array. A model has several (``{"w1": ..., "b1": ..., ...}``), each
with its own state. :class:`Optimizer` carries those states between steps, the way a
``torch.optim`` optimizer keeps ``optimizer.state``, but without mutation: ``update`` returns the
new parameters *and* a new optimizer, and the old one still describes the state before the step.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

import numpy as np

from dlbasics._typing import FloatArray

StepFunction = Callable[..., tuple[FloatArray, Any]]
"""``step(w, dw, state, *, lr, **hyperparameters) -> (new_w, new_state)``, e.g. ``adam_step``."""

Schedule = Callable[[int], float]
"""``schedule(t) -> learning rate of update t`` (``t = 0`` for the first update)."""


class Optimizer:
    r"""An immutable carrier of per-parameter optimizer states.

    .. math::

        (\theta_t^{(k)}, s_t^{(k)}) = \text{step}\bigl(\theta_{t-1}^{(k)},\, g_t^{(k)},\, s_{t-1}^{(k)};\
        \eta_t, \text{hyperparameters}\bigr) \quad \text{for every parameter array } k,

    with :math:`s_0^{(k)} = \text{None}` and :math:`\eta_t` the learning rate (a constant, or a
    schedule evaluated at the number of updates made so far).

    Parameters
    ----------
    step : callable
        A step function of :mod:`dlbasics.optim`, e.g. :func:`~dlbasics.optim.adam_step`.
    lr : float or callable
        The learning rate, or a schedule ``lr(t) -> float`` called with ``t`` = the number of
        updates made so far (0 for the first), e.g.
        ``lambda t: cosine_annealing_lr(t, lr=0.1, t_max=100)``.
    **hyperparameters
        Passed to ``step`` at every update (``betas=(0.9, 0.99)``, ``momentum=0.9``, ...).

    Attributes
    ----------
    step, lr, hyperparameters
        As given (``hyperparameters`` is a read-only mapping).
    states : Mapping[str, Any]
        The state of each parameter array, by name; empty before the first update.
    num_updates : int
        Updates made so far.

    Raises
    ------
    ValueError
        At construction, if ``step`` rejects the hyperparameters (the same message as
        ``torch.optim``'s constructor), or if ``update`` gets parameters and gradients with
        different names.

    See Also
    --------
    torch.optim.Optimizer : ``opt.step()`` mutates the parameters and ``opt.state``; here
        ``params, opt = opt.update(params, grads)`` returns new ones.

    Examples
    --------
    >>> import numpy as np
    >>> from dlbasics.optim import Optimizer, adam_step
    >>> opt = Optimizer(adam_step, lr=0.1)
    >>> params = {"w": np.array([1.0, -2.0])}
    >>> params, opt = opt.update(params, {"w": 2 * params["w"]})
    >>> params["w"], opt.num_updates, opt.states["w"].step
    (array([ 0.9, -1.9]), 1, 1)

    Notes
    -----
    Numerically the step function's own behaviour; the optimizer adds only bookkeeping.
    """

    __slots__ = ("step", "lr", "hyperparameters", "states", "num_updates")

    step: StepFunction
    lr: float | Schedule
    hyperparameters: Mapping[str, Any]
    states: Mapping[str, Any]
    num_updates: int

    def __init__(
        self,
        step: StepFunction,
        *,
        lr: float | Schedule,
        **hyperparameters: Any,
    ) -> None:
        # fail now, as torch.optim's constructors do, rather than at the first update
        first_lr = lr(0) if callable(lr) else lr
        step(np.zeros(1), np.ones(1), None, lr=first_lr, **hyperparameters)
        self._set(step, lr, dict(hyperparameters), {}, 0)

    def _set(
        self,
        step: StepFunction,
        lr: float | Schedule,
        hyperparameters: dict[str, Any],
        states: dict[str, Any],
        num_updates: int,
    ) -> None:
        object.__setattr__(self, "step", step)
        object.__setattr__(self, "lr", lr)
        object.__setattr__(
            self, "hyperparameters", MappingProxyType(hyperparameters)
        )
        object.__setattr__(self, "states", MappingProxyType(states))
        object.__setattr__(self, "num_updates", num_updates)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(
            f"Optimizer is immutable: cannot set {name!r} (update() returns a new optimizer)"
        )

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"Optimizer is immutable: cannot delete {name!r}")

    def current_lr(self) -> float:
        """The learning rate the next update will use."""
        return (
            float(self.lr(self.num_updates))
            if callable(self.lr)
            else float(self.lr)
        )

    def update(
        self, params: Mapping[str, FloatArray], grads: Mapping[str, FloatArray]
    ) -> tuple[dict[str, FloatArray], Optimizer]:
        r"""One update of every parameter array.

        Parameters
        ----------
        params : Mapping[str, ndarray]
            The model parameters by name; not modified.
        grads : Mapping[str, ndarray]
            The gradient of the loss for each, same names and shapes; not modified.

        Returns
        -------
        new_params : dict[str, ndarray]
            The updated arrays (new arrays), in the order of ``params``.
        new_optimizer : Optimizer
            This optimizer after the update: new states, ``num_updates + 1``. ``self`` is unchanged.
        """
        if set(params) != set(grads):
            raise ValueError(
                f"params and grads must have the same names, got {sorted(params)} and {sorted(grads)}"
            )
        lr = self.current_lr()
        new_params: dict[str, FloatArray] = {}
        new_states: dict[str, Any] = {}
        for name, w in params.items():
            new_params[name], new_states[name] = self.step(
                w,
                grads[name],
                self.states.get(name),
                lr=lr,
                **self.hyperparameters,
            )
        new = object.__new__(Optimizer)
        new._set(
            self.step,
            self.lr,
            dict(self.hyperparameters),
            new_states,
            self.num_updates + 1,
        )
        return new_params, new

    def __repr__(self) -> str:
        hp = "".join(f", {k}={v!r}" for k, v in self.hyperparameters.items())
        name = getattr(self.step, "__name__", repr(self.step))
        return f"Optimizer({name}, lr={self.lr!r}{hp}; {self.num_updates} updates)"
