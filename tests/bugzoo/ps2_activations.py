"""Known-wrong answers to ps2_activations, each of which must lose exactly the named test cells.

A bug is applied to the reference answer of one solution cell (``cell`` is its grade_id), with the
``### BEGIN/END SOLUTION`` lines removed, by replacing the first occurrence of ``old`` with ``new``.
``loses`` is the exact set of autograded test cells that must then score less than full points, and
the failure message of each of them names ``misconception`` (an id of
``dlbasics.checks.misconceptions.ps2_activations``). ``ALTERNATIVES`` are correct answers written
differently from the reference: they must keep full marks.

The contract for large inputs (|x| <= 1000) is about what comes out: finite, correct values (entry by
entry) and gradients, and no warning. ``sigmoid_naive_overflow`` and ``elu_exp_overflow`` lose the
edge test by their warning, ``sigmoid_backward_nan`` by its nan, ``elu_exp_minus_one`` by the digits
it loses near 0, even with the warnings silenced. The literal sigmoid with its overflow silenced
(``sigmoid_naive_errstate`` in ALTERNATIVES) keeps full marks, and rightly so: exp(1000) = inf and
1 / (1 + inf) = 0 is the exact limit in IEEE arithmetic, every value and gradient is right, nothing
is printed, and it is what PyTorch returns too.
"""

from __future__ import annotations

from tests.bugzoo import Bug


def _tests(group: str, *kinds: str) -> frozenset[str]:
    return frozenset(f"test_{group}_{kind}" for kind in kinds)


ALL = ("forward", "backward", "edge", "torch")

