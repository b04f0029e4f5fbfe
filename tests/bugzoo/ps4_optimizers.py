"""Known-wrong answers to ps4_optimizers, each of which must lose exactly the named test cells.

A bug is applied to the reference answer of one solution cell (``cell`` is its grade_id), with the
``### BEGIN/END SOLUTION`` lines removed, by replacing the first occurrence of ``old`` with ``new``.
``loses`` is the exact set of autograded test cells that must then score less than full points, and
the failure message of each of them names ``misconception`` (an id of
``dlbasics.checks.misconceptions.ps4_optimizers``). ``ALTERNATIVES`` are correct answers written
differently from the reference: they must keep full marks.

How the cells separate the mistakes: the first-step and several-steps tests run with ``eps=0`` (so
where epsilon goes cannot matter there), the epsilon tests with gradients of the size of epsilon and
no memory (Adagrad's first steps, RMSProp with ``alpha=0``, Adam with ``betas=(0, 0)``: averages,
sums and bias corrections cannot matter there), the edge tests compare no values (only dtypes,
unchanged inputs and states, and gradients that are all 0), and each comparison with PyTorch runs
those regimes in that order. So a wrong epsilon loses the epsilon and PyTorch tests, a missing bias
correction the first-step, several-steps and PyTorch tests, and a state updated in place the edge
test only (its iterates are right). The reference answers keep the state in a dict (plain data,
which the edge tests compare bit for bit); ``adam_namedtuple_state`` keeps it in an object of the
student's own class, which stays in the kernel when grading, and is checked by making a step again
from an old state.
"""

from __future__ import annotations

from tests.bugzoo import Bug


def _tests(group: str, *kinds: str) -> frozenset[str]:
    return frozenset(f"test_{group}_{kind}" for kind in kinds)


ADAM_ALL = ("first_step", "steps", "eps", "edge", "torch")

