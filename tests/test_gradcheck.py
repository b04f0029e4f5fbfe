"""dlbasics.gradcheck: central differences against closed forms; rel_error semantics."""

from __future__ import annotations

import numpy as np
import pytest

from dlbasics.gradcheck import numerical_gradient, numerical_gradient_array, rel_error


def test_numerical_gradient_of_a_quadratic_form_matches_closed_form() -> None:
    rng = np.random.default_rng(0)
    a = rng.standard_normal((4, 4))
    x = rng.standard_normal(4)
    # f(x) = x^T A x has gradient (A + A^T) x; central differences are exact for quadratics up to round-off
    grad = numerical_gradient(lambda z: z @ a @ z, x)
    assert rel_error(grad, (a + a.T) @ x) <= 1e-9


def test_numerical_gradient_restores_input_bitwise_even_when_f_raises() -> None:
    x = np.array([0.1, 0.2, 0.3])
    before = x.copy()
    numerical_gradient(lambda z: float(np.sum(np.sin(z))), x)
    assert np.array_equal(x, before) and x.tobytes() == before.tobytes()
    with pytest.raises(ZeroDivisionError):
        numerical_gradient(lambda z: 1 / 0, x)
    assert x.tobytes() == before.tobytes(), "x must be restored even if f raises"


def test_central_difference_error_is_second_order() -> None:
    # f = exp, f' = exp; error of the central difference ~ h^2/6 f'''
    x = np.array([0.5])
    errs = [abs(numerical_gradient(lambda z: float(np.exp(z[0])), x, h)[0] - np.exp(0.5)) for h in (1e-2, 1e-3)]
    assert 50 < errs[0] / errs[1] < 200, f"error ratio {errs[0] / errs[1]:.1f} should be ~100 for O(h^2)"


def test_numerical_gradient_array_checks_a_backward_pass() -> None:
    rng = np.random.default_rng(1)
    w = rng.standard_normal((3, 2))
    x = rng.standard_normal((5, 3))
    dout = rng.standard_normal((5, 2))
    assert rel_error(numerical_gradient_array(lambda z: z @ w, x, dout), dout @ w.T) <= 1e-9


@pytest.mark.parametrize(
    "a,b,expected",
    [
        ([0.0, 0.0], [0.0, 0.0], 0.0),
        ([1.0, 2.0], [1.0, 2.0], 0.0),
        ([1.0, 0.0], [2.0, 0.0], 0.5),
        ([0.0], [1e-30], 1.0),
        ([np.nan], [np.nan], 0.0),
        ([np.inf, 1.0], [np.inf, 1.0], 0.0),
    ],
)
def test_rel_error_values(a: list[float], b: list[float], expected: float) -> None:
    assert rel_error(np.array(a), np.array(b)) == pytest.approx(expected)


def test_rel_error_flags_nan_mismatch_and_shape_mismatch() -> None:
    assert np.isnan(rel_error(np.array([np.nan]), np.array([1.0])))
    with pytest.raises(ValueError, match="shape"):
        rel_error(np.ones(2), np.ones(3))
