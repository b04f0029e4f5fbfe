"""Feedback shown to students: which check failed and why, without the hidden test code."""

from __future__ import annotations

from typing import Any

from nbconvert.preprocessors import Preprocessor
from traitlets import Bool

from dlbgrader.cells import is_test_cell


class ShortenTracebacks(Preprocessor):
    """Replace the traceback of a failing autograded test cell by ``Name: message``.

    A full traceback quotes the line of test code that failed, which for hidden
    tests would reveal them. The assertion messages written for this course say
    what was expected and which book section explains it, so nothing useful is lost.
    """

    enabled = Bool(True)  # nbconvert preprocessors are off unless enabled

    def preprocess_cell(self, cell: Any, resources: Any, index: int) -> tuple[Any, Any]:
        if is_test_cell(cell):
            for out in cell.get("outputs", []):
                if out.get("output_type") == "error":
                    out["traceback"] = [f"{out.get('ename', 'Error')}: {out.get('evalue', '')}"]
        return cell, resources
