"""Writing checks on the book's sources (fast: reads the .md/.ipynb files, builds nothing).

What counts as *text* of a page (decided here, used by every check):

- Markdown (the .md pages and the markdown cells of the .ipynb chapters), with code spans, maths
  (``$...$``, ``$$...$$``), fenced code blocks, directive fence and option lines, label lines
  ``(name)=``, URLs, HTML tags and the roles ``{ref}``, ``{numref}``, ``{doc}``, ``{eq}``, ``{cite:*}``
  masked out. A ``{term}`` role counts as its display text, and as *linked* to the glossary.
- In code cells, only what a reader reads as words: comments and the contents of string
  literals (the literal parts of f-strings, not the expressions inside ``{}``). Identifiers such as
  ``relu_forward`` or ``iterate_minibatches`` never count.

The checks:

(a) every abbreviation of ``book/abbreviations.yml`` that a page uses is spelled out there as
    "expansion (ABBR" at its first use (case-insensitive on the expansion; headings count);
(b) one spelling per glossary term across all pages (``VARIANTS`` lists the known other spellings);
(c) no concept name outside the glossary: every ``{term}`` target is a glossary term, every name in
    ``CONCEPTS`` is a glossary term and is used in some page, and every bold span that names
    something (``**term**``, no sentence punctuation at its end) is a glossary term;
(d) the first use of each glossary entry (any of its names, plurals included) in the prose of a
    page, headings excluded, is a ``{term}`` link to that entry;
and the glossary page itself: the directive form, Korean in every definition, and its
abbreviation table equal to ``book/abbreviations.yml``.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"
MASK = "\u00a7"  # stands in for masked characters; neither a word character nor white space

# Other spellings of glossary terms that must not appear (regular expressions; (?i) where case does not matter).
VARIANTS: dict[str, list[str]] = {
    "mini-batch": [r"(?i)\bminibatch(es)?\b", r"(?i)\bmini batch(es)?\b"],
    "cross-entropy": [r"(?i)\bcross entropy\b", r"(?i)\bcrossentropy\b"],
    "log-softmax": [r"(?i)\blog softmax\b", r"(?i)\blogsoftmax\b"],
    "negative log-likelihood": [r"(?i)\bnegative log likelihood\b"],
    "multi-label classification": [r"(?i)\bmultilabel\b", r"(?i)\bmulti label\b"],
    "backpropagation": [r"(?i)\bback[- ]propagat\w*", r"(?i)\bbackprop\b"],
    "data set": [r"(?i)\bdatasets?\b"],
    "hyperparameter": [r"(?i)\bhyper[- ]parameters?\b"],
    "multilayer perceptron": [r"(?i)\bmulti[- ]layer perceptrons?\b"],
    "full-batch gradient descent": [r"(?i)\bfull batch\b"],
    "non-convex function": [r"(?i)\bnonconvex\b"],
    "one-hot encoding": [r"(?i)\bone hot\b"],
    "Leaky ReLU": [r"\bLeakyReLU\b", r"(?i)\bleaky-relu\b", r"\bleaky ReLU\b"],
    "rectified linear unit": [r"\bReLu\b", r"\bRelu\b", r"\bRELU\b"],
    "gradient check": [r"(?i)\bgrad(ient)? checking\b", r"(?i)\bgrad check\b"],
    "upstream gradient": [r"(?i)\bup-stream\b"],
    "saddle point": [r"(?i)\bsaddle-points?\b"],
    "Hessian": [r"\bhessians?\b"],
    "Transformer": [r"\btransformers?\b"],
    "weight": [r"(?i)\bweighting matrix\b"],
    "batch normalization": [r"(?i)\bbatch[- ]norm\b", r"\bbatchnorm\b"],
    "layer normalization": [r"(?i)\blayer[- ]norm\b", r"\blayernorm\b"],
    "Adagrad": [r"\bAdaGrad\b", r"\bADAGRAD\b"],
    "adaptive moment estimation": [r"\bADAM\b"],
    "RMSProp": [r"\bRMSprop\b", r"\bRmsProp\b"],
    "warm-up": [r"(?i)\bwarmup\b"],
    "learning-rate schedule": [r"(?i)\blearning rate schedules?\b"],
    "dropout": [r"(?i)\bdrop-out\b"],
    "early stopping": [r"(?i)\bearly-stopping\b"],
    "soft-thresholding": [r"(?i)\bsoft thresholding\b"],
    "weight decay": [r"(?i)\bweight-decay\b"],
    "eigenvalue": [r"(?i)\beigen[- ]values?\b"],
    "exploding gradient": [r"(?i)\bgradient explosions?\b"],
}

# Concept names the chapters use; each must be defined in the glossary.
CONCEPTS = [
    "activation function",
    "affine layer",
    "backpropagation",
    "batch normalization",
    "batch size",
    "bias",
    "Adagrad",
    "Adam",
    "AdamW",
    "bias correction",
    "binary cross-entropy",
    "buffer",
    "chain rule",
    "class weight",
    "computational graph",
    "condition number",
    "convex function",
    "critical point",
    "cross-entropy",
    "data augmentation",
    "data set",
    "dead neuron",
    "dropout",
    "early stopping",
    "eigenvalue",
    "epoch",
    "exploding gradient",
    "exponential moving average",
    "feature",
    "gradient",
    "gradient descent",
    "Hessian",
    "hidden layer",
    "hyperparameter",
    "initialization",
    "internal covariate shift",
    "inverted dropout",
    "L1 regularization",
    "L2 regularization",
    "label smoothing",
    "layer",
    "layer normalization",
    "learning rate",
    "learning-rate schedule",
    "likelihood",
    "local minimum",
    "logit",
    "loss",
    "maxout",
    "mini-batch",
    "model parameter",
    "negative log-likelihood",
    "Nesterov momentum",
    "neuron",
    "numerical gradient",
    "overfitting",
    "plateau",
    "proximal gradient method",
    "regularization",
    "RMSProp",
    "saddle point",
    "SGD with momentum",
    "sigmoid",
    "soft-thresholding",
    "softmax",
    "sparsity",
    "standardization",
    "subgradient",
    "training set",
    "universal approximation theorem",
    "validation set",
    "vanishing gradient",
    "warm-up",
    "weight",
    "weight decay",
    "ablation",
    "confusion matrix",
    "convolutional layer",
    "residual connection",
    "test set",
]


# --------------------------------------------------------------------------------------------- sources
@dataclass(frozen=True)
class Block:
    kind: str  # "markdown" or "code"
    source: str
    where: str  # for messages: "book/x.ipynb cell <id>"


def pages() -> list[Path]:
    """The intro and every chapter notebook in _toc.yml order."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    files = [toc["root"]] + [c["file"] for p in toc.get("parts", []) for c in p.get("chapters", [])]
    out = [ROOT / f"{toc['root']}.md"]
    out += [ROOT / f"{f}.ipynb" for f in files if (ROOT / f"{f}.ipynb").exists()]
    return out


