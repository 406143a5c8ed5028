"""The posterior-mean counterfactual of a posterior run (`riskmodel.simulation.model_risk_run`)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import riskmodel as rm
from riskmodel.simulation.model_risk_run import (
    MODEL_RISK_VARIABLES,
    add_posterior_mean_run,
    posterior_mean_scenario,
)


@pytest.fixture
def posterior_scenario():
    base = rm.scenario_from_dict(
        {
            "name": "pm",
            "horizon": 3,
            "paths": 2048,
            "seed": 4,
            "states": {"names": ["ok", "d"], "absorbing": ["d"], "default": "d"},
            "portfolio": {
                "cohorts": [{"segment": "s", "state": "ok", "customers": 500, "exposure": 5e5}]
            },
            "parameters": {"transitions": {"s": [[0.97, 0.03]]}},
            "systematic": {"correlation": 0.1},
            "lgd": {"mean": 0.5, "sd": 0.1},
            "outputs": {"levels": [0.9]},
        }
    )
    pds = np.array([0.01, 0.03, 0.08])
    mats = np.array([[[[1 - p, p], [0.0, 1.0]]] for p in pds])
    return dataclasses.replace(base, transitions=mats, correlation=np.array([0.05, 0.1, 0.3]))


def test_posterior_mean_is_the_mean_matrix_and_correlation(posterior_scenario):
    sc = posterior_scenario
    mean = posterior_mean_scenario(sc)
    assert mean.n_draws == sc.n_draws  # copies, so the engine consumes the same uniforms
    want = sc.transitions.mean(axis=0)
    np.testing.assert_allclose(mean.transitions, np.broadcast_to(want, sc.transitions.shape))
    np.testing.assert_allclose(mean.transitions.sum(-1), 1.0, rtol=1e-15)
    np.testing.assert_allclose(mean.correlation, 0.15)
    assert mean.config.simulation.keep == "totals"
    assert posterior_mean_scenario(sc, copies=1).n_draws == 1
    assert not mean.transitions.flags.writeable


def test_counterfactual_shares_the_runs_paths(posterior_scenario):
    res = rm.simulate(posterior_scenario)
    ds = res.data
    assert all(name in ds for name in MODEL_RISK_VARIABLES)
    assert ds.sizes["parameter_draw"] == 3
    # a posterior with one draw reruns the scenario itself: the counterfactual is the run
    one = dataclasses.replace(
        posterior_scenario,
        transitions=np.repeat(posterior_scenario.transitions[:1], 3, axis=0),
        correlation=np.full(3, 0.05),
    )
    same = rm.simulate(one).data
    np.testing.assert_allclose(
        same["posterior_mean_loss"], same["loss"].sum("period"), rtol=1e-12, atol=1e-9
    )


def test_broken_common_random_numbers_are_a_bug_not_bad_input(posterior_scenario):
    ds = rm.simulate(posterior_scenario, model_risk=False).data

    def rerun(variant):
        other = ds.copy()
        other["weight"] = ds["weight"] * 2.0
        return other

    with pytest.raises(RuntimeError, match="common random numbers"):
        add_posterior_mean_run(ds, posterior_scenario, rerun)
