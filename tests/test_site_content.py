"""What students see on the site: the Exercises page, the launch/download/repository buttons,
numbered figures, citations and glossary links.

The fast tests read book/exercises.md and the nbgrader notebooks; the slow ones read the HTML of a
clean build (the session fixture ``built_site``).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import nbformat
import pytest
import yaml
from bs4 import BeautifulSoup

from dlbgrader.cells import is_test_cell, nbgrader_meta

ROOT = Path(__file__).resolve().parent.parent
EXERCISES_MD = ROOT / "book" / "exercises.md"
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))


def assignments() -> list[str]:
    from tests.chapters import course_assignments

    return course_assignments()


def toc_files() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [c["file"] for c in part.get("chapters", [])]
    return files


def chapters() -> list[str]:
    """The toc entries that are notebooks (``book/02_activations`` ...)."""
    return [f for f in toc_files() if (ROOT / f"{f}.ipynb").is_file()]


# --------------------------------------------------------------------------- the notebooks' side


@dataclass
class Part:
    """One numbered section (``## 3. ReLU (5 points)``) of a notebook or one row of the page's table."""

    number: int
    title: str
    auto: float = 0.0
    manual: float = 0.0
    functions: set[str] = field(default_factory=set)
    stated_points: float | None = None  # what the notebook's heading says


HEADING = re.compile(r"^##\s+(\d+)\.\s+(.+?)(?:\s+\((\d+(?:\.\d+)?) points?\))?\s*$")


def notebook_parts(nb: Any) -> list[Part]:
    """The graded parts of a source notebook, with points summed from the nbgrader metadata."""
    parts: list[Part] = []
    for cell in nb.cells:
        first = cell.source.strip().splitlines()[0] if cell.source.strip() else ""
        m = HEADING.match(first) if cell.cell_type == "markdown" else None
        if m:
            parts.append(Part(int(m.group(1)), m.group(2), stated_points=float(m.group(3)) if m.group(3) else None))
        meta = nbgrader_meta(cell)
        if meta.get("grade") or meta.get("solution"):
            assert parts, f"graded cell {cell.get('id')} comes before the first '## N. Title' section heading"
        if meta.get("grade"):
            if is_test_cell(cell):
                parts[-1].auto += float(meta.get("points", 0))
            else:  # a graded answer cell (written question): graded by a person
                parts[-1].manual += float(meta.get("points", 0))
        if meta.get("solution") and cell.cell_type == "code":
            parts[-1].functions |= set(re.findall(r"^def\s+(\w+)\s*\(", cell.source, re.M))
    return parts


def read_solution(a: str) -> Any:
    return nbformat.read(str(ROOT / "solutions" / a / f"{a}.ipynb"), as_version=4)


def secret_lines(nb: Any) -> set[str]:
    """Lines of the solutions and hidden tests that appear nowhere else in the source notebook."""
    secret: set[str] = set()
    public: set[str] = set()
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        if cell.cell_type == "markdown" and meta.get("solution"):  # a model answer: all of it is secret
            secret |= {ln.strip() for ln in cell.source.splitlines()}
            continue
        inside = False
        for ln in cell.source.splitlines():
            s = ln.strip()
            if s in ("### BEGIN SOLUTION", "### BEGIN HIDDEN TESTS"):
                inside = True
            elif s in ("### END SOLUTION", "### END HIDDEN TESTS"):
                inside = False
            else:
                (secret if inside else public).add(s)
    # Short or shared lines (`return out`, `import numpy as np`) say nothing about the solution.
    return {s for s in secret - public if len(s) >= 20 and not s.startswith("#")}


def windows(lines: list[str], k: int = 3) -> set[tuple[str, ...]]:
    """Every run of ``k`` consecutive non-blank stripped lines."""
    ls = [ln.strip() for ln in lines if ln.strip()]
    return {tuple(ls[i : i + k]) for i in range(len(ls) - k + 1)}


def secret_blocks(nb: Any) -> set[tuple[str, ...]]:
    """Runs of three consecutive lines of solution or hidden-test code (a single generic line such as
    ``rng = np.random.default_rng(seed)`` may well appear in a chapter; three in a row do not)."""
    blocks: set[tuple[str, ...]] = set()
    public: set[tuple[str, ...]] = set()  # runs that also occur outside the secret parts (visible tests)
    for cell in nb.cells:
        inside = False
        region: list[str] = []
        outside: list[str] = []
        for ln in cell.source.splitlines():
            s = ln.strip()
            if s in ("### BEGIN SOLUTION", "### BEGIN HIDDEN TESTS"):
                inside, region = True, []
                public |= windows(outside)
                outside = []
            elif s in ("### END SOLUTION", "### END HIDDEN TESTS"):
                blocks |= windows(region)
                inside = False
            else:
                (region if inside else outside).append(ln)
        public |= windows(outside)
    return blocks - public


# --------------------------------------------------------------------------- the page's side


def page_text() -> str:
    return EXERCISES_MD.read_text(encoding="utf-8")


def page_section(a: str) -> str:
    text = page_text()
    label = f"(exercise-{a})="
    assert label in text, (
        f"book/exercises.md has no section for {a}: add one that starts with the label "
        f"{label} (title, chapter, goals, functions, points, download link)"
    )
    section = text.split(label, 1)[1]
    return re.split(r"^\(exercise-[\w-]+\)=\s*$", section, maxsplit=1, flags=re.M)[0]


ROW = re.compile(
    r"^\|\s*(\d+)\.\s*([^|]+?)\s*\|\s*([^|]*?)\s*\|\s*(\d+(?:\.\d+)?)\s*\|\s*(autograder|a person)\s*\|\s*$", re.M
)


def page_parts(section: str) -> list[Part]:
    parts = []
    for m in ROW.finditer(section):
        pts = float(m.group(4))
        manual = m.group(5) == "a person"
        parts.append(
            Part(
                int(m.group(1)),
                m.group(2),
                auto=0.0 if manual else pts,
                manual=pts if manual else 0.0,
                functions=set(re.findall(r"`(\w+)\(", m.group(3))),
            )
        )
    return parts


def chapter_title(doc: str) -> str:
    nb = nbformat.read(str(ROOT / "book" / f"{doc}.ipynb"), as_version=4)
    for cell in nb.cells:
        m = re.search(r"^#\s+(.+?)\s*$", cell.source, re.M) if cell.cell_type == "markdown" else None
        if m:
            return m.group(1)
    raise AssertionError(f"book/{doc}.ipynb has no '# Title' heading")


# --------------------------------------------------------------------------- fast tests


def test_exercises_page_has_a_section_for_every_assignment() -> None:
    names = assignments()
    assert names, "no assignments found in solutions/"
    for a in names:
        page_section(a)


@pytest.mark.parametrize("a", assignments())
def test_exercises_page_points_match_the_nbgrader_metadata(a: str) -> None:
    nb_parts = notebook_parts(read_solution(a))
    auto = sum(p.auto for p in nb_parts)
    manual = sum(p.manual for p in nb_parts)
    section = page_section(a)
    m = re.search(
        r"\*\*Points:\*\*\s*(\d+(?:\.\d+)?)\s*=\s*(\d+(?:\.\d+)?) autograded \+ (\d+(?:\.\d+)?) graded by a person",
        section,
    )
    assert m, f"{a}: the page needs a line '**Points:** T = A autograded + M graded by a person'"
    assert (float(m.group(1)), float(m.group(2)), float(m.group(3))) == (auto + manual, auto, manual), (
        f"{a}: book/exercises.md says {m.group(0)!r} but the nbgrader metadata of solutions/{a}/{a}.ipynb gives "
        f"{auto + manual:g} = {auto:g} autograded + {manual:g} graded by a person; update the page"
    )
    rows = {p.number: p for p in page_parts(section)}
    assert sorted(rows) == [p.number for p in nb_parts], (
        f"{a}: the page's table lists parts {sorted(rows)}, the notebook has parts {[p.number for p in nb_parts]}"
    )
    for p in nb_parts:
        row = rows[p.number]
        assert (row.auto, row.manual) == (p.auto, p.manual), (
            f"{a}, part {p.number} ({p.title}): the page says {row.auto + row.manual:g} points "
            f"({'a person' if row.manual else 'autograder'}), the metadata gives {p.auto:g} autograded + "
            f"{p.manual:g} manual; update the table in book/exercises.md"
        )
        assert row.functions == p.functions, (
            f"{a}, part {p.number}: the page lists {sorted(row.functions)} but the solution cells define "
            f"{sorted(p.functions)}"
        )


@pytest.mark.parametrize("a", assignments())
def test_notebook_section_headings_state_the_metadata_points(a: str) -> None:
    for p in notebook_parts(read_solution(a)):
        assert p.stated_points is not None, f"{a}: heading '## {p.number}. {p.title}' should end with '(N points)'"
        assert p.stated_points == p.auto + p.manual, (
            f"{a}: heading '## {p.number}. {p.title}' says {p.stated_points:g} points, its cells' metadata "
            f"gives {p.auto + p.manual:g}"
        )


@pytest.mark.parametrize("a", assignments())
def test_exercises_page_links_the_student_version_and_its_chapter(a: str) -> None:
    section = page_section(a)
    downloads = re.findall(r"\{download\}`[^`<]*<([^>]+)>`", section)
    assert downloads == [f"/exercises/{a}/{a}.ipynb"], (
        f"{a}: the page must offer exactly the student version, "
        f"{{download}}`{a}.ipynb </exercises/{a}/{a}.ipynb>`; found {downloads}"
    )
    assert (ROOT / "exercises" / a / f"{a}.ipynb").is_file(), (
        f"exercises/{a}/{a}.ipynb is missing: run `make exercises`"
    )
    assert "solutions/" not in page_text(), "the Exercises page must not point at solutions/"
    docs = re.findall(r"\{doc\}`([^`]+)`", section)
    assert len(docs) == 1, f"{a}: link its chapter once with {{doc}}`<chapter>`; found {docs}"
    intro = read_solution(a).cells[0].source
    m = re.search(r"goes with the chapter \*([^*]+)\*", intro)
    assert m, f"solutions/{a}: the intro should say 'This problem set goes with the chapter *Title*'"
    assert chapter_title(docs[0]) == m.group(1), (
        f"{a}: the page links {{doc}}`{docs[0]}` ({chapter_title(docs[0])!r}), the notebook says it goes with "
        f"{m.group(1)!r}"
    )
    assert "dlb check" in section or "dlb check" in page_text(), "tell students how to check their work (dlb check)"


# --------------------------------------------------------------------------- slow tests: the built site


def soup(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def resolve(page: Path, href: str) -> tuple[Path, str]:
    """The file and fragment an internal link of ``page`` points to."""
    parts = urlsplit(href)
    target = (page.parent / unquote(parts.path)).resolve() if parts.path else page.resolve()
    return target, unquote(parts.fragment)


@functools.cache
def ids(path: Path) -> frozenset[str]:
    """Every element id on a page (the anchors a link can target)."""
    return frozenset(str(el["id"]) for el in soup(path).find_all(id=True))


def links(page: Path) -> list[str]:
    return [str(a["href"]) for a in soup(page).find_all("a", href=True)]


@pytest.mark.slow
def test_exercise_downloads_are_the_student_versions(built_site: Path) -> None:
    page = built_site / "book" / "exercises.html"
    hrefs = [str(a["href"]) for a in soup(page).select("a.reference.download")]
    names = sorted(Path(urlsplit(h).path).name for h in hrefs)
    assert sorted(names) == sorted(f"{a}.ipynb" for a in assignments()), (
        f"download links on the Exercises page: {hrefs}"
    )
    for href in hrefs:
        target, _ = resolve(page, href)
        assert target.is_file(), f"{href} on the Exercises page does not exist in the build"
        assert built_site.resolve() / "_downloads" in target.parents, f"{href} is not a Sphinx download"
        a = target.stem
        student = ROOT / "exercises" / a / f"{a}.ipynb"
        assert target.read_bytes() == student.read_bytes(), f"{href} is not exercises/{a}/{a}.ipynb"
        text = target.read_text(encoding="utf-8")
        for marker in ("### BEGIN SOLUTION", "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"):
            assert marker not in text, f"{href} contains {marker!r}"
        lines = {ln.strip() for cell in nbformat.reads(text, as_version=4).cells for ln in cell.source.splitlines()}
        secret = secret_lines(read_solution(a))
        assert len(secret) > 10, f"solutions/{a}: expected solution and hidden-test code to compare against"
        leaked = sorted(secret & lines)
        assert not leaked, f"{href} contains solution or hidden-test code, e.g. {leaked[:3]}"


@pytest.mark.slow
def test_no_notebook_in_the_site_contains_hidden_tests(built_site: Path) -> None:
    secret = set().union(*(secret_blocks(read_solution(a)) for a in assignments()))
    assert len(secret) > 10, "expected solution and hidden-test code in solutions/ to compare against"
    notebooks = list(built_site.rglob("*.ipynb"))
    assert notebooks, "the site offers no .ipynb downloads"
    for nb_path in notebooks:
        nb = nbformat.read(str(nb_path), as_version=4)
        leaked = sorted(set().union(*(windows(c.source.splitlines()) for c in nb.cells)) & secret)
        assert not leaked, f"{nb_path.relative_to(built_site)} contains solution/hidden-test code: {leaked[:2]}"


@pytest.mark.slow
def test_exercises_page_links_each_chapter(built_site: Path) -> None:
    page = built_site / "book" / "exercises.html"
    for a in assignments():
        doc = re.findall(r"\{doc\}`([^`]+)`", page_section(a))[0]
        anchor = soup(page).find(id=f"exercise-{a.replace('_', '-')}")  # the page's (exercise-<a>)= label
        section = anchor.find_parent("section") if anchor is not None else None
        assert section is not None, f"no section labelled exercise-{a} on the built Exercises page"
        assert a in section.get_text(), f"the section labelled exercise-{a} is not about {a}"
        hrefs = [str(x["href"]) for x in section.find_all("a", href=True)]
        assert f"{doc}.html" in hrefs, f"{a}: its section does not link {doc}.html; links: {hrefs}"


@pytest.mark.slow
@pytest.mark.parametrize("chapter", chapters())
def test_chapter_pages_have_launch_and_download_buttons(built_site: Path, chapter: str) -> None:
    page = built_site / f"{chapter}.html"
    hrefs = links(page)
    lb = CONFIG["launch_buttons"]
    for key, name in (("binderhub_url", "Binder"), ("colab_url", "Colab"), ("jupyterhub_url", "JupyterHub")):
        base = str(lb[key]).rstrip("/")
        hit = [h for h in hrefs if h.startswith(base) and f"{chapter}.ipynb" in unquote(h)]
        assert hit, f"{chapter}: no {name} launch button (a link to {base}... opening {chapter}.ipynb)"
    dl = [str(a["href"]) for a in soup(page).select("a.btn-download-source-button")]
    assert any(h.endswith(".ipynb") for h in dl), f"{chapter}: no .ipynb download button (found {dl})"
    for h in dl:
        target, _ = resolve(page, h)
        assert target.is_file(), f"{chapter}: the download button points at {h}, which is not in the build"


@pytest.mark.slow
def test_repository_button_links_the_configured_repository(built_site: Path) -> None:
    url = str(CONFIG["repository"]["url"])
    for f in toc_files():
        buttons = [str(a["href"]) for a in soup(built_site / f"{f}.html").select("a.btn-source-repository-button")]
        assert buttons == [url], f"{f}: repository button links {buttons}, _config.yml's repository.url is {url}"


@pytest.mark.slow
@pytest.mark.parametrize("chapter", chapters())
def test_chapter_figures_are_numbered(built_site: Path, chapter: str) -> None:
    numbers = [s.get_text(strip=True) for s in soup(built_site / f"{chapter}.html").select("span.caption-number")]
    figs = [n for n in numbers if n.startswith("Fig.")]
    assert figs, (
        f"{chapter}: no numbered figure ('Fig. N'); give the chapter's figures a caption and a name "
        f"(a MyST figure directive or myst-nb's `mystnb: figure: caption/name` cell metadata)"
    )
    assert len(set(figs)) == len(figs), f"{chapter}: figure numbers repeat: {figs}"


def cite_roles(chapter: str) -> list[str]:
    """The keys of every {cite}/{cite:p}/{cite:t} role in the chapter's markdown cells (one entry per role)."""
    nb = nbformat.read(str(ROOT / f"{chapter}.ipynb"), as_version=4)
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    return re.findall(r"\{cite(?::\w+)?\}`([^`]+)`", text)


@pytest.mark.slow
@pytest.mark.parametrize("chapter", chapters())
def test_citations_link_to_the_bibliography(built_site: Path, chapter: str) -> None:
    roles = cite_roles(chapter)
    assert roles, f"{chapter}: cites nothing; cite the works it relies on with {{cite:p}}`key` (references.bib)"
    page = built_site / f"{chapter}.html"
    spans = soup(page).select("span.bibtex-citation")
    assert len(spans) == len(roles), (
        f"{chapter}: {len(roles)} cite roles in the source, {len(spans)} citations rendered"
    )
    bib = (built_site / "book" / "references.html").resolve()
    targets = set()
    for span in spans:
        hrefs = [str(a["href"]) for a in span.find_all("a", href=True)]
        assert hrefs, f"{chapter}: citation {span.get_text()!r} links nowhere"
        for h in hrefs:
            target, frag = resolve(page, h)
            assert target == bib, f"{chapter}: citation {span.get_text()!r} links {h}, not book/references.html"
            assert frag in ids(bib), (
                f"{chapter}: citation {span.get_text()!r} links #{frag}, missing on references.html"
            )
            targets.add(frag)
    keys = {k.strip() for r in roles for k in r.split(",")}
    assert len(targets) == len(keys), f"{chapter}: {len(keys)} works cited, {len(targets)} bibliography entries linked"


@pytest.mark.slow
@pytest.mark.parametrize("chapter", chapters())
def test_term_links_resolve_to_the_glossary(built_site: Path, chapter: str) -> None:
    page = built_site / f"{chapter}.html"
    glossary = (built_site / "book" / "glossary.html").resolve()
    term_links = [str(a["href"]) for a in soup(page).find_all("a", href=True) if "#term-" in str(a["href"])]
    assert term_links, f"{chapter}: no glossary links; link a key term at its first use with {{term}}`...`"
    for h in term_links:
        target, frag = resolve(page, h)
        assert target == glossary, f"{chapter}: term link {h} does not point at book/glossary.html"
        assert frag in ids(glossary), f"{chapter}: term link {h}: no #{frag} on glossary.html"
