"""Files a scenario names: the folder rule, regular files only, no file contents in messages.

The rule (riskmodel.data.files, docs/scenario_format.md): a path must resolve, symlinks followed,
inside the scenario's folder or the working folder, unless ``allow_outside_files=True``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml

import riskmodel as rm
from riskmodel.cli import main

SCENARIO_DIR = Path(__file__).resolve().parents[2] / "scenarios"
SECRET = "s3cr3t-HASH-Zq9"
CSV = "segment,state,customers,exposure\nretail,new,500,1500000\nretail,mature,800,3200000\n"


@pytest.fixture
def layout(tmp_path, monkeypatch):
    """tmp/work/scn/s.yaml (the scenario) beside tmp/etc/shadow (a secret outside both roots)."""
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "shadow").write_text(f"root:{SECRET}:19000:0:99999:7:::\n")
    scn = tmp_path / "work" / "scn"
    scn.mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "work" / "scn")
    return tmp_path, scn


def _write(folder: Path, config: dict, **portfolio) -> Path:
    cfg = dict(config, portfolio=portfolio) if portfolio else config
    path = folder / "s.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


@pytest.mark.parametrize(
    "name", ["../../etc/shadow", "{root}/etc/shadow", "link.csv"], ids=["dotdot", "abs", "symlink"]
)
def test_paths_outside_the_scenario_folder_are_refused_unread(layout, tiny_config, name):
    root, scn = layout
    os.symlink(root / "etc" / "shadow", scn / "link.csv")
    path = _write(scn, tiny_config, file=name.format(root=root))
    with pytest.raises(rm.UnsafeFileError) as info:
        rm.load_scenario(path)
    message = str(info.value)
    assert SECRET not in message and "root:" not in message
    assert message.startswith(f"{path}: portfolio -> file: ")
    assert "outside the folders" in message and "allow_outside_files=True" in message
    assert "--allow-outside-files" in message
    assert isinstance(info.value, rm.ScenarioError)  # one kind of error for load_scenario


def test_opting_in_reads_the_file_but_quotes_only_a_short_excerpt(layout, tiny_config):
    _, scn = layout
    path = _write(scn, tiny_config, file="../../etc/shadow")
    with pytest.raises(rm.ScenarioError) as info:
        rm.load_scenario(path, allow_outside_files=True)
    message = str(info.value)
    assert SECRET not in message  # 'root:s3cr3' at most: 12 characters of the first line
    assert "is this a portfolio CSV" in message


def test_a_missing_file_outside_is_refused_without_looking(layout, tiny_config):
    """Whether a file exists outside the allowed folders is not revealed."""
    _, scn = layout
    path = _write(scn, tiny_config, file="../../etc/nothing-here")
    with pytest.raises(rm.UnsafeFileError, match="outside the folders"):
        rm.load_scenario(path)


def test_cli_validate_refuses_outside_files_with_exit_2(layout, tiny_config, capsys):
    _, scn = layout
    path = _write(scn, tiny_config, file="../../etc/shadow")
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert SECRET not in err and "Traceback" not in err and "outside the folders" in err


@pytest.mark.parametrize("kind", ["fifo", "folder", "dev-zero"])
@pytest.mark.parametrize("field", ["portfolio", "posterior"])
def test_non_regular_files_are_refused_as_such(tmp_path, tiny_config, kind, field):
    if kind == "fifo":
        os.mkfifo(tmp_path / "pipe")  # reading it would block forever
        name, what = "pipe", r"is a FIFO \(named pipe\), not a regular file"
    elif kind == "folder":
        (tmp_path / "sub").mkdir()
        name, what = "sub", "is a folder, not a regular file"
    else:
        (tmp_path / "zero").symlink_to("/dev/zero")  # inside the folder, a device behind it
        name, what = "zero", "outside the folders"
    if field == "portfolio":
        tiny_config["portfolio"] = {"file": name}
    else:
        tiny_config["parameters"] = {"posterior": name}
    path = _write(tmp_path, tiny_config)
    with pytest.raises(rm.UnsafeFileError, match=what):
        rm.load_scenario(path)
    if kind == "dev-zero":  # opted in: still a device, still refused
        with pytest.raises(rm.UnsafeFileError, match="is a character device"):
            rm.load_scenario(path, allow_outside_files=True)


@pytest.mark.parametrize("kind", ["fifo", "dev-zero"])
def test_a_non_regular_scenario_file_is_refused(tmp_path, kind):
    if kind == "fifo":
        os.mkfifo(tmp_path / "s.yaml")
        path, what = tmp_path / "s.yaml", "FIFO"
    else:
        path, what = Path("/dev/zero"), "character device"
    with pytest.raises(rm.UnsafeFileError, match=what):
        rm.load_scenario(path)


def test_portfolio_messages_quote_only_short_sanitised_excerpts(tmp_path, tiny_config):
    long_state = "neww" + "Z" * 80 + "\x1b[31m"
    (tmp_path / "p.csv").write_text(CSV.replace("mature", long_state))
    path = _write(tmp_path, tiny_config, file="p.csv")
    with pytest.raises(rm.ScenarioError) as info:
        rm.load_scenario(path)
    message = str(info.value)
    assert "Z" * 41 not in message and "\x1b" not in message
    assert "cut at 40 characters" in message and "row 2" in message


def test_segment_names_from_a_file_are_excerpts(tmp_path, tiny_config):
    (tmp_path / "p.csv").write_text(CSV.replace("retail", "x" * 100 + "\t"))
    path = _write(tmp_path, tiny_config, file="p.csv")
    with pytest.raises(rm.ScenarioError, match="no matrix for segment") as info:
        rm.load_scenario(path)
    assert "x" * 21 not in str(info.value) and "\t" not in str(info.value)


def test_with_options_keeps_the_opt_in(tmp_path, tiny_config, monkeypatch):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "p.csv").write_text(CSV)
    (tmp_path / "scn").mkdir()
    monkeypatch.chdir(tmp_path / "scn")
    path = _write(tmp_path / "scn", tiny_config, file="../data/p.csv")
    with pytest.raises(rm.UnsafeFileError):
        rm.load_scenario(path)
    sc = rm.load_scenario(path, allow_outside_files=True)
    assert sc.with_options(paths=100).portfolio.total_customers == 1300


def _bundled_posterior_layout(root: Path) -> Path:
    """A copy of scenarios/posterior/ (with a small fitted.nc) and ../portfolio.csv."""
    (root / "scenarios" / "posterior").mkdir(parents=True)
    shutil.copy(SCENARIO_DIR / "portfolio.csv", root / "scenarios" / "portfolio.csv")
    scenario = root / "scenarios" / "posterior" / "baseline.yaml"
    shutil.copy(SCENARIO_DIR / "posterior" / "baseline.yaml", scenario)
    states = rm.LIFECYCLE
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(states.n), size=(5, 2, states.n))
    p[..., states.absorbing_idx, :] = np.eye(states.n)[states.absorbing_idx]
    rm.ParameterDraws(states, ("cards", "loans"), p, correlation=np.full(5, 0.1)).to_netcdf(
        scenario.with_name("fitted.nc")
    )
    return scenario


def test_bundled_posterior_scenario_loads_from_the_repo_root(tmp_path, monkeypatch):
    """scenarios/posterior/baseline.yaml reads ../portfolio.csv: allowed from the repo root."""
    scenario = _bundled_posterior_layout(tmp_path / "repo")
    monkeypatch.chdir(tmp_path / "repo")
    sc = rm.load_scenario("scenarios/posterior/baseline.yaml")
    assert sc.n_draws == 5 and len(sc.inputs) == 3
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")  # ../portfolio.csv is outside both roots now
    with pytest.raises(rm.UnsafeFileError, match="portfolio -> file"):
        rm.load_scenario(scenario)
    assert rm.load_scenario(scenario, allow_outside_files=True).n_draws == 5


def test_a_zero_customer_portfolio_loads(tmp_path, tiny_config):
    """What validate accepts, run can load: a book whose cohorts are all empty."""
    (tmp_path / "p.csv").write_text("segment,state,customers,exposure\nretail,new,0,0\n")
    path = _write(tmp_path, tiny_config, file="p.csv")
    assert main(["validate", str(path)]) == 0
    sc = rm.load_scenario(path)
    assert sc.portfolio.total_customers == 0
    assert np.all(sc.cohort_ead == 0.0)


def test_a_mapping_is_trusted_unless_told_otherwise(layout, tiny_config):
    """`scenario_from_dict` serves code (trusted); a mapping from elsewhere opts into the rule."""
    root, scn = layout
    (root / "data.csv").write_text(CSV)
    cfg = dict(tiny_config, portfolio={"file": str(root / "data.csv")})
    assert rm.scenario_from_dict(cfg).portfolio.total_customers == 1300
    with pytest.raises(rm.UnsafeFileError, match="outside the folders"):
        rm.scenario_from_dict(cfg, base_dir=scn, allow_outside_files=False)
    cfg["portfolio"] = {"file": "/dev/zero"}  # regular files only, trusted or not
    with pytest.raises(rm.UnsafeFileError, match="character device"):
        rm.scenario_from_dict(cfg)
