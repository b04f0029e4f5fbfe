"""Feedback shown to students: which check failed and why, without the hidden test code, and safe to open.

* :class:`ShortenTracebacks`: a failing test cell shows ``Name: message`` (a traceback would quote
  the hidden test's code; the course's messages say what was expected and which section explains it).
* :class:`SanitizeOutputs`: what a student's notebook put in its outputs and Markdown is rendered
  inert: outputs keep only plain text and raster images (no HTML, SVG or JavaScript), and raw HTML
  in Markdown cells is escaped (it shows as text).
* :func:`harden_html`: the finished HTML file gets a Content-Security-Policy that forbids every
  script, event handler and external load, and loses the exporter's own ``<script>`` tags (the
  feedback needs none). Opening a student's feedback cannot run anything or contact anything.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from nbconvert.preprocessors import Preprocessor
from traitlets import Bool

from dlbgrader.cells import is_test_cell

#: Output types rendered in feedback; everything else (HTML, SVG, JavaScript, Markdown, LaTeX) is dropped.
SAFE_MIME = ("text/plain", "image/png", "image/jpeg", "image/gif")
CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:; base-uri 'none'; form-action 'none'"
)


class ShortenTracebacks(Preprocessor):
    """Replace the traceback of a failing autograded test cell by ``Name: message``."""

    enabled = Bool(True)  # nbconvert preprocessors are off unless enabled

    def preprocess_cell(self, cell: Any, resources: Any, index: int) -> tuple[Any, Any]:
        if is_test_cell(cell):
            for out in cell.get("outputs", []):
                if out.get("output_type") == "error":
                    out["traceback"] = [f"{out.get('ename', 'Error')}: {out.get('evalue', '')}"]
        return cell, resources


def _escape_html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class SanitizeOutputs(Preprocessor):
    """Outputs keep plain text and raster images only; raw HTML in Markdown shows as text."""

    enabled = Bool(True)

    def preprocess_cell(self, cell: Any, resources: Any, index: int) -> tuple[Any, Any]:
        if cell.get("cell_type") == "markdown":
            cell["source"] = _escape_html(str(cell.get("source", "")))
            cell.pop("attachments", None)
        for out in cell.get("outputs", []):
            data = out.get("data")
            if isinstance(data, dict):
                for mime in list(data):
                    if mime not in SAFE_MIME:
                        del data[mime]
                if not data:
                    data["text/plain"] = "(output not shown in feedback)"
            meta = out.get("metadata")
            if isinstance(meta, dict):
                meta.clear()
        return cell, resources


_SCRIPT = re.compile(r"<script\b.*?</script\s*>", re.I | re.S)


def harden_html(path: Path) -> None:
    """Forbid scripts, event handlers and external loads in the feedback file ``path`` (in place)."""
    html = path.read_text(encoding="utf-8")
    html = _SCRIPT.sub("", html)
    html = re.sub(r"<link\b[^>]*>", "", html, flags=re.I)  # stylesheets are inlined; nothing is fetched
    html = re.sub(r"@font-face\s*\{[^}]*\}", "", html, flags=re.I)  # icon fonts the page would fetch
    meta = f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
    if re.search(r"<head\b[^>]*>", html, re.I):
        html = re.sub(r"(<head\b[^>]*>)", lambda m: m.group(1) + meta, html, count=1, flags=re.I)
    else:
        html = meta + html
    path.write_text(html, encoding="utf-8")


class _MemoryBytecodeCache:
    """Compiled Jinja templates kept in memory for the life of a grading process.

    nbgrader builds a new HTML exporter, hence a new Jinja environment, for every student's feedback,
    and Jinja compiles the templates again each time (about 0.4 s per student). The templates are the
    same files for the whole run; their compiled code is keyed by name and checksum, so a changed
    template is compiled again."""

    def __init__(self) -> None:
        import jinja2

        class Cache(jinja2.BytecodeCache):
            store: dict[str, bytes] = {}

            def load_bytecode(self, bucket: Any) -> None:
                code = self.store.get(bucket.key)
                if code is not None:
                    bucket.bytecode_from_string(code)

            def dump_bytecode(self, bucket: Any) -> None:
                self.store[bucket.key] = bucket.bytecode_to_string()

        self.cache = Cache()


_TEMPLATE_CACHE: list[Any] = []


def cache_compiled_templates() -> None:
    """Make every nbconvert exporter of this process share compiled templates (idempotent)."""
    if _TEMPLATE_CACHE:
        return
    from nbconvert.exporters.templateexporter import TemplateExporter

    shared = _MemoryBytecodeCache().cache
    _TEMPLATE_CACHE.append(shared)
    create = TemplateExporter._create_environment

    def _create_environment(self: Any) -> Any:
        env = create(self)
        env.bytecode_cache = shared
        return env

    TemplateExporter._create_environment = _create_environment  # type: ignore[method-assign]
