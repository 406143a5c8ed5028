"""Scenario builders for sensitivity tests (fixtures: no cross-conftest imports)."""

from __future__ import annotations

import copy

import numpy as np
import pytest

import riskmodel as rm
from riskmodel.models.parameter_draws import ParameterDraws
from riskmodel.scenarios.scenario import derive, validate_config

LIFECYCLE_STATES = {
    "names": ["new", "growing", "mature", "declining", "churned", "defaulted"],
    "absorbing": ["churned", "defaulted"],
    "default": "defaulted",
    "churn": "churned",
}
ROWS = [
    [0.900, 0.075, 0.000, 0.012, 0.008, 0.005],
    [0.000, 0.930, 0.045, 0.012, 0.010, 0.003],
    [0.000, 0.010, 0.960, 0.018, 0.0105, 0.0015],
    [0.000, 0.020, 0.030, 0.880, 0.050, 0.020],
]


def lifecycle(*, customers: int = 2000, horizon: int = 6, rho: float = 0.1, lgd=None, shift=0.0):
    """One segment, three cohorts, lifecycle states, margins, discounting."""
    terms = (("new", 3000.0, 20.0), ("mature", 4500.0, 30.0), ("declining", 4000.0, 10.0))
    cohorts = [
        {
            "segment": "retail",
            "state": s,
            "customers": customers,
            "exposure": customers * e,
            "margin": customers * m,
        }
        for s, e, m in terms
    ]
    return {
        "name": "sens",
        "horizon": horizon,
        "paths": 2048,
        "seed": 5,
        "states": copy.deepcopy(LIFECYCLE_STATES),
        "portfolio": {"cohorts": cohorts},
        "parameters": {"transitions": {"retail": copy.deepcopy(ROWS)}},
        "systematic": {"correlation": rho, "shift": shift},
        "lgd": lgd or {"mean": 0.45, "sd": 0.2},
        "discount_rate": 0.004,
    }


@pytest.fixture
def scenario_dict() -> dict:
    """`lifecycle()` as a plain dict (for writing YAML files)."""
    return lifecycle()


@pytest.fixture
def scenario() -> rm.Scenario:
    """A small lifecycle scenario with a Beta LGD (point parameters, one draw).

    Plain Monte Carlo, so that a variant's figures can be compared with `rm.simulate` of that
    variant (with importance sampling, variants share the *base* scenario's factor sampling).
    """
    cfg = lifecycle()
    cfg["simulation"] = {**cfg.get("simulation", {}), "importance_sampling": False}
    return rm.scenario_from_dict(cfg)


@pytest.fixture
def big_book() -> rm.Scenario:
    """A large, well-diversified book: 10^6 customers per cohort, fixed LGD, no shift."""
    return rm.scenario_from_dict(
        lifecycle(customers=1_000_000, horizon=4, rho=0.1, lgd={"mean": 0.4, "sd": 0.0})
    )


@pytest.fixture
def posterior_scenario(scenario) -> rm.Scenario:
    """`scenario` with 4 parameter draws: default probabilities ×0.6 … ×1.5, ρ 0.05 … 0.2.

    Derived from the draws as from a posterior file's (``parameters: posterior``, the file never
    read), so factors that derive the scenario again keep the draws.
    """
    st = scenario.states
    d_idx = st.default_idx
    draws, rhos = [], []
    for k, scale in enumerate((0.6, 0.9, 1.2, 1.5)):
        p = np.array(scenario.transitions[0], dtype=float)
        for i in st.transient_idx:
            moved = p[:, i, d_idx] * (scale - 1.0)
            p[:, i, d_idx] += moved
            p[:, i, i] -= moved
        draws.append(p)
        rhos.append(0.05 + 0.05 * k)
    cfg = scenario.config.model_dump()
    cfg["parameters"] = {"posterior": "draws.nc"}
    cfg["systematic"]["correlation"] = None  # the posterior's draws of ρ
    posterior = ParameterDraws(st, scenario.segments, np.stack(draws), correlation=np.array(rhos))
    return derive(validate_config(cfg, None), None, posterior)
