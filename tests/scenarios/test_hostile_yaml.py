"""Hostile or careless YAML: alias bombs, duplicate keys, huge files, huge values in messages.

Scenario files, sensitivity configs and fit configs are all read by one reader
(`riskmodel.config.safe_yaml.read_yaml`); each case is checked through every entry point.
"""

from __future__ import annotations

import time
import tracemalloc

import pydantic
import pytest
import yaml

import riskmodel as rm
from riskmodel.config import safe_yaml
from riskmodel.config.errors import MAX_PROBLEMS, format_validation_error, short_repr
from riskmodel.config.scenario import ScenarioConfig
from riskmodel.fitting import load_fit_config
from riskmodel.sensitivity.config import load_sensitivity_config


def billion_laughs(levels: int = 9, key: str = "lol") -> str:
    """The classic: level k is a list of 9 aliases of level k-1; 9**levels strings in all."""
    lines = [f"{key}0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for k in range(1, levels):
        lines.append(f"{key}{k}: &a{k} [" + ", ".join([f"*a{k - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def _refused_fast_and_small(load, path):
    """Run `load(path)`; it must raise ResourceLimitError in < 2 s with a small memory peak."""
    tracemalloc.start()
    start = time.perf_counter()
    try:
        with pytest.raises(rm.ResourceLimitError) as info:
            load(path)
        seconds = time.perf_counter() - start
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # before the fix: minutes and gigabytes (9**9 = 387M strings behind a 1 kB file)
    assert seconds < 2.0, seconds
    assert peak < 50 * 2**20, peak
    message = str(info.value)
    assert message.startswith(f"{path}: ")
    assert (
        f"anchors and aliases (&name / *name) add more than {safe_yaml.MAX_YAML_NODES:,}" in message
    )
    return message


def test_billion_laughs_scenario_is_refused_fast(tmp_path, tiny_config):
    # a valid scenario whose description (shown in messages) and sensitivity section (accepted
    # as "anything" by the schema) are 9**9 = 387M strings behind a 1 kB file
    text = yaml.safe_dump(tiny_config, sort_keys=False) + billion_laughs(key="x_")
    text += "description: *a8\nsensitivity: {factors: *a8}\n"
    path = tmp_path / "bomb.yaml"
    path.write_text(text, encoding="utf-8")
    _refused_fast_and_small(rm.load_scenario, path)


@pytest.mark.parametrize(
    "load",
    [rm.load_scenario, load_sensitivity_config, load_fit_config],
    ids=["scenario", "sensitivity-config", "fit-config"],
)
def test_billion_laughs_refused_by_every_reader(load, tmp_path):
    path = tmp_path / "bomb.yaml"
    path.write_text(billion_laughs())
    _refused_fast_and_small(load, path)


def test_bomb_inside_a_sensitivity_section(tmp_path):
    path = tmp_path / "sens.yaml"
    path.write_text(billion_laughs(key="x") + "sensitivity:\n  factors: *a8\n")
    _refused_fast_and_small(load_sensitivity_config, path)


def test_aliases_below_the_limit_still_work(write_scenario, tiny_config):
    text = yaml.safe_dump(tiny_config, sort_keys=False)
    text = text.replace("discount_rate: 0.004\n", "discount_rate: &rate 0.004\n")
    text += "exposure: {amortisation: *rate}\n"
    sc = rm.load_scenario(write_scenario(text))
    assert sc.config.exposure.amortisation == sc.config.discount_rate == 0.004


def test_a_recursive_anchor_is_refused(write_scenario):
    path = write_scenario("name: x\nloop: &a [1, *a]\n")
    with pytest.raises(rm.ResourceLimitError, match="used inside itself"):
        rm.load_scenario(path)


def test_too_many_alias_uses_are_refused(write_scenario):
    n = safe_yaml.MAX_YAML_ALIASES + 1
    path = write_scenario("name: x\nv: &v 1\nmany: [" + ", ".join(["*v"] * n) + "]\n")
    with pytest.raises(rm.ResourceLimitError, match="alias uses"):
        rm.load_scenario(path)


def test_expanded_size_counts_shared_nodes_once_per_use():
    node = yaml.compose("a: &a [1, 2, 3]\nb: [*a, *a]\n")
    # root mapping 1 + keys 2 + list a (1 + 3) + list b (1 + 2 × 4) = 16
    assert safe_yaml.expanded_size(node) == 16
    with pytest.raises(safe_yaml.YAMLLimitError):
        safe_yaml.expanded_size(node, limit=15)
    assert safe_yaml.expanded_size(node, limit=5, written=11) == 16  # aliases add 5


def test_the_alias_limit_counts_only_what_aliases_add(write_scenario, monkeypatch):
    monkeypatch.setattr(safe_yaml, "MAX_YAML_NODES", 100)
    written = "name: x\nmany: [" + ", ".join(["1"] * 1000) + "]\n"  # 1000 values, no alias
    assert len(safe_yaml.read_yaml(write_scenario(written))["many"]) == 1000
    bomb = "name: x\nten: &t [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\nmore: [" + ", ".join(["*t"] * 10)
    with pytest.raises(rm.ResourceLimitError, match="add more than 100 values"):
        safe_yaml.read_yaml(write_scenario(bomb + "]\n"))  # aliases add 10 × 11 = 110


def test_an_oversized_file_is_refused_before_parsing(tmp_path):
    path = tmp_path / "big.yaml"
    with path.open("w") as fh:
        fh.write("name: x\ndescription: '")
        fh.write("y" * (safe_yaml.MAX_YAML_BYTES + 10))
        fh.write("'\n")
    with pytest.raises(rm.ResourceLimitError, match="MiB"):
        rm.load_scenario(path)


# ------------------------------------------------------------------------ duplicate keys
@pytest.mark.parametrize(
    ("text", "key", "lines"),
    [
        ("name: a\nhorizon: 3\nname: b\n", "name", (1, 3)),
        ("name: a\nlgd:\n  mean: 0.4\n  sd: 0.1\n  mean: 0.5\n", "mean", (3, 5)),
        ("name: a\nlgd: {mean: 0.4, mean: 0.5}\n", "mean", (2, 2)),
        ("name: a\n1: x\n1: y\n", "1", (2, 3)),
    ],
    ids=["top", "nested-block", "flow", "number-key"],
)
def test_duplicate_keys_are_refused_with_both_lines(write_scenario, text, key, lines):
    path = write_scenario(text)
    with pytest.raises(rm.ScenarioError) as info:
        rm.load_scenario(path)
    message = str(info.value)
    assert f"duplicate key {key!r}" in message or f"duplicate key {int(key)}" in message
    assert f"lines {lines[0]} and {lines[1]}" in message
    assert message.startswith(f"{path}: ")


@pytest.mark.parametrize(
    "load", [load_sensitivity_config, load_fit_config], ids=["sensitivity", "fit"]
)
def test_duplicate_keys_in_other_configs(load, tmp_path):
    path = tmp_path / "cfg.yaml"
    path.write_text("draws: 100\nseed: 1\ndraws: 200\n")
    with pytest.raises(rm.ScenarioError, match=r"duplicate key 'draws' at lines 1 and 3"):
        load(path)


def test_a_merge_key_may_be_overridden(write_scenario, tiny_config):
    """`<<: *base` then the same key is YAML's override, not a duplicate."""
    text = yaml.safe_dump(tiny_config, sort_keys=False).replace(
        "lgd:\n  mean: 0.45\n  sd: 0.2\n",
        "base_lgd: &b {mean: 0.30, sd: 0.1}\nlgd:\n  <<: *b\n  mean: 0.45\n",
    )
    data = safe_yaml.read_yaml(write_scenario(text))
    assert data["lgd"] == {"mean": 0.45, "sd": 0.1}


# ------------------------------------------------------------------------ short_repr
def test_short_repr_is_bounded_for_shared_giant_values():
    value = ["lol"] * 9
    for _ in range(12):  # 9**13 ≈ 2.5e12 strings if expanded
        value = [value] * 9
    start = time.perf_counter()
    text = short_repr(value)
    assert time.perf_counter() - start < 0.1
    assert len(text) <= 60
    assert short_repr(2**20000) == "a number of about 6,020 digits"  # str() would raise
    assert len(short_repr([b"x" * 10**6, "y" * 10**6])) <= 60


def test_validation_messages_list_a_bounded_number_of_problems():
    data = {"name": "x", "horizon": 3, "alerts": [1] * 5000}
    with pytest.raises(pydantic.ValidationError) as info:
        ScenarioConfig.model_validate(data)
    problems = format_validation_error(info.value, ScenarioConfig)
    assert len(problems) == MAX_PROBLEMS + 1
    assert "more problem" in problems[-1][1]


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("portfolio", "cohorts", 0, "exposure"), True),
        (("portfolio", "cohorts", 0, "margin"), False),
        (("lgd", "mean"), True),
        (("systematic", "correlation"), False),
        (("systematic", "shift"), [True, 0.0]),
        (("discount_rate",), True),
    ],
)
def test_booleans_are_not_numbers_in_a_scenario(path, value, tiny_config):
    """YAML reads yes/no/true/false as booleans; lax pydantic would take them as 1.0/0.0."""
    node = tiny_config
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(rm.ScenarioError, match="true/false where a number is expected"):
        rm.scenario_from_dict(tiny_config)


def test_flags_still_take_booleans(tiny_config):
    tiny_config["simulation"] = {"importance_sampling": False, "parameter_uncertainty": True}
    assert rm.scenario_from_dict(tiny_config).config.simulation.importance_sampling is False


def test_booleans_are_not_numbers_in_fit_and_sensitivity_configs(tmp_path):
    from riskmodel.sensitivity.config import load_sensitivity_config

    fit = tmp_path / "model.yaml"
    fit.write_text("states: {names: [a, d], absorbing: [d], default: d}\ndraws: yes\n")
    with pytest.raises(rm.ScenarioError, match="true/false where a number is expected"):
        load_fit_config(fit)
    with pytest.raises(rm.ScenarioError, match="true/false where a number is expected"):
        load_sensitivity_config({"sensitivity": {"tornado": {"paths": True}}}, file="s.yaml")
