"""Shared type aliases and argument checks."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.floating[Any]]
"""A floating-point array (float32 or float64; the dtype is preserved)."""


def check_floating(x: np.ndarray[Any, Any], name: str = "x") -> None:
    """Raise ``TypeError`` unless ``x`` is a floating-point ndarray."""
    if not isinstance(x, np.ndarray):
        raise TypeError(
            f"{name} must be a numpy.ndarray, got {type(x).__name__}"
        )
    if not np.issubdtype(x.dtype, np.floating):
        raise TypeError(
            f"{name} must have a floating dtype (float32 or float64), got {x.dtype}"
        )
