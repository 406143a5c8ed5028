"""Scenario sets: common random numbers, ordering of the bundled set, weights, the figure."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from matplotlib.axes import Axes

import riskmodel as rm
from riskmodel.api import compare_scenarios
from riskmodel.metrics.compare import ComparisonError, ComparisonResult
from riskmodel.plotting.comparison import plot_comparison

REPO = Path(rm.__file__).resolve().parents[1]
BUNDLED = [REPO / "scenarios" / f"{n}.yaml" for n in ("baseline", "adverse", "severe")]
TINY = Path(__file__).resolve().parents[1] / "scenarios" / "tiny.yaml"


@pytest.fixture(scope="module")
def bundled() -> ComparisonResult:
    return compare_scenarios(
        [rm.load_scenario(f) for f in BUNDLED], paths=2000, seed=11, progress=False
    )


def _tiny(**updates) -> rm.Scenario:
    return rm.load_scenario(TINY).with_options(**updates)


def test_same_scenario_under_two_names_gives_identical_rows():
    cmp = compare_scenarios([_tiny(name="a"), _tiny(name="b", seed=99)], paths=700, seed=4)
    frame = cmp.to_dataframe()
    assert list(frame.index) == ["a", "b"]
    a, b = frame.loc["a"], frame.loc["b"]
    assert a.drop("weight").equals(b.drop("weight"))
    np.testing.assert_array_equal(cmp.results["a"].data["loss"], cmp.results["b"].data["loss"])
    assert cmp.data.attrs["seed"] == "4" and cmp.data.attrs["paths"] == 700


def test_common_random_numbers_make_a_stress_monotone_path_by_path():
    # a downturn shift moves every path's factor the same way: losses rise on (almost) every
    # path, far more reliably than independent runs would show
    cmp = compare_scenarios(
        [
            _tiny(name="base", systematic={"shift": 0.0}),
            _tiny(name="down", systematic={"shift": -1}),
        ],
        paths=800,
        seed=3,
    )
    base = cmp.results["base"].total("loss").values
    down = cmp.results["down"].total("loss").values
    assert np.mean(down > base) > 0.9


# Runs of the tiny scenario (levels 0.95, 0.99, importance-sampled) need about 600 paths for 50
# effective paths beyond the 99% VaR; fewer warn with TailResolutionWarning.


def test_default_seed_and_paths_come_from_the_files():
    cmp = compare_scenarios([_tiny(name="a", paths=700, seed=5), _tiny(name="b", paths=900)])
    assert cmp.data.attrs["paths"] == 900 and cmp.data.attrs["seed"] == "5"


def test_bundled_scenarios_rise_from_baseline_to_adverse_to_severe(bundled):
    frame = bundled.to_dataframe()
    assert list(frame.index) == ["baseline", "adverse", "severe"]
    for column in ("expected", "es_0.99", "es_0.999", "var_0.99", "ecl_lifetime"):
        values = frame[column].to_numpy()
        assert values[0] < values[1] < values[2], column
    # far apart: each step is many standard errors
    el, se = frame["expected"].to_numpy(), frame["stderr_expected"].to_numpy()
    assert np.all(np.diff(el) > 10 * (se[1:] + se[:-1]))
    assert bundled.weights is None and bundled.weighted_ecl is None


def test_weighted_ecl_is_the_weighted_sum():
    weights = [0.5, 0.3, 0.2]
    scenarios = [
        _tiny(name=f"s{i}", weight=w, lgd={"mean": 0.2 + 0.2 * i}) for i, w in enumerate(weights)
    ]
    cmp = compare_scenarios(scenarios, paths=1000, seed=2)
    ecl = cmp.data["ecl_lifetime"].values
    ecl12 = cmp.data["ecl_12_period"].values
    assert cmp.weighted_ecl == pytest.approx(float(np.dot(weights, ecl)), rel=1e-14)
    assert cmp.weighted_ecl_12_period == pytest.approx(float(np.dot(weights, ecl12)), rel=1e-14)
    for i, sc in enumerate(["s0", "s1", "s2"]):
        assert ecl[i] == pytest.approx(cmp.results[sc].ecl()["lifetime"], rel=1e-14)
    block = cmp.to_dict()
    assert block["weighted_ecl"]["lifetime"] == cmp.weighted_ecl
    assert [r["weight"] for r in block["scenarios"]] == weights
    json.dumps(block, allow_nan=False)


def test_comparison_round_trips_through_netcdf(tmp_path):
    import xarray as xr

    cmp = compare_scenarios([_tiny(name="a"), _tiny(name="b")], paths=1000, seed=1)
    with xr.open_dataset(cmp.to_netcdf(tmp_path / "cmp.nc")) as back:
        xr.testing.assert_allclose(back.load(), cmp.data)


@pytest.mark.parametrize(
    ("weights", "match"),
    [
        ([0.5, 0.4], r"must sum to 1 .* sum to 0\.9"),
        ([0.5, None], "on every file or on none"),
        ([0.5, 0.5 + 1e-6], "must sum to 1"),
    ],
)
def test_bad_weights_are_refused_naming_each_scenario(weights, match):
    scenarios = [_tiny(name=f"s{i}", weight=w) for i, w in enumerate(weights)]
    with pytest.raises(ComparisonError, match=match) as info:
        compare_scenarios(scenarios, paths=10)
    message = str(info.value)
    assert str(TINY) in message
    for w in weights:
        assert ("none" if w is None else f"{w:g}") in message


@pytest.mark.filterwarnings("ignore::riskmodel.errors.TailResolutionWarning")  # 10 paths
def test_weights_within_tolerance_are_accepted():
    scenarios = [
        _tiny(name="a", weight=0.1),
        _tiny(name="b", weight=0.2),
        _tiny(name="c", weight=0.7),
    ]
    assert compare_scenarios(scenarios, paths=10).weights.sum() == pytest.approx(1.0)


def test_duplicate_names_and_empty_sets_are_refused():
    with pytest.raises(ComparisonError, match=r"unique.*\['tiny'\]"):
        compare_scenarios([_tiny(), _tiny()], paths=10)
    with pytest.raises(ComparisonError, match="at least one"):
        compare_scenarios([], paths=10)


def test_table_layout_and_levels_union():
    a = _tiny(name="a", outputs={"levels": [0.9]})
    b = _tiny(name="b")
    cmp = compare_scenarios([a, b], paths=1000, seed=1)
    assert cmp.levels == [0.9, 0.95, 0.99]
    columns = list(cmp.to_dataframe().columns)
    assert columns[:6] == [
        "weight",
        "expected",
        "stderr_expected",
        "expected_mc",
        "stderr_mc",
        "std",
    ]
    for lv in ("0.9", "0.95", "0.99"):
        for name in ("var", "stderr_var", "es", "stderr_es"):
            assert f"{name}_{lv}" in columns
    for name in ("ecl_lifetime", "ecl_12_period", "expected_defaults", "expected_churn"):
        assert name in columns
    assert "expected_value" in columns


def test_plot_comparison_draws_precomputed_bars(bundled):
    ax = plot_comparison(bundled)
    assert isinstance(ax, Axes)
    containers = {c.get_label(): c for c in ax.containers if hasattr(c, "patches")}
    assert set(containers) == {"EL", "VaR 99%", "ES 99%"}
    heights = [p.get_height() for p in containers["ES 99%"].patches]
    np.testing.assert_allclose(heights, bundled.data["es"].sel(level=0.99).values)
    assert [t.get_text() for t in ax.get_xticklabels()] == bundled.scenarios
    with pytest.raises(ValueError, match="compared levels"):
        plot_comparison(bundled, level=0.5)
