"""The built site in a real browser: headless Chromium (Debian's) driven by Playwright.

The site is served from ``_build/html`` on 127.0.0.1 and every page made from _toc.yml (plus the
search and index pages) is opened. Each page must load without console errors, without a single
request leaving localhost, with every equation typeset by MathJax (no raw ``$$``/``\\(`` or
Markdown table left, no TeX error), no equation or table wider than the text column, every image
decoded, and Korean text drawn with a real font. The sidebar must list every _toc.yml entry, and
the search page must find glossary terms. One full-page screenshot per book page goes to
``test-artifacts/screenshots/`` for a person to look at.

Every page is also opened at a phone's width (390 px): it must not scroll sideways, and its figures
must be SVG or high-DPI images (one full-page screenshot per book page goes to
``test-artifacts/screenshots-phone/``).

``DLB_BUILT_SITE=/path/to/_build/html`` points the test at an existing build instead of the clean
session build (for iterating on the test; CI and ``make test`` use the clean build).
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
import yaml

from tests.conftest import artifacts_dir

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
VIEWPORT = {"width": 1280, "height": 900}
# Terms searched for on the site's search page; each must be defined in book/glossary.md.
SEARCH_TERMS = ("vanishing gradient", "saddle point")

pytestmark = pytest.mark.slow


# ---------------------------------------------------------------------------------------------
# What the site must contain, read from _toc.yml and the sources (not from the build).


def _toc() -> dict[str, Any]:
    toc: dict[str, Any] = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    return toc


def toc_files() -> list[str]:
    """Every page of _toc.yml (root first), as paths without suffix, e.g. ``book/02_activations``."""
    toc = _toc()
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [c["file"] for c in part.get("chapters", [])]
    files += [c["file"] for c in toc.get("chapters", [])]
    return files


def source_of(doc: str) -> Path:
    for suffix in (".ipynb", ".md"):
        if (ROOT / f"{doc}{suffix}").is_file():
            return ROOT / f"{doc}{suffix}"
    raise AssertionError(f"{doc} is in _toc.yml but neither {doc}.ipynb nor {doc}.md exists")


def is_chapter(doc: str) -> bool:
    """The chapters are the executed notebooks; each explains its subject with equations."""
    return source_of(doc).suffix == ".ipynb"


def title_of(doc: str) -> str:
    """The page's title as the source writes it: its first ``# `` heading."""
    src = source_of(doc)
    if src.suffix == ".ipynb":
        cells = json.loads(src.read_text(encoding="utf-8"))["cells"]
        text = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    else:
        text = src.read_text(encoding="utf-8")
    m = re.search(r"^# +(.+?)\s*$", text, re.M)
    assert m, f"{src.relative_to(ROOT)} has no '# Title' heading"
    # The sidebar shows the rendered title: drop inline-code and emphasis markers.
    return " ".join(re.sub(r"[`*_]", "", m.group(1)).split())


def pages() -> list[str]:
    """Every page of the site the browser opens: the toc's pages, then the search and index pages."""
    return [f"{d}.html" for d in toc_files()] + ["search.html", "genindex.html", "index.html"]


# ---------------------------------------------------------------------------------------------
# Fixtures: the site, a local server, the browser.


@pytest.fixture(scope="module")
def site(request: pytest.FixtureRequest) -> Path:
    """The built site: the clean session build, or the folder named by DLB_BUILT_SITE."""
    override = os.environ.get("DLB_BUILT_SITE")
    if override:
        path = Path(override)
        assert (path / "search.html").is_file(), f"DLB_BUILT_SITE={override} is not a built _build/html folder"
        return path
    built: Path = request.getfixturevalue("built_site")
    return built


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def base_url(site: Path) -> Iterator[str]:
    """``http://127.0.0.1:<free port>/`` serving the site from a background thread."""
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="site-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} not found: the browser test drives Debian's Chromium. Install it with "
            "`sudo apt-get install chromium` (`make test` installs it when run as root). "
            "Do not run `playwright install`."
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@dataclass
class Visit:
    """What happened while one page loaded in the browser."""

    page: Any
    url: str
    console_errors: list[str] = field(default_factory=list)
    remote_requests: list[str] = field(default_factory=list)
    bad_responses: list[str] = field(default_factory=list)


