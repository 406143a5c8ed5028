"""The default sensitivity design resolves the indices of the bundled baseline (issues 16, 17):
no `SensitivityWarning` about intervals wider than their indices, tail metrics included.

The default design runs in seconds (exact metrics without simulation, tail metrics on the
large-pool model with its error measured against the engine, a surrogate on 128 points), so the
whole default analysis runs here. Its intervals include the Monte Carlo part and the bound from
the large-pool and surrogate errors (`riskmodel.sensitivity.surrogate`).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

import riskmodel as rm
from riskmodel.sensitivity import SensitivityWarning, run_sensitivity
from riskmodel.sensitivity.config import default_config

BASELINE = Path(__file__).resolve().parents[2] / "scenarios" / "baseline.yaml"


@pytest.mark.slow
def test_default_design_resolves_every_index_of_the_baseline():
    scenario = rm.load_scenario(BASELINE)
    cfg = default_config(scenario)
    with warnings.catch_warnings():
        warnings.simplefilter("error", SensitivityWarning)
        res = run_sensitivity(scenario, cfg)
    assert res.data.attrs["sobol_estimator"] == "surrogate"
    methods = dict(zip(res.metrics, res.data["method"].values.tolist(), strict=True))
    assert methods["expected_loss"] == "exact" and methods["es_0.999"] == "large_pool"
    # the large-pool error, measured against the engine on paired paths, is small on this book
    assert float(res.data["large_pool_error"].sel(metric="es_0.999")) < 0.02
    # what the warning checks, stated here too: every interval narrower than its index unless
    # the whole interval is negligible (below 0.05)
    for index in ("S1", "ST"):
        val, conf = res.data[index], res.data[f"{index}_conf"]
        resolved = (conf <= abs(val)) | (abs(val) + conf < 0.05)
        assert bool(resolved.all()), res.to_dataframe()
