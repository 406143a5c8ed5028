"""The import graph of riskmodel, read from the source with `ast` (used by tests/test_layers.py).

Every import form counts: ``import riskmodel.x.y``, ``from riskmodel.x import y`` (``y`` a
module or a name), ``from riskmodel import name`` (resolved through the lazy ``_LAZY`` map of
``riskmodel/__init__.py``, read from its source, to the module that defines the name) and
relative imports (``from . import x``, ``from ..a import b``).

Imports inside functions (deferred imports) are real dependencies at call time, so they are
edges of the import graph like module-level ones and may close a loop: a deferred import only
hides a loop from the interpreter, not from the design. The failure message says which edges of
a loop are deferred. Imports under ``if TYPE_CHECKING:`` never run and are not edges.

Importing ``riskmodel.x.y`` also runs the ``__init__`` of ``riskmodel`` and ``riskmodel.x``;
that implicit edge to the parent package is not counted (a package ``__init__`` that re-exports
its modules would otherwise form a loop with each of them). ``from riskmodel.x import name``
is an edge to the package ``riskmodel.x`` itself, whose ``__init__`` does the re-export.
``import riskmodel as rm`` is an edge to the home of every ``rm.name`` read in the scope of the
import. The root ``riskmodel`` has no edges to its lazy names' modules: its ``__getattr__``
imports one only when that name is asked for, and that request is the edge counted.
"""

from __future__ import annotations

import ast
import itertools
from dataclasses import dataclass
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "riskmodel"
ROOT = "riskmodel"


@dataclass(frozen=True)
class Edge:
    """One import of one riskmodel module by another, resolved to the imported module."""

    importer: str
    imported: str
    line: int
    deferred: bool  # inside a function: runs at call time, not at import time

    def describe(self) -> str:
        where = "inside a function" if self.deferred else "module level"
        return f"{self.importer} -> {self.imported} (line {self.line}, {where})"


# -- the module index ---------------------------------------------------------------------------


