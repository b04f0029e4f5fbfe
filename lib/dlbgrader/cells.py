"""What nbgrader's cell metadata says about a notebook cell (one place for the lookups)."""

from __future__ import annotations

from typing import Any


def nbgrader_meta(cell: Any) -> dict[str, Any]:
    """The cell's ``metadata.nbgrader`` dict (empty for an ordinary cell)."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return meta if isinstance(meta, dict) else {}


def grade_id(cell: Any) -> str | None:
    """The cell's nbgrader ``grade_id``, or None."""
    g = nbgrader_meta(cell).get("grade_id")
    return str(g) if g else None


def is_test_cell(cell: Any) -> bool:
    """An autograded test cell: a graded code cell that is not an answer."""
    meta = nbgrader_meta(cell)
    return bool(cell.get("cell_type") == "code" and meta.get("grade") and not meta.get("solution"))
