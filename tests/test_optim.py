"""dlbasics.optim.gradient_descent and the gradient check it relies on."""

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
