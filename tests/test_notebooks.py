"""Every notebook runs top to bottom at its small default size, and is saved with its outputs."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
FILES = sorted(NOTEBOOKS.glob("*.ipynb"))
PARAMETER_LINE = 'FULL = os.environ.get("RISKMODEL_FULL", "0") == "1"'


def test_the_notebooks_are_there():
    names = [p.name for p in FILES]
    assert names == [
        "01_quickstart.ipynb",
        "02_fit_transition_models.ipynb",
        "03_scenarios_and_stress.ipynb",
        "04_sensitivity.ipynb",
        "05_validation.ipynb",
    ]


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_saved_with_outputs_and_a_size_parameter(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert PARAMETER_LINE in code[0].source, "the first code cell must choose the size"
    assert all(c.execution_count is not None for c in code), "save the notebook executed"
    assert not [o for c in code for o in c.outputs if o.output_type == "error"]
    assert any("image/png" in o.get("data", {}) for c in code for o in c.outputs)
    assert "import riskmodel as rm" in "\n".join(c.source for c in code)


@pytest.mark.slow
@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_notebook_executes(path, monkeypatch):
    from nbclient import NotebookClient

    monkeypatch.setenv("RISKMODEL_FULL", "0")
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    client.execute()  # raises CellExecutionError, naming the cell, on any error
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert errors == []
    assert os.environ["RISKMODEL_FULL"] == "0"
