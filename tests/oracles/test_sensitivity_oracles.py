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
    es_se,
    fraction_pdf,
    one_period_book,
    quantile_se,
    tail_mean,
    vasicek_quantile,
    weighted_moments_se,
)
from scipy import integrate, stats
from scipy.stats import qmc

import riskmodel as rm
from riskmodel.cli import main

pytestmark = pytest.mark.filterwarnings("ignore::riskmodel.errors.TailResolutionWarning")

K = book_constants()
LGD = 0.5
FACTORS = {"lgd.mean": (0.3, 0.6), "systematic.correlation": (0.1, 0.2)}
TORNADO_PATHS = 20_000
EXACT = [
    "expected_loss",
    "ecl_lifetime",
    "ecl_12_period",
    "value",
    "expected_defaults",
    "expected_churn",
]


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
        "metrics": [*EXACT, "var_0.99", "es_0.99", "mean_loss", "std_loss"],
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
    if metric in ("ecl_lifetime", "ecl_12_period"):  # one period: both windows hold it
        return n * p * m * K["df"]
    if metric == "expected_defaults":
        return n * p
    if metric == "expected_churn":
        return n * K["c"]
    if metric in ("mean_loss", "std_loss"):  # N m p(Z): mean N m p, sd N m sd(p(Z); ρ)
        a = stats.norm.ppf(p)
        phi2 = stats.multivariate_normal(mean=[0, 0], cov=[[1, rho], [rho, 1]]).cdf([a, a])
        return n * m * (p if metric == "mean_loss" else math.sqrt(phi2 - p * p))
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


@pytest.mark.parametrize("metric", EXACT)
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
        assert rows[name]["stderr"] == 0.0  # exact metrics: no Monte Carlo error
        assert (rows[name]["low"], rows[name]["high"]) == (lo, hi)


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


@pytest.fixture(scope="module")
def design_errors():
    """Standard errors of the tornado's estimators at each correlation, estimated from an
    independent run of the same design (importance-sampled book, `TORNADO_PATHS` paths, LGD
    0.5; another seed) by the delta method: mean, std, VaR and ES of the loss."""
    out = {}
    for k, rho in enumerate(sorted({BOOK["rho"], *FACTORS["systematic.correlation"]})):
        cfg = one_period_book(levels=(0.99,), paths=TORNADO_PATHS, seed=1000 + k)
        cfg["lgd"] = {"mean": LGD, "sd": 0.0}
        cfg["systematic"]["correlation"] = rho
        res = rm.simulate(rm.scenario_from_dict(cfg), progress=False)
        loss, w = res.total("loss").to_numpy(), res.weights
        _, se_mean, _, se_std = weighted_moments_se(loss, w)
        v = _exact("var_0.99", LGD, rho)
        dens = fraction_pdf(v / (K["n"] * LGD), K["p"], rho) / (K["n"] * LGD)
        out[rho] = {
            "mean_loss": se_mean,
            "std_loss": se_std,
            "var_0.99": quantile_se(loss, w, v, dens),
            "es_0.99": es_se(loss, w, v, 0.99),
        }
    return out


@pytest.mark.parametrize("metric", ["mean_loss", "std_loss"])
def test_tornado_mean_and_std_of_the_loss_match_vasicek(tornado, design_errors, metric):
    """``mean_loss`` = N m p and ``std_loss`` = N m sd(p(Z)) (Vasicek variance), within 4.5
    errors of the design; LGD variants scale the base exactly (common random numbers)."""
    rows, rho = _rows(tornado, metric), BOOK["rho"]
    base = tornado["metrics"][metric]["base"]
    assert abs(base - _exact(metric, LGD, rho)) <= Z45 * design_errors[rho][metric]
    for end, x in zip(("value_low", "value_high"), FACTORS["systematic.correlation"], strict=True):
        got = rows["systematic.correlation"][end]
        assert abs(got - _exact(metric, LGD, x)) <= Z45 * design_errors[x][metric], (end, got)
    lo, hi = FACTORS["lgd.mean"]
    assert rows["lgd.mean"]["value_low"] == pytest.approx(base * lo / LGD, rel=1e-9)
    assert rows["lgd.mean"]["value_high"] == pytest.approx(base * hi / LGD, rel=1e-9)


@pytest.mark.parametrize("metric", ["mean_loss", "std_loss", "var_0.99", "es_0.99"])
def test_tornado_swing_errors_of_simulated_metrics(tornado, design_errors, metric):
    """The LGD swing is ``(hi − lo)/m`` times the base on common random numbers, so its error
    is that multiple of the base's error. The tornado's is a bootstrap over 50 resamples: its
    relative sampling error is about ``1/√(2·49) = 0.10``, so it must lie within
    ``1 ± 4.5·0.10`` of the design's. The correlation swing pairs two runs on the same paths:
    its error is at most the sum of the two ends' errors (same band)."""
    rows, rho = _rows(tornado, metric), BOOK["rho"]
    lo, hi = FACTORS["lgd.mean"]
    band = 4.5 / math.sqrt(2 * 49)
    expected = (hi - lo) / LGD * design_errors[rho][metric]
    assert abs(rows["lgd.mean"]["stderr"] / expected - 1) <= band, rows["lgd.mean"]["stderr"]
    ends = FACTORS["systematic.correlation"]
    bound = sum(design_errors[x][metric] for x in ends)
    assert 0 < rows["systematic.correlation"]["stderr"] <= (1 + band) * bound


