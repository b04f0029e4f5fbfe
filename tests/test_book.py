"""The book builds from a clean state (every chapter executed, warnings are errors) and works offline."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent


def toc_files() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [c["file"] for c in part.get("chapters", [])]
    return files


@pytest.mark.slow
def test_every_toc_page_is_built(built_site: Path) -> None:
    for f in toc_files():
        page = built_site / f"{f}.html"
        assert page.is_file(), f"{f} is in _toc.yml but {page} was not built"


@pytest.mark.slow
def test_chapters_were_executed_and_have_figures(built_site: Path) -> None:
    for f in toc_files():
        src = ROOT / f"{f}.ipynb"
        if not src.exists():
            continue
        html = (built_site / f"{f}.html").read_text(encoding="utf-8")
        assert "cell_output" in html, f"{f}: no cell outputs in the page; was the notebook executed?"
        # SVG since dlbasics.notebook.setup() (sharp at any width); PNG for a chapter that does not use it
        imgs = re.findall(r'<img[^>]+src="([^"]+\.(?:svg|png))"', html)
        assert imgs, f"{f}: a chapter must show at least one computed figure"
        for rel in imgs:
            img = (built_site / f).parent / rel
            assert img.is_file() and img.stat().st_size > 1000, f"{f}: figure {rel} missing or empty"


@pytest.mark.slow
def test_site_loads_nothing_from_the_internet(built_site: Path) -> None:
    remote = re.compile(r'<(?:script|link|img|iframe)[^>]+(?:src|href)="(https?:)?//', re.I)
    for page in built_site.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        m = remote.search(text)
        assert m is None, f"{page.relative_to(built_site)} loads a remote asset: {text[m.start() : m.start() + 160]}"
    chapter = (built_site / "book" / "02_activations.html").read_text(encoding="utf-8")
    assert re.search(r'<script[^>]+src="[^"]*_static/mathjax/tex-chtml\.js"', chapter), "MathJax must be served locally"
    assert (built_site / "_static" / "mathjax" / "tex-chtml.js").is_file()


@pytest.mark.slow
def test_no_solution_code_or_hidden_tests_in_the_site(built_site: Path) -> None:
    markers = ("### BEGIN SOLUTION", "### BEGIN HIDDEN TESTS", "BEGIN HIDDEN")
    for page in built_site.rglob("*"):
        if page.is_file() and page.suffix in {".html", ".ipynb", ".md", ".txt", ".js", ".json"}:
            text = page.read_text(encoding="utf-8", errors="replace")
            for m in markers:
                assert m not in text, f"{page.relative_to(built_site)} contains {m!r}"


def test_glossary_lists_korean_terms() -> None:
    text = (ROOT / "book" / "glossary.md").read_text(encoding="utf-8")
    assert re.search(r"[\uac00-\ud7a3]", text), "the glossary must give Korean (한국어) terms"
    for term in ("activation function", "vanishing gradient", "ReLU"):
        assert term.lower() in text.lower(), f"glossary misses {term!r}"


def test_committed_notebooks_have_no_outputs() -> None:
    import nbformat

    for nb_path in [*ROOT.glob("book/*.ipynb"), *ROOT.glob("solutions/*/*.ipynb"), *ROOT.glob("exercises/*/*.ipynb")]:
        nb = nbformat.read(str(nb_path), as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert not cell.outputs and cell.execution_count is None, (
                    f"{nb_path.relative_to(ROOT)}: cell {cell.get('id')} has outputs; strip them before committing"
                )
