"""Tests that kill mutmut's survivors in `riskmodel.simulation.large_pool` (see docs/mutation.md).

The oracle is a second, deliberately plain implementation of the large-pool limit
(`mutation_oracles.book_path`): scalar Python loops per cohort, period and state.
Both sides are deterministic: tolerances are rounding only (1e-10 relative).
"""

from __future__ import annotations

import dataclasses
import math

import mutation_oracles as mo
import numpy as np
import pytest
from scipy import stats

from riskmodel.simulation import large_pool as lp
from riskmodel.simulation.inputs import build_kernel_inputs
from riskmodel.simulation.large_pool import (
    AGGREGATE_MIN_COHORTS,
    draw_effects,
    large_pool_loss,
    period_effects,
)

STATES, COHORTS, HORIZON = mo.STATES, mo.COHORTS, mo.HORIZON
LGD, B = mo.LGD, mo.B


def _scenario():
    return mo.book()


def _with_draws(sc):
    return mo.with_draws(sc)


def oracle_loss(mats, rho, z):
    """E[L | z] by scalar loops (`mutation_oracles.book_path`)."""
    return float(mo.book_path(mats, rho, z)["loss"].sum())


def _mats(sc, d):
    return mo.mats_of(sc, d)


def _mean_mats(sc):
    return mo.mats_of(sc)


_ead_factor = mo.ead_factor


def test_large_pool_loss_is_the_conditional_expectation_along_each_path():
    sc = _scenario()
    inp = build_kernel_inputs(sc)
    z = np.array([[-2.0, -1.0, 0.0, 0.5], [0.3, 1.2, -0.4, -2.5], [0.0, 0.0, 0.0, 0.0]])
    got = large_pool_loss(inp, z)
    want = [oracle_loss(_mats(sc, 0), 0.15, row) for row in z]
    np.testing.assert_allclose(got, want, rtol=1e-10)


def test_each_path_uses_its_posterior_draw_and_the_mean_otherwise():
    sc = _with_draws(_scenario())
    inp = build_kernel_inputs(sc)
    z = np.array([[-2.0, -1.0, 0.0, 0.5], [0.3, 1.2, -0.4, -2.5], [-1.0, 0.5, 0.5, 0.5]])
    draws = np.array([2, 0, 1])
    got = large_pool_loss(inp, z, draws=draws)
    rhos = np.asarray(sc.correlation)
    want = [oracle_loss(_mats(sc, d), rhos[d], row) for d, row in zip(draws, z, strict=True)]
    np.testing.assert_allclose(got, want, rtol=1e-10)
    # without draws: the posterior-mean matrices and the mean correlation
    got = large_pool_loss(inp, z)
    want = [oracle_loss(_mean_mats(sc), float(rhos.mean()), row) for row in z]
    np.testing.assert_allclose(got, want, rtol=1e-10)


def test_period_effects_are_one_period_moves_of_the_oracle_loss():
    sc = _scenario()
    inp = build_kernel_inputs(sc)
    grid = np.array([-2.5, -0.7, 0.0, 1.4])
    got = period_effects(inp, grid)
    shift = np.asarray(inp.shift, dtype=float)
    mats = _mats(sc, 0)
    base = oracle_loss(mats, 0.15, shift)
    want = np.empty((HORIZON, len(grid)))
    for t in range(HORIZON):
        for g, y in enumerate(grid):
            z = shift.copy()
            z[t] += y
            want[t, g] = oracle_loss(mats, 0.15, z) - base
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9 * base)


def test_draw_effects_are_each_draws_central_loss_minus_the_mean_models():
    sc = _with_draws(_scenario())
    inp = build_kernel_inputs(sc)
    rhos = np.asarray(sc.correlation)
    for path in (None, np.array([-1.5, -1.5, 0.0, 1.0])):
        z = np.asarray(inp.shift, dtype=float) if path is None else path
        got = draw_effects(inp, path)
        mean = oracle_loss(_mean_mats(sc), float(rhos.mean()), z)
        want = [oracle_loss(_mats(sc, d), rhos[d], z) - mean for d in range(3)]
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9 * mean)
    # a single draw has no draw effect
    assert draw_effects(build_kernel_inputs(_scenario())).tolist() == [0.0]


