r"""Small data sets and the preprocessing every chapter needs.

- :func:`make_house_prices`: a synthetic house-price regression problem with a
  known, non-linear ground truth (so the best achievable loss is known).
- :func:`train_val_split`: a random split into training and validation sets.
- :func:`fit_standardizer`: feature standardization fitted on the training set only.

All randomness comes from an explicit ``rng: np.random.Generator``.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from dlbasics._typing import FloatArray

IntArray = npt.NDArray[np.integer[Any]]
"""An integer array (the house-type codes)."""

HOUSE_TYPES: tuple[str, ...] = ("apartment", "house", "villa")
"""Names of the house types, in the order of their integer codes 0, 1, 2."""

HOUSE_FEATURES: tuple[str, ...] = (
    "rooms",
    "area_m2",
    "distance_km",
    "is_apartment",
    "is_house",
    "is_villa",
)
"""Column names of :attr:`HouseData.x`."""


class HouseData(NamedTuple):
    """A synthetic house-price data set (see :func:`make_house_prices`)."""

    x: FloatArray
    """Features, shape (n, 6), float64, columns :data:`HOUSE_FEATURES`."""
    y: FloatArray
    """Observed prices in thousands of euros (k€), shape (n, 1): ``y_clean`` plus noise."""
    y_clean: FloatArray
    """Noise-free prices :math:`f(x)` from the ground-truth formula, shape (n, 1)."""
    house_type: IntArray
    """Integer type codes, shape (n,): 0 apartment, 1 house, 2 villa (also one-hot in ``x``)."""
    noise: float
    """Standard deviation of the Gaussian noise added to the prices (k€)."""


def house_price_formula(
    rooms: FloatArray,
    area: FloatArray,
    distance: FloatArray,
    house_type: IntArray,
) -> FloatArray:
    r"""The ground-truth price (k€) of :func:`make_house_prices`, without noise.

    .. math::

        f = m_{\text{type}} \cdot 4\, A^{0.9} \cdot \bigl(0.5 + 0.5\, e^{-d/2}\bigr) + 20 \sqrt{r},
        \qquad m = (1,\ 1.35,\ 1.9) \text{ for (apartment, house, villa)},

    with :math:`A` the area in m², :math:`d` the distance to the nearest station in km
    and :math:`r` the number of rooms. It is non-linear in every feature and the
    type multiplies (interacts with) area and distance, so no linear model fits it exactly.

    Parameters
    ----------
    rooms, area, distance : ndarray of shape (n,)
    house_type : integer ndarray of shape (n,), values in {0, 1, 2}

    Returns
    -------
    price : ndarray of shape (n,), float64
    """
    mult = np.array([1.0, 1.35, 1.9])[house_type]
    near = 0.5 + 0.5 * np.exp(-distance / 2.0)
    out: FloatArray = mult * 4.0 * area**0.9 * near + 20.0 * np.sqrt(rooms)
    return out


def make_house_prices(
    n: int, rng: np.random.Generator, *, noise: float = 25.0
) -> HouseData:
    r"""Draw a synthetic house-price regression data set.

    Each house is drawn as follows:

    - type: apartment, house or villa with probabilities 0.6, 0.3, 0.1;
    - rooms :math:`r`: an integer, 1 to 6 (villas 3 to 6), uniform;
    - area :math:`A` (m²): :math:`15 + 20 r + 10\,\text{type} \cdot r + \varepsilon_A`,
      :math:`\varepsilon_A \sim \mathcal N(0, 10^2)`, at least 15;
    - distance to the nearest station :math:`d` (km): exponential with mean 1.5;
    - price (k€): :func:`house_price_formula` plus :math:`\mathcal N(0, \text{noise}^2)`.

    The type is given both as an integer code (``house_type``) and one-hot in
    ``x`` (columns ``is_apartment``, ``is_house``, ``is_villa``): one-hot, because
    an integer code would tell a model that a villa is "twice a house".

    Because the noise is independent of the features, the smallest possible expected
    mean squared error of *any* model is ``noise**2`` (reached by the formula itself).

    Parameters
    ----------
    n : int
        Number of houses, :math:`\ge 1`.
    rng : numpy.random.Generator
        Source of randomness.
    noise : float, default 25.0
        Standard deviation of the price noise, in k€ (0 gives noise-free prices).

    Returns
    -------
    HouseData
        ``x`` (n, 6), ``y`` and ``y_clean`` (n, 1), ``house_type`` (n,), all float64
        except ``house_type``.

    See Also
    --------
    sklearn.datasets.make_regression : a linear analogue.
    """
    if n < 1:
        raise ValueError(f"Invalid n: {n}")
    if noise < 0:
        raise ValueError(f"Invalid noise standard deviation: {noise}")
    house_type = rng.choice(3, size=n, p=[0.6, 0.3, 0.1])
    low = np.where(house_type == 2, 3, 1)
    rooms = rng.integers(low, 7).astype(np.float64)
    area = (
        15.0
        + 20.0 * rooms
        + 10.0 * house_type * rooms
        + rng.normal(0.0, 10.0, size=n)
    )
    area = np.maximum(area, 15.0)
    distance = rng.exponential(1.5, size=n)
    clean = house_price_formula(rooms, area, distance, house_type)
    y = clean + rng.normal(0.0, noise, size=n) if noise > 0 else clean.copy()
    onehot = np.eye(3)[house_type]
    x = np.column_stack([rooms, area, distance, onehot])
    return HouseData(
        x=x,
        y=y.reshape(-1, 1),
        y_clean=clean.reshape(-1, 1),
        house_type=house_type,
        noise=float(noise),
    )


def train_val_split(
    x: FloatArray, y: FloatArray, val_fraction: float, rng: np.random.Generator
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    r"""Split examples at random into a training set and a validation set.

    Parameters
    ----------
    x : ndarray of shape (N, ...)
        Inputs; not modified.
    y : ndarray of shape (N, ...)
        Targets, same first axis as ``x``; not modified.
    val_fraction : float
        Fraction of the examples put in the validation set, in (0, 1); the count is
        ``round(val_fraction * N)``, at least 1 and at most ``N - 1``.
    rng : numpy.random.Generator
        Draws the random permutation.

    Returns
    -------
    x_train, y_train, x_val, y_val : ndarray
        Copies (not views) of the rows of ``x`` and ``y``.

    See Also
    --------
    sklearn.model_selection.train_test_split, torch.utils.data.random_split
    """
    n = x.shape[0]
    if y.shape[0] != n:
        raise ValueError(
            f"x and y must have the same number of rows, got {n} and {y.shape[0]}"
        )
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"Invalid val_fraction: {val_fraction}")
    if n < 2:
        raise ValueError("need at least 2 examples to split")
    n_val = min(max(int(round(val_fraction * n)), 1), n - 1)
    perm = rng.permutation(n)
    val, train = perm[:n_val], perm[n_val:]
    return x[train], y[train], x[val], y[val]


class Standardizer(NamedTuple):
    r"""Per-feature mean and standard deviation, fitted by :func:`fit_standardizer`.

    .. math::

        \text{transform}(x) = \frac{x - \mu}{\sigma}, \qquad
        \text{inverse\_transform}(z) = z\,\sigma + \mu
    """

    mean: FloatArray
    """Shape (D,)."""
    std: FloatArray
    """Shape (D,); features that are constant in the training set get 1, not 0."""

    def transform(self, x: FloatArray) -> FloatArray:
        """Standardize ``x`` of shape (N, D) with the fitted statistics (returns a new array)."""
        out: FloatArray = ((x - self.mean) / self.std).astype(
            x.dtype, copy=False
        )
        return out

    def inverse_transform(self, z: FloatArray) -> FloatArray:
        """Undo :meth:`transform` (e.g. to express a standardized prediction in k€)."""
        out: FloatArray = (z * self.std + self.mean).astype(
            z.dtype, copy=False
        )
        return out


def fit_standardizer(x_train: FloatArray) -> Standardizer:
    r"""Fit feature standardization on the *training* set only.

    The validation set must be transformed with the training set's statistics:
    fitting them on all data would leak information about the validation set into training.

    Parameters
    ----------
    x_train : ndarray of shape (N, D)
        Training inputs; not modified.

    Returns
    -------
    Standardizer
        Mean and (biased, ``ddof=0``) standard deviation of each column. A column with
        standard deviation 0 gets 1, so it is only centred (no division by zero).

    See Also
    --------
    sklearn.preprocessing.StandardScaler : same statistics and the same handling of constant columns.
    """
    if x_train.ndim != 2:
        raise ValueError(
            f"x_train must have shape (N, D), got {x_train.shape}"
        )
    mean = x_train.mean(axis=0)
    std = x_train.std(axis=0)
    std = np.where(std > 0, std, 1.0).astype(x_train.dtype, copy=False)
    return Standardizer(mean=mean, std=std)