@cache
def blocks(path: Path) -> tuple[Block, ...]:
    rel = path.relative_to(ROOT)
    if path.suffix == ".md":
        return (Block("markdown", path.read_text(encoding="utf-8"), str(rel)),)
    nb = nbformat.read(str(path), as_version=4)
    return tuple(
        Block(c.cell_type, c.source, f"{rel} cell {c.get('id')}")
        for c in nb.cells
        if c.cell_type in ("markdown", "code")
    )


# ------------------------------------------------------------------------------------------ markdown
ROLE = re.compile(r"\{([\w:-]+)\}`([^`]*)`")
INLINE_MASKS = [
    re.compile(r"`[^`\n]*`"),  # code span (roles are handled before)
    re.compile(r"\$\$.*?\$\$(\s*\([\w-]+\))?", re.S),  # display maths on one line or several
    re.compile(r"(?<![\\$])\$[^$\n]+?\$"),  # inline maths
    re.compile(r"\[[^\]\n]*\]\([^)\n]*\)"),  # markdown link
    re.compile(r"https?://\S+"),
    re.compile(r"<[^>\n]+>"),  # HTML
]


@dataclass(frozen=True)
class Prose:
    text: str  # same length as the source; masked characters replaced by MASK (newlines kept)
    links: tuple[tuple[int, int, str], ...]  # (start, end, target) of every {term} display text


