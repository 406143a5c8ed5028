"""Kill tests for `SimulationResult`'s accessors, `.default_rate` and `.replicates` (see
docs/mutation.md): defaults of the accessors, the labels of what they return, the file stamp,
the value tail of a run without exact values, and a replicated run that warns only for the
pooled figure.

The data are the hand-built run of `test_kills_metrics_result` (fixed, no simulation): figures
agree to rounding (1e-12).
"""

from __future__ import annotations

import math
import warnings

import netCDF4
import numpy as np
import pytest
import xarray as xr
from test_kills_metrics_model_risk import _run as _posterior_run
from test_kills_metrics_result import LEVELS, N, T, _data, _quantile

from riskmodel._files import STAMP
from riskmodel.errors import TailResolutionWarning
from riskmodel.metrics.expectations import expectation
from riskmodel.metrics.model_risk import model_risk
from riskmodel.metrics.result import SimulationResult, write_netcdf_atomic
from riskmodel.metrics.value import value_measures

pytestmark = pytest.mark.filterwarnings("ignore::riskmodel.errors.TailResolutionWarning")


def _loop_mean(x: list[float], w: list[float]) -> float:
    return math.fsum(a * b for a, b in zip(x, w, strict=True)) / math.fsum(w)


def test_accessor_defaults_read_the_loss():
    res = SimulationResult(_data())
    w = res.weights.tolist()
    loss = res.data["loss"].values
    np.testing.assert_allclose(res.total().values, loss.sum(axis=1), rtol=1e-12)
    by_period = res.expected_by_period()
    want = [_loop_mean(loss[:, t].tolist(), w) for t in range(T)]
    np.testing.assert_allclose(by_period.values, want, rtol=1e-12)
    band = res.quantiles_by_period()
    assert band.name == "loss" and band["quantile"].values.tolist() == [0.05, 0.25, 0.5, 0.75, 0.95]
    assert band.values[:, 0].tolist() == [
        _quantile(loss[:, 0].tolist(), w, q) for q in (0.05, 0.25, 0.5, 0.75, 0.95)
    ]
    assert res.quantiles_by_period("churn", (0.5,)).name == "churn"


def test_risk_reads_the_variable_it_is_given():
    res = SimulationResult(_data().drop_vars("replicate"))
    w = res.weights.tolist()
    x = res.data["defaults"].values.sum(axis=1).tolist()
    got = res.risk("defaults")
    assert got.expected == pytest.approx(_loop_mean(x, w), rel=1e-12)
    assert got.var[0.9] == _quantile(x, w, 0.9)


def test_to_dataframe_keeps_the_weights_and_the_path_labels():
    data = _data().assign_coords(path=np.arange(N) + 1000)
    frame = SimulationResult(data).to_dataframe()
    assert frame.index.name == "path" and frame.index.tolist() == list(range(1000, 1000 + N))
    np.testing.assert_array_equal(frame["weight"].to_numpy(), data["weight"].values)


def test_files_are_stamped_with_their_kind(tmp_path):
    res = SimulationResult(_data())
    path = res.to_netcdf(tmp_path / "results.nc")
    with netCDF4.Dataset(str(path)) as nc:
        assert nc.getncattr(STAMP) == "SimulationResult"
    back = SimulationResult.from_netcdf(path)
    np.testing.assert_array_equal(back.weights, res.weights)
    other = write_netcdf_atomic(xr.Dataset({"a": ("x", [1.0])}), tmp_path / "other.nc")
    with netCDF4.Dataset(str(other)) as nc:
        assert nc.getncattr(STAMP) == "dataset"


def _same(got: dict, want: dict) -> None:
    assert got.keys() == want.keys()
    for key, value in want.items():
        if isinstance(value, dict):
            _same(got[key], value)
        else:
            assert got[key] == pytest.approx(value, rel=1e-12), key


def test_value_tail_of_a_run_without_exact_values_is_measured_from_its_own_mean():
    """No ``exact_margin``: the mean is estimated, so its influence enters the tail's errors."""
    res = SimulationResult(_data())
    assert expectation(res.data, "value")["method"] == "monte_carlo"
    x = (res.data["margin"].values * res.data["discount_factor"].values).sum(axis=1)
    want = value_measures(x, weights=res.weights, levels=LEVELS, expected=None)
    _same(res.value_risk().to_dict(), want.to_dict())
    four = ("period", [8.0, 7.0, 6.0, 5.0])
    names = ("loss", "defaults", "churn", "margin")
    kept = _data().assign({f"exact_{k}": four for k in names} | {"exact_value_lost_to_churn": 1.0})
    exact = SimulationResult(kept)
    ev = math.fsum(m * d for m, d in zip(four[1], kept["discount_factor"].values, strict=True))
    assert expectation(kept, "value")["expected"] == pytest.approx(ev, rel=1e-12)
    want_exact = value_measures(x, weights=exact.weights, levels=LEVELS, expected=ev)
    _same(exact.value_risk().to_dict(), want_exact.to_dict())


def test_model_risk_of_a_result_passes_its_data_and_levels():
    ds = _posterior_run()
    got = SimulationResult(ds.assign_attrs(scenario="p")).model_risk(levels=(0.99,))
    assert got.to_dict() == model_risk(ds, levels=[0.99]).to_dict()
    assert [s.level for s in got.levels] == [0.99]


# --------------------------------------------------------------------------- default rate
def test_default_rate_without_a_customer_count_is_zero_and_labelled():
    data = _data()
    del data.attrs["total_customers"]
    rate = SimulationResult(data).cumulative_default_rate((0.2, 0.8))
    assert np.all(rate["expected"].values == 0.0) and np.all(rate["quantiles"].values == 0.0)
    assert rate["expected"].dims == ("period",)
    assert rate["quantiles"].dims == ("quantile", "period")
    assert rate["period"].values.tolist() == [1, 2, 3, 4]
    assert rate["quantile"].values.tolist() == [0.2, 0.8]
    assert rate.attrs["units"] == "share of today's customers"


# --------------------------------------------------------------------------- replicates
def test_replicates_do_not_warn_for_their_own_thin_tails():
    """Unit weights, 1,200 paths in 12 replicates, level 0.9: the pooled tail holds ~120 paths
    (at least 50: no warning), each replicate's ~10 (the pooled figure is the reported one)."""
    rng = np.random.default_rng(7)
    n, r = 1200, 12
    data = xr.Dataset(
        {
            "loss": (("path", "period"), rng.gamma(2.0, 5.0, (n, 2))),
            "weight": ("path", np.ones(n)),
            "replicate": ("path", np.repeat(np.arange(r), n // r)),
        },
        coords={"period": [1, 2]},
        attrs={"scenario": "s", "levels": [0.9]},
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", TailResolutionWarning)
        got = SimulationResult(data).risk()
    assert got.stderr_var[0.9] > 0
