"""Early warnings: breach probabilities equal direct counts; weights; first alarm; schema."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import riskmodel as rm
from riskmodel.metrics.alerts import alert_kpi, alerts_to_dict, evaluate_alerts
from riskmodel.report import build_summary

ALERTS = [
    {"name": "dr", "metric": "default_rate", "threshold": 0.012},
    {"name": "cr", "metric": "churn_rate", "threshold": 0.01, "confidence": 0.5},
    {"name": "loss", "metric": "loss", "threshold": 3e4, "confidence": 0.6},
    {"name": "defaults", "metric": "defaults", "threshold": 15.0},
    {"name": "churn", "metric": "churn", "threshold": 12.0},
]


TINY = Path(__file__).resolve().parents[1] / "scenarios" / "tiny.yaml"


@pytest.fixture(scope="module")
def result():
    # plain Monte Carlo, so that probabilities are exact counts over the paths
    scenario = rm.load_scenario(TINY).with_options(simulation={"importance_sampling": False})
    return rm.simulate(scenario, paths=1500, seed=8, progress=False)


def _direct_kpi(ds: xr.Dataset, metric: str) -> np.ndarray:
    """The KPI by an explicit loop over paths and periods."""
    defaults, churn = ds["defaults"].values, ds["churn"].values
    if metric in ("loss", "defaults", "churn"):
        return ds[metric].values
    total = float(ds.attrs["total_customers"])
    out = np.zeros_like(defaults)
    for i in range(defaults.shape[0]):
        alive = total
        for t in range(defaults.shape[1]):
            count = defaults[i, t] if metric == "default_rate" else churn[i, t]
            out[i, t] = count / alive if alive > 0 else 0.0
            alive -= defaults[i, t] + churn[i, t]
    return out


def test_probabilities_match_a_direct_count_over_the_paths(result):
    out = evaluate_alerts(result, ALERTS)
    ds = result.data
    n = result.paths
    for alert in ALERTS:
        kpi = _direct_kpi(ds, alert["metric"])
        np.testing.assert_allclose(alert_kpi(result, alert["metric"]).values, kpi, rtol=1e-12)
        counts = np.array([sum(kpi[i, t] > alert["threshold"] for i in range(n)) for t in range(6)])
        prob = out["probability"].sel(alert=alert["name"]).values
        np.testing.assert_array_equal(prob, counts / n)  # unit weights: an exact count
        se = np.sqrt(prob * (1 - prob) / (n - 1))  # std(ddof=1) of 0/1 values over sqrt(N)
        np.testing.assert_allclose(out["stderr"].sel(alert=alert["name"]).values, se)
        reached = np.flatnonzero(prob >= alert.get("confidence", 0.9))
        first = int(out["first_period"].sel(alert=alert["name"]))
        assert first == (ds["period"].values[reached[0]] if reached.size else -1)
    assert 0 < out["probability"].values.min() and out["probability"].values.max() < 1


def _toy(weights) -> xr.Dataset:
    """3 paths, 2 periods, 100 customers; defaults/churn chosen by hand."""
    defaults = np.array([[5.0, 10.0], [1.0, 1.0], [20.0, 0.0]])
    churn = np.array([[5.0, 0.0], [0.0, 0.0], [0.0, 0.0]])
    return xr.Dataset(
        {
            "loss": (("path", "period"), defaults * 100.0),
            "defaults": (("path", "period"), defaults),
            "churn": (("path", "period"), churn),
            "weight": ("path", np.asarray(weights, dtype=float)),
        },
        coords={"path": [0, 1, 2], "period": [1, 2]},
        attrs={"total_customers": 100},
    )


def test_weighted_probabilities_and_rates_by_hand():
    ds = _toy([0.5, 2.0, 0.5])
    # default rates: path 0: 5/100, 10/90; path 1: 1/100, 1/99; path 2: 20/100, 0/80
    np.testing.assert_allclose(
        alert_kpi(ds, "default_rate").values, [[0.05, 10 / 90], [0.01, 1 / 99], [0.2, 0.0]]
    )
    out = evaluate_alerts(ds, [{"name": "dr", "metric": "default_rate", "threshold": 0.04}])
    # period 1: paths 0 and 2 breach: (0.5 + 0.5)/3; period 2: path 0 only: 0.5/3
    np.testing.assert_allclose(out["probability"].values[0], [1 / 3, 0.5 / 3])
    # delta-method error of the ratio Σ w 1 / Σ w: sqrt(N/(N − 1) Σ w² (1 − p)²) / Σ w
    w, hit, p = np.array([0.5, 2.0, 0.5]), np.array([1.0, 0.0, 1.0]), 1 / 3
    se = np.sqrt(3 / 2 * np.sum(w**2 * (hit - p) ** 2)) / w.sum()
    np.testing.assert_allclose(out["stderr"].values[0, 0], se)
    assert int(out["first_period"].values[0]) == -1  # never reaches 0.9


def test_first_period_and_summary_entry():
    ds = _toy([1.0, 1.0, 1.0])
    alerts = [
        {"name": "any", "metric": "defaults", "threshold": 0.5, "confidence": 0.9},
        {"name": "late", "metric": "defaults", "threshold": 0.5, "confidence": 0.5},
        {"name": "never", "metric": "loss", "threshold": 1e9},
    ]
    entry = alerts_to_dict(evaluate_alerts(ds, alerts))
    assert entry["any"]["probability"] == [1.0, pytest.approx(2 / 3)]
    assert entry["any"]["first_period"] == 1 and entry["late"]["first_period"] == 1
    assert entry["never"]["first_period"] is None and entry["never"]["max_probability"] == 0.0
    assert entry["any"]["confidence"] == 0.9 and entry["never"]["confidence"] == 0.9
    assert json.loads(json.dumps(entry)) == entry


def test_scenario_alerts_go_into_summary_json(tiny_config):
    tiny_config["alerts"] = ALERTS[:2]
    scenario = rm.scenario_from_dict(tiny_config)
    # 1,000 importance-sampled paths put ~90 effective paths beyond the 99% VaR (500: ~46,
    # which warns with TailResolutionWarning)
    result = rm.simulate(scenario, paths=1000, progress=False)
    summary = build_summary(result, scenario)
    assert list(summary["alerts"]) == ["dr", "cr"]
    assert len(summary["alerts"]["dr"]["probability"]) == scenario.horizon
    without = rm.scenario_from_dict({k: v for k, v in tiny_config.items() if k != "alerts"})
    assert "alerts" not in build_summary(result, without)


@pytest.mark.parametrize(
    ("alerts", "match"),
    [
        ([{"name": "a", "metric": "dflt_rate", "threshold": 0.1}], "Did you mean 'default_rate'"),
        ([{"name": "a", "metric": "loss", "threshold": 1, "confidnce": 0.5}], "'confidence'"),
        ([{"name": "a", "metric": "default_rate", "threshold": 2}], r"must be in \[0, 1\]"),
        ([{"name": "a", "metric": "loss", "threshold": 1, "confidence": 1}], "below 1"),
        ([{"name": "a", "metric": "loss", "threshold": 1}] * 2, "unique"),
        ([{"metric": "loss", "threshold": 1}], "alerts\\[0\\] -> name: this required key"),
    ],
)
def test_bad_alerts_get_field_paths_and_fixes(tiny_config, alerts, match):
    tiny_config["alerts"] = alerts
    with pytest.raises(rm.ScenarioError, match=match) as info:
        rm.scenario_from_dict(tiny_config)
    assert "alerts" in str(info.value)


def test_churn_alert_needs_a_churn_state(tiny_config):
    del tiny_config["states"]["churn"]
    tiny_config["alerts"] = [{"name": "c", "metric": "churn_rate", "threshold": 0.1}]
    with pytest.raises(rm.ScenarioError, match="no churn state"):
        rm.scenario_from_dict(tiny_config)


def test_evaluate_alerts_rejects_bad_specs():
    ds = _toy([1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="alert 0 is invalid: metric"):
        evaluate_alerts(ds, [{"name": "a", "metric": "nope", "threshold": 1}])
    with pytest.raises(ValueError, match="unique"):
        evaluate_alerts(ds, [{"name": "a", "metric": "loss", "threshold": 1}] * 2)
    with pytest.raises(TypeError, match="SimulationResult"):
        evaluate_alerts({"loss": 1}, [])


# --------------------------------------------------------------------------- heavy weights
def test_heavy_weights_give_self_normalised_probabilities(result):
    # lognormal weights with sd 1.5 on the log scale: Σ w is far from N (here ≈ 2.4 N), so an
    # estimator that divides by N instead of Σ w reads probabilities above 1
    rng = np.random.default_rng(2026)
    w = rng.lognormal(0.0, 1.5, result.paths)
    assert abs(w.sum() / w.size - 1.0) > 0.3
    heavy = result.data.assign(weight=("path", w))
    out = evaluate_alerts(heavy, ALERTS)
    n = w.size
    for alert in ALERTS:
        hit = (_direct_kpi(heavy, alert["metric"]) > alert["threshold"]).astype(float)
        p = np.average(hit, axis=0, weights=w)  # the reference: numpy's weighted average
        np.testing.assert_allclose(out["probability"].sel(alert=alert["name"]).values, p)
        se = np.sqrt(n / (n - 1) * np.sum((w[:, None] * (hit - p)) ** 2, axis=0)) / w.sum()
        np.testing.assert_allclose(out["stderr"].sel(alert=alert["name"]).values, se)
    assert out["probability"].values.max() <= 1.0


def test_totals_run_alerts_equal_the_paths_run_under_importance_sampling(tiny_config):
    # the same seed gives the same paths whether the engine keeps them or only their sums
    tiny_config["alerts"] = ALERTS
    scenario = rm.scenario_from_dict(tiny_config)
    kept = rm.simulate(scenario, paths=1200, seed=4, progress=False)
    totals = rm.simulate(
        scenario.with_options(simulation={"keep": "totals"}), paths=1200, seed=4, progress=False
    )
    np.testing.assert_array_equal(kept.weights, totals.weights)
    assert kept.weights.sum() != kept.paths  # importance-sampled: Σ w ≠ N on this run
    a, b = evaluate_alerts(kept, ALERTS), evaluate_alerts(totals, ALERTS)
    np.testing.assert_allclose(b["probability"].values, a["probability"].values, rtol=1e-12)
    np.testing.assert_allclose(b["stderr"].values, a["stderr"].values, rtol=1e-9, atol=1e-15)
