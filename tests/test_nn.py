"""dlbasics.nn against PyTorch (float64), numerical gradients and properties.

A Sequential multilayer perceptron (affine -> batch norm -> ReLU -> dropout -> affine) is compared
with the same network built from torch.nn, with the same weights and the same dropout masks (ours are
drawn from an explicit generator; PyTorch's module multiplies by the mask we hand it), in training
and evaluation mode; one and several Adam steps through dlbasics.optim.Optimizer are compared with
torch.optim.Adam.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from dlbasics.gradcheck import numerical_gradient_array
from dlbasics.losses import cross_entropy_loss
from dlbasics.nn import (
    BatchNorm1d,
    Dropout,
    Linear,
    Module,
    ReLU,
    Residual,
    Sequential,
    Sigmoid,
    Tanh,
    join_names,
    split_names,
)
from dlbasics.optim import Optimizer, adam_step
from tests.strategies import float_dtypes

F64 = torch.float64


def mlp(d: int = 6, h: int = 8, c: int = 4, p: float = 0.3) -> Sequential:
    return Sequential(Linear(d, h), BatchNorm1d(h), ReLU(), Dropout(p), Linear(h, c))


class FixedMask(torch.nn.Module):
    """Dropout whose multipliers (mask / (1 - p)) are set from outside: the ones our Dropout drew."""

    def __init__(self) -> None:
        super().__init__()
        self.scale: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale if self.training and self.scale is not None else x


def torch_mlp(params: dict[str, np.ndarray], d: int = 6, h: int = 8, c: int = 4) -> torch.nn.Sequential:
    net = torch.nn.Sequential(
        torch.nn.Linear(d, h), torch.nn.BatchNorm1d(h), torch.nn.ReLU(), FixedMask(), torch.nn.Linear(h, c)
    ).to(F64)
    with torch.no_grad():
        net[0].weight.copy_(torch.from_numpy(params["0.w"].T))
        net[0].bias.copy_(torch.from_numpy(params["0.b"]))
        net[1].weight.copy_(torch.from_numpy(params["1.gamma"]))
        net[1].bias.copy_(torch.from_numpy(params["1.beta"]))
        net[4].weight.copy_(torch.from_numpy(params["4.w"].T))
        net[4].bias.copy_(torch.from_numpy(params["4.b"]))
    return net


def torch_grads(net: torch.nn.Sequential) -> dict[str, np.ndarray]:
    """The gradients of ``net`` under the course's names (weights transposed back to (D, M))."""
    g = {
        "0.w": net[0].weight.grad.T,
        "0.b": net[0].bias.grad,
        "1.gamma": net[1].weight.grad,
        "1.beta": net[1].bias.grad,
        "4.w": net[4].weight.grad.T,
        "4.b": net[4].bias.grad,
    }
    return {k: v.detach().numpy().copy() for k, v in g.items()}


def torch_params(net: torch.nn.Sequential) -> dict[str, np.ndarray]:
    p = {
        "0.w": net[0].weight.T,
        "0.b": net[0].bias,
        "1.gamma": net[1].weight,
        "1.beta": net[1].bias,
        "4.w": net[4].weight.T,
        "4.b": net[4].bias,
    }
    return {k: v.detach().numpy().copy() for k, v in p.items()}


def scaled_error(ours: Any, theirs: Any, floor: float) -> float:
    """max |ours - theirs| relative to the larger of the two, or to ``floor`` where both are smaller: an
    array that should be exactly 0 (the bias of an affine layer before batch normalization) is compared
    absolutely."""
    a, b = np.asarray(ours, dtype=np.float64), np.asarray(theirs, dtype=np.float64)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(a)), np.max(np.abs(b)), floor))


def assert_close(ours: Any, theirs: Any, what: str, tol: float = 1e-10) -> None:
    err = scaled_error(ours, theirs, 1e-3)
    assert err <= tol, f"{what}: relative error {err:.3g} against PyTorch, expected at most {tol:g}"


# ------------------------------------------------------------------------------- PyTorch parity


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sequential_mlp_forward_and_backward_match_torch_in_training_mode(seed: int) -> None:
    rng = np.random.default_rng(seed)
    model = mlp()
    params, buffers = model.init(rng)
    x, dout = rng.standard_normal((10, 6)), rng.standard_normal((10, 4))
    out, cache, new_buffers = model.forward(params, buffers, x, training=True, rng=rng)
    dx, grads = model.backward(dout, cache)

    net = torch_mlp(params).train()
    net[3].scale = torch.from_numpy(cache[3].scale)  # the mask our dropout drew
    tx = torch.tensor(x, requires_grad=True)
    t_out = net(tx)
    t_out.backward(torch.tensor(dout))
    assert_close(out, t_out.detach().numpy(), "output")
    assert_close(dx, tx.grad.numpy(), "dx")
    for name, g in torch_grads(net).items():
        assert_close(grads[name], g, f"gradient of {name}")
    assert_close(new_buffers["1.running_mean"], net[1].running_mean.numpy(), "running mean")
    assert_close(new_buffers["1.running_var"], net[1].running_var.numpy(), "running variance")
    assert set(grads) == set(params), f"one gradient per model parameter: {sorted(grads)} vs {sorted(params)}"


