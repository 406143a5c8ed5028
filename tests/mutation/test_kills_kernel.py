"""Fast exact tests of the engine's kernel (`riskmodel.simulation.kernel.simulate_block`).

The mutation target for the kernel: every per-path output is compared with an oracle computed
by another route (`mutation_oracles.book_path`, scalar loops) along factor paths the test
chooses (the kernel takes the innovations ``eps``; ``z = shift + eps`` under plain sampling):

- large-pool cohorts are deterministic given the path: equal to the oracle up to rounding;
- binomial cohorts on one fixed path: path means within 5 Monte Carlo standard errors of the
  oracle (the standard error from the sample itself; a false alarm ~6e-7 per comparison);
- importance-sampling weights against the ratio of normal densities, with the path recovered
  from the defaults of a one-period-per-step book (the inverse of the Vasicek map);
- the Beta LGD: the variance of a cohort-period's loss given the factor is
  ``E[D] s² + m² Var(D)`` (``Var(mean of D Betas | D) = s² / D``).
"""

from __future__ import annotations

import dataclasses
import math

import mutation_oracles as mo
import numpy as np
import pytest
from scipy import stats

from riskmodel.simulation.inputs import build_kernel_inputs
from riskmodel.simulation.kernel import simulate_block

Z5 = 5.0
FIELDS = ("loss", "defaults", "churn", "margin")


def _paths(n_paths=3):
    return np.array([[-2.0, -1.0, 0.0, 0.5], [0.3, 1.2, -0.4, -2.5], [1.0, -0.5, 0.5, 0.0]])[
        :n_paths
    ]


def _check_path(out, i, want, rtol=1e-10):
    for f in FIELDS:
        np.testing.assert_allclose(getattr(out, f)[i], want[f], rtol=rtol, err_msg=f)
    np.testing.assert_allclose(out.loss_by_cohort[i], want["loss_by_cohort"], rtol=rtol)
    np.testing.assert_allclose(out.loss_by_segment[i], want["loss_by_segment"], rtol=rtol)
    np.testing.assert_allclose(out.churn_value_lost[i], want["churn_value_lost"], rtol=rtol)


def test_large_pool_cohorts_follow_the_oracle_along_each_path():
    sc = mo.book(approximation="large_pool")
    inp = build_kernel_inputs(sc)
    eps = _paths()
    out = simulate_block(inp, np.random.default_rng(0), len(eps), eps=eps)
    z = np.asarray(sc.shift) + eps
    mats = mo.mats_of(sc, 0)
    occupancy = np.zeros((mo.HORIZON, 4))
    for i in range(len(eps)):
        want = mo.book_path(mats, mo.RHO, z[i])
        _check_path(out, i, want)
        occupancy += want["occupancy"]
    np.testing.assert_allclose(out.weight, 1.0, rtol=0, atol=0)
    np.testing.assert_allclose(out.occupancy, occupancy, rtol=1e-10)


def test_each_path_uses_the_matrices_and_correlation_of_its_draw():
    sc = mo.with_draws(mo.book(approximation="large_pool"))
    inp = build_kernel_inputs(sc)
    eps = np.tile(_paths(), (20, 1))  # 60 paths: every draw is used
    out = simulate_block(inp, np.random.default_rng(1), len(eps), eps=eps)
    assert set(out.draw.tolist()) == {0, 1, 2}
    z = np.asarray(sc.shift) + eps
    rhos = np.asarray(sc.correlation)
    for i in range(len(eps)):
        d = int(out.draw[i])
        _check_path(out, i, mo.book_path(mo.mats_of(sc, d), rhos[d], z[i]))


def test_binomial_cohorts_average_to_the_oracle_on_a_fixed_path(chain_kernel):
    # one factor path for every path: the counts are multinomial chains given it, so the path
    # means converge to the oracle's conditional expectations; tolerance 5 standard errors
    sc = mo.book(lgd_sd=0.15)
    inp = build_kernel_inputs(sc)
    n = 20_000
    eps = np.tile(np.array([[-1.5, 0.5, -0.5, 1.0]]), (n, 1))
    out = simulate_block(inp, np.random.default_rng(2), n, eps=eps)
    want = mo.book_path(mo.mats_of(sc, 0), mo.RHO, np.asarray(sc.shift) + eps[0])
    per_path = {f: getattr(out, f) for f in FIELDS}
    per_path["loss_by_cohort"] = out.loss_by_cohort
    per_path["loss_by_segment"] = out.loss_by_segment
    per_path["churn_value_lost"] = out.churn_value_lost[:, None]
    want["churn_value_lost"] = np.array([want["churn_value_lost"]])
    for f, x in per_path.items():
        se = x.std(axis=0, ddof=1) / math.sqrt(n)
        assert np.all(np.abs(x.mean(axis=0) - want[f]) <= Z5 * se + 1e-9 * np.abs(want[f])), f
    # occupancy is the sum over paths of the customers per state (absorbing: cumulative)
    occ = out.occupancy / n
    assert np.all(np.abs(occ - want["occupancy"]) <= Z5 * np.sqrt(want["occupancy"] / n) + 1e-9)


