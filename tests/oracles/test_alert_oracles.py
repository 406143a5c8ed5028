"""``summary.json`` ``alerts`` (early-warning breach probabilities) against closed forms.

The book is `oracle_builders.one_period_book` run for three periods in the large-pool limit.
Its one cohort stays in its one transient state or leaves by default or churn, so the default
rate of period ``t`` (defaults over the customers alive at the period start) is exactly
``p(Z_t)``, with ``Z_t`` independent standard normals under the target law: the breach
probability ``P(p(Z_t) > x)`` is one minus the Vasicek CDF at ``x`` in *every* period. The loss
of period 1 is ``N p(Z_1)``, so its breach probability is the same closed form at ``T / N``;
later periods' loss (``N_alive p(Z_t)``) is checked against the self-normalised estimate
recomputed here from the saved paths.

Runs: the default tilt and a full Glasserman–Li shift (damping 1: heavy weights). Tolerances:
``Z45 = 4.5`` standard errors computed here from the saved paths (delta-method error of the
self-normalised indicator mean), never the error the code reports.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from oracle_builders import Z45, book_constants, fraction_cdf, one_period_book, vasicek_quantile

import riskmodel as rm
from riskmodel.report import build_summary

pytestmark = pytest.mark.filterwarnings("ignore::riskmodel.errors.TailResolutionWarning")

K = book_constants()
HORIZON = 3
# default-rate threshold at the Vasicek 90% quantile: breach probability 0.10 in each period
RATE_X = float(vasicek_quantile(0.90, K["p"], K["rho"]))
# period-1 loss threshold at the 99% quantile: breach probability 0.01
LOSS_T = K["n"] * float(vasicek_quantile(0.99, K["p"], K["rho"]))
ALERTS = [
    {"name": "rate-fires", "metric": "default_rate", "threshold": RATE_X, "confidence": 0.05},
    {"name": "rate-quiet", "metric": "default_rate", "threshold": RATE_X, "confidence": 0.5},
    {"name": "loss-tail", "metric": "loss", "threshold": LOSS_T, "confidence": 0.9},
]


@pytest.fixture(scope="module", params=["tilt", "shift-heavy"])
def alert_run(request):
    """(summary dict as written to summary.json, per-path dataset) of a three-period run."""
    method, damping = ("shift", 1.0) if request.param == "shift-heavy" else ("tilt", None)
    cfg = one_period_book(method=method, damping=damping, paths=20_000, seed=17, levels=(0.99,))
    cfg["horizon"] = HORIZON
    cfg["alerts"] = ALERTS
    scenario = rm.scenario_from_dict(cfg)
    result = rm.simulate(scenario, progress=False)
    summary = json.loads(json.dumps(build_summary(result, scenario)))
    return summary, result.data


def _breach(indicator: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    """Self-normalised ``P(breach)`` and its delta-method error, written out from scratch:
    ``p = Σ w 1 / Σ w``; influence ``ψ = w̃ (1 − p)`` on breaches, ``−w̃ p`` elsewhere, with
    ``w̃ = w N / Σ w``; ``se = sd(ψ) / √N``."""
    wn = w * w.size / w.sum()
    p = float(np.sum(wn * indicator) / w.size)
    psi = wn * (indicator - p)
    return p, float(psi.std(ddof=1) / np.sqrt(w.size))


def _rates(ds) -> np.ndarray:
    """Per-path default rate of each period: defaults over customers alive at the start."""
    defaults = ds["defaults"].transpose("path", "period").to_numpy()
    churn = ds["churn"].transpose("path", "period").to_numpy()
    left = np.cumsum(defaults + churn, axis=1) - (defaults + churn)
    return defaults / (K["n"] - left)


def test_run_is_importance_sampled(alert_run):
    _, ds = alert_run
    w = ds["weight"].to_numpy()
    assert w.max() / w.min() > 5  # the weights matter: unweighted counts would be wrong


def test_default_rate_breach_probabilities_are_the_vasicek_tail(alert_run):
    summary, ds = alert_run
    w = ds["weight"].to_numpy()
    truth = 1.0 - float(fraction_cdf(RATE_X, K["p"], K["rho"]))  # = 0.10 by construction
    rates = _rates(ds)
    entry = summary["alerts"]["rate-fires"]
    assert len(entry["probability"]) == HORIZON
    for t in range(HORIZON):
        mine, se = _breach((rates[:, t] > RATE_X).astype(float), w)
        got = entry["probability"][t]
        assert abs(got - truth) <= Z45 * se, (t, got, truth, se)
        assert abs(got - mine) <= 1e-9  # the same estimator, recomputed from the paths
        assert entry["stderr"][t] == pytest.approx(se, rel=1e-6)
    assert summary["alerts"]["rate-quiet"]["probability"] == entry["probability"]


def test_loss_breach_probability_of_period_one_is_the_vasicek_tail(alert_run):
    summary, ds = alert_run
    w = ds["weight"].to_numpy()
    loss = ds["loss"].transpose("path", "period").to_numpy()
    entry = summary["alerts"]["loss-tail"]
    truth = 1.0 - float(fraction_cdf(LOSS_T / K["n"], K["p"], K["rho"]))  # = 0.01
    mine, se = _breach((loss[:, 0] > LOSS_T).astype(float), w)
    assert abs(entry["probability"][0] - truth) <= Z45 * se, (entry["probability"][0], se)
    for t in range(HORIZON):  # later periods: the weighted count recomputed from the paths
        mine, se = _breach((loss[:, t] > LOSS_T).astype(float), w)
        assert abs(entry["probability"][t] - mine) <= 1e-9
        assert entry["stderr"][t] == pytest.approx(se, rel=1e-6)


def test_first_period_max_probability_and_settings(alert_run):
    """``first_period``: the first period whose probability reaches ``confidence`` (None if
    none); ``max_probability`` the largest; threshold and confidence as configured."""
    summary, _ = alert_run
    for cfg in ALERTS:
        entry = summary["alerts"][cfg["name"]]
        prob = np.asarray(entry["probability"])
        hits = np.flatnonzero(prob >= cfg["confidence"])
        assert entry["first_period"] == (int(hits[0]) + 1 if hits.size else None)
        assert entry["max_probability"] == pytest.approx(prob.max(), rel=1e-12)
        assert entry["threshold"] == cfg["threshold"]
        assert entry["confidence"] == cfg["confidence"]
    # the truths (0.10, 0.10 and 0.01) sit far from the confidences 0.05, 0.5 and 0.9
    assert summary["alerts"]["rate-fires"]["first_period"] == 1
    assert summary["alerts"]["rate-quiet"]["first_period"] is None
    assert summary["alerts"]["loss-tail"]["first_period"] is None