BUGS: list[Bug] = [
    Bug(
        name="sigmoid_naive_overflow",
        cell="sigmoid",
        old="""    z = np.exp(-np.abs(x))
    out = np.where(x >= 0, 1 / (1 + z), z / (1 + z)).astype(x.dtype, copy=False)""",
        new="""    out = 1 / (1 + np.exp(-x))""",
        loses=_tests("sigmoid", "edge"),
        why="1 / (1 + exp(-x)) is right in value but exp(-x) overflows (RuntimeWarning) for x = -1000",
        misconception="sigmoid_overflow",
    ),
    Bug(
        name="sigmoid_calls_torch",
        cell="sigmoid",
        old="    out = np.where(x >= 0, 1 / (1 + z), z / (1 + z)).astype(x.dtype, copy=False)",
        new="    import torch\n    out = torch.sigmoid(torch.from_numpy(x)).numpy()",
        loses=_tests("sigmoid", *ALL),
        why="handing the graded work to PyTorch earns no points (call_student detects the torch call)",
        misconception="uses_reference",
    ),
    Bug(
        name="sigmoid_backward_sigmoid_of_output",
        cell="sigmoid",
        old="    s = cache\n",
        new="    s = 1 / (1 + np.exp(-cache))\n",
        loses=_tests("sigmoid", "backward", "edge", "torch"),
        why="the cache already holds sigma(x); applying the sigmoid again gives sigma(sigma(x))",
        misconception="sigmoid_derivative",
    ),
    Bug(
        name="tanh_float64_upcast",
        cell="tanh",
        old="    out = np.tanh(x)\n",
        new="    out = np.tanh(x.astype(np.float64))\n",
        loses=_tests("tanh", "edge"),
        why="casting to float64 'for accuracy' silently turns float32 inputs into float64 outputs",
        misconception="keeps_dtype",
    ),
    Bug(
        name="tanh_backward_one_minus_t",
        cell="tanh",
        old="    return dout * (1 - t * t)",
        new="    return dout * (1 - t)",
        loses=_tests("tanh", "backward", "edge", "torch"),
        why="tanh' = 1 - tanh^2, not 1 - tanh (the two agree only where tanh(x) is 0 or 1)",
        misconception="tanh_derivative",
    ),
    Bug(
        name="relu_grad_one_at_zero",
        cell="relu",
        old="    return np.where(x > 0, dout, 0.0)",
        new="    return np.where(x >= 0, dout, 0.0)",
        loses=_tests("relu", "edge"),
        why="PyTorch's ReLU gradient at exactly 0 is 0: the mask is x > 0, not x >= 0",
        misconception="kink_at_zero",
    ),
    Bug(
        name="relu_modifies_input",
        cell="relu",
        old="    out = np.maximum(x, 0)\n",
        new="    out = x\n    out[out < 0] = 0\n",
        loses=_tests("relu", "edge"),
        why="x[x < 0] = 0 on an alias of x overwrites the caller's array; the values are right",
        misconception="modifies_input",
    ),
    Bug(
        name="leaky_relu_grad_one_at_zero",
        cell="leaky_relu",
        old="    return np.where(x > 0, dout, negative_slope * dout)",
        new="    return np.where(x >= 0, dout, negative_slope * dout)",
        loses=_tests("leaky_relu", "edge"),
        why="PyTorch's Leaky ReLU gradient at exactly 0 is negative_slope, not 1",
        misconception="kink_at_zero",
    ),
    Bug(
        name="leaky_relu_hardcoded_slope",
        cell="leaky_relu",
        old="    out = np.where(x > 0, x, negative_slope * x)\n",
        new="    out = np.where(x > 0, x, 0.01 * x)\n",
        loses=_tests("leaky_relu", "forward", "backward", "torch"),
        why="the negative_slope argument is ignored: right only for the default 0.01",
        misconception="leaky_relu_slope",
    ),
    Bug(
        name="elu_backward_ignores_alpha",
        cell="elu",
        old="dout * alpha * np.exp(np.minimum(x, 0))",
        new="dout * np.exp(np.minimum(x, 0))",
        loses=_tests("elu", "backward", "edge", "torch"),
        why="d/dx alpha (e^x - 1) = alpha e^x: alpha multiplies the gradient too (and is the gradient at 0)",
        misconception="elu_derivative",
    ),
    Bug(
        name="elu_exp_overflow",
        cell="elu",
        old="alpha * np.expm1(np.minimum(x, 0))",
        new="alpha * (np.exp(x) - 1)",
        loses=_tests("elu", "edge"),
        why="np.where evaluates both branches, so exp(1000) overflows (RuntimeWarning) although it is discarded",
        misconception="elu_overflow",
    ),
    Bug(
        name="elu_calls_reference",
        cell="elu",
        old="""    out = np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0))).astype(x.dtype, copy=False)
    cache = (x, alpha)
    return out, cache""",
        new="""    from dlbasics.activations import elu_forward as _ref
    return _ref(x, alpha)""",
        loses=_tests("elu", *ALL),
        why="calling the course's reference implementation earns no points (call_student detects it)",
        misconception="uses_reference",
    ),
    Bug(
        name="prelu_dalpha_not_summed",
        cell="prelu",
        old="    dalpha = contrib.sum(axis=0)\n",
        new="    dalpha = contrib\n",
        loses=_tests("prelu", "backward", "torch"),
        why="alpha is shared by the whole batch, so dalpha must sum over it; an (N, D) dalpha has the wrong shape",
        misconception="shared_parameter_sum",
    ),
    Bug(
        name="prelu_shared_alpha_not_reduced",
        cell="prelu",
        old="""    if alpha.shape[0] == 1:
        dalpha = dalpha.sum(keepdims=True)
""",
        new="",
        loses=_tests("prelu", "backward", "torch"),
        why="a single shared slope of shape (1,) needs its gradient summed over the features too",
        misconception="shared_parameter_sum",
    ),
    Bug(
        name="prelu_grad_alpha_at_zero_wrong",
        cell="prelu",
        old="    dx = np.where(x > 0, dout, alpha * dout)",
        new="    dx = np.where(x >= 0, dout, alpha * dout)",
        loses=_tests("prelu", "edge"),
        why="PyTorch's PReLU gradient at exactly 0 is alpha: the mask is x > 0, not x >= 0",
        misconception="kink_at_zero",
    ),
    Bug(
        name="maxout_grad_to_all_pieces",
        cell="maxout",
        old="    dz = dout[..., None] * mask\n",
        new="    dz = np.repeat(dout[..., None], w.shape[2], axis=-1)\n",
        loses=_tests("maxout", "backward", "edge", "torch"),
        why="the max routes the gradient to the winning piece only, not to all K pieces",
        misconception="maxout_winner",
    ),
    Bug(
        name="maxout_db_mean",
        cell="maxout",
        old="    db = dz.sum(axis=0)\n",
        new="    db = dz.mean(axis=0)\n",
        loses=_tests("maxout", "backward", "edge", "torch"),
        why="b is added for every example, so db sums over the batch, it does not average",
        misconception="shared_parameter_sum",
    ),
    Bug(
        name="leaky_relu_maximum",
        cell="leaky_relu",
        old="    out = np.where(x > 0, x, negative_slope * x)\n",
        new="    out = np.maximum(x, negative_slope * x)\n",
        loses=_tests("leaky_relu", "forward", "backward", "torch"),
        why="max(x, a x) is Leaky ReLU only for a <= 1: for a slope above 1 it picks a x for positive inputs",
        misconception="leaky_relu_any_slope",
    ),
    Bug(
        name="leaky_relu_backward_upcasts",
        cell="leaky_relu",
        old="    return np.where(x > 0, dout, negative_slope * dout)",
        new="    local = np.where(x > 0, 1.0, negative_slope)\n    return dout * local",
        loses=_tests("leaky_relu", "edge"),
        why="the local slopes built from Python floats are a float64 array, which makes dx float64 for float32 dout",
        misconception="keeps_dtype",
    ),
    Bug(
        name="sigmoid_backward_nan",
        cell="sigmoid",
        old="    s = cache\n    return dout * s * (1 - s)",
        new="""    s = cache
    return dout * s * (1 - s)


def sigmoid_forward(x):  # the same stable forward pass, but the cache is x
    z = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + z), z / (1 + z)).astype(x.dtype, copy=False), x


def sigmoid_backward(dout, cache):  # the textbook exp(-x) / (1 + exp(-x))**2, warnings silenced
    with np.errstate(over="ignore", invalid="ignore"):
        e = np.exp(-cache)
        return dout * e / (1 + e) ** 2""",
        loses=_tests("sigmoid", "edge"),
        why="for x = -1000 the derivative from x is inf / inf = nan; silencing the warning does not make it finite",
        misconception="sigmoid_overflow",
    ),
    Bug(
        name="elu_exp_minus_one",
        cell="elu",
        old="    out = np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0))).astype(x.dtype, copy=False)\n",
        new="""    with np.errstate(over="ignore"):  # exp(1000) = inf, thrown away by np.where
        out = np.where(x > 0, x, alpha * (np.exp(x) - 1)).astype(x.dtype, copy=False)
""",
        loses=_tests("elu", "edge"),
        why="exp(x) - 1 loses the digits of ELU(-1e-8) (all of them in float32); silencing the overflow hides only the warning",
        misconception="elu_small_inputs",
    ),
]

