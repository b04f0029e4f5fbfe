"""The wire format and the proxies (dlbgrader.agent, dlbgrader.proxy), against a real agent serving in a
thread over a socket pair: what a test cell sees when it calls a student's function through a proxy
must be what it would see calling the function directly."""

from __future__ import annotations

import socket
import threading
import warnings
from collections.abc import Iterator
from typing import Any, NamedTuple

import numpy as np
import pytest

from dlbgrader import agent as wire
from dlbgrader.proxy import CallTimeout, Channel, Handle, KernelLost, Proxy, StudentError


def _plain(obj: Any) -> Any:
    raise wire.WireError(f"not data: {obj!r}")


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        3,
        -2.5,
        float("inf"),
        "text",
        b"\x00\x01",
        1 + 2j,
        np.arange(6, dtype=np.float32).reshape(2, 3),
        np.array([1, 2], dtype=np.int64),
        np.array(True),
        np.zeros((0, 3)),
        np.float32(1.5),
        np.int16(-3),
        (1, (2.0, [3])),
        {"a": np.ones(2), 3: "b"},
    ],
)
def test_values_survive_the_wire_exactly(value: Any) -> None:
    back = wire.from_wire(wire.to_wire(value, _plain), lambda k, p: None)
    assert type(back) is type(value)
    if isinstance(value, np.ndarray | np.generic):
        assert back.dtype == value.dtype and np.shape(back) == np.shape(value)
        assert np.asarray(back).tobytes() == np.asarray(value).tobytes()
    elif isinstance(value, dict):
        assert set(back) == set(value)
    elif not isinstance(value, tuple):
        assert back == value


def test_a_generator_travels_as_its_state() -> None:
    rng = np.random.default_rng(7)
    rng.standard_normal(3)
    back = wire.from_wire(wire.to_wire(rng, _plain), lambda k, p: None)
    assert isinstance(back, np.random.Generator)
    np.testing.assert_array_equal(back.standard_normal(5), rng.standard_normal(5))


@pytest.mark.parametrize(
    "bad",
    [
        {"$a": ["|O", [1], ""]},  # object arrays are not data
        {"$a": ["<f8", [2], "AAAA"]},  # wrong number of bytes
        {"$a": ["<f8", [-1], ""]},
        {"$x": 1},
        {"a": 1, "b": 2},
    ],
)
def test_malformed_values_are_refused(bad: Any) -> None:
    with pytest.raises((wire.WireError, ValueError)):
        wire.from_wire(bad, lambda k, p: None)


def test_subclasses_and_impostors_are_not_data() -> None:
    class Sub(np.ndarray):
        pass

    kept: list[Any] = []
    wire.to_wire(np.ones(2).view(Sub), lambda o: kept.append(o) or {"$h": 1})
    assert len(kept) == 1, "an ndarray subclass stays behind a handle"


# ------------------------------------------------------------------------------------ a live agent
class Cache(NamedTuple):
    x: np.ndarray


def relu_forward(x: np.ndarray) -> tuple[np.ndarray, Cache]:
    return np.maximum(x, 0), Cache(x)


def relu_backward(dout: np.ndarray, cache: Cache) -> np.ndarray:
    return dout * (cache.x > 0)


def in_place(x: np.ndarray) -> None:
    x[0] = -0.0


def warns(x: np.ndarray) -> np.ndarray:
    return np.exp(x)


def raises(kind: str) -> None:
    if kind == "value":
        raise ValueError("bad shape")
    if kind == "custom":

        class Oops(Exception):
            pass

        raise Oops("mine")
    raise NotImplementedError()


def numgrad(f: Any, x: np.ndarray) -> np.ndarray:
    g = np.zeros_like(x)
    for i in range(x.size):
        old = x.flat[i]
        x.flat[i] = old + 1e-5
        a = f(x)
        x.flat[i] = old - 1e-5
        b = f(x)
        x.flat[i] = old
        g.flat[i] = (a - b) / 2e-5
    return g


def updates_state(state: dict[str, Any], items: list[int]) -> None:
    state["m"] = state.get("m", 0) + 1
    state.pop("gone", None)
    items.append(3)


def make_predict(w: float) -> Any:
    return lambda x: (x * w > 0).astype(int)


def draws(rng: np.random.Generator) -> float:
    return float(rng.standard_normal())


