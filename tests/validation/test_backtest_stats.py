"""Known answers of the backtest statistics: scipy's exact tests and the Basel definitions."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import stats

from riskmodel.validation.stats import (
    binomial_tails,
    holm,
    jeffreys_pvalue,
    split_gof,
    traffic_light,
)

GRID = list(itertools.product([0, 1, 3, 12, 40], [50, 400], [0.002, 0.01, 0.08]))


@pytest.mark.parametrize(("k", "n", "p"), GRID)
def test_one_sample_binomial_tails_are_scipy_exact_tests(k, n, p):
    upper, lower = binomial_tails(k, n, [p])
    assert upper == pytest.approx(stats.binomtest(k, n, p, alternative="greater").pvalue, rel=1e-9)
    assert lower == pytest.approx(stats.binomtest(k, n, p, alternative="less").pvalue, rel=1e-9)


def test_mixture_tail_is_the_predictive_probability():
    # the predictive of K mixes binomials over PD samples: P(K >= k) = mean of the tails.
    # Check against the predictive simulated directly: 400,000 draws, se <= 0.5/sqrt(4e5)
    # = 8e-4, tolerance 5 se.
    rng = np.random.default_rng(3)
    p = rng.beta(2, 150, size=50)
    upper, lower = binomial_tails(5, 300, p)
    sim = rng.binomial(300, p[rng.integers(50, size=400_000)])
    assert upper == pytest.approx((sim >= 5).mean(), abs=4e-3)
    assert lower == pytest.approx((sim <= 5).mean(), abs=4e-3)


@pytest.mark.parametrize(("k", "n", "p"), GRID)
def test_one_sample_jeffreys_is_the_beta_posterior_mass_below_the_pd(k, n, p):
    want = stats.beta(k + 0.5, n - k + 0.5).cdf(p)
    assert jeffreys_pvalue(k, n, [p]) == pytest.approx(want, rel=1e-12, abs=1e-300)


def test_jeffreys_falls_as_defaults_rise():
    p = [jeffreys_pvalue(k, 500, [0.01]) for k in range(0, 20)]
    assert np.all(np.diff(p) < 0)


@pytest.mark.parametrize(("n", "p"), [(250, 0.01), (1000, 0.02), (60, 0.05), (5000, 0.003)])
def test_traffic_light_zones_start_where_the_cumulative_binomial_reaches_95_and_9999(n, p):
    ks = np.arange(0, n + 1)
    cdf = stats.binom.cdf(ks, n, p)
    amber_from = int(np.argmax(cdf >= 0.95))
    red_from = int(np.argmax(cdf >= 0.9999))
    zones = traffic_light(cdf)
    assert (zones[:amber_from] == "green").all()
    assert (zones[amber_from:red_from] == "amber").all()
    assert (zones[red_from:] == "red").all()
    if (n, p) == (250, 0.01):  # the Basel Committee's published table (1996): 5 and 10
        assert (amber_from, red_from) == (5, 10)


def _holm_by_definition(p, alpha):
    """Reject H_(1..j) while p_(j) <= alpha / (m - j + 1) (Holm 1979), as a boolean mask."""
    order = np.argsort(p)
    m = len(p)
    reject = np.zeros(m, dtype=bool)
    for j, idx in enumerate(order):
        if p[idx] > alpha / (m - j):
            break
        reject[idx] = True
    return reject


@pytest.mark.parametrize("seed", range(5))
def test_holm_adjusted_pvalues_reject_exactly_as_the_step_down_rule(seed):
    rng = np.random.default_rng(seed)
    p = np.concatenate([rng.uniform(size=30), rng.uniform(0, 1e-3, size=5)])
    adj = holm(p)
    for alpha in (0.001, 0.01, 0.05, 0.2):
        np.testing.assert_array_equal(adj <= alpha, _holm_by_definition(p, alpha))
    assert (adj >= p).all() and (adj <= 1).all()


def test_holm_keeps_nan_out_of_the_family():
    adj = holm([0.01, np.nan, 0.02])
    assert np.isnan(adj[1]) and adj[0] == pytest.approx(0.02) and adj[2] == pytest.approx(0.02)


def test_split_statistic_is_pearsons_and_pvalue_is_valid_under_the_model():
    rng = np.random.default_rng(5)
    q = np.array([[0.6, 0.3, 0.1]])
    y = np.array([50, 40, 10])
    stat, _ = split_gof(y, q, replicates=100, rng=rng)
    assert stat == pytest.approx(stats.chisquare(y, 100 * q[0]).statistic)
    # Under the model the p-value is super-uniform: P(p <= 0.1) <= 0.1. 400 splits:
    # se = sqrt(0.1 * 0.9 / 400) = 0.015; allow 3 se above 0.1.
    ps = np.array(
        [split_gof(rng.multinomial(100, q[0]), q, replicates=400, rng=rng)[1] for _ in range(400)]
    )
    assert (ps <= 0.1).mean() <= 0.1 + 3 * 0.015
    # and it has power: a split with the first two shares swapped is rejected
    _, p_bad = split_gof(np.array([30, 60, 10]), q, replicates=2000, rng=rng)
    assert p_bad < 0.001


def test_split_count_in_an_impossible_category_has_pvalue_zero():
    stat, p = split_gof(np.array([5, 1]), np.array([[1.0, 0.0]]), replicates=10, rng=None)
    assert stat == np.inf and p == 0.0


@pytest.mark.parametrize(
    ("k", "n", "p", "rho"), [(150, 1000, 0.02, 0.12), (40, 400, 0.01, 0.2), (400, 5000, 0.01, 0.05)]
)
def test_shifted_tails_match_the_vasicek_mixture_integral(k, n, p, rho):
    from scipy import integrate, special

    from riskmodel.validation.predictive import shifted_tails

    def cond(z):
        return special.ndtr((special.ndtri(p) - np.sqrt(rho) * z) / np.sqrt(1 - rho))

    exact = integrate.quad(lambda z: stats.norm.pdf(z) * stats.binom.sf(k - 1, n, cond(z)),
                           -12, 12, points=[-4, -2, 0], limit=200, epsabs=0)[0]  # fmt: skip
    est = np.array([
        shifted_tails(k, np.array([[n]]), np.array([[[p]]]), np.array([rho]),
                      n_samples=4000, rng=np.random.default_rng(s))[0]
        for s in range(10)
    ])  # fmt: skip
    # unbiased: the mean of 10 estimates is within 4 standard errors of the integral; and
    # efficient: one estimate's relative sd is below 10%, where plain Monte Carlo over Z with
    # 4,000 samples has sd/p ≈ sqrt(1 / (4000 p)) ≥ 0.23 for these p ≤ 5e-3 (1.5 at p ≈ 1e-4)
    assert exact < 5e-3
    assert abs(est.mean() - exact) < 4 * est.std(ddof=1) / np.sqrt(10)
    assert est.std(ddof=1) / exact < 0.1


def test_shifted_tails_keep_a_tail_that_binomial_chance_drives():
    # 35 periods of one customer each, PD 2.3%, weak correlation: 2 defaults against 0.8
    # expected is ordinary binomial luck. A factor shift alone (the same in every period) put
    # every sample into a 35-period downturn and gave P(K >= 2) ~ 1e-8 instead of ~0.18.
    from scipy import special

    from riskmodel.validation.predictive import shifted_tails

    k, n_periods, p, rho = 2, 35, 0.023, 0.05
    n = np.ones((n_periods, 1))
    rng = np.random.default_rng(5)
    z = rng.standard_normal((200_000, n_periods))
    pz = special.ndtr((special.ndtri(p) - np.sqrt(rho) * z) / np.sqrt(1 - rho)).mean(1)
    f = stats.binom.sf(k - 1, n_periods, pz)  # plain Monte Carlo over Z: the reference
    est = shifted_tails(k, n, np.array([[[p]]]), np.array([rho]), n_samples=20_000,
                        rng=np.random.default_rng(6))[0]  # fmt: skip
    # the mixture's weights are at most 2, so its variance is at most 2 E[f²] / 20,000; the
    # reference's is var(f) / 200,000: 4 standard errors of the difference
    tol = 4 * np.sqrt(2 * np.mean(f**2) / 20_000 + f.var() / 200_000)
    assert 0.1 < f.mean() < 0.3
    assert abs(est - f.mean()) < tol


@pytest.mark.parametrize("batch", [None, 2])
@pytest.mark.parametrize(("n_factor", "shared", "p_periods"), [(12, 1, 1), (12, 1, 12), (1, 4, 1)])
def test_shifted_tails_of_many_cells_are_those_of_one_call_per_cell(
    monkeypatch, batch, n_factor, shared, p_periods
):
    # the backtest computes its correlated tails for all cells at once: the numbers must be, bit
    # for bit, those of `shifted_tails` called cell after cell on the same generator (the
    # factor shifts found by a vectorised bisection, the samples in batches of `batch` cells)
    from riskmodel.validation import predictive
    from riskmodel.validation.predictive import shifted_tails, shifted_tails_cells

    rng = np.random.default_rng(3)
    n_draws, n_samples, n_cells = 50, 300, 7
    rho = rng.uniform(0.05, 0.3, size=n_draws)
    n = [rng.integers(0, 300, size=(n_factor, shared)) for _ in range(n_cells)]
    p = [rng.uniform(0.005, 0.05, size=(n_draws, p_periods, shared)) for _ in range(n_cells)]
    # counts from half to four times the expectation: some cells need the shift, some do not
    factor = (0.5, 3.0, 0.9, 1.5, 4.0, 0.8, 2.0)
    k = [int(f * (nc * pc.mean(0)).sum()) for f, nc, pc in zip(factor, n, p, strict=True)]
    if batch is not None:
        monkeypatch.setattr(predictive, "SAMPLE_BATCH", batch * n_samples)
    one, many = np.random.default_rng(8), np.random.default_rng(8)
    cells = zip(k, n, p, strict=True)
    want = [shifted_tails(*cell, rho, n_samples=n_samples, rng=one) for cell in cells]
    got = shifted_tails_cells(k, n, p, rho, n_samples=n_samples, rng=many)
    np.testing.assert_array_equal(np.array(got), np.array(want).T)
    # upper only: the same upper tails and the same random numbers drawn
    upper = shifted_tails_cells(k, n, p, rho, n_samples=n_samples, rng=many, upper_only=True)
    full = shifted_tails_cells(k, n, p, rho, n_samples=n_samples, rng=one)
    np.testing.assert_array_equal(upper[0], full[0])
    assert np.isnan(upper[1]).all() and np.isnan(upper[2]).all()
    assert many.random() == one.random()
