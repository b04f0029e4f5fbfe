"""The class report's charts: matplotlib figures as inline SVG (no JavaScript, nothing fetched).

Text stays text (``svg.fonttype = none``: the browser draws it with the page's font), each figure's
element ids are salted with its own name (two inline SVGs must not share a clip-path id), and the
fixed width and height are dropped so a chart shrinks with the page (its viewBox keeps the shape).
Only the assignment's own names and numbers go into a chart, never student-controlled text.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from typing import Any

PASS, FAIL, INK, MUTED = "#15803d", "#b91c1c", "#1f2937", "#6b7280"


def _figure(width: float, height: float) -> tuple[Any, Any]:
    """A figure and its axes, without pyplot (no global state, no GUI backend: cheaper to import)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    return fig, fig.add_subplot()


def _svg(fig: Any, salt: str, title: str) -> str:
    import matplotlib
    from matplotlib.backends.backend_svg import FigureCanvasSVG

    buf = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": salt}):
        FigureCanvasSVG(fig)
        fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None, "Creator": None})
    text = buf.getvalue()
    text = text[text.index("<svg") :]
    text = re.sub(r'(<svg\b[^>]*?)\s+width="[^"]*"\s+height="[^"]*"', r"\1", text, count=1)
    return text.replace("<svg", f'<svg role="img" aria-label="{title}" class="chart"', 1)


def _style(ax: Any) -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.tick_params(colors=INK, labelsize=9)


def histogram(scores: Sequence[float], max_score: float, *, failed: int = 0) -> str:
    """Distribution of the total scores of the graded (one bar per point when the maximum is small)."""
    fig, ax = _figure(6.4, 2.8)
    top = max(max_score, max(scores, default=0.0), 1.0)
    bins: Any = [b - 0.5 for b in range(int(top) + 2)] if top <= 40 else 20
    ax.hist(list(scores), bins=bins, range=None if top <= 40 else (0, top), color="#2563eb", edgecolor="white")
    ax.set_xlabel(f"total score (points, out of {max_score:g})", color=INK, fontsize=10)
    ax.set_ylabel("students", color=INK, fontsize=10)
    ax.yaxis.get_major_locator().set_params(integer=True)
    extra = f"; {failed} could not be graded (not shown)" if failed else ""
    ax.set_title(f"Scores of the {len(scores)} graded{extra}", color=INK, fontsize=11, loc="left")
    _style(ax)
    return _svg(fig, "histogram", "Histogram of the total scores")


def pass_rates(labels: Sequence[str], rates: Sequence[float], groups: Sequence[str], counts: Sequence[str]) -> str:
    """Horizontal bars: the share of the graded who passed each test, grouped by function (a gap and a
    label between groups)."""
    rows: list[tuple[str, float | None, str]] = []
    last = None
    for label, rate, group, count in zip(labels, rates, groups, counts):
        if group != last:
            rows.append((group, None, ""))
            last = group
        rows.append((label, rate, count))
    fig, ax = _figure(6.4, 0.24 * len(rows) + 0.9)
    y = list(range(len(rows)))[::-1]
    for yi, (text, share, n) in zip(y, rows):
        if share is None:
            ax.text(
                -0.01,
                yi,
                text,
                ha="right",
                va="center",
                fontsize=9.5,
                fontweight="bold",
                color=INK,
                transform=ax.get_yaxis_transform(),
            )
            continue
        ax.barh(yi, 1.0, color="#fee2e2", height=0.72)
        ax.barh(yi, share, color=PASS if share >= 0.8 else ("#ca8a04" if share >= 0.5 else FAIL), height=0.72)
        ax.text(-0.01, yi, text, ha="right", va="center", fontsize=9, color=INK, transform=ax.get_yaxis_transform())
        ax.text(
            1.01,
            yi,
            f"{100 * share:.0f}% ({n})",
            ha="left",
            va="center",
            fontsize=8.5,
            color=MUTED,
            transform=ax.get_yaxis_transform(),
        )
    ax.set_yticks([])
    ax.set_xlim(0, 1)
    ax.set_ylim(-0.7, len(rows) - 0.3)
    ax.set_xticks([0, 0.25, 0.5, 0.75, 1.0], ["0%", "25%", "50%", "75%", "100%"])
    ax.set_xlabel("share of the graded students with full points on the test", color=INK, fontsize=10)
    _style(ax)
    ax.spines["left"].set_visible(False)
    return _svg(fig, "passrates", "Pass rate of every test, grouped by function")


def misconception_bars(ids: Sequence[str], students: Sequence[int], graded: int) -> str:
    """How many students each misconception was diagnosed in (most common first)."""
    fig, ax = _figure(6.4, 0.3 * len(ids) + 0.8)
    y = list(range(len(ids)))[::-1]
    ax.barh(y, list(students), color="#b45309", height=0.7)
    ax.set_yticks(y, list(ids), fontsize=9)
    ax.set_xlim(0, max(graded, max(students, default=1), 1) * 1.08)
    ax.set_xlabel(f"students (of {graded} graded)", color=INK, fontsize=10)
    ax.xaxis.get_major_locator().set_params(integer=True)
    for yi, n in zip(y, students):
        ax.text(n, yi, f" {n}", va="center", fontsize=8.5, color=MUTED)
    _style(ax)
    return _svg(fig, "misconceptions", "Students per misconception")
