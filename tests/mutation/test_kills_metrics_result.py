"""Kill tests for `riskmodel.metrics.result`, `.replicates` and `.default_rate`
(see docs/mutation.md): what `SimulationResult` reads off a hand-built run with heavy weights,
against loops over the paths.

The data are fixed (no simulation): figures agree to rounding (1e-12; 1e-9 for spreads). A
weighted quantile is ``min{x_i : Σ_{x_j > x_i} w_j / Σ w ≤ 1 − q}``; a quasi-Monte Carlo
error is ``std(per-replicate estimate, ddof=1)/√R`` (the pooled estimate is reported).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import xarray as xr

from riskmodel.errors import TailResolutionWarning
from riskmodel.metrics.result import SimulationResult
from riskmodel.metrics.risk import risk_measures

N, T, R = 240, 4, 6
LEVELS = (0.9, 0.95)


def _data(**attrs) -> xr.Dataset:
    rng = np.random.default_rng(20261202)
    per = {k: rng.gamma(2.0, 5.0, (N, T)) for k in ("loss", "churn", "margin")}
    per["defaults"] = rng.poisson(1.5, (N, T)).astype(float)
    return xr.Dataset(
        {
            **{k: (("path", "period"), v) for k, v in per.items()},
            "weight": ("path", rng.lognormal(0.0, 1.0, N)),
            "discount_factor": ("period", np.cumprod(np.full(T, 1 / 1.05))),
            "replicate": ("path", np.repeat(np.arange(R), N // R)),
        },
        coords={"period": [1, 2, 3, 4]},
        attrs={"scenario": "s", "levels": list(LEVELS), "total_customers": 50} | attrs,
    )


def _quantile(x: list[float], w: list[float], q: float) -> float:
    sw = math.fsum(w)
    return next(
        a
        for a in sorted(set(x))
        if math.fsum(b for b, c in zip(w, x, strict=True) if c > a) / sw <= 1 - q
    )


def _sd_mean(v: list[float]) -> float:
    m = math.fsum(v) / len(v)
    return math.sqrt(math.fsum((x - m) ** 2 for x in v) / (len(v) - 1) / len(v))


@pytest.mark.filterwarnings("ignore::riskmodel.errors.TailResolutionWarning")
@pytest.mark.parametrize("discounted", [False, True])
def test_risk_of_a_replicated_run_takes_the_replicate_spread(discounted):
    res = SimulationResult(_data())
    got = res.risk(discounted=discounted)
    df = res.data["discount_factor"].values.tolist()
    rows = res.data["loss"].values.tolist()
    x = [
        math.fsum(v * (d if discounted else 1.0) for v, d in zip(r, df, strict=True)) for r in rows
    ]
    x = np.array(x)
    w = res.weights
    pooled = risk_measures(x, weights=w, levels=LEVELS, min_tail_paths=0)
    assert got.expected == pytest.approx(pooled.expected, rel=1e-12)
    rep = res.data["replicate"].values
    per = [
        risk_measures(x[rep == r], weights=w[rep == r], levels=LEVELS, min_tail_paths=0)
        for r in range(R)
    ]
    assert got.stderr_expected == pytest.approx(_sd_mean([m.expected for m in per]), rel=1e-9)
    for q in LEVELS:
        assert got.var[q] == pytest.approx(pooled.var[q], rel=1e-12)
        assert got.stderr_var[q] == pytest.approx(_sd_mean([m.var[q] for m in per]), rel=1e-9)
        assert got.stderr_es[q] == pytest.approx(_sd_mean([m.es[q] for m in per]), rel=1e-9)
    plain = SimulationResult(_data().drop_vars("replicate")).risk(
        discounted=discounted, levels=(0.9,)
    )
    ref = risk_measures(x, weights=w, levels=[0.9], min_tail_paths=0)
    assert plain.stderr_var == pytest.approx(ref.stderr_var, rel=1e-12)
    assert list(plain.var) == [0.9]


def test_risk_warnings_name_the_variable():
    res = SimulationResult(_data().drop_vars("replicate"))
    with pytest.warns(TailResolutionWarning, match=r"^`loss \(discounted\)`:"):
        res.risk(discounted=True)
    with pytest.warns(TailResolutionWarning, match=r"^`churn`:"):
        res.risk("churn")


def test_per_period_means_quantiles_and_the_default_rate():
    res = SimulationResult(_data())
    w = res.weights.tolist()
    for var in ("loss", "defaults"):
        m = res.expected_by_period(var)
        cols = res.data[var].values
        want = [
            math.fsum(a * b for a, b in zip(w, cols[:, t], strict=True)) / math.fsum(w)
            for t in range(T)
        ]
        np.testing.assert_allclose(m.values, want, rtol=1e-12)
    qs = (0.1, 0.5, 0.9)
    band = res.quantiles_by_period("loss", qs)
    assert band.dims == ("quantile", "period") and band["period"].values.tolist() == [1, 2, 3, 4]
    for t in range(T):
        col = res.data["loss"].values[:, t].tolist()
        assert band.values[:, t].tolist() == [_quantile(col, w, q) for q in qs]
    rate = res.cumulative_default_rate(qs)
    d = res.data["defaults"].values
    running = np.cumsum(d, axis=1) / 50.0
    mean = [
        math.fsum(a * b for a, b in zip(w, d[:, t], strict=True)) / math.fsum(w) for t in range(T)
    ]
    np.testing.assert_allclose(rate["expected"].values, np.cumsum(mean) / 50.0, rtol=1e-12)
    for t in range(T):
        assert rate["quantiles"].values[:, t].tolist() == [
            _quantile(running[:, t].tolist(), w, q) for q in qs
        ]
    assert rate.attrs["exact"] == 0 and rate.attrs["quantiles"] == 1
    exact = SimulationResult(_data().assign(exact_defaults=("period", [1.0, 2.0, 3.0, 4.0])))
    got = exact.cumulative_default_rate(qs)
    np.testing.assert_allclose(got["expected"].values, [0.02, 0.06, 0.12, 0.2], rtol=1e-12)
    assert got.attrs["exact"] == 1
    empty = SimulationResult(_data(total_customers=0)).cumulative_default_rate(qs)
    assert np.all(empty["expected"].values == 0.0) and np.all(empty["quantiles"].values == 0.0)


def _totals_run() -> SimulationResult:
    ds = _data()
    w = ds["weight"].values
    kept = ds.assign(
        {k: ("path", ds[k].values.sum(axis=1)) for k in ("loss", "defaults", "churn", "margin")}
        | {
            f"mc_mean_{k}": ("period", (w[:, None] * ds[k].values).mean(axis=0))
            for k in ("loss", "defaults")
        }
    )
    return SimulationResult(kept)


def test_a_totals_run_rescales_its_kept_means_and_has_no_fans():
    res, full = _totals_run(), SimulationResult(_data())
    assert not res.keeps_paths and full.keeps_paths
    np.testing.assert_allclose(
        res.expected_by_period("loss"), full.expected_by_period("loss"), rtol=1e-12
    )
    assert res.expected_by_period("loss").name == "loss"
    with pytest.raises(ValueError, match="quantiles_by_period needs every path"):
        res.quantiles_by_period()
    rate = res.cumulative_default_rate((0.5,))
    assert np.all(np.isnan(rate["quantiles"].values)) and rate.attrs["quantiles"] == 0
    np.testing.assert_allclose(
        rate["expected"], full.cumulative_default_rate((0.5,))["expected"], rtol=1e-12
    )


def test_run_settings_period_and_stresses():
    res = SimulationResult(_data(seed="17"))
    assert (res.scenario, res.paths, res.horizon, res.levels, res.seed) == ("s", N, T, LEVELS, 17)
    assert SimulationResult(_data(seed="")).seed is None and SimulationResult(_data()).seed is None
    assert res.period() == {"length": 1, "unit": "month", "ecl_12_month_periods": 12.0}
    assert res.stresses() == {}
    conv = {"from": "month", "to": "quarter"}
    other = SimulationResult(
        _data(
            period_length=1.5,
            period_unit="quarter",
            ecl_12_month_periods=4.0,
            period_conversion=json.dumps(conv),
            stresses=json.dumps({"shift": -1.0}),
        )
    )
    assert other.period() == {
        "length": 1.5,
        "unit": "quarter",
        "ecl_12_month_periods": 4.0,
        "conversion": conv,
    }
    assert isinstance(SimulationResult(_data(period_length=3.0)).period()["length"], int)
    assert other.stresses() == {"shift": -1.0}
    frame = res.to_dataframe()
    assert list(frame.columns) == ["loss", "defaults", "churn", "margin", "weight"]
    np.testing.assert_allclose(frame["margin"], res.data["margin"].values.sum(axis=1), rtol=1e-12)


# --------------------------------------------------------------------------- figures
@pytest.mark.filterwarnings("ignore::riskmodel.errors.TailResolutionWarning")
def test_figure_statistics_of_a_run():
    from riskmodel.metrics.figures import (
        XRANGE_LEVELS,
        Fan,
        LossDistribution,
        Occupancy,
        pick_level,
    )

    data = _data().assign(
        exact_loss=("period", [5.0, 6.0, 7.0, 8.0]),
        occupancy=(("state", "period"), np.arange(8.0).reshape(2, 4)),
    )
    data["loss"].attrs["units"] = "EUR"
    res = SimulationResult(data)
    w = res.weights.tolist()
    totals = res.data["loss"].values.sum(axis=1).tolist()
    dist = LossDistribution.from_result(res)
    assert dist.quantile_range == tuple(_quantile(totals, w, q) for q in XRANGE_LEVELS)
    assert (dist.units, dist.exact, dist.horizon, dist.paths) == ("EUR", 26.0, T, N)
    assert dist.measures.var == res.risk().var
    assert LossDistribution.from_result(res, "churn", risk=False).measures is None
    assert LossDistribution.from_result(res, "churn").exact is None
    lo, hi = dist.quantile_range
    m = dist.measures
    marks = [m.expected, *m.var.values(), *m.es.values()]
    assert dist.x_range() == (min(lo, *marks), max(hi, *marks))
    assert dist.x_range([lo - 1.0, math.nan, hi + 2.0]) == (lo - 1.0, hi + 2.0)
    with pytest.raises(ValueError, match="`variable` must be one of"):
        LossDistribution.from_result(res, "value")
    assert pick_level([0.95, 0.99, 0.999], None) == 0.99
    assert pick_level([0.9, 0.95], None) == 0.95
    assert pick_level([0.9, 0.95], 0.9) == 0.9
    with pytest.raises(ValueError, match="`level` must be one of"):
        pick_level([0.9, 0.95], 0.99)
    fan = Fan.loss(res)
    assert fan.exact and fan.expected.tolist() == [5.0, 6.0, 7.0, 8.0]
    np.testing.assert_array_equal(
        fan.band, res.quantiles_by_period("loss", (0.05, 0.25, 0.5, 0.75, 0.95))
    )
    mc = Fan.loss(SimulationResult(_data()))
    assert not mc.exact
    np.testing.assert_allclose(
        mc.expected, SimulationResult(_data()).expected_by_period("loss"), rtol=1e-12
    )
    assert Fan.loss(_totals_run()).band is None
    cdr = Fan.cumulative_default_rate(res)
    assert cdr.band.shape == (5, T) and not cdr.exact
    assert Fan.cumulative_default_rate(_totals_run()).band is None
    occ = Occupancy.from_result(res)
    assert occ.occupancy.dims == ("period", "state")
    exact_occ = Occupancy.from_result(
        SimulationResult(data.assign(exact_occupancy=data["occupancy"] + 1))
    )
    assert float(exact_occ.occupancy.sum()) == float(data["occupancy"].sum()) + 8
