"""`riskmodel backtest POSTERIOR.nc PANEL.csv --out DIR`."""

from __future__ import annotations

import json

import pytest

from riskmodel.cli import main


@pytest.fixture
def files(example_draws, example_panel, tmp_path):
    post = tmp_path / "fitted.nc"
    example_draws.to_netcdf(post)
    panel = tmp_path / "panel.csv"
    example_panel.to_csv(panel, index=False)
    return post, panel


def test_backtest_writes_the_folder(files, tmp_path, capsys):
    post, panel = files
    out = tmp_path / "bt"
    assert main(["backtest", str(post), str(panel), "--out", str(out)]) == 0
    data = json.loads((out / "backtest.json").read_text())
    assert data["overall"] in {"green", "amber", "red"}
    assert set(data["inputs"]) == {str(post), str(panel)}
    for name in ("backtest.csv", "report.html", "figures/pit_histogram.png",
                 "figures/reliability.png"):  # fmt: skip
        assert (out / name).is_file()
    assert f"overall {data['overall']}" in capsys.readouterr().out
    # a second run replaces its own earlier report
    assert main(["backtest", str(post), str(panel), "--out", str(out), "--seed", "3"]) == 0
    assert json.loads((out / "backtest.json").read_text())["info"]["seed"] == 3


def test_bad_panel_exits_2_naming_the_segment(files, example_panel, tmp_path, capsys):
    post, _ = files
    bad = tmp_path / "bad.csv"
    example_panel.assign(segment="other").to_csv(bad, index=False)
    assert main(["backtest", str(post), str(bad), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "other" in err and "Traceback" not in err


def test_foreign_folder_is_refused(files, tmp_path, capsys):
    post, panel = files
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    assert main(["backtest", str(post), str(panel), "--out", str(out)]) == 2
    assert (out / "notes.txt").read_text() == "keep me"
    assert not (out / "backtest.json").exists()


def test_macro_and_period_length_reach_the_backtest(tmp_path, capsys):
    """`--macro` feeds a covariate posterior its macro series; without it: exit 2, no traceback."""
    from test_backtest import _covariate_book

    from riskmodel.data.synthetic import macro_driven_matrices, simulate_panel
    from riskmodel.states import LIFECYCLE

    draws, a, b, macro = _covariate_book()
    mats = macro_driven_matrices({"cards": a, "loans": a}, b, macro, ["u"], LIFECYCLE)
    post, panel, macro_csv = tmp_path / "cov.nc", tmp_path / "panel.csv", tmp_path / "macro.csv"
    draws.to_netcdf(post)
    simulate_panel(mats, LIFECYCLE, n_customers=4000, n_periods=13, seed=3).to_csv(
        panel, index=False
    )
    macro.to_csv(macro_csv, index=False)
    base = ["backtest", str(post), str(panel)]
    assert main([*base, "--out", str(tmp_path / "none")]) == 2
    err = capsys.readouterr().err
    assert "macro" in err and "Traceback" not in err
    out = tmp_path / "bt"
    assert main([*base, "--out", str(out), "--macro", str(macro_csv)]) == 0
    data = json.loads((out / "backtest.json").read_text())
    assert data["overall"] != "red"
    assert set(data["inputs"]) == {str(post), str(panel), str(macro_csv)}
    assert main([*base, "--out", str(tmp_path / "x"), "--period-length", "0"]) == 2
    assert "positive" in capsys.readouterr().err
