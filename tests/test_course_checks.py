"""The test-cell helpers and the guard that denies points for calling the reference or PyTorch."""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
import pytest
import torch

from dlbasics.activations import relu_forward
from dlbasics.checks import (
    ReferenceUsed,
    assert_close,
    assert_dtype,
    assert_shape,
    assert_unchanged,
    call_student,
    check_gradient,
    no_warnings,
)


def own_relu(x: np.ndarray) -> tuple[np.ndarray, None]:
    return np.maximum(x, 0), None


def test_own_numpy_code_passes_the_guard() -> None:
    out, _ = call_student(own_relu, np.array([-1.0, 2.0]))
    np.testing.assert_array_equal(out, [0.0, 2.0])


def test_calling_the_reference_is_caught_however_it_was_imported() -> None:
    alias = relu_forward

    def via_alias(x: np.ndarray) -> Any:
        return alias(x)

    def via_import(x: np.ndarray) -> Any:
        from dlbasics import activations as mod
        return getattr(mod, "relu_" + "forward")(x)

    for fn in (via_alias, via_import):
        with pytest.raises(ReferenceUsed, match="dlbasics.activations"):
            call_student(fn, np.ones(2))


def test_calling_torch_is_caught() -> None:
    def torch_relu(x: np.ndarray) -> Any:
        return torch.relu(torch.from_numpy(x)).numpy()

    def tensor_method(x: np.ndarray) -> Any:
        return torch.as_tensor(x).clamp(min=0).numpy()

    for fn in (torch_relu, tensor_method):
        with pytest.raises(ReferenceUsed, match="torch"):
            call_student(fn, np.ones(2))


def test_removing_the_hook_is_reported_as_tampering() -> None:
    def tamper(x: np.ndarray) -> np.ndarray:
        sys.setprofile(None)
        from dlbasics.activations import relu_forward as r
        return r(x)[0]

    with pytest.raises(ReferenceUsed, match="profile hook"):
        call_student(tamper, np.ones(2))
    assert sys.getprofile() is None or "hook" not in repr(sys.getprofile()), "the guard must be uninstalled"


def test_assert_close_messages_say_what_and_why() -> None:
    assert_close(np.array([1.0, 2.0]), np.array([1.0, 2.0]))
    with pytest.raises(AssertionError, match=r"(?s)relu\(x\): relative error .* exceeds 1e-10.*Hint: ReLU section"):
        assert_close(np.array([1.0, 2.0]), np.array([1.0, 2.5]), name="relu(x)", hint="ReLU section")
    with pytest.raises(AssertionError, match="expected shape"):
        assert_close(np.ones(3), np.ones((3, 1)))
    with pytest.raises(AssertionError, match="got None"):
        assert_close(None, np.ones(3))
    with pytest.raises(AssertionError, match="relative error nan"):
        assert_close(np.array([np.nan]), np.array([1.0]))


def test_dtype_shape_and_immutability_checks() -> None:
    assert_dtype(np.ones(2, np.float32), np.float32)
    with pytest.raises(AssertionError, match="expected dtype float32, got float64"):
        assert_dtype(np.ones(2), np.float32)
    with pytest.raises(AssertionError, match="expected shape"):
        assert_shape(np.ones(2), (3,))
    x = np.array([-1.0, 1.0])
    before = x.copy()
    x[x < 0] = 0
    with pytest.raises(AssertionError, match="was modified"):
        assert_unchanged(before, x, name="x")


def test_no_warnings_catches_overflow_but_not_underflow() -> None:
    with no_warnings():
        np.exp(np.array([-1000.0]))  # underflow to 0 is harmless
    with pytest.raises(AssertionError, match="RuntimeWarning.*overflow"):
        with no_warnings(name="sigmoid_forward"):
            np.exp(np.array([1000.0]))


def test_check_gradient_detects_a_wrong_backward() -> None:
    x = np.array([[0.5, -1.5, 2.0]])
    dout = np.array([[1.0, 2.0, 3.0]])
    check_gradient(np.tanh, x, dout * (1 - np.tanh(x) ** 2), dout)
    with pytest.raises(AssertionError, match="numerical gradient"):
        check_gradient(np.tanh, x, dout * (1 - np.tanh(x)), dout)
