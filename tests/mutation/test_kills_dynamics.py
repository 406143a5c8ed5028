"""Tests that kill mutmut's survivors in `riskmodel.dynamics` (see docs/mutation.md).

Each checks a number against an oracle computed by another route: the Vasicek formula through
`scipy.stats.norm` in float64, explicit sums and products in Python floats, loops over cells.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from riskmodel import dynamics


def test_single_precision_correlations_give_double_precision_pds():
    # correlations read from a float32 posterior: p(Z) must still be exact in float64; the
    # oracle is the Vasicek formula in Python floats (rounding ~1e-16 relative, so 1e-12)
    rho32 = np.float32([0.12, 0.3])
    z = np.array([-2.5, 1.0])
    p = 0.02
    got = dynamics.conditional_pd(stats.norm.ppf(p), rho32, z)
    want = [
        stats.norm.cdf((stats.norm.ppf(p) - math.sqrt(float(r)) * zz) / math.sqrt(1 - float(r)))
        for r, zz in zip(rho32, z, strict=True)
    ]
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=0)


def test_single_precision_rates_give_double_precision_discount_factors():
    # float32 per-period rates: the factors are Π 1/(1 + r_u) in double precision
    rates = np.full(24, 0.01, dtype=np.float32)
    r = float(rates[0])
    want = [(1.0 + r) ** -(t + 1) for t in range(24)]
    np.testing.assert_allclose(dynamics.discount_factors(rates), want, rtol=1e-13, atol=0)


def test_remaining_discount_is_the_run_off_from_each_period():
    # Σ_{u ≥ t} df_u for every t, summed exactly (math.fsum) from the factors of 1 % a period
    df = [1.01 ** -(t + 1) for t in range(7)]
    want = [math.fsum(df[t:]) for t in range(7)]
    np.testing.assert_allclose(dynamics.remaining_discount(df), want, rtol=1e-14, atol=0)
    # float32 input still sums in double precision
    df32 = np.float32(df)
    want32 = [math.fsum(float(x) for x in df32[t:]) for t in range(7)]
    np.testing.assert_allclose(dynamics.remaining_discount(df32), want32, rtol=1e-14, atol=0)


def test_survivor_shares_of_certain_default_rows_are_zero_without_fp_warnings():
    # rows: an ordinary one, one that defaults surely (0/0), and one whose survivors hold only
    # rounding mass while its PD is clipped to 1 (x/0); the kernel runs with warnings as errors
    rows = np.array([[0.5, 0.3, 0.2], [0.0, 0.0, 1.0], [1e-17, 0.0, 1.0]])
    pd = np.array([0.2, 1.0, 1.0])
    with np.errstate(all="raise"):
        got = dynamics.survivor_shares(rows, pd, 2)
    want = [[0.5 / 0.8, 0.3 / 0.8, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]
    np.testing.assert_allclose(got, want, rtol=1e-15, atol=0)


def test_rest_scale_broadcasts_over_pds_and_factor_values():
    # PDs on one axis, conditional PDs on another: each cell is (1 − p(Z)) / (1 − p), 0 if p = 1
    pd = np.array([[0.1], [0.5], [1.0]])
    pd_z = np.array([0.2, 0.6])
    got = dynamics.rest_scale(pd, pd_z)
    assert got.shape == (3, 2)
    for i, p in enumerate(pd[:, 0]):
        for j, q in enumerate(pd_z):
            want = 0.0 if p == 1.0 else (1.0 - q) / (1.0 - p)
            assert got[i, j] == pytest.approx(want, rel=1e-15)
    # and a scalar factor value against a vector of PDs
    got = dynamics.rest_scale(np.array([0.1, 0.4]), np.array(0.25))
    np.testing.assert_allclose(got, [0.75 / 0.9, 0.75 / 0.6], rtol=1e-15)


@pytest.mark.parametrize(("m", "b"), [(0.45, 0.3), (0.2, 1.0)])
def test_downturn_lgd_averages_to_the_gaussian_closed_form(m, b):
    # E[Φ(a − bZ)] over Z ~ N(0, 1) is Φ(a / √(1 + b²)) (a Gaussian integral), a route that
    # never evaluates the formula at one Z; Gauss–Hermite with 80 nodes is exact to ~1e-14
    x, w = np.polynomial.hermite_e.hermegauss(80)
    mean = float(np.sum(w * dynamics.downturn_lgd(m, b, x)) / np.sqrt(2 * np.pi))
    want = stats.norm.cdf(stats.norm.ppf(m) / math.sqrt(1 + b * b))
    assert mean == pytest.approx(want, rel=1e-12)
    # a downturn (Z < 0) raises the LGD, a boom lowers it, by the probit shift b|Z|
    hi, lo = dynamics.downturn_lgd(m, b, np.array([-2.0, 2.0]))
    assert stats.norm.ppf(hi) - stats.norm.ppf(m) == pytest.approx(2 * b, rel=1e-10)
    assert stats.norm.ppf(m) - stats.norm.ppf(lo) == pytest.approx(2 * b, rel=1e-10)


def test_pd_derivatives_of_single_precision_inputs_are_double_precision():
    # float32 PDs and correlations (a float32 posterior or file): p, p' and p'' must be the
    # float64 formula of the float32 values. Oracle: Φ, φ through scipy.stats.norm on Python
    # floats; rounding ~1e-15 relative, float32 arithmetic would be ~1e-7 off, so rtol 1e-12
    pd32 = np.float32([0.02, 0.15])
    rho32 = np.float32([0.12, 0.3])
    x = np.array([-2.5, 1.0])
    p, dp, d2p = dynamics.vasicek_pd_derivatives(pd32, rho32, x)
    want_p, want_dp, want_d2p = [], [], []
    for q, r, xx in zip(pd32, rho32, x, strict=True):
        q, r = float(q), float(r)
        s = math.sqrt(r / (1.0 - r))
        u = (stats.norm.ppf(q) - math.sqrt(r) * xx) / math.sqrt(1.0 - r)
        want_p.append(stats.norm.cdf(u))
        want_dp.append(-s * stats.norm.pdf(u))
        want_d2p.append(-s * s * u * stats.norm.pdf(u))
    for got, want in ((p, want_p), (dp, want_dp), (d2p, want_d2p)):
        assert got.dtype == np.float64
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=0)
