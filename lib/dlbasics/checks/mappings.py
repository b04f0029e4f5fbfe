"""Checks for results that are dicts of arrays (named gradients, such as those of a weight penalty).

``params = {"w1": w1, "w2": w2}`` is how the course names a model's parameters; a function of all of
them returns its gradients in the same structure. :func:`assert_mapping_close` checks the structure (a
``dict`` with the same keys, in the same order, each value shaped like its array) with one hint and the
values with another, if need be on a part of the entries only (``where``: a boolean mask per key), as at
the kink of a penalty, where the gradient is a convention::

    assert_mapping_close(grads, expected, rtol=1e-10, name="grads", hint=H.l2_gradient,
                         keys_hint=H.penalty_structure)
    zero = {k: w == 0 for k, w in params.items()}
    assert_mapping_close(grads, expected, rtol=1e-10, name="grads at 0", hint=H.l1_subgradient_zero, where=zero)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from dlbasics.checks.asserts import HintLike, assert_close, assert_shape, fail

__all__ = ["assert_mapping_close"]


def assert_mapping_close(
    actual: Any,
    expected: Mapping[str, Any],
    *,
    rtol: float,
    name: str,
    hint: HintLike = None,
    keys_hint: HintLike = None,
    where: Mapping[str, Any] | None = None,
) -> None:
    """Assert ``actual`` is a ``dict`` with exactly the keys of ``expected`` in the same order (else fail with
    ``keys_hint``, default ``hint``), each value an array of the expected shape (``keys_hint``) and within a
    norm-wise relative error of ``rtol`` of the expected value (``hint``; see :func:`assert_close`), over the
    entries where ``where[key]`` (a boolean mask of that shape) is True, or over all of them."""
    structure = hint if keys_hint is None else keys_hint
    keys = list(expected)
    if not isinstance(actual, dict):
        raise fail(
            f"{name}: expected a dict with the keys {keys}, got {type(actual).__name__}",
            structure,
        )
    if list(actual) != keys:
        raise fail(
            f"{name}: expected the keys {keys}, in this order, got {list(actual)}",
            structure,
        )
    for key in keys:
        assert_shape(
            actual[key],
            np.shape(expected[key]),
            name=f"{name}[{key!r}]",
            hint=structure,
        )
        a, e = np.asarray(actual[key]), np.asarray(expected[key])
        if where is not None:
            mask = np.asarray(where[key], dtype=bool)
            a, e = a[mask], e[mask]
        assert_close(a, e, rtol=rtol, name=f"{name}[{key!r}]", hint=hint)
