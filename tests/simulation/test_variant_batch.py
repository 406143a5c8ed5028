"""Batches of variants: exact expectations and the large-pool model against the engine."""

from __future__ import annotations

import numpy as np
import pytest

import riskmodel as rm
from riskmodel.sensitivity import apply_factors, resolve_factors
from riskmodel.sensitivity.measures import EXACT_METRICS, exact_metrics, parse_metrics
from riskmodel.simulation.seeding import seed_entropy
from riskmodel.simulation.variant_batch import exact_batch, large_pool_batch
from riskmodel.simulation.variants import shared_sampling, simulate_variants

FACTORS = {
    "systematic.correlation": (0.05, 0.2),
    "lgd.mean": (0.35, 0.55),
    "systematic.shift": (-0.5, 0.5),
    "transitions.declining->defaulted": (0.8, 1.2),
}


@pytest.fixture(scope="module")
def baseline() -> rm.Scenario:
    return rm.load_scenario("scenarios/baseline.yaml")


def _variants(
    sc: rm.Scenario, n: int, factors: dict | None = None, seed: int = 3
) -> list[rm.Scenario]:
    """`n` variants of `sc` at uniform random points of `factors` (default `FACTORS`)."""
    ranges = resolve_factors(sc, FACTORS if factors is None else factors)
    u = np.random.default_rng(seed).random((n, len(ranges)))
    return [
        apply_factors(
            sc, [r.low + (r.high - r.low) * v for r, v in zip(ranges, row, strict=True)], ranges
        )
        for row in u
    ]


def scaled_default_draws(sc: rm.Scenario, scales: tuple[float, ...]) -> list[np.ndarray]:
    """Draws of `sc`'s first transitions with every default probability times each scale.

    The stay probability of each row absorbs the change (every period and segment).
    """
    st = sc.states
    draws = []
    for scale in scales:
        p = np.array(sc.transitions[0], dtype=float)
        for i in st.transient_idx:
            moved = p[..., i, st.default_idx] * (scale - 1.0)
            p[..., i, st.default_idx] += moved
            p[..., i, i] -= moved
        draws.append(p)
    return draws


def assert_batch_is_the_engine(variants, sampling, entropy: int, *, paths: int) -> None:
    """`large_pool_batch` gives the engine's per-path losses (to rounding) and its weights."""
    engine = simulate_variants(
        variants, paths=paths, entropy=entropy, totals=True, sampling=sampling
    )
    batch = large_pool_batch(variants, paths=paths, entropy=entropy, sampling=sampling)
    for p, t in enumerate(engine):
        np.testing.assert_allclose(batch.loss[p], t.loss, rtol=1e-10)
        np.testing.assert_array_equal(batch.weight[p], t.weight)


def test_exact_batch_equals_the_exact_expectations_of_each_variant(baseline):
    variants = _variants(baseline, 12)
    batch = exact_batch(variants)
    specs = parse_metrics(list(EXACT_METRICS))
    for i, v in enumerate(variants):
        one = exact_metrics(v, specs)
        for name in EXACT_METRICS:  # the same sums in another order: rounding only
            assert batch[name][i] == pytest.approx(one[name], rel=1e-12)


@pytest.mark.parametrize("method", ["tilt", "mixture", "shift"])
def test_large_pool_batch_is_the_engines_large_pool_model_on_its_factor_paths(baseline, method):
    # with a fixed LGD the engine's large-pool cohorts are deterministic given the factor path,
    # so the batch must give the engine's per-path losses and weights (not only in distribution)
    sc = baseline.with_options(
        lgd={"sd": 0.0},
        simulation={
            "approximation": "large_pool",
            "large_pool_min_customers": 1,
            "importance_method": method,
        },
    )
    variants = [sc, *_variants(sc, 2)]
    assert_batch_is_the_engine(variants, shared_sampling(sc), seed_entropy(11), paths=1500)


def test_large_pool_batch_with_posterior_draws_matches_the_engine(baseline):
    # three parameter draws (default probabilities x0.7, x1, x1.4; rho 0.06 ... 0.14): each path
    # uses its own draw in the engine; the batch must pick the same draw per path, also for a
    # variant pinned to one draw (posterior.draw), whose factor paths are the base's
    import dataclasses

    draws = scaled_default_draws(baseline, (0.7, 1.0, 1.4))
    sc = baseline.with_options(
        lgd={"sd": 0.0},
        simulation={"approximation": "large_pool", "large_pool_min_customers": 1},
    )
    sc = dataclasses.replace(
        sc, transitions=np.stack(draws), correlation=np.array([0.06, 0.1, 0.14])
    )
    pinned = apply_factors(sc, {"posterior.draw": 0.5})
    variants = [sc, pinned]
    assert_batch_is_the_engine(variants, shared_sampling(sc), seed_entropy(12), paths=1200)
    assert exact_batch(variants)["expected_loss"][0] == pytest.approx(
        exact_metrics(sc, parse_metrics(["expected_loss"]))["expected_loss"], rel=1e-12
    )