@pytest.mark.parametrize("downturn", [0.0, 0.4])
def test_beta_lgd_variance_given_the_factor(downturn, chain_kernel):
    # one period, one cohort of N customers with EAD 1; half the paths at z = −1, half at
    # z = 1.5. Given z, D ~ Bin(N, p(z)) and the mean LGD of D defaults has mean m(z) and
    # variance s(z)² / D, so Var(loss) = E[D] s² + m² Var(D); with a downturn
    # s(z) = min(s, 0.99 √(m(1 − m))) (binding at z = 1.5, where m(z) ≈ 0.03). A small mean
    # LGD with a large sd and few defaults make the Beta part dominate the variance.
    n_cust, lgd, s = 50, 0.1, 0.25
    cohorts = [("cards", "watch", n_cust, float(n_cust), 0.0)]
    sc = mo.book(horizon=1, lgd_sd=s, downturn=downturn, cohorts=cohorts, lgd_mean=lgd)
    inp = build_kernel_inputs(sc)
    half = 40_000
    zs = (-1.0, 1.5)
    eps = np.concatenate([np.full((half, 1), z0 - float(sc.shift[0])) for z0 in zs])
    out = simulate_block(inp, np.random.default_rng(3), 2 * half, eps=eps)
    p = mo.ROWS["cards"][1][3]
    f = mo.ead_factor(0)
    for k, z0 in enumerate(zs):
        pz = stats.norm.cdf((stats.norm.ppf(p) - math.sqrt(mo.RHO) * z0) / math.sqrt(1 - mo.RHO))
        m = stats.norm.cdf(stats.norm.ppf(lgd) - downturn * z0)
        s_z = min(s, 0.99 * math.sqrt(m * (1 - m))) if downturn else s
        mean_d, var_d = n_cust * pz, n_cust * pz * (1 - pz)
        want_var = f**2 * (mean_d * s_z**2 + m**2 * var_d)
        x = out.loss[k * half : (k + 1) * half, 0]
        assert x.mean() == pytest.approx(f * mean_d * m, abs=Z5 * x.std() / math.sqrt(half))
        # se of a sample variance: sqrt((μ4 − σ⁴) / n), μ4 from the sample
        dev = x - x.mean()
        se_var = math.sqrt((np.mean(dev**4) - np.var(x) ** 2) / half)
        assert np.var(x, ddof=1) == pytest.approx(want_var, abs=Z5 * se_var), z0


def test_large_pool_cohorts_read_period_and_draw_matrices():
    # per-period matrices (T = H = 2) and two posterior draws, large-pool cohorts: each path
    # follows the oracle with its draw's matrices of each period
    sc = mo.with_draws(
        mo.book(horizon=2, approximation="large_pool"), rhos=(0.1, 0.3), bumps=(0.7, 1.5)
    )
    base = np.asarray(sc.transitions)
    tt = np.repeat(base[:, None], 2, axis=1)
    tt[:, 1, :, :2, 3] *= 2.0
    tt[:, 1, :, :2, 0] = 1.0 - tt[:, 1, :, :2, 1:].sum(axis=-1)
    shocked = dataclasses.replace(sc, transitions=tt)
    inp = build_kernel_inputs(shocked)
    eps = np.tile(np.array([[-1.0, 0.5], [0.3, -2.0]]), (10, 1))
    out = simulate_block(inp, np.random.default_rng(6), len(eps), eps=eps)
    assert set(out.draw.tolist()) == {0, 1}
    z = np.asarray(shocked.shift) + eps
    rhos = np.asarray(shocked.correlation)
    for i in range(len(eps)):
        d = int(out.draw[i])
        mats = [{g: tt[d, t, k].tolist() for k, g in enumerate(shocked.segments)} for t in (0, 1)]
        _check_path(out, i, mo.book_path(mats, rhos[d], z[i]))


def test_mean_shift_weights_are_density_ratios():
    sc = mo.one_cohort_two_periods()
    inp = build_kernel_inputs(sc)
    mu = np.array([-1.0, -0.5])
    eps = np.array([[0.3, -0.2], [-1.0, 1.5], [0.0, 0.0]])
    out = simulate_block(inp, np.random.default_rng(4), 3, eps=eps, z_mean=mu)
    y = mo.recover_y(out, sc)
    np.testing.assert_allclose(y, mu + eps, rtol=1e-7)  # the path is shifted by mu
    want = np.prod(stats.norm.pdf(y) / stats.norm.pdf(y - mu), axis=1)
    np.testing.assert_allclose(out.weight, want, rtol=1e-10)


def test_mixture_weights_are_the_inverse_mixture_density_ratio():
    sc = mo.one_cohort_two_periods()
    inp = build_kernel_inputs(sc)
    means = np.array([[0.0, 0.0], [-2.0, -1.0], [-1.0, 0.5]])
    probs = np.array([0.5, 0.3, 0.2])
    rng = np.random.default_rng(5)
    eps = rng.standard_normal((400, 2))
    out = simulate_block(inp, rng, 400, eps=eps, z_mean=means, z_prob=probs)
    y = mo.recover_y(out, sc)
    # which component each path came from: y − eps is one of the means
    comp = np.argmin(np.abs((y - eps)[:, None, :] - means[None]).sum(axis=2), axis=1)
    np.testing.assert_allclose(y - eps, means[comp], atol=1e-6)
    counts = np.bincount(comp, minlength=3)
    # component frequencies: Bin(400, π_m), 5 sd
    assert np.all(np.abs(counts - 400 * probs) <= Z5 * np.sqrt(400 * probs * (1 - probs)))
    phi = stats.norm.pdf
    q = sum(pm * np.prod(phi(y - m) / phi(y), axis=1) for pm, m in zip(probs, means, strict=True))
    np.testing.assert_allclose(out.weight, 1.0 / q, rtol=1e-9)
