"""Kill tests for `riskmodel.models.conjugate` (see docs/mutation.md).

Oracles: the Dirichlet's closed-form moments (mean ``α_j / α_0``, variance
``α_j (α_0 − α_j) / (α_0² (α_0 + 1))``), Beta quantiles found by root-finding on the
regularised incomplete beta function (not `scipy.stats.beta.ppf`), and counts added by hand.
Monte Carlo tolerances: 5 standard errors of the sample mean or variance.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import optimize, special

import riskmodel as rm
from riskmodel.models.conjugate import (
    beta_marginal_stat,
    conjugate_fit,
    dirichlet_draws,
    posterior_alpha,
)

ALLOWED = np.array([[True, True, False, True], [True, True, True, True]])


def test_posterior_alpha_adds_the_prior_to_allowed_counts_only():
    counts = np.array([[[5, 2, 7, 1], [0, 3, 4, 9]]])
    got = posterior_alpha(counts, ALLOWED, 0.5)
    want = [[[5.5, 2.5, 0.0, 1.5], [0.5, 3.5, 4.5, 9.5]]]
    np.testing.assert_array_equal(got, want)


def test_dirichlet_draws_have_the_dirichlet_moments():
    alpha = np.array([[3.0, 1.5, 0.0, 0.5], [2.0, 2.0, 2.0, 6.0]])
    n = 40_000
    x = dirichlet_draws(alpha, n, np.random.default_rng(7))
    assert x.shape == (n, 2, 4)
    np.testing.assert_allclose(x.sum(axis=-1), 1.0, rtol=1e-12)
    assert np.all(x[:, 0, 2] == 0.0)
    a0 = alpha.sum(axis=-1, keepdims=True)
    mean = alpha / a0
    var = alpha * (a0 - alpha) / (a0**2 * (a0 + 1))
    assert np.all(np.abs(x.mean(axis=0) - mean) <= 5 * np.sqrt(var / n) + 1e-15)
    dev = x - x.mean(axis=0)
    se_var = np.sqrt(np.maximum(np.mean(dev**4, axis=0) - np.var(x, axis=0) ** 2, 0) / n)
    assert np.all(np.abs(np.var(x, axis=0, ddof=1) - var) <= 5 * se_var + 1e-15)


def test_rows_whose_gamma_variates_underflow_fall_back_to_their_mean():
    alpha = np.array([[1e-300, 3e-300, 0.0]])
    x = dirichlet_draws(alpha, 50, np.random.default_rng(0))
    underflow = x[:, 0, 0] + x[:, 0, 1]  # rows whose variates all underflowed hold the mean
    means = np.isclose(x[:, 0, 0], 0.25) & np.isclose(x[:, 0, 1], 0.75)
    assert np.all(np.isclose(underflow, 1.0))
    assert means.any()
    assert np.all(x[:, 0, 2] == 0.0)


def _beta_quantile(q, a, b):
    return optimize.brentq(lambda x: special.betainc(a, b, x) - q, 0.0, 1.0, xtol=1e-15)


@pytest.mark.parametrize("stat", ["mean", "median", 0.05, 0.975])
def test_beta_marginal_statistics(stat):
    alpha = np.array([[3.0, 1.5, 0.0, 0.5], [0.0, 0.0, 4.0, 0.0]])
    got = beta_marginal_stat(alpha, stat)
    a0 = alpha.sum(axis=-1)
    for r in range(2):
        for j in range(4):
            a = alpha[r, j]
            if a == 0:
                want = 0.0
            elif a == a0[r]:  # the row's only destination
                want = 1.0
            elif stat == "mean":
                want = a / a0[r]
            else:
                q = 0.5 if stat == "median" else stat
                want = _beta_quantile(q, a, a0[r] - a)
            assert got[r, j] == pytest.approx(want, rel=1e-9, abs=1e-12), (r, j)


@pytest.mark.parametrize("pooling", ["none", "complete"])
def test_conjugate_fit_alpha_and_draw_layout(pooling):
    states = rm.StateSpace(
        names=["a", "b", "churned", "defaulted"],
        absorbing=["churned", "defaulted"],
        default="defaulted",
        churn="churned",
    )
    y = np.array([[[50, 5, 0, 2], [10, 80, 6, 4]], [[20, 1, 0, 9], [3, 30, 2, 1]]], dtype=float)
    out = conjugate_fit(
        states,
        y,
        ALLOWED,
        ["s1", "s2"],
        pooling=pooling,
        concentration=1.0,
        draws=3000,
        chains=2,
        rng=np.random.default_rng(11),
    )
    alpha = out.groups["constant_data"]["alpha"].to_numpy()
    counts = y.sum(axis=0, keepdims=True).repeat(2, axis=0) if pooling == "complete" else y
    want = np.where(ALLOWED, counts + 1.0, 0.0)
    np.testing.assert_array_equal(alpha, want)
    tr = out.groups["posterior"]["transition"]
    assert tr.sizes["chain"] == 2 and tr.sizes["draw"] == 3000
    draws = tr.to_numpy()  # (chain, draw, segment, K, K) with absorbing rows
    a0 = want.sum(axis=-1, keepdims=True)
    mean, var = want / a0, want * (a0 - want) / (a0**2 * (a0 + 1))
    n = 6000
    got = draws[..., :2, :].reshape(n, 2, 2, 4)
    assert np.all(np.abs(got.mean(axis=0) - mean) <= 5 * np.sqrt(var / n) + 1e-15)
    # each chain is a sample of the posterior too (no chain holds copies of another)
    c0, c1 = draws[0, :, 0, 0, 0], draws[1, :, 0, 0, 0]
    assert not np.allclose(c0, c1)
    sd = math.sqrt(var[0, 0, 0] / 3000)
    assert abs(c0.mean() - mean[0, 0, 0]) <= 5 * sd and abs(c1.mean() - mean[0, 0, 0]) <= 5 * sd
    if pooling == "complete":  # one pooled row shared by both segments in every draw
        np.testing.assert_array_equal(draws[:, :, 0], draws[:, :, 1])


def test_small_concentrations_integer_alphas_and_nested_rows():
    # a row of total concentration 0.5: its Gamma variates sum below 1 most of the time and must
    # still be normalised (Dirichlet variance α_j(α_0 − α_j)/(α_0²(α_0 + 1)), 5 standard errors)
    alpha = np.array([[0.3, 0.2, 0.0]])
    n = 20_000
    x = dirichlet_draws(alpha, n, np.random.default_rng(3))[:, 0, 0]
    var = 0.3 * 0.2 / (0.25 * 1.5)
    dev = x - x.mean()
    se_var = math.sqrt((np.mean(dev**4) - np.var(x) ** 2) / n)
    assert abs(np.var(x, ddof=1) - var) <= 5 * se_var
    # the underflow fallback is each row's own mean, also for (segment, row, state) arrays
    tiny = np.array([[[1e-300, 3e-300], [2e-300, 2e-300]], [[4e-300, 1e-300], [1e-300, 1e-300]]])
    got = dirichlet_draws(tiny, 200, np.random.default_rng(4))
    fell_back = np.all(got.max(axis=-1) < 1.0, axis=(1, 2))  # no row took a single state
    assert fell_back.any()
    np.testing.assert_allclose(got[fell_back][0], tiny / tiny.sum(axis=-1, keepdims=True))
    # integer alphas give the same quantiles as float ones; a row with b = α_0 − α_j in (0, 1]
    ints = np.array([[3, 1, 0, 2], [2, 0, 0, 0]])
    for q in ("median", 0.1):
        np.testing.assert_array_equal(
            beta_marginal_stat(ints, q), beta_marginal_stat(ints.astype(float), q)
        )
    close = np.array([[2.0, 0.7, 0.0]])
    for j, (a, b) in enumerate(((2.0, 0.7), (0.7, 2.0))):
        want = _beta_quantile(0.3, a, b)
        assert beta_marginal_stat(close, 0.3)[0, j] == pytest.approx(want, rel=1e-9)


def test_complete_pooling_of_a_single_segment():
    states = rm.StateSpace(names=["a", "d"], absorbing=["d"], default="d")
    y = np.array([[[40.0, 3.0]]])
    out = conjugate_fit(
        states,
        y,
        np.array([[True, True]]),
        ["only"],
        pooling="complete",
        concentration=0.5,
        draws=50,
        chains=1,
        rng=np.random.default_rng(5),
    )
    np.testing.assert_array_equal(out.groups["constant_data"]["alpha"].to_numpy(), [[[40.5, 3.5]]])
    assert out.groups["posterior"]["transition"].sizes["segment"] == 1
