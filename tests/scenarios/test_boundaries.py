"""Validation at the exact edges of the model's domain (found by the mutation catalogue)."""

from __future__ import annotations

import pytest

import riskmodel as rm


def test_lgd_sd_at_the_beta_limit_is_refused(tiny_config):
    """sd = sqrt(m (1 − m)) gives a Beta concentration κ = m(1 − m)/sd² − 1 = 0: no Beta.
    With m = 0.5 the limit is exactly 0.5 in floating point, so the edge itself is tested."""
    tiny_config["lgd"] = {"mean": 0.5, "sd": 0.5}
    with pytest.raises(rm.ScenarioError, match=r"lgd.*sd"):
        rm.scenario_from_dict(tiny_config)
    tiny_config["lgd"] = {"mean": 0.5, "sd": 0.4999}
    sc = rm.scenario_from_dict(tiny_config)
    assert sc.config.lgd.sd == 0.4999


def test_correlation_one_is_refused(tiny_config):
    """ρ = 1 divides by sqrt(1 − ρ) = 0 in the conditional PD."""
    tiny_config["systematic"]["correlation"] = 1.0
    with pytest.raises(rm.ScenarioError, match="correlation"):
        rm.scenario_from_dict(tiny_config)
