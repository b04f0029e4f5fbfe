r"""Loss functions: each returns the loss and its gradient with respect to the prediction.

Every ``*_loss(pred, target)`` returns ``(loss, dpred)``: a scalar and
:math:`\partial L / \partial \text{pred}`, the start of the backward pass.
Reductions are the mean, as in PyTorch's defaults.
"""

from __future__ import annotations

import numpy as np

from dlbasics._typing import FloatArray, check_floating


def mse_loss(
    pred: FloatArray, target: FloatArray
) -> tuple[float, FloatArray]:
    r"""Mean squared error (MSE), averaged over *all* elements.

    .. math::

        L = \frac{1}{K} \sum_{k=1}^{K} (\text{pred}_k - \text{target}_k)^2, \qquad
        \frac{\partial L}{\partial \text{pred}} = \frac{2}{K} (\text{pred} - \text{target}),

    where :math:`K` is the number of elements of ``pred`` (for shape (N, M), :math:`K = NM`).

    Parameters
    ----------
    pred : ndarray of any shape, float32 or float64
        Predictions; not modified.
    target : ndarray, same shape as ``pred``
        Targets; not modified.

    Returns
    -------
    loss : float
    dpred : ndarray, same shape and dtype as ``pred``

    See Also
    --------
    torch.nn.functional.mse_loss : with its default ``reduction="mean"``.

    Notes
    -----
    No exponentials or divisions by data; squares of differences above about
    :math:`10^{154}` would overflow float64.
    """
    check_floating(pred, "pred")
    check_floating(target, "target")
    if pred.shape != target.shape:
        raise ValueError(
            "pred and target must have the same shape, "
            f"got {pred.shape} and {target.shape}"
        )
    diff = pred - target
    k = diff.size
    loss = float(np.mean(diff * diff)) if k else float("nan")
    scaled = diff * (2.0 / k) if k else diff
    dpred = scaled.astype(pred.dtype, copy=False)
    return loss, dpred
