"""Convergence of a saved posterior read back for the run report (issue 16, posterior runs)."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

import riskmodel as rm
from riskmodel.fitting import FIT_FILES_ATTR as FITTING_ATTR
from riskmodel.models.draws import ParameterDraws, netcdf_engine
from riskmodel.models.posterior_convergence import (
    FIT_FILES_ATTR,
    THRESHOLDS,
    posterior_convergence,
)

GOOD = {
    "divergences": 0,
    "max_rhat": 1.004,
    "max_rhat_var": "mu",
    "min_ess_bulk": 900.0,
    "min_ess_bulk_var": "kappa",
    "min_ess_tail": 800.0,
    "min_ess_tail_var": "kappa",
    "chains": 4,
    "draws": 500,
}


def _draws() -> ParameterDraws:
    ss = rm.StateSpace(["ok", "d"], absorbing=["d"], default="d")
    mats = np.array([[[[1 - p, p], [0.0, 1.0]]] for p in (0.01, 0.02)])
    return ParameterDraws(ss, ("all",), mats, correlation=np.array([0.1, 0.2]))


def write_fitted(folder, diagnostics: dict | None, *, name: str = "post.nc"):
    """A posterior as `riskmodel fit` writes it: the diagnostics JSON beside it, its SHA-256
    recorded in the posterior group (None: a bare `ParameterDraws.to_netcdf` file)."""
    path = folder / name
    ds = _draws().to_dataset()
    if diagnostics is not None:
        diag = path.with_suffix(".diagnostics.json")
        diag.write_text(json.dumps(diagnostics))
        sha = hashlib.sha256(diag.read_bytes()).hexdigest()
        ds.attrs[FIT_FILES_ATTR] = json.dumps({diag.name: sha})
    ds.to_netcdf(path, group="posterior", mode="w", engine=netcdf_engine())
    return path


def test_the_attribute_name_is_the_one_fit_writes():
    assert FIT_FILES_ATTR == FITTING_ATTR


@pytest.mark.parametrize(
    ("change", "failed"),
    [
        ({}, None),
        ({"max_rhat": 1.05}, "R-hat 1.050 > 1.01 (mu)"),
        ({"min_ess_bulk": 399.0}, "bulk ESS 399 < 400 (kappa)"),
        ({"min_ess_tail": 120.0}, "tail ESS 120 < 400 (kappa)"),
        ({"divergences": 3}, "3 divergent transition(s)"),
    ],
)
def test_each_threshold_decides_the_verdict(tmp_path, change, failed):
    path = write_fitted(tmp_path, {"transition_model": {**GOOD, **change}})
    conv = posterior_convergence(path)
    assert conv["source"] == "post.diagnostics.json"
    if failed is None:
        assert conv["verdict"] == "converged" and conv["failed"] == []
    else:
        assert conv["verdict"] == "not converged"
        assert conv["failed"] == [f"transition_model: {failed}"]
    assert conv["thresholds"] == THRESHOLDS


def test_worst_figures_over_models_and_exact_models(tmp_path):
    other = {**GOOD, "max_rhat": 1.008, "min_ess_bulk": 500.0, "min_ess_tail": None}
    conv = posterior_convergence(
        write_fitted(tmp_path, {"transition_model": GOOD, "default_model": other})
    )
    assert conv["max_rhat"] == 1.008 and conv["min_ess_bulk"] == 500.0
    assert conv["min_ess_tail"] == 800.0  # a model without tail ESS is judged on the rest
    assert conv["divergences"] == 0 and conv["verdict"] == "converged"
    exact = posterior_convergence(
        write_fitted(tmp_path, {"transition_model": {"method": "conjugate (exact)"}}, name="e.nc")
    )
    assert exact["verdict"] == "exact" and exact["max_rhat"] is None


def test_unrecorded_and_changed_diagnostics_are_said_so(tmp_path):
    bare = posterior_convergence(write_fitted(tmp_path, None))
    assert bare["verdict"] == "not recorded" and "riskmodel fit" in bare["note"]
    path = write_fitted(tmp_path, {"transition_model": {**GOOD, "max_rhat": 1.2}}, name="t.nc")
    path.with_suffix(".diagnostics.json").write_text(json.dumps({"transition_model": GOOD}))
    changed = posterior_convergence(path)  # edited to look converged: not believed
    assert changed["verdict"] == "not recorded"
    assert "changed since" in changed["note"] and changed["max_rhat"] is None
