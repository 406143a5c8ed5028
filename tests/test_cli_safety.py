"""The command line never loses a user's file, and stops cleanly (issue 11, DESIGN.md §5).

Data-loss cases first (`run`, `compare`, `sensitivity`, `fit`), then protected places, then
interrupts and kills of real subprocesses, concurrent writers, and errors of the operating
system. The writer itself is tested in `tests/report/test_output_safety.py`.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

import riskmodel as rm
import riskmodel.report.run
from riskmodel.cli import main
from riskmodel.data.synthetic import simulate_panel
from riskmodel.report.files import check_output_dir
from riskmodel.report.safety import MANIFEST, TMP_MARKER

REPO = Path(rm.__file__).resolve().parents[1]


def _run(*args: str) -> int:
    return main(["run", *args, "--no-progress"])


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def _hidden(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith("."))


@pytest.fixture(scope="module")
def old_report(tmp_path_factory) -> Path:
    """The report a user already has: the tiny scenario run once (seed 1) for the module.

    Each test copies it (`_old`) instead of running the CLI again: its manifest lists content
    hashes only, so a copy is that report wherever it lies (riskmodel's own-report check reads
    the manifest and the bytes, never paths, inodes or times).
    """
    folder = tmp_path_factory.mktemp("old")
    scenario = folder / "tiny.yaml"
    scenario.write_text((Path(__file__).parent / "scenarios" / "tiny.yaml").read_text())
    out = folder / "report"
    assert _run(str(scenario), "--out", str(out), "--seed", "1") == 0
    return out


def _old(old_report: Path, out: Path) -> Path:
    """Copy the module's `old_report` to `out` (its parent is created) and return `out`."""
    out.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(old_report, out, symlinks=True)
    return out


