"""The large-pool model on one exposure-weighted row per segment equals the per-cohort model."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scenario_builders import lifecycle_dict

import riskmodel as rm
from riskmodel.simulation import large_pool as lp
from riskmodel.simulation.engine import build_kernel_inputs
from riskmodel.simulation.kernel import prepare_transitions

# Both orders sum the same ~10⁴ positive terms per period over 8 periods; the rounding of
# either is ~1e-16 × log(terms) relative, so 1e-12 relative leaves a margin of ~10³. Effects
# (differences of losses) are compared relative to the largest effect, as their small entries
# are cancellations of losses of the size of that scale.
RTOL = 1e-12
N_COHORTS, N_SEGMENTS, N_DRAWS, HORIZON = 3000, 3, 5, 8


def random_matrices(rng, inp, n_draws: int, n_segments: int) -> np.ndarray:
    """Row-stochastic matrices (D, 1, S, K, K) with identity rows for absorbing states."""
    k = inp.n_states
    p = np.zeros((n_draws, 1, n_segments, k, k))
    p[..., np.arange(k), np.arange(k)] = 1.0
    rows = rng.dirichlet(np.full(k, 0.3), size=(n_draws, 1, n_segments, len(inp.transient_idx)))
    stay = np.arange(len(inp.transient_idx))
    rows[..., stay, inp.transient_idx] += 8.0  # mostly staying, as credit books do
    p[..., inp.transient_idx, :] = rows / rows.sum(axis=-1, keepdims=True)
    return p


@pytest.fixture(scope="module")
def many_cohorts():
    """A random book: 3,000 cohorts in 3 segments and 4 transient states, 5 posterior draws."""
    rng = np.random.default_rng(20261202)
    inp = build_kernel_inputs(rm.scenario_from_dict(lifecycle_dict(horizon=HORIZON, rho=0.15)))
    p = random_matrices(rng, inp, N_DRAWS, N_SEGMENTS)
    probit_pd, seq_prob, dest, surv_prob = prepare_transitions(
        p, inp.transient_idx, inp.default_idx
    )
    n_t = len(inp.transient_idx)
    return dataclasses.replace(
        inp,
        cohort_segment=rng.integers(0, N_SEGMENTS, N_COHORTS).astype(np.intp),
        cohort_state=rng.integers(0, n_t, N_COHORTS).astype(np.intp),
        customers=rng.integers(1, 5000, N_COHORTS).astype(np.int64),
        ead=rng.lognormal(8.0, 1.5, N_COHORTS),
        margin=np.zeros(N_COHORTS),
        large_pool=np.zeros(N_COHORTS, dtype=bool),
        n_segments=N_SEGMENTS,
        probit_pd=probit_pd,
        seq_prob=seq_prob,
        dest=dest,
        surv_prob=surv_prob,
        correlation=rng.uniform(0.05, 0.3, N_DRAWS),
        transitions_mean=p.mean(axis=0),
        shift=rng.normal(0.0, 0.5, HORIZON),
        ead_factor=np.linspace(1.0, 0.6, HORIZON),  # amortising
        lgd_sensitivity=0.4,  # a downturn LGD
    )


def test_aggregated_large_pool_loss_equals_per_cohort(many_cohorts):
    inp = many_cohorts
    rng = np.random.default_rng(1)
    z = inp.shift + rng.normal(0.0, 1.5, (40, HORIZON))
    per = lp.large_pool_loss(inp, z, aggregate=False)
    agg = lp.large_pool_loss(inp, z, aggregate=True)
    np.testing.assert_allclose(agg, per, rtol=RTOL)
    draws = rng.integers(0, N_DRAWS, len(z))  # each path with its own posterior draw
    per_d = lp.large_pool_loss(inp, z, draws, aggregate=False)
    np.testing.assert_allclose(lp.large_pool_loss(inp, z, draws, aggregate=True), per_d, rtol=RTOL)
    assert np.ptp(per_d - per) > 1e-3 * per.mean()  # the draws matter: not the mean model again


def test_aggregated_effects_equal_per_cohort(many_cohorts):
    inp = many_cohorts
    grid = np.linspace(-4.0, 4.0, 33)
    per = lp.period_effects(inp, grid, aggregate=False)
    agg = lp.period_effects(inp, grid, aggregate=True)
    np.testing.assert_allclose(agg, per, rtol=RTOL, atol=RTOL * np.abs(per).max())
    per_d = lp.draw_effects(inp, aggregate=False)
    agg_d = lp.draw_effects(inp, aggregate=True)
    assert np.abs(per_d).max() > 0
    np.testing.assert_allclose(agg_d, per_d, rtol=RTOL, atol=RTOL * np.abs(per_d).max())


def test_default_aggregates_only_many_cohorts(many_cohorts):
    inp = many_cohorts
    assert len(inp.cohort_segment) >= lp.AGGREGATE_MIN_COHORTS
    pool = lp._pool(inp)
    assert pool.occupancy.shape == (N_SEGMENTS, inp.n_states)
    # the exposure-weighted occupancy holds today's exposure of every cohort
    total = float(np.sum(inp.ead * inp.customers))
    assert pool.occupancy.sum() == pytest.approx(total, rel=RTOL)
    few = dataclasses.replace(
        inp,
        **{
            f: getattr(inp, f)[: lp.AGGREGATE_MIN_COHORTS - 1]
            for f in ("cohort_segment", "cohort_state", "customers", "ead", "margin")
        },
    )
    assert lp._pool(few).occupancy.shape[0] == lp.AGGREGATE_MIN_COHORTS - 1
    z = few.shift[None]
    # below the threshold: the per-cohort sums, bit for bit
    assert lp.large_pool_loss(few, z)[0] == lp.large_pool_loss(few, z, aggregate=False)[0]