@pytest.fixture
def open_page(browser: Any, base_url: str) -> Iterator[Any]:
    """``open_page(path) -> Visit``: a fresh browser context per test; requests off 127.0.0.1 are
    recorded and aborted (so a remote asset is reported, and cannot make the test hang)."""
    contexts: list[Any] = []
    origin = base_url.rstrip("/")

    def local(url: str) -> bool:
        return url == origin or url.startswith((origin + "/", "data:", "blob:", "about:"))

    def opener(path: str) -> Visit:
        ctx = browser.new_context(viewport=VIEWPORT, service_workers="block")
        contexts.append(ctx)
        ctx.route(lambda url: not local(url), lambda route: route.abort())
        page = ctx.new_page()
        visit = Visit(page=page, url=urljoin(base_url, path))
        page.on(
            "console",
            lambda m: (
                visit.console_errors.append(f"console.{m.type}: {m.text} ({m.location.get('url', '')})")
                if m.type == "error"
                else None
            ),
        )
        page.on("pageerror", lambda e: visit.console_errors.append(f"uncaught exception: {e}"))
        page.on("request", lambda r: None if local(r.url) else visit.remote_requests.append(r.url))
        page.on(
            "response", lambda r: visit.bad_responses.append(f"HTTP {r.status} {r.url}") if r.status >= 400 else None
        )
        page.goto(visit.url, wait_until="load", timeout=30_000)
        return visit

    try:
        yield opener
    finally:
        for ctx in contexts:
            ctx.close()


# ---------------------------------------------------------------------------------------------
# In-page checks (JavaScript run in the page after it loaded).

WAIT_FOR_MATHJAX = """async () => {
    const loads = document.querySelector('script[src*="mathjax"]');
    if (!loads) return 'no MathJax on this page';
    const t0 = Date.now();
    while (!(window.MathJax && MathJax.startup && MathJax.startup.promise)) {
        if (Date.now() - t0 > 15000) return 'MathJax script is on the page but MathJax never started';
        await new Promise(r => setTimeout(r, 50));
    }
    await MathJax.startup.promise;
    return 'ok';
}"""

# Text nodes of the article outside code, script and typeset math, with TeX or Markdown left in
# them (e.g. a display(Markdown(...)) table rendered as a paragraph of pipes).
RAW_TEX = r"""() => {
    const root = document.querySelector('article.bd-article') || document.querySelector('main') || document.body;
    const skip = 'pre, code, script, style, textarea, mjx-container, .highlight, .MathJax, kbd';
    // $$, \( \) \[ \], \begin{, a TeX command, or $...$ around something only TeX writes (^ _ \ {).
    const markdown = /\|\s*(:?-{3,}:?|—)\s*\||\*\*[^*\s][^*]*\*\*/;
    const tex = /\$\$|\\\(|\\\)|\\\[|\\\]|\\begin\{|\\(frac|sum|partial|mathbf|mathrm|sqrt|left|right|nabla|alpha|sigma|eta|theta|cdot|le|ge|tanh|max|exp|log)\b|\$[^$\s][^$]{0,80}[\^_\\{][^$]{0,80}\$/;
    const found = [];
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
        const el = n.parentElement;
        if (!el || el.closest(skip)) continue;
        const m = n.textContent.match(tex) || n.textContent.match(markdown);
        if (m) {
            const i = Math.max(0, m.index - 40);
            found.push(n.textContent.slice(i, m.index + 60).replace(/\s+/g, ' '));
        }
    }
    return found;
}"""

MATH_STATUS = r"""() => {
    const math = [...document.querySelectorAll('.math')];
    return {
        typeset: document.querySelectorAll('mjx-container').length,
        untypeset: math.filter(e => !e.querySelector('mjx-container'))
                       .map(e => e.textContent.trim().slice(0, 80)),
        // A TeX error is an merror box; an undefined command is shown as its name in red.
        errors: [...document.querySelectorAll('mjx-merror')]
                       .map(e => (e.getAttribute('data-mjx-error') || e.textContent).slice(0, 120))
                  .concat([...document.querySelectorAll('mjx-container mtext[mathcolor="red"]')]
                       .filter(e => e.textContent.startsWith('\\'))
                       .map(e => 'undefined TeX command ' + e.textContent)),
    };
}"""