@pytest.mark.parametrize("horizon", [1, 3])
def test_time_varying_matrices_are_used_period_by_period(horizon):
    # a shock that differs per period (transitions of shape (D, T, S, K, K)) must be read at t
    sc = _scenario()
    base = np.asarray(sc.transitions)
    if base.ndim != 4:
        pytest.skip("scenario matrices already per period")
    tt = np.repeat(base[:, None], HORIZON, axis=1)  # (D, T, S, K, K)
    scale = [1.0, 2.0, 0.5, 1.5]
    for t in range(HORIZON):
        tt[0, t, :, :2, 3] *= scale[t]
        tt[0, t, :, :2, 0] = 1.0 - tt[0, t, :, :2, 1:].sum(axis=-1)
    shocked = dataclasses.replace(sc, transitions=tt)
    inp = build_kernel_inputs(shocked)
    z = np.array([[-1.0, 0.5, 0.2, -0.3]])[:, :horizon]
    got = large_pool_loss(inp, z)

    # oracle: the loop above with period t's matrices
    norm = stats.norm
    total = 0.0
    for seg, state, n, exposure, _ in COHORTS:
        si = list(shocked.segments).index(seg)
        occ = [0.0] * 4
        occ[STATES.index(state)] = float(n)
        for t in range(horizon):
            p_mat = tt[0, t, si]
            zt = z[0, t]
            lgd_t = norm.cdf(norm.ppf(LGD) - B * zt)
            new = [0.0, 0.0, occ[2], occ[3]]
            for i in (0, 1):
                p = p_mat[i][3]
                pz = norm.cdf((norm.ppf(p) - math.sqrt(0.15) * zt) / math.sqrt(0.85))
                total += occ[i] * pz * exposure / n * _ead_factor(t) * lgd_t
                for j in range(4):
                    new[j] += occ[i] * (pz if j == 3 else p_mat[i][j] * (1 - pz) / (1 - p))
            occ = new
    np.testing.assert_allclose(got, [total], rtol=1e-10)


def test_without_downturn_and_with_zero_lgd():
    # no downturn: the LGD stays at its mean; LGD 0 with a downturn: no loss at all
    z = np.array([[-2.0, -1.0, 0.0, 0.5], [0.3, 1.2, -0.4, -2.5]])
    sc = mo.book(downturn=0.0)
    got = large_pool_loss(build_kernel_inputs(sc), z)
    want = [mo.book_path(_mats(sc, 0), 0.15, row, downturn=0.0)["loss"].sum() for row in z]
    np.testing.assert_allclose(got, want, rtol=1e-10)
    sc0 = mo.book(lgd_mean=0.0)
    assert large_pool_loss(build_kernel_inputs(sc0), z).tolist() == [0.0, 0.0]