def _mask(chars: list[str], start: int, end: int) -> None:
    for i in range(start, end):
        if chars[i] != "\n":
            chars[i] = MASK


def prose(md: str, *, headings: bool) -> Prose:
    """The markdown source with everything but prose masked; with headings=False, headings are masked too."""
    chars = list(md)
    links: list[tuple[int, int, str]] = []
    # line-level masks: fences (their content too unless the fence opens a directive with prose), labels
    pos, fence, fence_kind = 0, "", ""
    for line in md.splitlines(keepends=True):
        stripped = line.strip()
        start, end = pos, pos + len(line)
        pos = end
        m = re.match(r"^(`{3,}|~{3,}|:{3,})\s*(\{[\w:-]+\})?", stripped)
        if fence:
            if stripped.startswith(fence) and stripped.strip(fence[0]) == "":
                fence = ""
                _mask(chars, start, end)
            elif fence_kind == "code" or re.match(r"^:[\w-]+:", stripped):
                _mask(chars, start, end)
            continue
        if m:
            fence = m.group(1)
            directive = m.group(2) or ""
            fence_kind = (
                "prose" if directive in ("{admonition}", "{note}", "{warning}", "{tip}", "{important}") else "code"
            )
            _mask(chars, start, end)
            continue
        if re.match(r"^\(.+\)=\s*$", stripped) or (not headings and stripped.startswith("#")):
            _mask(chars, start, end)
    text = "".join(chars)
    # roles: {term} keeps its display text (linked); every other role is masked whole
    for m in ROLE.finditer(text):
        if MASK in m.group(0):
            continue
        role, content = m.group(1), m.group(2)
        if role == "term":
            t = re.match(r"^(.*?)\s*<([^>]+)>$", content, re.S)
            display, target = (t.group(1), t.group(2)) if t else (content, content)
            d0 = m.start(2)
            _mask(chars, m.start(), d0)
            _mask(chars, d0 + len(display), m.end())
            links.append((d0, d0 + len(display), target.strip()))
        else:
            _mask(chars, m.start(), m.end())
    text = "".join(chars)
    for rx in INLINE_MASKS:
        for m in rx.finditer(text):
            _mask(chars, m.start(), m.end())
        text = "".join(chars)
    return Prose(text, tuple(links))


def code_text(src: str) -> str:
    """Comments and string-literal contents of a code cell, in source order, one per line."""
    found: list[tuple[int, int, str]] = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(src).readline):
            if tok.type == tokenize.COMMENT:
                found.append((tok.start[0], tok.start[1], tok.string.lstrip("#")))
        tree = ast.parse(src)
    except (SyntaxError, tokenize.TokenError) as exc:  # pragma: no cover - a chapter must be valid Python
        pytest.fail(f"code cell is not valid Python ({exc}):\n{src[:300]}")
    spec_ids = {id(n.format_spec) for n in ast.walk(tree) if isinstance(n, ast.FormattedValue) and n.format_spec}
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr) and id(node) in spec_ids:
            for v in node.values:
                spec_ids.add(id(v))
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in spec_ids:
            found.append((node.lineno, node.col_offset, node.value))
    return "\n".join(t for _, _, t in sorted(found))


@cache
def page_text(path: Path) -> list[tuple[str, str]]:
    """(where, text) of every block of a page: prose with headings, and the words of code cells."""
    out = []
    for b in blocks(path):
        text = prose(b.source, headings=True).text if b.kind == "markdown" else code_text(b.source)
        out.append((b.where, text))
    return out


