r"""Optimizers: gradient descent and its variants, learning-rate schedules, and a carrier of states.

Everything is importable from here (``from dlbasics.optim import adam_step``):

- :func:`gradient_descent` (chapter 1): a whole trajectory of full-batch gradient descent;
- the step functions (chapter 4), one update each, as the ``step()`` of the matching
  ``torch.optim`` optimizer: :func:`sgd_step`, :func:`momentum_step` (``torch.optim.SGD``),
  :func:`adagrad_step`, :func:`rmsprop_step`, :func:`adam_step`, :func:`adamw_step`. Each is
  ``*_step(w, dw, state=None, *, lr, ...) -> (new_w, new_state)``: ``state`` is None on the first
  call, never modified, and a new one is returned (a NamedTuple with PyTorch's names);
- learning-rate schedules as functions of the update number (:mod:`dlbasics.optim.schedules`);
- :class:`Optimizer`, which carries one state per parameter array through a training loop
  (``dlbasics.training.fit`` accepts one).
"""

from dlbasics.optim.adaptive import (
    AdagradState,
    AdamState,
    RMSpropState,
    adagrad_step,
    adam_step,
    adamw_step,
    rmsprop_step,
)
from dlbasics.optim.optimizer import Optimizer
from dlbasics.optim.schedules import (
    cosine_annealing_lr,
    linear_lr,
    step_lr,
    warmup_cosine_lr,
)
from dlbasics.optim.sgd import (
    MomentumState,
    gradient_descent,
    momentum_step,
    sgd_step,
)

__all__ = [
    "AdagradState",
    "AdamState",
    "MomentumState",
    "Optimizer",
    "RMSpropState",
    "adagrad_step",
    "adam_step",
    "adamw_step",
    "cosine_annealing_lr",
    "gradient_descent",
    "linear_lr",
    "momentum_step",
    "rmsprop_step",
    "sgd_step",
    "step_lr",
    "warmup_cosine_lr",
]