def test_two_period_shock_path_with_posterior_draws():
    # transitions per period (T = H = 2) and per draw: each path reads period t of its draw
    sc = mo.with_draws(mo.book(horizon=2))
    base = np.asarray(sc.transitions)  # (D, S, K, K)
    tt = np.repeat(base[:, None], 2, axis=1)
    tt[:, 1, :, :2, 3] *= 2.0
    tt[:, 1, :, :2, 0] = 1.0 - tt[:, 1, :, :2, 1:].sum(axis=-1)
    shocked = dataclasses.replace(sc, transitions=tt)
    inp = build_kernel_inputs(shocked)
    z = np.array([[-1.0, 0.5], [0.3, -2.0], [1.0, 1.0]])
    draws = np.array([1, 2, 0])
    rhos = np.asarray(sc.correlation)

    def path_loss(mats_t, rho, zz):
        # period by period with its own matrices: run the oracle one period at a time
        total, occ_cohorts = 0.0, None
        cohorts = list(mo.COHORTS)
        for t in range(2):
            mats = {g: mats_t[t][k].tolist() for k, g in enumerate(shocked.segments)}
            out = []
            for c, (seg, state, n, exposure, _margin) in enumerate(cohorts):
                start = [0.0] * 4 if occ_cohorts is None else occ_cohorts[c]
                if occ_cohorts is None:
                    start[mo.STATES.index(state)] = float(n)
                res = _one_period(mats[seg], rho, zz[t], start, exposure / n, t)
                total += res[0]
                out.append(res[1])
            occ_cohorts = out
        return total

    for i, d in enumerate(draws):
        want = path_loss(tt[d], rhos[d], z[i])
        np.testing.assert_allclose(
            large_pool_loss(inp, z[i : i + 1], draws=draws[i : i + 1]), [want], rtol=1e-10
        )
    mean_t = tt.mean(axis=0)
    for i in range(3):
        want = path_loss(mean_t, float(rhos.mean()), z[i])
        np.testing.assert_allclose(large_pool_loss(inp, z[i : i + 1]), [want], rtol=1e-10)


def _one_period(p_mat, rho, zt, occ, ead, t):
    """Loss of one period and the occupancy after it (scalar loops, as `book_path`)."""
    norm = stats.norm
    lgd_t = norm.cdf(norm.ppf(LGD) - B * zt)
    new = [0.0, 0.0, occ[2], occ[3]]
    loss = 0.0
    for i in (0, 1):
        p = p_mat[i][3]
        pz = norm.cdf((norm.ppf(p) - math.sqrt(rho) * zt) / math.sqrt(1 - rho))
        loss += occ[i] * pz * ead * _ead_factor(t) * lgd_t
        for j in range(4):
            new[j] += occ[i] * (pz if j == 3 else p_mat[i][j] * (1 - pz) / (1 - p))
    return loss, new


def test_two_draws_have_draw_effects():
    sc = mo.with_draws(mo.book(), rhos=(0.1, 0.3), bumps=(0.7, 1.5))
    inp = build_kernel_inputs(sc)
    z = np.asarray(inp.shift, dtype=float)
    rhos = np.asarray(sc.correlation)
    mean = oracle_loss(_mean_mats(sc), float(rhos.mean()), z)
    want = [oracle_loss(_mats(sc, d), rhos[d], z) - mean for d in range(2)]
    np.testing.assert_allclose(draw_effects(inp), want, rtol=1e-9, atol=1e-9 * mean)


def _unit_loss(sc, d, rho, z, seg, state):
    """Oracle loss of one customer of (`seg`, `state`) per unit of exposure along `z`."""
    cohort = [(seg, state, 1, 1.0, 0.0)]
    return float(
        mo.book_path(_mats(sc, d) if d is not None else _mean_mats(sc), rho, z, cohorts=cohort)[
            "loss"
        ].sum()
    )


def _oracle_by_exposure(sc, cohorts, d, rho, z):
    """The large-pool loss is linear in each cohort's exposure: Σ_c e_c · (unit loss)."""
    units = {}
    total = 0.0
    for seg, state, _n, exposure, _m in cohorts:
        if (seg, state) not in units:
            units[seg, state] = _unit_loss(sc, d, rho, z, seg, state)
        total += exposure * units[seg, state]
    return total


