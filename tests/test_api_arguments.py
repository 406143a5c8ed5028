"""Every public entry point checks its arguments and raises riskmodel's own errors (issue 11).

Wrong arguments must fail at once with an `ArgumentError` (an `InputError`, so the command line
maps it to exit 2) naming the argument, never run with a silently converted value
(``paths=1.5`` running one path) or fail deep inside with AttributeError or MemoryError.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import riskmodel as rm
from riskmodel import _validate
from riskmodel.sensitivity import sobol, tornado
from riskmodel.simulation import engine

BAD_SIMULATE = [
    ("paths", 1.5),
    ("paths", 1000.0),
    ("paths", "100"),
    ("paths", 0),
    ("paths", -5),
    ("paths", True),
    ("paths", np.float64(2048)),
    ("workers", 0),
    ("workers", 1.0),
    ("seed", -1),
    ("seed", 1.5),
    ("seed", "7"),
    ("seed", False),
    ("batch", 0),
    ("batch", "4096"),
    ("backend", "x"),
    ("backend", "Local"),
    ("backend", 1),
    ("importance_sampling", "yes"),
    ("importance_sampling", 1),
    ("progress", "no"),
    ("trust_scenario_scheduler", "yes"),
    ("memory_limit", 0),
    ("memory_limit", 1.5e9),
]

IDS = [f"{n}={v!r}" for n, v in BAD_SIMULATE]


@pytest.fixture(scope="module")
def scenario():
    tiny = yaml.safe_load((Path(__file__).parent / "scenarios" / "tiny.yaml").read_text())
    return rm.scenario_from_dict(tiny)


@pytest.fixture
def no_engine(monkeypatch):
    """Fail the test if the engine starts simulating: checks must come first."""

    def boom(*args, **kwargs):  # pragma: no cover - only reached on a regression
        raise AssertionError("the engine ran before the arguments were checked")

    monkeypatch.setattr(engine, "_simulate", boom)


@pytest.mark.parametrize(("name", "value"), BAD_SIMULATE, ids=IDS)
def test_simulate_refuses_a_wrong_argument(scenario, no_engine, name, value):
    with pytest.raises(rm.ArgumentError, match=f"`{name}`") as info:
        rm.simulate(scenario, **{name: value})
    assert isinstance(info.value, rm.InputError)
    assert repr(value)[:20] in str(info.value) or str(value) in str(info.value)


@pytest.mark.parametrize(("name", "value"), BAD_SIMULATE[:8], ids=IDS[:8])
def test_run_refuses_the_same_arguments(tiny_yaml, no_engine, name, value):
    with pytest.raises(rm.ArgumentError, match=f"`{name}`"):
        rm.run(tiny_yaml, **{name: value})


def test_simulate_given_a_file_name_says_how_to_load_it(tiny_yaml):
    for given_path in ("x.yaml", tiny_yaml):
        with pytest.raises(rm.ArgumentError) as info:
            rm.simulate(given_path)
        message = str(info.value)
        assert "rm.load_scenario(" in message and "rm.run(path)" in message


@pytest.mark.parametrize("bad", [None, 3, {"name": "x"}, ["a.yaml"]])
def test_simulate_refuses_what_is_not_a_scenario(bad):
    with pytest.raises(rm.ArgumentError, match="Scenario"):
        rm.simulate(bad)


@pytest.mark.parametrize("bad", [None, 3, "", ["a.yaml"]])
def test_run_refuses_what_is_neither_a_file_nor_a_scenario(bad):
    with pytest.raises(rm.ArgumentError, match="scenario file name"):
        rm.run(bad)


def test_run_names_an_unknown_option(scenario):
    with pytest.raises(rm.ArgumentError, match=r"unknown option\(s\) \['pathz'\]"):
        rm.run(scenario, pathz=100)


@pytest.mark.parametrize(
    "kwargs",
    [{"paths": 1.5}, {"paths": "100"}, {"seed": -1}, {"progress": "yes"}, {"memory_limit": 0}],
)
def test_compare_refuses_wrong_arguments(scenario, no_engine, kwargs):
    with pytest.raises(rm.ArgumentError):
        rm.compare_scenarios([scenario], **kwargs)


@pytest.mark.parametrize("bad", ["a.yaml", ["a.yaml", "b.yaml"], 3])
def test_compare_refuses_file_names(bad):
    with pytest.raises(rm.ArgumentError, match="load_scenario"):
        rm.compare_scenarios(bad)


FACTORS = {"lgd.mean": (0.3, 0.5)}


@pytest.mark.parametrize("kwargs", [{"paths": 1.5}, {"paths": 0}, {"seed": -1}, {"n": 1.5}])
def test_run_sensitivity_refuses_wrong_arguments(scenario, kwargs):
    config = {"factors": [{"name": "lgd.mean", "low": 0.3, "high": 0.5}]}
    with pytest.raises(rm.ArgumentError):
        rm.run_sensitivity(scenario, config, **kwargs)


def test_run_sensitivity_refuses_a_file_name(tiny_yaml):
    with pytest.raises(rm.ArgumentError, match="load_scenario"):
        rm.run_sensitivity(str(tiny_yaml))


@pytest.mark.parametrize(
    "kwargs", [{"paths": 1.5}, {"paths": "100"}, {"seed": -1}, {"bootstrap": 1}, {"backend": "x"}]
)
def test_tornado_refuses_wrong_arguments(scenario, kwargs):
    with pytest.raises(rm.ArgumentError):
        tornado(scenario, FACTORS, ["var_0.99"], **kwargs)


@pytest.mark.parametrize("kwargs", [{"paths": 1.5}, {"n": 8.0}, {"seed": 1.5}, {"batch": 0}])
def test_sobol_refuses_wrong_arguments(scenario, kwargs):
    with pytest.raises(rm.ArgumentError):
        sobol(scenario, FACTORS, ["var_0.99"], **kwargs)


@pytest.mark.parametrize("levels", ["0.99", True, [0.9, 1.5], [0.0], [np.nan], [None]])
def test_risk_measures_refuses_wrong_levels(levels):
    with pytest.raises(rm.ArgumentError, match="levels"):
        rm.risk_measures(np.arange(100.0), levels=levels)


@pytest.mark.parametrize("levels", ["0.99", (0.5, 2.0), (True,)])
def test_result_risk_refuses_wrong_levels(scenario, levels):
    result = rm.simulate(scenario, paths=1024, seed=1, progress=False)
    with pytest.raises(rm.ArgumentError, match="levels"):
        result.risk(levels=levels)


@pytest.mark.parametrize(
    "kwargs", [{"paths": 1.5}, {"paths": "100"}, {"paths": True}, {"seed": -1}, {"horizon": 2.0}]
)
def test_with_options_refuses_wrong_types(scenario, kwargs):
    with pytest.raises(rm.ArgumentError, match=next(iter(kwargs))):
        scenario.with_options(**kwargs)


def test_with_options_keeps_the_schema_limits(scenario):
    with pytest.raises(rm.ScenarioError, match="paths"):
        scenario.with_options(paths=10**10)  # a whole number, but above the schema's limit
    assert scenario.with_options(paths=np.int64(2048)).config.paths == 2048


# --------------------------------------------------------------------------- properties
NOT_A_COUNT = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.booleans(),
    st.integers(max_value=0),
    st.lists(st.integers(min_value=1), max_size=2),
    st.none().map(lambda _: object()),
)


@given(value=NOT_A_COUNT)
def test_check_count_refuses_everything_but_whole_numbers_in_range(value):
    with pytest.raises(rm.ArgumentError, match="`paths`"):
        _validate.check_count("paths", value)


@given(value=st.integers(min_value=1, max_value=10**18), numpy=st.booleans())
def test_check_count_returns_whole_numbers_unchanged(value, numpy):
    given_value = np.int64(value) if numpy else value
    out = _validate.check_count("paths", given_value)
    assert out == value and type(out) is int


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from(["paths", "batch", "workers"]), value=NOT_A_COUNT)
def test_simulate_refuses_any_non_count(scenario, name, value):
    with pytest.raises(rm.ArgumentError, match=f"`{name}`"):
        rm.simulate(scenario, **{name: value}, progress=False)


@given(
    levels=st.lists(
        st.floats(min_value=1e-9, max_value=1 - 1e-9, allow_nan=False), min_size=1, max_size=5
    )
)
def test_check_levels_accepts_levels_in_the_open_interval(levels):
    assert _validate.check_levels(levels) == tuple(levels)


@pytest.mark.parametrize("bad", [None, 3, "", ["a.yaml"]])
def test_load_scenario_refuses_what_is_not_a_file_name(bad):
    with pytest.raises(rm.ArgumentError, match="scenario YAML file"):
        rm.load_scenario(bad)


def test_load_scenario_given_a_scenario_says_to_use_it(scenario):
    with pytest.raises(rm.ArgumentError, match="already a loaded Scenario"):
        rm.load_scenario(scenario)


def test_public_constructors_take_their_options_by_keyword():
    # issue 12: `TransitionModel(states, "partial")` would silently bind the wrong option
    states = rm.LIFECYCLE
    with pytest.raises(TypeError, match="positional"):
        rm.TransitionModel(states, "partial")
    with pytest.raises(TypeError, match="positional"):
        rm.DefaultModel(["unemployment"])
    with pytest.raises(TypeError, match="positional"):
        rm.StateSpace(["a", "b"], ["b"], "b")
    assert rm.TransitionModel(states, pooling="partial").pooling == "partial"