def test_sequential_mlp_matches_torch_in_evaluation_mode_after_training_steps() -> None:
    rng = np.random.default_rng(5)
    model = mlp()
    params, buffers = model.init(rng)
    net = torch_mlp(params).train()
    for n in (7, 3, 12):  # the running statistics carry over
        x = rng.standard_normal((n, 6)) * 2 + 1
        _, cache, buffers = model.forward(params, buffers, x, training=True, rng=rng)
        net[3].scale = torch.from_numpy(cache[3].scale)
        with torch.no_grad():
            net(torch.tensor(x))
    net.eval()
    x, dout = rng.standard_normal((5, 6)), rng.standard_normal((5, 4))
    out, cache, same = model.forward(params, buffers, x, training=False)
    dx, grads = model.backward(dout, cache)
    tx = torch.tensor(x, requires_grad=True)
    t_out = net(tx)
    t_out.backward(torch.tensor(dout))
    assert_close(out, t_out.detach().numpy(), "output in evaluation mode")
    assert_close(dx, tx.grad.numpy(), "dx in evaluation mode")
    for name, g in torch_grads(net).items():
        assert_close(grads[name], g, f"gradient of {name} in evaluation mode")
    for name in buffers:
        assert same[name] is buffers[name], f"evaluation mode must return the buffers it was given ({name})"


@pytest.mark.parametrize("steps", [1, 4])
def test_adam_steps_on_the_sequential_mlp_match_torch_optim_adam(steps: int) -> None:
    rng = np.random.default_rng(11)
    model = mlp()
    params, buffers = model.init(rng)
    net = torch_mlp(params).train()
    opt = Optimizer(adam_step, lr=1e-2)
    t_opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    for _ in range(steps):
        x, y = rng.standard_normal((9, 6)), rng.integers(0, 4, size=9)
        scores, cache, buffers = model.forward(params, buffers, x, training=True, rng=rng)
        loss, dscores = cross_entropy_loss(scores, y)
        _, grads = model.backward(dscores, cache)
        params, opt = opt.update(params, grads)

        net[3].scale = torch.from_numpy(cache[3].scale)
        t_opt.zero_grad()
        t_loss = torch.nn.functional.cross_entropy(net(torch.tensor(x)), torch.tensor(y))
        t_loss.backward()
        t_opt.step()
        assert abs(loss - t_loss.item()) <= 1e-12 * max(1.0, abs(loss)), f"loss {loss} vs PyTorch {t_loss.item()}"
    for name, value in torch_params(net).items():
        if name == "0.b":
            # Batch normalization removes the bias before it: its gradient is 0 up to rounding (~1e-16),
            # and Adam divides that noise by its own size (plus eps = 1e-8), so both sides take steps of
            # rounding noise, at most lr * 1e-16 / 1e-8 each.
            bound = 1e-6 * 1e-2 * steps
            assert np.max(np.abs(params[name])) <= bound and np.max(np.abs(value)) <= bound, name
            continue
        assert_close(params[name], value, f"{name} after {steps} Adam step(s)")


# ------------------------------------------------------------------------------- numerical gradients


def _loss_fn(
    model: Module,
    params: dict[str, np.ndarray],
    buffers: dict[str, np.ndarray],
    x: np.ndarray,
    dout: np.ndarray,
    seed: int,
    training: bool,
) -> Any:
    """sum(out * dout) as a function of one named array (or "x"); the dropout mask is the same at every call."""

    def f(name: str) -> Any:
        def loss(z: np.ndarray) -> float:
            p = dict(params)
            inp = x
            if name == "x":
                inp = z
            else:
                p[name] = z
            out, _, _ = model.forward(p, buffers, inp, training=training, rng=np.random.default_rng(seed))
            return float(np.sum(out * dout))

        return loss

    return f


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize(
    "model",
    [
        mlp(),
        Sequential(Linear(6, 5, gain=1.0), Tanh(), Dropout(0.5), Linear(5, 4)),
        Sequential(Linear(6, 7), Sigmoid(), BatchNorm1d(7), Linear(7, 4)),
    ],
    ids=["bn-relu-dropout", "tanh-dropout", "sigmoid-bn"],
)
def test_backward_matches_numerical_gradients(model: Module, training: bool) -> None:
    rng = np.random.default_rng(3)
    params, buffers = model.init(rng)
    buffers = {
        k: v + (rng.uniform(0.5, 1.5, v.shape) if "var" in k else rng.standard_normal(v.shape))
        for k, v in buffers.items()
    }  # evaluation mode with running statistics that are not 0 and 1
    x = rng.standard_normal((8, 6))
    out, cache, _ = model.forward(params, buffers, x, training=training, rng=np.random.default_rng(42))
    dout = rng.standard_normal(out.shape)
    dx, grads = model.backward(dout, cache)
    f = _loss_fn(model, params, buffers, x, dout, 42, training)
    for name, analytic in [("x", dx), *grads.items()]:
        value = x if name == "x" else params[name]
        num = numerical_gradient_array(lambda z, n=name: np.array(f(n)(z)), value.copy(), np.array(1.0))
        err = scaled_error(analytic, num, 1e-2)
        assert err <= 1e-7, f"d{name} ({'training' if training else 'evaluation'} mode): relative error {err:.3g}"


