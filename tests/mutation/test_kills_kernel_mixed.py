"""Kernel paths the first kernel kill tests left out (docs/mutation.md, `simulation-kernel`).

- a book mixing large-pool and binomial cohorts (`simulate_paths`' ``d_full`` / ``into``): the
  large-pool cohorts equal the oracle (`mutation_oracles.book_path`, one cohort at a time) path
  by path; what is left of each per-path total is the binomial cohort's, whole numbers of
  customers whose path means match the oracle within 5 Monte Carlo standard errors;
- per-period matrices and two posterior draws on the binomial path (`_Rates.seq`): the path
  means of each draw's paths match the oracle with that draw's matrices of each period;
- the importance tilt (`simulate_block(..., tilt=...)`): the factor path, recovered from the
  defaults of a one-cohort large-pool book, is the tilt's inverse CDF of ``Φ(ε)`` on the tilted
  paths and ``ε`` on the plain ones, and the weight is ``1 / (p + (1 − p) exp Σ_t λ_t(cell))``
  evaluated by scalar loops.

Tolerances: 5 standard errors (the sample's own), a false alarm ~6e-7 per comparison; the
deterministic parts to rounding (1e-10 relative).
"""

from __future__ import annotations

import bisect
import dataclasses
import math

import mutation_oracles as mo
import numpy as np
from scipy import stats

import riskmodel as rm
from riskmodel.simulation.inputs import build_kernel_inputs
from riskmodel.simulation.kernel import simulate_block
from riskmodel.simulation.tilt import factor_tilt

Z5 = 5.0
FIELDS = ("loss", "defaults", "churn", "margin")


def _within(x, want, label):
    """Path means of `x` (n, ...) within 5 standard errors of `want` (plus rounding)."""
    se = x.std(axis=0, ddof=1) / math.sqrt(len(x))
    gap = np.abs(x.mean(axis=0) - want)
    assert np.all(gap <= Z5 * se + 1e-9 * np.abs(want)), (label, gap, se)


def test_mixed_book_pool_cohorts_exact_binomial_cohort_on_average():
    # cohorts of 1,000 and 500 customers are large-pool (threshold 400), the 200 are binomial
    sc = mo.book(approximation="large_pool", pool_min=400)
    inp = build_kernel_inputs(sc)
    assert inp.large_pool.tolist() == [True, False, True]
    n = 20_000
    eps = np.tile(np.array([[-1.5, 0.5, -0.5, 1.0]]), (n, 1))
    out = simulate_block(inp, np.random.default_rng(11), n, eps=eps)
    z = np.asarray(sc.shift) + eps[0]
    mats = mo.mats_of(sc, 0)
    each = [mo.book_path(mats, mo.RHO, z, cohorts=[c]) for c in mo.COHORTS]
    pool = {f: each[0][f] + each[2][f] for f in (*FIELDS, "occupancy", "churn_value_lost")}
    binom = each[1]
    for c in (0, 2):
        np.testing.assert_allclose(
            out.loss_by_cohort[:, c], each[c]["loss"].sum(), rtol=1e-10, err_msg=str(c)
        )
    # loans (cohort 2, large-pool) alone; cards = cohort 0 (exact) + cohort 1 (binomial)
    np.testing.assert_allclose(out.loss_by_segment[:, 1], each[2]["loss"].sum(), rtol=1e-10)
    cards = out.loss_by_segment[:, 0] - each[0]["loss"].sum()
    np.testing.assert_allclose(cards, out.loss_by_cohort[:, 1], rtol=1e-9, atol=1e-6)
    _within(out.loss_by_cohort[:, 1:2], binom["loss"].sum(), "loss_by_cohort")
    margin_each = mo.COHORTS[1][4] / mo.COHORTS[1][2]  # per customer of the binomial cohort
    for f in FIELDS:
        rest = getattr(out, f) - pool[f]  # the binomial cohort's part, per path and period
        whole = rest if f in ("defaults", "churn") else rest / margin_each
        if f != "loss":  # customers: whole numbers
            np.testing.assert_allclose(whole, np.round(whole), rtol=0, atol=1e-6, err_msg=f)
        _within(rest, binom[f], f)
    binom_loss = (out.loss - pool["loss"]).sum(axis=1)  # over periods: the cohort's loss
    np.testing.assert_allclose(binom_loss, out.loss_by_cohort[:, 1], rtol=1e-9, atol=1e-6)
    _within(
        (out.churn_value_lost - pool["churn_value_lost"])[:, None], binom["churn_value_lost"], "cvl"
    )
    # occupancy: path sums; the binomial cohort's count in a state is Binomial(200, π) given the
    # path, variance ≤ its mean, so the sum over n paths has sd ≤ √(n · mean)
    occ = out.occupancy - n * pool["occupancy"]
    want = n * binom["occupancy"]
    assert np.all(np.abs(occ - want) <= Z5 * np.sqrt(want) + 1e-6 * n), occ - want


