"""Near-identical answer code: winnowed k-grams of normalized tokens (the method of MOSS).

Schleimer, Wilkerson and Aiken, *Winnowing: local algorithms for document fingerprinting* (SIGMOD 2003).
Each student's answer code (the solution cells) is cut into units, one per top-level function plus
one for the remaining top-level statements, and each unit is normalized before it is fingerprinted:

* parsed and printed again by :mod:`ast` (formatting, comments and docstrings are gone);
* the names a function binds (its arguments and local variables) all become ``v`` (numbering them
  by first use would let one added variable renumber the rest), the names the answer defines at top
  level (its functions, helpers, constants) become ``G``, and string literals become ``'S'``;
  library names (``np.exp``, ``.astype``, keyword arguments) stay, since they are what an answer is
  made of;
* units are fingerprinted one by one, so the order of the functions does not matter.

A unit's tokens give k-grams; their hashes are winnowed (the smallest hash of every window of ``w``
consecutive k-grams is kept), and the fingerprints of the released notebook's starter code
(signatures, ``raise NotImplementedError()``) are removed as boilerplate. Two answers' similarity is
the Jaccard index of their fingerprint sets: 1.0 for the same code after normalization.

A cell that does not parse falls back to its raw tokens (names, comments and layout as written).
"""

from __future__ import annotations

import ast
import hashlib
import io
import itertools
import keyword
import re
import tokenize
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

#: Tokens per k-gram and k-grams per winnowing window (measured in tests/test_report.py).
K = 5
WINDOW = 4
#: Similarity (Jaccard index of the fingerprints) from which two answers count as near-identical.
THRESHOLD = 0.6
#: Answers with fewer fingerprints than this (a few lines at most) are too short to compare.
MIN_FINGERPRINTS = 12
MODULE_UNIT = "<top level>"


@dataclass
class Unit:
    """One function (or the top-level statements) of an answer: its name, source and fingerprints."""

    name: str
    source: str
    normalized: str
    fingerprints: frozenset[int]


@dataclass
class Answer:
    """One student's (or the reference's) answer code, cut into units."""

    owner: str
    units: dict[str, Unit] = field(default_factory=dict)

    @property
    def fingerprints(self) -> frozenset[int]:
        return frozenset().union(*(u.fingerprints for u in self.units.values())) if self.units else frozenset()

    @property
    def source(self) -> str:
        return "\n\n".join(u.source for u in self.units.values())


# ------------------------------------------------------------------------------- normalization
class _Rename(ast.NodeTransformer):
    """Local names to v, the answer's top-level names to G, strings to 'S'."""

    def __init__(self, top_level: set[str]) -> None:
        self.top_level = top_level
        self.local: dict[str, str] = {}

    def _name(self, name: str, bound: bool) -> str:
        if name in self.local:
            return self.local[name]
        if bound:
            self.local[name] = "v"
            return self.local[name]
        return "G" if name in self.top_level else name

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        _strip_docstring(node)
        node.name = "G" if node.name in self.top_level else self._name(node.name, True)
        node.decorator_list = [self.visit(d) for d in node.decorator_list]
        node.returns = None
        node.args = self.visit(node.args)
        node.body = [self.visit(s) for s in node.body]
        return node

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]

    def visit_arg(self, node: ast.arg) -> ast.AST:
        node.arg = self._name(node.arg, True)
        node.annotation = None
        return node

    def visit_Name(self, node: ast.Name) -> ast.AST:
        bound = isinstance(node.ctx, (ast.Store, ast.Del))
        node.id = self._name(node.id, bound and node.id not in self.top_level)
        return node

    def visit_AnnAssign(self, node: ast.AnnAssign) -> ast.AST:
        target = self.visit(node.target)
        value = self.visit(node.value) if node.value is not None else None
        return ast.Assign(targets=[target], value=value or ast.Constant(None), lineno=node.lineno)

    def visit_Constant(self, node: ast.Constant) -> ast.AST:
        return ast.Constant("S") if isinstance(node.value, (str, bytes)) else node

    def visit_JoinedStr(self, node: ast.JoinedStr) -> ast.AST:
        return ast.Constant("S")

    def visit_Expr(self, node: ast.Expr) -> ast.AST | None:
        if isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            return None  # a string statement is a comment
        return self.generic_visit(node)


def _strip_docstring(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Module) -> None:
    body = node.body
    if (
        body
        and isinstance(body[0], ast.Expr)
        and isinstance(body[0].value, ast.Constant)
        and isinstance(body[0].value.value, str)
    ):
        node.body = body[1:] or [ast.Pass()]


