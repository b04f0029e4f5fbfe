"""Hypothesis strategies shared by the tests (one place, as in minitorch)."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

float_dtypes = st.sampled_from([np.float32, np.float64])


@st.composite
def float_arrays(draw: st.DrawFn, *, min_dims: int = 1, max_dims: int = 3, bound: float = 1e3) -> np.ndarray:
    """Finite float32/float64 arrays with entries in [-bound, bound], zeros included often."""
    dtype = draw(float_dtypes)
    shape = draw(hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=1, max_side=6))
    elements = st.one_of(
        st.just(0.0),
        st.floats(-bound, bound, allow_nan=False, allow_infinity=False, width=32),
    )
    return draw(hnp.arrays(dtype, shape, elements=elements))


@st.composite
def logits_and_targets(draw: st.DrawFn, *, bound: float = 1e3) -> tuple[np.ndarray, np.ndarray]:
    """Logits of shape (N, C), float32 or float64, entries in [-bound, bound], and int64 class indices (N,)."""
    logits = draw(float_arrays(min_dims=2, max_dims=2, bound=bound))
    n, c = logits.shape
    targets = draw(hnp.arrays(np.int64, (n,), elements=st.integers(0, c - 1)))
    return logits, targets
