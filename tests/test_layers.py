"""Imports point downward only and form no loop (STYLE.md #1; issue 12).

The import graph comes from `import_graph` (every import form, deferred imports included as
edges, ``if TYPE_CHECKING:`` blocks excluded; its docstring has the rules). A loop is a strongly
connected component of more than one module; deferred edges may close one, since a deferred
import hides a loop from the interpreter, not from the design.
"""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest
from import_graph import (
    PACKAGE,
    ROOT,
    Edge,
    Resolver,
    eager_names,
    format_loop,
    import_graph,
    lazy_map,
    loops,
    module_paths,
    stale_allowances,
    third_party_roots,
)

# lower number = lower layer; a module may import its own layer or lower ones
LAYERS = {
    "_version": 0,
    "dynamics": 0,
    "_validate": 0,
    "errors": 0,
    "_files": 0,
    "_lazy": 0,  # PEP 562 loaders of the package __init__ files
    "states": 0,
    "data": 1,
    "config": 2,  # schemas, YAML reading and error formatting of every config file
    "models": 2,
    "scenarios": 3,
    "simulation": 4,
    "metrics": 5,
    "ecl": 5,  # loan-level ECL: exact term structures of the engine, per loan
    "validation": 5,
    "sensitivity": 6,
    "plotting": 7,
    "report": 8,
    "api": 9,
    "fitting": 9,
    "fit_sector": 9,
    "fit_output": 9,
    "cli": 10,
    "__init__": 11,
}
PYMC_LIKE = {"pymc", "pytensor", "nutpie"}

# Known loops the refactor of issue 12 has not removed yet: (importer, imported) edges left out
# of the loop check, each with the reason. Temporary: test_allowed_loop_edges_still_needed fails
# once an entry no longer closes a loop, so the entry is deleted with the loop.
ALLOWED_LOOP_EDGES: dict[tuple[str, str], str] = {}


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


def test_graph_of_a_package_on_disk_finds_its_loops(tmp_path):
    files = {
        "__init__.py": "_LAZY = {'run': 'riskmodel.api'}\n",
        "api.py": "from riskmodel.sim import engine\n",
        "sim/__init__.py": "",
        "sim/engine.py": "def f():\n    from .store import g\n",
        # store -> api (lazy) -> engine -> store; store -> kernel only for type checkers
        "sim/store.py": (
            "from typing import TYPE_CHECKING\nfrom riskmodel import run\n"
            "if TYPE_CHECKING:\n    from .kernel import K\n"
        ),
        "sim/kernel.py": "from . import store\n",
    }
    for rel, text in files.items():
        (tmp_path / "riskmodel" / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "riskmodel" / rel).write_text(text)
    found = loops(import_graph(tmp_path / "riskmodel"))
    assert [cycle for cycle, _ in found] == [
        ["riskmodel.api", "riskmodel.sim.engine", "riskmodel.sim.store", "riskmodel.api"]
    ]
    assert [e.deferred for e in found[0][1]] == [False, True, False]


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


#: modules that run the engine; only the entry points above the metrics may import them
_DRIVERS = {"riskmodel.simulation.engine", "riskmodel.simulation.variants"}


def test_metrics_and_reports_never_simulate():
    # issue 12: results are computed by the engine's drivers, then measured and shown
    low = ("riskmodel.metrics", "riskmodel.validation", "riskmodel.plotting", "riskmodel.report")
    bad = [e.describe() for e in EDGES if e.importer.startswith(low) and e.imported in _DRIVERS]
    assert not bad, "these modules run simulations:\n" + "\n".join(bad)


def test_no_import_loops():
    checked = [e for e in EDGES if (e.importer, e.imported) not in ALLOWED_LOOP_EDGES]
    found = loops(checked)
    assert not found, (
        f"{len(found)} import loop(s); move the shared piece down into the lower module or a "
        "new small module:\n" + "\n".join(format_loop(c, es) for c, es in found)
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


def test_lazy_model_names_resolve_to_their_defining_module():
    """`riskmodel.models` loads its models on first use, as `riskmodel` does its names."""
    lazy = lazy_map((PACKAGE / "models" / "__init__.py").read_text())
    assert lazy, "riskmodel/models/__init__.py has no _LAZY map"
    import riskmodel.models

    for name, module in sorted(lazy.items()):
        assert hasattr(importlib.import_module(module), name), f"{module} defines no {name}"
        assert getattr(riskmodel.models, name) is getattr(importlib.import_module(module), name)
    assert set(lazy) <= set(riskmodel.models.__all__)


@pytest.mark.parametrize("command", ["run", "validate"])
def test_a_scenario_run_imports_no_model_and_no_scipy_stats(tmp_path, tiny_yaml, command):
    """Every CLI process pays for its imports: scipy.stats alone takes about half a second, and
    `riskmodel run` of a point-parameter scenario needs neither it nor the models' modules (a
    scenario reads saved draws through `riskmodel.models.draws` alone); nor does either command
    need the sensitivity modules unless the scenario has a sensitivity block."""
    args = [command, str(tiny_yaml)]
    if command == "run":
        args += ["--out", str(tmp_path / "out"), "--paths", "200", "--no-progress"]
    code = (
        "import sys; from riskmodel.cli import main; code = main(sys.argv[1:]); "
        "mods = ('scipy.stats', 'pymc', 'riskmodel.models.default', 'riskmodel.models.intensity', "
        "'riskmodel.models.transition', 'riskmodel.models.sector', 'riskmodel.sensitivity'); "
        "print('HEAVY:' + ','.join(m for m in mods if m in sys.modules)); sys.exit(code)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=tmp_path
    )
    assert out.returncode == 0, out.stderr
    assert "HEAVY:\n" in out.stdout, out.stdout


def test_import_riskmodel_is_light():
    code = (
        "import sys, riskmodel; "
        "mods = ('pymc', 'pytensor', 'matplotlib.pyplot', 'dask'); "
        "heavy = [m for m in mods if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
