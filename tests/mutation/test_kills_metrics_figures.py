"""Kill tests for `riskmodel.metrics.figures` (see docs/mutation.md): every statistic a figure
draws, from hand-built runs with heavy weights, against loops over the paths.

The runs are the three common-random-number runs of `test_kills_metrics_compare` (fixed data,
no simulation): figures agree to rounding (1e-12). A weighted quantile is
``min{x_i : Σ_{x_j > x_i} w_j / Σ w ≤ 1 − q}``; ES is the tail mean of the same definition
(`test_kills_metrics_actions._var_es`, on weights of mean one).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import xarray as xr
from test_kills_metrics_actions import _var_es
from test_kills_metrics_compare import LEVELS, NAMES, N, T, _mean_one, _set
from test_kills_metrics_result import _quantile

from riskmodel.metrics.compare import comparison_from_results
from riskmodel.metrics.contributions import risk_contributions
from riskmodel.metrics.figures import (
    FAN_QUANTILES,
    XRANGE_LEVELS,
    Fan,
    LossDistribution,
    Occupancy,
    ScenarioDistributions,
    contributions_data,
    pick_level,
)
from riskmodel.metrics.result import SimulationResult

pytestmark = pytest.mark.filterwarnings("ignore::riskmodel.errors.TailResolutionWarning")


def _totals(res: SimulationResult, variable: str = "loss") -> tuple[list[float], list[float]]:
    return res.total(variable).values.tolist(), res.weights.tolist()


def test_a_loss_distribution_carries_the_run_and_its_quantile_range():
    res = _set()["severe"]
    x, w = _totals(res, "churn")
    dist = LossDistribution.from_result(res, "churn")
    assert (dist.scenario, dist.variable, dist.units) == ("severe", "churn", "")
    assert (dist.horizon, dist.paths) == (T, N)
    assert dist.values.tolist() == x and dist.weights.tolist() == w
    assert dist.quantile_range == tuple(_quantile(x, w, q) for q in XRANGE_LEVELS)
    assert dist.measures.var == res.risk("churn").var
    assert dist.exact == pytest.approx(math.fsum(res.data["exact_churn"].values.tolist()))
    given = res.risk("churn", levels=(0.5,))
    assert LossDistribution.from_result(res, "churn", given).measures is given
    assert LossDistribution.from_result(res, "churn", given, risk=False).measures is given
    bare = LossDistribution.from_result(res, "margin", risk=False)
    assert bare.measures is None and bare.x_range() == bare.quantile_range
    m = dist.measures  # marks outside the quantile range widen it
    narrow = dataclasses.replace(dist, quantile_range=(m.expected, m.expected))
    marks = [m.expected, *m.var.values(), *m.es.values()]
    assert narrow.x_range() == (min(marks), max(marks)) != narrow.quantile_range


def test_scenario_distributions_of_a_dict_mark_el_and_es_at_the_level():
    results = _set(exact=(True, False, True))
    got = ScenarioDistributions.from_results(results)
    assert got.level == 0.95 and list(got.runs) == NAMES
    assert got.exact == {"base": True, "mild": False, "severe": True}
    for name, res in results.items():
        x, w = _totals(res)
        run = got.runs[name]
        assert run.measures is None and run.values.tolist() == x
        el = math.fsum(res.data["exact_loss"].values.tolist()) if got.exact[name] else None
        if el is None:
            el = math.fsum(a * b for a, b in zip(x, w, strict=True)) / math.fsum(w)
        assert got.marks[name][0] == pytest.approx(el, rel=1e-12)
        assert got.marks[name][1] == pytest.approx(_var_es(x, _mean_one(w), 0.95)[1], rel=1e-12)
    at_90 = ScenarioDistributions.from_results(results, 0.9)
    x, w = _totals(results["mild"])
    assert at_90.level == 0.9
    assert at_90.marks["mild"][1] == pytest.approx(_var_es(x, _mean_one(w), 0.9)[1], rel=1e-12)


def test_scenario_distributions_of_a_comparison_read_its_table():
    results = _set()
    cmp = comparison_from_results(
        results, paths=N, seed=1, entropy=1, weights=None, baseline="base", levels=LEVELS
    )
    got = ScenarioDistributions.from_results(cmp, 0.9)
    assert got.level == 0.9 and list(got.runs) == NAMES and all(got.exact.values())
    for i, name in enumerate(NAMES):
        x, w = _totals(results[name])
        assert got.marks[name] == (
            float(cmp.data["expected"].values[i]),
            float(cmp.data["es"].values[i, 0]),
        )
        assert got.marks[name][1] == pytest.approx(_var_es(x, _mean_one(w), 0.9)[1], rel=1e-12)
    at_95 = ScenarioDistributions.from_results(cmp)  # the second level: the table's column 1
    assert at_95.level == 0.95
    assert at_95.marks["mild"][1] == float(cmp.data["es"].values[1, 1])


def test_runs_without_the_marked_level_get_its_es_computed():
    results = _set()
    only_90 = SimulationResult(results["base"].data.assign_attrs(levels=[0.9]))
    got = ScenarioDistributions.from_results({"base": only_90, "mild": results["mild"]})
    x, w = _totals(only_90)
    assert got.level == 0.95
    assert got.marks["base"][1] == pytest.approx(_var_es(x, _mean_one(w), 0.95)[1], rel=1e-12)


@pytest.mark.parametrize("bad", [{}, [1, 2], None])
def test_scenario_distributions_refuse_what_is_not_runs(bad):
    with pytest.raises(TypeError, match="`results` must be a ComparisonResult or a non-empty dict"):
        ScenarioDistributions.from_results(bad)


def test_pick_level_tolerates_rounding_only():
    assert pick_level([0.9, 0.99 + 1e-13], None) == 0.99
    assert pick_level([0.9, 0.99 + 1e-11], None) == 0.99 + 1e-11  # the highest
    assert pick_level([0.9, 0.95], 0.9 + 1e-13) == 0.9 + 1e-13
    with pytest.raises(ValueError, match=r"`level` must be one of \[0.9, 0.95\]; got 0.9001"):
        pick_level([0.9, 0.95], 0.9001)


def test_fans_and_occupancy_of_a_run():
    res = _set(exact=(False, True, True))["base"]
    fan = Fan.loss(res)
    assert fan.scenario == "base" and not fan.exact
    assert fan.periods.tolist() == res.data["period"].values.tolist()
    w = res.weights.tolist()
    col = res.data["loss"].values[:, 2].tolist()
    assert fan.band[:, 2].tolist() == [_quantile(col, w, q) for q in FAN_QUANTILES]
    cdr = Fan.cumulative_default_rate(res)
    rate = res.cumulative_default_rate(FAN_QUANTILES)
    assert cdr.scenario == "base" and not cdr.exact
    np.testing.assert_array_equal(cdr.band, rate["quantiles"].values)
    np.testing.assert_array_equal(cdr.expected, rate["expected"].values)
    np.testing.assert_array_equal(cdr.periods, rate["period"].values)
    exact = Fan.cumulative_default_rate(_set()["mild"])
    assert exact.exact
    occ = xr.DataArray(np.arange(2.0 * T).reshape(2, T), dims=("state", "period"))
    got = Occupancy.from_result(SimulationResult(res.data.assign(occupancy=occ)))
    assert got.scenario == "base" and got.occupancy.dims == ("period", "state")


def test_contributions_data_passes_a_dataset_and_computes_from_a_run():
    res = _set()["base"]
    ds = risk_contributions(res.data)
    assert contributions_data(ds) is ds
    got = contributions_data(res)
    xr.testing.assert_identical(got, ds)
    with pytest.raises(Exception):  # noqa: B017 - a dataset without the contributions' variables
        contributions_data(xr.Dataset({"expected": ((), 1.0)}))
