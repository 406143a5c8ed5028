"""`with_options` reads the same files as the scenario it copies, wherever the current folder is
(issue 12: ``scenario_from_dict(d, base_dir="sub").with_options(seed=2)`` used to look for the
portfolio in the current folder)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

import riskmodel as rm
from riskmodel.scenarios.load import read_yaml

ROOT = Path(__file__).resolve().parents[2]


def test_with_options_keeps_the_base_dir(tmp_path, monkeypatch):
    sub = tmp_path / "sub"
    sub.mkdir()
    shutil.copy(ROOT / "scenarios" / "portfolio.csv", sub / "portfolio.csv")
    data = read_yaml(ROOT / "scenarios" / "baseline.yaml")
    assert data["portfolio"]["file"] == "portfolio.csv"
    monkeypatch.chdir(tmp_path)
    scenario = rm.scenario_from_dict(data, base_dir="sub")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # neither folder has the portfolio relative to it
    again = scenario.with_options(seed=2, paths=500)
    assert again.config.seed == 2 and again.config.paths == 500
    assert again.base_dir == sub.resolve()
    np.testing.assert_array_equal(again.transitions, scenario.transitions)
    assert again.portfolio.table.equals(scenario.portfolio.table)
    # and the action counterfactual, which goes through with_options too
    assert again.with_options(seed=3).config.seed == 3