# Every image of the article, made to load now (no lazy loading) and decoded.
IMAGES = """async () => {
    const root = document.querySelector('article.bd-article') || document.querySelector('main') || document.body;
    const imgs = [...root.querySelectorAll('img')];
    for (const img of imgs) img.loading = 'eager';
    await Promise.all(imgs.map(img => img.decode().catch(() => null)));
    return imgs.map(img => ({src: img.getAttribute('src'), complete: img.complete,
                             width: img.naturalWidth, height: img.naturalHeight}));
}"""

# Equations and tables wider than the text column: they stick out into the margin, or are cut
# off and need a horizontal scroll bar to read. Returns a description of each.
OVERFLOW = r"""() => {
    const art = document.querySelector('article.bd-article');
    if (!art) return [];
    const style = getComputedStyle(art), box = art.getBoundingClientRect();
    const left = box.left + parseFloat(style.paddingLeft) - 2, right = box.right - parseFloat(style.paddingRight) + 2;
    const found = [];
    for (const el of art.querySelectorAll('mjx-container > mjx-math, table')) {
        if (el.closest('pre, .highlight')) continue;
        const r = el.getBoundingClientRect();
        if (r.width === 0 || (r.left >= left && r.right <= right)) continue;
        const what = el.tagName === 'TABLE' ? 'table' :
            (el.parentElement.getAttribute('display') === 'true' ? 'display equation' : 'inline equation');
        const src = el.tagName === 'TABLE' ? el.innerText :
            (el.parentElement.querySelector('mjx-assistive-mml') || el).textContent;
        found.push(`${what} ${Math.round(r.width)} px wide in a ${Math.round(right - left)} px column ` +
                   `(x ${Math.round(r.left)}..${Math.round(r.right)}): ${src.replace(/\s+/g, ' ').trim().slice(0, 70)}`);
    }
    return found;
}"""

# Whether the Korean (Hangul) text of the page is drawn with real glyphs: with no Korean font
# installed, every syllable is the same empty box, so two different syllables draw identically.
HANGUL_DRAWN = r"""() => {
    const root = document.querySelector('article.bd-article') || document.body;
    const chars = [...new Set(root.innerText.match(/[\uac00-\ud7a3]/g) || [])].slice(0, 4);
    if (chars.length < 2) return null;
    const canvas = document.createElement('canvas');
    canvas.width = canvas.height = 48;
    const g = canvas.getContext('2d');
    const font = getComputedStyle(root).fontFamily;
    const draw = ch => {
        g.clearRect(0, 0, 48, 48);
        g.font = `32px ${font}`;
        g.fillText(ch, 4, 38);
        return g.getImageData(0, 0, 48, 48).data.join(',');
    };
    return {chars: chars.join(''), distinct: new Set(chars.map(draw)).size};
}"""

SIDEBAR_LINKS = """() => {
    const nav = document.querySelector('nav.bd-docs-nav');
    if (!nav) return null;
    const visible = !!(nav.offsetWidth || nav.offsetHeight || nav.getClientRects().length);
    return {visible, links: [...nav.querySelectorAll('a')].map(a => ({
        text: a.textContent.replace(/\\s+/g, ' ').trim(), href: a.href}))};
}"""


