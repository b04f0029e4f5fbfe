"""Known-wrong answers to ps3_losses, each of which must lose exactly the named test cells.

A bug is applied to the reference answer of one solution cell (``cell`` is its grade_id), with the
``### BEGIN/END SOLUTION`` lines removed, by replacing the first occurrence of ``old`` with ``new``.
``loses`` is the exact set of autograded test cells that must then score less than full points, and
the failure message of each of them names ``misconception`` (an id of
``dlbasics.checks.misconceptions.ps3_losses``). ``ALTERNATIVES`` are correct answers written
differently from the reference: they must keep full marks.

The tests of every loss check one example first and a batch after it, so a loss that is right for one
example and wrong for a batch is diagnosed as a mistake in the mean (``nll_sum_not_mean``,
``ce_gradient_not_divided``, ``mse_mean_over_rows``), and one that is wrong for one example as a mistake
in the definition (``ce_wrong_class_terms``, the version of the cross-entropy with minus the logarithm of one
minus each wrong class's probability added). The edge tests check large logits that differ by a few units
before logits of +-1e4, so that a missing shift (an overflow) and a logarithm of a softmax (a logarithm of
0) are told apart. A value and its gradient are graded separately: a wrong loss with a right gradient
(``nll_sum_not_mean``, ``ce_wrong_class_terms``) keeps the backward test.
"""

from __future__ import annotations

from tests.bugzoo import Bug


def _tests(group: str, *kinds: str) -> frozenset[str]:
    return frozenset(f"test_{group}_{kind}" for kind in kinds)


ALL = ("forward", "backward", "edge", "torch")

