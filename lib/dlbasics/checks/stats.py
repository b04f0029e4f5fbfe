"""Statistical checks for random results (NumPy only): a count or a mean of independent Bernoulli draws.

A student's random numbers need not be the reference's (nor PyTorch's): a test of a random operation
such as dropout checks what every correct answer shares, within bounds that a correct answer leaves
only with a stated, tiny probability (the *false-failure probability*, :data:`FALSE_FAILURE` per
check unless a test says otherwise)::

    out, _ = call_student(dropout_forward, np.full(4000, 3.0), 0.25, True, np.random.default_rng(0))
    assert_binomial_count(int(np.sum(out == 0)), 4000, 0.25, name="entries dropped", hint=H.dropout_p_meaning)
    assert_binomial_mean(float(np.mean(out)), 4000, 0.75, 3.0, name="mean of out", hint=H.dropout_scale)

The bounds are exact quantiles of the binomial distribution (computed here, in float64), not a
normal approximation, so they hold for small counts and for probabilities close to 0 or 1 too.
"""

from __future__ import annotations

import math

import numpy as np

from dlbasics.checks.asserts import HintLike, fail

__all__ = [
    "FALSE_FAILURE",
    "assert_binomial_count",
    "assert_binomial_mean",
    "binomial_interval",
]

#: The probability that one statistical check fails a correct answer (its random numbers being random).
FALSE_FAILURE = 1e-9


def binomial_interval(
    n: int, p: float, false_failure: float = FALSE_FAILURE
) -> tuple[int, int]:
    """The central interval ``[lo, hi]`` of a binomial count ``K`` (``n`` independent draws, each a success
    with probability ``p``): ``P(K < lo) <= false_failure / 2`` and ``P(K > hi) <= false_failure / 2``, with
    ``lo`` as large and ``hi`` as small as that allows. So a correct count falls outside with probability at
    most ``false_failure``."""
    n = int(n)
    if n < 0 or not 0.0 <= p <= 1.0 or not 0.0 < false_failure < 1.0:
        raise ValueError(
            f"binomial_interval needs n >= 0, 0 <= p <= 1 and 0 < false_failure < 1; got {n}, {p}, "
            f"{false_failure}"
        )
    if p == 0.0:
        return 0, 0
    if p == 1.0:
        return n, n
    k = np.arange(n + 1)
    log_factorial = np.concatenate(
        [[0.0], np.cumsum(np.log(np.arange(1, n + 1, dtype=np.float64)))]
    )
    log_pmf = (
        log_factorial[n]
        - log_factorial[k]
        - log_factorial[n - k]
        + k * math.log(p)
        + (n - k) * math.log1p(-p)
    )
    pmf = np.exp(log_pmf)
    below = np.cumsum(
        pmf
    )  # P(K <= k), summed from the small terms of the lower tail up
    above = np.cumsum(pmf[::-1])[
        ::-1
    ]  # P(K >= k), summed from the small terms of the upper tail down
    half = false_failure / 2.0
    lo = int(np.count_nonzero(below <= half))  # P(K <= lo - 1) <= half
    hi = n - int(np.count_nonzero(above <= half))  # P(K >= hi + 1) <= half
    return lo, hi


def assert_binomial_count(
    count: int,
    n: int,
    p: float,
    *,
    name: str,
    hint: HintLike = None,
    false_failure: float = FALSE_FAILURE,
) -> None:
    """Assert that ``count`` (of ``n`` independent draws, each counted with probability ``p``) lies in the
    :func:`binomial_interval`: a correct answer fails this with probability at most ``false_failure``."""
    lo, hi = binomial_interval(n, p, false_failure)
    if not lo <= int(count) <= hi:
        raise fail(
            f"{name}: {int(count)} of {n}, expected about {n * p:.6g} (a fraction {p:g}); a correct answer "
            f"gives a count from {lo} to {hi}, except with probability below {false_failure:g} (binomial "
            f"distribution with n = {n} and p = {p:g})",
            hint,
        )


def assert_binomial_mean(
    mean: float,
    n: int,
    q: float,
    value: float,
    *,
    name: str,
    hint: HintLike = None,
    false_failure: float = FALSE_FAILURE,
    rtol: float = 1e-6,
) -> None:
    """Assert that ``mean``, the mean of ``n`` independent terms each equal to ``value / q`` with probability ``q``
    and to 0 otherwise (so that its expectation is ``value``, as inverted dropout makes it), lies within the
    bounds that the :func:`binomial_interval` of the number of nonzero terms gives, widened by ``rtol``
    (relative, for rounding): a correct answer fails this with probability at most ``false_failure``."""
    if not 0.0 < q <= 1.0:
        raise ValueError(f"assert_binomial_mean needs 0 < q <= 1, got {q}")
    lo, hi = binomial_interval(n, q, false_failure)
    a, b = sorted((value * lo / (n * q), value * hi / (n * q)))
    slack = rtol * abs(value) / q
    m = float(mean)
    if not a - slack <= m <= b + slack:
        raise fail(
            f"{name} is {m:.8g}, expected about {value:.8g} (its expectation); with {n} terms, each nonzero "
            f"with probability {q:g}, a correct answer gives a mean from {a:.8g} to {b:.8g}, except with "
            f"probability below {false_failure:g} (binomial distribution of the number of nonzero terms)",
            hint,
        )
