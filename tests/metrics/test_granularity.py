"""The granularity adjustment (GA) against finite differences, its 1/N law, an exact reference
and the engine.

The book of the engine checks: one period, PD 2%, asset correlation 0.12, LGD mean 45% (fixed,
then Beta with sd 20%), total exposure 1e9: a pool of 10⁵ customers plus 20 single names of
0.5% … 1.5% of the book (cohorts of one customer, each with its own default draw).

Oracles and tolerances:

- ``exact_pool_and_names_var`` (convolution of the names given the factor, quadrature over the
  factor, the pool in its large-pool limit) is the oracle of the engine. Its numerical error,
  measured against the Vasicek closed form for a pool alone and by halving its grid steps, is
  below 5e-5 of the VaR (3.1e-5 measured); the pool's own idiosyncratic noise, which it leaves
  out, moves the quantile by the pool's GA, 2.0e-4 of the VaR here (10⁵ customers; checked
  below). Both are allowed for as ``REF_REL = 5e-4`` of the VaR, far below the Monte Carlo
  error (about 3.5e-3 of the VaR).
- Engine vs reference: ``K_SE = 4`` standard errors of the importance-sampled VaR as the run
  reports them (two-sided 6e-5 false alarm per comparison under normality) + the reference's.
- GA vs reference: the GA is the first term of an expansion in the names' size ``s``; the GA is
  of order ``s²`` and the remainder of order ``s³`` (the third conditional cumulant). The test
  checks that order: halving the names divides the remainder by 8 (within [6, 10.5]: the s⁴ term
  and the reference's 1e-4 error move the ratio by under 20% at these sizes), where a wrong GA
  would leave a remainder of order ``s²`` (ratio 4). The engine's VaR minus the ASRF VaR is then
  checked against the GA within ``K_SE`` standard errors plus that remainder, computed exactly.
"""

from __future__ import annotations

import functools
import math
import warnings

import numpy as np
import pytest
from scipy.special import ndtr, ndtri

import riskmodel as rm
from riskmodel.metrics.granularity import (
    GranularityAdjustment,
    granularity_adjustment,
    vasicek_pd_derivatives,
)
from riskmodel.metrics.granularity_exact import exact_pool_and_names_var
from riskmodel.metrics.risk import RiskMeasures

PD, RHO, LGD = 0.02, 0.12, 0.45
TOTAL = 1.0e9
NAMES = np.linspace(0.005, 0.015, 20) * TOTAL  # the 20 large names (20% of the book)
POOL_CUSTOMERS = 100_000
LEVELS = (0.99, 0.999)
K_SE = 4.0
REF_REL = 5e-4


def vasicek_var(q: float) -> float:
    return TOTAL * LGD * float(ndtr((ndtri(PD) + math.sqrt(RHO) * ndtri(q)) / math.sqrt(1 - RHO)))


def book_ga(names: np.ndarray, q: float, sd: float = 0.0) -> GranularityAdjustment:
    exposure = np.r_[names, TOTAL - names.sum()]
    customers = np.r_[np.ones(names.size), POOL_CUSTOMERS]
    return granularity_adjustment(exposure, PD, LGD, sd, RHO, q, customers=customers)


@functools.cache
def _reference(scale: float, sd: float) -> tuple[float, ...]:
    names = NAMES * scale
    rows = np.c_[names, np.full(names.size, PD), np.full(names.size, LGD)]
    pool = (TOTAL - names.sum(), PD, LGD)
    return tuple(exact_pool_and_names_var(pool, rows, RHO, LEVELS, lgd_sd=sd))


def reference(scale: float, sd: float = 0.0) -> tuple[float, ...]:
    """Exact VaR per level of the book with its names scaled by `scale` (cached: ~2 s each)."""
    return _reference(scale, sd)


# (a) analytic derivatives ------------------------------------------------------------------


