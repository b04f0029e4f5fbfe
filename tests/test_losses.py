"""dlbasics.losses against PyTorch (float64), numerical gradients and properties."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from dlbasics import losses as L
from dlbasics.gradcheck import numerical_gradient, rel_error
from dlbasics.losses import mse_loss
from tests.strategies import float_arrays, logits_and_targets


@pytest.mark.parametrize("shape", [(1,), (5,), (4, 1), (3, 7), (2, 3, 4)])
def test_mse_matches_torch(shape: tuple[int, ...]) -> None:
    rng = np.random.default_rng(len(shape) * 10 + shape[0])
    pred, target = rng.standard_normal(shape) * 3, rng.standard_normal(shape)
    loss, dpred = mse_loss(pred, target)
    tp = torch.tensor(pred, requires_grad=True)
    t_loss = F.mse_loss(tp, torch.tensor(target))
    t_loss.backward()
    assert tp.grad is not None
    assert rel_error(loss, t_loss.item()) <= 1e-10, f"mse forward {loss} vs torch {t_loss.item()}"
    err = rel_error(dpred, tp.grad.numpy())
    assert err <= 1e-10, (
        f"mse gradient differs from autograd ({err:.3g}); the mean is over ALL elements: 2(pred-target)/K"
    )


def test_mse_numerical_gradient() -> None:
    rng = np.random.default_rng(3)
    pred, target = rng.standard_normal((6, 2)), rng.standard_normal((6, 2))
    _, dpred = mse_loss(pred, target)
    num = numerical_gradient(lambda z: mse_loss(z, target)[0], pred.copy())
    assert rel_error(dpred, num) <= 1e-7, f"analytic vs numerical {rel_error(dpred, num):.3g}"


def test_mse_is_zero_at_the_target_and_rejects_mismatch() -> None:
    t = np.array([[1.0], [2.0]])
    loss, dpred = mse_loss(t.copy(), t)
    assert loss == 0.0 and not dpred.any(), "loss and gradient must be exactly 0 when pred == target"
    with pytest.raises(ValueError, match="shape"):
        mse_loss(np.ones((3, 1)), np.ones(3))  # (N, 1) vs (N,) would silently broadcast to (N, N)


@settings(max_examples=40, deadline=None)
@given(pred=float_arrays(bound=1e3))
def test_mse_properties(pred: np.ndarray) -> None:
    target = np.flip(pred).copy()
    p0, t0 = pred.copy(), target.copy()
    loss, dpred = mse_loss(pred, target)
    assert loss >= 0.0, "MSE cannot be negative"
    assert dpred.shape == pred.shape and dpred.dtype == pred.dtype, "dpred must keep the shape and dtype of pred"
    assert np.array_equal(pred, p0) and np.array_equal(target, t0), "mse_loss must not modify its inputs"


def test_mse_empty_is_nan_as_in_torch() -> None:
    loss, dpred = mse_loss(np.zeros(0), np.zeros(0))
    assert np.isnan(loss) and np.isnan(F.mse_loss(torch.zeros(0), torch.zeros(0)).item())
    assert dpred.shape == (0,)


# ------------------------------------------------------------------------------------------- L1 (MAE)
@pytest.mark.parametrize("shape", [(1,), (7,), (3, 4)])
def test_l1_matches_torch_including_the_kink(shape: tuple[int, ...]) -> None:
    rng = np.random.default_rng(100 + sum(shape))
    pred, target = rng.standard_normal(shape), rng.standard_normal(shape)
    pred.flat[0] = target.flat[0]  # a zero difference: PyTorch's gradient is sign(0) = 0 there
    loss, dpred = L.l1_loss(pred, target)
    t_loss, (t_dpred,) = _torch_scalar(lambda p: F.l1_loss(p, torch.tensor(target)), pred)
    assert rel_error(loss, t_loss) <= 1e-10, f"l1 forward {loss} vs torch {t_loss}"
    assert rel_error(dpred, t_dpred) <= 1e-10, "l1 gradient must be sign(pred - target) / K, with sign(0) = 0"
    assert dpred.flat[0] == 0.0, "the L1 gradient at a zero difference must be 0, as in PyTorch"


def test_l1_numerical_gradient() -> None:
    rng = np.random.default_rng(4)
    pred, target = rng.standard_normal((5, 3)), rng.standard_normal((5, 3))
    _, dpred = L.l1_loss(pred, target)
    num = numerical_gradient(lambda z: L.l1_loss(z, target)[0], pred.copy())
    assert rel_error(dpred, num) <= 1e-7, f"analytic vs numerical {rel_error(dpred, num):.3g}"


# ------------------------------------------------------------------------------------------- helpers
def _torch_scalar(fn: Any, *xs: np.ndarray) -> tuple[float, list[np.ndarray]]:
    """A scalar loss ``fn(*tensors)`` in float64 and its gradient with respect to each input."""
    ts = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in xs]
    out = fn(*ts)
    out.backward()
    grads = []
    for t in ts:
        assert t.grad is not None, "the loss does not depend on every input"
        grads.append(t.grad.numpy())
    return out.item(), grads


@contextmanager
def _strict_float_errors() -> Iterator[None]:
    """Every floating-point warning (overflow, invalid, division by zero) becomes an error; underflow to 0 is fine."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", divide="raise", invalid="raise", under="ignore"):
            yield


