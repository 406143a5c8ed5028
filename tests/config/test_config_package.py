"""One config package (issue 12): one states schema, one YAML reader, and old import paths kept.

The scenario, sensitivity and fit schemas live in `riskmodel.config`; the modules they used to
live in re-export the same objects, so code that imports them from there keeps working and gets
the one definition, not a copy.
"""

from __future__ import annotations

import importlib

import pytest
import yaml

import riskmodel as rm
from riskmodel.config.base import PeriodConfig, StatesConfig
from riskmodel.config.fit import FitConfig, read_fit_config
from riskmodel.config.scenario import ScenarioConfig
from riskmodel.fitting import load_fit_config
from riskmodel.scenarios.period import Period

STATES = {
    "names": ["good", "bad", "gone", "dead"],
    "absorbing": ["gone", "dead"],
    "default": "dead",
    "churn": "gone",
}

# (old module, name, new module): the old path must give the very object of the new one
MOVED = [
    ("riskmodel.scenarios.schema", "ScenarioConfig", "riskmodel.config.scenario"),
    ("riskmodel.scenarios.schema", "ConfigModel", "riskmodel.config.base"),
    ("riskmodel.scenarios.schema", "StatesConfig", "riskmodel.config.base"),
    ("riskmodel.scenarios.schema", "AlertConfig", "riskmodel.config.sections"),
    ("riskmodel.scenarios.schema", "ALERT_METRICS", "riskmodel.config.sections"),
    ("riskmodel.scenarios.errors", "format_validation_error", "riskmodel.config.errors"),
    ("riskmodel.scenarios.errors", "problem_lines", "riskmodel.config.errors"),
    ("riskmodel.scenarios.errors", "ScenarioError", "riskmodel.errors"),
    ("riskmodel.scenarios.safe_yaml", "read_yaml", "riskmodel.config.safe_yaml"),
    ("riskmodel.scenarios.load", "read_yaml", "riskmodel.config.safe_yaml"),
    ("riskmodel.scenarios.load", "Scenario", "riskmodel.scenarios.scenario"),
    ("riskmodel.sensitivity.config", "SensitivityConfig", "riskmodel.config.sensitivity"),
    ("riskmodel.sensitivity.config", "load_sensitivity_config", "riskmodel.config.sensitivity"),
    ("riskmodel.sensitivity.measures", "parse_metric", "riskmodel.config.metrics"),
    ("riskmodel.sensitivity.measures", "DEFAULT_METRICS", "riskmodel.config.metrics"),
    ("riskmodel.metrics.risk", "format_level", "riskmodel.config.metrics"),
    ("riskmodel.fitting", "FitConfig", "riskmodel.config.fit"),
    ("riskmodel.fitting", "write_fit", "riskmodel.fit_output"),
    ("riskmodel.fitting", "FitOutcome", "riskmodel.fit_output"),
]


@pytest.mark.parametrize(("old", "name", "new"), MOVED, ids=lambda x: str(x))
def test_old_import_paths_give_the_one_definition(old, name, new):
    assert getattr(importlib.import_module(old), name) is getattr(
        importlib.import_module(new), name
    )


def test_the_fit_config_uses_the_scenario_states_schema():
    # riskmodel fit had its own copy of the states section; now both use StatesConfig
    assert FitConfig.model_fields["states"].annotation is StatesConfig
    assert ScenarioConfig.model_fields["states"].annotation is StatesConfig


def _fit_yaml(tmp_path, **states):
    path = tmp_path / "model.yaml"
    path.write_text(yaml.safe_dump({"states": {**STATES, **states}}))
    return path


def test_fit_config_states_are_checked_like_a_scenario_s(tmp_path):
    cfg = read_fit_config(_fit_yaml(tmp_path))
    assert cfg.state_space().names == tuple(STATES["names"])
    # a comma in a state name is refused in both (the names are stored comma-separated)
    with pytest.raises(rm.ScenarioError, match=r"states -> names: state names must not contain"):
        load_fit_config(_fit_yaml(tmp_path, names=["good", "b,ad", "gone", "dead"]))
    # the StateSpace's own checks name the section
    with pytest.raises(rm.ScenarioError, match=r"model\.yaml: states: .*'nowhere'"):
        load_fit_config(_fit_yaml(tmp_path, default="nowhere"))


def test_period_of_a_period_section():
    assert Period.of(PeriodConfig(length=3, unit="month")) == Period(3.0, "month")
    assert Period.of(PeriodConfig()).ecl_window == 12.0
