"""`riskmodel.models._common.nuts` starts NUTS itself and gets PyMC's own draws, bit for bit.

``nuts`` hands ``pm.sample`` the step and start points PyMC's ``init_nuts`` makes from the
per-chain seeds ``pm.sample`` derives (``jitter+adapt_diag``), which skips the per-variable
gradients ``pm.sample`` takes to choose a step method. The draws and the sampler's statistics
must be exactly those of a plain ``pm.sample`` call with the same seed and settings: a different
start point, seed per chain, mass-matrix initialisation or target acceptance (0.9 here, not
PyMC's default 0.8) changes every draw.
"""

from __future__ import annotations

import logging

import numpy as np
import pytest

from riskmodel.models.nuts_run import nuts

SETTINGS = {"draws": 40, "tune": 60, "chains": 2, "cores": 1, "target_accept": 0.9}


@pytest.fixture(scope="module")
def both():
    """A small continuous model (a location, a positive scale) sampled both ways."""
    import pymc as pm

    logging.getLogger("pymc").setLevel(logging.ERROR)
    y = np.random.default_rng(0).normal(1.0, 2.0, 40)
    with pm.Model():
        mu = pm.Normal("mu", 0.0, 10.0)
        sigma = pm.HalfNormal("sigma", 5.0)
        pm.Normal("y", mu, sigma, observed=y)
        ours = nuts(random_seed=7, progressbar=False, **SETTINGS)
        plain = pm.sample(
            random_seed=7,
            progressbar=False,
            compute_convergence_checks=False,
            idata_kwargs={"log_likelihood": False},
            **SETTINGS,
        )
    return ours, plain


def test_draws_are_pm_samples_own(both):
    ours, plain = both
    for name in ("mu", "sigma"):
        np.testing.assert_array_equal(ours.posterior[name].values, plain.posterior[name].values)
    assert ours.posterior["mu"].shape == (2, 40)
    # the two chains started apart (jittered): they are not one chain twice
    assert not np.array_equal(ours.posterior["mu"].values[0], ours.posterior["mu"].values[1])


def test_sampler_statistics_are_pm_samples_own(both):
    ours, plain = both
    for stat in ("step_size", "tree_depth", "diverging", "acceptance_rate"):
        np.testing.assert_array_equal(
            ours.sample_stats[stat].values, plain.sample_stats[stat].values, err_msg=stat
        )
