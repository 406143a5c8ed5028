"""Tests that kill mutmut's survivors in `riskmodel.metrics.granularity` and `granularity_exact`.

See docs/mutation.md. Oracles by other routes: the argument rules of the docstring written out
at their boundaries; float32 inputs against the float64 call; the exact VaR of books whose
quantile has a closed form (one name with a Beta or a fixed LGD: ``P(L > ℓ) = p · P(LGD > ℓ/E)``;
two equal fixed-LGD names: ``P(both default)`` is a bivariate normal probability).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, optimize, special, stats

from riskmodel.errors import ArgumentError
from riskmodel.metrics.granularity import granularity_adjustment
from riskmodel.metrics.granularity_exact import exact_pool_and_names_var

BOOK = {"pd": 0.02, "lgd_mean": 0.45, "lgd_sd": 0.2, "correlation": 0.12, "level": 0.999}


def ga(exposure=(1.0, 2.0), **kwargs):
    return granularity_adjustment(list(exposure), **{**BOOK, **kwargs})


@pytest.mark.parametrize(
    ("exposure", "kwargs", "match"),
    [
        (
            (-1.0, -2.0, -3.0, -4.0),
            {},
            r"`exposure` must be ≥ 0 and finite; got \[-1.0, -2.0, -3.0\]\.",
        ),
        ((1.0, -2.0), {}, r"got \[-2.0\]\. Fix these entries"),
        ([[1.0, 2.0]], {}, r"`exposure` must be a non-empty 1-D array"),
        ((1.0, 2.0), {"pd": 1.0}, r"`pd` must be in \(0, 1\)"),
        ((1.0, 2.0), {"pd": 1.5}, r"`pd` must be in \(0, 1\)"),
        (
            (1.0, 2.0),
            {"lgd_mean": 1.5, "lgd_sd": 0.0},
            r"`lgd_mean` must be in \[0, 1\]; got \[1.5, 1.5\]",
        ),
        ((1.0, 2.0), {"lgd_mean": -0.1, "lgd_sd": 0.0}, r"`lgd_mean` must be in \[0, 1\]"),
        (
            (1.0, 2.0),
            {"lgd_sd": 0.5, "lgd_mean": 0.5},
            r"`lgd_sd` must be 0 or positive with sd² < mean \(1 − mean\)",
        ),
        ((1.0, 2.0), {"correlation": 1.0}, r"`correlation` must be in \(0, 1\)"),
        ((1.0, 2.0), {"correlation": 1.5}, r"`correlation` must be in \(0, 1\)"),
        ((1.0, 2.0), {"level": 0.5}, r"`level` must be in \(0.5, 1\)"),
        ((1.0, 2.0), {"level": 1.0}, r"`level` must be in \(0.5, 1\)"),
        ((1.0, 2.0), {"level": 1.5}, r"`level` must be in \(0.5, 1\)"),
        ((1.0, 2.0), {"lgd_mean": 0.0, "lgd_sd": 0.0}, r"the book has no loss"),
        ((1.0, 0.0), {"lgd_mean": [0.0, 0.5], "lgd_sd": 0.0}, r"the book has no loss"),
        (
            (1.0, 2.0, 3.0),
            {"pd": [0.02, 0.03]},
            r"`pd` must be a scalar or a 1-D array .* \(3\); got shape \(2,\)",
        ),
        ((1.0, 2.0), {"pd": [[0.02, 0.02]]}, r"`pd` must be a scalar or a 1-D array"),
        ((1.0, 2.0), {"lgd_mean": [0.4, 0.4, 0.4]}, r"`lgd_mean` must be a scalar"),
        ((1.0, 2.0), {"lgd_sd": [0.1, 0.1, 0.1]}, r"`lgd_sd` must be a scalar"),
        ((1.0, 2.0), {"correlation": [0.1, 0.1, 0.1]}, r"`correlation` must be a scalar"),
        ((1.0, 2.0), {"customers": [1.0, 1.0, 1.0]}, r"`customers` must be a scalar"),
        ((1.0, 2.0), {"pd": np.nan}, r"`pd` must be finite"),
    ],
)
def test_each_rule_is_enforced_at_its_boundary_with_name_rule_and_values(exposure, kwargs, match):
    with pytest.raises(ArgumentError, match=match):
        ga(exposure, **kwargs)


def test_values_on_the_closed_side_of_each_boundary_are_accepted():
    # a zero exposure, lgd_mean 0 and 1, lgd_sd 0 beside a positive mean: all allowed
    assert ga((1.0, 0.0)).asrf_var > 0
    assert ga(lgd_mean=[0.0, 1.0], lgd_sd=0.0).asrf_var > 0
    assert ga(lgd_mean=1.0, lgd_sd=0.0).asrf_var > 0
    assert ga(pd=[0.02], lgd_mean=[0.45]).asrf_var > 0  # a one-element array broadcasts


def test_defaults_are_the_documented_ones():
    # lgd_sd 0, correlation 0.12, level 0.999 (the signature's documented defaults)
    got = granularity_adjustment([1.0, 2.0], 0.02, 0.45)
    want = granularity_adjustment([1.0, 2.0], 0.02, 0.45, 0.0, 0.12, 0.999)
    assert got == want
    assert got.level == 0.999


def test_single_precision_exposures_give_the_double_precision_adjustment():
    # float32 exposures must be used as float64 values (E² summed in double precision);
    # float32 products would be ~1e-7 off, rounding of the float64 route ~1e-15: rtol 1e-12
    e32 = np.float32([1.1, 2.3, 0.7])
    got = granularity_adjustment(e32, 0.02, 0.45, 0.2)
    want = granularity_adjustment([float(v) for v in e32], 0.02, 0.45, 0.2)
    np.testing.assert_allclose(got.adjustment, want.adjustment, rtol=1e-12, atol=0)
    np.testing.assert_allclose(got.asrf_var, want.asrf_var, rtol=1e-12, atol=0)


NO_POOL = (0.0, 0.02, 0.45)


@pytest.mark.parametrize("levels", [[0.985, 0.99, 0.995], [0.97, 0.98]])
def test_one_beta_lgd_name_has_the_closed_form_quantile(levels):
    # one name, no pool: P(L > ℓ) = p P(LGD > ℓ/E) with p the unconditional PD, so
    # VaR_q = E F⁻¹(1 − (1 − q)/p) for q > 1 − p. The lattice puts each Beta cell's mass at its
    # centre kδ and the quantile is a lattice point: |error| ≤ δ/2 (the x-quadrature of p is
    # accurate to ~1e-10 here); a shifted cell edge or a wrong Beta moves it by ≥ δ/2 at some level
    e, p, m, sd, cells = 2.0, 0.05, 0.45, 0.2, 257
    kappa = m * (1 - m) / sd**2 - 1
    want = [e * stats.beta.ppf(1 - (1 - q) / p, m * kappa, (1 - m) * kappa) for q in levels]
    got = exact_pool_and_names_var(NO_POOL, [(e, p, m)], 0.12, levels, lgd_sd=sd, cells=cells)
    delta = e / (cells - 1)
    assert got.dtype == np.float64
    np.testing.assert_array_less(np.abs(got - want), 0.5 * delta * (1 + 1e-6))


def test_fixed_lgd_names_have_their_loss_and_the_joint_default_probability():
    # two equal names, fixed LGD m, no pool: L ∈ {0, Em, 2Em}; P(L = 2Em) = P(both default) =
    # Φ₂(a, a; ρ), a = Φ⁻¹(p). Levels chosen 5e-4 inside each step (the quadrature error of the
    # probabilities is far below that): VaR = Em below 1 − Φ₂, 2Em above it
    e, p, m, rho = 1.0, 0.05, 0.45, 0.3
    a = stats.norm.ppf(p)
    both = stats.multivariate_normal([0, 0], [[1, rho], [rho, 1]]).cdf([a, a])
    levels = [1 - both - 5e-4, 1 - both + 5e-4]
    got = exact_pool_and_names_var(NO_POOL, [(e, p, m)] * 2, rho, levels, cells=2 * 9 + 1)
    # δ = 2/18 = 1/9; Em = 0.45 is 4.05 cells, rounded to 4δ: the documented lattice rounding
    delta = 2.0 / 18
    np.testing.assert_allclose(got, [4 * delta, 8 * delta], rtol=1e-6, atol=0)


def test_with_the_default_lattice_a_lattice_point_loss_is_exact():
    # the docstring: δ = Σ E_i / (cells − 1) with cells = 4096 by default, and a fixed loss on
    # a lattice point is exact. Two names of exposure 1 and LGD 0.4: Em = 0.4 = 819 δ. The
    # levels sit 5e-4 inside each step of the two-name law (as above), so VaR is Em or 2Em up to
    # Brent's tolerance 1e-9 × (Σ E + δ); another lattice (4097 cells: 819.2 cells, rounded to
    # 819, a loss 2.4e-4 too low) moves it by far more than rtol 1e-6
    e, p, m, rho = 1.0, 0.05, 0.4, 0.3
    a = stats.norm.ppf(p)
    both = stats.multivariate_normal([0, 0], [[1, rho], [rho, 1]]).cdf([a, a])
    levels = [1 - both - 5e-4, 1 - both + 5e-4]
    got = exact_pool_and_names_var(NO_POOL, [(e, p, m)] * 2, rho, levels)
    np.testing.assert_allclose(got, [e * m, 2 * e * m], rtol=1e-6, atol=0)


@pytest.mark.parametrize("pool_exposure", [0.5, 1.0, 40.0])
def test_a_pool_of_any_positive_exposure_has_its_vasicek_quantile(pool_exposure):
    # a pool alone (one name of 1e-9 of its exposure): VaR_q = E m Φ((Φ⁻¹(p) + √ρ Φ⁻¹(q))/√(1−ρ)),
    # to the quadrature's accuracy (the x grid's step 0.01: 5e-5 relative, as in
    # tests/metrics/test_granularity.py); exposures at and below 1 included
    p, m, rho, levels = 0.02, 0.45, 0.12, [0.99, 0.999]
    pool = (pool_exposure, p, m)
    got = exact_pool_and_names_var(pool, [(1e-9 * pool_exposure, p, m)], rho, levels)
    z = stats.norm.ppf(levels)
    want = (
        pool_exposure
        * m
        * stats.norm.cdf((stats.norm.ppf(p) + np.sqrt(rho) * z) / np.sqrt(1 - rho))
    )
    np.testing.assert_allclose(got, want, rtol=5e-5, atol=0)


def test_a_pool_and_one_fixed_lgd_name_against_adaptive_quadrature():
    # pool (E_P, p_P, m_P) and one name losing E₁m₁ on default, given the factor X: the pool
    # loses ≤ y iff X ≥ x*(y), so P(L ≤ ℓ) = P(X ≥ x*(ℓ)) − P(X ≥ x*(ℓ), D) + P(X ≥ x*(ℓ − E₁m₁), D)
    # with P(X ≥ c, D) = ∫_c^∞ φ(x) p₁(x) dx by adaptive quadrature (another route than the
    # trapezoid grid; the integrand is far from symmetric in x). E₁m₁ = 1 is 128 cells of
    # δ = 2/256 (no lattice error); the x grid's error bounds the difference: 5e-5 relative
    ep, pp, mp, e1, p1, m1, rho = 10.0, 0.02, 0.45, 2.0, 0.05, 0.5, 0.12
    sr, s1 = np.sqrt(rho), np.sqrt(1 - rho)

    def x_star(y):
        if y <= 0:
            return np.inf
        if y >= ep * mp:
            return -np.inf
        return (stats.norm.ppf(pp) - s1 * stats.norm.ppf(y / (ep * mp))) / sr

    a1, root = special.ndtri(p1), np.sqrt(2 * np.pi)

    def with_default(c):
        def p_x(x):
            return np.exp(-0.5 * x * x) / root * special.ndtr((a1 - sr * x) / s1)

        return integrate.quad(p_x, max(c, -12.0), 12.0, epsabs=1e-14, epsrel=1e-12)[0]

    def cdf(loss):
        c0, c1 = x_star(loss), x_star(loss - e1 * m1)
        return stats.norm.sf(c0) - with_default(c0) + with_default(c1)

    levels = [0.99, 0.999]
    want = [optimize.brentq(lambda v, q=q: cdf(v) - q, 1e-9, ep * mp, xtol=1e-12) for q in levels]
    got = exact_pool_and_names_var((ep, pp, mp), [(e1, p1, m1)], rho, levels, cells=257)
    np.testing.assert_allclose(got, want, rtol=5e-5, atol=0)
