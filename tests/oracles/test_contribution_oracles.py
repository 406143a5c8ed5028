"""Euler contributions (EL, VaR, ES per segment) against closed forms, under heavy weights.

Two oracles:

1. The one-factor large-pool limit (two segments, one period, LGD 1): the loss is the
   decreasing function ``L(z) = Σ_s N_s p_s(z)`` of the factor, so ``VaR_q`` is reached at
   ``z_q = Φ⁻¹(1 − q)`` and the Euler contributions are each segment's loss there,
   ``VaR_s = N_s p_s(z_q)``, and its conditional tail mean,
   ``ES_s = N_s Φ₂(Φ⁻¹(p_s), z_q; √ρ) / (1 − q)`` (Gordy 2003; Tasche 1999).
2. A synthetic book whose composition is random given the total: the total is ``Exp(1)`` and
   belongs wholly to segment A with probability 0.9, else wholly to B. Sampled from a heavier
   total (``Exp`` with mean 3) and a fair coin, with likelihood-ratio weights, every Euler
   contribution of A is 0.9 times the total's measure: EL 0.9, VaR ``−0.9 ln(1 − q)``,
   ES ``0.9 (1 − ln(1 − q))``. Estimators that drop the weights see a 50:50 book.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from oracle_builders import (
    BOOK,
    Z45,
    cond_pd,
    es_se,
    one_period_book,
    quantile_se,
    tail_mean,
    weighted_moments_se,
)
from scipy import optimize, stats

import riskmodel as rm
from riskmodel.metrics.contributions import euler_contributions, risk_contributions

pytestmark = pytest.mark.filterwarnings("ignore::riskmodel.errors.TailResolutionWarning")

SEGMENTS = {"cards": (150_000, 0.03), "loans": (60_000, 0.005)}
LEVELS = (0.95, 0.99, 0.999)


@pytest.fixture(scope="module", params=["tilt", "shift-heavy"])
def two_segment_run(request):
    method, damping = ("shift", 1.0) if request.param == "shift-heavy" else ("tilt", None)
    cfg = one_period_book(
        method=method, damping=damping, segments=SEGMENTS, levels=LEVELS, paths=40_000, seed=5
    )
    result = rm.simulate(rm.scenario_from_dict(cfg), progress=False)
    return result, risk_contributions(result)


def _total(z):
    return sum(n * cond_pd(z, p, BOOK["rho"]) for n, p in SEGMENTS.values())


@pytest.mark.parametrize("q", LEVELS)
def test_large_pool_es_contributions_are_conditional_tail_means(two_segment_run, q):
    result, contrib = two_segment_run
    w = result.weights
    seg_loss = result.data["loss_by_segment"]
    total = seg_loss.sum("segment").to_numpy()
    v = _total(stats.norm.ppf(1 - q))
    for name, (n, p) in SEGMENTS.items():
        truth = n * float(tail_mean(q, p, BOOK["rho"]))
        x = seg_loss.sel(segment=name).to_numpy()
        # the segment's ES estimate Σ w X 1{L > v} / (N(1 − q)): ratio-estimator error
        se = weighted_moments_se(x * (total > v), w)[1] / (1 - q) + es_se(total, w, v, q)
        got = float(contrib["es"].sel(segment=name, level=q))
        assert abs(got - truth) <= Z45 * se, (name, q, got, truth, se)


@pytest.mark.parametrize("q", LEVELS)
def test_large_pool_var_contributions_are_the_segment_losses_at_the_factor_quantile(
    two_segment_run, q
):
    result, contrib = two_segment_run
    w = result.weights
    total = result.data["loss_by_segment"].sum("segment").to_numpy()
    zq = stats.norm.ppf(1 - q)
    v = _total(zq)
    # the total VaR: Vasicek quantile of the mixture, error from the closed-form density
    dens = (_total(zq - 1e-5) - _total(zq + 1e-5)) / 2e-5  # dL/d(−z) at z_q
    se_v = quantile_se(total, w, v, stats.norm.pdf(zq) / dens)
    v_hat = float(contrib["total_var"].sel(level=q))
    assert abs(v_hat - v) <= Z45 * se_v
    # conditional on the estimated VaR, E[X_s | L = v̂] = N_s p_s(z*) with L(z*) = v̂ exactly
    # (the large-pool loss is a deterministic function of z); the kernel averages over a
    # window of ±3 bandwidths, inside which the shares move by at most `drift`
    h = float(contrib["bandwidth"].sel(level=q))

    def z_at(loss):
        return optimize.brentq(lambda z: _total(z) - loss, -12, 12, xtol=1e-12)

    for name, (n, p) in SEGMENTS.items():
        share = [n * cond_pd(z_at(x), p, BOOK["rho"]) / x for x in (v_hat - 3 * h, v_hat + 3 * h)]
        centre = n * cond_pd(z_at(v_hat), p, BOOK["rho"])
        drift = abs(share[1] - share[0]) * v_hat
        got = float(contrib["var"].sel(segment=name, level=q))
        assert abs(got - centre) <= drift + 1e-9 * v_hat, (name, q, got, centre, drift)


def test_large_pool_el_contributions_are_exact_in_expectation(two_segment_run):
    result, contrib = two_segment_run
    w = result.weights
    for name, (n, p) in SEGMENTS.items():
        x = result.data["loss_by_segment"].sel(segment=name).to_numpy()
        _, se, _, _ = weighted_moments_se(x, w)
        assert abs(float(contrib["expected"].sel(segment=name)) - n * p) <= Z45 * se


# --------------------------------------------------------------------------- synthetic
SHARE_A = 0.9
N_SYN = 40_000


@pytest.fixture(scope="module")
def synthetic():
    """Paths from the proposal (total ~ Exp(mean 3), fair coin) with their likelihood ratios."""
    rng = np.random.default_rng(20261201)
    total = rng.exponential(3.0, N_SYN)
    is_a = rng.random(N_SYN) < 0.5
    w_total = np.exp(-total) / (np.exp(-total / 3.0) / 3.0)
    w = w_total * np.where(is_a, SHARE_A / 0.5, (1 - SHARE_A) / 0.5)
    x = np.column_stack([np.where(is_a, total, 0.0), np.where(is_a, 0.0, total)])
    return x, w


def test_synthetic_weights_are_heavy_likelihood_ratios(synthetic):
    _, w = synthetic
    assert w.max() > 5.0 and w.min() < 1e-3
    assert abs(w.mean() - 1) <= Z45 * w.std(ddof=1) / math.sqrt(w.size)


@pytest.mark.parametrize("q", LEVELS)
def test_synthetic_euler_contributions_use_the_weights(synthetic, q):
    x, w = synthetic
    total = x.sum(axis=1)
    bandwidth = 0.05
    c = euler_contributions(x, weights=w, levels=[q], bandwidth=bandwidth)
    v = -math.log(1 - q)
    # the total's VaR and ES: Exp(1) closed forms, errors from the saved paths
    se_v = quantile_se(total, w, v, math.exp(-v))
    assert abs(float(c["total_var"][0]) - v) <= Z45 * se_v
    assert abs(float(c["total_es"][0]) - (v + 1)) <= Z45 * es_se(total, w, v, q)
    # EL of A: 0.9 E[L] = 0.9
    _, se_el, _, _ = weighted_moments_se(x[:, 0], w)
    assert abs(float(c["expected"][0]) - SHARE_A) <= Z45 * se_el
    # VaR: A's share of the kernel window at v̂ is a weighted coin: mean 0.9, binomial error on
    # the window's effective number of paths (computed here from the same kernel)
    v_hat = float(c["total_var"][0])
    k = w * np.exp(-0.5 * ((total - v_hat) / bandwidth) ** 2)
    ess = k.sum() ** 2 / np.sum(k**2)
    share = float(c["var"][0, 0]) / v_hat
    assert abs(share - SHARE_A) <= Z45 * math.sqrt(SHARE_A * (1 - SHARE_A) / ess), (share, ess)
    # ES of A: E[X_A 1{L > v}] / (1 − q) + 0.9 v β-atom; error of the tail sum plus the total's
    tail_a = x[:, 0] * (total > v)
    se_es = weighted_moments_se(tail_a, w)[1] / (1 - q) + es_se(total, w, v, q)
    assert abs(float(c["es"][0, 0]) - SHARE_A * (v + 1)) <= Z45 * se_es


def test_synthetic_risk_measures_under_heavy_weights(synthetic):
    """EL 1, std 1, VaR −ln(1 − q), ES 1 − ln(1 − q) of Exp(1), from the heavy-weighted paths."""
    x, w = synthetic
    total = x.sum(axis=1)
    rm_ = rm.risk_measures(total, weights=w, levels=LEVELS)
    _, se, _, se_std = weighted_moments_se(total, w)
    assert abs(rm_.expected - 1.0) <= Z45 * se
    # its standard error is the ratio estimator's (up to ddof: 1/(2N) relative)
    assert rm_.stderr_expected == pytest.approx(se, rel=1e-3)
    assert abs(rm_.std - 1.0) <= Z45 * se_std
    for q in LEVELS:
        v = -math.log(1 - q)
        assert abs(rm_.var[q] - v) <= Z45 * quantile_se(total, w, v, math.exp(-v))
        assert abs(rm_.es[q] - (v + 1)) <= Z45 * es_se(total, w, v, q)