def _defined_names(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for stmt in tree.body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(stmt.name)
        elif isinstance(stmt, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            for t in targets:
                names.update(n.id for n in ast.walk(t) if isinstance(n, ast.Name))
    return names


def _tokens(text: str) -> list[str]:
    """Python tokens of ``text``: no comments or blank lines; indentation as ``{``/``}``."""
    out: list[str] = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type in (tokenize.COMMENT, tokenize.NL, tokenize.ENCODING, tokenize.ENDMARKER):
                continue
            if tok.type == tokenize.INDENT:
                out.append("{")
            elif tok.type == tokenize.DEDENT:
                out.append("}")
            elif tok.type == tokenize.NEWLINE:
                out.append(";")
            elif tok.type == tokenize.STRING:
                out.append("'S'")
            elif tok.string.strip():
                out.append(tok.string)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        out.extend(text.split())
    return out


_TOKEN = re.compile(r"'S'|\.\.\.|[A-Za-z_]\w*|\d[\w.]*|\*\*=?|//=?|->|:=|<<=?|>>=?|[-+*/%@&|^<>=!]=|\S")


def _normalized_tokens(text: str) -> list[str]:
    """Tokens of :func:`ast.unparse` output (regular by construction, so a regular expression is enough,
    and much cheaper than :mod:`tokenize`): indentation as ``{``/``}``, line ends as ``;``."""
    out: list[str] = []
    levels = [0]
    for line in text.splitlines():
        body = line.lstrip(" ")
        if not body:
            continue
        indent = len(line) - len(body)
        if indent > levels[-1]:
            levels.append(indent)
            out.append("{")
        while indent < levels[-1]:
            levels.pop()
            out.append("}")
        out.extend(_TOKEN.findall(body))
        out.append(";")
    out.extend("}" * (len(levels) - 1))
    return out


def _raw_tokens(text: str) -> list[str]:
    """Tokens of code that does not parse: names collapsed to ``N`` (keywords kept)."""
    return ["N" if t.isidentifier() and not keyword.iskeyword(t) else t for t in _tokens(text)]


def split_units(sources: Iterable[str]) -> list[tuple[str, str, str]]:
    """``(name, source, normalized text)`` of every unit of the answer code ``sources`` (the cells)."""
    cells = [s for s in sources if s.strip()]
    trees: list[tuple[str, ast.Module | None]] = []
    for src in cells:
        try:
            trees.append((src, ast.parse(src)))
        except (SyntaxError, ValueError):
            trees.append((src, None))
    top = set().union(*(_defined_names(t) for _, t in trees if t is not None)) if trees else set()
    units: list[tuple[str, str, str]] = []
    rest_src: list[str] = []
    rest_norm: list[str] = []
    for i, (src, tree) in enumerate(trees):
        if tree is None:
            units.append((f"<cell {i + 1}, does not parse>", src, " ".join(_raw_tokens(src))))
            continue
        lines = src.splitlines()
        for stmt in tree.body:
            seg = "\n".join(lines[stmt.lineno - 1 : (stmt.end_lineno or stmt.lineno)])
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = stmt.name if stmt.name not in {u[0] for u in units} else f"{stmt.name} ({i + 1})"
                if isinstance(stmt, ast.ClassDef):
                    _strip_docstring(stmt)
                norm = ast.unparse(_Rename(top).visit(stmt))
                units.append((name, _with_decorators(lines, stmt, seg), norm))
            elif not (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)):
                rest_src.append(seg)
                rest_norm.append(ast.unparse(_Rename(top).visit(stmt)))
    if rest_norm:
        units.append((MODULE_UNIT, "\n".join(rest_src), "\n".join(rest_norm)))
    return units


def _with_decorators(lines: list[str], stmt: ast.stmt, seg: str) -> str:
    decos = getattr(stmt, "decorator_list", [])
    if decos:
        first = min(d.lineno for d in decos)
        return "\n".join(lines[first - 1 : (stmt.end_lineno or stmt.lineno)])
    return seg


# ------------------------------------------------------------------------------- fingerprints
def _hash(gram: tuple[str, ...]) -> int:
    return int.from_bytes(hashlib.blake2b("\x1f".join(gram).encode(), digest_size=8).digest(), "big")


def winnow(tokens: list[str], k: int = K, w: int = WINDOW) -> frozenset[int]:
    """The winnowed fingerprints of a token list: the smallest hash of every window of ``w`` k-grams
    (a unit shorter than one k-gram is one gram)."""
    if not tokens:
        return frozenset()
    grams = [_hash(tuple(tokens[i : i + k])) for i in range(max(1, len(tokens) - k + 1))]
    if len(grams) <= w:
        return frozenset({min(grams)})
    return frozenset(min(grams[i : i + w]) for i in range(len(grams) - w + 1))


def answer(
    owner: str, sources: Iterable[str], *, boilerplate: frozenset[int] = frozenset(), k: int = K, w: int = WINDOW
) -> Answer:
    """The fingerprinted units of ``owner``'s answer code (``sources``: the solution cells' code)."""
    a = Answer(owner)
    for name, src, norm in split_units(sources):
        fp = winnow(_normalized_tokens(norm) if not name.startswith("<cell") else norm.split(), k, w) - boilerplate
        a.units[name] = Unit(name, src, norm, fp)
    return a


def boilerplate_of(starter_sources: Iterable[str], *, k: int = K, w: int = WINDOW) -> frozenset[int]:
    """Fingerprints of the released starter code (every k-gram, not only the winnowed ones)."""
    out: set[int] = set()
    for name, _, norm in split_units(starter_sources):
        out |= winnow(_normalized_tokens(norm) if not name.startswith("<cell") else norm.split(), k, 1)
    return frozenset(out)


def jaccard(a: frozenset[int], b: frozenset[int]) -> float:
    union = len(a | b)
    return len(a & b) / union if union else 0.0


# ------------------------------------------------------------------------------------ the class
@dataclass
class Match:
    """Two answers (or an answer and the reference) and how similar they are, overall and per function."""

    a: str
    b: str
    score: float
    per_unit: dict[str, float]
    shared: int
    sizes: tuple[int, int]


def compare(x: Answer, y: Answer) -> Match:
    fx, fy = x.fingerprints, y.fingerprints
    per = {
        n: jaccard(u.fingerprints, y.units[n].fingerprints)
        for n, u in x.units.items()
        if n in y.units and (u.fingerprints or y.units[n].fingerprints)
    }
    return Match(x.owner, y.owner, jaccard(fx, fy), per, len(fx & fy), (len(fx), len(fy)))


def similar_pairs(
    answers: list[Answer], *, threshold: float = THRESHOLD, min_fingerprints: int = MIN_FINGERPRINTS
) -> list[Match]:
    """Every pair of answers at or above ``threshold``, most similar first (answers too short are skipped).
    Every pair is compared (set intersections: about 0.3 s for 300 students); a pair whose sizes alone
    rule the threshold out (the Jaccard index is at most the smaller size over the larger) is skipped."""
    usable = [a for a in answers if len(a.fingerprints) >= min_fingerprints]
    prints = [a.fingerprints for a in usable]
    out = []
    for i, j in itertools.combinations(range(len(usable)), 2):
        fi, fj = prints[i], prints[j]
        if min(len(fi), len(fj)) < threshold * max(len(fi), len(fj)):
            continue
        n = len(fi & fj)
        if n / (len(fi) + len(fj) - n) >= threshold:
            out.append(compare(usable[i], usable[j]))
    return sorted(out, key=lambda m: (-m.score, m.a, m.b))


def reference_answer(
    names: Iterable[str], package_dir: Path, *, boilerplate: frozenset[int] = frozenset(), owner: str = "reference"
) -> Answer:
    """The reference package's own functions of these ``names`` (searched in every module under
    ``package_dir``; the check helpers excluded), as one answer."""
    wanted = set(names)
    found: dict[str, str] = {}
    for path in sorted(package_dir.rglob("*.py")):
        if "checks" in path.relative_to(package_dir).parts:
            continue
        try:
            text = path.read_text(encoding="utf-8")
            tree = ast.parse(text)
        except (OSError, SyntaxError, ValueError):
            continue
        lines = text.splitlines()
        for stmt in tree.body:
            if (
                isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef))
                and stmt.name in wanted
                and stmt.name not in found
            ):
                found[stmt.name] = "\n".join(lines[stmt.lineno - 1 : (stmt.end_lineno or stmt.lineno)])
    return answer(owner, [found[n] for n in sorted(found)], boilerplate=boilerplate)


def reference_matches(
    answers: list[Answer], ref: Answer, *, threshold: float = THRESHOLD, min_fingerprints: int = MIN_FINGERPRINTS
) -> list[Match]:
    """Answers near-identical to the reference ``ref`` (:func:`reference_answer`), compared on the functions
    the reference has."""
    out = []
    for a in answers:
        common = Answer(a.owner, {n: u for n, u in a.units.items() if n in ref.units})
        if len(common.fingerprints) < min_fingerprints:
            continue
        m = compare(common, Answer(ref.owner, {n: u for n, u in ref.units.items() if n in common.units}))
        if m.score >= threshold:
            out.append(m)
    return sorted(out, key=lambda m: (-m.score, m.a))


def units_by_owner(answers: Iterable[Answer]) -> Mapping[str, Answer]:
    return {a.owner: a for a in answers}
