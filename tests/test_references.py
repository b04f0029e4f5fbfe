"""PyTorch's answers to hidden tests, computed once per grading process (dlbasics.checks.references).

The key (what it depends on and what it must not), and the memo: the same call is computed once,
returns exactly what PyTorch computed, and a caller that changes the returned arrays cannot change
what the next student is compared with.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import torch

import dlbasics.checks.references as refs


def torch_sigmoid(x: np.ndarray, dout: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    xt = torch.tensor(x, requires_grad=True)
    yt = torch.sigmoid(xt)
    yt.backward(torch.tensor(dout))
    assert xt.grad is not None
    return yt.detach().numpy(), xt.grad.numpy()


#: Calls of the decorated functions below (a global: variables a function captures are part of its key).
CALLS: list[str] = []


@refs.torch_reference
def counted_sigmoid(x: np.ndarray, dout: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    CALLS.append("sigmoid")
    return torch_sigmoid(x, dout)


@pytest.fixture(autouse=True)
def fresh_memo(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(refs, "_MEMO", {})
    CALLS.clear()
    yield


def test_key_depends_on_code_and_every_argument_but_not_on_where_it_was_defined() -> None:
    x = np.arange(6.0).reshape(2, 3)
    k = refs.key(torch_sigmoid, (x, x), {})
    assert k is not None and k == refs.key(torch_sigmoid, (x.copy(), x.copy()), {})
    one_ulp = x.copy()
    one_ulp[1, 2] = np.nextafter(one_ulp[1, 2], np.inf)
    assert k != refs.key(torch_sigmoid, (one_ulp, x), {})
    assert k != refs.key(torch_sigmoid, (x.astype(np.float32), x), {})  # dtype
    assert k != refs.key(torch_sigmoid, (x.reshape(3, 2), x), {})  # shape, same bytes
    assert k != refs.key(torch_sigmoid, (x, x), {"kw": 1})
    # The same source compiled elsewhere (another kernel: other file name and line) has the same key.
    src = "def torch_sigmoid(x, dout):\n    return x * dout\n"
    ns1: dict[str, Any] = {}
    ns2: dict[str, Any] = {}
    exec(compile(src, "/tmp/ipykernel_1/1.py", "exec"), ns1)
    exec(compile("\n\n" + src, "/tmp/ipykernel_2/7.py", "exec"), ns2)
    assert refs.key(ns1["torch_sigmoid"], (x, x), {}) == refs.key(ns2["torch_sigmoid"], (x, x), {})
    exec(compile(src.replace("x * dout", "x + dout"), "f.py", "exec"), ns2)
    assert refs.key(ns1["torch_sigmoid"], (x, x), {}) != refs.key(ns2["torch_sigmoid"], (x, x), {})
    # Captured variables are part of the key; an argument that cannot be keyed means no key.
    scale = 2.0
    assert refs.key(lambda v: v * scale, (x,), {}) != refs.key(lambda v: v * 3.0, (x,), {})
    assert refs.key(torch_sigmoid, (object(), x), {}) is None
    assert refs.key(torch_sigmoid, (np.array([object()]), x), {}) is None


def test_the_same_call_is_computed_once_and_equals_pytorch() -> None:
    rng = np.random.default_rng(0)
    x, dout = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    first = counted_sigmoid(x, dout)
    again = counted_sigmoid(x.copy(), dout.copy())
    assert CALLS == ["sigmoid"], "the second call with equal arguments is looked up, not computed"
    expected = torch_sigmoid(x, dout)  # PyTorch, independently of the memo
    for got in (first, again):
        assert isinstance(got, tuple) and len(got) == 2
        np.testing.assert_array_equal(got[0], expected[0])
        np.testing.assert_array_equal(got[1], expected[1])
    counted_sigmoid(x + 1.0, dout)  # other inputs: computed
    assert CALLS == ["sigmoid", "sigmoid"]


def test_a_caller_cannot_change_the_remembered_answer() -> None:
    x, dout = np.ones((2, 2)), np.ones((2, 2))
    out, dx = counted_sigmoid(x, dout)
    out[...] = 0.0  # e.g. a test that modifies what it got
    out2, _ = counted_sigmoid(x, dout)
    np.testing.assert_array_equal(out2, torch_sigmoid(x, dout)[0])


def test_unkeyable_arguments_are_computed_every_time() -> None:
    @refs.torch_reference
    def f(obj: Any) -> int:
        CALLS.append("f")
        return 1

    f(object())
    f(object())
    assert CALLS == ["f", "f"]