def module_name(path: Path, package: Path = PACKAGE) -> str:
    """``riskmodel/a/b.py`` -> ``riskmodel.a.b``; ``riskmodel/a/__init__.py`` -> ``riskmodel.a``."""
    parts = list(path.relative_to(package.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def module_paths(package: Path = PACKAGE) -> dict[str, Path]:
    """Every module of the package by dotted name."""
    return {module_name(p, package): p for p in sorted(package.rglob("*.py"))}


def lazy_map(init_source: str) -> dict[str, str]:
    """The ``_LAZY = {name: module}`` dict of the package ``__init__``, read from its source."""
    for node in ast.parse(init_source).body:
        target = node.target if isinstance(node, ast.AnnAssign) else None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
        if isinstance(target, ast.Name) and target.id == "_LAZY" and node.value is not None:
            return ast.literal_eval(node.value)
    return {}


def eager_names(init_source: str, package: str = ROOT) -> dict[str, str]:
    """Names the root ``__init__`` imports at module level from its own modules -> that module."""
    names: dict[str, str] = {}
    for node in ast.parse(init_source).body:
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.startswith(package + "."):
                for alias in node.names:
                    names[alias.asname or alias.name] = node.module
    return names


# -- reading the imports of one module ----------------------------------------------------------


def _is_type_checking(test: ast.expr) -> bool:
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


def raw_imports(source: str):
    """Yield ``(level, base, names, line, deferred)`` for every import statement that runs.

    ``import a.b`` gives ``(0, "a.b", (), line, deferred)``; ``from X import n1, n2`` gives
    ``(level, X or "", ("n1", "n2"), ...)``. ``import riskmodel as rm`` reads like
    ``from riskmodel import n1, n2`` for the attributes ``rm.n1``, ``rm.n2`` used in the scope
    (function or module) of the import, as the lazy root loads each on first access.
    Statements under ``if TYPE_CHECKING:`` are skipped (their ``else:`` branch runs and is kept).
    """

    def visit(node: ast.AST, deferred: bool, scope: ast.AST):
        if isinstance(node, ast.Import):
            for alias in node.names:
                used = ()
                if alias.name == ROOT:  # `import riskmodel as rm`: rm.name loads name's module
                    used = _attributes_of(alias.asname or ROOT, scope)
                yield 0, alias.name, used, node.lineno, deferred
            return
        if isinstance(node, ast.ImportFrom):
            names = tuple(a.name for a in node.names)
            yield node.level, node.module or "", names, node.lineno, deferred
            return
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                yield from visit(child, deferred, scope)
            return
        function = isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
        for child in ast.iter_child_nodes(node):
            yield from visit(child, deferred or function, node if function else scope)

    tree = ast.parse(source)
    yield from visit(tree, False, tree)


def _attributes_of(name: str, scope: ast.AST) -> tuple[str, ...]:
    """Attributes read from the variable ``name`` anywhere in ``scope`` (``rm.simulate``)."""
    found = {
        node.attr
        for node in ast.walk(scope)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == name
    }
    return tuple(sorted(found))


class Resolver:
    """Turns import statements of riskmodel modules into edges to riskmodel modules."""

    def __init__(self, modules: set[str], packages: set[str], lazy: dict[str, str], eager):
        self.modules = modules  # every module name, packages included
        self.packages = packages  # names whose file is an __init__.py
        self.lazy = lazy
        self.eager = eager

    @classmethod
    def for_package(cls, package: Path = PACKAGE) -> Resolver:
        paths = module_paths(package)
        packages = {n for n, p in paths.items() if p.name == "__init__.py"}
        init = (package / "__init__.py").read_text()
        return cls(set(paths), packages, lazy_map(init), eager_names(init, package.name))

    def _absolute(self, importer: str, level: int, base: str) -> str:
        if level == 0:
            return base
        parts = importer.split(".")
        if importer not in self.packages:  # a plain module's "." is its package
            parts = parts[:-1]
        if level - 1 > len(parts) - 1:
            raise AssertionError(f"{importer}: relative import beyond the top-level package")
        parts = parts[: len(parts) - (level - 1)]
        return ".".join(parts + ([base] if base else []))

    def _from_name(self, base: str, name: str) -> str:
        """The module that ``from base import name`` runs."""
        if f"{base}.{name}" in self.modules:
            return f"{base}.{name}"  # a submodule
        if base == ROOT:  # the root __init__ is lazy: follow the name to its home
            if name in self.lazy:
                return self.lazy[name]
            if name in self.eager:
                return self.eager[name]
        return base

    def edges(self, importer: str, source: str) -> list[Edge]:
        found: list[Edge] = []
        for level, base, names, line, deferred in raw_imports(source):
            absolute = self._absolute(importer, level, base)
            if absolute.split(".")[0] != ROOT:
                continue
            targets = [self._from_name(absolute, n) for n in names] if names else [absolute]
            for target in targets:
                if target not in self.modules:
                    raise AssertionError(f"{importer}:{line} imports {target}, which is no module")
                edge = Edge(importer, target, line, deferred)
                if target != importer and edge not in found:
                    found.append(edge)
        return found


def third_party_roots(source: str) -> set[tuple[str, int]]:
    """Top-level names of absolute imports outside riskmodel, with their line."""
    return {
        (base.split(".")[0], line)
        for level, base, _, line, _ in raw_imports(source)
        if level == 0 and base and base.split(".")[0] != ROOT
    }


def import_graph(package: Path = PACKAGE) -> list[Edge]:
    resolver = Resolver.for_package(package)
    edges: list[Edge] = []
    for name, path in module_paths(package).items():
        edges.extend(resolver.edges(name, path.read_text()))
    return edges


# -- loops --------------------------------------------------------------------------------------


def strongly_connected(nodes, successors) -> list[list[str]]:
    """Tarjan's strongly connected components (iterative), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    for start in sorted(nodes):
        if start in index:
            continue
        work = [(start, iter(sorted(successors.get(start, ()))))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(successors.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                components.append(sorted(component))
    return components


def one_cycle(component: list[str], successors) -> list[str]:
    """A shortest cycle through the first module of a component (breadth-first), closed."""
    members = set(component)
    start = component[0]
    parent: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for child in sorted(successors.get(node, ())):
                if child not in members:
                    continue
                if child == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(parent[path[-1]])
                    return [start, *reversed(path[:-1]), start]
                if child not in parent:
                    parent[child] = node
                    following.append(child)
        frontier = following
    raise AssertionError(f"no cycle in {component}")


def loops(edges: list[Edge]) -> list[tuple[list[str], list[Edge]]]:
    """Every loop (component of more than one module) with one cycle and that cycle's edges."""
    successors: dict[str, set[str]] = {}
    for edge in edges:
        successors.setdefault(edge.importer, set()).add(edge.imported)
    nodes = {e.importer for e in edges} | {e.imported for e in edges}
    found = []
    for component in strongly_connected(nodes, successors):
        if len(component) < 2:
            continue
        cycle = one_cycle(component, successors)
        pairs = set(itertools.pairwise(cycle))
        found.append((cycle, [e for e in edges if (e.importer, e.imported) in pairs]))
    return found


def stale_allowances(edges: list[Edge], allowed) -> list[str]:
    """Allow-listed ``(importer, imported)`` pairs that are no longer imported or close no loop.

    A pair closes a loop when, with every other allow-listed pair left out, its two modules are
    in one strongly connected component.
    """
    problems = []
    pairs = {(e.importer, e.imported) for e in edges}
    for pair in allowed:
        if pair not in pairs:
            problems.append(f"{pair[0]} no longer imports {pair[1]}: delete its allow-list entry")
            continue
        kept = {(e.importer, e.imported) for e in edges}
        kept = (kept - set(allowed)) | {pair}
        successors: dict[str, set[str]] = {}
        for a, b in kept:
            successors.setdefault(a, set()).add(b)
        nodes = {m for p in kept for m in p}
        if not any(set(pair) <= set(c) for c in strongly_connected(nodes, successors)):
            problems.append(f"{pair[0]} -> {pair[1]} closes no loop: delete its allow-list entry")
    return problems


def format_loop(cycle: list[str], edges: list[Edge]) -> str:
    lines = [" -> ".join(cycle)]
    lines += [f"    {e.describe()}" for e in sorted(edges, key=lambda e: (e.importer, e.line))]
    return "\n".join(lines)