def _random_classification(seed: int, n: int, c: int, scale: float = 3.0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, c)) * scale, rng.integers(0, c, size=n)


SHAPES = [(1, 1), (1, 4), (6, 3), (9, 10)]


# ------------------------------------------------------------------------ softmax, log-softmax, LSE
@pytest.mark.parametrize("shape", [(5,), (4, 3), (2, 3, 6), (3, 1)])
def test_softmax_family_matches_torch(shape: tuple[int, ...]) -> None:
    rng = np.random.default_rng(sum(shape))
    z = rng.standard_normal(shape) * 20
    z.flat[0] = 700.0  # exp(700) is near float64's limit; exp(800) would overflow
    tz = torch.tensor(z)
    for name, mine, ref in [
        ("softmax", L.softmax(z), F.softmax(tz, dim=-1).numpy()),
        ("log_softmax", L.log_softmax(z), F.log_softmax(tz, dim=-1).numpy()),
        ("logsumexp", L.logsumexp(z), torch.logsumexp(tz, dim=-1).numpy()),
    ]:
        assert mine.shape == ref.shape, f"{name}: shape {mine.shape}, PyTorch gives {ref.shape}"
        assert rel_error(mine, ref) <= 1e-12, (
            f"{name} differs from PyTorch along the last axis: {rel_error(mine, ref):.3g}"
        )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_log_softmax_is_exact_for_logits_of_1e4(dtype: type) -> None:
    z = np.array([[1e4, -1e4, 0.0, 1e4], [-1e4, -1e4, -1e4, -1e4]], dtype=dtype)
    with _strict_float_errors():
        lp = L.log_softmax(z)
        p = L.softmax(z)
        lse = L.logsumexp(z)
    log2, log4 = np.log(dtype(2.0)), np.log(dtype(4.0))
    # by hand: row 1 has two maxima (log-sum-exp = 1e4 + log 2), row 2 four equal entries
    expected = np.array([[-log2, dtype(-2e4) - log2, dtype(-1e4) - log2, -log2], [-log4] * 4], dtype=dtype)
    np.testing.assert_array_equal(lp, expected, err_msg="log_softmax at +-1e4 must be exact (max-shifted)")
    np.testing.assert_array_equal(
        p,
        np.array([[0.5, 0, 0, 0.5], [0.25] * 4], dtype=dtype),
        err_msg="softmax at +-1e4 must give exact probabilities",
    )
    np.testing.assert_array_equal(lse, np.array([dtype(1e4) + log2, dtype(-1e4) + log4], dtype=dtype))
    assert lp.dtype == p.dtype == lse.dtype == dtype, "the input dtype must be kept"
    if dtype == np.float64:
        ref = F.log_softmax(torch.tensor(z), dim=-1).numpy()
        assert rel_error(lp, ref) <= 1e-15, "log_softmax at +-1e4 differs from PyTorch"


def test_softmax_family_rejects_scalars_and_keeps_empty_shapes() -> None:
    with pytest.raises(ValueError, match="at least one axis"):
        L.softmax(np.array(1.0))
    with pytest.raises(TypeError, match="floating"):
        L.log_softmax(np.arange(3))
    assert L.softmax(np.zeros((0, 3))).shape == (0, 3)
    assert L.log_softmax(np.zeros((2, 0))).shape == (2, 0)
    assert np.array_equal(L.logsumexp(np.zeros((2, 0))), [-np.inf, -np.inf]), "log of an empty sum is -inf (torch)"