# Correct answers written differently from the reference: each must keep full marks.
ALTERNATIVES: list[Bug] = [
    Bug(
        name="sigmoid_min_formula",
        cell="sigmoid",
        old="""    z = np.exp(-np.abs(x))
    out = np.where(x >= 0, 1 / (1 + z), z / (1 + z)).astype(x.dtype, copy=False)""",
        new="""    out = np.exp(np.minimum(x, 0)) / (1 + np.exp(-np.abs(x)))""",
        loses=frozenset(),
        why="one formula for both signs, exp(min(x, 0)) / (1 + exp(-|x|)): no exponential can overflow",
    ),
    Bug(
        name="relu_mask_product",
        cell="relu",
        old="""    out = np.maximum(x, 0)
    cache = x
    return out, cache""",
        new="""    mask = x > 0
    return x * mask, mask""",
        loses=frozenset(),
        why="a boolean mask as the cache, multiplied in (bool times float keeps the float dtype)",
    ),
    Bug(
        name="maxout_take_along_axis",
        cell="maxout",
        old="""    mask = k_star[..., None] == np.arange(w.shape[2])
    dz = dout[..., None] * mask""",
        new="""    dz = np.zeros(dout.shape + (w.shape[2],), dtype=dout.dtype)
    np.put_along_axis(dz, k_star[..., None], dout[..., None], axis=-1)""",
        loses=frozenset(),
        why="the upstream gradient scattered into the winning pieces with put_along_axis",
    ),
    Bug(
        name="sigmoid_naive_errstate",
        cell="sigmoid",
        old="""    z = np.exp(-np.abs(x))
    out = np.where(x >= 0, 1 / (1 + z), z / (1 + z)).astype(x.dtype, copy=False)""",
        new="""    with np.errstate(over="ignore"):  # exp(1000) = inf and 1 / (1 + inf) = 0, the right limit
        out = 1 / (1 + np.exp(-x))""",
        loses=frozenset(),
        why="the literal formula with the overflow silenced: every value and gradient is right and nothing warns",
    ),
]
