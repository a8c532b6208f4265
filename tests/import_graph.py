"""The project's import graph read from the source: every import, at module level or inside a
function, resolved to project modules. Used by tests/test_architecture.py and, as a script,
to print the figures (cycles, layer violations, imports inside functions).

    python -m tests.import_graph
"""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "handlers", "scheduler", "content")


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    line: int
    in_function: bool


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations/versions" in path.as_posix():
                continue
            found[module_name(path)] = path
    return found


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The longest project module that `name` names or lies inside."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def edges() -> list[Edge]:
    modules = project_modules()
    result: list[Edge] = []
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        is_package = path.name == "__init__.py"
        function_nodes: set[int] = set()
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for inner in ast.walk(node):
                    function_nodes.add(id(inner))
        for node in ast.walk(tree):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = name.split(".") if is_package else name.split(".")[:-1]
                    base = base[: len(base) - (node.level - 1)]
                    prefix = ".".join(base + ([node.module] if node.module else []))
                else:
                    prefix = node.module or ""
                targets = [f"{prefix}.{a.name}" for a in node.names] + [prefix]
            found: set[str] = set()
            if isinstance(node, ast.ImportFrom):
                # `from pkg import sub` depends on the submodule; `from pkg import name` (a name
                # defined in pkg/__init__.py) on the package itself.
                for alias in node.names:
                    resolved = _resolve(f"{prefix}.{alias.name}", modules)
                    if resolved:
                        found.add(resolved)
            else:
                found = {r for t in targets if (r := _resolve(t, modules))}
            found.discard(name)
            for target in sorted(found):
                result.append(Edge(name, target, node.lineno, id(node) in function_nodes))
    return result


def graph(all_edges: list[Edge]) -> dict[str, set[str]]:
    g: dict[str, set[str]] = defaultdict(set)
    for e in all_edges:
        g[e.source].add(e.target)
    return g


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = [0]
    sys.setrecursionlimit(10000)

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in g.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(set(g) | {w for ws in g.values() for w in ws}):
        if v not in index:
            visit(v)
    return out


if __name__ == "__main__":
    all_edges = edges()
    inside = [e for e in all_edges if e.in_function]
    print(
        f"modules: {len(project_modules())}, imports: {len(all_edges)}, inside functions: {len(inside)}"
    )
    for comp in cycles(graph(all_edges)):
        print(f"cycle of {len(comp)}: {', '.join(comp)}")
