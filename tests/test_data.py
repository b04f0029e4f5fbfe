"""dlbasics.data: the synthetic house prices, the split and the standardizer."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlbasics.data import (
    HOUSE_FEATURES,
    fit_standardizer,
    house_price_formula,
    make_house_prices,
    train_val_split,
)
from dlbasics.gradcheck import rel_error


def test_house_prices_shapes_and_ranges() -> None:
    d = make_house_prices(500, np.random.default_rng(0))
    assert d.x.shape == (500, len(HOUSE_FEATURES)) and d.x.dtype == np.float64, f"x {d.x.shape} {d.x.dtype}"
    assert d.y.shape == d.y_clean.shape == (500, 1), "y and y_clean must have shape (n, 1)"
    rooms, area, dist, onehot = d.x[:, 0], d.x[:, 1], d.x[:, 2], d.x[:, 3:]
    assert set(np.unique(rooms)) <= set(range(1, 7)), "rooms are integers 1..6"
    assert area.min() >= 15.0 and dist.min() >= 0.0, "area >= 15 m2 and distance >= 0 km"
    assert np.array_equal(onehot.sum(axis=1), np.ones(500)), "the type columns must be one-hot"
    assert np.array_equal(onehot.argmax(axis=1), d.house_type), "one-hot columns and house_type codes must agree"


def test_house_prices_follow_the_documented_formula() -> None:
    d = make_house_prices(20_000, np.random.default_rng(1), noise=25.0)
    clean = house_price_formula(d.x[:, 0], d.x[:, 1], d.x[:, 2], d.house_type)
    assert rel_error(d.y_clean.ravel(), clean) <= 1e-14, "y_clean must be house_price_formula(features)"
    resid = (d.y - d.y_clean).ravel()
    assert abs(resid.std() - 25.0) < 0.5 and abs(resid.mean()) < 0.5, f"noise sd {resid.std():.2f}, expected 25"
    d0 = make_house_prices(10, np.random.default_rng(1), noise=0.0)
    assert np.array_equal(d0.y, d0.y_clean), "noise=0 must give exactly the clean prices"


def test_house_prices_are_reproducible_and_validate_arguments() -> None:
    a = make_house_prices(50, np.random.default_rng(5))
    b = make_house_prices(50, np.random.default_rng(5))
    assert np.array_equal(a.x, b.x) and np.array_equal(a.y, b.y), "same seed must give the same data"
    with pytest.raises(ValueError):
        make_house_prices(0, np.random.default_rng(0))
    with pytest.raises(ValueError):
        make_house_prices(5, np.random.default_rng(0), noise=-1.0)


@settings(max_examples=30, deadline=None)
@given(n=st.integers(2, 60), frac=st.floats(0.05, 0.95), seed=st.integers(0, 2**16))
def test_split_partitions_the_rows(n: int, frac: float, seed: int) -> None:
    x = np.arange(n * 2, dtype=np.float64).reshape(n, 2)
    y = x[:, :1] * 10
    x0, y0 = x.copy(), y.copy()
    xt, yt, xv, yv = train_val_split(x, y, frac, np.random.default_rng(seed))
    assert len(xt) + len(xv) == n and len(xt) >= 1 and len(xv) >= 1, "every row goes to exactly one side"
    rows = np.sort(np.concatenate([xt[:, 0], xv[:, 0]]))
    assert np.array_equal(rows, x[:, 0]), "the split must be a partition of the rows"
    assert np.array_equal(yt, xt[:, :1] * 10) and np.array_equal(yv, xv[:, :1] * 10), "x and y rows must stay paired"
    assert np.array_equal(x, x0) and np.array_equal(y, y0), "train_val_split must not modify its inputs"


def test_standardizer_is_fitted_on_train_and_matches_sklearn() -> None:
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(2)
    x = rng.normal(3.0, 5.0, size=(40, 3))
    x[:, 2] = 7.0  # a constant column must not divide by zero
    st_ = fit_standardizer(x)
    sk = StandardScaler().fit(x)
    z = st_.transform(x)
    assert rel_error(z, sk.transform(x)) <= 1e-12, "standardization differs from sklearn's StandardScaler"
    assert np.allclose(z[:, :2].mean(axis=0), 0) and np.allclose(z[:, :2].std(axis=0), 1), "mean 0, sd 1 on train"
    assert np.array_equal(z[:, 2], np.zeros(40)), "a constant column is only centred"
    assert rel_error(st_.inverse_transform(z), x) <= 1e-14, "inverse_transform must undo transform"
    z32 = st_.transform(x.astype(np.float32))
    assert z32.dtype == np.float32, "transform must keep the dtype of its input"
