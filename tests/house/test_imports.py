"""The house's plan, checked from the source: the core imports no command-line library, and no
module of the project imports, however indirectly, a module that imports it back."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("ledger", "api", "scanner", "tracemark")
CORE = ("ledger", "api", "scanner")
COMMAND_LINE = ("typer", "rich", "click")


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for package in PACKAGES for p in (ROOT / package).rglob("*.py")
           if "migrations" not in p.parts}


def _runtime_nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node of `tree` that runs, leaving out `if TYPE_CHECKING:` blocks (read by type checkers only)."""
    nodes, pending = [], [tree]
    while pending:
        node = pending.pop()
        nodes.append(node)
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            pending.extend(node.orelse)
            continue
        pending.extend(ast.iter_child_nodes(node))
    return nodes


def _imports(path: Path) -> set[str]:
    """Every module `path` imports when it runs, at its top or inside a function, by absolute name."""
    found: set[str] = set()
    for node in _runtime_nodes(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            submodules = {f"{node.module}.{alias.name}" for alias in node.names} & MODULES.keys()
            found.update(submodules or {node.module})
    return found


def _project_edges() -> dict[str, set[str]]:
    return {name: {target for target in _imports(path) if target in MODULES and target != name}
            for name, path in MODULES.items()}


@pytest.mark.parametrize("package", CORE)
def test_the_core_imports_no_command_line_library(package: str) -> None:
    offending = sorted(f"{name} imports {imported}" for name, path in MODULES.items() if name.split(".")[0] == package
                       for imported in _imports(path) if imported.split(".")[0] in COMMAND_LINE)
    assert not offending, offending


def test_no_module_imports_itself_back() -> None:
    edges = _project_edges()
    groups = _cycles(edges)
    assert not groups, "modules that import each other: " + "; ".join(", ".join(group) for group in groups)


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The groups of modules that reach each other by imports (Tarjan's strongly connected components, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    group = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.append(member)
                        if member == node:
                            break
                    if len(group) > 1:
                        groups.append(sorted(group))
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(edges[child]))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return groups