# -------------------------------------------------------------------------------------------- glossary
@cache
def glossary() -> tuple[dict[str, int], list[list[str]], list[str]]:
    """(lower-cased name -> entry index, names per entry, definition per entry) of the {glossary} directive."""
    text = (BOOK / "glossary.md").read_text(encoding="utf-8")
    m = re.search(r"^```\{glossary\}[^\n]*\n(.*?)^```\s*$", text, re.S | re.M)
    assert m, "book/glossary.md must define its terms in a ```{glossary} directive"
    entries: list[list[str]] = []
    definitions: list[str] = []
    prev_term = False
    for line in m.group(1).splitlines():
        if not line.strip():
            prev_term = False
            continue
        if line.startswith(":") and not entries:
            continue  # directive options
        if not line[0].isspace():
            if prev_term:
                entries[-1].append(line.strip())
            else:
                entries.append([line.strip()])
                definitions.append("")
            prev_term = True
        else:
            assert entries, f"glossary: definition without a term: {line!r}"
            definitions[-1] += line.strip() + " "
            prev_term = False
    names: dict[str, int] = {}
    for i, entry in enumerate(entries):
        for name in entry:
            assert name.lower() not in names, f"glossary: {name!r} is defined twice"
            names[name.lower()] = i
    return names, entries, definitions


def abbreviations() -> dict[str, str]:
    data = yaml.safe_load((BOOK / "abbreviations.yml").read_text(encoding="utf-8"))
    assert isinstance(data, dict) and data, "book/abbreviations.yml must map each abbreviation to its expansion"
    return {str(k): str(v) for k, v in data.items()}


def _name_pattern(name: str) -> str:
    """A regular expression for a glossary name and its plural (and possessive)."""
    *first, last = name.split()
    if last.lower() == "minimum":
        forms = "minim(?:um|a)"
    elif last.endswith("ty"):
        forms = re.escape(last[:-1]) + "(?:y|ies)"
    else:
        forms = re.escape(last) + "(?:s|es)?"

    def word(w: str, pattern: str) -> str:
        # words with two capitals or more (ReLU, GD) are case-sensitive, the others are not
        return pattern if sum(c.isupper() for c in w) >= 2 else f"(?i:{pattern})"

    words = [word(w, re.escape(w)) for w in first] + [word(last, forms)]
    return r"\s+".join(words) + r"(?:'s)?"


@cache
def term_regex() -> re.Pattern[str]:
    names, entries, _ = glossary()
    alts = sorted({n for e in entries for n in e}, key=len, reverse=True)
    groups = "|".join(f"(?P<t{i}>{_name_pattern(n)})" for i, n in enumerate(alts))
    term_regex.alts = alts  # type: ignore[attr-defined]
    return re.compile(rf"(?<![\w-])(?:{groups})(?![\w-])")


def term_uses(text: str) -> list[tuple[int, int, int]]:
    """(start, end, entry index) of every glossary name in a masked text (longest name wins)."""
    rx = term_regex()
    names, _, _ = glossary()
    alts: list[str] = term_regex.alts  # type: ignore[attr-defined]
    out = []
    for m in rx.finditer(text):
        i = int(m.lastgroup[1:])  # type: ignore[index]
        out.append((m.start(), m.end(), names[alts[i].lower()]))
    return out


# ------------------------------------------------------------------------------------------- the checks
def test_glossary_is_a_glossary_directive_with_korean_definitions() -> None:
    names, entries, definitions = glossary()
    assert len(entries) >= 60, f"the glossary lost terms: only {len(entries)} entries"
    for entry, d in zip(entries, definitions):
        assert re.search(r"[\uac00-\ud7a3]", d), f"glossary: {entry[0]!r} has no Korean (한국어) name in its definition"
        assert d.strip().startswith("한국어:"), (
            f"glossary: the definition of {entry[0]!r} must start with '한국어: ...'"
        )


