"""``sensitivity.json`` (tornado and Sobol) against closed forms of the one-period book.

With one period, EAD 1 and a fixed LGD ``m``, the book's expected loss is ``N p m``, its ECL
``N p m df`` and its value ``M df (1 − p − c)`` (independent of ``m`` and ρ), while the loss
quantile is ``N m Vasicek_q(ρ)`` and its tail mean ``N m Φ₂(·)/(1 − q)``. Every tornado value
is therefore a closed form, and so are the Sobol indices of the exact metrics: the expected
loss moves with the LGD mean only (first-order index 1, correlation's total index 0).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import yaml
from oracle_builders import (
    BOOK,
    Z45,
    book_constants,
    cond_pd,
    fraction_pdf,
    one_period_book,
    tail_mean,
    vasicek_quantile,
)
from scipy import integrate, stats
from scipy.stats import qmc

from riskmodel.cli import main

pytestmark = pytest.mark.filterwarnings("ignore::riskmodel.errors.TailResolutionWarning")

K = book_constants()
LGD = 0.5
FACTORS = {"lgd.mean": (0.3, 0.6), "systematic.correlation": (0.1, 0.2)}
TORNADO_PATHS = 20_000


def _write(tmp_path, sens: dict, name: str) -> dict:
    cfg = one_period_book(levels=(0.99,))
    cfg["lgd"] = {"mean": LGD, "sd": 0.0}
    scenario = tmp_path / f"{name}.yaml"
    scenario.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    config = tmp_path / f"{name}-sens.yaml"
    config.write_text(yaml.safe_dump(sens), encoding="utf-8")
    out = tmp_path / f"{name}-out"
    assert main(["sensitivity", str(scenario), "--config", str(config), "--out", str(out)]) == 0
    return json.loads((out / "sensitivity.json").read_text(encoding="utf-8"))


def _factors():
    return [{"name": k, "low": lo, "high": hi} for k, (lo, hi) in FACTORS.items()]


@pytest.fixture(scope="module")
def tornado(tmp_path_factory):
    sens = {
        "factors": _factors(),
        "metrics": ["expected_loss", "ecl_lifetime", "value", "var_0.99", "es_0.99"],
        "method": "tornado",
        "tornado": {"paths": TORNADO_PATHS, "bootstrap": 50},
    }
    return _write(tmp_path_factory.mktemp("tornado"), sens, "tornado")


@pytest.fixture(scope="module")
def sobol(tmp_path_factory):
    sens = {
        "factors": _factors(),
        "metrics": ["expected_loss", "ecl_lifetime"],
        "method": "sobol",
        "sobol": {"n": 64, "seed": 3},
    }
    return _write(tmp_path_factory.mktemp("sobol"), sens, "sobol")


def _exact(metric: str, m: float, rho: float) -> float:
    n, p = K["n"], K["p"]
    if metric == "expected_loss":
        return n * p * m
    if metric == "ecl_lifetime":
        return n * p * m * K["df"]
    if metric == "value":
        return K["margin"] * K["df"] * (1 - K["p"] - K["c"])
    if metric == "var_0.99":
        return n * m * float(vasicek_quantile(0.99, p, rho))
    return n * m * float(tail_mean(0.99, p, rho))


def _plain_se(metric: str, m: float, rho: float, paths: int) -> float:
    """Plain Monte Carlo standard error of the simulated metric at (m, ρ): an upper bound for
    the importance-sampled runs, whose sampler is built to reduce the tail variance.

    VaR: ``sqrt(q(1 − q)/n) / f(VaR)``; ES: ``sd((L − VaR)^+) / (sqrt(n)(1 − q))``, both by
    closed form / quadrature over the factor."""
    n_c, p, q = K["n"], K["p"], 0.99
    frac = float(vasicek_quantile(q, p, rho))
    if metric == "var_0.99":
        density = fraction_pdf(frac, p, rho) / (n_c * m)
        return math.sqrt(q * (1 - q) / paths) / density
    v = n_c * m * frac
    zq = stats.norm.ppf(1 - q)

    def excess(z, k):
        return (n_c * m * cond_pd(z, p, rho) - v) ** k * stats.norm.pdf(z)

    m1 = integrate.quad(excess, -12, zq, args=(1,))[0]
    m2 = integrate.quad(excess, -12, zq, args=(2,))[0]
    return math.sqrt(m2 - m1**2) / math.sqrt(paths) / (1 - q)


def _rows(result: dict, metric: str) -> dict:
    return {row["factor"]: row for row in result["metrics"][metric]["factors"]}


def test_factor_ranges_are_recorded(tornado):
    for name, (lo, hi) in FACTORS.items():
        assert tornado["factors"][name]["low"] == lo
        assert tornado["factors"][name]["high"] == hi
    assert tornado["factors"]["lgd.mean"]["base"] == LGD
    assert tornado["factors"]["systematic.correlation"]["base"] == BOOK["rho"]


@pytest.mark.parametrize("metric", ["expected_loss", "ecl_lifetime", "value"])
def test_tornado_exact_metrics_are_closed_forms(tornado, metric):
    rows = _rows(tornado, metric)
    rho = BOOK["rho"]
    assert tornado["metrics"][metric]["base"] == pytest.approx(_exact(metric, LGD, rho), rel=1e-9)
    for name, (lo, hi) in FACTORS.items():
        args_lo = (lo, rho) if name == "lgd.mean" else (LGD, lo)
        args_hi = (hi, rho) if name == "lgd.mean" else (LGD, hi)
        low, high = _exact(metric, *args_lo), _exact(metric, *args_hi)
        assert rows[name]["value_low"] == pytest.approx(low, rel=1e-9, abs=1e-9)
        assert rows[name]["value_high"] == pytest.approx(high, rel=1e-9, abs=1e-9)
        assert rows[name]["swing"] == pytest.approx(abs(high - low), rel=1e-9, abs=1e-6)


@pytest.mark.parametrize("metric", ["var_0.99", "es_0.99"])
def test_tornado_simulated_metrics_match_vasicek(tornado, metric):
    rows = _rows(tornado, metric)
    rho = BOOK["rho"]
    base_se = _plain_se(metric, LGD, rho, TORNADO_PATHS)
    base = tornado["metrics"][metric]["base"]
    assert abs(base - _exact(metric, LGD, rho)) <= Z45 * base_se
    for name, (lo, hi) in FACTORS.items():
        for end, x in (("value_low", lo), ("value_high", hi)):
            args = (x, rho) if name == "lgd.mean" else (LGD, x)
            truth = _exact(metric, *args)
            se = _plain_se(metric, *args, TORNADO_PATHS)
            assert abs(rows[name][end] - truth) <= Z45 * se, (name, end, rows[name][end], truth)
    # a fixed LGD scales every path's loss: on common random numbers the LGD variants are
    # the base scaled by m / 0.5 exactly
    lgd_row = rows["lgd.mean"]
    assert lgd_row["value_low"] == pytest.approx(base * 0.3 / LGD, rel=1e-9)
    assert lgd_row["value_high"] == pytest.approx(base * 0.6 / LGD, rel=1e-9)


def _saltelli_sd(n: int, d: int, index: int, reps: int = 1000) -> tuple[float, float]:
    """Sampling sd of SALib's S1 (Saltelli 2010) and ST (Jansen) estimators when the metric
    depends on factor `index` only (then ``f_AB = f_B``), over scramblings of the design's
    2d-dimensional Sobol' sequence (A: columns 0..d-1, B: d..2d-1), n base points."""
    s1, st = np.empty(reps), np.empty(reps)
    for r in range(reps):
        u = qmc.Sobol(d=2 * d, scramble=True, seed=r).random(n)
        a, b = u[:, index], u[:, d + index]
        var = np.var(np.concatenate([a, b]))
        s1[r] = np.mean(b * (b - a)) / var
        st[r] = 0.5 * np.mean((a - b) ** 2) / var
    return float(s1.std()), float(st.std())


def test_sobol_indices_of_the_exact_metrics(sobol):
    """EL = N p m (and ECL = EL df): S1(lgd.mean) = ST(lgd.mean) = 1 and ST(correlation) = 0
    in truth; n = 64 base points give the estimator errors of `_saltelli_sd`."""
    sd_s1, sd_st = _saltelli_sd(64, d=2, index=0)
    for metric in ("expected_loss", "ecl_lifetime"):
        rows = _rows(sobol, metric)
        assert abs(rows["lgd.mean"]["S1"] - 1.0) <= Z45 * sd_s1, (metric, rows["lgd.mean"])
        assert abs(rows["lgd.mean"]["ST"] - 1.0) <= Z45 * sd_st, (metric, rows["lgd.mean"])
        assert rows["systematic.correlation"]["ST"] == pytest.approx(0.0, abs=1e-12)
        assert rows["systematic.correlation"]["S1"] == pytest.approx(0.0, abs=1e-12)