@pytest.mark.parametrize("x", [-4.0, -3.09, -1.0, 0.0, 2.0])
def test_pd_derivatives_match_finite_differences(x):
    """Central differences with step 1e-4 err by ~h² |p'''| / 6 < 1e-9: rtol 1e-6 is wide."""
    h = 1e-4
    p = lambda v: float(vasicek_pd_derivatives(PD, RHO, v)[0])  # noqa: E731
    _, dp, d2p = vasicek_pd_derivatives(PD, RHO, x)
    assert float(dp) == pytest.approx((p(x + h) - p(x - h)) / (2 * h), rel=1e-6, abs=1e-12)
    fd2 = (p(x + h) - 2 * p(x) + p(x - h)) / h**2  # rounding ~ 1e-16 / h² = 1e-8
    assert float(d2p) == pytest.approx(fd2, rel=1e-4, abs=1e-7)


@pytest.mark.parametrize("sd", [0.0, 0.2])
def test_ga_is_the_finite_difference_of_the_martin_wilde_form(sd):
    """GA = −1/(2h) d/dx[h σ²/μ'] at x_q, the derivative taken numerically from p alone."""
    e = np.linspace(1.0, 3.0, 7)
    pds = np.linspace(0.005, 0.05, 7)

    def inner(x: float) -> float:
        hh = math.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
        p = vasicek_pd_derivatives(pds, RHO, x)[0]
        sigma2 = float(np.sum(e**2 * (LGD**2 * p * (1 - p) + sd**2 * p)))
        d = 1e-5  # μ' by central difference too
        mu = lambda v: float(np.sum(e * LGD * vasicek_pd_derivatives(pds, RHO, v)[0]))  # noqa: E731
        return hh * sigma2 / ((mu(x + d) - mu(x - d)) / (2 * d))

    for q in LEVELS:
        ga = granularity_adjustment(e, pds, LGD, sd, RHO, q)
        x, h = ga.factor_quantile, 1e-3  # nested differences: error ~ 1e-6 relative
        hq = math.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
        fd = -(inner(x + h) - inner(x - h)) / (2 * h) / (2 * hq)
        assert ga.adjustment == pytest.approx(fd, rel=1e-5)
        u = (ndtri(pds) + math.sqrt(RHO) * ndtri(q)) / math.sqrt(1 - RHO)
        assert ga.asrf_var == pytest.approx(float(np.sum(e * LGD * ndtr(u))), rel=1e-12)


# (b) fine-grained books ----------------------------------------------------------------------


def test_ga_scales_as_one_over_n():
    """N equal names of 1/N: μ is unchanged and σ² = N (1/N)² (…) = (…)/N, so GA·N is constant."""
    gas = {
        n: granularity_adjustment(np.full(n, 1.0 / n), PD, LGD, 0.2, RHO, 0.999)
        for n in (10, 100, 10_000)
    }
    for n, ga in gas.items():
        assert ga.asrf_var == pytest.approx(gas[10].asrf_var, rel=1e-12)
        assert ga.adjustment * n == pytest.approx(gas[10].adjustment * 10, rel=1e-10)
        assert ga.adjustment > 0
    # a pool of n customers is n equal names
    pool = granularity_adjustment([1.0], PD, LGD, 0.2, RHO, 0.999, customers=100)
    assert pool.adjustment == pytest.approx(gas[100].adjustment, rel=1e-12)


def test_reference_of_a_pool_alone_is_the_vasicek_quantile():
    ref = exact_pool_and_names_var((TOTAL, PD, LGD), [(1e-9 * TOTAL, PD, LGD)], RHO, LEVELS)
    for v, q in zip(ref, LEVELS, strict=True):
        assert v == pytest.approx(vasicek_var(q), rel=REF_REL / 10)


# (c) the exact reference and the engine ----------------------------------------------------


