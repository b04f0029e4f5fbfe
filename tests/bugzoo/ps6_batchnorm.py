"""Known-wrong answers to ps6_batchnorm, each of which must lose exactly the named test cells.

A bug is applied to the reference answer of one solution cell (``cell`` is its grade_id), with the
``### BEGIN/END SOLUTION`` lines removed, by replacing the first occurrence of ``old`` with ``new``.
``loses`` is the exact set of autograded test cells that must then score less than full points, and
the failure message of each of them names ``misconception`` (an id of
``dlbasics.checks.misconceptions.ps6_batchnorm``). ``ALTERNATIVES`` are correct answers written
differently from the reference: they must keep full marks.

The tests probe in an order that makes the first failure specific (values with eps = 0, then with
eps > 0, then features whose mean dwarfs their spread), so ``bn_eps_outside_sqrt`` is diagnosed as
eps wherever it loses. A backward pass is checked against the student's own forward pass, so a wrong
forward pass with a backward pass that is right *for it* (``bn_batch_statistics_in_evaluation``,
``ln_over_the_batch``) keeps the backward test's points, and loses the tests that compare values.
"""

from __future__ import annotations

from tests.bugzoo import Bug


def _bn(*kinds: str) -> frozenset[str]:
    return frozenset(f"test_batchnorm_{kind}" for kind in kinds)


def _ln(*kinds: str) -> frozenset[str]:
    return frozenset(f"test_layernorm_{kind}" for kind in kinds)


# The statistics of layer normalization, forward and backward (one span of the "layernorm" cell): the bug
# ln_over_the_batch takes every one of them over axis 0 instead, a consistent layer normalization of the wrong axis.
_LN_AXIS_1 = """    mean = x.mean(axis=1, keepdims=True)
    centred = x - mean
    var = (centred * centred).mean(axis=1, keepdims=True)
    inv_std = 1 / np.sqrt(var + eps)
    x_hat = centred * inv_std
    out = gamma * x_hat + beta
    cache = (x_hat, gamma, inv_std)
    return out, cache


def layernorm_backward(dout, cache):
    r\"\"\"Gradients of layer normalization with respect to x, gamma and beta.

    Parameters
    ----------
    dout : ndarray of shape (N, D), the upstream gradient dL/dout (not modified)
    cache : what layernorm_forward returned

    Returns
    -------
    dx : ndarray of shape (N, D), dL/dx
    dgamma : ndarray of shape (D,), dL/dgamma
    dbeta : ndarray of shape (D,), dL/dbeta
        all three in the dtype of the forward pass's inputs
    \"\"\"
    x_hat, gamma, inv_std = cache
    d = x_hat.shape[1]
    g = dout * gamma
    g_sum = g.sum(axis=1, keepdims=True)
    g_x_hat_sum = (g * x_hat).sum(axis=1, keepdims=True)"""

