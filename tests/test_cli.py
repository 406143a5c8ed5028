"""`riskmodel` command line: exit codes, the run folder, overrides, atomic writes."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import riskmodel as rm
import riskmodel.report
from riskmodel.cli import main

REPO = Path(rm.__file__).resolve().parents[1]
FILES = ("summary.json", "results.nc", "report.html", "figures/loss_distribution.png")


def _summary(folder: Path) -> dict:
    return json.loads((folder / "summary.json").read_text())


def _leftovers(parent: Path) -> list[str]:
    """Hidden temporary/old folders the atomic writer may have left behind."""
    return sorted(p.name for p in parent.iterdir() if p.name.startswith("."))


def _run(*args: str) -> int:
    return main(["run", *args, "--no-progress"])


# --------------------------------------------------------------------------- run
def test_run_writes_the_default_report_folder(tiny_yaml, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert _run(str(tiny_yaml)) == 0
    folder = tmp_path / "reports" / "tiny"
    for name in FILES:
        assert (folder / name).is_file(), name
    assert _leftovers(folder.parent) == []
    captured = capsys.readouterr()
    assert "reports/tiny/report.html" in captured.out
    assert captured.err == ""  # no progress bar when stderr is not a terminal


def test_summary_json_has_every_contract_key(tiny_yaml, tmp_path):
    out = tmp_path / "out"
    assert _run(str(tiny_yaml), "--out", str(out)) == 0
    s = _summary(out)
    for key in ("scenario", "paths", "seed", "horizon", "riskmodel_version"):
        assert key in s
    assert (s["scenario"], s["paths"], s["seed"], s["horizon"]) == ("tiny", 600, 11, 6)
    assert s["riskmodel_version"] == rm.__version__
    levels = ["0.95", "0.99"]
    loss = s["loss"]
    assert isinstance(loss["expected"], float) and isinstance(loss["std"], float)
    assert list(loss["var"]) == levels and list(loss["es"]) == levels
    assert isinstance(loss["stderr"]["expected"], float)
    assert list(loss["stderr"]["var"]) == levels and list(loss["stderr"]["es"]) == levels
    assert isinstance(s["defaults"]["expected"], float) and list(s["defaults"]["var"]) == levels
    assert isinstance(s["churn"]["expected"], float)
    # additions of the run folder
    assert s["scenario_file"] == tiny_yaml.name  # outside the current folder: no absolute path
    digest = hashlib.sha256(tiny_yaml.read_bytes()).hexdigest()
    assert s["inputs"] == {tiny_yaml.name: digest}  # relative to the scenario's folder
    assert s["run_seconds"] >= 0


def test_paths_seed_and_batch_override_the_scenario(tiny_yaml, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    assert _run(str(tiny_yaml), "--out", str(a), "--paths", "700", "--seed", "5") == 0
    assert (
        _run(str(tiny_yaml), "--out", str(b), "--paths", "700", "--seed", "5", "--batch", "1") == 0
    )
    sa, sb = _summary(a), _summary(b)
    assert (sa["paths"], sa["seed"]) == (700, 5)
    assert sa["loss"] == sb["loss"]  # batch size never changes the numbers
    expected = rm.simulate(rm.load_scenario(tiny_yaml), paths=700, seed=5, progress=False)
    assert sa["loss"]["expected"] == pytest.approx(expected.summary()["loss"]["expected"], rel=0)
    assert rm.SimulationResult.from_netcdf(a / "results.nc").paths == 700


def test_run_twice_replaces_the_report_cleanly(tiny_yaml, tmp_path):
    out = tmp_path / "reports" / "tiny"
    assert _run(str(tiny_yaml), "--out", str(out), "--seed", "1") == 0
    assert _run(str(tiny_yaml), "--out", str(out), "--seed", "2") == 0
    assert _summary(out)["seed"] == 2
    assert _leftovers(out.parent) == []  # a file the user adds is refused: tests/report


def test_report_folder_has_ordinary_permissions(tiny_yaml, tmp_path):
    out = tmp_path / "out"
    assert _run(str(tiny_yaml), "--out", str(out)) == 0
    umask = os.umask(0o022)
    os.umask(umask)
    assert (out.stat().st_mode & 0o777) == 0o777 & ~umask
    assert ((out / "results.nc").stat().st_mode & 0o777) == 0o666 & ~umask


# --------------------------------------------------------------------------- failures
def _boom(*args, **kwargs):
    raise RuntimeError("figure backend exploded")


def test_failed_run_leaves_no_output_folder(tiny_yaml, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(riskmodel.report.run, "_write_figures", _boom)
    out = tmp_path / "out"
    assert _run(str(tiny_yaml), "--out", str(out)) == 1
    assert not out.exists()
    assert _leftovers(tmp_path) == []
    err = capsys.readouterr().err
    assert "internal error: RuntimeError: figure backend exploded" in err
    assert "--traceback" in err and "Traceback (most recent call last)" not in err


def test_traceback_flag_prints_the_traceback(tiny_yaml, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(riskmodel.report.run, "_write_figures", _boom)
    assert main(["--traceback", "run", str(tiny_yaml), "--out", str(tmp_path / "o")]) == 1
    assert "Traceback (most recent call last)" in capsys.readouterr().err


def test_failed_rerun_keeps_the_previous_report(tiny_yaml, tmp_path, monkeypatch):
    out = tmp_path / "out"
    assert _run(str(tiny_yaml), "--out", str(out), "--seed", "1") == 0
    before = {name: (out / name).read_bytes() for name in FILES}
    monkeypatch.setattr(riskmodel.report.run, "_write_figures", _boom)
    assert _run(str(tiny_yaml), "--out", str(out), "--seed", "2") == 1
    assert {name: (out / name).read_bytes() for name in FILES} == before
    assert _leftovers(tmp_path) == []


def test_keyboard_interrupt_exits_130_and_keeps_the_previous_report(
    tiny_yaml, tmp_path, monkeypatch, capsys
):
    out = tmp_path / "out"
    assert _run(str(tiny_yaml), "--out", str(out), "--seed", "1") == 0
    before = (out / "summary.json").read_bytes()

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(riskmodel.report.run, "_write_figures", interrupt)
    assert _run(str(tiny_yaml), "--out", str(out), "--seed", "2") == 130
    assert (out / "summary.json").read_bytes() == before
    assert _leftovers(tmp_path) == []
    assert "interrupted" in capsys.readouterr().err


def test_interrupt_during_the_simulation_writes_nothing(tiny_yaml, tmp_path, monkeypatch):
    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(rm, "simulate", interrupt)
    assert _run(str(tiny_yaml), "--out", str(tmp_path / "out")) == 130
    assert list(tmp_path.iterdir()) == [tiny_yaml]


def test_value_error_inside_the_library_is_an_internal_error(tiny_yaml, tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise ValueError("engine bug")

    monkeypatch.setattr(rm, "simulate", broken)
    assert _run(str(tiny_yaml), "--out", str(tmp_path / "out")) == 1


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["frobnicate"],
        ["run"],
        ["run", "x.yaml", "--paths", "0"],
        ["run", "x.yaml", "--paths", "many"],
        ["run", "x.yaml", "--seed", "-1"],
        ["validate"],
    ],
)
def test_bad_arguments_exit_2(argv, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "usage: riskmodel" in err and "Traceback" not in err


def test_help_and_version_exit_0(capsys):
    assert main(["--help"]) == 0
    assert main(["--version"]) == 0
    assert rm.__version__ in capsys.readouterr().out


def test_missing_scenario_exits_2(tmp_path, capsys):
    assert _run(str(tmp_path / "nope.yaml"), "--out", str(tmp_path / "out")) == 2
    err = capsys.readouterr().err
    assert err.startswith("riskmodel: error: ") and "nope.yaml: file not found" in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_output_folder_with_other_contents_is_refused(tiny_yaml, tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    assert _run(str(tiny_yaml), "--out", str(out)) == 2
    assert (out / "notes.txt").read_text() == "keep me"
    assert "not a riskmodel report" in capsys.readouterr().err
    (tmp_path / "file").write_text("x")
    assert _run(str(tiny_yaml), "--out", str(tmp_path / "file")) == 2
    assert "not a folder" in capsys.readouterr().err


def test_override_beyond_the_schema_is_bad_input(tiny_yaml, tmp_path, capsys):
    assert _run(str(tiny_yaml), "--out", str(tmp_path / "o"), "--paths", "2000000000") == 2
    err = capsys.readouterr().err
    assert "--paths" in err and "at most" in err and "Traceback" not in err


# --------------------------------------------------------------------------- compare
COMPARE_FILES = ("comparison.csv", "comparison.json", "report.html", "figures/comparison.png")


def _compare(*args: str) -> int:
    return main(["compare", *args, "--no-progress"])


def _variant(write_scenario, tiny_config, name: str, **updates) -> Path:
    return write_scenario({**tiny_config, "name": name, **updates}, f"{name}.yaml")


@pytest.mark.filterwarnings("ignore::riskmodel.errors.TailResolutionWarning")  # 400 paths
def test_compare_writes_every_file_to_the_default_folder(
    write_scenario, tiny_config, tmp_path, monkeypatch, capsys
):
    a = _variant(write_scenario, tiny_config, "calm", systematic={"correlation": 0.1})
    b = _variant(write_scenario, tiny_config, "storm", systematic={"correlation": 0.1, "shift": -1})
    monkeypatch.chdir(tmp_path)
    assert _compare(str(a), str(b), "--paths", "400", "--seed", "3") == 0
    folder = tmp_path / "reports" / "compare"
    for name in COMPARE_FILES:
        assert (folder / name).is_file(), name
    assert _leftovers(folder.parent) == []
    assert "reports/compare/report.html" in capsys.readouterr().out
    rows = (folder / "comparison.csv").read_text().splitlines()
    assert rows[0].startswith("scenario,weight,expected,") and len(rows) == 3
    assert [r.split(",")[0] for r in rows[1:]] == ["calm", "storm"]
    data = json.loads((folder / "comparison.json").read_text())
    assert (data["paths"], data["seed"], data["weighted_ecl"]) == (400, 3, None)
    assert [r["scenario"] for r in data["scenarios"]] == ["calm", "storm"]
    assert data["scenarios"][0]["expected"] < data["scenarios"][1]["expected"]
    assert data["scenario_files"] == {  # relative to the current folder: no absolute path
        "calm": a.relative_to(tmp_path).as_posix(),
        "storm": b.relative_to(tmp_path).as_posix(),
    }
    page = (folder / "report.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and "data:image/png;base64," in page
    for title in riskmodel.report.COMPARISON_SECTIONS:
        assert f">{title}</h2>" in page
    expected = rm.simulate(rm.load_scenario(b), paths=400, seed=3, progress=False)
    # the table's `expected` is exact like the summary's; the MC estimate sits beside it
    assert data["scenarios"][1]["expected"] == expected.summary()["loss"]["expected"]
    assert data["scenarios"][1]["expected_mc"] == expected.summary()["loss"]["expected_mc"]


@pytest.mark.filterwarnings("ignore::riskmodel.errors.TailResolutionWarning")  # 300 paths
def test_compare_with_weights_reports_the_weighted_ecl(write_scenario, tiny_config, tmp_path):
    a = _variant(write_scenario, tiny_config, "a", weight=0.25)
    b = _variant(write_scenario, tiny_config, "b", weight=0.75, lgd={"mean": 0.6, "sd": 0.2})
    out = tmp_path / "cmp"
    assert _compare(str(a), str(b), "--out", str(out), "--paths", "300") == 0
    data = json.loads((out / "comparison.json").read_text())
    ecl = [r["ecl_lifetime"] for r in data["scenarios"]]
    assert data["weighted_ecl"]["lifetime"] == pytest.approx(0.25 * ecl[0] + 0.75 * ecl[1])
    assert "Probability-weighted ECL" in (out / "report.html").read_text()
    # a second comparison replaces the first cleanly
    assert _compare(str(a), str(b), "--out", str(out), "--paths", "200") == 0
    assert json.loads((out / "comparison.json").read_text())["paths"] == 200
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize(
    ("weights", "needle"),
    [((0.5, 0.4), "must sum to 1"), ((0.5, None), "on every file or on none")],
)
def test_compare_with_bad_weights_exits_2(
    write_scenario, tiny_config, tmp_path, capsys, weights, needle
):
    files = []
    for i, w in enumerate(weights):
        extra = {} if w is None else {"weight": w}
        files.append(_variant(write_scenario, tiny_config, f"s{i}", **extra))
    out = tmp_path / "out"
    assert _compare(*map(str, files), "--out", str(out)) == 2
    err = capsys.readouterr().err
    assert err.startswith("riskmodel: error: ") and needle in err
    assert err.count("\n") == 1 and "Traceback" not in err
    for f, w in zip(files, weights, strict=True):
        assert f"{f}: {'none' if w is None else f'{w:g}'}" in err
    assert not out.exists()


def test_compare_bad_inputs_exit_2(write_scenario, tiny_config, tmp_path, capsys):
    a = _variant(write_scenario, tiny_config, "a")
    assert _compare(str(a), str(tmp_path / "nope.yaml"), "--out", str(tmp_path / "o")) == 2
    assert "nope.yaml: file not found" in capsys.readouterr().err
    assert _compare(str(a), str(a), "--out", str(tmp_path / "o")) == 2
    assert "must be unique" in capsys.readouterr().err
    assert _compare(str(a), "--out", str(tmp_path / "o"), "--paths", "2000000000") == 2
    assert "--paths" in capsys.readouterr().err
    assert main(["compare"]) == 2
    assert not (tmp_path / "o").exists()


# --------------------------------------------------------------------------- validate
def test_validate_bundled_scenarios(capsys):
    files = [str(p) for p in sorted((REPO / "scenarios").glob("*.yaml"))]
    assert len(files) >= 3
    assert main(["validate", *files]) == 0
    out = capsys.readouterr().out
    assert out.splitlines() == [f"ok: {f}" for f in files]


def test_validate_reports_each_bad_file_and_exits_2(tiny_yaml, write_scenario, capsys):
    bad = write_scenario("name: x\nhorizon: 0\n", "bad.yaml")
    assert main(["validate", str(tiny_yaml), str(bad), str(tiny_yaml)]) == 2
    captured = capsys.readouterr()
    assert captured.out.splitlines() == [f"ok: {tiny_yaml}"] * 2
    assert captured.err.startswith(f"riskmodel: invalid: {bad}: ")
    # one message for the one bad file (its several problems one per line, indented)
    lines = captured.err.splitlines()
    assert sum(not line.startswith("  (") for line in lines) == 1, lines
    assert "Traceback" not in captured.err


# --------------------------------------------------------------------------- subprocess
def _subprocess(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    return subprocess.run(
        [sys.executable, "-m", "riskmodel.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
    )


def test_module_entry_point_runs_and_fails_cleanly(tiny_yaml, tmp_path):
    # 1,000 paths resolve the 99% tail (500 would print a TailResolutionWarning on stderr)
    done = _subprocess("run", str(tiny_yaml), "--paths", "1000", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # not a terminal: no progress bar
    for name in FILES:
        assert (tmp_path / "reports" / "tiny" / name).is_file()
    bad = _subprocess("validate", str(tmp_path / "missing.yaml"), cwd=tmp_path)
    assert bad.returncode == 2
    assert "missing.yaml: file not found" in bad.stderr and "Traceback" not in bad.stderr


def test_console_script(tmp_path):
    # `pip install -e .` (the CI's install) puts the entry point beside the interpreter: run
    # that one, whatever PATH holds, and fail (not skip) if the install did not create it
    script = Path(sys.executable).with_name("riskmodel")
    assert script.is_file(), f"console script missing at {script}: run `pip install -e .`"
    done = subprocess.run(
        [str(script), "validate", str(REPO / "scenarios" / "baseline.yaml")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("ok: ")