def _error(capsys) -> str:
    err = capsys.readouterr().err
    assert err.startswith("riskmodel: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    return err


# --------------------------------------------------------------------------- data loss
def _user_folder(tmp_path: Path, marker: str) -> Path:
    out = tmp_path / "mine"
    out.mkdir()
    (out / marker).write_text("{}")
    (out / "budget.xlsx").write_bytes(b"numbers")
    (out / "archive").mkdir()
    (out / "archive" / "2025.csv").write_text("a\n")
    return out


@pytest.mark.parametrize(
    ("command", "marker"),
    [
        ("run", "summary.json"),
        ("run", "comparison.json"),
        ("compare", "comparison.json"),
        ("compare", "sensitivity.json"),
        ("sensitivity", "sensitivity.json"),
        ("sensitivity", "summary.json"),
    ],
)
def test_report_marker_next_to_user_files_is_refused(tiny_yaml, tmp_path, capsys, command, marker):
    out = _user_folder(tmp_path, marker)
    before = _snapshot(out)
    assert main([command, str(tiny_yaml), "--out", str(out)]) == 2
    err = _error(capsys)
    assert f"holds {marker} but no {MANIFEST}" in err
    assert "budget.xlsx" in err and "archive/" in err and "--out" in err
    assert _snapshot(out) == before and _hidden(tmp_path) == []


def test_rerun_into_a_report_with_user_notes_is_refused(tiny_yaml, old_report, tmp_path, capsys):
    out = tmp_path / "reports" / "tiny"
    _old(old_report, out)
    (out / "NOTES.md").write_text("what I concluded")
    (out / "archive").mkdir()
    (out / "archive" / "old.html").write_text("<p>")
    before = _snapshot(out)
    capsys.readouterr()
    assert _run(str(tiny_yaml), "--out", str(out), "--seed", "2") == 2
    err = _error(capsys)
    assert "NOTES.md" in err and "archive/" in err and "2 entries riskmodel did not write" in err
    assert _snapshot(out) == before and _hidden(out.parent) == []
    (out / "NOTES.md").unlink()  # the user moves them away: the rerun goes through
    (out / "archive" / "old.html").unlink()
    (out / "archive").rmdir()
    assert _run(str(tiny_yaml), "--out", str(out), "--seed", "2") == 0
    assert json.loads((out / "summary.json").read_text())["seed"] == 2


def test_compare_and_sensitivity_replace_their_own_reports(tiny_yaml, tmp_path):
    out = tmp_path / "cmp"
    for _ in range(2):
        assert main(["compare", str(tiny_yaml), "--out", str(out), "--no-progress"]) == 0
    assert json.loads((out / MANIFEST).read_text())["kind"] == "comparison"
    check_output_dir(out)
    assert _hidden(tmp_path) == []


def test_symlinked_out_never_touches_the_target(tiny_yaml, old_report, tmp_path, capsys):
    target = tmp_path / "target"
    _old(old_report, target)
    (target / "mine.txt").write_text("keep")
    link = tmp_path / "link"
    link.symlink_to(target)
    before = _snapshot(target)
    capsys.readouterr()
    for command in ("run", "compare", "sensitivity"):
        assert main([command, str(tiny_yaml), "--out", str(link)]) == 2
        assert "is a symbolic link" in _error(capsys)
    assert _snapshot(target) == before and link.is_symlink()


def test_protected_places_are_refused(tiny_yaml, tmp_path, monkeypatch, capsys):
    cwd = tmp_path / "work" / "here"
    cwd.mkdir(parents=True)
    monkeypatch.chdir(cwd)
    cases = {
        "": "output folder is empty",
        ".": "the current folder",
        "..": "a parent of the current folder",
        "/": "the root of the file system",
        str(Path.home()): "your home folder",
        str(tiny_yaml.parent / "work"): "a parent of the current folder",
    }
    for out, why in cases.items():
        for command in ("run", "compare", "sensitivity"):
            assert main([command, str(tiny_yaml), "--out", out]) == 2, (command, out)
            assert why in _error(capsys), (command, out)
    own = tmp_path / "scenarios"  # the scenario's own folder, holding only riskmodel's input
    own.mkdir()
    scenario = own / "tiny.yaml"
    scenario.write_text(tiny_yaml.read_text())
    assert _run(str(scenario), "--out", str(own)) == 2
    assert "holding the input file" in _error(capsys)
    assert sorted(p.name for p in own.iterdir()) == ["tiny.yaml"]


# --------------------------------------------------------------------------- fit
@pytest.fixture(scope="module")
def panel_csv(tmp_path_factory) -> Path:
    states = {
        "names": ["good", "watch", "churned", "defaulted"],
        "absorbing": ["churned", "defaulted"],
        "default": "defaulted",
        "churn": "churned",
    }
    ss = rm.StateSpace(**states)
    matrix = [
        [0.90, 0.06, 0.02, 0.02],
        [0.10, 0.80, 0.03, 0.07],
        [0.00, 0.00, 1.00, 0.00],
        [0.00, 0.00, 0.00, 1.00],
    ]
    folder = tmp_path_factory.mktemp("fit")
    path = folder / "panel.csv"
    simulate_panel({"retail": matrix}, ss, n_customers=40, n_periods=5, seed=3).to_csv(
        path, index=False
    )
    cfg = {"states": states, "pooling": "none", "draws": 50, "chains": 1, "seed": 4}
    (folder / "model.yaml").write_text(yaml.safe_dump(cfg))
    return path


def _fit(panel: Path, out: Path | str) -> int:
    return main(
        [
            "fit",
            str(panel),
            "--config",
            str(panel.parent / "model.yaml"),
            "--out",
            str(out),
            "--no-report",
        ]
    )


def test_fit_never_overwrites_a_file_it_did_not_write(panel_csv, tmp_path, capsys):
    config = panel_csv.parent / "model.yaml"
    before = {p: p.read_bytes() for p in (panel_csv, config)}
    for out in (panel_csv, config):  # its own inputs
        assert _fit(panel_csv, out) == 2
        assert "is an input of this fit" in _error(capsys)
    other = tmp_path / "paper.nc"  # any other file, netCDF or not
    other.write_bytes(b"CDF\x01 a file of the user")
    assert _fit(panel_csv, other) == 2
    assert "paper.nc: exists and is not a posterior written by `riskmodel fit`" in _error(capsys)
    assert other.read_bytes() == b"CDF\x01 a file of the user"
    assert {p: p.read_bytes() for p in before} == before
    assert _fit(panel_csv, tmp_path) == 2  # a folder
    assert "not a regular file" in _error(capsys)


def test_fit_refuses_its_input_even_as_a_file_beside_the_posterior(panel_csv, tmp_path, capsys):
    # OUT.summary.csv would be the panel itself
    out = panel_csv.parent / "data.nc"
    copy = panel_csv.with_name("data.summary.csv")
    copy.write_bytes(panel_csv.read_bytes())
    try:
        assert (
            main(
                [
                    "fit",
                    str(copy),
                    "--config",
                    str(panel_csv.parent / "model.yaml"),
                    "--out",
                    str(out),
                ]
            )
            == 2
        )
        assert "is an input of this fit" in _error(capsys)
        assert not out.exists()
    finally:
        copy.unlink()


def test_fit_replaces_only_the_files_it_recorded(panel_csv, tmp_path, capsys):
    out = tmp_path / "post.nc"
    summary, diag = tmp_path / "post.summary.csv", tmp_path / "post.diagnostics.json"
    diag.write_text("my own diagnostics")  # there before riskmodel ever wrote here
    assert _fit(panel_csv, out) == 2
    assert "post.diagnostics.json: exists and riskmodel cannot prove it wrote it" in _error(capsys)
    assert not out.exists() and diag.read_text() == "my own diagnostics"
    diag.unlink()
    assert _fit(panel_csv, out) == 0
    assert _fit(panel_csv, out) == 0  # its own posterior and files: replaced
    assert rm.load_parameter_draws(out).segments == ("retail",)
    summary.write_text(summary.read_text() + "# my comment\n")  # edited by the user
    kept = summary.read_bytes()
    capsys.readouterr()
    assert _fit(panel_csv, out) == 2
    assert "post.summary.csv: exists and riskmodel cannot prove" in _error(capsys)
    assert summary.read_bytes() == kept
    assert _hidden(tmp_path) == []


@pytest.mark.parametrize(
    ("exc", "code", "words"),
    [
        (OSError(errno.ENOSPC, "No space left on device"), 2, "no space left on device; free"),
        (KeyboardInterrupt(), 130, "riskmodel: interrupted; no partial output was left."),
    ],
    ids=["full-disk", "ctrl-c"],
)
def test_fit_write_failure_leaves_the_previous_files(
    panel_csv, tmp_path, monkeypatch, capsys, exc, code, words
):
    out = tmp_path / "post.nc"
    assert _fit(panel_csv, out) == 0
    before = _snapshot(tmp_path)

    def fail(self, path, *args, **kwargs):
        Path(path).write_bytes(b"partial")
        raise exc

    import xarray as xr

    monkeypatch.setattr(xr.Dataset, "to_netcdf", fail)
    capsys.readouterr()
    assert _fit(panel_csv, out) == code
    err = capsys.readouterr().err
    assert words in err and err.count("\n") == 1 and "Traceback" not in err
    assert _snapshot(tmp_path) == before and _hidden(tmp_path) == []


# --------------------------------------------------------------------------- OS errors
def test_full_disk_is_bad_input_and_keeps_the_old_report(
    tiny_yaml, old_report, tmp_path, monkeypatch, capsys
):
    out = tmp_path / "out"
    _old(old_report, out)
    before = _snapshot(out)

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(riskmodel.report.run, "render_html", full)
    capsys.readouterr()
    assert _run(str(tiny_yaml), "--out", str(out), "--seed", "2") == 2
    err = _error(capsys)
    assert "no space left on device; free space or choose another --out" in err
    assert _snapshot(out) == before and _hidden(tmp_path) == []


def test_rename_across_file_systems_is_bad_input(
    tiny_yaml, old_report, tmp_path, monkeypatch, capsys
):
    out = tmp_path / "out"
    _old(old_report, out)
    before = _snapshot(out)
    real = os.rename

    def rename(src, dst):
        if Path(src) == out:  # the folder is a mount point: it cannot be moved aside
            raise OSError(errno.EBUSY, "Device or resource busy")
        return real(src, dst)

    monkeypatch.setattr(os, "rename", rename)
    capsys.readouterr()
    assert _run(str(tiny_yaml), "--out", str(out), "--seed", "2") == 2
    assert "EBUSY" in _error(capsys)
    assert _snapshot(out) == before and _hidden(tmp_path) == []


def test_scenario_name_too_long_for_the_file_system(
    write_scenario, tiny_config, tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    name_max = os.pathconf(tmp_path, "PC_NAME_MAX")
    path = write_scenario({**tiny_config, "name": "n" * (name_max - 5)}, "long.yaml")
    assert _run(str(path)) == 2  # default --out reports/<name>
    assert f"allows {name_max} bytes per name" in _error(capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["long.yaml"]


# --------------------------------------------------------------------------- interrupts
def test_ctrl_c_while_starting_up_prints_one_line(monkeypatch, capsys):
    import riskmodel.cli as cli

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "build_parser", interrupted)
    assert main(["run", "x.yaml"]) == 130
    err = capsys.readouterr().err
    assert err == "riskmodel: interrupted; no partial output was left.\n"


def test_sigterm_in_process_exits_143_and_restores_the_handler(
    tiny_yaml, old_report, tmp_path, monkeypatch, capsys
):
    out = tmp_path / "out"
    _old(old_report, out)
    before = _snapshot(out)

    def terminated(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # the handler raises before this ends
        raise AssertionError("SIGTERM was not turned into an exception")

    monkeypatch.setattr(riskmodel.report.run, "_write_figures", terminated)
    capsys.readouterr()
    assert _run(str(tiny_yaml), "--out", str(out), "--seed", "2") == 143
    assert capsys.readouterr().err == "riskmodel: stopped by SIGTERM; no partial output was left.\n"
    assert _snapshot(out) == before and _hidden(tmp_path) == []
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


# a CLI whose figure step reports that it is half-way and then waits (a big run, slowed down)
_SLOW = """
import pathlib, signal, sys, time
signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal, even if ignored here
import riskmodel.report.run as run
real = run._write_figures
ready, go, pause = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), float(sys.argv[3])
ready.with_suffix(".started").write_text("")
while not go.exists():
    time.sleep(0.01)

def slow(*args, **kwargs):
    start = time.time()
    figures = real(*args, **kwargs)
    ready.write_text(str(start))
    time.sleep(pause)
    ready.write_text(f"{start} {time.time()}")
    return figures

run._write_figures = slow
from riskmodel.cli import main
raise SystemExit(main(sys.argv[4:]))
"""


def _slow_cli(tmp_path: Path, tag: str, pause: float, *argv: str) -> tuple[subprocess.Popen, Path]:
    script = tmp_path.parent / f"{tmp_path.name}-slow.py"
    script.write_text(_SLOW)
    ready = tmp_path.parent / f"{tmp_path.name}-{tag}.ready"
    go = tmp_path.parent / f"{tmp_path.name}.go"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    proc = subprocess.Popen(
        [sys.executable, str(script), str(ready), str(go), str(pause), *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    return proc, ready


def _wait_for(path: Path, proc: subprocess.Popen, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc.poll() is not None:
            raise AssertionError(f"exited early: {proc.returncode} {proc.stderr.read()}")
        assert time.monotonic() < deadline, f"{path.name} never appeared"
        time.sleep(0.05)


@pytest.mark.parametrize(
    ("signum", "code", "words"),
    [
        (signal.SIGTERM, 143, "stopped by SIGTERM"),
        (signal.SIGINT, 130, "interrupted"),
    ],
)
def test_signal_mid_write_keeps_the_old_report(
    tiny_yaml, old_report, tmp_path, signum, code, words
):
    out = tmp_path / "out"
    _old(old_report, out)
    before = _snapshot(out)
    proc, ready = _slow_cli(
        tmp_path, "a", 120, "run", str(tiny_yaml), "--out", str(out), "--seed", "2", "--no-progress"
    )
    (tmp_path.parent / f"{tmp_path.name}.go").write_text("")
    try:
        _wait_for(ready, proc)
        assert [n for n in _hidden(tmp_path) if n.startswith(".out.tmp-")]  # really mid-write
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == code, err
    assert err == f"riskmodel: {words}; no partial output was left.\n"
    assert _snapshot(out) == before and _hidden(tmp_path) == []


def test_killed_run_leftovers_are_cleaned_by_the_next_run(tiny_yaml, old_report, tmp_path):
    out = tmp_path / "out"
    _old(old_report, out)
    before = _snapshot(out)
    proc, ready = _slow_cli(
        tmp_path, "k", 120, "run", str(tiny_yaml), "--out", str(out), "--seed", "2", "--no-progress"
    )
    (tmp_path.parent / f"{tmp_path.name}.go").write_text("")
    try:
        _wait_for(ready, proc)
    finally:
        proc.kill()  # SIGKILL: no cleanup can run
        proc.communicate(timeout=60)
    left = [tmp_path / n for n in _hidden(tmp_path) if n.startswith(".out.tmp-")]
    assert len(left) == 1 and (left[0] / TMP_MARKER).is_file()
    assert _snapshot(out) == before
    assert _run(str(tiny_yaml), "--out", str(out), "--seed", "3") == 0
    assert _hidden(tmp_path) == []
    assert json.loads((out / "summary.json").read_text())["seed"] == 3


def test_two_processes_writing_one_folder_take_turns(tiny_yaml, tmp_path):
    out = tmp_path / "out"
    argv = ("run", str(tiny_yaml), "--out", str(out), "--no-progress")
    procs = [
        _slow_cli(tmp_path, tag, 1.5, *argv, "--seed", seed)
        for tag, seed in (("a", "1"), ("b", "2"))
    ]
    try:
        for proc, ready in procs:
            _wait_for(ready.with_suffix(".started"), proc)
        (tmp_path.parent / f"{tmp_path.name}.go").write_text("")  # both start together
        results = [proc.communicate(timeout=180) for proc, _ in procs]
    finally:
        for proc, _ in procs:
            proc.kill()
    for (proc, _), (_, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, err
    spans = sorted(tuple(map(float, ready.read_text().split())) for _, ready in procs)
    assert spans[0][1] <= spans[1][0]  # the second fill began after the first one ended
    check_output_dir(out)  # one complete report, its manifest valid
    assert _hidden(tmp_path) == []


_STARTUP = """
import runpy, signal, sys
signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal


class CtrlC:  # Ctrl-C pressed while the scientific stack is being imported
    def find_spec(self, name, path=None, target=None):
        if name == "xarray":
            raise KeyboardInterrupt
        return None


sys.meta_path.insert(0, CtrlC())
sys.argv = ["riskmodel", "validate", "x.yaml"]
runpy.run_module("riskmodel.cli", run_name="__main__", alter_sys=True)
"""


def test_ctrl_c_while_importing_prints_one_line(tmp_path):
    script = tmp_path / "startup.py"
    script.write_text(_STARTUP)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=120
    )
    assert (done.returncode, done.stderr) == (
        130,
        "riskmodel: interrupted; no partial output was left.\n",
    )
