"""dlbasics.notebook: what every chapter notebook does first."""

from __future__ import annotations

import matplotlib

from dlbasics.notebook import BOOK_RC, setup, source_without_docstring


def _documented(x: int) -> int:
    r"""A docstring
    on two lines."""
    y = x + 1
    return y


def _plain(x: int) -> int:
    return x


def test_source_without_docstring_drops_only_the_docstring() -> None:
    src = source_without_docstring(_documented)
    assert "docstring" not in src and "on two lines" not in src
    assert src.splitlines()[0].startswith("def _documented(") and "y = x + 1" in src and "return y" in src
    assert source_without_docstring(_plain).strip().endswith("return x")


def test_setup_applies_the_book_style() -> None:
    setup()
    for key, value in BOOK_RC.items():
        got = matplotlib.rcParams[key]
        assert (list(got) if isinstance(got, (list, tuple)) else got) == (
            list(value) if isinstance(value, tuple) else value
        ), key
