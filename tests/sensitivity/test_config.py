"""The sensitivity config: validated once, with scenario-quality errors."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml

import riskmodel as rm
from riskmodel.sensitivity import (
    SensitivityConfig,
    default_config,
    load_sensitivity_config,
    resolve_factors,
    run_sensitivity,
)

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"

GOOD = {
    "factors": [
        {"name": "systematic.correlation", "low": 0.05, "high": 0.2},
        {"name": "lgd.mean", "low": 0.35, "high": 0.55},
    ],
    "metrics": ["expected_loss", "var_0.99", "es_0.999", "ecl_lifetime", "value"],
    "method": ["tornado", "sobol"],
    "sobol": {"n": 256, "paths": 1000, "seed": 1},
    "tornado": {"paths": 20000},
}


def test_the_documented_example_validates():
    cfg = load_sensitivity_config(GOOD)
    assert isinstance(cfg, SensitivityConfig)
    assert cfg.sobol.n == 256 and cfg.tornado.paths == 20000 and cfg.tornado.seed is None
    assert cfg.metrics == GOOD["metrics"]


def test_method_may_be_a_string_and_metric_levels_are_normalised():
    cfg = load_sensitivity_config(
        {**GOOD, "method": "tornado", "metrics": ["var_0.990", "var_0.99"]}
    )
    assert cfg.method == ["tornado"] and cfg.metrics == ["var_0.99"]


@pytest.mark.parametrize(
    ("change", "field", "needle"),
    [
        ({"sobol": {"n": 100}}, "sobol -> n", "power of 2"),
        ({"sobol": {"nn": 64}}, "sobol -> nn", "Did you mean 'n'?"),
        ({"metrics": ["expected_los"]}, "metrics", "Did you mean 'expected_loss'?"),
        ({"metrics": ["var_1.5"]}, "metrics", "number in (0, 1)"),
        ({"method": ["tornadoo"]}, "method[0]", "Did you mean 'tornado'?"),
        ({"factor": []}, "factor", "Did you mean 'factors'?"),
        ({"factors": [{"name": "lgd.mean", "low": 0.6, "high": 0.4}]}, "factors[0]", "below"),
        ({"tornado": {"paths": 10}}, "tornado -> paths", ">= 100"),
    ],
)
def test_errors_name_the_field_and_the_fix(change, field, needle):
    with pytest.raises(rm.ScenarioError) as exc:
        load_sensitivity_config({**GOOD, **change}, file="sens.yaml")
    problems = dict(exc.value.problems)
    assert field in problems, problems
    assert needle in problems[field]
    assert str(exc.value).startswith("sens.yaml: ")


def test_a_file_with_a_sensitivity_section(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump({"sensitivity": {**GOOD, "sobol": {"n": 60}}}))
    with pytest.raises(rm.ScenarioError) as exc:
        load_sensitivity_config(path)
    assert str(exc.value).startswith(f"{path}: sensitivity -> sobol -> n: must be a power of 2")
    path.write_text(yaml.safe_dump({"sensitivity": GOOD}))
    assert load_sensitivity_config(path).sobol.n == 256


def test_bad_yaml_is_reported_with_the_file(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("factors: [\n")
    with pytest.raises(rm.ScenarioError, match="YAML syntax error"):
        load_sensitivity_config(path)


def test_default_config_is_valid_for_the_bundled_scenarios():
    for name in ("baseline", "adverse", "severe"):
        sc = rm.load_scenario(SCENARIOS / f"{name}.yaml")
        cfg = default_config(sc)
        names = [f.name for f in cfg.factors]
        assert names[:3] == ["systematic.correlation", "lgd.mean", "systematic.shift"]
        assert names[3].startswith("transitions.") and names[3].endswith("->defaulted")
        assert len(resolve_factors(sc, cfg.factors)) == len(names)


def test_an_embedded_sensitivity_section_is_used():
    # forward compatible: once ScenarioConfig has a `sensitivity:` field, run_sensitivity uses it
    sc = rm.load_scenario(SCENARIOS / "baseline.yaml")
    section = {"factors": [{"name": "lgd.mean", "low": 0.3, "high": 0.5}], "method": "tornado"}
    cfg = sc.config.model_copy(update={"sensitivity": {**section, "metrics": ["expected_loss"]}})
    res = run_sensitivity(dataclasses.replace(sc, config=cfg))
    assert res.factors == ["lgd.mean"] and res.methods == ["tornado"]
    cfg = sc.config.model_copy(update={"sensitivity": {**section, "methd": "sobol"}})
    with pytest.raises(rm.ScenarioError) as exc:
        run_sensitivity(dataclasses.replace(sc, config=cfg))
    assert "sensitivity -> methd: unknown key 'methd'. Did you mean 'method'?" in str(exc.value)
