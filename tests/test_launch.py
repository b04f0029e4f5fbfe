"""A chapter opened by a launch button (Colab, Binder) or downloaded alone can run.

Colab and Binder start from a bare Python: the first cell of every chapter installs the course
package from the repository named in ``_config.yml``, and only when ``dlbasics`` is not importable
(the book's own build has it, and must stay offline). The package must install on Colab's Python
(3.12), and Binder needs its environment file.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat
import pytest
import yaml
from packaging.specifiers import SpecifierSet

ROOT = Path(__file__).resolve().parent.parent
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
CHAPTERS = sorted(ROOT.glob("book/[0-9][0-9]_*.ipynb"))


def first_code_cell(nb_path: Path) -> str:
    nb = nbformat.read(str(nb_path), as_version=4)
    return next(c.source for c in nb.cells if c.cell_type == "code")


@pytest.mark.parametrize("nb_path", CHAPTERS, ids=lambda p: p.name)
def test_first_cell_installs_dlbasics_only_when_missing(nb_path: Path) -> None:
    src = first_code_cell(nb_path)
    tree = ast.parse(src)
    tries = [n for n in tree.body if isinstance(n, ast.Try)]
    assert tries, f"{nb_path.name}: the first cell must try `import dlbasics` and install it on ImportError"
    try_node = tries[0]
    imported = [a.name for n in try_node.body if isinstance(n, ast.Import) for a in n.names]
    assert imported == ["dlbasics"], f"{nb_path.name}: the try block must only `import dlbasics`, found {imported}"
    handlers = [h for h in try_node.handlers if isinstance(h.type, ast.Name) and h.type.id == "ImportError"]
    assert handlers, f"{nb_path.name}: the install must run only on ImportError"
    handler_src = ast.get_source_segment(src, handlers[0]) or ""
    url = str(CONFIG["repository"]["url"]).rstrip("/")
    branch = str(CONFIG["repository"].get("branch", "main"))
    joined = re.sub(r'"\s*\n\s*"', "", handler_src)  # implicit string concatenation over lines
    assert f"git+{url}@{branch}" in joined, (
        f"{nb_path.name}: the first cell must pip install from _config.yml's repository "
        f"(git+{url}@{branch}); it says:\n{handler_src}"
    )
    assert "pip" in joined and "install" in joined
    calls = [n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)]
    assert "setup" in calls, f"{nb_path.name}: the first cell must call dlbasics.notebook.setup()"


def test_package_installs_on_colab_python() -> None:
    project = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    m = re.search(r'^requires-python\s*=\s*"([^"]+)"', project, re.M)
    assert m, "pyproject.toml must state requires-python"
    spec = SpecifierSet(m.group(1))
    for version in ("3.11", "3.12", "3.13"):
        assert version in spec, f"requires-python {m.group(1)!r} excludes Python {version} (Colab runs 3.12)"


def test_binder_environment() -> None:
    req = ROOT / "binder" / "requirements.txt"
    assert req.is_file(), "Binder needs binder/requirements.txt"
    lines = [ln.split("#")[0].strip() for ln in req.read_text(encoding="utf-8").splitlines()]
    lines = [ln for ln in lines if ln]
    assert "." in lines, "binder/requirements.txt must install the course package (a line '.')"
    pins = dict(ln.split("==") for ln in (ROOT / "constraints.txt").read_text().splitlines() if "==" in ln)
    torch = [ln for ln in lines if ln.startswith("torch")]
    assert torch == [f"torch=={pins['torch']}"], f"Binder must pin torch as constraints.txt does: {torch}"
    runtime = (ROOT / "binder" / "runtime.txt").read_text(encoding="utf-8").strip()
    m = re.fullmatch(r"python-(\d+\.\d+)", runtime)
    assert m, f"binder/runtime.txt must say python-X.Y, not {runtime!r}"
    project = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    spec = SpecifierSet(re.search(r'^requires-python\s*=\s*"([^"]+)"', project, re.M).group(1))  # type: ignore[union-attr]
    assert m.group(1) in spec, f"Binder's Python {m.group(1)} is outside requires-python {spec}"
