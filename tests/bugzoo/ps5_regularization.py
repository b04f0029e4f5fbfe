"""Known-wrong answers to ps5_regularization, each of which must lose exactly the named test cells.

A bug is applied to the reference answer of one solution cell (``cell`` is its grade_id), with the
``### BEGIN/END SOLUTION`` lines removed, by replacing the first occurrence of ``old`` with ``new``.
``loses`` is the exact set of autograded test cells that must then score less than full points, and
the failure message of each of them names ``misconception`` (an id of
``dlbasics.checks.misconceptions.ps5_regularization``). ``ALTERNATIVES`` are correct answers written
differently from the reference: they must keep full marks.

Dropout is random, and a student's random numbers are not ours: its tests check what every correct mask
has in common, exactly where that is exact (dropped entries are 0, kept ones scaled, the backward pass
uses the forward pass's mask, evaluation mode, p = 0 and p = 1) and within binomial bounds where it is
random (how many are dropped, the mean of the output), so that ``dropout_uniform_keep`` and
``dropout_binomial_where`` (other ways to draw and apply the mask) keep full marks while
``dropout_p_as_keep`` (p taken as the probability of keeping, with a consistent scale) and
``dropout_no_rescale`` lose the forward test and the comparison with PyTorch, each with its own
diagnosis. Their backward passes are consistent with their own forward passes, so they keep the backward
test: it checks dx against the multipliers the student's forward pass applied.

Early stopping is tested on hand-made curves, one test cell per part of the rule, and each cell starts with
the curves that tell its neighbours' mistakes apart: ``es_off_by_one`` loses only the patience test,
``es_equal_is_improvement`` only the min_delta test, ``es_nan_ignored`` only the edge test.
"""

from __future__ import annotations

from tests.bugzoo import Bug


def _tests(group: str, *kinds: str) -> frozenset[str]:
    return frozenset(f"test_{group}_{kind}" for kind in kinds)


PENALTY = ("values", "grads", "edge", "torch")