BUGS: list[Bug] = [
    Bug(
        name="mse_gradient_without_the_two",
        cell="mse",
        old="    dpred = diff * (2.0 / diff.size)\n",
        new="    dpred = diff / diff.size\n",
        loses=_tests("mse", "backward", "edge", "torch"),
        why="the derivative of a square is twice the difference: dropping the 2 halves every gradient",
        misconception="mse_gradient",
    ),
    Bug(
        name="mse_mean_over_rows",
        cell="mse",
        old="    loss = float(np.mean(diff * diff))\n",
        new="    loss = float(np.sum(diff * diff) / diff.shape[0])\n",
        loses=_tests("mse", "forward", "edge", "torch"),
        why="F.mse_loss averages over every entry (N * M of them), not over the N rows",
        misconception="mean_reduction",
    ),
    Bug(
        name="softmax_no_max_shift",
        cell="softmax",
        old="    shifted = logits - np.max(logits, axis=-1, keepdims=True)\n    e = np.exp(shifted)\n",
        new="    e = np.exp(logits)\n",
        loses=_tests("softmax", "edge"),
        why="the literal formula: exp(1000) overflows (inf / inf), exp(-1000) underflows (0 / 0)",
        misconception="max_shift",
    ),
    Bug(
        name="softmax_one_shift_for_all_rows",
        cell="softmax",
        old="    shifted = logits - np.max(logits, axis=-1, keepdims=True)\n",
        new="    shifted = logits - np.max(logits)\n",
        loses=_tests("softmax", "edge"),
        why="shifting every row by the largest logit of the whole array leaves a row of -1000 beside a row of 1000 "
        "with exp(-2000) = 0 everywhere: 0 / 0",
        misconception="max_shift",
    ),
    Bug(
        name="softmax_shift_in_place",
        cell="softmax",
        old="    shifted = logits - np.max(logits, axis=-1, keepdims=True)\n    e = np.exp(shifted)\n",
        new="    logits -= np.max(logits, axis=-1, keepdims=True)\n    e = np.exp(logits)\n",
        loses=_tests("softmax", "edge"),
        why="the shift written with -= overwrites the caller's logits; the probabilities are right",
        misconception="modifies_input",
    ),
    Bug(
        name="softmax_normalized_over_the_whole_array",
        cell="softmax",
        old="    return e / np.sum(e, axis=-1, keepdims=True)",
        new="    return e / np.sum(e)",
        loses=_tests("softmax", "forward", "edge", "torch"),
        why="dividing by the sum of the whole batch: right for one row, but the rows of a batch no longer sum to 1",
        misconception="softmax_definition",
    ),
    Bug(
        name="log_softmax_log_of_softmax",
        cell="log_softmax",
        old="""    shifted = logits - np.max(logits, axis=-1, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))""",
        new="    return np.log(softmax(logits))",
        loses=_tests("log_softmax", "edge"),
        why="log of the (stable) softmax: softmax(1e4, -1e4)_1 underflows to 0 and its log is -inf, not -2e4",
        misconception="log_of_softmax",
    ),
    Bug(
        name="log_softmax_no_max_shift",
        cell="log_softmax",
        old="""    shifted = logits - np.max(logits, axis=-1, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))""",
        new="    return logits - np.log(np.sum(np.exp(logits), axis=-1, keepdims=True))",
        loses=_tests("log_softmax", "edge"),
        why="z - log(sum(exp(z))) without the shift: exp(1000) overflows and log(sum(exp(-1000))) = log 0",
        misconception="max_shift",
    ),
    Bug(
        name="nll_sum_not_mean",
        cell="nll",
        old="    loss = float(-np.mean(log_probs[rows, targets]))\n",
        new="    loss = float(-np.sum(log_probs[rows, targets]))\n",
        loses=_tests("nll", "forward", "edge", "torch"),
        why="reduction='sum' instead of PyTorch's default mean over the N examples (the gradient is right)",
        misconception="mean_reduction",
    ),
    Bug(
        name="nll_one_hot_product",
        cell="nll",
        old="    loss = float(-np.mean(log_probs[rows, targets]))\n",
        new="    loss = float(-np.sum(np.eye(log_probs.shape[1])[targets] * log_probs) / n)\n",
        loses=_tests("nll", "edge"),
        why="sum of one-hot times log-probabilities: right unless a wrong class has log-probability -inf, "
        "where 0 * -inf = nan",
        misconception="nll_other_classes",
    ),
    Bug(
        name="nll_targets_taken_as_one_hot",
        cell="nll",
        old="    loss = float(-np.mean(log_probs[rows, targets]))\n",
        new="    loss = float(-np.sum(targets * log_probs) / n)\n",
        loses=_tests("nll", *ALL),
        why="the formula -sum_c t_c log p_c with the class indices used as if they were one-hot rows: wrong for "
        "one example, a broadcasting error for a batch",
        misconception="nll_definition",
    ),
    Bug(
        name="ce_wrong_class_terms",
        cell="cross_entropy",
        old="    loss = float(-np.mean(log_probs[rows, targets]))\n",
        new="""    probs = np.exp(log_probs)
    wrong = np.ones_like(probs)
    wrong[rows, targets] = 0.0
    loss = float(-np.mean(log_probs[rows, targets]) - np.mean(np.sum(wrong * np.log(1 - probs), axis=1)))
""",
        loses=_tests("cross_entropy", "forward", "edge", "torch"),
        why="the seed's 'PyTorch applies it to all the logits': -log a for the true class plus -log(1 - a) for "
        "every wrong class is the BCE over one-hot targets, not F.cross_entropy (the gradient is right)",
        misconception="ce_definition",
    ),
    Bug(
        name="ce_gradient_not_divided",
        cell="cross_entropy",
        old="    return loss, dlogits / n",
        new="    return loss, dlogits",
        loses=_tests("cross_entropy", "backward", "edge", "torch"),
        why="the loss is the mean over the batch but the gradient is not divided by N: right for one example only",
        misconception="gradient_of_mean",
    ),
    Bug(
        name="ce_log_of_softmax",
        cell="cross_entropy",
        old="    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))\n",
        new="    log_probs = np.log(np.exp(shifted) / np.sum(np.exp(shifted), axis=1, keepdims=True))\n",
        loses=_tests("cross_entropy", "edge"),
        why="the log of a (shifted, stable) softmax: a confident mistake at +-1e4 costs log 0 = inf instead of 2e4",
        misconception="log_of_softmax",
    ),
    Bug(
        name="ce_calls_reference",
        cell="cross_entropy",
        old="""    n = logits.shape[0]
    rows = np.arange(n)""",
        new="""    from dlbasics.losses import cross_entropy_loss as _reference
    return _reference(logits, targets)
    n = logits.shape[0]
    rows = np.arange(n)""",
        loses=_tests("cross_entropy", *ALL),
        why="calling the course's reference implementation earns no points (call_student detects it)",
        misconception="uses_reference",
    ),
    Bug(
        name="bce_through_probabilities",
        cell="bce",
        old="""    loss = float(np.mean(np.maximum(logits, 0) - logits * t + np.log1p(z)))
    probs = np.where(logits >= 0, 1 / (1 + z), z / (1 + z))
""",
        new="""    probs = np.where(logits >= 0, 1 / (1 + z), z / (1 + z))
    loss = float(-np.mean(t * np.log(probs) + (1 - t) * np.log(1 - probs)))
""",
        loses=_tests("bce", "edge"),
        why="the BCE formula on a (stable) sigmoid: sigmoid(40) rounds to 1 and sigmoid(-800) to 0, so log 0 = -inf",
        misconception="bce_from_logits",
    ),
    Bug(
        name="bce_integer_targets_upcast",
        cell="bce",
        old="    t = targets.astype(logits.dtype)\n",
        new="    t = targets\n",
        loses=_tests("bce", "edge"),
        why="integer (int64) labels in arithmetic with float32 logits make dlogits float64",
        misconception="keeps_dtype",
    ),
]

