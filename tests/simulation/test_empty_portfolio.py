"""What `validate` accepts, `run` must not crash on: an empty book (issue 11).

A portfolio whose cohorts all have zero customers, or zero exposure, is valid. Its run must
finish with zero losses, finite (or clearly zero) figures, a strict-JSON summary, and no warning
of any kind (0/0 rates are defined as 0: with no customers nobody defaults).
"""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest
from scenario_builders import lifecycle_dict

import riskmodel as rm
from riskmodel.cli import main


def _empty(kind: str) -> dict:
    # 4,096 plain paths and levels up to 95%: over 200 tail paths, so no TailResolutionWarning
    cfg = lifecycle_dict(horizon=6, paths=4096, seed=11)
    cfg["name"] = f"empty-{kind}"
    cfg["outputs"] = {"levels": [0.9, 0.95]}
    for cohort in cfg["portfolio"]["cohorts"]:
        cohort["exposure"] = 0.0
        if kind == "customers":
            cohort["customers"] = 0
    return cfg


def _finite_numbers(tree) -> list[float]:
    if isinstance(tree, dict):
        return [x for v in tree.values() for x in _finite_numbers(v)]
    if isinstance(tree, list | tuple):
        return [x for v in tree for x in _finite_numbers(v)]
    if isinstance(tree, float | int) and not isinstance(tree, bool):
        assert math.isfinite(tree), f"non-finite figure {tree}"
        return [float(tree)]
    return []


@pytest.mark.parametrize("kind", ["customers", "exposure"])
def test_an_empty_book_runs_with_zero_losses(kind):
    scenario = rm.scenario_from_dict(_empty(kind))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy's divide warnings included
        result = rm.simulate(scenario, progress=False)
        summary = result.summary()
        cdr = result.cumulative_default_rate()
        ecl = result.ecl()
    assert np.all(result.total("loss").values == 0.0)
    loss = summary["loss"]
    assert loss["expected"] == 0.0 and loss["std"] == 0.0
    assert all(v == 0.0 for v in [*loss["var"].values(), *loss["es"].values()])
    assert ecl["lifetime"] == 0.0
    _finite_numbers(summary)
    json.dumps(summary, allow_nan=False)  # strict JSON: no NaN/Infinity
    assert np.all(np.isfinite(cdr["expected"].values))
    if kind == "customers":
        assert summary["defaults"]["expected"] == 0.0
        assert np.all(cdr["expected"].values == 0.0)
        assert ecl["cumulative_default_rate"] == [0.0] * 6
    else:  # customers still move and default, at no cost
        assert summary["defaults"]["expected"] > 0.0


def test_an_empty_book_runs_from_the_command_line(write_scenario, tmp_path, capsys):
    path = write_scenario(_empty("customers"), "empty.yaml")
    assert main(["validate", str(path)]) == 0
    out = tmp_path / "report"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        code = main(["run", str(path), "--out", str(out), "--no-progress"])
    assert code == 0, capsys.readouterr().err
    summary = json.loads(
        (out / "summary.json").read_text(),
        parse_constant=lambda c: pytest.fail(f"summary.json holds {c}"),
    )
    assert summary["loss"]["expected"] == 0.0
