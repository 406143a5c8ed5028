"""The scenario `period:` key: validation, the 12-month ECL window, annual discounting, and point
matrices of another period length (`parameters -> matrix_period`)."""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pytest
import scipy.linalg as sl

import riskmodel as rm
from riskmodel.metrics.expectations import exact_summary
from riskmodel.models.generator import generator_from_matrix
from riskmodel.scenarios.period import Period, ecl_window_sum
from riskmodel.simulation.expected import expected_term_structure

# The agency-style one-year rating matrix of tests/models/test_intensity_generator.py (rows in %;
# zero AAA -> D although AAA -> ... -> D is possible, so it has no valid generator).
AGENCY = (
    np.array(
        [
            [90.81, 8.33, 0.68, 0.06, 0.12, 0.00, 0.00, 0.00],
            [0.70, 90.65, 7.79, 0.64, 0.06, 0.14, 0.00, 0.02],
            [0.09, 2.27, 91.05, 5.52, 0.74, 0.26, 0.01, 0.06],
            [0.02, 0.33, 5.95, 86.93, 5.30, 1.17, 0.12, 0.18],
            [0.03, 0.14, 0.67, 7.73, 80.53, 8.84, 1.00, 1.06],
            [0.00, 0.11, 0.24, 0.43, 6.48, 83.46, 4.07, 5.20],
            [0.22, 0.00, 0.22, 1.30, 2.38, 11.24, 64.86, 19.78],
            [0.00, 0.00, 0.00, 0.00, 0.00, 0.00, 0.00, 100.0],
        ]
    )
    / 100.0
)
AGENCY = AGENCY / AGENCY.sum(axis=1, keepdims=True)
GRADES = ["AAA", "AA", "A", "BBB", "BB", "B", "CCC", "D"]


def rating_scenario(**extra) -> dict:
    """A rating-grade book on the annual agency matrix; monthly periods unless `extra` says."""
    data = {
        "name": "ratings",
        "horizon": 24,
        "paths": 100,
        "seed": 3,
        "states": {"names": GRADES, "absorbing": ["D"], "default": "D"},
        "portfolio": {
            "cohorts": [
                {"segment": "corp", "state": g, "customers": 1000, "exposure": 1.0e6}
                for g in GRADES[:-1]
            ]
        },
        "parameters": {
            "transitions": {"corp": AGENCY[:-1].tolist()},
            "matrix_period": {"length": 1, "unit": "year"},
        },
        "systematic": {"correlation": 0.1},
        "lgd": {"mean": 0.45},
    }
    data.update(extra)
    return data


def load(data: dict):
    return rm.scenario_from_dict(copy.deepcopy(data))


# ------------------------------------------------------------------------------- validation
@pytest.mark.parametrize(
    ("period", "words"),
    [
        ({"length": 0}, ("period -> length", "above 0")),
        ({"length": -3, "unit": "month"}, ("period -> length",)),
        ({"unit": "week"}, ("period -> unit", "'day', 'month', 'quarter' or 'year'", "week")),
        ({"length": True}, ("period", "true/false")),
        ({"lenght": 3}, ("period -> lenght", "Did you mean 'length'")),
        ("quarter", ("period",)),
    ],
)
def test_a_bad_period_names_the_field_and_the_fix(tiny_config, period, words):
    tiny_config["period"] = period
    with pytest.raises(rm.ScenarioError) as err:
        load(tiny_config)
    for word in words:
        assert word in str(err.value)


def test_matrix_period_and_time_unit_belong_to_their_source(tiny_config):
    bad = copy.deepcopy(tiny_config)
    bad["parameters"]["time_unit"] = "year"
    with pytest.raises(rm.ScenarioError, match=r"matrix_period: \{length: 1, unit: year\}"):
        load(bad)
    bad = copy.deepcopy(tiny_config)
    bad["parameters"] = {"posterior": "x.nc", "matrix_period": {"length": 1, "unit": "year"}}
    with pytest.raises(rm.ScenarioError, match="Remove `matrix_period`"):
        load(bad)


def test_annual_and_per_period_discount_rates_exclude_each_other(tiny_config):
    tiny_config["annual_discount_rate"] = 0.05  # tiny has discount_rate: 0.004 per period
    with pytest.raises(rm.ScenarioError, match="give one of `discount_rate`"):
        load(tiny_config)