BUGS: list[Bug] = [
    # SGD
    Bug(
        name="sgd_updates_w_in_place",
        cell="sgd",
        old="    new_w = w - lr * g\n    return new_w, None",
        new="    w -= lr * g\n    return w, None",
        loses=_tests("sgd", "edge"),
        why="w -= lr * g overwrites the caller's parameters; the returned values are right",
        misconception="modifies_input",
    ),
    Bug(
        name="sgd_weight_decay_doubled",
        cell="sgd",
        old="    g = dw + weight_decay * w if weight_decay != 0 else dw\n",
        new="    g = dw + 2 * weight_decay * w if weight_decay != 0 else dw\n",
        loses=_tests("sgd", "values", "torch"),
        why="the derivative of lambda/2 |w|^2 is lambda w; 2 lambda w is the derivative of lambda |w|^2",
        misconception="weight_decay_l2",
    ),
    # momentum
    Bug(
        name="momentum_with_dampening",
        cell="momentum",
        old='        buf = momentum * state["momentum_buffer"] + g\n',
        new='        buf = momentum * state["momentum_buffer"] + (1 - momentum) * g\n',
        loses=_tests("momentum", "steps", "nesterov", "torch"),
        why="an average (dampening = momentum) instead of PyTorch's sum (dampening 0); the first step is still right",
        misconception="momentum_sum",
    ),
    Bug(
        name="nesterov_ignored",
        cell="momentum",
        old="    d = g + momentum * buf if nesterov else buf\n",
        new="    d = buf\n",
        loses=_tests("momentum", "nesterov", "torch"),
        why="nesterov=True makes plain momentum steps: the look-ahead g + momentum * b is missing",
        misconception="nesterov_step",
    ),
    Bug(
        name="momentum_sutskever_velocity",
        cell="momentum",
        old="""    if state is None:
        buf = g.copy()
    else:
        buf = momentum * state["momentum_buffer"] + g
    d = g + momentum * buf if nesterov else buf
    new_w = w - lr * d
    return new_w, {"momentum_buffer": buf}""",
        new="""    v = lr * g if state is None else momentum * state["velocity"] + lr * g
    d = lr * g + momentum * v if nesterov else v
    new_w = w - d
    return new_w, {"velocity": v}""",
        loses=_tests("momentum", "steps", "torch"),
        why="Sutskever's velocity keeps past gradients at their old learning rates: right only while lr is constant",
        misconception="momentum_pytorch_form",
    ),
    # Adagrad
    Bug(
        name="adagrad_no_accumulation",
        cell="adagrad",
        old='    g_sum = dw * dw if state is None else state["sum"] + dw * dw\n',
        new="    g_sum = dw * dw\n",
        loses=_tests("adagrad", "steps", "torch"),
        why="dividing by the current gradient's size alone is sign descent, not Adagrad; every first step is right",
        misconception="adagrad_sum",
    ),
    Bug(
        name="adagrad_eps_inside_sqrt",
        cell="adagrad",
        old="np.sqrt(g_sum) + eps",
        new="np.sqrt(g_sum + eps)",
        loses=_tests("adagrad", "eps", "torch"),
        why="sqrt(G + eps) is about sqrt(eps) = 1e-5 where the gradients are as small as eps = 1e-10",
        misconception="eps_placement",
    ),
    # RMSProp
    Bug(
        name="rmsprop_square_not_average",
        cell="rmsprop",
        old='    v = (1 - alpha) * dw * dw if state is None else alpha * state["square_avg"] + (1 - alpha) * dw * dw\n',
        new="    v = dw * dw\n",
        loses=_tests("rmsprop", "first_step", "steps", "torch"),
        why="the last squared gradient instead of its moving average: alpha is ignored",
        misconception="rmsprop_average",
    ),
    Bug(
        name="rmsprop_bias_corrected",
        cell="rmsprop",
        old="""    new_w = w - lr * dw / (np.sqrt(v) + eps)
    return new_w, {"square_avg": v}""",
        new="""    t = 1 if state is None else state["step"] + 1
    v_hat = v / (1 - alpha**t)
    new_w = w - lr * dw / (np.sqrt(v_hat) + eps)
    return new_w, {"step": t, "square_avg": v}""",
        loses=_tests("rmsprop", "first_step", "steps", "torch"),
        why="Adam's bias correction borrowed for RMSProp, which PyTorch does not correct: the first steps are too short",
        misconception="rmsprop_average",
    ),
    # Adam
    Bug(
        name="adam_no_bias_correction",
        cell="adam",
        old="    m_hat = m / (1 - beta1**t)\n    v_hat = v / (1 - beta2**t)\n",
        new="    m_hat = m\n    v_hat = v\n",
        loses=_tests("adam", "first_step", "steps", "torch"),
        why="without the correction the first step is (1 - beta1) / sqrt(1 - beta2), about 3.16 times too long",
        misconception="adam_bias_correction",
    ),
    Bug(
        name="adam_step_count_off_by_one",
        cell="adam",
        old='        state = {"step": 0, ',
        new='        state = {"step": 1, ',
        loses=_tests("adam", "first_step", "steps", "torch"),
        why="counting from 1 before the first update makes t = 2 on the first call: the correction divides by too much",
        misconception="adam_bias_correction",
    ),
    Bug(
        name="adam_eps_inside_sqrt",
        cell="adam",
        old="(np.sqrt(v_hat) + eps)",
        new="np.sqrt(v_hat + eps)",
        loses=_tests("adam", "eps", "torch"),
        why="sqrt(v_hat + eps) is about 1e-4 where the gradients are as small as eps = 1e-8: the steps shrink",
        misconception="eps_placement",
    ),
    Bug(
        name="adam_state_updated_in_place",
        cell="adam",
        old="""    m = beta1 * state["exp_avg"] + (1 - beta1) * g
    v = beta2 * state["exp_avg_sq"] + (1 - beta2) * g * g
""",
        new="""    m, v = state["exp_avg"], state["exp_avg_sq"]
    m *= beta1
    m += (1 - beta1) * g
    v *= beta2
    v += (1 - beta2) * g * g
""",
        loses=_tests("adam", "edge"),
        why="the averages are updated in the arrays of the state passed in: the iterates are right, the old state is gone",
        misconception="modifies_state",
    ),
    Bug(
        name="adam_float64_scalar",
        cell="adam",
        old="""    v_hat = v / (1 - beta2**t)
    new_w = w - lr * m_hat / (np.sqrt(v_hat) + eps)""",
        new="""    new_w = w - lr * m_hat / (np.sqrt(v) / np.sqrt(1 - beta2**t) + eps)""",
        loses=_tests("adam", "edge"),
        why="np.sqrt of a Python float is a NumPy float64 scalar, which promotes float32 arrays to float64",
        misconception="keeps_dtype",
    ),
    Bug(
        name="adam_calls_torch",
        cell="adam",
        old="    beta1, beta2 = betas\n",
        new="    import torch\n    beta1, beta2 = betas\n",
        loses=_tests("adam", *ADAM_ALL),
        why="handing the graded work to PyTorch earns no points (call_student detects the torch import)",
        misconception="uses_reference",
    ),
    # AdamW
    Bug(
        name="adamw_as_adam_with_l2",
        cell="adamw",
        old="""    m = beta1 * state["exp_avg"] + (1 - beta1) * dw
    v = beta2 * state["exp_avg_sq"] + (1 - beta2) * dw * dw
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    decayed = w * (1 - lr * weight_decay)
""",
        new="""    g = dw + weight_decay * w
    m = beta1 * state["exp_avg"] + (1 - beta1) * g
    v = beta2 * state["exp_avg_sq"] + (1 - beta2) * g * g
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    decayed = w
""",
        loses=_tests("adamw", "first_step", "steps", "torch"),
        why="Adam with L2 regularization: the decay goes through the averages and is divided by sqrt(v_hat)",
        misconception="adamw_decoupled",
    ),
    Bug(
        name="adamw_decay_after_the_step",
        cell="adamw",
        old="""    decayed = w * (1 - lr * weight_decay)
    new_w = decayed - lr * m_hat / (np.sqrt(v_hat) + eps)""",
        new="""    new_w = (w - lr * m_hat / (np.sqrt(v_hat) + eps)) * (1 - lr * weight_decay)""",
        loses=_tests("adamw", "first_step", "steps", "torch"),
        why="decaying after the Adam step also shrinks the update, by lr * weight_decay times itself",
        misconception="adamw_decoupled",
    ),
]

