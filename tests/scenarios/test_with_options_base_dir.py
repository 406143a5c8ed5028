"""`with_options` works wherever the current folder is (issue 12:
``scenario_from_dict(d, base_dir="sub").with_options(seed=2)`` used to look for the portfolio in
the current folder). It now reads no file at all: it derives again from the portfolio held."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

import riskmodel as rm
from riskmodel.scenarios.load import read_yaml  # the old import path still works

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
    fresh = rm.scenario_from_dict({**data, "seed": 2, "paths": 500}, base_dir=sub)
    for name in ("transitions", "correlation", "shift", "discount_rate", "ead_factor", "ead_scale"):
        np.testing.assert_array_equal(getattr(again, name), getattr(fresh, name), err_msg=name)
    assert again.config == fresh.config
    (sub / "portfolio.csv").unlink()  # not needed any more: nothing is read again
    assert scenario.with_options(seed=4).config.seed == 4
    # and the action counterfactual, which goes through with_options too
    assert again.with_options(seed=3).config.seed == 3
