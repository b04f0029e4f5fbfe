"""What exercise test cells use (NumPy only; PyTorch only inside :func:`torch_reference` functions).

* :mod:`~dlbasics.checks.asserts`: readable assertions (``assert_close``, ``assert_entrywise_close``,
  ``assert_finite``, ``assert_shape``, ``assert_dtype``, ``assert_unchanged``, ``no_warnings``,
  ``check_gradient``, ``diagnose``) whose failures say what was expected, what was found and the likely
  misconception;
* :mod:`~dlbasics.checks.hints`: each assignment's misconceptions as data (``hints("ps2_activations")``);
* :mod:`~dlbasics.checks.cases`: hidden tests as tables of seeded cases run through shared checks
  (``cases``, ``table``, ``check_forward``, ``check_backward``, ``check_pass`` with a ``Diagnosis``,
  ``reference_pass``, ``check_unchanged``, ``check_dtypes``);
* :mod:`~dlbasics.checks.calls`: the same for functions that return their results directly, without a cache
  (a loss with its gradient, a softmax): ``check_call``, ``reference_call``, ``rounding``;
* :mod:`~dlbasics.checks.steps`: step functions (optimizers) run over many steps from ``state=None``
  (``check_steps`` with a ``StepDiagnosis``, ``reference_steps``);
* :mod:`~dlbasics.checks.references`: PyTorch's answers computed once per grading process.
* :mod:`~dlbasics.checks.references`: PyTorch's answers computed once per grading process;
* :mod:`~dlbasics.checks.mappings`: ``assert_mapping_close`` for dicts of arrays (named gradients);
* :mod:`~dlbasics.checks.stats`: ``binomial_interval``, ``assert_binomial_count`` and ``assert_binomial_mean``
  for random results (dropout), with a stated false-failure probability (``FALSE_FAILURE``);
* :mod:`~dlbasics.checks.classifier`: a whole classifier trained by the student's code, once per split
  (``digits_split``, ``trained``, ``check_predictions``, ``check_accuracy`` with a ``ClassifierDiagnosis``).

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
from dlbasics.checks.calls import check_call, reference_call, rounding
from dlbasics.checks.cases import (
    EXTREME_VALUES,
    FLOATS,
    GRADIENT_TOLERANCE,
    TOLERANCE,
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
from dlbasics.checks.classifier import (
    ClassifierDiagnosis,
    Split,
    Trained,
    check_accuracy,
    check_predictions,
    digits_split,
    trained,
)
from dlbasics.checks.hints import USES_REFERENCE, Hint, Hints, hints
from dlbasics.checks.mappings import assert_mapping_close
from dlbasics.checks.references import torch_reference
from dlbasics.checks.stats import (
    FALSE_FAILURE,
    assert_binomial_count,
    assert_binomial_mean,
    binomial_interval,
)
from dlbasics.checks.steps import StepDiagnosis, check_steps, reference_steps

__all__ = [
    "assert_binomial_count",
    "assert_binomial_mean",
    "assert_close",
    "assert_dtype",
    "assert_entrywise_close",
    "assert_finite",
    "assert_mapping_close",
    "assert_shape",
    "assert_unchanged",
    "away_from_zero",
    "binomial_interval",
    "call_student",
    "Case",
    "cases",
    "check_backward",
    "check_call",
    "check_dtypes",
    "check_forward",
    "check_gradient",
    "check_pass",
    "check_steps",
    "check_unchanged",
    "CheckFailed",
    "diagnose",
    "Diagnosis",
    "EXTREME_VALUES",
    "extremes",
    "fail",
    "FALSE_FAILURE",
    "FLOATS",
    "GRADIENT_TOLERANCE",
    "Hint",
    "HintLike",
    "Hints",
    "hints",
    "no_warnings",
    "random_shape",
    "reference_call",
    "reference_pass",
    "reference_steps",
    "ReferenceUsed",
    "rel_error",
    "rounding",
    "StepDiagnosis",
    "table",
    "tolerance",
    "TOLERANCE",
    "torch_reference",
    "USES_REFERENCE",
    "ClassifierDiagnosis",
    "Split",
    "Trained",
    "check_accuracy",
    "check_predictions",
    "digits_split",
    "trained",
]
