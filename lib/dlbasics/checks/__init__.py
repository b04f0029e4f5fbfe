"""What exercise test cells use (NumPy only; PyTorch only inside :func:`torch_reference` functions).

* :mod:`~dlbasics.checks.asserts`: readable assertions (``assert_close``, ``assert_entrywise_close``,
  ``assert_finite``, ``assert_shape``, ``assert_dtype``, ``assert_unchanged``, ``no_warnings``,
  ``check_gradient``, ``diagnose``) whose failures say what was expected, what was found and the likely
  misconception;
* :mod:`~dlbasics.checks.hints`: each assignment's misconceptions as data (``hints("ps2_activations")``);
* :mod:`~dlbasics.checks.cases`: hidden tests as tables of seeded cases run through shared checks
  (``cases``, ``table``, ``check_forward``, ``check_backward``, ``check_pass`` with a ``Diagnosis``,
  ``reference_pass``, ``check_unchanged``, ``check_dtypes``);
* :mod:`~dlbasics.checks.references`: PyTorch's answers computed once per grading process;
* :mod:`~dlbasics.checks.mappings`: ``assert_mapping_close`` for dicts of arrays (named gradients);
* :mod:`~dlbasics.checks.stats`: ``binomial_interval``, ``assert_binomial_count`` and ``assert_binomial_mean``
  for random results (dropout), with a stated false-failure probability (``FALSE_FAILURE``).

In a student's own Jupyter these run in the student's kernel; when a notebook is graded the test
cells run in the grader's process, where the student's functions are proxies that call into the
student's kernel with plain data (see the ``dlbgrader`` package). Test cells are written the same way
for both.
"""

from dlbasics.checks.asserts import (
    CheckFailed,
    HintLike,
    ReferenceUsed,
    assert_close,
    assert_dtype,
    assert_entrywise_close,
    assert_finite,
    assert_shape,
    assert_unchanged,
    call_student,
    check_gradient,
    diagnose,
    fail,
    no_warnings,
    rel_error,
)
from dlbasics.checks.cases import (
    FLOATS,
    GRADIENT_TOLERANCE,
    TOLERANCE,
    EXTREME_VALUES,
    Case,
    Diagnosis,
    away_from_zero,
    cases,
    check_backward,
    check_dtypes,
    check_forward,
    check_pass,
    check_unchanged,
    extremes,
    random_shape,
    reference_pass,
    table,
    tolerance,
)
from dlbasics.checks.hints import USES_REFERENCE, Hint, Hints, hints
from dlbasics.checks.mappings import assert_mapping_close
from dlbasics.checks.references import torch_reference
from dlbasics.checks.stats import FALSE_FAILURE, assert_binomial_count, assert_binomial_mean, binomial_interval

__all__ = [
    "EXTREME_VALUES", "FLOATS", "GRADIENT_TOLERANCE", "TOLERANCE", "USES_REFERENCE", "Case", "CheckFailed", "Diagnosis", "Hint",
    "HintLike", "Hints", "ReferenceUsed", "assert_close", "assert_dtype", "assert_entrywise_close", "assert_finite",
    "assert_shape", "assert_unchanged", "away_from_zero", "call_student", "cases", "check_backward", "check_dtypes",
    "check_forward", "check_gradient", "check_pass", "check_unchanged", "diagnose", "extremes", "fail", "hints", "no_warnings",
    "random_shape", "reference_pass", "rel_error", "table", "tolerance", "torch_reference",
    # random results and dicts of arrays (ps5_regularization)
    "FALSE_FAILURE", "assert_binomial_count", "assert_binomial_mean", "assert_mapping_close", "binomial_interval",
]
