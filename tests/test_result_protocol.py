"""One result protocol (issue 12): SimulationResult, ComparisonResult and SensitivityResult each
have `to_dict`, `summary`, `to_netcdf` and `from_netcdf`, and a netCDF round trip keeps
`to_dict`."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest

import riskmodel as rm
from riskmodel.metrics.compare import ComparisonResult
from riskmodel.sensitivity import SensitivityResult

TINY = Path(__file__).resolve().parent / "scenarios" / "tiny.yaml"
PROTOCOL = ("to_dict", "summary", "to_netcdf", "from_netcdf")


def _same(a: dict, b: dict) -> bool:
    return json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str)


@pytest.fixture(scope="module")
def results():
    scenario = rm.load_scenario(TINY)
    with warnings.catch_warnings():  # small runs: thin tails warn, and that is not the point
        warnings.simplefilter("ignore")
        run = rm.simulate(scenario, paths=600, seed=3, progress=False)
        cmp = rm.compare_scenarios(
            [scenario.with_options(name="a"), scenario.with_options(name="b", lgd={"mean": 0.5})],
            paths=600,
            seed=3,
            progress=False,
        )
        config = {
            "factors": [{"name": "lgd.mean", "low": 0.3, "high": 0.5}],
            "metrics": ["expected_loss"],
            "method": ["tornado"],
            "tornado": {"paths": 200, "bootstrap": 20},
        }
        sens = rm.run_sensitivity(scenario, config, seed=3)
    return {"simulation": run, "comparison": cmp, "sensitivity": sens}


@pytest.mark.parametrize("kind", ["simulation", "comparison", "sensitivity"])
def test_every_result_has_the_protocol_and_round_trips(kind, results, tmp_path):
    result = results[kind]
    for name in PROTOCOL:
        assert callable(getattr(type(result), name, None)), f"{type(result).__name__}.{name}"
    assert _same(result.summary(), result.to_dict())
    path = result.to_netcdf(tmp_path / f"{kind}.nc")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        again = type(result).from_netcdf(path)
        assert _same(again.to_dict(), result.to_dict())


def test_comparison_keeps_its_differences_through_netcdf(results, tmp_path):
    cmp: ComparisonResult = results["comparison"]
    assert cmp.differences is not None and len(cmp.differences)
    again = ComparisonResult.from_netcdf(cmp.to_netcdf(tmp_path / "c.nc"))
    assert again.difference_records() == cmp.difference_records()
    assert isinstance(results["sensitivity"], SensitivityResult)
