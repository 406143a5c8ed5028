"""The variants' large-pool model with sector factors, against the engine and exact expectations.

With a fixed LGD the engine's large-pool cohorts (``approximation: large_pool`` on every cohort)
are deterministic given the factor path, so `large_pool_batch` must reproduce the engine's
per-path losses and weights on its own paths (floating-point agreement, not only in
distribution), for every importance-sampling design and for variants that move the factor
correlation, a segment's correlation and the shift. Its weighted mean is then checked against
the exact expected loss (Monte Carlo: within `K_SE` standard errors).
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest
from test_variant_batch import _variants as random_variants
from test_variant_batch import assert_batch_is_the_engine, scaled_default_draws

import riskmodel as rm
from riskmodel.sensitivity.measures import exact_metrics, parse_metrics
from riskmodel.simulation.seeding import seed_entropy
from riskmodel.simulation.variant_batch import large_pool_batch
from riskmodel.simulation.variants import shared_sampling

REPO = Path(__file__).resolve().parents[2]
K_SE = 4.0
FACTORS = {
    "systematic.factor_correlation.retail.sme": (0.0, 0.9),
    "systematic.segments.loans.correlation": (0.08, 0.25),
    "systematic.shift": (-0.5, 0.5),
}


@pytest.fixture(scope="module")
def sectors() -> rm.Scenario:
    sc = rm.load_scenario(REPO / "scenarios" / "sectors.yaml").with_options(horizon=12)
    return sc.with_options(
        lgd={"sd": 0.0},
        simulation={"approximation": "large_pool", "large_pool_min_customers": 1},
    )


def _variants(sc: rm.Scenario, n: int) -> list[rm.Scenario]:
    return random_variants(sc, n, FACTORS, seed=5)


@pytest.mark.parametrize("method", ["tilt", "mixture", "shift"])
def test_large_pool_batch_is_the_engines_model_on_its_two_factor_paths(sectors, method):
    sc = sectors.with_options(simulation={"importance_method": method})
    variants = [sc, *_variants(sc, 2)]
    assert len({v.factors.correlation[0, 1] for v in variants}) == 3  # the root moves too
    assert_batch_is_the_engine(variants, shared_sampling(sc), seed_entropy(21), paths=1500)


def test_large_pool_batch_with_posterior_draws_and_sector_factors(sectors):
    """Three parameter draws, each with its own per-segment correlations (D × S)."""
    draws = scaled_default_draws(sectors, (0.7, 1.0, 1.4))
    corr = np.array([[0.06, 0.12], [0.08, 0.15], [0.10, 0.20]])
    sc = dataclasses.replace(sectors, transitions=np.stack(draws), correlation=corr)
    assert_batch_is_the_engine([sc], shared_sampling(sc), seed_entropy(22), paths=1200)


def test_weighted_large_pool_mean_is_the_exact_expected_loss(sectors):
    """E[L̄(Z)] = E[L]: the large-pool loss is the conditional expectation given the factors."""
    variants = [sectors, *_variants(sectors, 3)]
    batch = large_pool_batch(
        variants, paths=8192, entropy=seed_entropy(23), sampling=shared_sampling(sectors)
    )
    for p, v in enumerate(variants):
        exact = exact_metrics(v, parse_metrics(["expected_loss"]))["expected_loss"]
        wl = batch.weight[p] * batch.loss[p]
        se = wl.std(ddof=1) / math.sqrt(wl.size)
        assert abs(wl.mean() - exact) <= K_SE * se, (p, wl.mean(), exact, se)


def test_variants_with_other_sector_structures_are_refused(sectors):
    one = rm.load_scenario(REPO / "scenarios" / "adverse.yaml").with_options(horizon=12)
    with pytest.raises(rm.ArgumentError, match="sector factors"):
        large_pool_batch(
            [sectors, one], paths=100, entropy=seed_entropy(1), sampling=shared_sampling(sectors)
        )
