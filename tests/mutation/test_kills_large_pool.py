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

from riskmodel.simulation.inputs import build_kernel_inputs
from riskmodel.simulation.large_pool import draw_effects, large_pool_loss, period_effects

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
