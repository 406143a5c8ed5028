"""The IFRS 9 staging rule: states, the significant-increase test, its options and errors."""

from __future__ import annotations

import numpy as np
import pytest

import riskmodel as rm
from riskmodel.ecl.staging import REASONS, StagingRule, stage_loans


def _space(names, default):
    return rm.StateSpace(names, absorbing=[default], default=default)


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (["current", "dpd30", "dpd60", "dpd90", "default"], [1, 2, 2, 3, 3]),
        (["current", "30dpd", "60_days", "90_days_past_due", "d"], [1, 2, 2, 3, 3]),
        (["stage1", "stage2", "stage3"], [1, 2, 3]),
        (["new", "growing", "declining", "defaulted"], [1, 1, 1, 3]),
        (["dpd0", "dpd15", "Stage2", "gone"], [1, 1, 2, 3]),
    ],
)
def test_states_set_stages_by_name(names, expected):
    stages = StagingRule().state_stages(_space(names, names[-1]))
    assert list(stages.values()) == expected


def test_configured_states_replace_the_names():
    ss = _space(["current", "watch", "dpd30", "default"], "default")
    stages = StagingRule(stage2_states=["watch"]).state_stages(ss)
    assert stages == {"current": 1, "watch": 2, "dpd30": 1, "default": 3}
    stages = StagingRule(stage3_states=["dpd30"]).state_stages(ss)
    assert stages == {"current": 1, "watch": 1, "dpd30": 3, "default": 3}
    with pytest.raises(rm.ArgumentError, match=r"stage2_states.*\['late'\]"):
        StagingRule(stage2_states=["late"]).state_stages(ss)


def _stage(rule, **kw):
    n = len(kw["pd_lifetime"])
    args = {
        "state_stage": np.ones(n, np.int8),
        "is_default": np.zeros(n, bool),
        "pd_12m": np.asarray(kw.get("pd_12m", kw["pd_lifetime"]), float),
        "pd_lifetime": np.asarray(kw["pd_lifetime"], float),
        "origination_pd": np.asarray(kw["origination_pd"], float),
    }
    for k in ("state_stage", "is_default"):
        if k in kw:
            args[k] = np.asarray(kw[k])
    stage, reason, ratio = stage_loans(rule, **args)
    return stage.tolist(), [REASONS[r] for r in reason], ratio


def test_significant_increase_is_a_ratio_above_the_threshold():
    stage, reason, ratio = _stage(
        StagingRule(threshold=2.0),
        pd_lifetime=[0.05, 0.0401, 0.04, 0.3],
        origination_pd=[0.02, 0.02, 0.02, np.nan],
    )
    assert stage == [2, 2, 1, 1]
    assert reason == ["pd_increase", "pd_increase", "no_increase", "no_origination_pd"]
    np.testing.assert_allclose(ratio[:3], [2.5, 2.005, 2.0])
    assert np.isnan(ratio[3])


def test_minimum_increase_and_the_12_month_measure():
    rule = StagingRule(threshold=2.0, min_increase=0.01)
    stage, _, _ = _stage(rule, pd_lifetime=[0.015, 0.05], origination_pd=[0.005, 0.005])
    assert stage == [1, 2]  # tripled, but by 1 point only: not significant
    rule = StagingRule(measure="12m")
    stage, _, ratio = _stage(rule, pd_12m=[0.01], pd_lifetime=[0.5], origination_pd=[0.02])
    assert stage == [1] and ratio[0] == pytest.approx(0.5)


def test_states_override_the_pd_test_in_order():
    stage, reason, _ = _stage(
        StagingRule(),
        pd_lifetime=[0.01] * 4,
        origination_pd=[0.5] * 4,  # PD fell: no increase
        state_stage=np.array([1, 2, 3, 3], np.int8),
        is_default=np.array([False, False, False, True]),
    )
    assert stage == [1, 2, 3, 3]
    assert reason == ["no_increase", "stage2_state", "stage3_state", "default_state"]


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"threshold": 1.0}, "must be a number > 1"),
        ({"threshold": True}, "must be a number > 1"),
        ({"threshold": float("inf")}, "must be a number > 1"),
        ({"min_increase": -0.1}, r"must be in \[0, 1\)"),
        ({"measure": "annual"}, "'lifetime' or '12m'"),
        ({"stage2_states": "dpd30"}, "list of state names"),
    ],
)
def test_bad_rules_are_refused(kw, match):
    with pytest.raises(rm.ArgumentError, match=match):
        StagingRule(**kw)


def test_loan_ecl_passes_the_rule_through(tiny_config):
    import pandas as pd

    sc = rm.scenario_from_dict(tiny_config)
    tape = pd.DataFrame(
        {
            "loan_id": ["a", "b"],
            "segment": "retail",
            "state": ["new", "declining"],
            "exposure": 100.0,
            "origination_pd": 0.01,
        }
    )
    loose = rm.loan_ecl(sc, tape, sicr_threshold=50.0).loans
    strict = rm.loan_ecl(sc, tape, sicr_threshold=1.5).loans
    assert loose["stage"].tolist() == [1, 1] and strict["stage"].tolist() == [2, 2]
    declining = rm.loan_ecl(sc, tape, sicr_threshold=50.0, stage2_states=["declining"]).loans
    assert declining["stage"].tolist() == [1, 2]
    assert rm.loan_ecl(sc, tape).summary()["staging"]["threshold"] == 2.0
