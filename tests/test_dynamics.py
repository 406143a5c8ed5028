"""The one home of the model's dynamics (`riskmodel.dynamics`) and of the seeds
(`riskmodel.simulation.seeding`), against closed forms."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, stats
from scipy.special import ndtri

from riskmodel import dynamics
from riskmodel.simulation import seeding


@pytest.mark.parametrize(
    ("p", "rho", "shift"), [(0.02, 0.12, 0.0), (0.3, 0.5, -1.0), (1e-4, 0.2, 2)]
)
def test_conditional_pd_integrates_to_the_shifted_mean(p, rho, shift):
    # E[p(Z)] over Z ~ N(s, 1) is Φ(Φ⁻¹(p) − √ρ s) (Vasicek); quadrature error ~1e-12
    got, _ = integrate.quad(
        lambda z: dynamics.conditional_pd(ndtri(p), rho, z) * stats.norm.pdf(z - shift),
        -np.inf,
        np.inf,
        epsabs=1e-13,
    )
    want = dynamics.mean_conditional_pd(ndtri(p), np.sqrt(rho), shift)
    assert got == pytest.approx(float(want), rel=1e-8)


def test_conditional_pd_quantile_is_the_vasicek_quantile():
    # the q-quantile of the default rate is p(Φ⁻¹(1 − q)) (a low factor is a downturn)
    p, rho, q = 0.01, 0.15, 0.999
    vasicek = stats.norm.cdf((ndtri(p) + np.sqrt(rho) * ndtri(q)) / np.sqrt(1 - rho))
    assert float(dynamics.conditional_pd(ndtri(p), rho, ndtri(1 - q))) == pytest.approx(vasicek)


def test_scaled_form_agrees_with_the_division_form():
    rng = np.random.default_rng(3)
    a, rho, z = ndtri(rng.uniform(0, 1, 500)), rng.uniform(0, 0.9, 500), rng.normal(size=500)
    scaled = dynamics.conditional_pd_scaled(a, np.sqrt(rho), 1 / np.sqrt(1 - rho), z)
    np.testing.assert_allclose(scaled, dynamics.conditional_pd(a, rho, z), rtol=1e-13, atol=0)


def test_rescaled_rows_stay_stochastic():
    rng = np.random.default_rng(4)
    rows = rng.dirichlet(np.ones(5), size=200)  # default in column 4
    pd = rows[:, 4]
    pd_z = dynamics.conditional_pd(ndtri(pd), 0.2, rng.normal(size=200))
    cond = rows * dynamics.rest_scale(pd, pd_z)[:, None]
    cond[:, 4] = pd_z
    np.testing.assert_allclose(cond.sum(axis=1), 1.0, rtol=1e-12)
    shares = dynamics.survivor_shares(rows, pd, 4)
    np.testing.assert_allclose(shares.sum(axis=1), 1.0, rtol=1e-12)
    assert dynamics.rest_scale(np.array([1.0]), np.array([1.0])).tolist() == [0.0]


def test_discounting():
    df = dynamics.discount_factors(np.full(12, 0.01))
    assert df[-1] == pytest.approx(1.01**-12, rel=1e-14)
    np.testing.assert_allclose(dynamics.remaining_discount(df)[0], df.sum(), rtol=1e-14)


def test_spawn_keys_never_collide():
    named = [seeding.ANALYSIS_KEY, seeding.DESIGN_KEY, seeding.BOOTSTRAP_KEY, seeding.QMC_KEY]
    assert len(set(named)) == len(named)
    assert seeding.MAX_BLOCK_KEY < min(named)
    with pytest.raises(ValueError, match="block number"):
        seeding.block_rng(7, seeding.MAX_BLOCK_KEY + 1)
    a, b = seeding.block_rng(7, 0).random(3), seeding.block_rng(7, 1).random(3)
    assert not np.array_equal(a, b)
    assert seeding.seed_entropy(7) == 7
