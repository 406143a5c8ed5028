"""Imports point downward only and form no loop (STYLE.md #1; issue 12), read with `ast`.

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
"""

from __future__ import annotations

import ast
import importlib
import itertools
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "riskmodel"
ROOT = "riskmodel"

# lower number = lower layer; a module may import its own layer or lower ones
LAYERS = {
    "_version": 0,
    "dynamics": 0,
    "_validate": 0,
    "errors": 0,
    "_files": 0,
    "states": 0,
    "data": 1,
    "models": 2,
    "scenarios": 3,
    "simulation": 4,
    "metrics": 5,
    "validation": 5,
    "sensitivity": 6,
    "plotting": 7,
    "report": 8,
    "report_sensitivity": 8,
    "report_backtest": 8,
    "api": 9,
    "fitting": 9,
    "cli": 10,
    "__init__": 11,
}
PYMC_LIKE = {"pymc", "pytensor", "nutpie"}

# Known loops the refactor of issue 12 has not removed yet: (importer, imported) edges left out
# of the loop check, each with the reason. Temporary: test_allowed_loop_edges_still_needed fails
# once an entry no longer closes a loop, so the entry is deleted with the loop.
ALLOWED_LOOP_EDGES: dict[tuple[str, str], str] = {}


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


def _format_loop(cycle: list[str], edges: list[Edge]) -> str:
    lines = [" -> ".join(cycle)]
    lines += [f"    {e.describe()}" for e in sorted(edges, key=lambda e: (e.importer, e.line))]
    return "\n".join(lines)


# -- unit tests of the reader, on small snippets -------------------------------------------------

FAKE_MODULES = {
    "riskmodel",
    "riskmodel.api",
    "riskmodel.errors",
    "riskmodel.states",
    "riskmodel._version",
    "riskmodel.simulation",
    "riskmodel.simulation.engine",
    "riskmodel.simulation.kernel",
    "riskmodel.metrics",
    "riskmodel.metrics.result",
}
FAKE_PACKAGES = {"riskmodel", "riskmodel.simulation", "riskmodel.metrics"}
FAKE_INIT = """
from riskmodel.errors import InputError
from riskmodel._version import __version__
_LAZY = {"simulate": "riskmodel.api", "StateSpace": "riskmodel.states"}
"""


def _fake_edges(importer: str, source: str) -> list[tuple[str, bool]]:
    resolver = Resolver(
        FAKE_MODULES, FAKE_PACKAGES, lazy_map(FAKE_INIT), eager_names(FAKE_INIT, ROOT)
    )
    return [(e.imported, e.deferred) for e in resolver.edges(importer, source)]


@pytest.mark.parametrize(
    ("importer", "source", "expected"),
    [
        ("riskmodel.api", "import riskmodel.simulation.engine", "riskmodel.simulation.engine"),
        ("riskmodel.api", "import riskmodel.simulation.engine as e", "riskmodel.simulation.engine"),
        ("riskmodel.api", "from riskmodel.simulation import engine", "riskmodel.simulation.engine"),
        (
            "riskmodel.api",
            "from riskmodel.simulation.engine import x",
            "riskmodel.simulation.engine",
        ),
        # a name re-exported by a package __init__: the package runs the import
        ("riskmodel.api", "from riskmodel.metrics import SimResult", "riskmodel.metrics"),
        # the lazy root: through _LAZY, through its eager imports, or a submodule
        ("riskmodel.simulation.engine", "from riskmodel import simulate", "riskmodel.api"),
        ("riskmodel.simulation.engine", "from riskmodel import InputError", "riskmodel.errors"),
        ("riskmodel.simulation.engine", "from riskmodel import __version__", "riskmodel._version"),
        ("riskmodel.simulation.engine", "from riskmodel import states", "riskmodel.states"),
        ("riskmodel.simulation.engine", "from riskmodel import unknown_name", "riskmodel"),
        ("riskmodel.simulation.engine", "import riskmodel", "riskmodel"),
        ("riskmodel.errors", "import riskmodel as rm\nrm.simulate()", "riskmodel.api"),
        ("riskmodel.simulation.engine", "import riskmodel\nriskmodel.states", "riskmodel.states"),
        # relative, from a plain module and from a package __init__
        ("riskmodel.simulation.engine", "from . import kernel", "riskmodel.simulation.kernel"),
        ("riskmodel.simulation.engine", "from .kernel import f", "riskmodel.simulation.kernel"),
        (
            "riskmodel.simulation.engine",
            "from ..metrics.result import R",
            "riskmodel.metrics.result",
        ),
        ("riskmodel.simulation.engine", "from .. import api", "riskmodel.api"),
        ("riskmodel.simulation.engine", "from .. import simulate", "riskmodel.api"),
        ("riskmodel.simulation", "from .engine import simulate", "riskmodel.simulation.engine"),
        ("riskmodel.simulation", "from . import kernel", "riskmodel.simulation.kernel"),
    ],
)
def test_reader_resolves_each_import_form(importer, source, expected):
    assert _fake_edges(importer, source) == [(expected, False)]