def test_residual_adds_its_input_and_passes_the_gradient_through() -> None:
    rng = np.random.default_rng(8)
    inner = Sequential(Linear(5, 5), Tanh(), Linear(5, 5))
    block = Residual(inner)
    params, buffers = block.init(rng)
    x, dout = rng.standard_normal((4, 5)), rng.standard_normal((4, 5))
    out, cache, _ = block.forward(params, buffers, x, training=True)
    fx, _, _ = inner.forward(params, buffers, x, training=True)
    np.testing.assert_allclose(out, x + fx, rtol=1e-15, atol=0)
    dx, grads = block.backward(dout, cache)
    dfx, inner_grads = inner.backward(dout, inner.forward(params, buffers, x, training=True)[1])
    np.testing.assert_allclose(dx, dout + dfx, rtol=1e-15, atol=0)
    f = _loss_fn(block, params, buffers, x, dout, 0, True)
    for name, analytic in [("x", dx), *grads.items()]:
        value = x if name == "x" else params[name]
        num = numerical_gradient_array(lambda z, n=name: np.array(f(n)(z)), value.copy(), np.array(1.0))
        assert scaled_error(analytic, num, 1e-2) <= 1e-7, f"d{name} of a residual block"
    with pytest.raises(ValueError, match="shape of x"):
        Residual(Linear(5, 3)).forward(Linear(5, 3).init(rng)[0], {}, x, training=False)


def test_residual_inside_sequential_against_torch() -> None:
    rng = np.random.default_rng(9)
    model = Sequential(Linear(4, 6), Residual(Sequential(Linear(6, 6), ReLU(), Linear(6, 6))), Linear(6, 3))
    params, buffers = model.init(rng)
    assert sorted(params) == ["0.b", "0.w", "1.0.b", "1.0.w", "1.2.b", "1.2.w", "2.b", "2.w"]
    x, dout = rng.standard_normal((5, 4)), rng.standard_normal((5, 3))
    out, cache, _ = model.forward(params, buffers, x, training=True)
    dx, grads = model.backward(dout, cache)
    t = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    tx = torch.tensor(x, requires_grad=True)
    h = tx @ t["0.w"] + t["0.b"]
    h = h + (torch.relu(h @ t["1.0.w"] + t["1.0.b"]) @ t["1.2.w"] + t["1.2.b"])
    t_out = h @ t["2.w"] + t["2.b"]
    t_out.backward(torch.tensor(dout))
    assert_close(out, t_out.detach().numpy(), "output")
    assert_close(dx, tx.grad.numpy(), "dx")
    for k in params:
        assert_close(grads[k], t[k].grad.numpy(), f"gradient of {k}")


# ------------------------------------------------------------------------------- modes


