"""The import graph of lib/: no cycles, and no upward import (the maths never imports the grader).

Walks every module's imports with ``ast`` (module-level and inside functions alike)."""

from __future__ import annotations

import ast
from pathlib import Path

LIB = Path(__file__).resolve().parent.parent / "lib"
PACKAGES = ("dlbasics", "dlbgrader")


def _module_name(path: Path) -> str:
    rel = path.relative_to(LIB).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _graph() -> dict[str, set[str]]:
    modules = {_module_name(p): p for pkg in PACKAGES for p in (LIB / pkg).rglob("*.py")}
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(tree):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(
                        package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else [])
                    )
                targets = [base] + [f"{base}.{a.name}" for a in node.names]
            for t in targets:
                if t in modules and t != name:
                    graph[name].add(t)
    return graph


def test_the_maths_never_imports_the_grader() -> None:
    upward = [(m, t) for m, ts in _graph().items() if m.startswith("dlbasics") for t in ts if t.startswith("dlbgrader")]
    assert upward == [], f"dlbasics must not import dlbgrader (imports go from the grader to the maths): {upward}"


def test_no_import_cycles() -> None:
    graph = _graph()
    # a module's own package __init__ importing it is not a cycle of dependencies between modules
    edges = {m: {t for t in ts if not m.startswith(t + ".")} for m, ts in graph.items()}
    color: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(m: str) -> None:
        color[m] = 1
        stack.append(m)
        for t in sorted(edges[m]):
            if color.get(t) == 1:
                cycles.append(stack[stack.index(t) :] + [t])
            elif t not in color:
                visit(t)
        stack.pop()
        color[m] = 2

    for m in sorted(edges):
        if m not in color:
            visit(m)
    assert cycles == [], "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_the_kernel_side_agent_is_numpy_only() -> None:
    """dlbgrader.agent runs in the student's kernel, which has NumPy and matplotlib only."""
    tree = ast.parse((LIB / "dlbgrader" / "agent.py").read_text(encoding="utf-8"))
    third_party = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            third_party |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            third_party.add(node.module.split(".")[0])
    import sys

    allowed = set(sys.stdlib_module_names) | {"numpy"}
    assert third_party <= allowed, f"the agent may import only the standard library and NumPy: {third_party - allowed}"