BUGS: list[Bug] = [
    # ------------------------------------------------------------------------------ weight penalties
    Bug(
        name="l2_no_half",
        cell="l2_penalty",
        old="    return 0.5 * lam * penalty, grads",
        new="    return lam * penalty, grads",
        loses=_tests("l2_penalty", "values", "torch"),
        why="lam * sum(w**2) without the 1/2: twice the penalty whose gradient is SGD's weight decay lam * w",
        misconception="l2_definition",
    ),
    Bug(
        name="l2_gradient_twice",
        cell="l2_penalty",
        old="        grads[name] = lam * w\n",
        new="        grads[name] = 2 * lam * w\n",
        loses=_tests("l2_penalty", "grads", "edge", "torch"),
        why="the derivative of lam/2 * w**2 is lam * w: 2 * lam * w forgets that the 1/2 cancels the 2",
        misconception="l2_gradient",
    ),
    Bug(
        name="l2_float32_overflow",
        cell="l2_penalty",
        old="        penalty += float(np.sum(np.square(w, dtype=np.float64)))\n",
        new="        penalty += float(np.sum(w * w))\n",
        loses=_tests("l2_penalty", "edge"),
        why="squares of float32 weights of 2**66 overflow float32 (RuntimeWarning, inf) before the float64 sum",
        misconception="penalty_float64",
    ),
    Bug(
        name="l1_sign_one_at_zero",
        cell="l1_penalty",
        old="        grads[name] = lam * np.sign(w)\n",
        new="        grads[name] = lam * np.where(w >= 0, 1.0, -1.0).astype(w.dtype)\n",
        loses=_tests("l1_penalty", "edge"),
        why="the subgradient at exactly 0 is 0 (PyTorch's autograd of abs), not lam",
        misconception="l1_subgradient_zero",
    ),
    Bug(
        name="l1_float64_gradient",
        cell="l1_penalty",
        old="        grads[name] = lam * np.sign(w)\n",
        new="        grads[name] = np.where(w > 0, lam, np.where(w < 0, -lam, 0.0))\n",
        loses=_tests("l1_penalty", "edge"),
        why="np.where of Python floats builds a float64 array: the gradient of float32 weights comes back float64",
        misconception="keeps_dtype",
    ),
    Bug(
        name="l1_calls_reference",
        cell="l1_penalty",
        old="""    penalty = 0.0
    grads = {}
    for name, w in params.items():
        penalty += float(np.sum(np.abs(w), dtype=np.float64))
        grads[name] = lam * np.sign(w)
    return lam * penalty, grads""",
        new="""    from dlbasics.regularization import l1_penalty as _ref
    return _ref(params, lam)""",
        loses=_tests("l1_penalty", *PENALTY),
        why="calling the course's reference implementation earns no points (call_student detects it)",
        misconception="uses_reference",
    ),
    # ------------------------------------------------------------------------------------- dropout
    Bug(
        name="dropout_no_rescale",
        cell="dropout",
        old="        scale = keep.astype(x.dtype) / x.dtype.type(1 - p)\n",
        new="        scale = keep.astype(x.dtype)\n",
        loses=_tests("dropout", "forward", "torch"),
        why="without dividing by 1 - p the mean of the output is (1 - p) x, not x; the backward pass is consistent",
        misconception="dropout_scale",
    ),
    Bug(
        name="dropout_p_as_keep",
        cell="dropout",
        old="""        keep = rng.random(x.shape) >= p
        scale = keep.astype(x.dtype) / x.dtype.type(1 - p)""",
        new="""        keep = rng.random(x.shape) < p  # p read as the probability of keeping, as in the dropout paper
        scale = keep.astype(x.dtype) / x.dtype.type(p)""",
        loses=_tests("dropout", "forward", "torch"),
        why="keeping each entry with probability p drops a fraction 1 - p; the tests never use p = 0.5 for this",
        misconception="dropout_p_meaning",
    ),
    Bug(
        name="dropout_active_in_evaluation",
        cell="dropout",
        old="    if not training or p == 0:\n",
        new="    if p == 0:\n",
        loses=_tests("dropout", "edge", "torch"),
        why="the mask is drawn in evaluation mode too (from rng, which is None there): evaluation is the identity",
        misconception="dropout_eval_identity",
    ),
    Bug(
        name="dropout_evaluation_scaled",
        cell="dropout",
        old="""    if not training or p == 0:
        return x.copy(), None""",
        new="""    if not training:  # the original formulation's test-time scaling, on top of inverted dropout
        return x * (1 - p), None
    if p == 0:
        return x.copy(), None""",
        loses=_tests("dropout", "edge", "torch"),
        why="multiplying by the keep probability at test time belongs to the original form, not to inverted dropout",
        misconception="dropout_eval_identity",
    ),
    Bug(
        name="dropout_backward_ignores_mask",
        cell="dropout",
        old="    return dout * scale",
        new="    return dout.copy()",
        loses=_tests("dropout", "backward", "edge", "torch"),
        why="dropped entries pass no gradient and kept ones pass it scaled: dx = dout is the gradient of the identity",
        misconception="dropout_backward_mask",
    ),
    Bug(
        name="dropout_backward_mask_unscaled",
        cell="dropout",
        old="    return dout * scale",
        new="    return dout * (scale != 0)",
        loses=_tests("dropout", "backward", "torch"),
        why="the forward pass multiplied the kept entries by 1 / (1 - p), so their gradient is multiplied by it too",
        misconception="dropout_backward_mask",
    ),
    Bug(
        name="dropout_p1_divides_by_zero",
        cell="dropout",
        old="""    if p == 1:
        scale = np.zeros_like(x)
    else:
        keep = rng.random(x.shape) >= p
        scale = keep.astype(x.dtype) / x.dtype.type(1 - p)""",
        new="""    keep = rng.random(x.shape) >= p
    scale = keep.astype(x.dtype) / x.dtype.type(1 - p)""",
        loses=_tests("dropout", "edge"),
        why="for p = 1 the scale is 0 / 0: RuntimeWarning and NaN instead of zeros",
        misconception="dropout_p_edge",
    ),
    Bug(
        name="dropout_global_rng",
        cell="dropout",
        old="        keep = rng.random(x.shape) >= p\n",
        new="        keep = np.random.random(x.shape) >= p\n",
        loses=_tests("dropout", "backward", "edge"),
        why="NumPy's global generator ignores rng: the same generator state gives another mask each time",
        misconception="dropout_rng",
    ),
    # ------------------------------------------------------------------------------ early stopping
    Bug(
        name="es_off_by_one",
        cell="early_stopping",
        old="            stop = count >= patience\n",
        new="            stop = count > patience\n",
        loses=_tests("early_stopping", "patience"),
        why="patience P stops at the P-th check without improvement, not the (P + 1)-th",
        misconception="es_patience",
    ),
    Bug(
        name="es_equal_is_improvement",
        cell="early_stopping",
        old="        elif v + min_delta < best:\n",
        new="        elif v + min_delta <= best:\n",
        loses=_tests("early_stopping", "min_delta"),
        why="a decrease of exactly min_delta (an equal loss, for min_delta 0) is no improvement",
        misconception="es_min_delta",
    ),
    Bug(
        name="es_nan_ignored",
        cell="early_stopping",
        old="""        if not np.isfinite(v):
            stop = True
        elif v + min_delta < best:""",
        new="""        if v + min_delta < best:""",
        loses=_tests("early_stopping", "edge"),
        why="NaN compares False, so a NaN loss counts as one check without improvement instead of stopping at once",
        misconception="es_not_finite",
    ),
    Bug(
        name="es_stops_for_good",
        cell="early_stopping",
        old="            stop = count >= patience\n",
        new="""            stop = count >= patience
            if stop:
                return True  # the first "stop" is final, even if a later loss improves
""",
        loses=_tests("early_stopping", "patience", "min_delta"),
        why="the answer is the last check's: an improvement after a would-be stop resets the count",
        misconception="es_last_check",
    ),
]

