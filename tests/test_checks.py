"""dlbasics.checks: the assertions, the misconception tables and the case-table checks that test cells use."""

from __future__ import annotations

import re
from typing import Any
from pathlib import Path

import nbformat
import numpy as np
import pytest

from dlbasics.activations import relu_backward, relu_forward
from dlbasics.checks import (
    CheckFailed,
    Hint,
    assert_close,
    assert_dtype,
    assert_shape,
    assert_unchanged,
    call_student,
    cases,
    check_backward,
    check_forward,
    check_gradient,
    check_unchanged,
    hints,
    no_warnings,
    random_shape,
)
from tests.chapters import ROOT, chapters


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


def test_a_hint_names_its_misconception_and_section() -> None:
    h = Hint("relu_slope", "the slope of ReLU for positive inputs is 1", "Activation functions › ReLU")
    with pytest.raises(CheckFailed) as err:
        assert_close(np.array([1.0]), np.array([2.0]), name="relu(x)", hint=h)
    assert err.value.misconception == "relu_slope"
    assert "Hint: the slope of ReLU for positive inputs is 1 (Activation functions › ReLU)" in str(err.value)
    assert "[misconception: relu_slope]" in str(err.value)


def _relu_bad_backward(dout: np.ndarray, cache: Any) -> np.ndarray:
    return dout * (cache.x >= -1.0)  # wrong: passes the gradient for x in [-1, 0)


def _relu_in_place(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x[x < 0] = 0.0
    return x, x


def test_case_table_checks_accept_the_reference_and_catch_each_mistake() -> None:
    table = cases(range(3), lambda rng: {"x": rng.uniform(0.1, 2.0, random_shape(rng)) * rng.choice([-1.0, 1.0])})
    assert [c.seed for c in table] == [0, 1, 2] and all("x of shape" in c.label for c in table)
    for case in table:
        for dtype in (np.float64, np.float32):
            c = case.cast(dtype)
            check_forward(relu_forward, relu_forward, c.args("x"), name=f"relu, {c}", hint="ReLU")
        dout = np.ones_like(case["x"])
        check_backward(relu_forward, relu_backward, case.args("x"), dout, wrt=[0], names=["dx"], name=str(case),
                       hint="ReLU")
    with pytest.raises(AssertionError, match="relative error"):
        check_forward(lambda x: (np.abs(x), None), relu_forward, (np.array([-1.0, 2.0]),), name="abs", hint="h")
    with pytest.raises(AssertionError, match="numerical gradient"):
        check_backward(relu_forward, _relu_bad_backward, (np.array([-0.5, 1.0]),), np.ones(2), wrt=[0],
                       names=["dx"], name="bad", hint="h")
    with pytest.raises(AssertionError, match="was modified"):
        check_unchanged(_relu_in_place, (np.array([-1.0, 2.0]),), names=["x"], name="in place", hint="h")


ASSIGNMENTS = [c.assignment for c in chapters() if (ROOT / "lib" / "dlbasics" / "checks" / "misconceptions"
                                                    / f"{c.assignment}.py").is_file()]


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_misconceptions_name_real_sections_and_show_no_code(assignment: str) -> None:
    """Every hint's section is "<chapter title> › <heading>" as the chapter writes them; no hint shows code."""
    ch = next(c for c in chapters() if c.assignment == assignment)
    nb = nbformat.read(str(ROOT / ch.book), as_version=4)
    headings = {re.sub(r"\s+", " ", ln.lstrip("#").strip()) for c in nb.cells if c.cell_type == "markdown"
                for ln in c.source.splitlines() if ln.startswith("#")}
    titles = {c.title: c for c in chapters()}
    for h in hints(assignment):
        title, _, heading = h.section.partition(" › ")
        assert title in titles, f"{assignment} {h.id}: chapter {title!r} does not exist"
        other = titles[title]
        if other.written and other.book != ch.book:
            other_nb = nbformat.read(str(ROOT / other.book), as_version=4)
            found = {re.sub(r"\s+", " ", ln.lstrip("#").strip()) for c in other_nb.cells if c.cell_type == "markdown"
                     for ln in c.source.splitlines() if ln.startswith("#")}
        else:
            found = headings
        assert heading in found, f"{assignment} {h.id}: no heading {heading!r} in {title} (headings: {sorted(found)})"
        assert not re.search(r"np\.|\w\(.*\)|\[\w+\]|==|\+=|\*=", h.text), (
            f"{assignment} {h.id}: a hint names the misconception in words, without code: {h.text!r}")
