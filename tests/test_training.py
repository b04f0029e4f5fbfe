"""dlbasics.training: the mini-batch iterator and the functional training loop."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlbasics.gradcheck import rel_error
from dlbasics.optim import gradient_descent
from dlbasics.training import fit, iterate_minibatches


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 50), batch_size=st.integers(1, 60), shuffle=st.booleans(), seed=st.integers(0, 999))
def test_minibatches_visit_every_example_once(n: int, batch_size: int, shuffle: bool, seed: int) -> None:
    x = np.arange(n, dtype=np.float64)[:, None]
    y = -x
    batches = list(iterate_minibatches(x, y, batch_size, np.random.default_rng(seed), shuffle=shuffle))
    assert len(batches) == -(-n // batch_size), "ceil(n / batch_size) batches, the last one possibly smaller"
    seen = np.concatenate([xb[:, 0] for xb, _ in batches])
    assert np.array_equal(np.sort(seen), x[:, 0]), "each example exactly once per epoch"
    assert all(np.array_equal(yb, -xb) for xb, yb in batches), "x and y rows must stay paired"
    if not shuffle:
        assert np.array_equal(seen, x[:, 0]), "shuffle=False keeps the original order"


def test_minibatches_validate_arguments() -> None:
    with pytest.raises(ValueError, match="rng"):
        list(iterate_minibatches(np.ones((3, 1)), np.ones((3, 1)), 2, None, shuffle=True))
    with pytest.raises(ValueError, match="batch_size"):
        list(iterate_minibatches(np.ones((3, 1)), np.ones((3, 1)), 0, np.random.default_rng(0)))


def _linreg_problem() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 3))
    w_true = np.array([[1.0], [-2.0], [0.5]])
    return x, x @ w_true, w_true


def _loss_and_grads(w: np.ndarray, xb: np.ndarray, yb: np.ndarray) -> tuple[float, np.ndarray]:
    r = xb @ w - yb
    return float(np.mean(r**2)), 2 * xb.T @ r / len(xb)


def test_full_batch_fit_equals_gradient_descent() -> None:
    x, y, _ = _linreg_problem()
    w0 = np.zeros((3, 1))
    lr, epochs = 0.1, 15
    w, hist = fit(w0, _loss_and_grads, lambda p, g: p - lr * g, lambda: [(x, y)], epochs)
    traj = gradient_descent(lambda p: _loss_and_grads(p, x, y)[1], w0, lr, epochs)
    assert rel_error(w, traj[-1]) <= 1e-14, "fit with one full batch per epoch must be plain gradient descent"
    assert np.array_equal(w0, np.zeros((3, 1))), "fit must not modify the initial parameters"
    assert len(hist.train_loss) == epochs and hist.epoch_end_step == list(range(1, epochs + 1))
    assert all(np.diff(hist.step_time) >= 0), "step_time is cumulative"


def test_minibatch_fit_converges_and_records_per_epoch_losses() -> None:
    x, y, w_true = _linreg_problem()
    rng = np.random.default_rng(1)

    def full_loss(p: np.ndarray) -> float:
        return _loss_and_grads(p, x, y)[0]

    w, hist = fit(
        np.zeros((3, 1)),
        _loss_and_grads,
        lambda p, g: p - 0.05 * g,
        lambda: iterate_minibatches(x, y, 10, rng),
        30,
        val_fn=full_loss,
        train_eval_fn=full_loss,
    )
    assert len(hist.train_loss) == 30 * 7, "64 examples in batches of 10: 7 steps per epoch"
    assert len(hist.val_loss) == len(hist.train_eval_loss) == 30, "one validation loss per epoch"
    assert hist.val_loss[-1] < 1e-6 * hist.train_loss[0], f"no convergence: {hist.val_loss[-1]:.3g}"
    assert rel_error(w, w_true) <= 1e-3, "mini-batch SGD must recover the noise-free linear model"
