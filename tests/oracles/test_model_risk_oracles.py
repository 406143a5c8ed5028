"""``summary.json`` ``model_risk`` of a posterior run against closed forms.

The book is the one-period large-pool cohort of `oracle_builders` with a posterior of ``D``
equally likely draws ``(p_d, ρ_d)``: given the draw, the loss is ``N p_d(Z)`` (no binomial
noise in the large-pool limit), so

- ``expected = N mean(p_d)``; the posterior-mean run has PD ``p̄ = mean(p_d)`` (the rows'
  mean; they already sum to one) and ``ρ̄ = mean(ρ_d)``: ``expected_at_posterior_mean = N p̄``;
- variance: parameter ``Var_d(N p_d)``, process ``mean_d N² (Φ₂(a_d, a_d; ρ_d) − p_d²)``;
- levels: the loss law is the equal mixture of the draws' Vasicek laws; its VaR solves
  ``mean_d F_d(v / N) = q`` and ``E[(p_d(Z) − x)⁺] = Φ₂(a_d, z_d(x); √ρ_d) − x Φ(z_d(x))``
  with ``z_d(x) = (a_d − √(1 − ρ_d) Φ⁻¹(x)) / √ρ_d`` gives its ES; the posterior-mean run's
  VaR and ES are Vasicek's at ``(p̄, ρ̄)``; shares ``1 − (at mean) / (full)``.

Importance sampling: the default tilt (which also tilts the draws) and a full shift (heavy
weights). Tolerances ``Z45 = 4.5`` standard errors computed here from the saved paths: quantile
errors from the mixture density, ES errors from the envelope argument, the share's error
bounded by ``se_b / a + b se_a / a²`` (valid whatever the correlation of ``a`` and ``b``).
The reported errors themselves are calibrated in
``tests/metrics/test_model_risk.py::test_heavy_weight_standard_errors_are_calibrated``.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from oracle_builders import (
    BOOK,
    Z45,
    es_se,
    fraction_cdf,
    fraction_pdf,
    one_period_book,
    quantile_se,
    tail_mean,
    vasicek_quantile,
    weighted_moments_se,
)
from scipy import optimize, stats

import riskmodel as rm
from riskmodel.models.draws import ParameterDraws

pytestmark = pytest.mark.filterwarnings("ignore::riskmodel.errors.TailResolutionWarning")

PDS = np.array([0.01, 0.02, 0.035, 0.05])
RHOS = np.array([0.08, 0.12, 0.16, 0.20])
LEVELS = (0.95, 0.99)
N = BOOK["customers"]
C = BOOK["churn"]


@pytest.fixture(scope="module", params=["tilt", "shift-heavy"])
def posterior_run(request, tmp_path_factory):
    states = ["performing", "churned", "defaulted"]
    ss = rm.StateSpace(states, absorbing=states[1:], default="defaulted")
    eye = np.eye(3)
    mats = np.array([[[[1 - p - C, C, p], eye[1], eye[2]]] for p in PDS])  # (D, 1, 3, 3)
    path = tmp_path_factory.mktemp("posterior") / "post.nc"
    ParameterDraws(ss, ("retail",), mats, correlation=RHOS).to_netcdf(path)
    method, damping = ("shift", 1.0) if request.param == "shift-heavy" else ("tilt", None)
    cfg = one_period_book(method=method, damping=damping, levels=LEVELS, paths=40_000, seed=29)
    cfg["parameters"] = {"posterior": str(path)}
    del cfg["systematic"]["correlation"]
    result = rm.simulate(rm.scenario_from_dict(cfg, allow_outside_files=True), progress=False)
    return json.loads(json.dumps(result.summary()))["model_risk"], result.data


def _phi2(a: float, b: float, r: float) -> float:
    return float(stats.multivariate_normal(mean=[0, 0], cov=[[1, r], [r, 1]]).cdf([a, b]))


def _process_variance() -> float:
    """``mean_d Var(N p_d(Z)) = mean_d N² (Φ₂(a_d, a_d; ρ_d) − p_d²)`` (Vasicek variance)."""
    terms = [
        N**2 * (_phi2(stats.norm.ppf(p), stats.norm.ppf(p), r) - p * p)
        for p, r in zip(PDS, RHOS, strict=True)
    ]
    return float(np.mean(terms))


def _mixture_var_es(q: float) -> tuple[float, float, float]:
    """(VaR, ES, density at VaR) of the loss ``N p_d(Z)`` under the equal mixture of draws."""

    def cdf(x):
        return float(np.mean([fraction_cdf(x, p, r) for p, r in zip(PDS, RHOS, strict=True)]))

    x = optimize.brentq(lambda t: cdf(t) - q, 1e-9, 1 - 1e-9, xtol=1e-14)
    excess = 0.0
    for p, r in zip(PDS, RHOS, strict=True):
        a = stats.norm.ppf(p)
        zx = (a - np.sqrt(1 - r) * stats.norm.ppf(x)) / np.sqrt(r)
        excess += _phi2(a, zx, np.sqrt(r)) - x * stats.norm.cdf(zx)
    dens = float(np.mean([fraction_pdf(x, p, r) for p, r in zip(PDS, RHOS, strict=True)]))
    return N * x, N * (x + excess / len(PDS) / (1 - q)), dens / N


def test_expectations_and_exact_variance_split(posterior_run):
    mr, ds = posterior_run
    p_bar = PDS.mean()
    np.testing.assert_allclose(ds["exact_loss_by_draw"], N * PDS, rtol=1e-9)
    assert float(ds["exact_loss_at_posterior_mean"]) == pytest.approx(N * p_bar, rel=1e-9)
    assert mr["expected"] == pytest.approx(N * p_bar, rel=1e-9)
    assert mr["expected_at_posterior_mean"] == pytest.approx(N * p_bar, rel=1e-9)
    var = mr["variance"]
    parameter = float(np.var(N * PDS))
    assert var["parameter"] == pytest.approx(parameter, rel=1e-9)
    assert var["draws"] == len(PDS) and var["draws_used"] == len(PDS)
    # the process part is Monte Carlo: checked in the next test
    assert var["total"] == pytest.approx(var["parameter"] + var["process"], rel=1e-12)
    assert var["parameter_share"] == pytest.approx(var["parameter"] / var["total"], rel=1e-12)
    assert var["process_share"] == pytest.approx(1 - var["parameter_share"], rel=1e-12)


def test_monte_carlo_variance_figures_match_the_paths_and_the_closed_forms(posterior_run):
    mr, ds = posterior_run
    var = mr["variance"]
    w = ds["weight"].to_numpy()
    loss = ds["loss"].sum("period").to_numpy()
    md = N * PDS[ds["draw"].to_numpy()]  # E[L | d] of each path's draw
    el = N * PDS.mean()
    parameter = float(np.var(N * PDS))
    process = _process_variance()
    checks = {  # figure: (per-path term whose weighted mean estimates it, truth)
        "process": ((loss - md) ** 2, process),
        "parameter": ((loss - el) * (md - el), parameter),
        "total": ((loss - el) ** 2, parameter + process),
    }
    wn = w * w.size / w.sum()
    psi, names = {}, {"process": "process", "parameter": "parameter_mc", "total": "total_mc"}
    for key, (g, truth) in checks.items():
        mean, se, _, _ = weighted_moments_se(g, w)
        got = var["process"] if key == "process" else var["mc"][key]
        assert abs(got - mean) <= 1e-6 * abs(mean) + se, key  # the estimator, recomputed
        assert abs(got - truth) <= Z45 * se, (key, got, truth, se)
        # its error: the ratio estimator's (delta method), up to ddof (1/(2N))
        assert var["stderr"][names[key]] == pytest.approx(se, rel=1e-3), key
        psi[key] = wn * (g - mean)
    assert var["mc"]["process"] == var["process"]
    share = var["mc"]["parameter"] / (var["mc"]["parameter"] + var["mc"]["process"])
    assert var["mc"]["parameter_share"] == pytest.approx(share, rel=1e-12)
    # the shares' errors by the delta method: exact parameter part over (parameter + process)
    # moves with the process estimate only; the all-MC share with both estimates
    assert var["stderr"]["parameter"] == 0.0
    se_share = parameter * var["stderr"]["process"] / var["total"] ** 2
    assert var["stderr"]["parameter_share"] == pytest.approx(se_share, rel=1e-9)
    a, b = var["mc"]["parameter"], var["mc"]["process"]
    d = (b * psi["parameter"] - a * psi["process"]) / (a + b) ** 2
    se_mc = float(d.std(ddof=1) / np.sqrt(d.size))
    assert var["stderr"]["parameter_share_mc"] == pytest.approx(se_mc, rel=1e-3)


@pytest.mark.parametrize("q", LEVELS)
def test_tail_split_matches_the_mixture_and_the_posterior_mean_laws(posterior_run, q):
    mr, ds = posterior_run
    [level] = [lv for lv in mr["levels"] if lv["level"] == q]
    w = ds["weight"].to_numpy()
    loss = ds["loss"].sum("period").to_numpy()
    at_mean = ds["posterior_mean_loss"].to_numpy()
    p_bar, r_bar = PDS.mean(), RHOS.mean()
    el = N * p_bar
    v, es, dens = _mixture_var_es(q)
    v_m = N * float(vasicek_quantile(q, p_bar, r_bar))
    es_m = N * float(tail_mean(q, p_bar, r_bar))
    dens_m = fraction_pdf(v_m / N, p_bar, r_bar) / N
    se = {
        "var": quantile_se(loss, w, v, dens),
        "es": es_se(loss, w, v, q),
        "var_m": quantile_se(at_mean, w, v_m, dens_m),
        "es_m": es_se(at_mean, w, v_m, q),
    }
    got = level
    assert abs(got["var_minus_el"] - (v - el)) <= Z45 * se["var"]
    assert abs(got["es_minus_el"] - (es - el)) <= Z45 * se["es"]
    assert abs(got["var_minus_el_at_mean"] - (v_m - el)) <= Z45 * se["var_m"]
    assert abs(got["es_minus_el_at_mean"] - (es_m - el)) <= Z45 * se["es_m"]
    for kind, (a, b) in {"es": (es - el, es_m - el), "var": (v - el, v_m - el)}.items():
        key = "parameter_share" if kind == "es" else "var_parameter_share"
        bound = se[f"{kind}_m"] / a + b * se[kind] / a**2
        assert abs(got[key] - (1 - b / a)) <= Z45 * bound, (kind, got[key], 1 - b / a)
    # ES errors recomputed from the paths (envelope argument at each run's estimated VaR; EL is
    # exact): ES − EL, ES − EL at the mean, and the share 1 − b/a by the delta method on the
    # common paths, ψ = (b ψ_a − a ψ_b) / a²
    wn = w * w.size / w.sum()
    infl = {}
    for name, x in (("full", loss), ("mean", at_mean)):
        exc = np.maximum(x - _weighted_var(x, w, q), 0.0)
        infl[name] = wn * (exc - np.mean(wn * exc)) / (1 - q)
    root_n = np.sqrt(loss.size)
    assert got["stderr_es_minus_el"] == pytest.approx(infl["full"].std(ddof=1) / root_n, rel=1e-6)
    assert got["stderr_es_minus_el_at_mean"] == pytest.approx(
        infl["mean"].std(ddof=1) / root_n, rel=1e-6
    )
    a, b = got["es_minus_el"], got["es_minus_el_at_mean"]
    d = (b * infl["full"] - a * infl["mean"]) / a**2
    assert got["stderr"] == pytest.approx(d.std(ddof=1) / root_n, rel=1e-6)
    # the VaR share's error rests on estimated sparsities: checked only as an honest error,
    # i.e. the share lies within 4.5 of it from the truth
    truth = 1 - (v_m - el) / (v - el)
    assert abs(got["var_parameter_share"] - truth) <= Z45 * got["stderr_var"]


def _weighted_var(x: np.ndarray, w: np.ndarray, q: float) -> float:
    """Smallest path value whose self-normalised weight at or below it reaches ``q``."""
    order = np.argsort(x)
    cum = np.cumsum(w[order]) / w.sum()
    return float(x[order][np.searchsorted(cum, q - 1e-12)])
