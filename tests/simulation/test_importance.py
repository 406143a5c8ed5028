"""The exponential tilt of the factor: exact sampling, exact weights, aimed at the tail."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scenario_builders import finite_n_pmf, lifecycle_dict, one_cohort_dict
from scipy import integrate, optimize, stats
from scipy.special import ndtr

import riskmodel as rm
from riskmodel.simulation.engine import build_kernel_inputs
from riskmodel.simulation.importance import (
    factor_tilt,
    large_pool_loss,
    period_effects,
    separable_quantile,
)

Z4 = 4.0


@pytest.fixture(scope="module")
def lifecycle_tilt():
    sc = rm.scenario_from_dict(lifecycle_dict(horizon=6, rho=0.15))
    inp = build_kernel_inputs(sc)
    return inp, factor_tilt(inp, 0.999)


def tilted_cdf(tilt, t: int, y: np.ndarray) -> np.ndarray:
    """The stated CDF of period t's tilted innovation: cell mass below plus the normal within."""
    edges, cdf = tilt.edges, tilt.cdf[t]
    j = np.clip(np.searchsorted(edges, y, side="right") - 1, 0, len(cdf) - 1)
    below = np.where(j > 0, cdf[np.maximum(j - 1, 0)], 0.0)
    mass = cdf[j] - below
    a, b = edges[j], edges[j + 1]
    frac = (ndtr(y) - ndtr(a)) / (ndtr(b) - ndtr(a))
    return below + mass * frac


def test_tilted_innovations_follow_the_stated_distribution(lifecycle_tilt):
    _, tilt = lifecycle_tilt
    pure = dataclasses.replace(tilt, p_plain=0.0)
    rng = np.random.default_rng(3)
    y, w, _ = pure.sample(rng.standard_normal((50_000, pure.horizon)), rng)
    for t in range(pure.horizon):
        assert stats.kstest(y[:, t], lambda x, t=t: tilted_cdf(pure, t, x)).pvalue > 1e-3
        # and not the standard normal: the tilt moved it toward the downturn
        assert stats.kstest(y[:, t], "norm").pvalue < 1e-6
    # the weight is the exact density ratio: exp(−Σ λ_t) with λ the log ratio of the cells
    cell = np.searchsorted(pure.edges, y, side="right") - 1
    lam = pure.log_ratio[np.arange(pure.horizon)[None], cell].sum(axis=1)
    np.testing.assert_allclose(w, np.exp(-lam), rtol=1e-12)


def test_weights_are_likelihood_ratios(lifecycle_tilt):
    _, tilt = lifecycle_tilt
    rng = np.random.default_rng(4)
    n = 200_000
    y, w, _ = tilt.sample(rng.standard_normal((n, tilt.horizon)), rng)
    assert w.max() <= 1 / tilt.p_plain * (1 + 1e-12)  # the defensive component bounds them
    # E_q[w f(Y)] = E_φ[f(Y)] for indicators of the first and last periods' innovations
    for t in (0, tilt.horizon - 1):
        for c in (-3.0, -1.0, 0.0, 1.5):
            est = w * (y[:, t] < c)
            assert abs(est.mean() - ndtr(c)) < Z4 * est.std() / np.sqrt(n)
    assert abs(w.mean() - 1) < Z4 * w.std() / np.sqrt(n)


def test_tilt_aims_at_the_quantile_of_a_one_period_large_pool():
    # one period, one cohort: L̄(y) = N Φ((Φ⁻¹(p) − √ρ y)/√(1 − ρ)), the Vasicek loss; the tilted
    # mean of the loss (the target) must be the Vasicek quantile of the level aimed at. The
    # effect is constant on cells of width w = 0.02, so the quantile's factor value is exact to
    # w and its tail probability Φ(y) to a relative w·φ(y)/Φ(y) ≤ 0.02 × 3.4 ≈ 7% at 99.9%
    # (measured: ≤ 1.1%).
    p = 0.02
    for rho in (0.05, 0.15, 0.3):
        sc = rm.scenario_from_dict(one_cohort_dict(customers=10**6, pd=p, rho=rho))
        inp = build_kernel_inputs(sc)
        for level in (0.95, 0.99, 0.999):
            tilt = factor_tilt(inp, level)
            pd_target = tilt.target / 10**6
            y = (stats.norm.ppf(p) - np.sqrt(1 - rho) * stats.norm.ppf(pd_target)) / np.sqrt(rho)
            tail = stats.norm.cdf(y)  # P(L > target) = P(Y < y)
            assert tail == pytest.approx(1 - level, rel=0.07)


