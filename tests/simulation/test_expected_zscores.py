"""The Monte Carlo cross-checks of the exact expectations are calibrated under importance sampling.

``summary.json`` publishes each expectation exact and, beside it, the self-normalised Monte
Carlo estimate with its delta-method standard error and ``z_mc = (MC − exact) / s.e.``
(`riskmodel.metrics.expectations`). If the estimator and its standard error are right, z over
many independent runs is standard normal: centred, with unit spread.

Design: one importance-sampled run (the default exponential tilt, and the defensive mixture) of
``n = 200`` groups of
``m = 512`` paths. The engine seeds every block of paths from its own ``SeedSequence`` and the
paths of a block are i.i.d., so disjoint groups are independent runs of ``m`` paths (200 seeds'
worth at the cost of one run). Per group and quantity: ``z = (μ̂ − exact) / se(μ̂)``.

Acceptance bands, for i.i.d. ``z_i ~ N(0, 1)``:

- mean: ``z̄ ~ N(0, 1/n)``, so ``|z̄| < 3/√n`` (a false alarm with probability 0.27%);
- spread: ``(n − 1) s² ~ χ²_{n−1}``, so ``s`` lies in
  ``[√(χ²_{n−1}(α/2) / (n − 1)), √(χ²_{n−1}(1 − α/2) / (n − 1))]`` with ``α = 0.001``
  (``[0.84, 1.17]`` for ``n = 200``).

The z use an estimated standard error (t-like with ``≈ m`` degrees of freedom) and the
self-normalised estimator has an ``O(1/m)`` bias, ``O(1/√m)`` of its error: both are small
against these bands at ``m = 512``. Measured on this book (seed 1): tilt |mean| ≤ 0.12, sd
0.91–0.98; mixture |mean| ≤ 0.13, sd 0.99–1.09, over the five quantities. (A full
Glasserman–Li shift, ``importance_damping: 1``, is not calibrated at this size: its Kish ESS is
about 1% of the paths, and z then has mean ≈ 1.2 and sd ≈ 1.8 — heavy weights need far more
paths before any estimator's standard error can be trusted.)
"""

from __future__ import annotations

import numpy as np
import pytest
from scenario_builders import lifecycle_dict
from scipy import stats

import riskmodel as rm
from riskmodel.metrics.expectations import EXPECTATIONS, expectation, self_normalised_mean
from riskmodel.simulation.engine import path_total, simulate_dataset

N_GROUPS, GROUP_PATHS = 200, 512
ALPHA = 1e-3
SD_BAND = tuple(
    float(np.sqrt(stats.chi2.ppf(p, N_GROUPS - 1) / (N_GROUPS - 1)))
    for p in (ALPHA / 2, 1 - ALPHA / 2)
)
MEAN_BAND = 3.0 / np.sqrt(N_GROUPS)


def _per_path(ds, name: str) -> np.ndarray:
    """Per-path values behind each published cross-check (as `summary.json` reads them)."""
    if name == "value":
        return path_total(ds, "margin", discounted=True).to_numpy()
    if name == "value_lost_to_churn":
        return ds["churn_value_lost"].to_numpy()
    return path_total(ds, name).to_numpy()


@pytest.fixture(scope="module", params=["tilt", "mixture"])
def grouped_run(request):
    cfg = lifecycle_dict(horizon=4, rho=0.15)
    cfg["systematic"]["shift"] = [-0.5, 0.0]  # a downturn first period, as scenarios have
    cfg["simulation"] = {"importance_sampling": True, "importance_method": request.param}
    sc = rm.scenario_from_dict(cfg)
    ds = simulate_dataset(sc, paths=N_GROUPS * GROUP_PATHS, seed=1, progress=False)
    assert float(ds["weight"].std()) > 0.3  # the weights are far from one: a real test of IS
    return ds


@pytest.mark.slow
@pytest.mark.parametrize("name", EXPECTATIONS)
def test_cross_check_z_scores_are_standard_normal(grouped_run, name):
    ds = grouped_run
    exact = expectation(ds, name)["expected"]
    x = _per_path(ds, name).reshape(N_GROUPS, GROUP_PATHS)
    w = ds["weight"].to_numpy().reshape(N_GROUPS, GROUP_PATHS)
    z = np.empty(N_GROUPS)
    for g in range(N_GROUPS):
        mc, se = self_normalised_mean(x[g], weights=w[g])
        z[g] = (mc - exact) / se
    assert abs(z.mean()) < MEAN_BAND, (name, z.mean())
    assert SD_BAND[0] < z.std(ddof=1) < SD_BAND[1], (name, z.std(ddof=1), SD_BAND)


def test_bands_are_derived_from_n():
    assert SD_BAND[0] == pytest.approx(0.84, abs=0.01) and SD_BAND[1] == pytest.approx(
        1.17, abs=0.01
    )


def test_published_z_is_the_cross_check_of_one_group(grouped_run):
    sub = grouped_run.isel(path=slice(0, GROUP_PATHS))
    block = expectation(sub, "defaults")
    mc, se = self_normalised_mean(_per_path(sub, "defaults"), weights=sub["weight"].to_numpy())
    assert block["expected_mc"] == pytest.approx(mc) and block["stderr_mc"] == pytest.approx(se)
    assert block["z_mc"] == pytest.approx((mc - block["expected"]) / se)