# ------------------------------------------------------------------------------- months
def test_the_default_period_is_one_month_and_changes_no_number(tiny_config):
    """A scenario without `period` and one with `period: {length: 1, unit: month}` are the same
    run: every figure of the summary is bit-identical, and 12_month is the first 12 periods."""
    tiny_config["horizon"] = 18
    plain = rm.simulate(load(tiny_config), paths=1000).summary()
    tiny_config["period"] = {"length": 1, "unit": "month"}
    explicit = rm.simulate(load(tiny_config), paths=1000).summary()
    plain.pop("riskmodel_version"), explicit.pop("riskmodel_version")
    assert plain == explicit
    ecl = plain["ecl"]
    assert ecl["12_month"] == ecl["12_period"] == float(np.sum(ecl["by_period"][:12]))
    assert plain["period"] == {"length": 1, "unit": "month", "ecl_12_month_periods": 12.0}
    for state in ecl["by_state"].values():
        assert state["12_month"] == state["12_period"]


@pytest.mark.parametrize(
    ("length", "unit", "window"),
    [(1, "month", 12), (3, "month", 4), (1, "quarter", 4), (2, "quarter", 2), (1, "year", 1)],
)
def test_the_12_month_window_in_periods(length, unit, window):
    assert Period(length, unit).ecl_window == window
    assert Period(length, unit).whole_window


def test_the_12_month_ecl_of_a_quarterly_run_sums_four_periods(tiny_config):
    tiny_config.update(horizon=8, period={"length": 1, "unit": "quarter"})
    sc = load(tiny_config)
    exact = exact_summary(expected_term_structure(sc))["ecl"]
    assert (
        exact["12_month"]
        == exact["12_period"]
        == pytest.approx(sum(exact["by_period"][:4]), rel=1e-15)
    )
    summary = rm.simulate(sc, paths=500).summary()
    assert summary["ecl"]["12_month"] == pytest.approx(exact["12_month"], rel=1e-12)
    assert summary["period"]["ecl_12_month_periods"] == 4.0


def test_a_window_that_is_not_whole_is_interpolated_and_warned(tiny_config):
    """5-month periods: 12 months are 2.4 periods; the 12-month ECL is the first two periods
    plus 0.4 of the third, and the load warns."""
    tiny_config.update(horizon=6, period={"length": 5, "unit": "month"})
    with pytest.warns(rm.PeriodConversionWarning, match="2.4 periods of 5 months"):
        sc = load(tiny_config)
    ecl = exact_summary(expected_term_structure(sc))["ecl"]
    by = ecl["by_period"]
    assert ecl["12_month"] == pytest.approx(by[0] + by[1] + 0.4 * by[2], rel=1e-14)
    # days: 365.25 periods in 12 months (a Julian year)
    assert Period(1, "day").ecl_window == pytest.approx(365.25)


def test_window_sum_edges():
    v = np.array([1.0, 2.0, 4.0])
    assert ecl_window_sum(v, 12.0) == 7.0  # a horizon shorter than the window: all of it
    assert ecl_window_sum(v, 0.5) == 0.5
    assert ecl_window_sum(v, 3.0) == 7.0


def test_annual_discount_rates_are_converted_by_the_period_length(tiny_config):
    tiny_config.pop("discount_rate")
    tiny_config.update(annual_discount_rate=[0.05, 0.08], horizon=3)
    for period, months in (
        ({"length": 1, "unit": "month"}, 1),
        ({"length": 1, "unit": "quarter"}, 3),
    ):
        tiny_config["period"] = period
        sc = load(tiny_config)
        want = (1 + np.array([0.05, 0.08, 0.08])) ** (months / 12) - 1
        np.testing.assert_allclose(sc.discount_rate, want, rtol=1e-15)
        assert sc.stresses["annual_discount_rate"] == [0.05, 0.08, 0.08]
    # a year of monthly discounting at the converted rate is the annual rate exactly
    tiny_config.update(annual_discount_rate=0.05, horizon=12, period={"length": 1, "unit": "month"})
    df = np.cumprod(1 / (1 + load(tiny_config).discount_rate))
    assert df[-1] == pytest.approx(1 / 1.05, rel=1e-14)


