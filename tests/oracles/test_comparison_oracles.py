"""``comparison.json`` against closed forms: two scenarios of the one-period book.

The scenarios differ by the factor's mean (shift 0 and −1.5). With ``Z ~ N(s, 1)`` the
expected default rate is ``Φ(Φ⁻¹(p) − √ρ s)`` (the `riskmodel.simulation.expected` identity,
derived independently here as the mean of ``p(Z)``), quantiles follow Vasicek at the shifted
factor, and the tail mean is the unshifted formula with the PD ``p_s = Φ(Φ⁻¹(p) − √ρ s)``
(``p(s + Y)`` is the conditional PD of ``p_s`` at ``Y``). Monte Carlo fields are checked within
4.5 standard errors computed here from each scenario's saved paths.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from oracle_builders import (
    Z45,
    book_constants,
    es_se,
    fraction_pdf,
    one_period_book,
    quantile_se,
    tail_mean,
    vasicek_quantile,
    weighted_moments_se,
)
from scipy import stats

import riskmodel as rm
from riskmodel.api import compare_scenarios

pytestmark = pytest.mark.filterwarnings("ignore::riskmodel.errors.TailResolutionWarning")

K = book_constants()
LEVELS = (0.95, 0.99)
SHIFTS = {"calm": 0.0, "downturn": -1.5}
WEIGHTS = {"calm": 0.7, "downturn": 0.3}


@pytest.fixture(scope="module")
def comparison():
    scenarios = []
    for name, shift in SHIFTS.items():
        cfg = one_period_book(levels=LEVELS, shift=shift, paths=20_000, seed=13)
        cfg["name"], cfg["weight"] = name, WEIGHTS[name]
        scenarios.append(rm.scenario_from_dict(cfg))
    cmp = compare_scenarios(scenarios, progress=False)
    return json.loads(json.dumps(cmp.to_dict())), cmp.results


def _shifted_pd(shift: float) -> float:
    return float(stats.norm.cdf(stats.norm.ppf(K["p"]) - np.sqrt(K["rho"]) * shift))


def _record(comparison, name):
    data, results = comparison
    [rec] = [r for r in data["scenarios"] if r["scenario"] == name]
    return rec, results[name]


def test_settings(comparison):
    data, _ = comparison
    assert data["paths"] == 20_000 and data["seed"] == 13
    assert data["common_random_numbers"] is True
    assert data["levels"] == [f"{q:g}" for q in LEVELS]


@pytest.mark.parametrize("name", list(SHIFTS))
def test_exact_columns_are_closed_forms(comparison, name):
    rec, _ = _record(comparison, name)
    n, df = K["n"], K["df"]
    ps = _shifted_pd(SHIFTS[name])
    assert rec["weight"] == WEIGHTS[name]
    assert rec["expected"] == pytest.approx(n * ps, rel=1e-9)
    assert rec["stderr_expected"] == 0.0
    assert rec["ecl_lifetime"] == pytest.approx(n * ps * df, rel=1e-9)
    assert rec["ecl_12_period"] == pytest.approx(n * ps * df, rel=1e-9)
    assert rec["expected_defaults"] == pytest.approx(n * ps, rel=1e-9)
    # survivors N (1 − p_s) split with the row's churn share c / (1 − p)
    assert rec["expected_churn"] == pytest.approx(n * (1 - ps) * K["churn_share"], rel=1e-9)
    stay = (1 - ps) * (1 - K["churn_share"])
    assert rec["expected_value"] == pytest.approx(K["margin"] * stay * df, rel=1e-9)


@pytest.mark.parametrize("name", list(SHIFTS))
def test_monte_carlo_columns_match_the_paths_and_vasicek(comparison, name):
    rec, result = _record(comparison, name)
    w = result.weights
    loss = result.total("loss").to_numpy()
    n, rho = K["n"], K["rho"]
    ps = _shifted_pd(SHIFTS[name])
    mean, se, _, se_std = weighted_moments_se(loss, w)
    assert abs(rec["expected_mc"] - mean) <= se
    assert abs(rec["expected_mc"] - n * ps) <= Z45 * se
    assert rec["stderr_mc"] == pytest.approx(se, rel=1e-3)  # same estimator; ddof: 1/(2N)
    sd_truth = n * np.sqrt(
        stats.multivariate_normal(mean=[0, 0], cov=[[1, rho], [rho, 1]]).cdf(
            [stats.norm.ppf(ps)] * 2
        )
        - ps**2
    )
    assert abs(rec["std"] - sd_truth) <= Z45 * se_std
    assert rec["ess"] == pytest.approx(w.sum() ** 2 / np.sum(w**2), rel=1e-9)
    for q in LEVELS:
        frac = float(vasicek_quantile(q, ps, rho))
        v = n * frac
        se_v = quantile_se(loss, w, v, fraction_pdf(frac, ps, rho) / n)
        assert abs(rec[f"var_{q:g}"] - v) <= Z45 * se_v, (name, q)
        es = n * float(tail_mean(q, ps, rho))
        assert abs(rec[f"es_{q:g}"] - es) <= Z45 * es_se(loss, w, v, q), (name, q)
    for field, values in (
        ("defaults", result.total("defaults").to_numpy()),
        ("churn", result.total("churn").to_numpy()),
        ("value", result.total("margin", discounted=True).to_numpy()),
    ):
        m, s, _, _ = weighted_moments_se(values, w)
        assert abs(rec[f"expected_{field}_mc"] - m) <= s
        assert abs(rec[f"expected_{field}_mc"] - rec[f"expected_{field}"]) <= Z45 * s
        assert rec[f"stderr_{field}_mc"] == pytest.approx(s, rel=1e-3)  # ddof: 1/(2N)
        assert rec[f"stderr_{field}"] == 0.0  # the exact column
    # the VaR and ES errors are the scenario run's own (coverage-tested in test_coverage.py)
    risk = result.risk()
    for q in LEVELS:
        assert rec[f"stderr_var_{q:g}"] == pytest.approx(risk.stderr_var[q], rel=1e-12)
        assert rec[f"stderr_es_{q:g}"] == pytest.approx(risk.stderr_es[q], rel=1e-12)


def test_weighted_ecl_is_the_probability_weighted_closed_form(comparison):
    data, _ = comparison
    ecl = sum(WEIGHTS[k] * K["n"] * _shifted_pd(s) * K["df"] for k, s in SHIFTS.items())
    assert data["weighted_ecl"]["lifetime"] == pytest.approx(ecl, rel=1e-9)
    assert data["weighted_ecl"]["12_period"] == pytest.approx(ecl, rel=1e-9)


def _influences(x: np.ndarray, w: np.ndarray, ps: float) -> dict[str, np.ndarray]:
    """Per-path influences of EL, VaR and ES of one scenario, written out from scratch at the
    *true* VaR and the *closed-form* density (the oracle's own delta method): with
    ``w̃ = w N / Σ w``, EL: ``w̃ (x − μ)``; VaR: ``−w̃ (1{x ≤ v} − q) / f(v)``; ES (envelope):
    ``w̃ ((x − v)⁺ − m) / (1 − q)`` with ``m`` the weighted mean of ``(x − v)⁺``."""
    n, rho = K["n"], K["rho"]
    wn = w * w.size / w.sum()
    out = {"expected_mc": wn * (x - np.sum(wn * x) / x.size)}
    for q in LEVELS:
        frac = float(vasicek_quantile(q, ps, rho))
        v, dens = n * frac, fraction_pdf(frac, ps, rho) / n
        below = (x <= v).astype(float)
        out[f"var_{q:g}"] = -wn * (below - np.sum(wn * below) / x.size) / dens
        exc = np.maximum(x - v, 0.0)
        out[f"es_{q:g}"] = wn * (exc - np.sum(wn * exc) / x.size) / (1.0 - q)
    return out


def _truth(metric: str, ps: float) -> float:
    n, rho = K["n"], K["rho"]
    if metric in ("expected", "expected_mc"):
        return n * ps
    if metric in ("ecl_lifetime", "ecl_12_period"):
        return n * ps * K["df"]
    kind, q = metric.split("_")
    table = vasicek_quantile if kind == "var" else tail_mean
    return n * float(table(float(q), ps, rho))


def test_paired_differences_are_the_closed_form_differences(comparison):
    """``differences``: scenario minus baseline on common random numbers. Exact metrics differ
    exactly (error 0); Monte Carlo ones cover the closed-form difference within 4.5 paired
    errors computed here; ``stderr_unpaired`` is ``√(se_a² + se_b²)`` of the two columns."""
    data, results = comparison
    down, calm = results["downturn"], results["calm"]
    x_down, x_calm = down.total("loss").to_numpy(), calm.total("loss").to_numpy()
    p_down, p_calm = _shifted_pd(SHIFTS["downturn"]), _shifted_pd(SHIFTS["calm"])
    psi_down = _influences(x_down, down.weights, p_down)
    psi_calm = _influences(x_calm, calm.weights, p_calm)
    rec = {r["scenario"]: r for r in data["scenarios"]}
    records = {r["metric"]: r for r in data["differences"]}
    assert {r["baseline"] for r in data["differences"]} == {"calm"}
    assert set(records) >= {"expected", "expected_mc", "ecl_lifetime", "ecl_12_period"}
    for metric, r in records.items():
        truth = _truth(metric, p_down) - _truth(metric, p_calm)
        if metric in psi_down:
            d = psi_down[metric] - psi_calm[metric]
            se = float(d.std(ddof=1) / np.sqrt(d.size))
            assert abs(r["difference"] - truth) <= Z45 * se, (metric, r["difference"], truth, se)
            # paired on common random numbers: far below the unpaired error
            assert r["stderr"] < r["stderr_unpaired"], metric
            own = "stderr_mc" if metric == "expected_mc" else f"stderr_{metric}"
            unpaired = np.hypot(rec["downturn"][own], rec["calm"][own])
            assert r["stderr_unpaired"] == pytest.approx(unpaired, rel=1e-9), metric
        else:  # differences of exact expectations are exact
            assert r["difference"] == pytest.approx(truth, rel=1e-9), metric
            assert r["stderr"] == 0.0 and r["stderr_unpaired"] == 0.0, metric
    # the EL cross-check's paired error is the same estimator as the one written out above
    d = psi_down["expected_mc"] - psi_calm["expected_mc"]
    se = float(d.std(ddof=1) / np.sqrt(d.size))
    assert records["expected_mc"]["stderr"] == pytest.approx(se, rel=1e-3)
    # ES: the reported influence uses the estimated VaR v̂ instead of v; (x − v)⁺ is 1-Lipschitz
    # in v, so the two errors differ by at most |v̂ − v| / (sd(ψ)(1 − q)) relative, below 5% here
    # (|v̂ − v| ≤ 4.5 se(v̂), a few hundred, against sd(ψ)·(1 − q) in the tens of thousands)
    for q in LEVELS:
        d = psi_down[f"es_{q:g}"] - psi_calm[f"es_{q:g}"]
        se = float(d.std(ddof=1) / np.sqrt(d.size))
        assert records[f"es_{q:g}"]["stderr"] == pytest.approx(se, rel=0.05), q