def _strip_query(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def sidebar_problems(visit: Visit, base_url: str) -> list[str]:
    nav = visit.page.evaluate(SIDEBAR_LINKS)
    if nav is None:
        return ["no left navigation (nav.bd-docs-nav) on the page"]
    problems = [] if nav["visible"] else ["the left navigation is hidden at 1280 px wide"]
    links = {(link["text"], _strip_query(link["href"])) for link in nav["links"]}
    for doc in toc_files():
        title, target = title_of(doc), urljoin(base_url, f"{doc}.html")
        if (title, target) not in links:
            # The current page links to itself as '#'.
            if not (target == _strip_query(visit.url) and (title, _strip_query(visit.url)) in links):
                problems.append(
                    f"sidebar does not list {doc} as {title!r} linking to {doc}.html "
                    f"(it has: {sorted(t for t, _ in links)})"
                )
    return problems


# ---------------------------------------------------------------------------------------------
# Tests.


def test_every_built_page_is_opened(site: Path) -> None:
    """The list of pages below is the site: no built page escapes the browser test."""
    built = sorted(
        str(p.relative_to(site)) for p in site.rglob("*.html") if not p.relative_to(site).parts[0].startswith("_")
    )
    missing = sorted(set(pages()) - set(built))
    unvisited = sorted(set(built) - set(pages()))
    assert not missing, f"pages in _toc.yml (or Sphinx's search/index pages) that were not built: {missing}"
    assert not unvisited, f"built pages the browser test does not open (add them to pages()): {unvisited}"


@pytest.mark.parametrize("path", pages())
def test_page_in_browser(path: str, open_page: Any, base_url: str) -> None:
    visit: Visit = open_page(path)
    page = visit.page
    problems: list[str] = []

    if path == "index.html":
        # The site's front door redirects to the book's root page.
        root_url = urljoin(base_url, f"{toc_files()[0]}.html")
        page.wait_for_url(root_url, timeout=10_000)
        visit.url = page.url

    mathjax = page.evaluate(WAIT_FOR_MATHJAX)
    if mathjax not in ("ok", "no MathJax on this page"):
        problems.append(mathjax)
    math = page.evaluate(MATH_STATUS)
    doc = path.removesuffix(".html")
    if doc in toc_files() and is_chapter(doc) and math["typeset"] == 0:
        problems.append("a chapter with no typeset equation (no mjx-container): is MathJax loaded?")
    problems += [f"math not typeset by MathJax: {t!r}" for t in math["untypeset"]]
    problems += [f"MathJax error (bad TeX): {t!r}" for t in math["errors"]]
    problems += [f"raw TeX/Markdown left in the text: ...{t}..." for t in page.evaluate(RAW_TEX)]

    problems += [f"too wide for the page: {t}" for t in page.evaluate(OVERFLOW)]

    for img in page.evaluate(IMAGES):
        if not img["complete"] or img["width"] == 0 or img["height"] == 0:
            problems.append(
                f"image does not load: {img['src']} (complete={img['complete']}, "
                f"natural size {img['width']}x{img['height']})"
            )

    hangul = page.evaluate(HANGUL_DRAWN)
    if hangul is not None and hangul["distinct"] < 2:
        problems.append(
            f"Korean text ({hangul['chars']}...) is drawn as empty boxes: no font with Hangul is "
            "installed. Install one (Debian: `apt-get install fonts-nanum`; `make sysdeps` does it)"
        )

    problems += sidebar_problems(visit, base_url)
    problems += [f"request leaving localhost: {u}" for u in visit.remote_requests]
    problems += visit.bad_responses
    problems += visit.console_errors

    if doc in toc_files():
        shots = artifacts_dir() / "screenshots"
        shots.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(shots / f"{doc.replace('/', '_')}.png"), full_page=True, animations="disabled")

    assert not problems, f"{path} in Chromium ({visit.url}):\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("term", SEARCH_TERMS)
def test_search_finds_glossary_term(term: str, open_page: Any, base_url: str) -> None:
    glossary_doc = next(d for d in toc_files() if d.endswith("glossary"))
    glossary_src = source_of(glossary_doc).read_text(encoding="utf-8")
    # A term of the glossary: a table row "| term |" or a term line of a {glossary} directive.
    assert re.search(rf"^(\|\s*)?{re.escape(term)}\s*(\||$)", glossary_src, re.M | re.I), (
        f"{term!r} is no longer a term of {glossary_doc}; pick another glossary term for SEARCH_TERMS"
    )
    visit: Visit = open_page(f"search.html?q={term.replace(' ', '+')}")
    page = visit.page
    results = page.locator("#search-results ul.search li a")
    try:
        results.first.wait_for(state="attached", timeout=15_000)
    except Exception as e:  # playwright's TimeoutError; its message is not useful on its own
        status = (
            page.locator("#search-results").inner_text()
            if page.locator("#search-results").count()
            else "no #search-results"
        )
        raise AssertionError(
            f"search for {term!r} shows no result within 15 s; the page says: {status!r}; "
            f"console errors: {visit.console_errors}"
        ) from e
    page.wait_for_function(
        "() => !document.querySelector('#search-progress') || /found|Search finished|Found/i"
        ".test(document.querySelector('#search-progress').textContent)",
        timeout=15_000,
    )
    hrefs = [
        _strip_query(urljoin(page.url, h)) for h in results.evaluate_all("as => as.map(a => a.getAttribute('href'))")
    ]
    glossary_url = urljoin(base_url, f"{glossary_doc}.html")
    assert glossary_url in hrefs, (
        f"search for {term!r} does not return the glossary ({glossary_url}); it returns {hrefs}"
    )
    assert not visit.remote_requests, f"the search page requested remote URLs: {visit.remote_requests}"
    assert not visit.console_errors, f"the search page logged errors: {visit.console_errors}"
    # The result is a working link: it opens the glossary page, which shows the term.
    results.filter(has_text=re.compile("Glossary", re.I)).first.click()
    page.wait_for_url(re.compile(re.escape(glossary_url)), timeout=10_000)
    assert page.get_by_text(term, exact=False).count() > 0, (
        f"the glossary page opened from the search does not show {term!r}"
    )


