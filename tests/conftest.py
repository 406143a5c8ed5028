"""Shared test configuration: Agg backend, figures closed after each test, tiny scenarios."""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import matplotlib
import pytest
import yaml

matplotlib.use("Agg")  # before any pyplot import: tests never open windows

REPO = Path(__file__).resolve().parents[1]
SCENARIO_DIR = REPO / "scenarios"

TINY = yaml.safe_load((Path(__file__).parent / "scenarios" / "tiny.yaml").read_text())
"""A small, fast, valid scenario (tests/scenarios/tiny.yaml): ~0.1 s to simulate."""


SHARED_WORKER = ("tests/models/", "tests/test_fitting_sector.py")
"""Test files that run in one xdist worker (``--dist loadgroup``): tests/models' session
fixtures (shared fits) are then built once, and the sector model's C code is compiled once,
where under ``--dist loadscope`` both workers could build the same fits or wait on each other's
compilation."""


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Group tests for ``--dist loadgroup``: by file, and the `SHARED_WORKER` files together."""
    if not config.pluginmanager.hasplugin("xdist"):  # -p no:xdist: no groups, no such marker
        return
    for item in items:
        path = item.nodeid.split("::")[0]
        shared = any(path.startswith(prefix) for prefix in SHARED_WORKER)
        item.add_marker(pytest.mark.xdist_group("shared-fits" if shared else path))


@pytest.fixture(autouse=True)
def _close_figures():
    """Close every pyplot figure after each test (only if pyplot was imported at all)."""
    yield
    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")


@pytest.fixture(params=["numpy", "compiled"])
def chain_kernel(request, monkeypatch) -> str:
    """Run the test once with each kernel of the exact chains (``RISKMODEL_KERNEL``).

    The compiled kernel must give the numpy code's numbers bit for bit
    (`riskmodel.simulation.compiled`); a test of the chains' draws runs under both, so that
    neither can drift, and mutants of the numpy code are still caught.
    """
    monkeypatch.setenv("RISKMODEL_KERNEL", request.param)
    return str(request.param)


@pytest.fixture
def tiny_config() -> dict:
    """A fresh copy of the tiny scenario dict (mutate freely)."""
    return copy.deepcopy(TINY)


@pytest.fixture
def write_scenario(tmp_path):
    """Write a scenario dict (or raw text) to ``tmp_path/<name>`` and return the path."""

    def write(data: dict | str, name: str = "scenario.yaml") -> Path:
        path = tmp_path / name
        text = data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False)
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture
def tiny_yaml(write_scenario, tiny_config) -> Path:
    """The tiny scenario as a YAML file in a temporary folder."""
    return write_scenario(tiny_config, "tiny.yaml")
