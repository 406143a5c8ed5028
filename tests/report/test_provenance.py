"""Provenance in summary.json, comparison.json and the reports: versions, commit, command,
relative input hashes, seed and entropy; no absolute path leaks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy
import xarray as xr

import riskmodel as rm
from riskmodel.cli import main
from riskmodel.report import provenance as prov
from riskmodel.report.summary import build_summary

REPO = Path(rm.__file__).resolve().parents[1]


@pytest.fixture
def scenario_dir(tmp_path, tiny_config):
    """The tiny scenario with its portfolio in a CSV beside it, in a folder of its own."""
    import pandas as pd
    import yaml

    folder = tmp_path / "deep" / "inputs"
    folder.mkdir(parents=True)
    pd.DataFrame(tiny_config["portfolio"]["cohorts"]).to_csv(folder / "book.csv", index=False)
    cfg = {**tiny_config, "portfolio": {"file": "book.csv"}}
    (folder / "sc.yaml").write_text(yaml.safe_dump(cfg))
    return folder


def test_run_summary_records_versions_command_and_relative_inputs(
    scenario_dir, tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out"
    argv = ["run", str(scenario_dir / "sc.yaml"), "--out", str(out), "--paths", "1000"]
    assert main([*argv, "--no-progress"]) == 0
    text = (out / "summary.json").read_text()
    summary = json.loads(text)
    p = summary["provenance"]
    assert p["versions"]["numpy"] == np.__version__
    assert p["versions"]["scipy"] == scipy.__version__
    assert p["versions"]["xarray"] == xr.__version__
    assert p["versions"]["riskmodel"] == rm.__version__
    assert p["versions"]["python"] == ".".join(map(str, sys.version_info[:3]))
    assert set(p["inputs"]) == {"sc.yaml", "book.csv"} == set(summary["inputs"])
    assert p["command"] == (
        "riskmodel run deep/inputs/sc.yaml --out out --paths 1000 --no-progress"
    )
    assert (p["seed"], p["entropy"], summary["entropy"]) == (11, "11", "11")
    html = (out / "report.html").read_text()
    for where in (text, html):  # no absolute path of the machine leaks
        assert str(tmp_path) not in where and str(Path.home()) not in where
    assert "book.csv" in html and np.__version__ in html and "Seed entropy" in html


def test_comparison_json_records_provenance(scenario_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(scenario_dir)
    out = tmp_path / "cmp"
    other = scenario_dir / "other.yaml"
    other.write_text((scenario_dir / "sc.yaml").read_text().replace("name: tiny", "name: b"))
    argv = ["compare", "sc.yaml", "other.yaml", "--out", str(out), "--paths", "1000"]
    assert main([*argv, "--no-progress"]) == 0
    text = (out / "comparison.json").read_text()
    data = json.loads(text)
    assert data["provenance"]["versions"]["numpy"] == np.__version__
    assert set(data["inputs"]) == {"sc.yaml", "other.yaml", "book.csv"}
    assert data["provenance"]["command"].startswith("riskmodel compare sc.yaml other.yaml")
    assert str(tmp_path) not in text and str(tmp_path) not in (out / "report.html").read_text()


def test_a_run_without_seed_is_reproducible_from_its_entropy(tiny_config):
    sc = rm.scenario_from_dict({**tiny_config, "seed": None})
    first = rm.simulate(sc, paths=1000, progress=False)
    entropy = build_summary(first, sc)["entropy"]
    assert entropy is not None and first.seed is None
    again = rm.simulate(sc, paths=1000, seed=int(entropy), progress=False)
    np.testing.assert_array_equal(first.data["loss"], again.data["loss"])


def test_git_commit_is_the_checkout_head_or_none(monkeypatch):
    commit = prov.git_commit()
    if (REPO / ".git").exists():
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True
        ).stdout.strip()
        assert commit is not None and commit.split("+")[0] == head
    else:
        assert commit is None

    def hang(*args, **kwargs):
        raise subprocess.TimeoutExpired(args[0], kwargs.get("timeout"))

    monkeypatch.setattr(prov.subprocess, "run", hang)
    assert prov.git_commit() is None  # a slow or missing git never fails a report


def test_versions_never_import_pymc():
    code = (
        "import sys; from riskmodel.report.provenance import software_versions as v; "
        "d = v(); print('pymc' in sys.modules, d['pymc'] is not None)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True"]


def test_relative_inputs_name_files_from_the_scenario_folder(tmp_path):
    base = tmp_path / "s"
    inputs = {str(base / "a.yaml"): "1", str(tmp_path / "data" / "p.csv"): "2"}
    assert prov.relative_inputs(inputs, base) == {"a.yaml": "1", "../data/p.csv": "2"}
    assert prov.relative_inputs(inputs, None) == {"a.yaml": "1", "p.csv": "2"}