@settings(max_examples=60, deadline=None)
@given(z=float_arrays(bound=1e3), shift=st.floats(-1e3, 1e3, width=32))
def test_softmax_properties(z: np.ndarray, shift: float) -> None:
    before = z.copy()
    with _strict_float_errors():
        p = L.softmax(z)
        lp = L.log_softmax(z)
        p_shifted = L.softmax(z + z.dtype.type(shift))
        lp_shifted = L.log_softmax(z + z.dtype.type(shift))
    np.testing.assert_array_equal(z, before, err_msg="softmax / log_softmax modified their input")
    for name, out in [("softmax", p), ("log_softmax", lp)]:
        assert out.shape == z.shape and out.dtype == z.dtype, f"{name}: {out.shape}/{out.dtype} for {z.shape}/{z.dtype}"
    eps = float(np.finfo(z.dtype).eps)
    c = z.shape[-1]
    assert np.all((p >= 0) & (p <= 1)), "softmax entries must be probabilities"
    assert np.allclose(p.sum(axis=-1), 1.0, rtol=0, atol=4 * c * eps), "softmax rows must sum to 1"
    assert np.all(lp <= 0), "log-probabilities cannot be positive"
    assert np.allclose(np.exp(lp.astype(np.float64)), p, rtol=0, atol=8 * c * eps), (
        "exp(log_softmax) must equal softmax"
    )
    # adding a constant to a row changes nothing, up to the rounding of z + shift itself
    scale = 1.0 + float(np.max(np.abs(z))) + abs(shift)
    assert np.allclose(p_shifted, p, rtol=0, atol=8 * c * eps * scale), (
        "softmax must be invariant to a per-row constant"
    )
    assert np.allclose(lp_shifted, lp, rtol=0, atol=8 * c * eps * scale), (
        "log_softmax must be invariant to a per-row constant"
    )


@settings(max_examples=30, deadline=None)
@given(z=float_arrays(min_dims=2, max_dims=2, bound=1e3))
def test_per_row_shift_by_different_constants(z: np.ndarray) -> None:
    shifts = np.arange(z.shape[0], dtype=z.dtype).reshape(-1, 1) * z.dtype.type(64)  # exact in float32 too
    p, p_shifted = L.softmax(z), L.softmax(z + shifts)
    eps = float(np.finfo(z.dtype).eps)
    scale = 1.0 + float(np.max(np.abs(z))) + float(shifts.max())
    assert np.allclose(p_shifted, p, rtol=0, atol=8 * z.shape[1] * eps * scale), (
        "each row's softmax depends only on that row"
    )


# ---------------------------------------------------------------------------------------- NLL
@pytest.mark.parametrize("n,c", SHAPES)
@pytest.mark.parametrize("weighted", [False, True], ids=["plain", "weighted"])
def test_nll_matches_torch(n: int, c: int, weighted: bool) -> None:
    z, targets = _random_classification(n * 31 + c, n, c)
    log_probs = L.log_softmax(z)
    weight = np.random.default_rng(c).uniform(0.2, 3.0, size=c) if weighted else None
    loss, dlp = L.nll_loss(log_probs, targets, weight=weight)
    t_w = None if weight is None else torch.tensor(weight)
    t_loss, (t_dlp,) = _torch_scalar(lambda t: F.nll_loss(t, torch.tensor(targets), weight=t_w), log_probs)
    assert rel_error(loss, t_loss) <= 1e-10, f"nll forward {loss} vs torch {t_loss}"
    assert rel_error(dlp, t_dlp) <= 1e-10, (
        "nll gradient differs from PyTorch: it is -w[y]/sum(w[y]) at the targets and 0 elsewhere"
    )


def test_nll_weighted_mean_divides_by_the_targets_weights() -> None:
    log_probs = np.log(np.array([[0.5, 0.5], [0.2, 0.8], [0.9, 0.1]]))
    targets = np.array([0, 1, 1])
    loss, dlp = L.nll_loss(log_probs, targets, weight=np.array([1.0, 3.0]))
    # by hand: weights of the targets 1, 3, 3 (sum 7)
    expected = -(1 * np.log(0.5) + 3 * np.log(0.8) + 3 * np.log(0.1)) / 7
    assert abs(loss - expected) <= 1e-15, f"weighted NLL {loss}, expected {expected} (divide by 7, not by N = 3)"
    np.testing.assert_allclose(dlp, [[-1 / 7, 0], [0, -3 / 7], [0, -3 / 7]], rtol=0, atol=1e-16)


