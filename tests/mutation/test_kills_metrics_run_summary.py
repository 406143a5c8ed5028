"""Kill tests for `riskmodel.metrics.run_summary` (see docs/mutation.md): the ``summary.json``
layout of one run, field by field.

`run_summary` assembles blocks whose numbers other kill tests check against loops; here each
block is checked to be the right one under the right key: the run settings against the
scenario file (`tests/scenarios/tiny.yaml`: 500 + 800 customers, exposure 1.5e6 + 3.2e6, six
periods of one month), VaR and the Monte Carlo means against loops over the saved paths, the
other blocks against the functions named in the docstrings called on the same data, the
defaults of a dataset without the optional attributes, and the hand-over of precomputed risk
measures and contributions. Seeded run of 600 paths, importance sampled (the default tilt).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from test_kills_metrics_result import _quantile

import riskmodel as rm
from riskmodel.metrics import run_summary as summary_module
from riskmodel.metrics.contributions import contributions_to_dict, risk_contributions
from riskmodel.metrics.expectations import expectation, expectations_section
from riskmodel.metrics.result import SimulationResult

pytestmark = pytest.mark.filterwarnings("ignore::riskmodel.errors.TailResolutionWarning")

TINY = Path(__file__).resolve().parents[1] / "scenarios" / "tiny.yaml"
KEYS = [
    "scenario",
    "paths",
    "seed",
    "horizon",
    "riskmodel_version",
    "loss",
    "defaults",
    "churn",
    "ecl",
    "value",
    "value_lost_to_churn",
    "expectations",
    "contributions",
    "contributions_by_cohort",
    "stresses",
    "period",
    "portfolio",
    "diagnostics",
]
VALUE_TEXT = (
    "discounted margin earned over the horizon; var[q] = expected minus the (1 - q)-quantile, "
    "es[q] = expected minus the mean of the worst (1 - q) of value (the shortfall of value "
    "below its mean); tail_paths[q] = effective number of paths in that worst (1 - q)"
)
LOST_TEXT = (
    "discounted margin the churned customers would have earned from their churn period to the "
    "horizon had they stayed (run-off of the lost margin)"
)


@pytest.fixture(scope="module")
def run() -> SimulationResult:
    return rm.simulate(rm.load_scenario(TINY), paths=600, seed=3, progress=False)


def _mean(x: list[float], w: list[float]) -> float:
    return math.fsum(a * b for a, b in zip(x, w, strict=True)) / math.fsum(w)


def test_the_layout_and_the_run_settings(run):
    s = run.summary()
    assert list(s) == KEYS
    assert (s["scenario"], s["paths"], s["seed"], s["horizon"]) == ("tiny", 600, 3, 6)
    assert s["riskmodel_version"] == rm.__version__ != ""
    assert s["portfolio"] == {"customers": 1300, "exposure": 4.7e6}
    assert s["period"] == {"length": 1, "unit": "month", "ecl_12_month_periods": 12.0}
    assert s["stresses"] == json.loads(run.data.attrs["stresses"])
    assert s["stresses"]["systematic_shift"] == [-0.5, -1.0, 0.0, 0.0, 0.0, 0.0]
    assert s["diagnostics"] == {
        "effective_sample_size": run.risk().ess,
        "importance_sampling": True,
        "importance_method": "tilt",
        "parameter_draws": 1,
        "block_size": int(run.data.attrs["block_size"]),
    }
    assert s["value"]["description"] == VALUE_TEXT
    assert s["value_lost_to_churn"]["description"] == LOST_TEXT
    assert (
        s["value_lost_to_churn"]["expected"]
        == expectation(run.data, "value_lost_to_churn")["expected"]
    )
    assert json.loads(json.dumps(s)) == s  # JSON-ready as it is


def test_risk_blocks_against_loops(run):
    s = run.summary()
    w = run.weights.tolist()
    for name in ("loss", "defaults"):
        x = run.data[name].values.sum(axis=1).tolist()
        block = s[name]
        assert block["expected_mc"] == pytest.approx(_mean(x, w), rel=1e-12)
        for q in run.levels:
            assert block["var"][str(q)] == _quantile(x, w, q), (name, q)
        assert block["tail_paths"] == run.risk(name).to_dict()["tail_paths"]
    loss = s["loss"]
    risk = run.risk().to_dict()
    assert set(loss) == set(expectation(run.data, "loss")) | {"std", "var", "es", "tail_paths"}
    assert (loss["std"], loss["es"]) == (risk["std"], risk["es"])
    assert loss["stderr"] == {**risk["stderr"], **expectation(run.data, "loss")["stderr"]}
    assert set(s["defaults"]) == set(expectation(run.data, "defaults")) | {"var", "tail_paths"}
    assert s["churn"] == expectation(run.data, "churn")


def test_sections_are_the_named_functions_of_the_same_data(run):
    s = run.summary()
    assert s["ecl"] == run.ecl()
    assert s["expectations"] == expectations_section(run.data, period_stderr=False)
    assert s["contributions"] == contributions_to_dict(risk_contributions(run.data))
    by_cohort = contributions_to_dict(risk_contributions(run.data, by="cohort"))
    assert s["contributions_by_cohort"] == by_cohort != s["contributions"]
    without = SimulationResult(run.data.drop_vars("loss_by_cohort")).summary()
    assert "contributions_by_cohort" not in without and "actions" not in without


def test_precomputed_risk_and_contributions_are_used(run):
    loss = run.risk(levels=(0.5,))
    contributions = risk_contributions(run.data, levels=[0.5])
    s = run.summary(loss=loss, contributions=contributions)
    assert list(s["loss"]["var"]) == ["0.5"]
    assert s["diagnostics"]["effective_sample_size"] == loss.ess
    assert s["contributions"] == contributions_to_dict(contributions)
    assert s["contributions"] != run.summary()["contributions"]


def test_a_dataset_without_the_optional_attributes_reads_the_documented_defaults(run):
    data = run.data.copy()
    for key in (
        "riskmodel_version",
        "total_customers",
        "total_exposure",
        "importance_sampling",
        "importance_method",
        "parameter_draws",
        "block_size",
    ):
        del data.attrs[key]
    s = SimulationResult(data).summary()
    assert s["riskmodel_version"] == ""
    assert s["portfolio"] == {"customers": 0, "exposure": 0.0}
    diag = s["diagnostics"]
    assert diag["importance_sampling"] is False and diag["importance_method"] is None
    assert (diag["parameter_draws"], diag["block_size"]) == (1, 0)
    draws = SimulationResult(run.data.assign_attrs(parameter_draws=4)).summary()
    assert draws["diagnostics"]["parameter_draws"] == 4


def test_actions_and_model_risk_blocks_are_handed_the_run(run, monkeypatch):
    """Their figures are checked against loops in `test_kills_metrics_actions.py` and
    `test_kills_metrics_model_risk.py`; here: called on this run's data, under their keys."""
    seen = []

    def actions(data):
        seen.append(data)
        return {"from": "actions_to_dict"}

    class Split:
        def to_dict(self):
            return {"from": "model_risk"}

    monkeypatch.setattr(summary_module, "actions_to_dict", actions)
    monkeypatch.setattr(SimulationResult, "model_risk", lambda self, **kw: Split())
    data = run.data.assign(
        posterior_mean_loss=run.data["loss"].sum("period"), action_cost=("action", [1.0])
    )
    s = SimulationResult(data).summary()
    assert s["actions"] == {"from": "actions_to_dict"} and seen[0] is data
    assert s["model_risk"] == {"from": "model_risk"}
    assert np.isfinite(s["loss"]["expected"])
