"""Management actions against the same scenario without them, on common random numbers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scenario_builders import full_matrix, lifecycle_dict

import riskmodel as rm
from riskmodel.metrics.actions import action_effects

# Small runs check expectations and invariants here; their tail levels are thin by design,
# which riskmodel reports with TailResolutionWarning (its own tests: tests/metrics).
pytestmark = pytest.mark.filterwarnings("ignore::riskmodel.errors.TailResolutionWarning")

ROOT = Path(rm.__file__).resolve().parents[1]


def _with_actions(*actions, paths=2000, **extra) -> rm.Scenario:
    cfg = lifecycle_dict(horizon=8, paths=paths)
    cfg["actions"] = list(actions)
    cfg.update(extra)
    return rm.scenario_from_dict(cfg)


def _declining_at_start(cfg: dict) -> np.ndarray:
    """Expected declining customers at the start of each period, from matrix powers (shift 0)."""
    sc = rm.scenario_from_dict(cfg)
    h = cfg["horizon"]
    out = np.zeros(h)
    mats = {s: full_matrix(rows) for s, rows in cfg["parameters"]["transitions"].items()}
    for co in cfg["portfolio"]["cohorts"]:
        x = np.zeros(sc.states.n)
        x[sc.states.index(co["state"])] = co["customers"]
        for t in range(h):
            out[t] += x[sc.states.index("declining")]
            x = x @ mats[co["segment"]]
    return out


@pytest.mark.parametrize("importance_sampling", [False, True])
def test_zero_effect_retention_shows_its_cost_only_exactly(importance_sampling):
    action = {
        "name": "nothing",
        "type": "retention",
        "state": "declining",
        "churn_reduction": 0.0,
        "cost_per_customer": 7.5,
    }
    sc = _with_actions(action, simulation={"importance_sampling": importance_sampling})
    res = rm.simulate(sc, progress=False)
    eff = res.summary()["actions"]["nothing"]
    for block, key in (
        ("expected_loss", "change"),
        ("expected_loss", "change_mc"),
        ("ecl_lifetime", "change"),
        ("es", "change"),
        ("value", "gain"),
        ("value", "gain_mc"),
        ("value_lost_to_churn", "change"),
    ):
        assert eff[block][key] == 0.0, (block, key)
    # identical paths: the without-run reproduces the main run bit for bit
    np.testing.assert_array_equal(
        res.data["action_loss_without"].sel(action="nothing"), res.data["loss"].sum("period")
    )
    cfg = lifecycle_dict(horizon=8)
    df = res.data["discount_factor"].to_numpy()
    cost = 7.5 * float(np.sum(_declining_at_start(cfg) * df))
    assert eff["cost"] == pytest.approx(cost, rel=1e-12)
    assert eff["net_benefit"] == -eff["cost"]


def test_zero_effect_limit_cut_costs_its_fixed_cost():
    action = {"name": "cut0", "type": "limit_cut", "exposure_reduction": 0.0, "cost": 1234.0}
    eff = action_effects(rm.simulate(_with_actions(action), progress=False))["cut0"]
    assert eff["expected_loss"]["change"] == 0.0 and eff["es"]["change"] == 0.0
    assert eff["cost"] == 1234.0 and eff["net_benefit"] == -1234.0


def test_limit_cut_scales_every_path_loss_of_its_cohorts():
    action = {"name": "cut", "type": "limit_cut", "exposure_reduction": 0.2, "cost": 100.0}
    res = rm.simulate(_with_actions(action), progress=False)
    with_, without = res.data["loss"].sum("period"), res.data["action_loss_without"][0]
    np.testing.assert_allclose(with_, 0.8 * without, rtol=1e-12)  # common random numbers
    eff = action_effects(res)["cut"]
    assert eff["expected_loss"]["change"] == pytest.approx(
        -0.2 * eff["expected_loss"]["without"], rel=1e-12
    )
    assert eff["value"]["gain"] == 0.0
    assert eff["net_benefit"] == pytest.approx(-eff["ecl_lifetime"]["change"] - 100.0, rel=1e-12)


def test_limit_cut_filters_segment_and_state():
    action = {
        "name": "cut",
        "type": "limit_cut",
        "segment": "cards",
        "state": "declining",
        "exposure_reduction": 0.5,
        "cost": 0.0,
    }
    sc = _with_actions(action)
    base = rm.scenario_from_dict(lifecycle_dict(horizon=8))
    hit = np.array([False, False, True, False, False])  # cards/declining is the third cohort
    np.testing.assert_allclose(sc.cohort_ead[hit], 0.5 * base.cohort_ead[hit])
    np.testing.assert_array_equal(sc.cohort_ead[~hit], base.cohort_ead[~hit])


def test_retention_cuts_churn_and_the_paired_difference_is_precise():
    action = {
        "name": "keep",
        "type": "retention",
        "state": "declining",
        "churn_reduction": 0.5,
        "cost_per_customer": 1.0,
    }
    sc = _with_actions(action, paths=3000)
    res = rm.simulate(sc, progress=False)
    eff = res.summary()["actions"]["keep"]
    assert eff["value_lost_to_churn"]["change"] < 0
    assert eff["value"]["gain"] > 0
    assert eff["expected_loss"]["change"] > 0  # retained declining customers default later
    change = eff["expected_loss"]
    assert abs(change["change_mc"] - change["change"]) < 4 * change["stderr_mc"]
    # common random numbers: the paired error is far below either run's own error
    assert change["stderr_mc"] < 0.5 * res.summary()["loss"]["stderr_mc"]
    net = eff["value"]["gain"] - eff["ecl_lifetime"]["change"] - eff["cost"]
    assert eff["net_benefit"] == pytest.approx(net, rel=1e-12)
    p = sc.transitions[0]
    base = rm.scenario_from_dict(lifecycle_dict(horizon=8)).transitions[0]
    d, c = sc.states.index("declining"), sc.states.churn_idx
    np.testing.assert_allclose(p[:, d, c], 0.5 * base[:, d, c], rtol=1e-14)


@pytest.mark.parametrize(
    ("action", "fragment"),
    [
        (
            {"name": "a", "type": "retension", "state": "declining", "churn_reduction": 0.1},
            "Did you mean 'retention'?",
        ),
        (
            {
                "name": "a",
                "type": "retention",
                "state": "declining",
                "churn_reduction": 0.1,
                "cost": 5,
            },
            "do not apply to a retention action",
        ),
        ({"name": "a", "type": "retention", "churn_reduction": 0.1}, "needs ['state']"),
        ({"name": "a", "type": "limit_cut", "exposure_reduction": 1.5}, "must be <= 1"),
        (
            {"name": "a", "type": "limit_cut", "exposure_reducton": 0.1},
            "Did you mean 'exposure_reduction'?",
        ),
        (
            {"name": "a", "type": "retention", "state": "churned", "churn_reduction": 0.1},
            "absorbing",
        ),
    ],
)
def test_bad_actions_get_readable_errors(action, fragment):
    cfg = lifecycle_dict()
    cfg["actions"] = [action]
    with pytest.raises(rm.ScenarioError) as err:
        rm.scenario_from_dict(cfg)
    assert "actions" in str(err.value) and fragment in str(err.value)


def test_duplicate_action_names_are_refused():
    a = {"name": "x", "type": "limit_cut", "exposure_reduction": 0.1}
    cfg = lifecycle_dict()
    cfg["actions"] = [a, a]
    with pytest.raises(rm.ScenarioError, match="action names must be unique"):
        rm.scenario_from_dict(cfg)


def test_bundled_action_example_runs():
    res = rm.run(ROOT / "scenarios/retention_action.yaml", paths=400, progress=False)
    s = res.summary()
    assert set(s["actions"]) == {"retention offer", "limit cut declining cards"}
    assert s["actions"]["limit cut declining cards"]["expected_loss"]["change"] < 0
    assert [a["name"] for a in s["stresses"]["actions"]] == list(s["actions"])