@pytest.mark.parametrize("sd", [0.0, 0.2])
def test_ga_remainder_is_third_order(sd):
    full, half = reference(1.0, sd), reference(0.5, sd)
    for i, q in enumerate(LEVELS):
        r_full = full[i] - book_ga(NAMES, q, sd).var
        r_half = half[i] - book_ga(NAMES / 2, q, sd).var
        assert 6.0 <= r_full / r_half <= 10.5, (q, r_full, r_half)
        # the remainder is small at these sizes (measured 8–14% of the GA), and shrinks with s
        assert abs(r_full) < 0.2 * book_ga(NAMES, q, sd).adjustment


def engine_book(names: np.ndarray, sd: float) -> rm.Scenario:
    cohorts = [{"segment": "b", "state": "ok", "customers": POOL_CUSTOMERS,
                "exposure": float(TOTAL - names.sum())}]  # fmt: skip
    cohorts += [
        {"segment": "b", "state": "ok", "customers": 1, "exposure": float(e)} for e in names
    ]
    cfg = {
        "name": "granularity",
        "horizon": 1,
        "paths": 1000,
        "seed": 1,
        "states": {
            "names": ["ok", "defaulted"],
            "absorbing": ["defaulted"],
            "default": "defaulted",
        },
        "portfolio": {"cohorts": cohorts},
        "parameters": {"transitions": {"b": [[1 - PD, PD]]}},
        "systematic": {"correlation": RHO},
        "lgd": {"mean": LGD, "sd": sd},
        "outputs": {"levels": list(LEVELS)},
    }
    return rm.scenario_from_dict(cfg)


def run(sc: rm.Scenario, seed: int) -> RiskMeasures:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = rm.simulate(sc, paths=65_536, seed=seed, progress=False)
    assert res.data.attrs["importance_sampling"] == 1
    return res.risk(levels=LEVELS)


@pytest.mark.parametrize("sd", [0.0, 0.2])
def test_engine_single_names_match_reference_and_ga(sd):
    m = run(engine_book(NAMES, sd), seed=11)
    ref = reference(1.0, sd)
    for i, q in enumerate(LEVELS):
        tol = K_SE * m.stderr_var[q] + REF_REL * ref[i]
        assert abs(m.var[q] - ref[i]) <= tol, (q, m.var[q], ref[i])
        ga = book_ga(NAMES, q, sd)
        remainder = abs(ref[i] - ga.var)  # exact second-and-higher-order error of the GA
        assert abs(m.var[q] - ga.asrf_var - ga.adjustment) <= tol + remainder
        # the granularity effect is resolved: the names' VaR exceeds the ASRF VaR
        assert m.var[q] - ga.asrf_var > K_SE * m.stderr_var[q]


def test_same_exposure_in_the_pool_has_no_granularity_effect():
    m = run(engine_book(np.zeros(0), 0.2), seed=13)
    for q in LEVELS:
        pool_ga = granularity_adjustment([TOTAL], PD, LGD, 0.2, RHO, q, customers=POOL_CUSTOMERS)
        assert pool_ga.adjustment < 2.5e-4 * pool_ga.asrf_var
        assert abs(m.var[q] - vasicek_var(q)) <= K_SE * m.stderr_var[q] + REF_REL * vasicek_var(q)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"pd": [0.02, 0.0]}, "`pd` must be in \\(0, 1\\)"),
        ({"pd": [0.02, 0.02, 0.02]}, "one value per name \\(2\\)"),
        ({"lgd_sd": 0.6}, "`lgd_sd`"),
        ({"correlation": 0.0}, "`correlation` must be in \\(0, 1\\)"),
        ({"level": 0.3}, "`level` must be in \\(0.5, 1\\); got 0.3"),
        ({"customers": 0.5}, "`customers` must be ≥ 1"),
    ],
)
def test_bad_arguments_are_refused_with_the_value(kwargs, match):
    args = {"pd": 0.02, "lgd_mean": LGD, "lgd_sd": 0.2, "correlation": RHO, "level": 0.999}
    with pytest.raises(rm.errors.ArgumentError, match=match):
        granularity_adjustment([1.0, 2.0], **{**args, **kwargs})