@pytest.mark.parametrize("cohorts", [COHORTS, [COHORTS[2], ("loans", "good", 700, 1.4e6, 0.0)]])
def test_aggregated_rows_give_the_oracle_loss_and_effects(cohorts):
    # one exposure-weighted row per segment (`aggregate=True`): the same expectations as the
    # per-cohort oracle, also when a segment of the matrices holds no cohort (second case)
    sc = _with_draws(mo.book(cohorts=cohorts))
    inp = build_kernel_inputs(sc)
    rhos = np.asarray(sc.correlation)
    z = np.array([[-2.0, -1.0, 0.0, 0.5], [0.3, 1.2, -0.4, -2.5]])
    mean_rho = float(rhos.mean())
    got = large_pool_loss(inp, z, aggregate=True)
    want = [_oracle_by_exposure(sc, cohorts, None, mean_rho, row) for row in z]
    np.testing.assert_allclose(got, want, rtol=1e-10)
    draws = np.array([2, 0])
    got = large_pool_loss(inp, z, draws=draws, aggregate=True)
    want = [
        _oracle_by_exposure(sc, cohorts, d, rhos[d], row) for d, row in zip(draws, z, strict=True)
    ]
    np.testing.assert_allclose(got, want, rtol=1e-10)
    shift = np.asarray(inp.shift, dtype=float)
    base = _oracle_by_exposure(sc, cohorts, None, mean_rho, shift)
    grid = np.array([-2.0, 0.0, 1.0])
    want = np.empty((HORIZON, len(grid)))
    for t in range(HORIZON):
        for g, y in enumerate(grid):
            zz = shift.copy()
            zz[t] += y
            want[t, g] = _oracle_by_exposure(sc, cohorts, None, mean_rho, zz) - base
    got = period_effects(inp, grid, aggregate=True)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9 * base)
    want = [_oracle_by_exposure(sc, cohorts, d, rhos[d], shift) - base for d in range(3)]
    np.testing.assert_allclose(draw_effects(inp, aggregate=True), want, rtol=1e-9, atol=1e-9 * base)


def test_aggregation_starts_at_a_thousand_cohorts():
    # the docstring's contract: below AGGREGATE_MIN_COHORTS the per-cohort sums, bit for bit
    # (the golden outputs rely on it), from it the aggregated rows; the two orders differ in the
    # last bits here (checked), so bit equality tells which one ran
    z = np.array([[-2.0, -1.0, 0.0, 0.5], [0.3, 1.2, -0.4, -2.5], [-1.0, 0.5, 0.5, 0.5]])
    copies = [
        (s, st, n + k % 7, e * (1 + k % 5), m) for k in range(334) for (s, st, n, e, m) in COHORTS
    ]
    assert AGGREGATE_MIN_COHORTS == 1000
    for cohorts, aggregated in ((COHORTS, False), (copies[:999], False), (copies[:1000], True)):
        inp = build_kernel_inputs(mo.book(cohorts=cohorts))
        per_cohort = large_pool_loss(inp, z, aggregate=False)
        rows = large_pool_loss(inp, z, aggregate=True)
        assert not np.array_equal(per_cohort, rows)  # the test can tell them apart
        np.testing.assert_array_equal(large_pool_loss(inp, z), rows if aggregated else per_cohort)
        np.testing.assert_allclose(rows, per_cohort, rtol=1e-10)
    # 1,000 cohorts in 1,000 segments: aggregating would not reduce the work, so it does not
    inp = build_kernel_inputs(mo.book(cohorts=copies[:1000]))
    own = np.asarray(inp.cohort_segment)
    inp = dataclasses.replace(
        inp,
        cohort_segment=np.arange(len(own), dtype=np.intp),
        n_segments=len(own),
        probit_pd=inp.probit_pd[:, :, own],
        seq_prob=inp.seq_prob[:, :, own],
        surv_prob=inp.surv_prob[:, :, own],
        transitions_mean=inp.transitions_mean[:, own],
    )
    per_cohort = large_pool_loss(inp, z, aggregate=False)
    assert not np.array_equal(per_cohort, large_pool_loss(inp, z, aggregate=True))
    np.testing.assert_array_equal(large_pool_loss(inp, z), per_cohort)