def _per_period_draws():
    """Two draws, matrices of period 2 with three times the churn and half the moves to watch."""
    sc = mo.with_draws(mo.book(horizon=2), rhos=(0.1, 0.3), bumps=(0.7, 1.5))
    base = np.asarray(sc.transitions)  # (D, S, K, K)
    tt = np.repeat(base[:, None], 2, axis=1)
    tt[:, 1, :, :2, 2] *= 3.0
    tt[:, 1, :, :2, 1] *= 0.5
    tt[:, 1, :, :2, 0] = 1.0 - tt[:, 1, :, :2, 1:].sum(axis=-1)
    assert np.all(tt >= 0)
    return dataclasses.replace(sc, transitions=tt), tt


def test_binomial_cohorts_read_period_and_draw_matrices(chain_kernel):
    sc, tt = _per_period_draws()
    inp = build_kernel_inputs(sc)
    assert not inp.large_pool.any() and inp.seq_prob.shape[:2] == (2, 2)
    n = 16_000
    eps = np.tile(np.array([[-1.0, 0.5]]), (n, 1))
    out = simulate_block(inp, np.random.default_rng(12), n, eps=eps)
    z = np.asarray(sc.shift) + eps[0]
    rhos = np.asarray(sc.correlation)
    for d in (0, 1):
        on = out.draw == d
        assert on.sum() > n // 3  # Bin(n, 1/2): far more than n/3
        mats = [{g: tt[d, t, k].tolist() for k, g in enumerate(sc.segments)} for t in (0, 1)]
        want = mo.book_path(mats, rhos[d], z)
        for f in FIELDS:
            _within(getattr(out, f)[on], want[f], f"{f} draw {d}")
        _within(out.loss_by_cohort[on], want["loss_by_cohort"], f"loss_by_cohort draw {d}")


def _tilt_oracle(tilt, eps, y):
    """Per path: tilted or not, the cell of each period's factor and the weight, by loops."""
    n, h = eps.shape
    edges = tilt.edges.tolist()
    weight = np.empty(n)
    tilted = np.zeros(n, dtype=bool)
    for i in range(n):
        tilted[i] = not np.allclose(y[i], eps[i], rtol=0, atol=1e-6)
        log_r = 0.0
        for t in range(h):
            if tilted[i]:  # the cell whose tilted probabilities bracket u = Φ(ε)
                u = stats.norm.cdf(eps[i, t])
                cell = bisect.bisect_right(tilt.cdf[t].tolist(), u)
                lo, hi = edges[cell], edges[cell + 1]
                assert lo - 1e-6 <= y[i, t] <= hi + 1e-6, (i, t, lo, y[i, t], hi)
            else:
                cell = bisect.bisect_right(edges, eps[i, t]) - 1
            log_r += float(tilt.log_ratio[t, cell])
        weight[i] = 1.0 / (tilt.p_plain + (1.0 - tilt.p_plain) * math.exp(log_r))
    return tilted, weight