def test_abbreviation_table_matches_abbreviations_yml() -> None:
    abbr = abbreviations()
    text = (BOOK / "glossary.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\|\s*([^|\n]+?)\s*\|\s*([^|\n]+?)\s*\|\s*([^|\n]*?)\s*\|\s*$", text, re.M)
    table = {a: (x, ko) for a, x, ko in rows if a not in ("Abbreviation",) and not set(a) <= set("-: ")}
    assert table, "book/glossary.md must show the abbreviations as a table | Abbreviation | Meaning | 한국어 |"
    missing = sorted(set(abbr) - set(table))
    extra = sorted(set(table) - set(abbr))
    assert not missing and not extra, (
        f"glossary table and book/abbreviations.yml disagree: only in the yml {missing}, only in the table {extra}"
    )
    for a, x in abbr.items():
        assert table[a][0] == x, f"{a}: glossary table says {table[a][0]!r}, book/abbreviations.yml says {x!r}"
        assert re.search(r"[\uac00-\ud7a3]", table[a][1]), f"{a}: the glossary table gives no Korean name"
    names, entries, _ = glossary()
    for a, x in abbr.items():
        if x.lower() in names:
            assert names.get(a.lower()) == names[x.lower()], (
                f"glossary: {a} is the abbreviation of the term {x!r}; list it as a second name of that entry"
            )


@pytest.mark.parametrize("path", pages(), ids=lambda p: p.name)
def test_abbreviations_spelled_out_at_first_use(path: Path) -> None:
    text = "\n".join(t for _, t in page_text(path))
    for a, expansion in abbreviations().items():
        use = re.compile(rf"(?<![\w-]){re.escape(a)}s?(?!\w)")
        first = use.search(text)
        if first is None:
            continue
        exp = r"\s+".join(re.escape(w) for w in expansion.split())
        definition = re.compile(rf"(?i:{exp})[\s*{MASK}]*\(\s*[*]*({re.escape(a)})[*]*\s*[),;]")
        d = definition.search(text)
        assert d is not None and d.start(1) <= first.start(), (
            f"{path.relative_to(ROOT)}: the abbreviation {a} is first used in "
            f"{text[max(0, first.start() - 60) : first.end() + 20]!r} without being spelled out; "
            f"write '{expansion} ({a})' at or before its first use"
        )


def test_one_spelling_per_term() -> None:
    names, _, _ = glossary()
    problems = []
    for canonical, variants in VARIANTS.items():
        assert canonical.lower() in names, f"VARIANTS lists {canonical!r}, which is not a glossary term"
        for path in pages():
            for where, text in page_text(path):
                for v in variants:
                    for m in re.finditer(v, text):
                        problems.append(f"{where}: {m.group(0)!r} (write {canonical!r})")
    assert not problems, "other spellings of glossary terms:\n" + "\n".join(problems)


def test_term_roles_point_into_the_glossary() -> None:
    names, _, _ = glossary()
    bad = []
    for path in pages():
        for b in blocks(path):
            if b.kind == "markdown":
                for _, _, target in prose(b.source, headings=True).links:
                    if target.lower() not in names:
                        bad.append(f"{b.where}: {{term}} target {target!r}")
    assert not bad, "{term} roles whose target is not a glossary term:\n" + "\n".join(bad)


def test_concept_names_are_glossary_terms() -> None:
    names, _, _ = glossary()
    missing = [c for c in CONCEPTS if c.lower() not in names]
    assert not missing, f"concepts the chapters use but the glossary does not define: {missing}"
    everything = "\n".join(t for p in pages() for _, t in page_text(p))
    used = {e for _, _, e in term_uses(everything)}
    unused = [c for c in CONCEPTS if names[c.lower()] not in used]
    assert not unused, f"CONCEPTS lists names no page uses (remove them from the list): {unused}"


def test_bold_defined_terms_are_glossary_terms() -> None:
    names, entries, _ = glossary()
    bad = []
    for path in pages():
        for b in blocks(path):
            if b.kind != "markdown":
                continue
            p = prose(b.source, headings=True)
            for m in re.finditer(r"\*\*(.+?)\*\*", b.source, re.S):
                inner = m.group(1).strip()
                if p.text[m.start()] == MASK or re.search(r"[.:?!][\"”']?$", inner):
                    continue  # inside code or maths, or a lead-in sentence rather than a term
                shown = ROLE.sub(lambda r: re.sub(r"\s*<[^>]+>$", "", r.group(2)), inner)
                shown = " ".join(shown.replace("*", "").split())
                uses = term_uses(shown)
                if not (len(uses) == 1 and uses[0][0] == 0 and uses[0][1] == len(shown)):
                    bad.append(f"{b.where}: **{inner}**")
    assert not bad, (
        "bold marks a defined term, but these are not glossary terms (add the term to "
        "book/glossary.md, or use *italics* for emphasis):\n" + "\n".join(bad)
    )


