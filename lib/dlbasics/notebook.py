"""What every chapter notebook does first, in one place: figures, threads, printing sources.

A chapter's first (hidden) cell is::

    from dlbasics.notebook import setup, show_source
    setup()

:func:`setup` makes figures vector graphics (SVG: sharp at any width, a phone's included), with a
type size that stays readable when a figure is shrunk to a phone's width, and pins BLAS and
PyTorch to one thread (the chapters' matrices are small; more threads only add timing noise).
:func:`show_source` prints a library function without its docstring (the maths is in the text).
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable
from typing import Any

#: Figure defaults of the book: a width that fits the text column, and type large enough to read
#: when the figure is scaled to 390 px (a phone held upright).
BOOK_RC: dict[str, Any] = {
    "figure.figsize": (6.4, 3.6),
    "figure.constrained_layout.use": True,
    "font.size": 11.0,
    "axes.titlesize": 12.0,
    "axes.labelsize": 11.0,
    "legend.fontsize": 10.0,
    "xtick.labelsize": 10.0,
    "ytick.labelsize": 10.0,
    "lines.linewidth": 1.8,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "svg.fonttype": "none",  # text stays text: selectable, searchable, and sharp
}


def setup(*, threads: int = 1) -> None:
    """Configure the notebook for the book: SVG figures, :data:`BOOK_RC`, ``threads`` BLAS/PyTorch threads."""
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, str(threads))
    import matplotlib.pyplot as plt

    plt.rcParams.update(BOOK_RC)  # type: ignore[arg-type]  # keys are checked by matplotlib at run time
    try:
        from matplotlib_inline.backend_inline import set_matplotlib_formats

        set_matplotlib_formats("svg")  # type: ignore[no-untyped-call]
    except ImportError:  # pragma: no cover - outside Jupyter
        pass
    try:
        import torch

        torch.set_num_threads(threads)
    except ImportError:  # pragma: no cover - PyTorch is optional for a reader
        pass


def source_without_docstring(fn: Callable[..., Any]) -> str:
    """The source of ``fn`` with its docstring removed."""
    src = inspect.getsource(fn)
    for q in ('r"""', '"""', "r'''", "'''"):
        start = src.find(q)
        if start != -1:
            break
    else:
        return src
    quote = q.lstrip("r")
    body_start = start + len(q)
    end = src.index(quote, body_start) + len(quote)
    before = src[: src.rindex("\n", 0, start) + 1]
    after_nl = src.find("\n", end)
    return before + (src[after_nl + 1 :] if after_nl != -1 else "")


def show_source(fn: Callable[..., Any]) -> None:
    """Print the source of ``fn`` without its docstring."""
    print(source_without_docstring(fn), end="")