# ---------------------------------------------------------------------------------------------
# A phone held upright: 390 px wide (an iPhone 12 to 15). The page must not scroll sideways (wide
# tables and code may scroll inside their own boxes), and every figure must stay sharp when shrunk
# to the column: vector graphics (SVG), or a raster image with at least twice the pixels it is
# shown with (high DPI).
PHONE = {"width": 390, "height": 844}

PHONE_LAYOUT = r"""async () => {
    const root = document.querySelector('article.bd-article') || document.querySelector('main') || document.body;
    const imgs = [...root.querySelectorAll('img')];
    for (const img of imgs) img.loading = 'eager';
    await Promise.all(imgs.map(img => img.decode().catch(() => null)));
    const doc = document.documentElement;
    const wide = [];
    for (const el of document.body.querySelectorAll('*')) {
        const r = el.getBoundingClientRect();
        if (r.width === 0 || r.right <= doc.clientWidth + 1) continue;
        // inside a box that scrolls or clips horizontally: the page itself does not move
        let p = el.parentElement, contained = false;
        while (p && p !== document.body) {
            const ox = getComputedStyle(p).overflowX;
            if (ox === 'auto' || ox === 'scroll' || ox === 'hidden' || ox === 'clip') { contained = true; break; }
            p = p.parentElement;
        }
        if (!contained) wide.push(`${el.tagName.toLowerCase()}.${[...el.classList].join('.')} ` +
                                  `right edge ${Math.round(r.right)} px: ${(el.innerText || '').trim().slice(0, 50)}`);
    }
    return {
        scrollWidth: doc.scrollWidth, clientWidth: doc.clientWidth, wide: wide.slice(0, 8),
        images: imgs.map(img => ({src: img.getAttribute('src') || '', natural: img.naturalWidth,
                                  shown: img.getBoundingClientRect().width})),
    };
}"""


@pytest.mark.parametrize("path", pages())
def test_page_at_phone_width(path: str, browser: Any, base_url: str) -> None:
    ctx = browser.new_context(viewport=PHONE, device_scale_factor=1, service_workers="block")
    try:
        origin = base_url.rstrip("/")
        ctx.route(lambda url: not url.startswith(origin), lambda route: route.abort())
        page = ctx.new_page()
        page.goto(urljoin(base_url, path), wait_until="load", timeout=30_000)
        if path == "index.html":  # redirects to the root page: measure that one once it has loaded
            page.wait_for_url(urljoin(base_url, f"{toc_files()[0]}.html"), timeout=10_000)
            page.wait_for_load_state("load")
        page.evaluate(WAIT_FOR_MATHJAX)
        layout = page.evaluate(PHONE_LAYOUT)
        problems = []
        if layout["scrollWidth"] > layout["clientWidth"] + 1:
            problems.append(
                f"the page scrolls sideways: {layout['scrollWidth']} px of content in a "
                f"{layout['clientWidth']} px window; too wide: {layout['wide']}"
            )
        for img in layout["images"]:
            src = img["src"].split("?")[0].lower()
            if src.endswith(".svg") or src.startswith("data:image/svg"):
                continue
            if img["shown"] > 0 and img["natural"] < 2 * img["shown"]:
                problems.append(
                    f"raster figure {img['src']} has {img['natural']} px for {img['shown']:.0f} px on "
                    "screen: blurred on a phone (make it SVG, as dlbasics.notebook.setup() does)"
                )
        if path.removesuffix(".html") in toc_files():
            shots = artifacts_dir() / "screenshots-phone"
            shots.mkdir(parents=True, exist_ok=True)
            page.screenshot(
                path=str(shots / f"{path.removesuffix('.html').replace('/', '_')}.png"),
                full_page=True,
                animations="disabled",
            )
        assert not problems, f"{path} at {PHONE['width']} px wide:\n  " + "\n  ".join(problems)
    finally:
        ctx.close()