@pytest.fixture
def channel() -> Iterator[Channel]:
    ours, theirs = socket.socketpair()
    ns = {
        f.__name__: f
        for f in (relu_forward, relu_backward, in_place, warns, raises, numgrad, make_predict, draws, updates_state)
    }
    t = threading.Thread(target=wire.serve, args=(ns, theirs), daemon=True)
    t.start()
    ch = Channel(ours, interrupt=lambda: None, grace=1.0)
    ch.begin(30)
    yield ch
    ch.stop()
    t.join(5)
    ours.close()
    theirs.close()


def proxy(ch: Channel, name: str) -> Proxy:
    return Proxy(lambda: ch, name)


def test_results_are_exact_arrays_and_caches_stay_behind_handles(channel: Channel) -> None:
    x = np.array([-1.0, 2.0], dtype=np.float32)
    out, cache = proxy(channel, "relu_forward")(x)
    assert type(out) is np.ndarray and out.dtype == np.float32
    np.testing.assert_array_equal(out, [0.0, 2.0])
    assert isinstance(cache, Handle), "a NamedTuple of the student's is not plain data: it stays in the kernel"
    dx = proxy(channel, "relu_backward")(np.ones(2, dtype=np.float32), cache)
    np.testing.assert_array_equal(dx, [0.0, 1.0])


def test_in_place_changes_are_mirrored_bit_for_bit(channel: Channel) -> None:
    x = np.array([0.0, 1.0])
    proxy(channel, "in_place")(x)
    assert np.signbit(x[0]), "the student's function wrote -0.0 into x: the test must see it"


def test_warnings_and_exceptions_come_back_as_they_were(channel: Channel) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        proxy(channel, "warns")(np.array([1000.0]))
    assert any(issubclass(w.category, RuntimeWarning) and "overflow" in str(w.message) for w in caught)
    with pytest.raises(ValueError, match="bad shape"):
        proxy(channel, "raises")("value")
    with pytest.raises(StudentError, match="raised Oops: mine"):
        proxy(channel, "raises")("custom")
    with pytest.raises(NotImplementedError, match="not implemented yet"):
        proxy(channel, "raises")("todo")
    with pytest.raises(NameError, match="not defined"):
        proxy(channel, "nowhere")(1)


def test_the_tests_functions_are_called_back(channel: Channel) -> None:
    x = np.array([0.5, -1.5])
    g = proxy(channel, "numgrad")(lambda z: float(np.sum(z**3)), x)
    np.testing.assert_allclose(g, 3 * x**2, rtol=1e-8)


def test_a_returned_function_is_called_in_the_kernel(channel: Channel) -> None:
    predict = proxy(channel, "make_predict")(2.0)
    assert isinstance(predict, Handle)
    np.testing.assert_array_equal(predict(np.array([-1.0, 3.0])), [0, 1])


def test_the_callers_generator_advances_as_if_the_student_used_it(channel: Channel) -> None:
    rng, twin = np.random.default_rng(3), np.random.default_rng(3)
    got = proxy(channel, "draws")(rng)
    assert got == twin.standard_normal()
    assert rng.standard_normal() == twin.standard_normal()


def test_a_dead_peer_and_a_silent_one_are_reported() -> None:
    ours, theirs = socket.socketpair()
    theirs.close()
    ch = Channel(ours, interrupt=lambda: None, grace=0.2)
    ch.begin(1)
    with pytest.raises(KernelLost, match="died"):
        Proxy(lambda: ch, "f")(1)
    ours2, theirs2 = socket.socketpair()  # a peer that never answers
    ch2 = Channel(ours2, interrupt=lambda: None, grace=0.2)
    ch2.begin(0.3)
    with pytest.raises(KernelLost, match="did not stop when interrupted"):
        Proxy(lambda: ch2, "f")(1)
    assert ch2.lost
    theirs2.close()


def test_a_call_that_is_interrupted_is_a_timeout() -> None:
    ours, theirs = socket.socketpair()
    ch = Channel(
        ours,
        interrupt=lambda: wire.send(
            theirs, {"ok": False, "error": {"type": "KeyboardInterrupt", "message": "interrupted", "where": []}}
        ),
        grace=2.0,
    )
    ch.begin(0.3)
    threading.Thread(target=lambda: wire.recv(theirs), daemon=True).start()
    with pytest.raises(CallTimeout, match="did not finish within the time limit"):
        Proxy(lambda: ch, "slow")(1)
    assert not ch.lost, "the kernel answered the interrupt: it can go on"


def test_a_dict_or_list_argument_changed_by_the_student_changes_here_too(channel: Channel) -> None:
    state: dict[str, Any] = {"m": 1, "gone": np.ones(2)}
    items = [1, 2]
    proxy(channel, "updates_state")(state, items=items)
    assert state == {"m": 2} and items == [1, 2, 3]
