"""``dlb check``: run a student's notebook and report each test cell, as the grader would see it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from dlbasics.course.cells import is_test_cell, nbgrader_meta


@dataclass
class CheckReport:
    """Per test cell: passed, or the error's name and message."""

    notebook: Path
    results: list[tuple[str, float, str]] = field(default_factory=list)  # (grade_id, points, error or "")

    @property
    def all_passed(self) -> bool:
        return all(not err for _, _, err in self.results)

    def text(self) -> str:
        lines = [f"{self.notebook}:"]
        for gid, pts, err in self.results:
            lines.append(f"  {'PASS' if not err else 'FAIL'}  {gid} ({pts:g} pt)" + (f"\n        {err}" if err else ""))
        passed = sum(p for _, p, e in self.results if not e)
        total = sum(p for _, p, _ in self.results)
        lines.append(f"visible tests: {passed:g}/{total:g} points pass (hidden tests are run when your work is graded)")
        return "\n".join(lines)


def check_notebook(path: Path, *, timeout: int = 120) -> CheckReport:
    """Execute ``path`` (a copy; the file is not changed) and collect the outcome of every test cell."""
    nb = nbformat.read(str(path), as_version=4)
    client = NotebookClient(nb, timeout=timeout, allow_errors=True, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent.resolve())}})
    try:
        client.execute()
    except CellExecutionError:  # pragma: no cover - allow_errors keeps going
        pass
    report = CheckReport(path)
    for cell in nb.cells:
        if not is_test_cell(cell):
            continue
        meta = nbgrader_meta(cell)
        err = ""
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                ename, evalue = out.get("ename"), out.get("evalue")
                if ename == "NotImplementedError" and not evalue:
                    evalue = "not implemented yet (replace `raise NotImplementedError()` with your code)"
                err = f"{ename}: {evalue}"
        report.results.append((meta.get("grade_id", "?"), float(meta.get("points", 0)), err))
    return report