def test_reader_marks_deferred_imports_and_skips_type_checking():
    source = """
import numpy
from typing import TYPE_CHECKING
import typing
if TYPE_CHECKING:
    from riskmodel.metrics.result import R
else:
    from riskmodel import states
if typing.TYPE_CHECKING:
    import riskmodel.api
class C:
    from riskmodel.simulation import kernel
def f():
    from riskmodel.simulation.engine import simulate
    def g():
        import riskmodel.errors
        import riskmodel as rm
        rm.simulate()
g = lambda: __import__("os")
"""
    assert _fake_edges("riskmodel.metrics", source) == [
        ("riskmodel.states", False),
        ("riskmodel.simulation.kernel", False),  # a class body runs at import time
        ("riskmodel.simulation.engine", True),
        ("riskmodel.errors", True),
        ("riskmodel.api", True),  # `rm.simulate` loads riskmodel.api when g runs
    ]


def test_reader_refuses_an_import_of_no_module():
    with pytest.raises(AssertionError, match=r"riskmodel\.nowhere, which is no module"):
        _fake_edges("riskmodel.api", "from riskmodel.nowhere import x")


def test_reader_finds_lazy_map_and_module_names(tmp_path):
    assert lazy_map(FAKE_INIT) == {"simulate": "riskmodel.api", "StateSpace": "riskmodel.states"}
    assert eager_names(FAKE_INIT) == {
        "InputError": "riskmodel.errors",
        "__version__": "riskmodel._version",
    }
    (tmp_path / "pkg" / "sub").mkdir(parents=True)
    for rel in ("pkg/__init__.py", "pkg/sub/__init__.py", "pkg/sub/mod.py"):
        (tmp_path / rel).write_text("")
    assert set(module_paths(tmp_path / "pkg")) == {"pkg", "pkg.sub", "pkg.sub.mod"}


def test_loop_finder_reports_cycles_inside_and_across_packages():
    def edge(a, b, deferred=False):
        return Edge(a, b, 1, deferred)

    edges = [
        edge("p.a", "p.b"),
        edge("p.b", "p.a", deferred=True),  # a deferred import closes a loop too
        edge("p.c", "p.d"),
        edge("p.d", "q.e"),
        edge("q.e", "p.c"),
        edge("p.a", "p.c"),  # joins no loop: p.c never leads back to p.a
    ]
    found = sorted((cycle, len(es)) for cycle, es in loops(edges))
    assert found == [(["p.a", "p.b", "p.a"], 2), (["p.c", "p.d", "q.e", "p.c"], 3)]
    assert loops([edge("p.a", "p.b"), edge("p.b", "p.c")]) == []


def test_stale_allowances_are_reported():
    edges = [
        Edge("p.a", "p.b", 1, False),
        Edge("p.b", "p.a", 2, True),
        Edge("p.b", "p.c", 3, False),
    ]
    assert stale_allowances(edges, {("p.b", "p.a"): "issue 12"}) == []
    assert stale_allowances(edges, {("p.b", "p.c"): "issue 12"}) == [
        "p.b -> p.c closes no loop: delete its allow-list entry"
    ]
    assert stale_allowances(edges, {("p.c", "p.a"): "issue 12"}) == [
        "p.c no longer imports p.a: delete its allow-list entry"
    ]


# -- the package ---------------------------------------------------------------------------------

EDGES = import_graph()
MODULES = module_paths()


def _layer_of(module: str) -> int:
    parts = module.split(".")
    key = parts[1] if len(parts) > 1 else "__init__"
    if key not in LAYERS:
        raise AssertionError(f"module riskmodel.{key} has no layer in tests/test_layers.py")
    return LAYERS[key]


@pytest.mark.parametrize("name", sorted(MODULES))
def test_imports_point_downward(name):
    own = _layer_of(name)
    upward = [e.describe() for e in EDGES if e.importer == name and _layer_of(e.imported) > own]
    assert not upward, f"{name} imports from a higher layer:\n" + "\n".join(upward)
    for root, line in third_party_roots(MODULES[name].read_text()):
        if root in PYMC_LIKE:
            assert name.startswith("riskmodel.models"), (
                f"{name}:{line} imports {root}; only riskmodel.models may import PyMC"
            )


def test_no_import_loops():
    checked = [e for e in EDGES if (e.importer, e.imported) not in ALLOWED_LOOP_EDGES]
    found = loops(checked)
    assert not found, (
        f"{len(found)} import loop(s); move the shared piece down into the lower module or a "
        "new small module:\n" + "\n".join(_format_loop(c, es) for c, es in found)
    )


def test_allowed_loop_edges_still_needed():
    assert not stale_allowances(EDGES, ALLOWED_LOOP_EDGES)
    assert all("issue" in reason for reason in ALLOWED_LOOP_EDGES.values()), (
        "each allow-listed edge names the issue that removes it"
    )


def test_lazy_names_resolve_to_their_defining_module():
    lazy = lazy_map((PACKAGE / "__init__.py").read_text())
    assert lazy, "riskmodel/__init__.py has no _LAZY map"
    for name, module in sorted(lazy.items()):
        assert module in MODULES, f"_LAZY[{name!r}] names {module}, which is no module"
        assert hasattr(importlib.import_module(module), name), (
            f"_LAZY[{name!r}]: {module} defines no {name}"
        )
    import riskmodel

    assert set(lazy) <= set(riskmodel.__all__), "every lazy name is public (in __all__)"


def test_import_riskmodel_is_light():
    code = (
        "import sys, riskmodel; "
        "mods = ('pymc', 'pytensor', 'matplotlib.pyplot', 'dask'); "
        "heavy = [m for m in mods if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
