"""dlbasics.optim: gradient descent (chapter 1); the step functions, the learning-rate schedules and
the Optimizer (chapter 4).

An optimizer has no backward pass, so of the three layers of tests only two apply: parity with
``torch.optim`` in float64 (every iterate and every state, over many steps, on several objectives,
including gradients tiny enough that the placement of epsilon matters) and properties (closed forms
on simple gradient sequences, dtype and shape kept, inputs and states never modified, torch.optim's
error messages)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from dlbasics.gradcheck import numerical_gradient, rel_error
from dlbasics.optim import gradient_descent
from tests.strategies import float_arrays


@pytest.mark.parametrize("lr", [0.01, 0.1, 0.45, 0.9, 1.1])
def test_gradient_descent_on_a_quadratic_matches_the_closed_form(lr: float) -> None:
    # f(x) = a/2 x^2 has gradient a x, so x_k = (1 - lr a)^k x0: converges iff lr < 2/a
    a, x0, k = 2.0, np.array([1.5, -0.3]), 30
    traj = gradient_descent(lambda x: a * x, x0, lr, k)
    expected = (1 - lr * a) ** np.arange(k + 1)[:, None] * x0
    assert traj.shape == (k + 1, 2), f"trajectory shape {traj.shape}, expected {(k + 1, 2)}"
    assert np.array_equal(traj[0], x0), "the first row of the trajectory must be x0"
    assert rel_error(traj, expected) <= 1e-12, f"lr={lr}: trajectory differs from (1 - lr*a)^k x0"


def test_gradient_descent_matches_torch_sgd() -> None:
    rng = np.random.default_rng(0)
    m = rng.standard_normal((3, 3))
    a = m @ m.T + np.eye(3)
    x0 = rng.standard_normal(3)
    traj = gradient_descent(lambda x: a @ x, x0, 0.05, 20)
    t = torch.tensor(x0, requires_grad=True)
    opt = torch.optim.SGD([t], lr=0.05)
    for k in range(20):
        opt.zero_grad()
        (0.5 * t @ torch.tensor(a) @ t).backward()
        opt.step()
        err = rel_error(traj[k + 1], t.detach().numpy())
        assert err <= 1e-10, f"step {k + 1}: differs from torch.optim.SGD by {err:.3g}"


def test_gradient_descent_divergence_is_visible() -> None:
    traj = gradient_descent(lambda x: 2.0 * x, np.array([1.0]), 1.5, 10)  # factor 1 - 3 = -2 per step
    assert np.abs(traj[-1, 0]) == 2.0**10, "with lr > 2/a the iterates must grow as |1 - lr a|^k"


def test_gradient_descent_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="learning rate"):
        gradient_descent(lambda x: x, np.ones(1), 0.0, 3)
    with pytest.raises(ValueError, match="num_steps"):
        gradient_descent(lambda x: x, np.ones(1), 0.1, -1)


def test_gradient_descent_zero_steps_and_grad_fn_cannot_corrupt_the_trajectory() -> None:
    x0 = np.array([1.0, 2.0])
    assert np.array_equal(gradient_descent(lambda x: x, x0, 0.1, 0), x0[None]), "0 steps: trajectory is [x0]"

    def nasty(x: np.ndarray) -> np.ndarray:
        g = x.copy()
        x[:] = 99.0  # modifying the argument must not change the iterate
        return g

    traj = gradient_descent(nasty, x0, 0.5, 3)
    assert rel_error(traj[-1], x0 * 0.5**3) <= 1e-15, "grad_fn modifying its argument changed the trajectory"


@settings(max_examples=30, deadline=None)
@given(x0=float_arrays(bound=10.0), num_steps=st.integers(0, 5))
def test_gradient_descent_properties(x0: np.ndarray, num_steps: int) -> None:
    before = x0.copy()
    traj = gradient_descent(lambda x: x, x0, 0.1, num_steps)
    assert traj.shape == (num_steps + 1, *x0.shape), "trajectory must have shape (num_steps + 1, *x0.shape)"
    assert traj.dtype == x0.dtype, f"dtype {traj.dtype}, expected {x0.dtype}"
    assert np.array_equal(x0, before), "gradient_descent must not modify x0"


def test_numerical_gradient_restores_x_bitwise_and_matches_analytic() -> None:
    rng = np.random.default_rng(7)
    x = rng.standard_normal((3, 4))
    before = x.tobytes()

    def f(z: np.ndarray) -> float:
        return float(np.sum(np.sin(z) * z**2))

    num = numerical_gradient(f, x)
    assert x.tobytes() == before, "numerical_gradient must restore x bit for bit"
    analytic = np.cos(x) * x**2 + 2 * x * np.sin(x)
    assert rel_error(num, analytic) <= 1e-7, f"numerical vs analytic gradient {rel_error(num, analytic):.3g}"


# ================================================================================ chapter 4: steps
import zlib  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

from dlbasics.optim import (  # noqa: E402
    AdamState,
    MomentumState,
    adagrad_step,
    adam_step,
    adamw_step,
    momentum_step,
    rmsprop_step,
    sgd_step,
)

# (id, our step function, torch optimizer class, keyword arguments shared by both)
CONFIGS: list[tuple[str, Callable[..., Any], type, dict[str, Any]]] = [
    ("sgd", sgd_step, torch.optim.SGD, {"lr": 0.01}),
    ("sgd_wd", sgd_step, torch.optim.SGD, {"lr": 0.01, "weight_decay": 0.1}),
    ("momentum", momentum_step, torch.optim.SGD, {"lr": 0.01, "momentum": 0.9}),
    ("momentum_0.5_wd", momentum_step, torch.optim.SGD, {"lr": 0.02, "momentum": 0.5, "weight_decay": 0.05}),
    ("nesterov", momentum_step, torch.optim.SGD, {"lr": 0.01, "momentum": 0.9, "nesterov": True}),
    (
        "nesterov_wd",
        momentum_step,
        torch.optim.SGD,
        {"lr": 0.01, "momentum": 0.8, "nesterov": True, "weight_decay": 0.1},
    ),
    ("adagrad", adagrad_step, torch.optim.Adagrad, {"lr": 0.1}),
    ("adagrad_eps", adagrad_step, torch.optim.Adagrad, {"lr": 0.05, "eps": 1e-3}),
    ("rmsprop", rmsprop_step, torch.optim.RMSprop, {"lr": 0.01}),
    ("rmsprop_0.9", rmsprop_step, torch.optim.RMSprop, {"lr": 0.005, "alpha": 0.9, "eps": 1e-6}),
    ("adam", adam_step, torch.optim.Adam, {"lr": 0.01}),
    ("adam_betas_wd", adam_step, torch.optim.Adam, {"lr": 0.02, "betas": (0.8, 0.99), "weight_decay": 0.1}),
    ("adamw", adamw_step, torch.optim.AdamW, {"lr": 0.01}),
    ("adamw_0.3", adamw_step, torch.optim.AdamW, {"lr": 0.01, "weight_decay": 0.3, "eps": 1e-6}),
]
CONFIG_IDS = [c[0] for c in CONFIGS]
# our state field -> the name torch.optim keeps it under in optimizer.state[param]
TORCH_STATE = {
    "momentum_buffer": "momentum_buffer",
    "sum": "sum",
    "square_avg": "square_avg",
    "step": "step",
    "exp_avg": "exp_avg",
    "exp_avg_sq": "exp_avg_sq",
}


def _quadratic(rng: np.random.Generator, shape: tuple[int, ...]) -> Callable[[np.ndarray], np.ndarray]:
    # an ill-conditioned quadratic 1/2 w.A.w - b.w over the flattened w (eigenvalues 0.01 .. 10)
    n = int(np.prod(shape))
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    a = q @ np.diag(np.geomspace(0.01, 10.0, n)) @ q.T
    b = rng.standard_normal(n)
    return lambda w: (a @ w.ravel() - b).reshape(w.shape)


def _rosenbrock(rng: np.random.Generator, shape: tuple[int, ...]) -> Callable[[np.ndarray], np.ndarray]:
    # the Rosenbrock function summed over consecutive pairs of the flattened w
    def grad(w: np.ndarray) -> np.ndarray:
        x = w.ravel()
        g = np.zeros_like(x)
        g[:-1] += -400.0 * x[:-1] * (x[1:] - x[:-1] ** 2) - 2.0 * (1.0 - x[:-1])
        g[1:] += 200.0 * (x[1:] - x[:-1] ** 2)
        return g.reshape(w.shape)

    return grad


def _quartic(rng: np.random.Generator, shape: tuple[int, ...]) -> Callable[[np.ndarray], np.ndarray]:
    # sum (w_i^2 - 1)^2 / 4 + c.w: a double well in every coordinate, tilted
    c = 0.3 * rng.standard_normal(shape)
    return lambda w: w * (w**2 - 1.0) + c


def _noise(rng: np.random.Generator, shape: tuple[int, ...]) -> Callable[[np.ndarray], np.ndarray]:
    # gradients that do not depend on w at all: a sequence of random draws of varying size
    return lambda w: rng.standard_normal(shape) * 10.0 ** rng.uniform(-3, 1)


def _tiny(rng: np.random.Generator, shape: tuple[int, ...]) -> Callable[[np.ndarray], np.ndarray]:
    # gradients of size ~1e-9, comparable to the epsilons: where eps is added changes the step
    grad = _quadratic(rng, shape)
    return lambda w: 1e-9 * grad(w)


OBJECTIVES = {"quadratic": _quadratic, "rosenbrock": _rosenbrock, "quartic": _quartic, "noise": _noise, "tiny": _tiny}


def _run_ours(
    step: Callable[..., Any], w0: np.ndarray, grad: Callable[[np.ndarray], np.ndarray], n: int, kw: dict[str, Any]
) -> tuple[list[np.ndarray], list[np.ndarray], Any]:
    w, state, iterates, grads = w0, None, [w0], []
    for _ in range(n):
        g = grad(w)
        grads.append(g)
        w, state = step(w, g, state, **kw)
        iterates.append(w)
    return iterates, grads, state


def _run_torch(cls: type, w0: np.ndarray, grads: list[np.ndarray], kw: dict[str, Any]) -> tuple[list[np.ndarray], Any]:
    # torch is fed the gradients our run computed, so the two runs see the same sequence
    t = torch.tensor(w0, dtype=torch.float64, requires_grad=True)
    opt = cls([t], **kw)
    iterates = [w0]
    for g in grads:
        t.grad = torch.tensor(g, dtype=torch.float64)
        opt.step()
        iterates.append(t.detach().numpy().copy())
    return iterates, opt.state[t]


@pytest.mark.parametrize("objective", list(OBJECTIVES))
@pytest.mark.parametrize("name,step,cls,kw", CONFIGS, ids=CONFIG_IDS)
def test_step_iterates_and_state_match_torch_optim(
    name: str, step: Any, cls: type, kw: dict[str, Any], objective: str
) -> None:
    rng = np.random.default_rng(zlib.crc32(f"{name}/{objective}".encode()))  # seeded per case
    shape = (2, 3)
    w0 = rng.uniform(-1.5, 1.5, shape)
    grad = OBJECTIVES[objective](rng, shape)
    if objective == "rosenbrock":
        kw = {**kw, "lr": kw["lr"] * 0.01}  # Rosenbrock's curvature is ~1000: keep SGD stable
    n = 80
    ours, grads, state = _run_ours(step, w0, grad, n, kw)
    theirs, t_state = _run_torch(cls, w0, grads, kw)
    assert np.all(np.isfinite(ours[-1])), f"{name} on {objective}: the test run diverged; pick a smaller lr"
    for k in range(n + 1):
        err = rel_error(ours[k], theirs[k])
        assert err <= 1e-10, f"{name} on {objective}: iterate {k} differs from torch.optim.{cls.__name__} by {err:.3g}"
    if state is not None:
        for field_name, value in zip(state._fields, state):
            expected = t_state[TORCH_STATE[field_name]]
            expected = expected.item() if expected.ndim == 0 else expected.numpy()
            err = rel_error(np.asarray(value, dtype=np.float64), np.asarray(expected, dtype=np.float64))
            assert err <= 1e-10, f"{name} on {objective}: state.{field_name} differs from torch's by {err:.3g}"


def test_moving_epsilon_would_be_caught() -> None:
    # The parity test above is sensitive to where epsilon goes: with gradients of 1e-9, putting
    # Adam's eps inside the square root (a common mistake) changes the first step by far more than
    # the 1e-10 tolerance, while adam_step matches torch.optim.Adam.
    w0, g = np.array([1.0, -2.0]), np.array([3e-9, -1e-9])
    lr, eps = 0.1, 1e-8
    ours, _ = adam_step(w0, g, None, lr=lr, eps=eps)
    (_, theirs), _ = _run_torch(torch.optim.Adam, w0, [g], {"lr": lr, "eps": eps})
    inside = w0 - lr * g / np.sqrt(g**2 + eps)  # m_hat = g and v_hat = g^2 on the first step
    assert rel_error(ours, theirs) <= 1e-15, "adam_step must add eps after the square root, as PyTorch"
    assert rel_error(inside, theirs) > 1e-9, "eps inside the square root should have been detectable"


# ------------------------------------------------------------------------------- closed forms
def test_sgd_step_closed_form() -> None:
    w, dw = np.array([1.0, -2.0, 0.5]), np.array([0.3, 0.1, -4.0])
    new_w, state = sgd_step(w, dw, lr=0.1, weight_decay=0.5)
    assert state is None, "plain SGD keeps no state"
    np.testing.assert_allclose(new_w, w - 0.1 * (dw + 0.5 * w), rtol=1e-15, err_msg="w - lr (dw + wd w)")


@pytest.mark.parametrize("momentum", [0.0, 0.5, 0.9])
def test_momentum_buffer_on_a_constant_gradient(momentum: float) -> None:
    # b_1 = g and b_t = mu b_{t-1} + g, so b_t = g (1 + mu + ... + mu^(t-1)) (= g for mu = 0)
    g, w, state = np.array([2.0, -1.0]), np.zeros(2), None
    for t in range(1, 31):
        w, state = momentum_step(w, g, state, lr=0.1, momentum=momentum)
        expected = g * sum(momentum**k for k in range(t))
        np.testing.assert_allclose(
            state.momentum_buffer, expected, rtol=1e-13, err_msg=f"step {t}: buffer should be g (1 - mu^t) / (1 - mu)"
        )


def test_nesterov_first_step_uses_the_look_ahead_gradient() -> None:
    # first step: b_1 = g, d = g + mu b_1 = (1 + mu) g
    w, g = np.array([1.0, 2.0]), np.array([0.5, -0.25])
    new_w, _ = momentum_step(w, g, None, lr=0.1, momentum=0.9, nesterov=True)
    np.testing.assert_allclose(new_w, w - 0.1 * 1.9 * g, rtol=1e-15, err_msg="Nesterov's first step is lr (1 + mu) g")


def test_adagrad_step_shrinks_like_one_over_sqrt_t() -> None:
    # constant gradient g: G_t = t g^2, step t = lr g / (sqrt(t) |g| + eps)
    g, lr, eps = np.array([0.5, -3.0]), 0.2, 1e-10
    w, state = np.zeros(2), None
    for t in range(1, 51):
        new_w, state = adagrad_step(w, g, state, lr=lr, eps=eps)
        np.testing.assert_allclose(
            w - new_w,
            lr * g / (np.sqrt(t) * np.abs(g) + eps),
            rtol=1e-12,
            err_msg=f"Adagrad step {t} should be lr g / (sqrt(t) |g| + eps)",
        )
        w = new_w


def test_rmsprop_first_step_is_larger_than_lr() -> None:
    # v_1 = (1 - alpha) g^2: the first step is lr / sqrt(1 - alpha) per unit sign, 10 lr for alpha 0.99
    g = np.array([1e-3, -50.0])
    new_w, state = rmsprop_step(np.zeros(2), g, None, lr=0.01, alpha=0.99, eps=0.0)
    np.testing.assert_allclose(
        -new_w,
        0.01 * np.sign(g) / np.sqrt(0.01),
        rtol=1e-12,
        err_msg="RMSProp's first step without bias correction is lr / sqrt(1 - alpha)",
    )
    np.testing.assert_allclose(state.square_avg, 0.01 * g**2, rtol=1e-15)


def test_adam_bias_correction_on_a_constant_gradient() -> None:
    # m_hat = g and v_hat = g^2 exactly in exact arithmetic, so every step is lr g / (|g| + eps)
    g, lr = np.array([4.0, -0.01]), 0.05
    w, state = np.zeros(2), None
    for t in range(1, 101):
        new_w, state = adam_step(w, g, state, lr=lr)
        np.testing.assert_allclose(
            w - new_w,
            lr * g / (np.abs(g) + 1e-8),
            rtol=1e-10,
            err_msg=f"step {t}: did the bias correction use beta**t with t = {t}?",
        )
        w = new_w
    assert state.step == 100, "AdamState.step counts the updates"


def test_adamw_equals_adam_on_the_decayed_weights() -> None:
    rng = np.random.default_rng(3)
    w, g = rng.standard_normal(5), rng.standard_normal(5)
    lr, wd = 0.01, 0.2
    ours, s1 = adamw_step(w, g, None, lr=lr, weight_decay=wd)
    ref, s2 = adam_step(w * (1 - lr * wd), g, None, lr=lr)
    np.testing.assert_array_equal(ours, ref, err_msg="AdamW = decay by (1 - lr wd), then Adam without decay")
    l2, _ = adam_step(w, g, None, lr=lr, weight_decay=wd)
    assert rel_error(l2, ours) > 1e-4, "Adam with L2 (weight_decay in adam_step) must differ from AdamW"


# ------------------------------------------------------------------------------- properties
STEP_FUNCTIONS = [
    (sgd_step, {"lr": 0.1}),
    (momentum_step, {"lr": 0.1}),
    (momentum_step, {"lr": 0.1, "nesterov": True, "weight_decay": 0.1}),
    (adagrad_step, {}),
    (rmsprop_step, {}),
    (adam_step, {"weight_decay": 0.1}),
    (adamw_step, {}),
]
STEP_IDS = ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw"]


@pytest.mark.parametrize("step,kw", STEP_FUNCTIONS, ids=STEP_IDS)
@settings(max_examples=25, deadline=None)
@given(w=float_arrays(bound=100.0), seed=st.integers(0, 2**16))
def test_step_keeps_dtype_shape_and_never_modifies_its_inputs(
    step: Any, kw: dict[str, Any], w: np.ndarray, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    dw = (rng.standard_normal(w.shape) * 10).astype(w.dtype)
    w_before, dw_before = w.tobytes(), dw.tobytes()
    w1, state1 = step(w, dw, None, **kw)
    assert w1.shape == w.shape and w1.dtype == w.dtype, f"new_w: {w1.shape} {w1.dtype}, expected {w.shape} {w.dtype}"
    assert w.tobytes() == w_before and dw.tobytes() == dw_before, "the step modified w or dw"
    assert not np.shares_memory(w1, w), "new_w must be a new array"
    if state1 is None:
        return
    for value in state1:
        if isinstance(value, np.ndarray):
            assert value.shape == w.shape and value.dtype == w.dtype, "state arrays take w's shape and dtype"
            assert not np.shares_memory(value, dw) and not np.shares_memory(value, w), "state aliases an input"
    snapshot = [v.tobytes() if isinstance(v, np.ndarray) else v for v in state1]
    w2, state2 = step(w1, dw, state1, **kw)
    after = [v.tobytes() if isinstance(v, np.ndarray) else v for v in state1]
    assert after == snapshot, "the state passed in was modified; return a new one"
    assert state2 is not state1 and w2.dtype == w.dtype


@pytest.mark.parametrize(
    "step,kw",
    [c for c in STEP_FUNCTIONS if "weight_decay" not in c[1]],
    ids=[i for i, c in zip(STEP_IDS, STEP_FUNCTIONS) if "weight_decay" not in c[1]],
)
@settings(max_examples=20, deadline=None)
@given(w=float_arrays(bound=100.0))
def test_zero_gradient_leaves_w_unchanged(step: Any, kw: dict[str, Any], w: np.ndarray) -> None:
    if step is adamw_step:
        kw = {**kw, "weight_decay": 0.0}
    new_w, _ = step(w, np.zeros_like(w), None, **kw)
    np.testing.assert_array_equal(new_w, w, err_msg="a zero gradient (and no weight decay) must not move w")


@settings(max_examples=40, deadline=None)
@given(w=float_arrays(bound=10.0), lr=st.floats(1e-4, 1.0), seed=st.integers(0, 2**16), scale=st.integers(-9, 6))
def test_adam_first_step_is_at_most_lr(w: np.ndarray, lr: float, seed: int, scale: int) -> None:
    # first step: |m_hat / (sqrt(v_hat) + eps)| = |g| / (|g| + eps) < 1, whatever the gradient's scale
    dw = (np.random.default_rng(seed).standard_normal(w.shape) * 10.0**scale).astype(w.dtype)
    new_w, _ = adam_step(w, dw, None, lr=lr)
    tol = 1e-6 if w.dtype == np.float32 else 1e-12
    assert np.all(np.abs(new_w.astype(np.float64) - w) <= lr * (1 + tol) + tol * np.abs(w)), (
        "Adam's first step must not exceed lr in any coordinate"
    )


def test_lr_may_be_an_array_one_per_row() -> None:
    w, g = np.ones((3, 2)), np.full((3, 2), 2.0)
    lrs = np.array([[0.1], [0.2], [0.0]])
    new_w, state = adam_step(w, g, None, lr=lrs)
    for i in range(3):
        row, _ = adam_step(w[i], g[i], None, lr=float(lrs[i, 0]))
        np.testing.assert_array_equal(new_w[i], row, err_msg="row i with lr[i] must equal a run with that lr")


def test_state_of_the_wrong_kind_or_shape_is_rejected() -> None:
    w = np.zeros(3)
    with pytest.raises(TypeError, match="AdamState"):
        adam_step(w, w, MomentumState(np.zeros(3)))
    with pytest.raises(ValueError, match="exp_avg"):
        adam_step(w, w, AdamState(1, np.zeros(4), np.zeros(3)))
    with pytest.raises(ValueError, match="shape"):
        sgd_step(w, np.zeros(4), lr=0.1)
    with pytest.raises(TypeError, match="floating"):
        rmsprop_step(np.zeros(3, dtype=int), w)


# torch's own messages are the expected ones: the constructor is called with the same bad argument
BAD_ARGUMENTS: list[tuple[Callable[..., Any], type, dict[str, Any]]] = [
    (sgd_step, torch.optim.SGD, {"lr": -0.1}),
    (sgd_step, torch.optim.SGD, {"lr": 0.1, "weight_decay": -1.0}),
    (momentum_step, torch.optim.SGD, {"lr": -1.0, "momentum": 0.9}),
    (momentum_step, torch.optim.SGD, {"lr": 0.1, "momentum": -0.5}),
    (momentum_step, torch.optim.SGD, {"lr": 0.1, "momentum": 0.0, "nesterov": True}),
    (momentum_step, torch.optim.SGD, {"lr": 0.1, "momentum": 0.9, "weight_decay": -0.1}),
    (adagrad_step, torch.optim.Adagrad, {"lr": -0.01}),
    (adagrad_step, torch.optim.Adagrad, {"lr": 0.01, "eps": -1e-10}),
    (rmsprop_step, torch.optim.RMSprop, {"lr": -0.01}),
    (rmsprop_step, torch.optim.RMSprop, {"lr": 0.01, "eps": -1.0}),
    (rmsprop_step, torch.optim.RMSprop, {"lr": 0.01, "alpha": -0.9}),
    (adam_step, torch.optim.Adam, {"lr": -1e-3}),
    (adam_step, torch.optim.Adam, {"lr": 1e-3, "eps": -1e-8}),
    (adam_step, torch.optim.Adam, {"lr": 1e-3, "betas": (1.0, 0.999)}),
    (adam_step, torch.optim.Adam, {"lr": 1e-3, "betas": (0.9, -0.1)}),
    (adam_step, torch.optim.Adam, {"lr": 1e-3, "weight_decay": -0.01}),
    (adamw_step, torch.optim.AdamW, {"lr": 1e-3, "betas": (0.9, 1.5)}),
    (adamw_step, torch.optim.AdamW, {"lr": 1e-3, "weight_decay": -0.01}),
    (adamw_step, torch.optim.AdamW, {"lr": -1e-3, "weight_decay": -0.01}),  # the first check wins
]


@pytest.mark.parametrize(
    "step,cls,kw", BAD_ARGUMENTS, ids=[f"{s.__name__}-{sorted(k.items())}" for s, _, k in BAD_ARGUMENTS]
)
def test_bad_arguments_raise_torch_optims_message(step: Any, cls: type, kw: dict[str, Any]) -> None:
    with pytest.raises(ValueError) as theirs:
        cls([torch.zeros(2, requires_grad=True)], **kw)
    with pytest.raises(ValueError) as ours:
        step(np.zeros(2), np.ones(2), None, **kw)
    assert str(ours.value) == str(theirs.value), f"message {str(ours.value)!r}, torch.optim says {str(theirs.value)!r}"


# ============================================================================ chapter 4: schedules
import warnings  # noqa: E402

from dlbasics.optim import (  # noqa: E402
    Optimizer,
    cosine_annealing_lr,
    linear_lr,
    step_lr,
    warmup_cosine_lr,
)


def _torch_lrs(make: Callable[[torch.optim.Optimizer], Any], lr: float, n: int) -> list[float]:
    """The learning rate of each of n updates when the scheduler is stepped after every update."""
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "scheduler.step() before optimizer.step()" does not apply
        sched = make(opt)
        out = []
        for _ in range(n):
            out.append(float(opt.param_groups[0]["lr"]))
            opt.step()
            sched.step()
    return out


def _assert_schedule(ours: list[float], theirs: list[float], what: str) -> None:
    for t, (a, b) in enumerate(zip(ours, theirs)):
        assert abs(a - b) <= 1e-12 * max(abs(b), 1e-300) + 1e-15 * max(map(abs, theirs)), (
            f"{what}: learning rate of update {t} is {a!r}, torch.optim.lr_scheduler gives {b!r}"
        )


@settings(max_examples=25, deadline=None)
@given(lr=st.floats(1e-4, 1.0), step_size=st.integers(1, 20), gamma=st.floats(0.05, 1.0))
def test_step_lr_matches_torch(lr: float, step_size: int, gamma: float) -> None:
    n = 3 * step_size + 5
    theirs = _torch_lrs(lambda o: torch.optim.lr_scheduler.StepLR(o, step_size, gamma), lr, n)
    _assert_schedule([step_lr(t, lr=lr, step_size=step_size, gamma=gamma) for t in range(n)], theirs, "step_lr")


@settings(max_examples=25, deadline=None)
@given(lr=st.floats(1e-4, 1.0), t_max=st.integers(1, 60), eta_frac=st.sampled_from([0.0, 0.01, 0.5]))
def test_cosine_annealing_lr_matches_torch(lr: float, t_max: int, eta_frac: float) -> None:
    eta_min = eta_frac * lr
    n = 2 * t_max + 3  # past t_max the cosine rises again, in both
    theirs = _torch_lrs(lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, t_max, eta_min), lr, n)
    ours = [cosine_annealing_lr(t, lr=lr, t_max=t_max, eta_min=eta_min) for t in range(n)]
    _assert_schedule(ours, theirs, "cosine_annealing_lr")
    assert ours[0] == lr and abs(ours[t_max] - eta_min) <= 1e-15, "starts at lr and reaches eta_min at t_max"


@settings(max_examples=25, deadline=None)
@given(lr=st.floats(1e-4, 1.0), start=st.floats(0.01, 1.0), end=st.floats(0.0, 1.0), total=st.integers(1, 30))
def test_linear_lr_matches_torch(lr: float, start: float, end: float, total: int) -> None:
    n = total + 5
    theirs = _torch_lrs(lambda o: torch.optim.lr_scheduler.LinearLR(o, start, end, total), lr, n)
    ours = [linear_lr(t, lr=lr, start_factor=start, end_factor=end, total_iters=total) for t in range(n)]
    _assert_schedule(ours, theirs, "linear_lr")


@settings(max_examples=15, deadline=None)
@given(lr=st.floats(1e-3, 1.0), warmup=st.integers(1, 10), extra=st.integers(1, 40), start=st.floats(0.01, 1.0))
def test_warmup_cosine_lr_matches_torch_sequential_lr(lr: float, warmup: int, extra: int, start: float) -> None:
    total, n = warmup + extra, warmup + extra + 1
    S = torch.optim.lr_scheduler

    def make(o: torch.optim.Optimizer) -> Any:
        return S.SequentialLR(
            o, [S.LinearLR(o, start, 1.0, warmup), S.CosineAnnealingLR(o, extra, 0.0)], milestones=[warmup]
        )

    theirs = _torch_lrs(make, lr, n)
    ours = [warmup_cosine_lr(t, lr=lr, warmup_steps=warmup, total_steps=total, start_factor=start) for t in range(n)]
    _assert_schedule(ours, theirs, "warmup_cosine_lr")


def test_schedules_reject_bad_arguments() -> None:
    with pytest.raises(ValueError, match="Starting multiplicative factor"):
        linear_lr(0, lr=0.1, start_factor=0.0)
    with pytest.raises(ValueError, match="Ending multiplicative factor"):
        linear_lr(0, lr=0.1, end_factor=1.5)
    with pytest.raises(ValueError, match="step_size"):
        step_lr(3, lr=0.1, step_size=0)
    with pytest.raises(ValueError, match="t_max"):
        cosine_annealing_lr(3, lr=0.1, t_max=0)
    with pytest.raises(ValueError, match="Invalid step"):
        step_lr(-1, lr=0.1, step_size=2)
    with pytest.raises(ValueError, match="total_steps"):
        warmup_cosine_lr(0, lr=0.1, warmup_steps=5, total_steps=5)


# ============================================================================ chapter 4: Optimizer
def _params(rng: np.random.Generator) -> dict[str, np.ndarray]:
    return {"w": rng.standard_normal((3, 2)), "b": rng.standard_normal(2)}


def _grads(p: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {"w": 2.0 * p["w"] - 1.0, "b": np.sin(p["b"])}


def test_optimizer_equals_a_hand_written_loop_and_leaves_the_old_one_intact() -> None:
    params = _params(np.random.default_rng(0))
    opt0 = Optimizer(adam_step, lr=0.05, betas=(0.8, 0.99))
    p, opt = params, opt0
    hand = {k: (v, None) for k, v in params.items()}
    for _ in range(30):
        p, opt = opt.update(p, _grads(p))
        hand = {
            k: adam_step(w, _grads({kk: vv[0] for kk, vv in hand.items()})[k], s, lr=0.05, betas=(0.8, 0.99))
            for k, (w, s) in hand.items()
        }
    for k in params:
        np.testing.assert_array_equal(p[k], hand[k][0], err_msg=f"{k}: Optimizer.update differs from adam_step")
        ours, theirs = opt.states[k], hand[k][1]
        assert (
            ours.step == theirs.step
            and np.array_equal(ours.exp_avg, theirs.exp_avg)
            and np.array_equal(ours.exp_avg_sq, theirs.exp_avg_sq)
        ), f"{k}: the carried state differs from the hand-written loop's"
    assert opt.num_updates == 30 and opt0.num_updates == 0 and not opt0.states, "the first optimizer must not change"


def test_optimizer_matches_torch_sgd_with_momentum_and_a_step_schedule() -> None:
    # PyTorch's momentum form with a changing learning rate: the schedule is applied by the Optimizer
    rng = np.random.default_rng(1)
    params = _params(rng)
    opt = Optimizer(momentum_step, lr=lambda t: step_lr(t, lr=0.1, step_size=7, gamma=0.5), momentum=0.9, nesterov=True)
    tensors = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    t_opt = torch.optim.SGD(list(tensors.values()), lr=0.1, momentum=0.9, nesterov=True)
    sched = torch.optim.lr_scheduler.StepLR(t_opt, step_size=7, gamma=0.5)
    p = params
    for step in range(40):
        g = _grads(p)
        assert opt.current_lr() == t_opt.param_groups[0]["lr"], f"update {step}: learning rate differs"
        p, opt = opt.update(p, g)
        for k, t in tensors.items():
            t.grad = torch.tensor(g[k])
        t_opt.step()
        sched.step()
        for k, t in tensors.items():
            err = rel_error(p[k], t.detach().numpy())
            assert err <= 1e-10, f"update {step}, {k}: differs from torch.optim.SGD + StepLR by {err:.3g}"


def test_optimizer_is_immutable_and_validates_like_torch() -> None:
    opt = Optimizer(sgd_step, lr=0.1)
    with pytest.raises(AttributeError, match="immutable"):
        opt.lr = 0.2  # type: ignore[misc]
    with pytest.raises(TypeError):
        opt.states["w"] = None  # type: ignore[index]
    with pytest.raises(ValueError, match=r"^Invalid beta parameter at index 0: 1.2$"):
        Optimizer(adam_step, lr=0.1, betas=(1.2, 0.9))
    with pytest.raises(ValueError, match=r"^Invalid learning rate: -0.5$"):
        Optimizer(momentum_step, lr=lambda t: -0.5)
    with pytest.raises(ValueError, match="same names"):
        opt.update({"w": np.zeros(2)}, {"v": np.zeros(2)})
    assert "sgd_step" in repr(opt)


def test_fit_with_an_optimizer_equals_a_hand_written_adam_loop() -> None:
    from dlbasics.training import fit, iterate_minibatches

    rng = np.random.default_rng(2)
    x = rng.standard_normal((40, 3))
    y = x @ np.array([[1.0], [-2.0], [0.5]]) + 0.1 * rng.standard_normal((40, 1))

    def loss_and_grads(p: dict[str, np.ndarray], xb: np.ndarray, yb: np.ndarray) -> tuple[float, dict[str, np.ndarray]]:
        r = xb @ p["w"] + p["b"] - yb
        return float(np.mean(r**2)), {"w": 2 * xb.T @ r / len(xb), "b": 2 * r.mean(0)}

    p0 = {"w": np.zeros((3, 1)), "b": np.zeros(1)}
    lr = lambda t: warmup_cosine_lr(t, lr=0.05, warmup_steps=5, total_steps=40)  # noqa: E731
    fit_rng = np.random.default_rng(9)
    p_fit, hist = fit(
        p0,
        loss_and_grads,
        Optimizer(adam_step, lr=lr, weight_decay=0.01),
        lambda: iterate_minibatches(x, y, 8, fit_rng),
        8,
    )
    # the same mini-batches, by hand
    p, states, t = dict(p0), {"w": None, "b": None}, 0
    batch_rng = np.random.default_rng(9)
    for _ in range(8):
        for xb, yb in iterate_minibatches(x, y, 8, batch_rng):
            _, g = loss_and_grads(p, xb, yb)
            for k in p:
                p[k], states[k] = adam_step(p[k], g[k], states[k], lr=lr(t), weight_decay=0.01)
            t += 1
    for k in p:
        np.testing.assert_array_equal(
            p_fit[k], p[k], err_msg=f"fit with an Optimizer differs from adam_step by hand ({k})"
        )
    assert hist.optimizer is not None and hist.optimizer.num_updates == t == 40, "history.optimizer carries the count"
    assert hist.optimizer.states["w"].step == 40, "the states were carried from step to step"
    assert np.array_equal(p0["w"], np.zeros((3, 1))), "fit must not modify the initial parameters"


def test_fit_with_a_plain_function_has_no_optimizer_in_its_history() -> None:
    from dlbasics.training import fit

    _, hist = fit(
        np.ones(2), lambda p, xb, yb: (0.0, p), lambda p, g: p - 0.5 * g, lambda: [(np.ones(1), np.ones(1))], 3
    )
    assert hist.optimizer is None and len(hist.train_loss) == 3