def test_the_aggregate_option_is_passed_on(monkeypatch):
    # `aggregate` only changes the summation order (bits), so check that each function hands it
    # on: to `_pool` (large_pool_loss, period_effects) and to large_pool_loss (draw_effects)
    inp = build_kernel_inputs(_with_draws(_scenario()))
    seen = []
    real_pool, real_loss = lp._pool, lp.large_pool_loss

    def pool(inp_, aggregate=None):
        seen.append(("pool", aggregate))
        return real_pool(inp_, aggregate)

    def loss(*args, **kwargs):
        seen.append(("loss", kwargs.get("aggregate", "missing")))
        return real_loss(*args, **kwargs)

    monkeypatch.setattr(lp, "_pool", pool)
    for flag in (True, False):
        seen.clear()
        lp.large_pool_loss(inp, inp.shift[None], aggregate=flag)
        lp.period_effects(inp, np.array([-1.0, 1.0]), aggregate=flag)
        assert seen == [("pool", flag), ("pool", flag)]
    monkeypatch.setattr(lp, "large_pool_loss", loss)
    for flag in (True, False):
        seen.clear()
        lp.draw_effects(inp, aggregate=flag)
        assert [x for x in seen if x[0] == "loss"] == [("loss", flag), ("loss", flag)]
        assert [x for x in seen if x[0] == "pool"] == [("pool", flag), ("pool", flag)]


def test_large_pool_step_rates_and_conditional_matrices_per_cohort():
    # `large_pool_step` at factor values z_t: the expected loss per customer of each cohort and
    # transient state (Vasicek PD x exposure x amortisation x downturn LGD) and the conditional
    # matrices, against scalar loops; with draws, each value uses its draw's matrices and rho
    sc = _with_draws(_scenario())
    inp = build_kernel_inputs(sc)
    rhos = np.asarray(sc.correlation)
    z_t = np.array([-1.5, 0.0, 0.8])
    t = 1
    norm = stats.norm
    for draws in (None, np.array([2, 0, 1])):
        rate, cond = lp.large_pool_step(inp, t, z_t, draws)
        assert rate.shape == (3, len(COHORTS), 4) and cond.shape == (3, len(COHORTS), 4, 4)
        for m, zt in enumerate(z_t):
            mats = _mean_mats(sc) if draws is None else _mats(sc, draws[m])
            rho = float(rhos.mean()) if draws is None else rhos[draws[m]]
            lgd_t = norm.cdf(norm.ppf(LGD) - B * zt)
            for c, (seg, _state, n, exposure, _margin) in enumerate(COHORTS):
                want = np.eye(4)
                want_rate = np.zeros(4)
                for i in (0, 1):
                    p = mats[seg][i][3]
                    pz = norm.cdf((norm.ppf(p) - math.sqrt(rho) * zt) / math.sqrt(1 - rho))
                    want[i] = [mats[seg][i][j] * (1 - pz) / (1 - p) for j in range(4)]
                    want[i, 3] = pz
                    want_rate[i] = pz * exposure / n * _ead_factor(t) * lgd_t
                np.testing.assert_allclose(cond[m, c], want, rtol=1e-10, atol=1e-15)
                np.testing.assert_allclose(rate[m, c], want_rate, rtol=1e-10, atol=0)
    # per cohort also from AGGREGATE_MIN_COHORTS cohorts on (never the aggregated rows)
    many = [(s, st, n + k % 7, e, m) for k in range(334) for (s, st, n, e, m) in COHORTS][:1000]
    inp = build_kernel_inputs(mo.book(cohorts=many))
    rate, cond = lp.large_pool_step(inp, 0, z_t[:1])
    assert rate.shape == (1, 1000, 4) and cond.shape == (1, 1000, 4, 4)
    for c in (0, 1, 2, 999):  # copies of the three cohorts, same matrices
        np.testing.assert_array_equal(cond[0, c], cond[0, c % 3])
