"""Shared pytest configuration and helpers."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


def artifacts_dir() -> Path:
    """Where tests leave files for a person to look at (ignored by git)."""
    d = Path(os.environ.get("DLB_TEST_ARTIFACTS", ROOT / "test-artifacts"))
    d.mkdir(parents=True, exist_ok=True)
    return d