# Correct answers written differently from the reference: each must keep full marks.
ALTERNATIVES: list[Bug] = [
    Bug(
        name="penalties_by_norm",
        cell="l2_penalty",
        old="""    penalty = 0.0
    grads = {}
    for name, w in params.items():
        penalty += float(np.sum(np.square(w, dtype=np.float64)))
        grads[name] = lam * w
    return 0.5 * lam * penalty, grads""",
        new="""    norms = [np.linalg.norm(np.ravel(w).astype(np.float64)) for w in params.values()]
    return lam / 2 * sum(n ** 2 for n in norms), {k: w * lam for k, w in params.items()}""",
        loses=frozenset(),
        why="the squared Euclidean norm of each array (in float64), and a dict comprehension",
    ),
    Bug(
        name="l1_where_cast",
        cell="l1_penalty",
        old="        grads[name] = lam * np.sign(w)\n",
        new="        grads[name] = np.where(w > 0, lam, np.where(w < 0, -lam, 0.0)).astype(w.dtype)\n",
        loses=frozenset(),
        why="the subgradient written out with np.where, cast back to the dtype of the weights",
    ),
    Bug(
        name="dropout_uniform_keep",
        cell="dropout",
        old="""    scale = cache
    if scale is None:
        return dout.copy()
    return dout * scale""",
        new="""    if cache is None:
        return dout.copy()
    keep, p = cache
    dx = np.zeros_like(dout)
    dx[keep] = dout[keep] / (1 - p)
    return dx


def dropout_forward(x, p, training, rng):  # another draw, boolean indexing, the mask and p as the cache
    if not training:
        return x.copy(), None
    keep = rng.uniform(size=x.shape) < 1 - p  # kept with probability 1 - p: none for p = 1, all for p = 0
    out = np.zeros_like(x)
    out[keep] = x[keep] / (1 - p)
    return out, (keep, p)""",
        loses=frozenset(),
        why="keep if u < 1 - p, the kept entries written by boolean indexing; the cache is the boolean mask and p",
    ),
    Bug(
        name="dropout_binomial_where",
        cell="dropout",
        old="        keep = rng.random(x.shape) >= p\n",
        new="        keep = rng.binomial(1, 1 - p, size=x.shape).astype(bool)\n",
        loses=frozenset(),
        why="the mask drawn as Bernoulli(1 - p) variables with rng.binomial: other random numbers, the same law",
    ),
    Bug(
        name="es_skip_non_finite",
        cell="early_stopping",
        old="""    best = np.inf
    count = 0
    stop = False
    for v in val_losses:
        if not np.isfinite(v):
            stop = True
        elif v + min_delta < best:
            best, count, stop = v, 0, False
        else:
            count += 1
            stop = count >= patience
    return stop""",
        new="""    if len(val_losses) == 0:
        return False
    if not np.isfinite(val_losses[-1]):
        return True
    best, count = float("inf"), 0
    for v in filter(np.isfinite, val_losses):
        if best - v > min_delta:
            best, count = v, 0
        else:
            count += 1
    return count > 0 and count >= patience""",
        loses=frozenset(),
        why="the last loss decides about NaN; the count over the finite losses alone, and best - v > min_delta",
    ),
]
