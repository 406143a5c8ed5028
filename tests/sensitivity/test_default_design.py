"""The default sensitivity design resolves the indices of the bundled baseline (issue 16): no
`SensitivityWarning` about intervals wider than their indices.

The whole default run (tornado and the simulated tail metrics too) takes minutes, so this test
runs the default Sobol design on the exact metrics only, which need no simulation: their
intervals come from the design alone (n = 256 points), and the old default (n = 64) did warn
here (S1 of the correlation on the expected loss, -0.013 ± 0.044). The full default run on the
baseline, tail metrics included, was checked by hand with `riskmodel sensitivity
scenarios/baseline.yaml` (docs/sensitivity.md, "The default design").
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
def test_default_design_resolves_the_exact_metrics_of_the_baseline():
    scenario = rm.load_scenario(BASELINE)
    cfg = default_config(scenario).model_dump()
    cfg.update(method="sobol", metrics=["expected_loss", "ecl_lifetime", "value"])
    with warnings.catch_warnings():
        warnings.simplefilter("error", SensitivityWarning)
        res = run_sensitivity(scenario, cfg)
    assert res.data.attrs["sobol_n"] == 256
    # what the warning checks, stated here too: every interval narrower than its index unless
    # the whole interval is negligible (below 0.05)
    for index in ("S1", "ST"):
        val, conf = res.data[index], res.data[f"{index}_conf"]
        resolved = (conf <= abs(val)) | (abs(val) + conf < 0.05)
        assert bool(resolved.all()), res.to_dataframe()
