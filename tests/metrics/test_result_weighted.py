"""SimulationResult under heavy weights: accessors, fans, value figures, and the saved file.

References are computed here from the per-path arrays with `numpy.average` and sorted
cumulative normalised weights, independently of riskmodel's estimators.
"""

from __future__ import annotations

from pathlib import Path

import netCDF4
import numpy as np
import pytest
import xarray as xr
import yaml

import riskmodel as rm
from riskmodel.errors import ArgumentError
from riskmodel.metrics.result import SimulationResult
from riskmodel.metrics.weighted_paths import WEIGHTING_NOTE

pytestmark = pytest.mark.filterwarnings("error::riskmodel.errors.TailResolutionWarning")


def ref_quantile(x: np.ndarray, w: np.ndarray, q: float) -> float:
    """min{v : P(X ≤ v) ≥ q} over the distinct values, with normalised weights."""
    values, inverse = np.unique(x, return_inverse=True)
    cdf = np.cumsum(np.bincount(inverse, weights=w)) / w.sum()
    return float(values[np.argmax(cdf >= q - 1e-12)])


def ref_lower_tail_mean(x: np.ndarray, w: np.ndarray, a: float) -> float:
    values, inverse = np.unique(x, return_inverse=True)
    prob = np.bincount(inverse, weights=w) / w.sum()
    cdf = np.cumsum(prob)
    k = int(np.argmax(cdf >= a - 1e-12))
    return float((values[:k] @ prob[:k] + (a - (cdf[k] - prob[k])) * values[k]) / a)


TINY = Path(__file__).resolve().parents[1] / "scenarios" / "tiny.yaml"


def _config_with_margin() -> dict:
    """The tiny scenario with a margin on each cohort (40 and 55 per customer and period)."""
    cfg = yaml.safe_load(TINY.read_text())
    for cohort, margin in zip(cfg["portfolio"]["cohorts"], (40.0, 55.0), strict=True):
        cohort["margin"] = margin * cohort["customers"]
    return cfg


@pytest.fixture(scope="module")
def plain() -> SimulationResult:
    cfg = _config_with_margin()
    cfg["simulation"] = {"importance_sampling": False}
    return rm.simulate(rm.scenario_from_dict(cfg), paths=3000, seed=21, progress=False)


@pytest.fixture(scope="module")
def heavy(plain) -> SimulationResult:
    """The plain run with lognormal(0, 1.5) weights: Σ w ≠ N, Kish ESS ≈ N/9.5."""
    w = np.random.default_rng(5).lognormal(0.0, 1.5, plain.paths)
    assert abs(w.sum() / w.size - 1) > 0.2
    return SimulationResult(plain.data.assign(weight=("path", w)))


# --------------------------------------------------------------------------- accessors
def test_weighted_mean_and_quantile_match_references(heavy):
    w = heavy.weights
    total = heavy.total("loss")
    x = total.to_numpy()
    assert float(heavy.weighted_mean(total)) == pytest.approx(np.average(x, weights=w), rel=1e-12)
    got = heavy.weighted_quantile(total, [0.01, 0.5, 0.99])
    assert got.dims == ("quantile",) and got["quantile"].values.tolist() == [0.01, 0.5, 0.99]
    assert got.values.tolist() == [ref_quantile(x, w, q) for q in (0.01, 0.5, 0.99)]
    one = heavy.weighted_quantile(total, 0.99)
    assert one.dims == () and float(one["quantile"]) == 0.99
    # per period (a per-path, per-period variable keeps its period dimension)
    loss = heavy.data["loss"].transpose("path", "period").to_numpy()
    by_period = heavy.weighted_quantile("loss", 0.9)
    assert by_period.dims == ("period",)
    assert by_period.values.tolist() == [ref_quantile(loss[:, t], w, 0.9) for t in range(6)]
    np.testing.assert_allclose(
        heavy.weighted_mean("loss").values, np.average(loss, axis=0, weights=w), rtol=1e-12
    )


def test_xarray_weighted_view_uses_probabilities(heavy):
    w = heavy.weights
    p = heavy.probabilities
    assert float(p.sum()) == pytest.approx(1.0, rel=1e-12)
    loss = heavy.data["loss"].transpose("path", "period").to_numpy()
    np.testing.assert_allclose(
        heavy.weighted.mean("path")["loss"].values, np.average(loss, axis=0, weights=w)
    )
    sd = np.sqrt(np.average((loss - np.average(loss, axis=0, weights=w)) ** 2, axis=0, weights=w))
    np.testing.assert_allclose(heavy.weighted.std("path")["loss"].values, sd, rtol=1e-9)


def test_accessors_refuse_what_has_no_path_dimension(heavy):
    with pytest.raises(ArgumentError, match="`dim` must be 'path'"):
        heavy.weighted_mean("loss", dim="period")
    with pytest.raises(ArgumentError, match=r"per-path variable.*res\.total"):
        heavy.weighted_quantile("discount_factor", 0.5)
    with pytest.raises(ArgumentError, match="per-path variable"):
        heavy.weighted_mean("no_such_variable")


