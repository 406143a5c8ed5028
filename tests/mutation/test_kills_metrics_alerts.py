"""Kill tests for `riskmodel.metrics.alerts` (see docs/mutation.md): breach probabilities, their
errors and first alarms of a hand-built run with heavy weights, against loops over the paths;
the same figures from the per-period sums a ``keep: totals`` run keeps; the JSON block.

The data are fixed (no simulation): the oracle is scalar arithmetic, so probabilities agree to
rounding (1e-12) and standard errors to 1e-9. The probability is ``Σ w 1{KPI > u} / Σ w`` and
its error ``std(ψ, ddof=1)/√N`` with ``ψ = w̃ 1{…} − p (w̃ − 1)`` (module docstring).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import xarray as xr

from riskmodel.config.sections import AlertConfig
from riskmodel.metrics.alerts import alert_kpi, alerts_to_dict, evaluate_alerts

N, T, CUSTOMERS = 300, 6, 60.0
PERIODS = [1, 2, 3, 4, 5, 6]  # labels, not positions


def _run(weights: str = "heavy", n: int = N) -> xr.Dataset:
    rng = np.random.default_rng(20261202)
    w = rng.lognormal(0.0, 1.0, n) if weights == "heavy" else np.ones(n)
    return xr.Dataset(
        {
            "loss": (("path", "period"), rng.gamma(2.0, 50.0, (n, T))),
            "defaults": (("path", "period"), rng.poisson(2.0, (n, T)).astype(float)),
            "churn": (("path", "period"), rng.poisson(3.0, (n, T)).astype(float)),
            "weight": ("path", w),
        },
        coords={"period": PERIODS},
        attrs={"total_customers": CUSTOMERS},
    )


def _kpi(ds: xr.Dataset, metric: str) -> list[list[float]]:
    out = []
    for i in range(ds.sizes["path"]):
        d, c = ds["defaults"].values[i].tolist(), ds["churn"].values[i].tolist()
        row, alive = [], CUSTOMERS
        for t in range(T):
            if metric in ("loss", "defaults", "churn"):
                row.append(float(ds[metric].values[i, t]))
            else:
                count = d[t] if metric == "default_rate" else c[t]
                row.append(count / alive if alive > 0 else 0.0)
            alive -= d[t] + c[t]
        out.append(row)
    return out


def _breach(ds: xr.Dataset, metric: str, u: float) -> tuple[list[float], list[float]]:
    raw = ds["weight"].values.tolist()
    n = len(raw)
    wt = [x * n / math.fsum(raw) for x in raw]
    kpi = _kpi(ds, metric)
    probs, errs = [], []
    for t in range(T):
        hit = [wt[i] * (kpi[i][t] > u) for i in range(n)]
        p = math.fsum(hit) / n
        psi = [h - p * (wi - 1.0) for h, wi in zip(hit, wt, strict=True)]
        m = math.fsum(psi) / n
        var = math.fsum((x - m) ** 2 for x in psi) / (n - 1)
        probs.append(p)
        errs.append(math.sqrt(var / n))
    return probs, errs


ALERTS = [
    {"name": "dr", "metric": "default_rate", "threshold": 0.05, "confidence": 0.5},
    {"name": "cr", "metric": "churn_rate", "threshold": 0.08, "confidence": 0.3},
    {"name": "big", "metric": "loss", "threshold": 150.0, "confidence": 0.2},
    {"name": "d", "metric": "defaults", "threshold": 3.0, "confidence": 0.99},  # never fires
    {"name": "c", "metric": "churn", "threshold": 2.0},  # default confidence 0.9
]


@pytest.mark.parametrize("weights", ["heavy", "plain"])
def test_breach_probabilities_errors_and_first_alarms_against_loops(weights):
    ds = _run(weights)
    out = evaluate_alerts(ds, [*ALERTS[:4], AlertConfig(**ALERTS[4])])
    assert out["alert"].values.tolist() == [a["name"] for a in ALERTS]
    assert out["period"].values.tolist() == PERIODS and out.attrs["n_paths"] == N
    for k, a in enumerate(ALERTS):
        probs, errs = _breach(ds, a["metric"], a["threshold"])
        np.testing.assert_allclose(out["probability"].values[k], probs, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(out["stderr"].values[k], errs, rtol=1e-9)
        conf = a.get("confidence", 0.9)
        fired = [PERIODS[t] for t in range(T) if probs[t] >= conf]
        assert int(out["first_period"].values[k]) == (fired[0] if fired else -1), a["name"]
        assert out["metric"].values[k] == a["metric"]
        assert float(out["threshold"].values[k]) == a["threshold"]
        assert float(out["confidence"].values[k]) == conf
    fired = out["first_period"].values.tolist()
    assert -1 in fired and any(f > PERIODS[0] for f in fired)  # both branches are exercised
    block = alerts_to_dict(out)
    for k, a in enumerate(ALERTS):
        entry = block[a["name"]]
        probs = out["probability"].values[k].tolist()
        first = int(out["first_period"].values[k])
        assert entry == {
            "metric": a["metric"],
            "threshold": a["threshold"],
            "confidence": a.get("confidence", 0.9),
            "probability": probs,
            "stderr": out["stderr"].values[k].tolist(),
            "max_probability": max(probs),
            "first_period": None if first < 0 else first,
        }


def test_kpi_of_each_metric_and_a_book_that_runs_empty():
    ds = _run()
    for metric in ("default_rate", "churn_rate", "loss", "defaults", "churn"):
        got = alert_kpi(ds, metric)
        assert got.dims == ("path", "period") and got.name == metric
        np.testing.assert_allclose(got.values, _kpi(ds, metric), rtol=1e-12)
    assert (ds["defaults"] + ds["churn"]).sum("period").max() > CUSTOMERS / 2
    assert got["period"].values.tolist() == PERIODS  # the run's period labels
    with pytest.raises(ValueError, match="`metric` must be one of"):
        alert_kpi(ds, "rate")
    with pytest.raises(ValueError, match=r"^`result` must be"):
        alert_kpi([1.0], "loss")
    with pytest.raises(ValueError, match=r"^`result` must be"):
        evaluate_alerts([1.0], ALERTS[:1])


def test_a_single_path_has_no_error_estimate():
    out = evaluate_alerts(_run(n=1), ALERTS[2:3])
    assert np.all(np.isnan(out["stderr"].values))
    assert alerts_to_dict(out.isel(period=slice(0, 0)))["big"]["max_probability"] == 0.0


def _totals(ds: xr.Dataset, alerts: list[dict]) -> xr.Dataset:
    """The per-period sums a `keep: totals` run keeps: (1/N) Σ w 1{…} and (1/N) Σ (w 1{…})²."""
    w = ds["weight"].values[:, None]
    mean, square = [], []
    for a in alerts:
        hit = np.array(_kpi(ds, a["metric"])) > a["threshold"]
        mean.append((w * hit).mean(axis=0))
        square.append(((w * hit) ** 2).mean(axis=0))
    out = ds.assign(
        loss=ds["loss"].sum("period"),
        engine_alert_metric=("engine_alert", [a["metric"] for a in alerts]),
        engine_alert_threshold=("engine_alert", [a["threshold"] for a in alerts]),
        engine_alert_mean=(("engine_alert", "period"), np.array(mean)),
        engine_alert_square=(("engine_alert", "period"), np.array(square)),
    )
    return out.assign_coords(engine_alert=[a["name"] for a in alerts])


@pytest.mark.parametrize("weights", ["heavy", "plain"])
def test_a_totals_run_gives_the_same_figures_from_its_sums(weights):
    ds = _run(weights)
    out = evaluate_alerts(_totals(ds, ALERTS), ALERTS[::-1])
    for a in ALERTS:
        probs, errs = _breach(ds, a["metric"], a["threshold"])
        got = out.sel(alert=a["name"])
        np.testing.assert_allclose(got["probability"].values, probs, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(got["stderr"].values, errs, rtol=1e-8, atol=1e-15)
    two = _run(weights, n=2)  # two paths: the smallest sample with an error
    got = evaluate_alerts(_totals(two, ALERTS[2:3]), ALERTS[2:3])
    np.testing.assert_allclose(got["stderr"].values[0], _breach(two, "loss", 150.0)[1], rtol=1e-8)
    one = _totals(_run(weights, n=1), ALERTS[2:3])
    assert np.all(np.isnan(evaluate_alerts(one, ALERTS[2:3])["stderr"].values))


def test_a_totals_run_refuses_alerts_it_did_not_evaluate():
    kept = _totals(_run(), ALERTS[:1])
    with pytest.raises(ValueError, match=r"'cr' was not in the scenario.*\['dr'\]"):
        evaluate_alerts(kept, ALERTS[1:2])
    with pytest.raises(ValueError, match=r"watches default_rate > 0\.1"):
        evaluate_alerts(kept, [{**ALERTS[0], "threshold": 0.1}])
    with pytest.raises(ValueError, match=r"was not in the scenario.*\[\]"):
        evaluate_alerts(_run().assign(loss=_run()["loss"].sum("period")), ALERTS[:1])


def test_alert_definitions_are_validated():
    with pytest.raises(ValueError, match=r"^alert 1 is invalid: .*threshold"):
        evaluate_alerts(_run(), [ALERTS[0], {"name": "x", "metric": "loss"}])
    with pytest.raises(ValueError, match="names must be unique"):
        evaluate_alerts(_run(), [ALERTS[0], ALERTS[0]])


def test_the_dataset_layout_and_a_probability_equal_to_the_confidence():
    import warnings

    ds = _run("plain")
    probs, _ = _breach(ds, "loss", 150.0)
    top = max(probs)  # k/N exactly, as the code computes it: the alert fires at that period
    out = evaluate_alerts(
        ds, [{"name": "big", "metric": "loss", "threshold": 150.0, "confidence": top}]
    )
    assert int(out["first_period"][0]) == PERIODS[probs.index(top)]
    for name in ("probability", "stderr"):
        assert out[name].dims == ("alert", "period")
    for name in ("first_period", "metric", "threshold", "confidence"):
        assert out[name].dims == ("alert",)
    assert out["metric"].dtype == object and out["alert"].dtype == object  # netCDF strings
    two = _run(n=2)
    got = evaluate_alerts(two, ALERTS[2:3])
    np.testing.assert_allclose(got["stderr"].values[0], _breach(two, "loss", 150.0)[1], rtol=1e-9)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # one path: no error estimate, and no numpy warning
        evaluate_alerts(_run(n=1), ALERTS[2:3])


@pytest.mark.parametrize(
    ("alert", "match"),
    [
        (
            {"name": "x", "metric": "loss", "threshold": 1.0, "confidance": 0.5},
            r"^alert 0 is invalid: confidance: unknown key 'confidance'\. Did you mean",
        ),
        ({"metric": "loss"}, r"name: this required key is missing; add it\.; threshold: "),
        (
            {"name": "x", "metric": "default_rate", "threshold": 2.0},
            r"^alert 0 is invalid: `threshold` of a default_rate alert is a fraction",
        ),
    ],
)
def test_invalid_alerts_say_which_field_and_why(alert, match):
    with pytest.raises(ValueError, match=match):
        evaluate_alerts(_run(), [alert])
