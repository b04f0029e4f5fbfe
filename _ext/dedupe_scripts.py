"""Emit each <script> of a page once.

sphinx-thebe (and sphinx-togglebutton) register their inline scripts from the
``env-before-read-docs`` event, which Jupyter Book 1.x fires twice, so every page
got ``const THEBE_JS_URL = ...`` twice and the browser threw
"SyntaxError: Identifier 'THEBE_JS_URL' has already been declared" on every page.
"""

from __future__ import annotations

from typing import Any


def _dedupe(app: Any, pagename: str, templatename: str, context: dict[str, Any], doctree: Any) -> None:
    scripts = context.get("script_files") or []
    seen: set[tuple[str, str]] = set()
    kept = []
    for s in scripts:
        key = (str(getattr(s, "filename", "") or ""), str(getattr(s, "attributes", {}).get("body", "")))
        if key not in seen:
            seen.add(key)
            kept.append(s)
    context["script_files"] = kept


def setup(app: Any) -> dict[str, Any]:
    app.connect("html-page-context", _dedupe)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