# --------------------------------------------------------------------------- fans and means
def test_fan_chart_and_default_rate_quantiles_use_normalised_weights(heavy):
    w = heavy.weights
    levels = (0.05, 0.25, 0.5, 0.75, 0.95)
    loss = heavy.data["loss"].transpose("path", "period").to_numpy()
    fan = heavy.quantiles_by_period("loss", levels)
    for k, q in enumerate(levels):
        assert fan.values[k].tolist() == [ref_quantile(loss[:, t], w, q) for t in range(6)]
    defaults = heavy.data["defaults"].transpose("path", "period").to_numpy()
    rate = np.cumsum(defaults, axis=1) / float(heavy.data.attrs["total_customers"])
    band = heavy.cumulative_default_rate(levels)["quantiles"].values
    for k, q in enumerate(levels):
        np.testing.assert_array_equal(band[k], [ref_quantile(rate[:, t], w, q) for t in range(6)])
    np.testing.assert_allclose(
        heavy.expected_by_period("loss").values, np.average(loss, axis=0, weights=w), rtol=1e-12
    )


# --------------------------------------------------------------------------- value figures
def test_summary_value_figures_match_references_from_the_paths(heavy):
    w = heavy.weights
    x = heavy.total("margin", discounted=True).to_numpy()
    with pytest.warns(rm.TailResolutionWarning):  # lognormal weights leave the tails thin
        value = heavy.summary()["value"]
    mean = np.average(x, weights=w)
    exact = value["expected"]
    assert value["method"] == "exact"
    assert value["expected_mc"] == pytest.approx(mean, rel=1e-12)
    assert value["std"] == pytest.approx(np.sqrt(np.average((x - mean) ** 2, weights=w)), rel=1e-9)
    assert value["quantiles"]["0.5"] == ref_quantile(x, w, 0.5)
    for level, low in (("0.95", 0.05), ("0.99", 0.01)):
        q = ref_quantile(x, w, low)
        assert value["quantiles"][f"{low:g}"] == q
        assert value["var"][level] == pytest.approx(exact - q, rel=1e-12)
        es = exact - ref_lower_tail_mean(x, w, low)
        assert value["es"][level] == pytest.approx(es, rel=1e-9)
        tail = w[x <= q]
        assert value["tail_paths"][level] == pytest.approx(tail.sum() ** 2 / (tail**2).sum())
        assert value["stderr"]["var"][level] > 0 and value["stderr"]["es"][level] > 0


def test_importance_sampled_value_quantiles_are_not_the_worst_path():
    # the bug of issue 11: lower quantiles fell on the smallest path when Σ w < N
    scenario = rm.scenario_from_dict(_config_with_margin())
    res = rm.simulate(scenario, paths=4000, seed=22, progress=False)
    w = res.weights
    assert w.sum() != res.paths and res.data.attrs.get("importance_sampling", 1)
    x = res.total("margin", discounted=True).to_numpy()
    value = res.summary()["value"]
    assert value["quantiles"]["0.01"] == ref_quantile(x, w, 0.01) > x.min()
    mean = np.average(x, weights=w)
    assert value["std"] == pytest.approx(np.sqrt(np.average((x - mean) ** 2, weights=w)), rel=1e-9)
    risk = res.risk()
    for q in res.levels:
        var = risk.var[q]
        tail = w[res.total("loss").to_numpy() >= var]
        assert risk.tail_paths[q] == pytest.approx(tail.sum() ** 2 / (tail**2).sum(), rel=1e-12)
        assert risk.tail_paths[q] >= 50  # no warning was raised (the module turns it into errors)


# --------------------------------------------------------------------------- the saved file
def test_netcdf_round_trip_keeps_the_weights_and_says_how_to_use_them(heavy, plain, tmp_path):
    path = heavy.to_netcdf(tmp_path / "results.nc")
    with netCDF4.Dataset(path) as nc:  # what `ncdump -h` shows
        assert nc.getncattr("weighting") == WEIGHTING_NOTE
        assert nc["weight"].getncattr("weighting") == WEIGHTING_NOTE
        assert "ds.weighted(ds.weight)" in WEIGHTING_NOTE and "wrong" in WEIGHTING_NOTE
    back = SimulationResult.from_netcdf(path)
    np.testing.assert_array_equal(back.weights, heavy.weights)
    total = back.total("loss")
    assert float(back.weighted_mean(total)) == float(heavy.weighted_mean(heavy.total("loss")))
    # xarray alone, as the docstring of from_netcdf shows
    with xr.open_dataset(path) as ds:
        by_xarray = ds.weighted(ds.weight).mean("path")["loss"].values
    np.testing.assert_allclose(by_xarray, heavy.weighted_mean("loss").values, rtol=1e-12)
    assert "weighting" not in heavy.data.attrs  # the in-memory result is not modified
    # a plain run says that its weights are all one
    plain_path = plain.to_netcdf(tmp_path / "plain.nc")
    with netCDF4.Dataset(plain_path) as nc:
        assert nc.getncattr("weighting").startswith("plain Monte Carlo")