def test_nll_numerical_gradient() -> None:
    z, targets = _random_classification(11, 5, 4)
    log_probs, weight = L.log_softmax(z), np.array([0.5, 1.0, 2.0, 4.0])
    _, dlp = L.nll_loss(log_probs, targets, weight=weight)
    num = numerical_gradient(lambda v: L.nll_loss(v, targets, weight=weight)[0], log_probs.copy())
    assert rel_error(dlp, num) <= 1e-7, f"analytic vs numerical {rel_error(dlp, num):.3g}"


# ------------------------------------------------------------------------------------- cross-entropy
OPTIONS = [(None, 0.0), ("w", 0.0), (None, 0.1), ("w", 0.25), (None, 1.0)]
OPTION_IDS = ["plain", "weight", "smoothing", "weight+smoothing", "smoothing=1"]


def _weight(option: str | None, c: int) -> np.ndarray | None:
    return None if option is None else np.random.default_rng(100 + c).uniform(0.1, 4.0, size=c)


@pytest.mark.parametrize("n,c", SHAPES)
@pytest.mark.parametrize("option,smoothing", OPTIONS, ids=OPTION_IDS)
def test_cross_entropy_matches_torch(n: int, c: int, option: str | None, smoothing: float) -> None:
    z, targets = _random_classification(n * 7 + c, n, c)
    weight = _weight(option, c)
    loss, dz = L.cross_entropy_loss(z, targets, weight=weight, label_smoothing=smoothing)
    t_w = None if weight is None else torch.tensor(weight)
    t_loss, (t_dz,) = _torch_scalar(
        lambda t: F.cross_entropy(t, torch.tensor(targets), weight=t_w, label_smoothing=smoothing), z
    )
    assert rel_error(loss, t_loss) <= 1e-10, f"cross-entropy forward {loss} vs torch {t_loss}"
    assert rel_error(dz, t_dz) <= 1e-10, (
        f"cross-entropy gradient differs from PyTorch ({rel_error(dz, t_dz):.3g}); without options it is "
        "(softmax - one-hot) / N"
    )


@pytest.mark.parametrize("option,smoothing", OPTIONS, ids=OPTION_IDS)
def test_cross_entropy_numerical_gradient(option: str | None, smoothing: float) -> None:
    z, targets = _random_classification(5, 6, 4)
    weight = _weight(option, 4)
    _, dz = L.cross_entropy_loss(z, targets, weight=weight, label_smoothing=smoothing)
    num = numerical_gradient(
        lambda v: L.cross_entropy_loss(v, targets, weight=weight, label_smoothing=smoothing)[0], z.copy()
    )
    assert rel_error(dz, num) <= 1e-7, f"analytic vs numerical {rel_error(dz, num):.3g}"


def test_cross_entropy_gradient_is_softmax_minus_one_hot_over_n() -> None:
    z, targets = _random_classification(8, 5, 3)
    _, dz = L.cross_entropy_loss(z, targets)
    e = np.exp(z)
    expected = (e / e.sum(axis=1, keepdims=True) - np.eye(3)[targets]) / 5  # closed form, small logits
    assert rel_error(dz, expected) <= 1e-14, "dL/dz must be (softmax(z) - onehot(y)) / N"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_at_logits_of_1e4(dtype: type) -> None:
    z = np.array([[1e4, -1e4], [1e4, -1e4], [0.0, 1e4]], dtype=dtype)
    targets = np.array([0, 1, 0])
    with _strict_float_errors():
        loss, dz = L.cross_entropy_loss(z, targets)
        loss_s, dz_s = L.cross_entropy_loss(z, targets, label_smoothing=0.1, weight=np.ones(2, dtype=dtype))
    # by hand: per example 0 (right and sure), 2e4 and 1e4 (wrong and sure); mean 1e4
    assert loss == 1e4, f"CE of confident answers: expected exactly 1e4, got {loss}"
    expected = np.array([[0, 0], [1, -1], [-1, 1]], dtype=dtype) / dtype(3)
    np.testing.assert_array_equal(dz, expected, err_msg="gradient at +-1e4: (softmax - one-hot) / N exactly")
    assert dz.dtype == dz_s.dtype == dtype, "the input dtype must be kept"
    assert np.isfinite(loss_s) and np.all(np.isfinite(dz_s)), "label smoothing at +-1e4 must stay finite"
    if dtype == np.float64:
        t_loss = F.cross_entropy(torch.tensor(z), torch.tensor(targets), label_smoothing=0.1).item()
        assert rel_error(loss_s, t_loss) <= 1e-12, f"smoothed CE at 1e4: {loss_s} vs torch {t_loss}"


