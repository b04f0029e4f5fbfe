"""lib/ is mypy --strict clean (STYLE.md), and the Python of the repository passes ruff's lint rules."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_mypy_strict_is_clean() -> None:
    proc = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, f"mypy --strict reported problems:\n{proc.stdout}{proc.stderr}"


def test_ruff_lint_and_format_are_clean() -> None:
    """The Python of lib/, tests/, scripts/ and _ext/ passes the linter's rules (pyproject.toml, [tool.ruff]:
    unused or missing names, import order, bugbear's likely bugs) and is formatted (lib/dlbasics at 79
    columns, the width of the book's code box: lib/dlbasics/ruff.toml)."""
    for args, fix in (
        (["check", "--output-format", "concise"], "ruff check --fix"),
        (["format", "--check"], "ruff format"),
    ):
        proc = subprocess.run(
            [sys.executable, "-m", "ruff", *args, "--no-cache", "."], cwd=ROOT, capture_output=True, text=True
        )
        assert proc.returncode == 0, (
            f"ruff {args[0]} reported problems ({fix} repairs most):\n{proc.stdout}{proc.stderr}"
        )
