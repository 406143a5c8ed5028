"""Command-line flags that carry trust decisions: --scheduler, --scheduler-from-scenario and
--allow-outside-files reach the library; without them the safe default holds."""

from __future__ import annotations

import pytest
import yaml

import riskmodel as rm
from riskmodel.cli import main

SECRET = "s3cr3t-token-do-not-print"


@pytest.fixture
def outside_portfolio(tmp_path, tiny_config):
    """A scenario in ``tmp/scen/`` whose portfolio file lies in ``tmp/elsewhere/``."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    cohorts = tiny_config["portfolio"]["cohorts"]
    lines = ["segment,state,customers,exposure"] + [
        f"{c['segment']},{c['state']},{c['customers']},{c['exposure']}" for c in cohorts
    ]
    (elsewhere / "book.csv").write_text("\n".join(lines) + "\n")
    scen = tmp_path / "scen"
    scen.mkdir()
    config = dict(tiny_config, portfolio={"file": "../elsewhere/book.csv"})
    path = scen / "outside.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def test_validate_refuses_a_file_outside_the_folders_and_allows_it_on_request(
    outside_portfolio, tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(outside_portfolio.parent)  # the working folder does not hold the book
    assert main(["validate", str(outside_portfolio)]) == 2
    err = capsys.readouterr().err
    assert "outside" in err and "--allow-outside-files" in err
    assert "Traceback" not in err
    assert main(["validate", "--allow-outside-files", str(outside_portfolio)]) == 0
    assert capsys.readouterr().out.startswith("ok:")


def test_run_allows_outside_files_only_with_the_flag(outside_portfolio, tmp_path, monkeypatch):
    monkeypatch.chdir(outside_portfolio.parent)
    out = tmp_path / "report"
    assert main(["run", str(outside_portfolio), "--out", str(out), "--no-progress"]) == 2
    assert not out.exists()
    args = ["run", str(outside_portfolio), "--out", str(out), "--no-progress"]
    assert main([*args, "--allow-outside-files"]) == 0
    assert (out / "summary.json").is_file()


def test_a_secret_outside_the_folder_never_reaches_the_terminal(tmp_path, tiny_config, capsys):
    secret = tmp_path / "shadow"
    secret.write_text(f"{SECRET}\n{SECRET}\n")
    scen = tmp_path / "a" / "b"
    scen.mkdir(parents=True)
    config = dict(tiny_config, portfolio={"file": "../../shadow"})
    path = scen / "s.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    for extra in ([], ["--allow-outside-files"]):
        code = main(["validate", *extra, str(path)])
        captured = capsys.readouterr()
        assert code == 2
        assert SECRET not in captured.err + captured.out


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ([], {"scheduler": None, "trust_scenario_scheduler": False}),
        (["--scheduler", "tcp://10.9.9.9:8786"], {"scheduler": "tcp://10.9.9.9:8786"}),
        (["--scheduler-from-scenario"], {"trust_scenario_scheduler": True}),
    ],
)
def test_run_passes_the_network_flags_to_simulate(
    flags, expected, tiny_yaml, tmp_path, monkeypatch
):
    seen = {}

    def fake_simulate(scenario, **kwargs):
        seen.update(kwargs)
        raise rm.ScenarioError(None, [("", "stop here (test)")])

    monkeypatch.setattr(rm, "simulate", fake_simulate)
    code = main(["run", str(tiny_yaml), "--out", str(tmp_path / "o"), "--no-progress", *flags])
    assert code == 2
    for key, value in expected.items():
        assert seen[key] == value


def test_compare_and_sensitivity_pass_the_network_flags(tiny_yaml, tmp_path, monkeypatch):
    import riskmodel.api as compare_module
    import riskmodel.api as sens_module

    seen: dict[str, dict] = {}

    def fake(name):
        def record(*args, **kwargs):
            seen[name] = kwargs
            raise rm.ScenarioError(None, [("", "stop here (test)")])

        return record

    monkeypatch.setattr(compare_module, "compare_scenarios", fake("compare"))
    monkeypatch.setattr(sens_module, "run_sensitivity_report", fake("sensitivity"))
    flags = ["--scheduler", "tcp://127.0.0.1:1", "--scheduler-from-scenario"]
    out = str(tmp_path / "o")
    assert main(["compare", str(tiny_yaml), "--out", out, "--no-progress", *flags]) == 2
    assert main(["sensitivity", str(tiny_yaml), "--out", out, *flags]) == 2
    for name in ("compare", "sensitivity"):
        assert seen[name]["scheduler"] == "tcp://127.0.0.1:1"
        assert seen[name]["trust_scenario_scheduler"] is True


def test_a_scenario_scheduler_is_refused_without_the_flag(
    write_scenario, tiny_config, tmp_path, capsys
):
    config = dict(tiny_config, simulation={"backend": "dask", "scheduler": "tcp://10.1.2.3:8786"})
    path = write_scenario(config, "remote.yaml")
    assert main(["validate", str(path)]) == 0
    assert "not contacted" in capsys.readouterr().err
    code = main(["run", str(path), "--out", str(tmp_path / "o"), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2
    assert "--scheduler" in err and "10.1.2.3" in err
    assert not (tmp_path / "o").exists()


def test_fit_names_the_panel_file_when_it_has_no_transitions(tmp_path, capsys):
    panel = tmp_path / "panel.csv"
    panel.write_text("customer_id,period,state\n")
    config = tmp_path / "model.yaml"
    config.write_text(
        "states:\n  names: [a, b, d]\n  absorbing: [d]\n  default: d\n"
        "pooling: none\ndraws: 20\nchains: 1\n"
    )
    code = main(
        ["fit", str(panel), "--config", str(config), "--out", str(tmp_path / "f.nc"), "--no-report"]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert "panel.csv" in err
    assert not (tmp_path / "f.nc").exists()


def test_help_renders_for_every_command(capsys):
    for command in ("run", "compare", "fit", "sensitivity", "validate"):
        assert main([command, "--help"]) == 0
        text = capsys.readouterr().out
        assert "%%" not in text and "usage: riskmodel" in text


def test_riskmodel_warnings_print_once_as_one_line(tiny_yaml, tmp_path, capsys):
    """A thin 99.9% tail warns once per quantity, as `riskmodel: warning: ...`, no source line."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("default")  # the CLI shows warnings; pytest's config would raise
        code = main(
            ["run", str(tiny_yaml), "--out", str(tmp_path / "o"), "--no-progress", "--paths", "60"]
        )
    err = capsys.readouterr().err
    assert code == 0
    lines = [line for line in err.splitlines() if line]
    assert lines, "60 paths cannot resolve the tail: a warning is expected"
    assert all(line.startswith("riskmodel: warning: ") for line in lines), err
    assert len(lines) == len(set(lines))
    assert "warnings.warn" not in err and ".py:" not in err


def test_a_misspelt_default_state_gets_a_did_you_mean(write_scenario, tiny_config, capsys):
    tiny_config["states"]["default"] = tiny_config["states"]["default"][:-1] + "x"
    path = write_scenario(tiny_config, "typo.yaml")
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "Did you mean 'defaulted'?" in err and "?." not in err


def test_a_missing_posterior_suggests_the_fit_command(write_scenario, tiny_config, capsys):
    tiny_config["parameters"] = {"posterior": "fitted.nc"}
    path = write_scenario(tiny_config, "post.yaml")
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "'fitted.nc' not found" in err and "riskmodel fit" in err
    assert err.count(str(path.parent)) == 1  # only the scenario file as given: no resolved path
