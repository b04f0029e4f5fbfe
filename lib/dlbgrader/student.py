"""``dlb check``: run a student's notebook and report each test cell, as the grader would see it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from dlbgrader.cells import is_test_cell, nbgrader_meta


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
    """Run a copy of ``path`` as the grader would (answer cells in a kernel, test cells here, calling the
    answers through proxies: :mod:`dlbgrader.execute`) and collect the outcome of every test cell.

    Not sandboxed: it is the student's own notebook on their own machine."""
    from traitlets.config import Config

    from dlbgrader.execute import DrivenExecute

    nb = nbformat.read(str(path), as_version=4)
    c = Config()
    c.Execute.timeout = int(timeout)
    c.DrivenExecute.notebook_timeout = max(600, 10 * int(timeout))
    DrivenExecute(config=c).preprocess(nb, {"metadata": {"path": str(path.parent.resolve())}})
    report = CheckReport(path)
    for cell in nb.cells:
        if not is_test_cell(cell):
            continue
        meta = nbgrader_meta(cell)
        err = ""
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                ename, evalue = out.get("ename"), out.get("evalue")
                err = f"{ename}: {evalue}"
        report.results.append((meta.get("grade_id", "?"), float(meta.get("points", 0)), err))
    return report