# Correct answers written differently from the reference: each must keep full marks.
ALTERNATIVES: list[Bug] = [
    Bug(
        name="ce_from_own_log_softmax_and_nll",
        cell="cross_entropy",
        old="""    n = logits.shape[0]
    rows = np.arange(n)""",
        new="""    loss, dlog_probs = nll_loss(log_softmax(logits), targets)
    # the chain rule through the log-softmax: d log p_j / d z_c = [j = c] - p_c
    return loss, dlog_probs - softmax(logits) * np.sum(dlog_probs, axis=1, keepdims=True)
    n = logits.shape[0]
    rows = np.arange(n)""",
        loses=frozenset(),
        why="the CE as the student's own log_softmax followed by their nll_loss, the gradient by the chain rule",
    ),
    Bug(
        name="ce_lse_minus_true_logit",
        cell="cross_entropy",
        old="""    shifted = logits - np.max(logits, axis=1, keepdims=True)
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    loss = float(-np.mean(log_probs[rows, targets]))
    dlogits = np.exp(log_probs)""",
        new="""    m = np.max(logits, axis=1, keepdims=True)
    lse = m + np.log(np.sum(np.exp(logits - m), axis=1, keepdims=True))  # the chapter's LSE(z)
    loss = float(np.mean(lse[:, 0] - logits[rows, targets]))
    dlogits = np.exp(logits - lse)""",
        loses=frozenset(),
        why="the chapter's LSE(z) - z_y, without forming the shifted log-probabilities (less accurate in float32 "
        "by a few rounding steps of the largest logit, which the tolerance allows)",
    ),
    Bug(
        name="log_softmax_minus_logsumexp",
        cell="log_softmax",
        old="""    shifted = logits - np.max(logits, axis=-1, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))""",
        new="""    m = np.max(logits, axis=-1, keepdims=True)
    return logits - (m + np.log(np.sum(np.exp(logits - m), axis=-1, keepdims=True)))""",
        loses=frozenset(),
        why="z - LSE(z) with a stable log-sum-exp, as the chapter writes it",
    ),
    Bug(
        name="nll_take_along_axis",
        cell="nll",
        old="""    loss = float(-np.mean(log_probs[rows, targets]))
    dlog_probs = np.zeros_like(log_probs)
    dlog_probs[rows, targets] = -1.0 / n""",
        new="""    picked = np.take_along_axis(log_probs, targets[:, None], axis=1)
    loss = float(-picked.mean())
    dlog_probs = np.zeros_like(log_probs)
    np.put_along_axis(dlog_probs, targets[:, None], -1.0 / n, axis=1)""",
        loses=frozenset(),
        why="the true classes' entries read and written with take_along_axis and put_along_axis",
    ),
    Bug(
        name="bce_logaddexp",
        cell="bce",
        old="""    z = np.exp(-np.abs(logits))
    loss = float(np.mean(np.maximum(logits, 0) - logits * t + np.log1p(z)))
    probs = np.where(logits >= 0, 1 / (1 + z), z / (1 + z))""",
        new="""    # -log sigmoid(x) = log(1 + e^-x) and -log(1 - sigmoid(x)) = log(1 + e^x), by np.logaddexp
    loss = float(np.mean(t * np.logaddexp(0, -logits) + (1 - t) * np.logaddexp(0, logits)))
    probs = np.exp(-np.logaddexp(0, -logits))""",
        loses=frozenset(),
        why="the loss from softplus terms with np.logaddexp, the probability as the exponential of log sigmoid",
    ),
]