def test_cross_entropy_equals_nll_of_log_softmax() -> None:
    z, targets = _random_classification(21, 7, 5)
    weight = np.linspace(0.5, 2.0, 5)
    ce, _ = L.cross_entropy_loss(z, targets, weight=weight)
    nll, _ = L.nll_loss(L.log_softmax(z), targets, weight=weight)
    assert abs(ce - nll) <= 1e-14 * abs(nll), f"CE {ce} must equal NLL(log_softmax) {nll}"


def test_cross_entropy_degenerate_cases_follow_torch() -> None:
    loss, dz = L.cross_entropy_loss(np.zeros((0, 3)), np.zeros(0, dtype=np.int64))
    assert np.isnan(loss) and dz.shape == (0, 3), "an empty batch gives NaN, as in PyTorch"
    z, targets = _random_classification(2, 2, 3)
    targets[:] = 0
    loss, _ = L.cross_entropy_loss(z, targets, weight=np.array([0.0, 1.0, 1.0]))
    t_weight = torch.tensor([0.0, 1.0, 1.0], dtype=torch.float64)
    t_loss = F.cross_entropy(torch.tensor(z), torch.tensor(targets), weight=t_weight).item()
    assert np.isnan(loss) and np.isnan(t_loss), "targets whose weights sum to 0 give NaN, as in PyTorch"


def test_classification_losses_reject_bad_arguments() -> None:
    z, targets = _random_classification(3, 4, 3)
    with pytest.raises(TypeError, match="integer class indices"):
        L.cross_entropy_loss(z, targets.astype(np.float64))
    with pytest.raises(ValueError, match="out of bounds"):
        L.cross_entropy_loss(z, np.array([0, 1, 3, 0]))
    with pytest.raises(ValueError, match="out of bounds"):
        L.nll_loss(L.log_softmax(z), np.array([0, -1, 2, 0]))
    with pytest.raises(ValueError, match="shape"):
        L.cross_entropy_loss(z, targets[:3])
    with pytest.raises(ValueError, match=r"\(N, C\)"):
        L.cross_entropy_loss(z[0], targets[:1])
    with pytest.raises(ValueError, match="one entry per class"):
        L.cross_entropy_loss(z, targets, weight=np.ones(4))
    with pytest.raises(ValueError, match="Invalid label_smoothing value: 1.5"):
        L.cross_entropy_loss(z, targets, label_smoothing=1.5)


@settings(max_examples=60, deadline=None)
@given(data=logits_and_targets(bound=1e4), smoothing=st.sampled_from([0.0, 0.2]))
def test_cross_entropy_properties(data: tuple[np.ndarray, np.ndarray], smoothing: float) -> None:
    z, targets = data
    z0, t0 = z.copy(), targets.copy()
    with _strict_float_errors():
        loss, dz = L.cross_entropy_loss(z, targets, label_smoothing=smoothing)
        nll, dlp = L.nll_loss(L.log_softmax(z), targets)
    np.testing.assert_array_equal(z, z0, err_msg="cross_entropy_loss modified the logits")
    np.testing.assert_array_equal(targets, t0, err_msg="cross_entropy_loss modified the targets")
    assert dz.shape == z.shape and dz.dtype == z.dtype, f"dlogits {dz.shape}/{dz.dtype} for logits {z.shape}/{z.dtype}"
    assert dlp.dtype == z.dtype, "nll_loss must keep the dtype of the log-probabilities"
    assert np.isfinite(loss) and loss >= 0, f"cross-entropy must be finite and >= 0 for |logits| <= 1e4, got {loss}"
    assert np.all(np.isfinite(dz)), "dlogits must be finite"
    n = z.shape[0]
    eps = float(np.finfo(z.dtype).eps)
    assert np.allclose(dz.sum(axis=1), 0.0, rtol=0, atol=8 * z.shape[1] * eps / n), "each row of dlogits must sum to 0"
    assert np.all(np.abs(dz) <= 1.0 / n * (1 + 8 * eps)), "each gradient entry is a difference of probabilities over N"
    if smoothing == 0.0:
        scale = 1.0 + abs(nll)
        assert abs(loss - nll) <= 16 * eps * scale, f"CE {loss} must equal NLL(log_softmax) {nll}"