def test_settings_record_the_design(tornado, sobol):
    assert tornado["settings"]["tornado_paths"] == TORNADO_PATHS
    assert tornado["settings"]["tornado_bootstrap"] == 50
    assert tornado["settings"]["parameter_draws"] == 1
    s = sobol["settings"]
    assert s["sobol_n"] == 64
    assert s["sobol_evaluations"] == 64 * (len(FACTORS) + 2)  # Saltelli: A, B and one AB each
    assert s["sobol_conf_level"] == 0.95 and s["sobol_resamples"] == 100
    assert s["sobol_paths"] == 0  # exact metrics only: nothing is simulated


def _bootstrap_conf_law(n: int, reps: int = 1000, resamples: int = 100) -> np.ndarray:
    """Sampling law of SALib's bootstrap half-widths ``1.96 sd*(S1)``, ``1.96 sd*(ST)`` for a
    metric proportional to the LGD mean alone (EL = N p m, ECL = EL df; SALib standardises
    the evaluations, so ``f = m`` will do), over scrambled Sobol' designs of
    `n` base points (A: columns 0, 1; B: 2, 3; then ``f_AB = f_B`` for the LGD): (reps, 2)."""
    rng = np.random.default_rng(11)
    out = np.empty((reps, 2))
    for r in range(reps):
        u = qmc.Sobol(d=4, scramble=True, seed=rng).random(n)
        lo, hi = FACTORS["lgd.mean"]
        a, b = lo + (hi - lo) * u[:, 0], lo + (hi - lo) * u[:, 2]
        # SALib standardises all evaluations (A, B, AB_lgd = B, AB_rho = A) first
        y = np.concatenate([a, b])
        a, b = (a - y.mean()) / y.std(), (b - y.mean()) / y.std()
        idx = rng.integers(n, size=(n, resamples))
        ar, br = a[idx], b[idx]
        var = np.var(np.concatenate([ar, br]), axis=0)
        s1 = np.mean(br * (br - ar), axis=0) / var
        st = 0.5 * np.mean((ar - br) ** 2, axis=0) / var
        out[r] = 1.96 * s1.std(ddof=1), 1.96 * st.std(ddof=1)
    return out


def test_sobol_confidence_half_widths_follow_the_bootstrap_law(sobol):
    """``S1_conf``, ``ST_conf`` of the exact metrics: inside the central 99.8% of their law,
    simulated here (factor-0-only metric); exactly 0 for the factor the metric ignores."""
    law = _bootstrap_conf_law(64)
    low, high = np.quantile(law, 0.001, axis=0), np.quantile(law, 0.999, axis=0)
    for metric in ("expected_loss", "ecl_lifetime"):
        rows = _rows(sobol, metric)
        for k, key in enumerate(("S1_conf", "ST_conf")):
            got = rows["lgd.mean"][key]
            assert low[k] <= got <= high[k], (metric, key, got, low[k], high[k])
            assert rows["systematic.correlation"][key] == 0.0


@pytest.mark.filterwarnings("ignore::riskmodel.sensitivity.SensitivityWarning")  # small n
def test_sobol_indices_of_simulated_metrics_are_the_saltelli_estimates_of_the_design():
    """For simulated metrics (VaR, ES, mean and sd of the loss) the indices have no closed form
    here; the oracle is the estimator written out from scratch on the design's evaluations
    (SALib layout: per base point the rows A, AB_1 … AB_d, B; every evaluation standardised by
    the mean and sd of all of them; S1 = mean(f_B (f_ABj − f_A)) / var(f_A, f_B) (Saltelli
    2010), ST = mean((f_A − f_ABj)²) / (2 var) (Jansen)). That each evaluation is the engine's
    run at its design point is `tests/sensitivity/test_sobol.py`'s."""
    from riskmodel.sensitivity import run_sensitivity

    cfg = one_period_book(levels=(0.99,))
    cfg["lgd"] = {"mean": LGD, "sd": 0.0}
    metrics = ["var_0.99", "es_0.99", "mean_loss", "std_loss"]
    sens = {"factors": _factors(), "metrics": metrics, "method": "sobol"}
    sens["sobol"] = {"n": 16, "paths": 512, "seed": 5}
    result = run_sensitivity(rm.scenario_from_dict(cfg), sens)
    published = result.to_dict()["metrics"]
    x = result.data["X"].to_numpy()
    d = x.shape[1]
    for metric in metrics:
        y = result.data["Y"].sel(metric=metric).to_numpy()
        y = ((y - y.mean()) / y.std()).reshape(-1, d + 2)
        f_a, f_b = y[:, 0], y[:, -1]
        var = np.var(np.concatenate([f_a, f_b]))
        rows = _rows({"metrics": published}, metric)
        for j, name in enumerate(FACTORS):
            f_ab = y[:, 1 + j]
            s1 = np.mean(f_b * (f_ab - f_a)) / var
            st = 0.5 * np.mean((f_a - f_ab) ** 2) / var
            assert rows[name]["S1"] == pytest.approx(s1, rel=1e-9, abs=1e-12), (metric, name)
            assert rows[name]["ST"] == pytest.approx(st, rel=1e-9, abs=1e-12), (metric, name)
