"""What exercise test cells use (NumPy only; PyTorch only inside :func:`torch_reference` functions).

* :mod:`~dlbasics.checks.asserts`: readable assertions (``assert_close``, ``assert_shape``,
  ``assert_dtype``, ``assert_unchanged``, ``no_warnings``, ``check_gradient``) whose failures say what
  was expected, what was found and the likely misconception;
* :mod:`~dlbasics.checks.hints`: each assignment's misconceptions as data (``hints("ps2_activations")``);
* :mod:`~dlbasics.checks.cases`: hidden tests as tables of seeded cases run through shared checks
  (``cases``, ``check_forward``, ``check_backward``, ``check_unchanged``, ``check_dtypes``);
* :mod:`~dlbasics.checks.references`: PyTorch's answers computed once per grading process.

In a student's own Jupyter these run in the student's kernel; when a notebook is graded the test
cells run in the grader's process, where the student's functions are proxies that call into the
student's kernel with plain data (see the ``dlbgrader`` package). Test cells are written the same way
for both.
"""

from dlbasics.checks.asserts import (
    CheckFailed,
    ReferenceUsed,
    assert_close,
    assert_dtype,
    assert_shape,
    assert_unchanged,
    call_student,
    check_gradient,
    fail,
    no_warnings,
    rel_error,
)
from dlbasics.checks.cases import (
    FLOATS,
    GRADIENT_TOLERANCE,
    TOLERANCE,
    Case,
    away_from_zero,
    cases,
    check_backward,
    check_dtypes,
    check_forward,
    check_unchanged,
    random_shape,
    table,
    tolerance,
)
from dlbasics.checks.hints import Hint, Hints, hints
from dlbasics.checks.references import torch_reference

__all__ = [
    "FLOATS", "GRADIENT_TOLERANCE", "TOLERANCE", "Case", "CheckFailed", "Hint", "Hints", "ReferenceUsed",
    "assert_close", "assert_dtype", "assert_shape", "assert_unchanged", "away_from_zero", "call_student", "cases",
    "check_backward", "check_dtypes", "check_forward", "check_gradient", "check_unchanged", "fail", "hints",
    "no_warnings", "random_shape", "rel_error", "table", "tolerance", "torch_reference",
]
