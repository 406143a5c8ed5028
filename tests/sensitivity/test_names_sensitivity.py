"""Sensitivity analyses of a book with named exposures: the exposure factor scales the names,
the batched methods that cannot see a name's own PD and LGD refuse it."""

from __future__ import annotations

import pytest

import riskmodel as rm
import riskmodel.sensitivity.builtin_factors  # registers the factors
from riskmodel.errors import ArgumentError
from riskmodel.sensitivity.inner import evaluate_points
from riskmodel.sensitivity.registry import FACTORS


@pytest.mark.parametrize("on_file", [False, True])
def test_exposure_factor_scales_cohorts_and_names(tiny_config, write_scenario, tmp_path, on_file):
    if on_file:
        (tmp_path / "names.csv").write_text(
            "id,segment,state,exposure,pd_multiplier\nACME,retail,new,2.0e6,2\n", encoding="utf-8"
        )
        tiny_config["portfolio"]["names"] = "names.csv"
    else:
        tiny_config["portfolio"]["names"] = [
            {"id": "ACME", "segment": "retail", "state": "new", "exposure": 2.0e6}
        ]
    sc = rm.load_scenario(write_scenario(tiny_config))
    scaled = FACTORS["portfolio.exposure"].apply(sc, 1.5)
    before = sc.portfolio.table["exposure"].to_numpy()
    after = scaled.portfolio.table["exposure"].to_numpy()
    assert after.tolist() == pytest.approx((1.5 * before).tolist())
    assert scaled.cohort_labels == sc.cohort_labels
    assert len(after) == 3  # the names are not appended twice


def test_batched_exact_metrics_refuse_names(tiny_config):
    tiny_config["portfolio"]["names"] = [
        {"id": "ACME", "segment": "retail", "state": "new", "exposure": 2.0e6}
    ]
    sc = rm.scenario_from_dict(tiny_config)
    spec = type("Spec", (), {"name": "el", "exact": True})()
    with pytest.raises(ArgumentError, match="portfolio: names"):
        evaluate_points([sc], [spec], approximation="none", paths=0, entropy=0, sampling=None)
