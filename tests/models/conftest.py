"""Shared fitted models: every MCMC fit here runs once per test session (see models_testdata)."""

from __future__ import annotations

import pytest
from models_testdata import (
    COV_STATES,
    DEFAULT_TRUTH,
    MCMC,
    ZEROS,
    covariate_data,
    pooled_data,
    quiet_fit,
)

from riskmodel.data.synthetic import simulate_default_history
from riskmodel.models import DefaultModel, TransitionModel
from riskmodel.states import LIFECYCLE


@pytest.fixture(scope="session")
def pooling_runs():
    """Three seeds of (truth, partial-pooling fit, no-pooling fit) on the same counts."""
    runs = []
    for seed in (1, 2, 3):
        truth, counts = pooled_data(seed)
        partial = quiet_fit(
            TransitionModel(LIFECYCLE, pooling="partial", structural_zeros=ZEROS),
            counts,
            seed=seed,
            **MCMC,
        )
        none = TransitionModel(LIFECYCLE, structural_zeros=ZEROS).fit(counts, seed=seed)
        runs.append((truth, partial, none))
    return runs


@pytest.fixture(scope="session")
def covariate_run():
    """A covariate model fitted to a panel with known logit coefficients."""
    panel, macro, intercepts = covariate_data()
    model = quiet_fit(
        TransitionModel(COV_STATES, covariates=["unemployment"]),
        panel,
        macro=macro,
        seed=3,
        **MCMC,
    )
    return model, panel, macro, intercepts


@pytest.fixture(scope="session")
def default_run():
    """A DefaultModel fitted to 120 periods of two segments' default counts."""
    hist = simulate_default_history(
        DEFAULT_TRUTH["pd"],
        DEFAULT_TRUTH["rho"],
        customers={"cards": 20_000, "loans": 30_000},
        n_periods=120,
        seed=5,
    )
    model = quiet_fit(DefaultModel(), hist, seed=2, **MCMC)
    return model, hist
