"""``riskmodel ecl``: the folder it writes, its numbers, its exit codes and its refusals."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import riskmodel as rm
from riskmodel.cli import main
from riskmodel.ecl.synthetic import synthetic_tape

REPO = Path(__file__).resolve().parents[2]
IFRS9 = REPO / "scenarios" / "ifrs9.yaml"


@pytest.fixture
def tape(tmp_path) -> Path:
    path = tmp_path / "loans.csv"
    synthetic_tape(rm.load_scenario(IFRS9), 3_000, seed=4).to_csv(path, index=False)
    return path


def test_ecl_writes_the_folder_with_the_apis_numbers(tmp_path, tape, capsys):
    out = tmp_path / "ecl"
    code = main(["ecl", str(IFRS9), "--loans", str(tape), "--out", str(out), "--chunk-rows", "700"])
    assert code == 0
    assert "report written to" in capsys.readouterr().out
    names = {p.name for p in out.iterdir()}
    assert {"ecl_by_loan.csv", "summary.json", "totals.csv", "report.html", "figures"} <= names
    assert (out / "figures" / "booked_ecl.png").stat().st_size > 1000
    summary = json.loads((out / "summary.json").read_text())
    api = rm.loan_ecl(IFRS9, tape)
    for key in ("12_month", "lifetime", "booked"):
        assert summary["ecl"][key] == pytest.approx(api.summary()["ecl"][key], rel=1e-12)
    table = pd.read_csv(out / "ecl_by_loan.csv", dtype={"loan_id": str})
    assert list(table.columns) == list(api.loans.columns)
    assert len(table) == 3_000
    np.testing.assert_array_equal(table["stage"], api.loans["stage"])
    # amounts are written with 6 decimals, PDs with 12
    np.testing.assert_allclose(table["ecl_booked"], api.loans["ecl_booked"], rtol=0, atol=5e-7)
    np.testing.assert_allclose(table["pd_lifetime"], api.loans["pd_lifetime"], rtol=0, atol=5e-13)
    assert table["ecl_booked"].sum() == pytest.approx(summary["ecl"]["booked"], rel=1e-9)
    manifest = json.loads((out / ".riskmodel-manifest.json").read_text())
    assert manifest["kind"] == "loan_ecl"
    assert ("ecl_by_loan.parquet" in names) == ("ecl_by_loan.parquet" in summary["outputs"])
    html = (out / "report.html").read_text()
    for section in ("Totals by stage", "Totals by segment", "Totals by state", "Staging"):
        assert f">{section}</h2>" in html
    # a second run replaces riskmodel's own folder
    assert main(["ecl", str(IFRS9), "--loans", str(tape), "--out", str(out)]) == 0


def test_bad_input_exits_2_and_leaves_nothing(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("loan_id,segment,state,exposure\na,mortgages,stage1,-4\n")
    out = tmp_path / "ecl"
    code = main(["ecl", str(IFRS9), "--loans", str(bad), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    assert "bad.csv" in err and "column 'exposure'" in err and "Traceback" not in err
    assert not out.exists() and [p.name for p in tmp_path.iterdir()] == ["bad.csv"]
    args = ["ecl", str(IFRS9), "--loans", str(bad), "--out", str(out), "--sicr-threshold", "1"]
    assert main(args) == 2
    assert "must be a number > 1" in capsys.readouterr().err


def test_a_foreign_folder_is_refused(tmp_path, tape, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    assert main(["ecl", str(IFRS9), "--loans", str(tape), "--out", str(out)]) == 2
    assert "notes.txt" in capsys.readouterr().err
    assert (out / "notes.txt").read_text() == "keep me"


def test_weighted_scenarios_on_the_command_line(tmp_path, tape):
    files = []
    for name, w, shift in (("central", 0.6, 0.0), ("down", 0.4, -1.0)):
        cfg = yaml.safe_load(IFRS9.read_text())
        cfg.update(name=name, weight=w)
        cfg["systematic"]["shift"] = shift
        cfg["portfolio"]["file"] = str(REPO / "scenarios" / "ifrs9_portfolio.csv")
        (tmp_path / f"{name}.yaml").write_text(yaml.safe_dump(cfg))
        files.append(str(tmp_path / f"{name}.yaml"))
    out = tmp_path / "w"
    args = ["ecl", *files, "--loans", str(tape), "--out", str(out), "--allow-outside-files"]
    assert main(args) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["weighted"] and [s["weight"] for s in summary["scenarios"]] == [0.6, 0.4]
    by = summary["by_scenario"]
    expected = 0.6 * by["central"]["lifetime"] + 0.4 * by["down"]["lifetime"]
    assert summary["ecl"]["lifetime"] == pytest.approx(expected, rel=1e-10)


def test_parquet_holds_the_same_table_when_pyarrow_is_installed(tmp_path, tape):
    pytest.importorskip("pyarrow")  # optional: Parquet is written only when it imports
    out = tmp_path / "pq"
    assert (
        main(["ecl", str(IFRS9), "--loans", str(tape), "--out", str(out), "--chunk-rows", "900"])
        == 0
    )
    table = pd.read_parquet(out / "ecl_by_loan.parquet")
    api = rm.loan_ecl(IFRS9, tape).loans
    assert list(table.columns) == list(api.columns)
    np.testing.assert_array_equal(table["ecl_booked"], api["ecl_booked"])
    assert table["loan_id"].tolist() == api["loan_id"].tolist()
    none = tmp_path / "none"
    assert main(["ecl", str(IFRS9), "--loans", str(tape), "--out", str(none), "--no-parquet"]) == 0
    assert not (none / "ecl_by_loan.parquet").exists()