# Correct answers written differently from the reference: each must keep full marks.
ALTERNATIVES: list[Bug] = [
    Bug(
        name="sgd_copy_then_subtract",
        cell="sgd",
        old="""    g = dw + weight_decay * w if weight_decay != 0 else dw
    new_w = w - lr * g
    return new_w, None""",
        new="""    new_w = w.copy()
    new_w -= lr * (dw + weight_decay * w)
    return new_w, None""",
        loses=frozenset(),
        why="the update made in place on a copy of w, with the decay always added (0 * w when there is none)",
    ),
    Bug(
        name="momentum_buffer_as_the_state",
        cell="momentum",
        old="""    g = dw + weight_decay * w if weight_decay != 0 else dw
    if state is None:
        buf = g.copy()
    else:
        buf = momentum * state["momentum_buffer"] + g
    d = g + momentum * buf if nesterov else buf
    new_w = w - lr * d
    return new_w, {"momentum_buffer": buf}""",
        new="""    if weight_decay:
        dw = dw + weight_decay * w
    buf = np.array(dw) if state is None else state * momentum + dw
    if nesterov:
        return w - lr * (dw + momentum * buf), buf
    return w - lr * buf, buf""",
        loses=frozenset(),
        why="the state is the buffer array itself, and the Nesterov step is written out in a branch",
    ),
    Bug(
        name="adagrad_list_state",
        cell="adagrad",
        old="""    g_sum = dw * dw if state is None else state["sum"] + dw * dw
    new_w = w - lr * dw / (np.sqrt(g_sum) + eps)
    return new_w, {"sum": g_sum}""",
        new="""    acc = np.square(dw) if state is None else state[0] + np.square(dw)
    return w - lr * (dw / (np.sqrt(acc) + eps)), [acc]""",
        loses=frozenset(),
        why="a list as the state, np.square, and the learning rate applied to the ratio",
    ),
    Bug(
        name="rmsprop_lerp_tuple_state",
        cell="rmsprop",
        old="""    v = (1 - alpha) * dw * dw if state is None else alpha * state["square_avg"] + (1 - alpha) * dw * dw
    new_w = w - lr * dw / (np.sqrt(v) + eps)
    return new_w, {"square_avg": v}""",
        new="""    v_prev = np.zeros_like(w) if state is None else state[0]
    v = v_prev + (1 - alpha) * (dw * dw - v_prev)
    return w - lr * dw / (np.sqrt(v) + eps), (v,)""",
        loses=frozenset(),
        why="the moving average written as a step towards the new value (a lerp), and a tuple as the state",
    ),
    Bug(
        name="adam_namedtuple_state",
        cell="adam",
        old="def adam_step(w, dw, state=None, *, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):",
        new='''import math
from typing import NamedTuple


class AdamState(NamedTuple):
    step: int
    exp_avg: np.ndarray
    exp_avg_sq: np.ndarray


def adam_step(w, dw, state=None, *, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    """PyTorch's own arrangement of the arithmetic, with a state of my own class."""
    beta1, beta2 = betas
    if weight_decay:
        dw = dw + weight_decay * w
    if state is None:
        state = AdamState(0, np.zeros_like(w), np.zeros_like(w))
    step = state.step + 1
    exp_avg = state.exp_avg + (1 - beta1) * (dw - state.exp_avg)
    exp_avg_sq = beta2 * state.exp_avg_sq + (1 - beta2) * dw * dw
    step_size = lr / (1 - beta1**step)
    denom = np.sqrt(exp_avg_sq) / math.sqrt(1 - beta2**step) + eps
    return w - step_size * exp_avg / denom, AdamState(step, exp_avg, exp_avg_sq)


def _adam_step_with_a_dict(w, dw, state=None, *, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):''',
        loses=frozenset(),
        why="a NamedTuple of the student's own (a handle when grading) and torch's arithmetic: lerp, step size, "
        "denominator",
    ),
    Bug(
        name="adamw_through_adam_step",
        cell="adamw",
        old="""    beta1, beta2 = betas
    if state is None:
        state = {"step": 0, "exp_avg": np.zeros_like(w), "exp_avg_sq": np.zeros_like(w)}
    t = state["step"] + 1
    m = beta1 * state["exp_avg"] + (1 - beta1) * dw
    v = beta2 * state["exp_avg_sq"] + (1 - beta2) * dw * dw
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    decayed = w * (1 - lr * weight_decay)
    new_w = decayed - lr * m_hat / (np.sqrt(v_hat) + eps)
    return new_w, {"step": t, "exp_avg": m, "exp_avg_sq": v}""",
        new="""    decayed = (1 - lr * weight_decay) * w
    return adam_step(decayed, dw, state, lr=lr, betas=betas, eps=eps)""",
        loses=frozenset(),
        why="the decay, then the student's own adam_step without weight decay",
    ),
]