# ------------------------------------------------------------------------------- matrix period
def test_an_annual_agency_matrix_runs_monthly_through_its_regularised_generator():
    """The agency matrix has no valid generator: the engine runs on expm(Q/12) with Q its
    Kreinin–Sidelnikova generator, twelve months of which are expm(Q), as far from the published
    matrix as the reported distance."""
    sc = load(rating_scenario())
    fit = generator_from_matrix(AGENCY, period=1.0)
    assert fit.regularised
    monthly = sc.transitions[0, 0]
    np.testing.assert_allclose(monthly, sl.expm(fit.generator / 12), atol=1e-15)
    assert np.all(monthly >= 0) and np.allclose(monthly.sum(axis=1), 1.0, atol=1e-14)
    year = np.linalg.matrix_power(monthly, 12)
    np.testing.assert_allclose(year, sl.expm(fit.generator), atol=1e-13)
    conv = sc.conversion
    assert conv["from"] == {"length": 1, "unit": "year"}
    assert conv["to"] == {"length": 1, "unit": "month"}
    seg = conv["segments"]["corp"]
    assert seg["regularised"] is True
    assert seg["distance_max"] == pytest.approx(np.abs(year - AGENCY).max(), rel=1e-9)
    assert 0 < conv["distance_max"] < 5e-3  # QOG on such matrices (test_intensity_generator)
    # ... and the run reports it
    period = rm.simulate(sc, paths=200).period()  # summary.json's `period`
    assert period["conversion"]["segments"]["corp"]["regularised"] is True
    assert period["conversion"]["distance_max"] == conv["distance_max"]


def test_a_matrix_of_the_scenario_period_is_used_as_given(tiny_config):
    plain = load(tiny_config)
    tiny_config["parameters"]["matrix_period"] = {"length": 1, "unit": "month"}
    same = load(tiny_config)
    np.testing.assert_array_equal(plain.transitions, same.transitions)
    assert same.conversion is None
    # 3 months and 1 quarter are the same length
    tiny_config["parameters"]["matrix_period"] = {"length": 3, "unit": "month"}
    tiny_config["period"] = {"length": 1, "unit": "quarter"}
    np.testing.assert_array_equal(load(tiny_config).transitions, plain.transitions)


def test_a_matrix_of_a_valid_generator_converts_exactly():
    """A matrix that is expm of a generator converts to expm(Q·L) to rounding, unregularised."""
    states = ["a", "b", "d"]
    Q = np.array([[-0.3, 0.2, 0.1], [0.4, -0.6, 0.2], [0.0, 0.0, 0.0]])
    annual = sl.expm(Q)
    data = rating_scenario()
    data["states"] = {"names": states, "absorbing": ["d"], "default": "d"}
    data["portfolio"] = {
        "cohorts": [{"segment": "corp", "state": "a", "customers": 10, "exposure": 10.0}]
    }
    data["parameters"]["transitions"] = {"corp": annual[:2].tolist()}
    data["period"] = {"length": 1, "unit": "quarter"}
    sc = load(data)
    np.testing.assert_allclose(sc.transitions[0, 0], sl.expm(Q / 4), atol=1e-13)
    assert sc.conversion["segments"]["corp"]["regularised"] is False
    assert sc.conversion["distance_max"] < 1e-13


def test_a_far_regularisation_is_warned():
    """A matrix with a large embedding violation (row a: a -> d impossible in a year, yet
    a -> b -> d likely) is reproduced only roughly: the load warns and names the segment."""
    data = rating_scenario()
    data["states"] = {"names": ["a", "b", "d"], "absorbing": ["d"], "default": "d"}
    data["portfolio"] = {
        "cohorts": [{"segment": "corp", "state": "a", "customers": 10, "exposure": 10.0}]
    }
    data["parameters"]["transitions"] = {"corp": [[0.6, 0.4, 0.0], [0.0, 0.5, 0.5]]}
    with pytest.warns(rm.PeriodConversionWarning, match="segment\\(s\\) \\['corp'\\]"):
        sc = load(data)
    assert sc.conversion["distance_max"] > 1e-3


def test_a_matrix_without_a_logarithm_names_the_segment():
    data = rating_scenario()
    data["states"] = {"names": ["a", "b", "d"], "absorbing": ["d"], "default": "d"}
    data["portfolio"] = {
        "cohorts": [{"segment": "corp", "state": "a", "customers": 10, "exposure": 10.0}]
    }
    data["parameters"]["transitions"] = {"corp": [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]}
    with pytest.raises(rm.ScenarioError, match="parameters -> transitions -> corp") as err:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", rm.PeriodConversionWarning)
            load(data)
    assert "no real matrix" in str(err.value) or "determinant" in str(err.value)


def test_the_report_assumptions_state_the_period_and_the_conversion():
    from riskmodel.report.assumptions import assumptions

    sc = load(rating_scenario(period={"length": 1, "unit": "quarter"}, horizon=4))
    text = " ".join(assumptions(sc, rm.simulate(sc, paths=200)))
    assert "Periods of 1 quarter" in text and "covers 4 period(s)" in text
    assert "Matrices converted</b> from periods of 1 year" in text
    assert f"{sc.conversion['distance_max']:.3g}" in text and "corp" in text
