"""Reading and deriving are separate: `derive` is pure, and `with_options` reads no file.

`with_options` and `without_action` validate a new config and derive again from the portfolio and
posterior draws the scenario holds (issue 12). What they return must equal a fresh load of the
updated file, array for array, and must not need the files any more.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

import riskmodel as rm
from riskmodel.config.safe_yaml import read_yaml
from riskmodel.data.portfolio import Portfolio
from riskmodel.errors import ArgumentError
from riskmodel.models.draws import load_parameter_draws
from riskmodel.scenarios.scenario import derive, validate_config

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
ARRAYS = ("transitions", "correlation", "shift", "discount_rate", "ead_factor", "ead_scale")


def assert_same_scenario(a: rm.Scenario, b: rm.Scenario) -> None:
    """Every derived field of `a` equals `b`'s (arrays bit for bit)."""
    assert a.config == b.config
    for name in ARRAYS:
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
        assert getattr(a, name).dtype == getattr(b, name).dtype, name
        assert not getattr(a, name).flags.writeable, name
    assert a.segments == b.segments
    assert a.states.names == b.states.names
    assert a.portfolio.table.equals(b.portfolio.table)
    assert dict(a.stresses) == dict(b.stresses)
    assert a.period == b.period and a.conversion == b.conversion


def _posterior_layout(folder: Path, draws: int = 5) -> Path:
    """baseline.yaml with a small posterior (two segments, `draws` draws) and the portfolio."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(SCENARIOS / "portfolio.csv", folder / "portfolio.csv")
    data = read_yaml(SCENARIOS / "posterior" / "baseline.yaml")
    states = rm.LIFECYCLE
    rng = np.random.default_rng(0)
    alpha = 1.0 + 30.0 * np.eye(states.n)  # rows that mostly stay, so shocks have room
    p = np.stack([rng.dirichlet(a, size=(draws, 2)) for a in alpha], axis=2)
    p[..., states.absorbing_idx, :] = np.eye(states.n)[states.absorbing_idx]
    rm.ParameterDraws(
        states, ("cards", "loans"), p, correlation=rng.uniform(0.05, 0.2, draws)
    ).to_netcdf(folder / "fitted.nc")
    text = (SCENARIOS / "posterior" / "baseline.yaml").read_text()
    path = folder / "baseline.yaml"
    path.write_text(text.replace("file: ../portfolio.csv", "file: portfolio.csv"))
    assert data["parameters"]["posterior"] == "fitted.nc"
    return path


UPDATES = [
    {"seed": 2, "paths": 500},
    {"horizon": 7, "systematic": {"shift": [-1.0, -0.5]}},
    {"simulation": {"parameter_uncertainty": False}},
    {"shocks": [{"default_multiplier": [1.5, 1.2, 1.0]}], "lgd": {"addon": 0.05}},
    {"annual_discount_rate": 0.05, "discount_rate": 0.0, "period": {"length": 3}},
]


@pytest.mark.parametrize("updates", UPDATES, ids=lambda u: ",".join(u))
def test_with_options_equals_a_fresh_load_and_reads_no_file(tmp_path, monkeypatch, updates):
    path = _posterior_layout(tmp_path / "scn")
    monkeypatch.chdir(tmp_path)
    scenario = rm.load_scenario(path)
    assert scenario.n_draws == 5
    data = read_yaml(path)
    for key, value in updates.items():
        merge = isinstance(value, dict) and isinstance(data.get(key), dict)
        data[key] = {**data[key], **value} if merge else value
    fresh = rm.scenario_from_dict(data, base_dir=path.parent)
    shutil.rmtree(tmp_path / "scn")  # any read from here on fails
    again = scenario.with_options(**updates)
    assert_same_scenario(again, fresh)
    assert again.inputs == scenario.inputs  # provenance of the files read at load
    assert again.source == scenario.source and again.base_dir == scenario.base_dir


def test_posterior_mean_run_is_derived_from_the_draws_held(tmp_path):
    path = _posterior_layout(tmp_path)
    scenario = rm.load_scenario(path)
    mean = scenario.with_options(simulation={"parameter_uncertainty": False})
    assert mean.n_draws == 1
    draws = load_parameter_draws(tmp_path / "fitted.nc").mean()
    np.testing.assert_array_equal(mean.transitions[0], draws.transitions[0])
    # and back: the full draws again, from the same object, not from the file
    (tmp_path / "fitted.nc").unlink()
    back = mean.with_options(simulation={"parameter_uncertainty": True})
    assert_same_scenario(back, scenario)


def test_derive_from_what_was_read_equals_load(tmp_path):
    path = _posterior_layout(tmp_path)
    loaded = rm.load_scenario(path)
    config = validate_config(read_yaml(path), path)
    derived = derive(
        config,
        Portfolio.from_csv(tmp_path / "portfolio.csv"),
        load_parameter_draws(tmp_path / "fitted.nc"),
    )
    assert_same_scenario(derived, loaded)
    assert derived.inputs == {} and derived.source is None  # provenance only as given


def test_derive_of_inline_cohorts_and_point_matrices(tiny_config):
    loaded = rm.scenario_from_dict(tiny_config)
    assert_same_scenario(derive(validate_config(tiny_config, None)), loaded)


def test_derive_needs_the_inputs_the_config_names(tmp_path, tiny_config):
    path = _posterior_layout(tmp_path)
    config = validate_config(read_yaml(path), path)
    with pytest.raises(ArgumentError, match=r"Portfolio\.from_csv"):
        derive(config, None, load_parameter_draws(tmp_path / "fitted.nc"))
    with pytest.raises(ArgumentError, match="pass the draws read from it"):
        derive(config, Portfolio.from_csv(tmp_path / "portfolio.csv"), None)
    inline = validate_config(tiny_config, None)
    with pytest.raises(ArgumentError, match="inline `portfolio: cohorts`"):
        derive(inline, Portfolio.from_csv(tmp_path / "portfolio.csv"))


def test_without_action_equals_a_fresh_load_without_it(tmp_path, monkeypatch):
    path = SCENARIOS / "retention_action.yaml"
    scenario = rm.load_scenario(path)
    data = read_yaml(path)
    name = data["actions"][0]["name"]
    data["actions"] = [a for a in data["actions"] if a["name"] != name]
    fresh = rm.scenario_from_dict(data, base_dir=SCENARIOS)
    monkeypatch.chdir(tmp_path)  # nothing relative to the current folder is read
    assert_same_scenario(scenario.without_action(name), fresh)


def test_with_options_refuses_to_read_another_file(tmp_path):
    path = _posterior_layout(tmp_path)
    scenario = rm.load_scenario(path)
    with pytest.raises(ArgumentError, match=r"parameters -> posterior \('other.nc'"):
        scenario.with_options(parameters={"posterior": "other.nc"})
    with pytest.raises(ArgumentError, match=r"portfolio -> file \('p2.csv'"):
        scenario.with_options(portfolio={"file": "p2.csv"})
    # inline cohorts instead of the file need no file: allowed, and equal to a fresh load
    cohorts = [{"segment": "cards", "state": "new", "customers": 10, "exposure": 1e4}]
    inline = scenario.with_options(portfolio={"file": None, "cohorts": cohorts})
    assert inline.portfolio.total_customers == 10
    data = read_yaml(path)
    data["portfolio"] = {"cohorts": cohorts}
    assert_same_scenario(inline, rm.scenario_from_dict(data, base_dir=tmp_path))


def test_with_options_revalidates_states_against_the_portfolio_held(tmp_path):
    path = _posterior_layout(tmp_path)
    scenario = rm.load_scenario(path)
    states = scenario.config.states.model_dump()
    states["names"] = [n if n != "new" else "fresh" for n in states["names"]]
    with pytest.raises(rm.ScenarioError, match="portfolio -> file"):
        scenario.with_options(states=states)
