"""Imports point downward only (STYLE.md #1), read from the source with `ast`.

Every import counts, including those inside functions: a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "riskmodel"

# lower number = lower layer; a module may import its own layer or lower ones
LAYERS = {
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


def _layer_of(module: str) -> int:
    parts = module.split(".")
    assert parts[0] == "riskmodel"
    key = parts[1] if len(parts) > 1 else "__init__"
    if key not in LAYERS:
        raise AssertionError(f"module riskmodel.{key} has no layer in tests/test_layers.py")
    return LAYERS[key]


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        name = ".".join(rel.parts)
        if name.endswith(".__init__") and name != "riskmodel.__init__":
            name = name[: -len(".__init__")]
        yield name, path


def _imports(path: Path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module, node.lineno


MODULES = list(_modules())


@pytest.mark.parametrize(("name", "path"), MODULES, ids=[m for m, _ in MODULES])
def test_imports_point_downward(name, path):
    own = _layer_of(name if name != "riskmodel.__init__" else "riskmodel")
    for imported, line in _imports(path):
        root = imported.split(".")[0]
        if root == "riskmodel" and imported != "riskmodel":
            assert _layer_of(imported) <= own, (
                f"{path.name}:{line} imports {imported} from a higher layer"
            )
        if root in PYMC_LIKE:
            assert name.startswith("riskmodel.models"), (
                f"{path.name}:{line} imports {root}; only riskmodel.models may import PyMC"
            )


def test_import_riskmodel_is_light():
    code = (
        "import sys, riskmodel; "
        "mods = ('pymc', 'pytensor', 'matplotlib.pyplot', 'dask'); "
        "heavy = [m for m in mods if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
