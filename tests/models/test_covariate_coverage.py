"""Covariate model: the generating logit coefficients fall inside their 94% intervals at the
stated rate, over many seeds (the single-seed test in test_transition_covariates.py cannot
tell a calibrated posterior from a lucky one).

Each of `N_SEEDS` panels is simulated with the known coefficients `COV_BETA` and fitted; the
four free coefficients of segment ``retail`` give ``4 N_SEEDS`` interval checks. Different seeds
are independent, so each coefficient's count of covering seeds is Bin(N_SEEDS, 0.94) for a
calibrated posterior; the test fails if one falls below that law's 0.1% quantile (or the total
below four times it: perfectly correlated checks within a fit are the worst case for the total),
a false-alarm rate below 0.5% over the five checks.
"""

from __future__ import annotations

import numpy as np
import pytest
from models_testdata import COV_BETA, COV_STATES, covariate_data, quiet_fit
from scipy import stats

from riskmodel.models import TransitionModel

N_SEEDS = 12
LEVEL = 0.94
CELLS = [(0, 1), (0, 2), (1, 0), (1, 2)]
SMALL_MCMC = {"draws": 200, "chains": 2, "tune": 300, "cores": 1}


@pytest.fixture(scope="module")
def covariate_hits():
    tail = (1 - LEVEL) / 2
    hits = []
    for seed in range(30, 30 + N_SEEDS):
        panel, macro, _ = covariate_data(seed)
        model = quiet_fit(
            TransitionModel(COV_STATES, covariates=["unemployment"]),
            panel,
            macro=macro,
            seed=seed,
            **SMALL_MCMC,
        )
        coef = model.posterior["coefficient"].isel(segment=0, covariate=0)
        lo = coef.quantile(tail, ("chain", "draw")).values
        hi = coef.quantile(1 - tail, ("chain", "draw")).values
        hits.append([bool(lo[r, j] <= COV_BETA[r, j, 0] <= hi[r, j]) for r, j in CELLS])
    return np.array(hits)


@pytest.mark.slow
def test_coefficients_inside_their_intervals_at_the_stated_rate(covariate_hits):
    floor = int(stats.binom.ppf(0.001, N_SEEDS, LEVEL))
    assert covariate_hits.sum() >= len(CELLS) * floor, covariate_hits
    # each coefficient alone is Bin(N_SEEDS, 0.94) across independent seeds
    for k, cell in enumerate(CELLS):
        assert covariate_hits[:, k].sum() >= floor, (cell, covariate_hits[:, k])