def test_period_effects_are_single_period_moves_of_the_large_pool_loss(lifecycle_tilt):
    inp, _ = lifecycle_tilt
    grid = np.array([-2.0, 0.0, 1.0])
    g = period_effects(inp, grid)
    assert g.shape == (inp.horizon, 3)
    np.testing.assert_allclose(g[:, 1], 0.0, atol=1e-6 * large_pool_loss(inp, inp.shift[None])[0])
    z = np.zeros((1, inp.horizon))
    z[0, 2] = -2.0
    base = large_pool_loss(inp, inp.shift[None])[0]
    np.testing.assert_allclose(g[2, 0], large_pool_loss(inp, inp.shift + z)[0] - base, rtol=1e-12)
    assert np.all(g[:, 0] > 0) and np.all(g[:, 2] < 0)  # downturns lose more


def test_no_tilt_when_the_loss_does_not_move_with_the_factor():
    sc = rm.scenario_from_dict(one_cohort_dict(customers=1000, pd=0.02, rho=0.0))
    assert factor_tilt(build_kernel_inputs(sc), 0.999) is None
    cfg = one_cohort_dict(customers=1000, pd=0.02, rho=0.0, paths=500)
    cfg["simulation"] = {"importance_sampling": True}
    res = rm.simulate(rm.scenario_from_dict(cfg), progress=False)
    assert res.data.attrs["importance_sampling"] == 0
    np.testing.assert_array_equal(res.weights, 1.0)


def test_damping_is_refused_for_the_tilt():
    cfg = one_cohort_dict(customers=1000, pd=0.02, rho=0.1)
    cfg["simulation"] = {"importance_damping": 0.5}
    with pytest.raises(rm.ScenarioError, match="importance_damping"):
        rm.scenario_from_dict(cfg)


def test_separable_quantile_is_the_quantile_of_the_sum():
    # three periods with two-point effects: the sum's distribution by enumeration
    g = np.array([[0.0, 1.0], [0.0, 2.0], [0.0, 4.0]])
    mass = np.array([0.9, 0.1])
    values = np.array([a + b + c for a in (0, 1) for b in (0, 2) for c in (0, 4)])
    probs = np.array([x * y * z for x in mass for y in mass for z in mass])
    for level in (0.5, 0.8, 0.95, 0.99, 0.995):
        # the smallest x with P(S ≤ x) ≥ level
        truth = min(v for v in values if probs[values <= v].sum() >= level - 1e-12)
        assert separable_quantile(g, mass, level) == pytest.approx(truth, abs=7 / 2**15)


def test_tilted_tail_agrees_with_plain_monte_carlo_on_a_multi_period_book():
    # 12 periods, five cohorts, Beta LGD: no closed form, so plain Monte Carlo with many more
    # paths is the reference; each estimate carries its own standard error (the tilted one from
    # the weights), and they must agree within 4 combined standard errors
    levels = (0.99, 0.999)
    cfg = lifecycle_dict(horizon=12, paths=60_000, seed=8, rho=0.15)
    plain = rm.simulate(rm.scenario_from_dict(cfg), progress=False).risk(levels=levels)
    cfg.update(paths=8_000, seed=9, simulation={"importance_sampling": True})
    res = rm.simulate(rm.scenario_from_dict(cfg), progress=False)
    assert res.data.attrs["importance_method"] == "tilt"
    tilted = res.risk(levels=levels)
    for q in levels:
        for key, se_key in (("var", "stderr_var"), ("es", "stderr_es")):
            a, b = getattr(plain, key)[q], getattr(tilted, key)[q]
            se = np.hypot(getattr(plain, se_key)[q], getattr(tilted, se_key)[q])
            assert abs(a - b) < Z4 * se, (key, q, a, b, se)
        # with 7.5 times fewer paths the tilt is still the more precise estimate of the far tail
        assert tilted.stderr_es[q] < plain.stderr_es[q]