# ---------------------------------------------------------------------------- binary cross-entropy
@pytest.mark.parametrize("shape", [(1,), (8,), (5, 3)])
@pytest.mark.parametrize("target_kind", ["int", "bool", "float"])
def test_bce_with_logits_matches_torch(shape: tuple[int, ...], target_kind: str) -> None:
    rng = np.random.default_rng(sum(shape) + len(target_kind))
    x = rng.standard_normal(shape) * 4
    x.flat[0] = 0.0
    labels = rng.integers(0, 2, size=shape)
    targets: np.ndarray = {"int": labels, "bool": labels.astype(bool), "float": rng.uniform(0, 1, size=shape)}[
        target_kind
    ]
    loss, dx = L.binary_cross_entropy_with_logits(x, targets)
    t_t = torch.tensor(targets.astype(np.float64))
    t_loss, (t_dx,) = _torch_scalar(lambda t: F.binary_cross_entropy_with_logits(t, t_t), x)
    assert rel_error(loss, t_loss) <= 1e-10, f"BCE forward {loss} vs torch {t_loss}"
    assert rel_error(dx, t_dx) <= 1e-10, "BCE gradient must be (sigmoid(x) - t) / K"


def test_bce_numerical_gradient() -> None:
    rng = np.random.default_rng(9)
    x, t = rng.standard_normal((4, 3)) * 3, rng.uniform(0, 1, size=(4, 3))
    _, dx = L.binary_cross_entropy_with_logits(x, t)
    num = numerical_gradient(lambda v: L.binary_cross_entropy_with_logits(v, t)[0], x.copy())
    assert rel_error(dx, num) <= 1e-7, f"analytic vs numerical {rel_error(dx, num):.3g}"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bce_with_logits_at_1e4(dtype: type) -> None:
    x = np.array([1e4, -1e4, 1e4, -1e4], dtype=dtype)
    t = np.array([0, 1, 1, 0])
    with _strict_float_errors():
        loss, dx = L.binary_cross_entropy_with_logits(x, t)
    # by hand: wrong and sure costs |x| = 1e4, right and sure costs 0; mean 5e3
    assert loss == 5e3, f"BCE at +-1e4: expected exactly 5000, got {loss}"
    np.testing.assert_array_equal(dx, np.array([1, -1, 0, 0], dtype=dtype) / dtype(4))
    assert dx.dtype == dtype


def test_bce_rejects_mismatched_shapes() -> None:
    with pytest.raises(ValueError, match="same shape"):
        L.binary_cross_entropy_with_logits(np.zeros((3, 1)), np.zeros(3))
    with pytest.raises(TypeError, match="numeric"):
        L.binary_cross_entropy_with_logits(np.zeros(2), np.array(["a", "b"]))


@settings(max_examples=50, deadline=None)
@given(x=float_arrays(bound=1e4), data=st.data())
def test_bce_properties(x: np.ndarray, data: st.DataObject) -> None:
    t = data.draw(hnp.arrays(np.int64, x.shape, elements=st.integers(0, 1)))
    x0, t0 = x.copy(), t.copy()
    with _strict_float_errors():
        loss, dx = L.binary_cross_entropy_with_logits(x, t)
    np.testing.assert_array_equal(x, x0, err_msg="BCE modified the logits")
    np.testing.assert_array_equal(t, t0, err_msg="BCE modified the targets")
    assert dx.shape == x.shape and dx.dtype == x.dtype, f"dlogits {dx.shape}/{dx.dtype} for {x.shape}/{x.dtype}"
    assert np.isfinite(loss) and loss >= 0, f"BCE must be finite and >= 0, got {loss}"
    assert np.all(np.abs(dx) <= 1.0 / x.size * (1 + 1e-6)), "|sigmoid(x) - t| / K is at most 1 / K"


def test_bce_keeps_the_small_loss_of_a_confident_right_answer() -> None:
    # by hand: log(1 + e^-40) = 4.248e-18; computing softplus(x) - t x would round 40 + 4e-18 - 40 to 0
    loss, _ = L.binary_cross_entropy_with_logits(np.array([40.0, -40.0]), np.array([1, 0]))
    expected = np.log1p(np.exp(-40.0))
    assert abs(loss - expected) <= 1e-15 * expected, f"BCE of confident right answers: {loss}, expected {expected}"