def test_dropout_and_batchnorm_inside_sequential_behave_by_mode() -> None:
    rng = np.random.default_rng(4)
    model = Sequential(Linear(6, 50), BatchNorm1d(50), ReLU(), Dropout(0.5), Linear(50, 3))
    params, buffers = model.init(rng)
    x = rng.standard_normal((20, 6))

    # training: the mask comes from the generator (two generators, two outputs), half the entries dropped
    a, cache_a, buffers_a = model.forward(params, buffers, x, training=True, rng=np.random.default_rng(1))
    b, _, _ = model.forward(params, buffers, x, training=True, rng=np.random.default_rng(2))
    assert not np.allclose(a, b), "training mode: different dropout masks must give different outputs"
    scale = cache_a[3].scale
    assert set(np.unique(scale)) <= {0.0, 2.0} and 0.35 < np.mean(scale == 0) < 0.65, "inverted dropout, p = 0.5"
    with pytest.raises(ValueError):
        model.forward(params, buffers, x, training=True, rng=None)  # training with dropout needs an rng
    for name in buffers:  # the running statistics moved, and the originals are untouched
        assert not np.array_equal(buffers_a[name], buffers[name]), f"training mode must update {name}"
    np.testing.assert_array_equal(buffers["1.running_mean"], np.zeros(50))
    np.testing.assert_array_equal(buffers["1.running_var"], np.ones(50))
    with pytest.raises(ValueError, match="more than 1 value"):
        model.forward(params, buffers, x[:1], training=True, rng=rng)  # batch norm cannot train on one example

    # evaluation: no rng needed, deterministic, one example at a time gives the rows of the batch
    e1, cache_e, same = model.forward(params, buffers_a, x, training=False)
    e2, _, _ = model.forward(params, buffers_a, x, training=False, rng=np.random.default_rng(3))
    np.testing.assert_array_equal(e1, e2)
    assert cache_e[3].scale is None, "evaluation mode: dropout is the identity"
    rows = np.vstack([model.forward(params, buffers_a, x[i : i + 1], training=False)[0] for i in range(len(x))])
    np.testing.assert_allclose(rows, e1, rtol=1e-12, atol=1e-12)
    assert all(same[k] is buffers_a[k] for k in buffers_a), "evaluation mode returns the buffers unchanged"


# ------------------------------------------------------------------------------- names and errors


def test_names_follow_the_index_of_each_module() -> None:
    model = mlp()
    params, buffers = model.init(np.random.default_rng(0))
    assert list(params) == ["0.w", "0.b", "1.gamma", "1.beta", "4.w", "4.b"]
    assert list(buffers) == ["1.running_mean", "1.running_var"]
    assert params["0.w"].shape == (6, 8) and params["4.w"].shape == (8, 4)
    assert join_names(split_names(params, 5)) == params
    with pytest.raises(ValueError, match="unexpected array name"):
        model.forward({**params, "7.w": params["0.w"]}, buffers, np.zeros((2, 6)), training=False)
    assert "BatchNorm1d(8)" in repr(model) and repr(Sequential()) == "Sequential()"


def test_linear_init_has_the_variance_of_its_gain() -> None:
    w = Linear(400, 300, gain=2.0).init(np.random.default_rng(0))[0]["w"]
    assert abs(w.var() * 400 / 2.0 - 1.0) < 0.02, f"He initialization: variance {w.var():.4g}, expected 2/400"
    w1 = Linear(400, 300, gain=1.0).init(np.random.default_rng(0))[0]["w"]
    assert abs(w1.var() * 400 - 1.0) < 0.02, f"LeCun initialization: variance {w1.var():.4g}, expected 1/400"


@pytest.mark.parametrize(
    "make",
    [
        lambda: Dropout(1.5),
        lambda: Dropout(-0.1),
        lambda: BatchNorm1d(3, momentum=2.0),
        lambda: BatchNorm1d(3, eps=-1.0),
        lambda: BatchNorm1d(0),
        lambda: Linear(0, 3),
        lambda: Linear(3, 2, gain=0.0),
    ],
)
def test_bad_hyperparameters_raise_value_error(make: Any) -> None:
    with pytest.raises(ValueError):
        make()


def test_only_modules_can_be_composed() -> None:
    with pytest.raises(TypeError):
        Sequential(Linear(2, 2), lambda x: x)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Residual("relu")  # type: ignore[arg-type]


# ------------------------------------------------------------------------------- properties


@settings(max_examples=30, deadline=None)
@given(dtype=float_dtypes, n=st.integers(2, 6), training=st.booleans(), seed=st.integers(0, 10_000))
def test_dtype_kept_and_nothing_modified(dtype: Any, n: int, training: bool, seed: int) -> None:
    rng = np.random.default_rng(seed)
    model = Sequential(Linear(3, 4), BatchNorm1d(4), Tanh(), Dropout(0.25), Residual(Linear(4, 4)), Linear(4, 2))
    params, buffers = model.init(rng, dtype)
    x = rng.standard_normal((n, 3)).astype(dtype)
    dout = rng.standard_normal((n, 2)).astype(dtype)
    before = {k: v.copy() for k, v in [*params.items(), *buffers.items(), ("x", x), ("dout", dout)]}
    out, cache, new_buffers = model.forward(params, buffers, x, training=training, rng=rng)
    dx, grads = model.backward(dout, cache)
    for name, arr in [("out", out), ("dx", dx), *grads.items(), *new_buffers.items()]:
        assert arr.dtype == dtype, f"{name}: dtype {arr.dtype}, expected {np.dtype(dtype)}"
    assert out.shape == (n, 2) and dx.shape == x.shape
    assert all(grads[k].shape == params[k].shape for k in params)
    after = {**params, **buffers, "x": x, "dout": dout}
    for name, value in before.items():
        assert np.array_equal(value, after[name]), f"{name} was modified"
