"""The chapter table (chapters.yml) is complete: every written chapter has all its parts, and every
part of the repository belongs to a chapter. Each failure says what to add."""

from __future__ import annotations

import importlib.util
import pkgutil
import re

import nbformat
import pytest
import yaml

from tests.chapters import ROOT, chapters, shared, written

LIB = ROOT / "lib" / "dlbasics"


def _toc_files() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    return [c["file"] for p in toc.get("parts", []) for c in p.get("chapters", [])]


def test_numbers_and_names_are_consistent() -> None:
    nums = [c.number for c in chapters()]
    assert nums == list(range(1, len(nums) + 1)), f"chapters.yml: numbers must be 1, 2, 3, ... in order, got {nums}"
    for c in chapters():
        assert c.status in ("written", "planned"), f"chapter {c.number}: status must be written or planned"
        assert c.book == f"book/{c.number:02d}_{c.slug}.ipynb", (
            f"chapter {c.number}: the book file must be book/{c.number:02d}_{c.slug}.ipynb (number, then slug), "
            f"so that chapters cannot be confused; chapters.yml says {c.book}"
        )
        assert re.fullmatch(rf"ps{c.number}_[a-z0-9_]+", c.assignment), (
            f"chapter {c.number}: the assignment must be named ps{c.number}_<topic>, got {c.assignment}"
        )
        assert c.bugzoo == f"tests/bugzoo/{c.assignment}.py", (
            f"chapter {c.number}: bug zoo must be tests/bugzoo/{c.assignment}.py"
        )


@pytest.mark.parametrize("ch", written(), ids=lambda c: c.assignment)
def test_written_chapter_has_every_part(ch) -> None:  # type: ignore[no-untyped-def]
    missing = []
    if not (ROOT / ch.book).is_file():
        missing.append(f"the chapter notebook {ch.book}")
    if not (ROOT / "solutions" / ch.assignment / f"{ch.assignment}.ipynb").is_file():
        missing.append(f"the nbgrader source solutions/{ch.assignment}/{ch.assignment}.ipynb")
    if not (ROOT / "exercises" / ch.assignment / f"{ch.assignment}.ipynb").is_file():
        missing.append(f"the student version exercises/{ch.assignment}/ (run `make exercises`)")
    if not (ROOT / ch.bugzoo).is_file():
        missing.append(f"a bug zoo {ch.bugzoo} (known-wrong answers, each losing named test cells)")
    for mod in ch.lib:
        if importlib.util.find_spec(mod) is None:
            missing.append(f"the lib module {mod}")
    if not ch.tests:
        missing.append("tests of its lib modules (the `tests:` list)")
    for t in ch.tests:
        if not (ROOT / t).is_file():
            missing.append(f"the test module {t}")
    assert not missing, f"chapter {ch.number} ({ch.title}) is marked written but lacks: " + "; ".join(missing)


@pytest.mark.parametrize("ch", written(), ids=lambda c: c.assignment)
def test_written_chapter_bug_zoo_is_big_enough(ch) -> None:  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("zoo", ROOT / ch.bugzoo)
    assert spec and spec.loader, f"cannot load {ch.bugzoo}"
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    bugs = list(getattr(mod, "BUGS", []))
    assert len(bugs) >= 5, f"{ch.bugzoo}: the bug zoo needs at least 5 known-wrong answers (BUGS), has {len(bugs)}"


def test_toc_lists_the_chapters_in_order() -> None:
    """Every written chapter is in _toc.yml; a planned one may be once its notebook exists; in number order."""
    toc = _toc_files()
    in_toc = [f for f in toc if re.match(r"book/\d\d_", f)]
    known = {c.toc_entry: c for c in chapters()}
    unknown = [f for f in in_toc if f not in known]
    assert not unknown, f"_toc.yml lists chapters that are not in chapters.yml: {unknown}"
    missing = [c.toc_entry for c in written() if c.toc_entry not in in_toc]
    assert not missing, f"written chapters missing from _toc.yml (add them under 'Chapters'): {missing}"
    numbers = [known[f].number for f in in_toc]
    assert numbers == sorted(numbers), f"_toc.yml must list the chapters in number order, found {in_toc}"
    for f in in_toc:
        assert (ROOT / f"{f}.ipynb").is_file(), f"_toc.yml lists {f} but {f}.ipynb does not exist"


@pytest.mark.parametrize("ch", written(), ids=lambda c: c.assignment)
def test_chapter_title_is_the_first_heading(ch) -> None:  # type: ignore[no-untyped-def]
    nb = nbformat.read(str(ROOT / ch.book), as_version=4)
    first = next(c for c in nb.cells if c.cell_type == "markdown")
    heading = first.source.lstrip().splitlines()[0]
    assert heading == f"# {ch.title}", f"{ch.book}: first heading {heading!r}, chapters.yml says {ch.title!r}"


def test_every_assignment_belongs_to_a_chapter() -> None:
    names = {c.assignment for c in chapters()}
    for d in sorted((ROOT / "solutions").iterdir()):
        if d.is_dir():
            assert d.name in names, f"solutions/{d.name} belongs to no chapter: add it to chapters.yml"


def _lib_modules() -> list[str]:
    """The top-level modules and packages of dlbasics."""
    return [f"dlbasics.{m.name}" for m in pkgutil.iter_modules([str(LIB)])]


def test_every_lib_module_belongs_to_one_chapter_and_has_tests() -> None:
    owners: dict[str, list[str]] = {}
    for c in chapters():
        for m in c.lib:
            owners.setdefault(m, []).append(f"chapter {c.number}")
    shared_lib, shared_tests = shared()
    for m in shared_lib:
        owners.setdefault(m, []).append("shared")
    problems = []
    for mod in _lib_modules():
        who = owners.get(mod, [])
        if not who:
            problems.append(
                f"{mod} belongs to no chapter: add it to the `lib:` list of the chapter that "
                f"introduces it (or to `shared:`) in chapters.yml"
            )
        elif len(who) > 1:
            problems.append(f"{mod} is listed by {', '.join(who)}: one owner only")
    for c in written():
        if c.lib and not c.tests:
            problems.append(f"chapter {c.number}: its lib modules {list(c.lib)} have no tests")
    for t in shared_tests:
        if not (ROOT / t).is_file():
            problems.append(f"shared test module {t} is missing")
    assert not problems, "\n".join(problems)


def test_the_book_stamp_covers_what_the_chapters_import_and_not_the_grader() -> None:
    """`make book` re-executes the chapters when what they import changes (scripts/book_stamp.py), not
    when the grader or an unused module changes."""
    import importlib.util as iu

    spec = iu.spec_from_file_location("book_stamp", ROOT / "scripts" / "book_stamp.py")
    assert spec and spec.loader
    mod = iu.module_from_spec(spec)
    spec.loader.exec_module(mod)
    from dlbgrader.manifest import grading_dependencies

    deps = {
        p.relative_to(ROOT / "lib").as_posix()
        for p in grading_dependencies(mod.chapter_sources(), always=("dlbasics",))
    }
    assert not any(d.startswith("dlbgrader/") for d in deps)
    assert not any(d.startswith("dlbasics/checks/") for d in deps), "no chapter imports the test helpers"
    for ch in written():
        for m in ch.lib:
            if m in ("dlbasics.training",) and ch.number != 1:
                continue
            path = m.replace(".", "/")
            assert any(d == f"{path}.py" or d.startswith(f"{path}/") for d in deps), (
                f"chapter {ch.number}'s module {m} should be in the book stamp: {sorted(deps)}"
            )