@pytest.mark.parametrize("path", pages(), ids=lambda p: p.name)
def test_first_use_of_each_term_links_to_the_glossary(path: Path) -> None:
    names, entries, _ = glossary()
    seen: set[int] = set()
    bad = []
    for b in blocks(path):
        if b.kind != "markdown":
            continue
        p = prose(b.source, headings=False)
        for start, end, entry in term_uses(p.text):
            if entry in seen:
                continue
            seen.add(entry)
            linked = any(s <= start and end <= e and names.get(t.lower()) == entry for s, e, t in p.links)
            if not linked:
                bad.append(
                    f"{b.where}: {b.source[start:end]!r} -> {{term}}`{b.source[start:end]} <{entries[entry][0]}>`"
                )
    assert not bad, (
        "the first use of each glossary term on a page must link to the glossary with {term}:\n" + "\n".join(bad)
    )


# ------------------------------------------------------------------------------- what students see
# The chapters were written from private notes and reviews ("seed notes", "seed 002", "the reviewer of
# seed 003"); students never see those, so no page may refer to them.
PRIVATE_SOURCES = re.compile(r"(?i)\bseed(?:'s)?\s+(?:notes?\b|\d+\b)|\bthe seed's\b|\breviewers?\s+of\b")

# The longest code line a reader sees without a horizontal scroll bar, measured in Chromium at 1280x900
# (the browser test's viewport): code is 14 px monospace, 8.43 px per character, in a box 652 px wide
# inside its padding (77 characters), or 634 px for a cell whose input is collapsed (tag hide-input; 75).
MAX_CODE_LINE = 77
MAX_COLLAPSED_CODE_LINE = 75


def book_pages() -> list[Path]:
    """Every page of the book: the intro and the chapters, then the other .md pages (glossary, ...)."""
    return pages() + sorted(p for p in BOOK.glob("*.md") if p not in pages())


@pytest.mark.parametrize("path", book_pages(), ids=lambda p: p.name)
def test_no_reference_to_private_sources(path: Path) -> None:
    bad = []
    for b in blocks(path):
        text = b.source if b.kind == "markdown" else code_text(b.source)
        for m in PRIVATE_SOURCES.finditer(text):
            bad.append(f"{b.where}: ...{text[max(0, m.start() - 40) : m.end() + 40]}...".replace("\n", " "))
    assert not bad, (
        "the book refers to the private sources it was written from, which students never see; "
        "say it without them (e.g. 'a common explanation says', 'course notes often ...'):\n" + "\n".join(bad)
    )


@pytest.mark.parametrize("path", [p for p in pages() if p.suffix == ".ipynb"], ids=lambda p: p.name)
def test_code_lines_fit_the_page(path: Path) -> None:
    bad = []
    for cell in nbformat.read(str(path), as_version=4).cells:
        tags = cell.metadata.get("tags", [])
        if cell.cell_type != "code" or "remove-input" in tags or "remove-cell" in tags:
            continue
        limit = MAX_COLLAPSED_CODE_LINE if "hide-input" in tags else MAX_CODE_LINE
        for i, line in enumerate(cell.source.splitlines(), 1):
            if len(line) > limit:
                bad.append(
                    f"{path.relative_to(ROOT)} cell {cell.get('id')} line {i}: {len(line)} characters "
                    f"(at most {limit}): {line.strip()[:60]}"
                )
    assert not bad, (
        "code lines wider than the page's code box (the reader has to scroll sideways to read "
        "them); wrap them:\n" + "\n".join(bad)
    )
