"""Argument checks shared by the step functions, with ``torch.optim``'s error messages."""

from __future__ import annotations

from typing import Any

import numpy as np

from dlbasics._typing import FloatArray, check_floating

LearningRate = float | FloatArray
"""A learning rate: a float, or an array that broadcasts against ``w`` (one learning rate per
row, say, to run several learning rates in one vectorized call)."""


def check_step_inputs(w: FloatArray, dw: FloatArray) -> None:
    """``w`` and ``dw`` are floating arrays of the same shape."""
    check_floating(w, "w")
    check_floating(dw, "dw")
    if dw.shape != w.shape:
        raise ValueError(
            f"dw must have the shape of w, {w.shape}, got {dw.shape}"
        )


def check_state(state: Any, kind: type, name: str, w: FloatArray) -> None:
    """``state`` is None or a ``kind`` whose arrays have the shape of ``w``."""
    if state is None:
        return
    if not isinstance(state, kind):
        raise TypeError(
            f"state must be None or a {kind.__name__}, got {type(state).__name__} "
            f"(pass back the state that {name} returned)"
        )
    named: Any = state  # a NamedTuple of the step function's module
    for field, value in zip(named._fields, named):
        if isinstance(value, np.ndarray) and value.shape != w.shape:
            raise ValueError(
                f"state.{field} has shape {value.shape}, but w has shape {w.shape}"
            )


def nonnegative(value: Any) -> bool:
    """``0 <= value`` (everywhere, for an array); False for NaN, as ``not 0.0 <= value`` in torch.optim."""
    if isinstance(value, (int, float)):
        return 0.0 <= value
    return bool(np.all(np.asarray(value) >= 0.0))


def check_lr(lr: LearningRate) -> None:
    if not nonnegative(lr):
        raise ValueError(f"Invalid learning rate: {lr}")


def check_eps(eps: float) -> None:
    if not nonnegative(eps):
        raise ValueError(f"Invalid epsilon value: {eps}")


def check_weight_decay(weight_decay: float) -> None:
    if not nonnegative(weight_decay):
        raise ValueError(f"Invalid weight_decay value: {weight_decay}")


def check_betas(betas: tuple[float, float]) -> None:
    for i, beta in enumerate(betas):
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"Invalid beta parameter at index {i}: {beta}")
