"""Which misconception each failed check names, read back from the autograded notebooks.

A check that fails with a misconception from the assignment's table
(:mod:`dlbasics.checks.hints`) ends its message with ``[misconception: <id>]``; the failing test
cell's output is then an error ``ename: evalue`` carrying that message. This module finds those
ids in a student's autograded notebook (for the class report), and adds a short, prominent
"Likely misconception" note under each such failure in the student's feedback
(:class:`LikelyMisconception`).
"""

from __future__ import annotations

import html
import importlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
from nbconvert.preprocessors import Preprocessor
from traitlets import Bool

from dlbgrader.cells import grade_id, is_test_cell, nbgrader_meta

#: The id at the end of a failed check's message (only there: a student's text earlier in the
#: message cannot add one).
MISCONCEPTION = re.compile(r"\[misconception: ([A-Za-z0-9_.-]+)\]\s*\Z")
_HINT = re.compile(r"Hint: (?P<text>.*) \((?P<section>[^()]*)\) \[misconception: [A-Za-z0-9_.-]+\]\s*\Z", re.DOTALL)


def misconception_of(evalue: str) -> str | None:
    """The misconception id a failed check's message ends with, or None."""
    m = MISCONCEPTION.search(str(evalue))
    return m.group(1) if m else None


def table(assignment: str) -> dict[str, tuple[str, str]]:
    """The assignment's misconceptions: id -> (plain words, "Chapter › Section"); {} if it has no table.
    Includes the course-wide ones the check helpers name themselves (e.g. ``uses_reference``)."""
    out: dict[str, tuple[str, str]] = {}
    try:
        hints = importlib.import_module("dlbasics.checks.hints")
        for value in vars(hints).values():
            if type(value).__name__ == "Hint" and getattr(value, "id", None):
                out[value.id] = (value.text, value.section)
    except ImportError:
        pass
    try:
        mod = importlib.import_module(f"dlbasics.checks.misconceptions.{assignment}")
    except ImportError:
        return out
    out.update({str(k): (str(v[0]), str(v[1])) for k, v in dict(getattr(mod, "MISCONCEPTIONS", {})).items()})
    return out


def describe(mid: str, evalue: str, known: dict[str, tuple[str, str]]) -> tuple[str, str]:
    """(plain words, section) of misconception ``mid``: from the table, else from the hint in the message."""
    if mid in known:
        return known[mid]
    m = _HINT.search(str(evalue))
    return (m.group("text").strip(), m.group("section").strip()) if m else ("", "")


@dataclass
class Failure:
    """A failed test cell: its error, and the misconception its message names (None if none)."""

    cell: str
    ename: str
    evalue: str
    misconception: str | None


@dataclass
class Notebook:
    """What the report needs from one autograded notebook: the failed test cells and the answer code."""

    failures: dict[str, Failure] = field(default_factory=dict)
    answers: dict[str, str] = field(default_factory=dict)  # grade_id -> the code of a solution cell


def _text(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value or "")


def read(path: Path) -> Notebook:
    """The failed test cells (by grade_id, notebook order) and the solution cells' code of ``path``.

    Read as plain JSON (nbgrader wrote it; validating it with nbformat would cost ten times more,
    which counts for a class of hundreds)."""
    with open(path, encoding="utf-8") as f:
        nb = json.load(f)
    out = Notebook()
    for cell in nb.get("cells", []) if isinstance(nb, dict) else []:
        if not isinstance(cell, dict):
            continue
        gid = grade_id(cell)
        if gid is None:
            continue
        if is_test_cell(cell):
            for o in cell.get("outputs", []):
                if isinstance(o, dict) and o.get("output_type") == "error":
                    ev = _text(o.get("evalue", ""))
                    out.failures[gid] = Failure(gid, _text(o.get("ename", "")), ev, misconception_of(ev))
                    break
        elif cell.get("cell_type") == "code" and nbgrader_meta(cell).get("solution"):
            out.answers[gid] = _text(cell.get("source", ""))
    return out


def autograded_notebook(autograded_dir: Path, assignment: str, student: str) -> Path | None:
    """The student's autograded notebook (nbgrader's ``autograded/<student>/<assignment>/``), if any."""
    folder = Path(autograded_dir) / student / assignment
    return next(iter(sorted(p for p in folder.glob("*.ipynb") if not p.name.startswith("."))), None)


# ------------------------------------------------------------------------------------ feedback
NOTE_STYLE = (
    "border-left:4px solid #b45309;background:#fff7ed;color:#1f2937;padding:.55em .8em;"
    "margin:.4em 0 .8em;font:15px/1.45 system-ui,sans-serif"
)


def note_html(text: str, section: str) -> str:
    """The feedback's note for one misconception (escaped: made by the grader, shown as written)."""
    where = f'<br><span style="color:#57534e">Revisit: {html.escape(section)}</span>' if section else ""
    return (
        f'<div class="dlb-misconception" style="{NOTE_STYLE}"><strong>Likely misconception:</strong> '
        f"{html.escape(text)}{where}</div>"
    )


class LikelyMisconception(Preprocessor):
    """Under each failed test that names a misconception, a short note in plain words with the section to
    reread. Runs after :class:`dlbgrader.feedback.SanitizeOutputs` (the note is the grader's own HTML)."""

    enabled = Bool(True)

    def preprocess(self, nb: Any, resources: Any) -> tuple[Any, Any]:
        assignment = str(((resources or {}).get("nbgrader") or {}).get("assignment") or "")
        self._known = table(assignment) if assignment else {}
        return super().preprocess(nb, resources)  # type: ignore[no-any-return]

    def preprocess_cell(self, cell: Any, resources: Any, index: int) -> tuple[Any, Any]:
        if not is_test_cell(cell):
            return cell, resources
        outputs = list(cell.get("outputs", []))
        for i, out in enumerate(outputs):
            if out.get("output_type") != "error":
                continue
            mid = misconception_of(str(out.get("evalue", "")))
            if mid is None:
                continue
            text, section = describe(mid, str(out.get("evalue", "")), getattr(self, "_known", {}))
            if not text:
                continue
            note = nbformat.v4.new_output(
                "display_data",
                data={"text/html": note_html(text, section), "text/plain": f"Likely misconception: {text}"},
            )
            outputs.insert(i + 1, note)
            cell["outputs"] = outputs
            break
        return cell, resources