def test_tilted_small_cohort_matches_the_exact_finite_n_distribution():
    # N = 40 customers, one period: P(D ≤ k) by quadrature of the conditional binomial
    p, rho, n_cust, n = 0.05, 0.2, 40, 40_000
    cfg = one_cohort_dict(customers=n_cust, pd=p, rho=rho, paths=n, seed=22)
    cfg["simulation"] = {"importance_sampling": True}
    res = rm.simulate(rm.scenario_from_dict(cfg), progress=False)
    d, w = res.total("defaults").to_numpy().astype(int), res.weights

    pmf = finite_n_pmf(p, rho, n_cust)
    cdf = np.cumsum(pmf)
    # the tail form 1 − mean(w·1{D > k}): its error is what the tilt makes small
    above = w[None] * (d[None] > np.arange(n_cust + 1)[:, None])  # (k, path)
    emp, se = 1.0 - above.mean(axis=1), above.std(axis=1) / np.sqrt(n)
    inner = (cdf > 1e-4) & (cdf < 1 - 1e-6)
    # 4.5 SE: ~20 correlated comparisons
    assert np.all(np.abs(emp - cdf)[inner] < 4.5 * se[inner])
    # the weighted VaR is the exact discrete quantile: levels in the middle of the steps of
    # F at the 99% and 99.9% quantiles, far enough from both ends to be resolved
    for k in (int(np.searchsorted(cdf, 0.99)), int(np.searchsorted(cdf, 0.999))):
        q = 0.5 * (cdf[k - 1] + cdf[k])
        assert cdf[k] - q > 4.5 * se[k] and q - cdf[k - 1] > 4.5 * se[k - 1]
        assert res.risk(levels=(q,)).var[q] == k


def test_posterior_draws_are_tilted_toward_the_tail_and_the_mixture_law_is_recovered():
    # one period, two equally likely parameter draws: (p 1%, ρ 0.25) and (p 3%, ρ 0.05). With
    # 10^9 customers the loss fraction is the 50/50 mixture of two Vasicek laws, F = (F1 + F2)/2.
    # The high-correlation draw has the lower median loss but the fatter tail: the draw term must
    # favour it, and the weighted VaR/ES must match the mixture law.
    n_cust, n = 10**9, 20_000
    draws = [(0.01, 0.25), (0.03, 0.05)]
    cfg = one_cohort_dict(customers=n_cust, pd=0.02, rho=0.1, paths=n, seed=31)
    cfg["simulation"] = {"importance_sampling": True}
    base = rm.scenario_from_dict(cfg)
    sc = dataclasses.replace(
        base,
        transitions=np.stack([[[[1 - p, p], [0.0, 1.0]]] for p, _ in draws]),
        correlation=np.array([r for _, r in draws]),
    )
    tilt = factor_tilt(build_kernel_inputs(sc), 0.999)
    assert tilt.draw_cdf is not None and tilt.draw_cdf[0] > 0.5  # the fat-tailed draw

    def cdf(x):
        return np.mean(
            [
                stats.norm.cdf(
                    (np.sqrt(1 - r) * stats.norm.ppf(x) - stats.norm.ppf(p)) / np.sqrt(r)
                )
                for p, r in draws
            ]
        )

    res = rm.simulate(sc, progress=False)
    plain = rm.simulate(sc.with_options(simulation={"importance_sampling": False}), progress=False)
    frac = res.total("loss").to_numpy() / n_cust
    w = res.weights
    for d in (0, 1):  # each draw keeps its posterior probability 1/2 under the weights
        x = w * (res.data["draw"].to_numpy() == d)
        assert abs(x.mean() - 0.5) < Z4 * x.std() / np.sqrt(n)
    m = rm.risk_measures(frac, weights=w, levels=(0.99, 0.999))
    with pytest.warns(rm.TailResolutionWarning, match=r"99\.9%: 21\b"):  # plain MC: 21 paths
        m_plain = plain.risk(levels=(0.999,))
    for q in (0.99, 0.999):
        var = optimize.brentq(lambda x, q=q: cdf(x) - q, 1e-9, 1 - 1e-9, xtol=1e-14)
        es = var + integrate.quad(lambda x: 1 - cdf(x), var, 1, epsabs=1e-12, limit=200)[0] / (
            1 - q
        )
        assert abs(m.var[q] - var) < Z4 * m.stderr_var[q]
        assert abs(m.es[q] - es) < Z4 * m.stderr_es[q]
    assert m.stderr_es[0.999] * n_cust < 0.5 * m_plain.stderr_es[0.999]