BUGS: list[Bug] = [
    Bug(
        name="bn_biased_running_variance",
        cell="batchnorm_forward",
        old="momentum * (var * (n / (n - 1)))",
        new="momentum * var",
        loses=_bn("forward_running", "torch"),
        why="the running variance is updated with the biased batch variance (the one that normalizes), not N/(N-1) times it",
        misconception="running_unbiased",
    ),
    Bug(
        name="bn_reversed_momentum",
        cell="batchnorm_forward",
        old="""        new_mean = (1 - momentum) * running_mean + momentum * mean
        new_var = (1 - momentum) * running_var + momentum * (var * (n / (n - 1)))""",
        new="""        new_mean = momentum * running_mean + (1 - momentum) * mean
        new_var = momentum * running_var + (1 - momentum) * (var * (n / (n - 1)))""",
        loses=_bn("forward_running", "torch"),
        why="CS231n's convention: momentum weights the old running value, so PyTorch's momentum=0.1 keeps only 10 % of it",
        misconception="momentum_convention",
    ),
    Bug(
        name="bn_batch_statistics_in_evaluation",
        cell="batchnorm_forward",
        old="""    if training:
        mean = x.mean(axis=0)
        centred = x - mean
        var = (centred * centred).mean(axis=0)
        new_mean = (1 - momentum) * running_mean + momentum * mean
        new_var = (1 - momentum) * running_var + momentum * (var * (n / (n - 1)))
    else:
        centred = x - running_mean
        var = running_var
        new_mean, new_var = running_mean.copy(), running_var.copy()""",
        new="""    mean = x.mean(axis=0)  # the batch's statistics in both modes
    centred = x - mean
    var = (centred * centred).mean(axis=0)
    if training:
        new_mean = (1 - momentum) * running_mean + momentum * mean
        new_var = (1 - momentum) * running_var + momentum * (var * (n / (n - 1)))
    else:
        new_mean, new_var = running_mean.copy(), running_var.copy()
    training = True  # and the backward pass always goes through the batch statistics""",
        loses=_bn("forward_eval", "forward_edge", "backward_edge", "torch"),
        why="evaluation mode normalizes with the batch's statistics (the running ones are only kept up to date)",
        misconception="eval_uses_running",
    ),
    Bug(
        name="bn_backward_without_coupling",
        cell="batchnorm_backward",
        old="        dx = gamma * inv_std / n * (n * dout - dbeta - x_hat * dgamma)",
        new="        dx = gamma * inv_std * dout",
        loses=_bn("backward_training", "backward_edge", "torch"),
        why="in training mode the batch mean and variance depend on x; treating them as constants gives the evaluation-mode gradient",
        misconception="bn_backward_coupling",
    ),
    Bug(
        name="bn_eps_outside_sqrt",
        cell="batchnorm_forward",
        old="    inv_std = 1 / np.sqrt(var + eps)",
        new="    inv_std = 1 / (np.sqrt(var) + eps)",
        loses=_bn("forward_training", "forward_eval", "backward_training", "backward_edge", "torch"),
        why="epsilon added to the standard deviation instead of the variance: right for eps = 0 only",
        misconception="eps_inside_sqrt",
    ),
    Bug(
        name="ln_over_the_batch",
        cell="layernorm",
        old=_LN_AXIS_1,
        new=_LN_AXIS_1.replace("axis=1", "axis=0").replace("d = x_hat.shape[1]", "d = x_hat.shape[0]"),
        loses=_ln("forward", "edge", "torch"),
        why="layer normalization standardizes each example over its features (axis 1), not each feature over the batch",
        misconception="ln_definition",
    ),
    Bug(
        name="bn_running_statistics_updated_in_evaluation",
        cell="batchnorm_forward",
        old="        new_mean, new_var = running_mean.copy(), running_var.copy()",
        new="""        new_mean = (1 - momentum) * running_mean + momentum * x.mean(axis=0)
        new_var = (1 - momentum) * running_var + momentum * x.var(axis=0, ddof=1)""",
        loses=_bn("forward_eval", "torch"),
        why="the running statistics are updated in evaluation mode too; evaluation must leave them as they were",
        misconception="eval_keeps_buffers",
    ),
    Bug(
        name="bn_dgamma_dbeta_mean",
        cell="batchnorm_backward",
        old="""    dbeta = dout.sum(axis=0)
    dgamma = (dout * x_hat).sum(axis=0)
    if training:
        n = dout.shape[0]
        dx = gamma * inv_std / n * (n * dout - dbeta - x_hat * dgamma)""",
        new="""    n = dout.shape[0]
    dbeta = dout.mean(axis=0)
    dgamma = (dout * x_hat).mean(axis=0)
    if training:
        dx = gamma * inv_std * (dout - dbeta - x_hat * dgamma)""",
        loses=_bn("backward_training", "backward_eval", "backward_edge", "torch"),
        why="gamma and beta are shared by the batch: their gradients are sums over it, not means (dx is right)",
        misconception="shared_parameter_sum",
    ),
    Bug(
        name="bn_backward_ignores_the_mode",
        cell="batchnorm_backward",
        old="    if training:\n",
        new="    if True:  # the cache's mode is not used\n",
        loses=_bn("backward_eval", "backward_edge", "torch"),
        why="the training-mode gradient applied in evaluation mode too, where the statistics are constants",
        misconception="bn_backward_eval",
    ),
    Bug(
        name="bn_running_statistics_in_place",
        cell="batchnorm_forward",
        old="""        new_mean = (1 - momentum) * running_mean + momentum * mean
        new_var = (1 - momentum) * running_var + momentum * (var * (n / (n - 1)))""",
        new="""        running_mean *= 1 - momentum  # CS231n style: the buffers updated where they are
        running_mean += momentum * mean
        running_var *= 1 - momentum
        running_var += momentum * (var * (n / (n - 1)))
        new_mean, new_var = running_mean, running_var""",
        loses=_bn("forward_edge", "backward_edge"),
        why="the running statistics are updated in place: right values, but the caller's arrays are overwritten",
        misconception="modifies_input",
    ),
    Bug(
        name="bn_float64_upcast",
        cell="batchnorm_forward",
        old="    n = x.shape[0]\n",
        new="    x = x.astype(np.float64)  # 'for accuracy'\n    n = x.shape[0]\n",
        loses=_bn("forward_edge", "backward_edge"),
        why="casting x to float64 turns float32 inputs into float64 outputs, running statistics and gradients",
        misconception="keeps_dtype",
    ),
    Bug(
        name="bn_variance_by_cancellation",
        cell="batchnorm_forward",
        old="        var = (centred * centred).mean(axis=0)",
        new="        var = (x * x).mean(axis=0) - mean * mean",
        loses=_bn("forward_edge"),
        why="the mean of the squares minus the squared mean cancels catastrophically when the mean dwarfs the spread",
        misconception="variance_cancellation",
    ),
    Bug(
        name="ln_gamma_outside_the_sums",
        cell="layernorm",
        old="""    g = dout * gamma
    g_sum = g.sum(axis=1, keepdims=True)
    g_x_hat_sum = (g * x_hat).sum(axis=1, keepdims=True)
    dx = inv_std / d * (d * g - g_sum - x_hat * g_x_hat_sum)""",
        new="""    g_sum = dout.sum(axis=1, keepdims=True)  # batch normalization's formula, along the rows
    g_x_hat_sum = (dout * x_hat).sum(axis=1, keepdims=True)
    dx = gamma * inv_std / d * (d * dout - g_sum - x_hat * g_x_hat_sum)""",
        loses=_ln("backward", "edge", "torch"),
        why="batch normalization's backward along the other axis, with gamma factored out of sums over the features it varies along",
        misconception="ln_backward",
    ),
    Bug(
        name="ln_calls_reference",
        cell="layernorm",
        old="""    mean = x.mean(axis=1, keepdims=True)
    centred = x - mean
    var = (centred * centred).mean(axis=1, keepdims=True)
    inv_std = 1 / np.sqrt(var + eps)
    x_hat = centred * inv_std
    out = gamma * x_hat + beta
    cache = (x_hat, gamma, inv_std)
    return out, cache""",
        new="""    from dlbasics.normalization import layernorm_forward as _ref
    out, cache = _ref(x, gamma, beta, eps=eps)
    return out, tuple(cache)""",
        loses=_ln("forward", "backward", "edge", "torch"),
        why="calling the course's reference implementation earns no points (call_student detects it)",
        misconception="uses_reference",
    ),
]

