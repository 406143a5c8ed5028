"""Tornado swings: analytic cases, ranking sanity, common random numbers, posterior draws."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

import riskmodel as rm
from riskmodel.sensitivity import apply_factors, tornado
from riskmodel.sensitivity.measures import exact_metrics, parse_metrics


def _one_cohort(*, customers: int, pd: float, rho: float, horizon: int) -> rm.Scenario:
    return rm.scenario_from_dict(
        {
            "name": "one-cohort",
            "horizon": horizon,
            "seed": 3,
            "states": {
                "names": ["performing", "defaulted"],
                "absorbing": ["defaulted"],
                "default": "defaulted",
            },
            "portfolio": {
                "cohorts": [
                    {
                        "segment": "all",
                        "state": "performing",
                        "customers": customers,
                        "exposure": float(customers),
                    }
                ]
            },
            "parameters": {"transitions": {"all": [[1.0 - pd, pd]]}},
            "systematic": {"correlation": rho},
            "lgd": {"mean": 0.4, "sd": 0.0},
        }
    )


def _exact(scenario, name="expected_loss"):
    return exact_metrics(scenario, parse_metrics([name]))[name]


def test_expected_loss_swing_is_linear_in_the_lgd_mean(scenario):
    res = tornado(scenario, {"lgd.mean": (0.3, 0.6)}, ["expected_loss", "ecl_lifetime", "value"])
    ds = res.data
    for metric in ("expected_loss", "ecl_lifetime"):
        base = float(ds["base"].sel(metric=metric))
        swing = float(ds["swing"].sel(metric=metric, factor="lgd.mean"))
        assert swing == pytest.approx(base / 0.45 * (0.6 - 0.3), rel=1e-12)
        assert float(ds["swing_stderr"].sel(metric=metric, factor="lgd.mean")) == 0.0
    assert float(ds["swing"].sel(metric="value", factor="lgd.mean")) == 0.0
    assert ds.attrs["tornado_paths"] == 0  # exact metrics only: nothing simulated


def test_small_pd_move_matches_the_derivative_of_the_exact_expectation(scenario):
    name = "transitions.declining->defaulted"
    low, high = 0.99, 1.01
    res = tornado(scenario, {name: (low, high)}, ["expected_loss", "ecl_lifetime"])
    h = 1e-5
    for metric in ("expected_loss", "ecl_lifetime"):
        up = _exact(apply_factors(scenario, {name: 1 + h}), metric)
        down = _exact(apply_factors(scenario, {name: 1 - h}), metric)
        derivative = (up - down) / (2 * h)
        swing = float(res.data["swing"].sel(metric=metric, factor=name))
        assert swing > 0
        assert swing == pytest.approx(derivative * (high - low), rel=1e-3)


def test_es_is_driven_by_correlation_and_expected_loss_is_not_moved_by_it():
    book = _one_cohort(customers=1_000_000, pd=0.01, rho=0.12, horizon=4)
    res = tornado(
        book,
        {"systematic.correlation": (0.05, 0.25), "transitions.performing->defaulted": (0.9, 1.1)},
        ["expected_loss", "es_0.999"],
        paths=4096,
        seed=2,
    )
    sel = res.data.sel(metric="es_0.999")
    rho_swing, pd_swing = (float(sel["swing"].sel(factor=f)) for f in res.factors)
    rho_se, pd_se = (float(sel["swing_stderr"].sel(factor=f)) for f in res.factors)
    assert abs(rho_swing) - abs(pd_swing) > 4 * math.hypot(rho_se, pd_se)
    assert res.ranking("es_0.999")[0] == "systematic.correlation"
    # the exact EL does not depend on rho when the factor has no shift: exactly zero
    el = res.data.sel(metric="expected_loss")
    assert float(el["swing"].sel(factor="systematic.correlation")) == 0.0
    assert float(el["swing"].sel(factor="transitions.performing->defaulted")) > 0
    assert res.ranking("expected_loss")[0] == "transitions.performing->defaulted"


@pytest.mark.parametrize(
    ("importance_sampling", "max_ratio"),
    # plain MC: measured ratios 0.09 (mean) and 0.22 (VaR); with importance sampling the
    # independent runs are already much tighter, and the VaR ratio measured ~0.34
    [(False, 0.3), (True, 0.5)],
)
@pytest.mark.filterwarnings("ignore::riskmodel.errors.TailResolutionWarning")  # 4,096 paths
def test_common_random_numbers_shrink_the_swing_stderr(big_book, importance_sampling, max_ratio):
    # Common random numbers share the factor innovations exactly; the binomial count draws
    # consume a variable number of uniforms, so the idiosyncratic noise is only partly shared.
    # On a large book with a fixed LGD the systematic part dominates, which is where CRN pays.
    sc = big_book.with_options(simulation={"importance_sampling": importance_sampling})
    low, high, paths = 0.09, 0.11, 4096
    res = tornado(
        sc, {"systematic.correlation": (low, high)}, ["mean_loss", "var_0.99"], paths=paths, seed=1
    )
    a = rm.simulate(apply_factors(sc, {"systematic.correlation": low}), paths=paths, seed=1)
    b = rm.simulate(apply_factors(sc, {"systematic.correlation": high}), paths=paths, seed=2)
    ra, rb = a.risk(levels=(0.99,)), b.risk(levels=(0.99,))
    independent = {
        "mean_loss": math.hypot(ra.stderr_expected, rb.stderr_expected),
        "var_0.99": math.hypot(ra.stderr_var[0.99], rb.stderr_var[0.99]),
    }
    for metric, se_indep in independent.items():
        se_crn = float(res.data["swing_stderr"].sel(metric=metric).item())
        assert 0 < se_crn < max_ratio * se_indep, (metric, se_crn, se_indep)


@pytest.mark.filterwarnings("ignore::riskmodel.errors.TailResolutionWarning")  # 1,500 paths
def test_runs_match_the_engine_and_are_reproducible(scenario):
    kw = {"paths": 1500, "seed": 9}
    factors = {"systematic.shift": (-0.5, 0.5)}
    res = tornado(scenario, factors, ["mean_loss", "var_0.99", "es_0.99"], **kw)
    again = tornado(scenario, factors, ["mean_loss", "var_0.99", "es_0.99"], **kw)
    assert res.data.identical(again.data)
    risk = rm.simulate(scenario, progress=False, **kw).risk(levels=(0.99,))
    base = res.data["base"]
    assert float(base.sel(metric="mean_loss")) == risk.expected
    assert float(base.sel(metric="var_0.99")) == risk.var[0.99]
    assert float(base.sel(metric="es_0.99")) == risk.es[0.99]
    low = rm.simulate(apply_factors(scenario, {"systematic.shift": -0.5}), **kw)
    assert float(res.data["value_low"].sel(metric="mean_loss").item()) == low.risk().expected


def test_mean_loss_swing_agrees_with_the_exact_swing(scenario):
    res = tornado(
        scenario, {"lgd.mean": (0.35, 0.55)}, ["expected_loss", "mean_loss"], paths=4096, seed=4
    )
    sel = res.data.sel(factor="lgd.mean")
    exact = float(sel["swing"].sel(metric="expected_loss"))
    mc, se = (
        float(sel["swing"].sel(metric="mean_loss")),
        float(sel["swing_stderr"].sel(metric="mean_loss")),
    )
    assert abs(mc - exact) < 4 * se


def test_posterior_draw_as_a_factor(posterior_scenario):
    sc = posterior_scenario
    res = tornado(sc, {"posterior.draw": (0.0, 0.99)}, ["expected_loss"])
    first = dataclasses.replace(
        sc, transitions=sc.transitions[[0]], correlation=sc.correlation[[0]]
    )
    last = dataclasses.replace(sc, transitions=sc.transitions[[3]], correlation=sc.correlation[[3]])
    sel = res.data.sel(metric="expected_loss", factor="posterior.draw")
    assert float(sel["value_low"]) == pytest.approx(_exact(first), rel=1e-12)
    assert float(sel["value_high"]) == pytest.approx(_exact(last), rel=1e-12)
    # the base mixes the draws: its EL is the mean of the draws' ELs
    each = [
        _exact(dataclasses.replace(sc, transitions=sc.transitions[[d]],
                                   correlation=sc.correlation[[d]]))
        for d in range(4)
    ]  # fmt: skip
    assert float(res.data["base"].sel(metric="expected_loss")) == pytest.approx(np.mean(each))


def test_result_views(scenario, tmp_path):
    res = tornado(
        scenario,
        {"lgd.mean": (0.35, 0.55), "systematic.shift": (-0.5, 0.5)},
        ["expected_loss", "var_0.99"],
        paths=1024,
        seed=1,
    )
    df = res.to_dataframe()
    assert list(df.columns[:9]) == [
        "metric", "factor", "low", "high", "base", "value_low", "value_high", "swing", "stderr",
    ]  # fmt: skip
    assert len(df) == 4 and df["S1"].isna().all()
    first = df[df.metric == "expected_loss"]
    assert list(first.factor) == res.ranking("expected_loss")
    assert abs(first.swing.iloc[0]) >= abs(first.swing.iloc[1])
    d = res.to_dict()
    assert d["metrics"]["var_0.99"]["factors"][0]["S1"] is None
    import json

    json.dumps(d, allow_nan=False)
    back = type(res).from_netcdf(res.to_netcdf(tmp_path / "s.nc"))
    assert back.methods == ["tornado"] and back.data.attrs["constant_metrics"] == []
    np.testing.assert_array_equal(back.data["swing"], res.data["swing"])
    assert back.factors == res.factors