def test_tilted_paths_follow_the_tilt_and_carry_its_weights():
    sc = mo.one_cohort_two_periods()
    inp = build_kernel_inputs(sc)
    tilt = factor_tilt(inp, 0.99)
    assert tilt is not None
    n = 400
    rng = np.random.default_rng(13)
    eps = rng.standard_normal((n, 2))
    out = simulate_block(inp, rng, n, eps=eps, tilt=tilt)
    y = mo.recover_y(out, sc)
    tilted, weight = _tilt_oracle(tilt, eps, y)
    # a path is tilted with probability 1 − p_plain = 0.9: Bin(400, 0.9) within 5 sd
    p = 1.0 - tilt.p_plain
    assert abs(tilted.sum() - n * p) <= Z5 * math.sqrt(n * p * (1 - p))
    # tilted towards the loss tail (negative factor): the tilted innovations are lower
    assert np.all(y[tilted].sum(axis=1) < eps[tilted].sum(axis=1))
    np.testing.assert_allclose(out.weight, weight, rtol=1e-9)
    # unbiased: E[w] = 1 under the sampling density (5 standard errors)
    assert abs(out.weight.mean() - 1.0) <= Z5 * out.weight.std(ddof=1) / math.sqrt(n)


def test_an_absorbing_state_that_is_neither_default_nor_churn():
    # without a churn state, "churned" is just absorbing: no churn and no churn run-off, its
    # occupancy the cumulative arrivals (large-pool cohorts: the oracle's, to rounding)
    sc = mo.book(approximation="large_pool", churn=False)
    inp = build_kernel_inputs(sc)
    assert inp.churn_idx == -1
    eps = np.array([[-2.0, -1.0, 0.0, 0.5], [0.3, 1.2, -0.4, -2.5]])
    out = simulate_block(inp, np.random.default_rng(14), len(eps), eps=eps)
    z = np.asarray(sc.shift) + eps
    occupancy = np.zeros((mo.HORIZON, 4))
    for i in range(len(eps)):
        want = mo.book_path(mo.mats_of(sc, 0), mo.RHO, z[i])
        for f in ("loss", "defaults", "margin"):
            np.testing.assert_allclose(getattr(out, f)[i], want[f], rtol=1e-10, err_msg=f)
        occupancy += want["occupancy"]
    assert np.all(out.churn == 0.0) and np.all(out.churn_value_lost == 0.0)
    np.testing.assert_allclose(out.occupancy, occupancy, rtol=1e-10)


def test_a_churn_state_listed_first():
    # the churn state at index 0 of the state list: churn, its run-off and its occupancy are
    # still recorded (large-pool cohorts: the oracle's, columns permuted)
    cfg = mo.book(approximation="large_pool").config.model_dump()
    order = [2, 0, 1, 3]  # churned, good, watch, defaulted
    cfg["states"]["names"] = [mo.STATES[j] for j in order]
    cfg["parameters"]["transitions"] = {
        g: [[row[j] for j in order] for row in rows] for g, rows in mo.ROWS.items()
    }
    sc = rm.scenario_from_dict(cfg)
    inp = build_kernel_inputs(sc)
    assert inp.churn_idx == 0
    eps = np.array([[-2.0, -1.0, 0.0, 0.5], [0.3, 1.2, -0.4, -2.5]])
    out = simulate_block(inp, np.random.default_rng(15), len(eps), eps=eps)
    z = np.asarray(sc.shift) + eps
    occupancy = np.zeros((mo.HORIZON, 4))
    for i in range(len(eps)):
        want = mo.book_path(mo.mats_of(mo.book(), 0), mo.RHO, z[i])
        for f in FIELDS:
            np.testing.assert_allclose(getattr(out, f)[i], want[f], rtol=1e-10, err_msg=f)
        np.testing.assert_allclose(out.churn_value_lost[i], want["churn_value_lost"], rtol=1e-10)
        occupancy += want["occupancy"][:, order]
    np.testing.assert_allclose(out.occupancy, occupancy, rtol=1e-10)