# Correct answers written differently from the reference: each must keep full marks.
ALTERNATIVES: list[Bug] = [
    Bug(
        name="bn_staged_backward",
        cell="batchnorm_backward",
        old="""    if training:
        n = dout.shape[0]
        dx = gamma * inv_std / n * (n * dout - dbeta - x_hat * dgamma)""",
        new="""    if training:  # node by node through the computational graph, as CS231n's staged version
        n = dout.shape[0]
        centred = x_hat / inv_std
        dx_hat = dout * gamma
        dvar = (dx_hat * centred).sum(axis=0) * -0.5 * inv_std ** 3
        dcentred = dx_hat * inv_std + dvar * 2 * centred / n
        dmean = -dcentred.sum(axis=0)
        dx = dcentred + dmean / n""",
        loses=frozenset(),
        why="the backward pass node by node (variance, then mean, then x) instead of the compact formula",
    ),
    Bug(
        name="bn_numpy_var_and_division",
        cell="batchnorm_forward",
        old="""    n = x.shape[0]
    if training:
        mean = x.mean(axis=0)
        centred = x - mean
        var = (centred * centred).mean(axis=0)
        new_mean = (1 - momentum) * running_mean + momentum * mean
        new_var = (1 - momentum) * running_var + momentum * (var * (n / (n - 1)))
    else:
        centred = x - running_mean
        var = running_var
        new_mean, new_var = running_mean.copy(), running_var.copy()
    inv_std = 1 / np.sqrt(var + eps)
    x_hat = centred * inv_std""",
        new="""    if training:
        mean, var = np.mean(x, axis=0), np.var(x, axis=0)
        new_mean = momentum * mean + (1 - momentum) * running_mean
        new_var = momentum * np.var(x, axis=0, ddof=1) + (1 - momentum) * running_var
    else:
        mean, var = running_mean, running_var
        new_mean, new_var = running_mean, running_var  # the same arrays, unchanged
    std = np.sqrt(var + eps)
    x_hat = (x - mean) / std
    inv_std = 1 / std""",
        loses=frozenset(),
        why="np.var (ddof=1 for the running variance), a division by the standard deviation, the buffers returned as they are",
    ),
    Bug(
        name="ln_means_and_transposes",
        cell="layernorm",
        old="""    d = x_hat.shape[1]
    g = dout * gamma
    g_sum = g.sum(axis=1, keepdims=True)
    g_x_hat_sum = (g * x_hat).sum(axis=1, keepdims=True)
    dx = inv_std / d * (d * g - g_sum - x_hat * g_x_hat_sum)""",
        new="""    g = (dout * gamma).T  # features along axis 0: each column is one example
    dx = (inv_std.T * (g - g.mean(axis=0) - x_hat.T * (g * x_hat.T).mean(axis=0))).T""",
        loses=frozenset(),
        why="the gradient written with means instead of sums, on the transposed arrays",
    ),
]
