"""The sensitivity folder: files, atomic replacement, the CLI entry point."""

from __future__ import annotations

import json
import warnings

import pandas as pd
import pytest
import yaml

import riskmodel as rm
from riskmodel.api import run_sensitivity_report as run_sensitivity_cli
from riskmodel.report import OutputDirError
from riskmodel.report.sensitivity import write_sensitivity_report
from riskmodel.sensitivity import SensitivityWarning, run_sensitivity

CONFIG = {
    "factors": [
        {"name": "lgd.mean", "low": 0.35, "high": 0.55},
        {"name": "systematic.correlation", "low": 0.05, "high": 0.2},
    ],
    "metrics": ["expected_loss", "value", "es_0.99"],
    "tornado": {"paths": 512, "seed": 2},
    "sobol": {"n": 8, "paths": 32, "seed": 2},
}


@pytest.fixture
def result(scenario):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SensitivityWarning)
        return run_sensitivity(scenario, CONFIG)


def test_writes_every_file(result, scenario, tmp_path):
    out = write_sensitivity_report(result, scenario, tmp_path / "sens")
    assert sorted(p.name for p in out.iterdir()) == [
        ".riskmodel-manifest.json",  # what riskmodel wrote, with hashes (tests/report)
        "figures",
        "report.html",
        "sensitivity.csv",
        "sensitivity.json",
    ]
    assert sorted(p.name for p in (out / "figures").iterdir()) == ["sobol.png", "tornado.png"]
    payload = json.loads((out / "sensitivity.json").read_text())
    assert payload["scenario"] == "sens"
    assert set(payload["metrics"]) == {"expected_loss", "value", "es_0.99"}
    assert payload["settings"]["methods"] == ["tornado", "sobol"]
    csv = pd.read_csv(out / "sensitivity.csv")
    assert list(csv.columns[:2]) == ["metric", "factor"] and len(csv) == 6
    assert {"swing", "stderr", "S1", "S1_conf", "ST", "ST_conf"} <= set(csv.columns)
    page = (out / "report.html").read_text()
    assert page.count("data:image/png;base64,") == 2
    assert "http://" not in page and "https://" not in page and "<script" not in page


def test_replaces_an_earlier_report_but_not_other_folders(result, scenario, tmp_path):
    out = tmp_path / "sens"
    write_sensitivity_report(result, scenario, out)
    write_sensitivity_report(result, scenario, out)  # an earlier sensitivity report: replaced
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    other = tmp_path / "data"
    other.mkdir()
    (other / "keep.txt").write_text("x")
    with pytest.raises(OutputDirError, match="not a riskmodel report"):
        write_sensitivity_report(result, scenario, other)
    assert (other / "keep.txt").read_text() == "x"


def test_tornado_only_writes_no_sobol_figure(scenario, tmp_path):
    res = run_sensitivity(scenario, {**CONFIG, "method": "tornado"})
    out = write_sensitivity_report(res, scenario, tmp_path / "t")
    assert [p.name for p in (out / "figures").iterdir()] == ["tornado.png"]


def test_cli_entry_point(tmp_path, scenario_dict):
    scenario_file = tmp_path / "sc.yaml"
    scenario_file.write_text(yaml.safe_dump(scenario_dict))
    config_file = tmp_path / "sens.yaml"
    config_file.write_text(yaml.safe_dump({"sensitivity": {**CONFIG, "method": "tornado"}}))
    out = run_sensitivity_cli(scenario_file, config=config_file, out_dir=tmp_path / "o", seed=3)
    payload = json.loads((out / "sensitivity.json").read_text())
    assert payload["config_file"] == str(config_file)
    assert payload["settings"]["tornado_seed"] == "3"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"factors": [{"name": "lgd.meen", "low": 0.1, "high": 0.2}]}))
    with pytest.raises(rm.ScenarioError, match=r"Did you mean 'lgd\.mean'"):
        run_sensitivity_cli(scenario_file, config=bad, out_dir=tmp_path / "o2")
    assert not (tmp_path / "o2").exists()
    with pytest.raises(rm.ScenarioError, match=r"command-line options: sobol -> n: must be a pow"):
        run_sensitivity_cli(scenario_file, out_dir=tmp_path / "o3", n=100)
