"""Careless tables: booleans and fractions as counts, non-finite amounts, panels with no moves,
and the safe file helpers (excerpts, regular files only)."""

from __future__ import annotations

import os
import threading

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import riskmodel as rm
from riskmodel.data.files import excerpt, open_regular, read_csv
from riskmodel.data.panel import panel_to_counts, read_panel_csv, validate_counts
from riskmodel.fitting import FitConfig, fit_panel

HEADER = "segment,state,customers,exposure\n"
SS = rm.StateSpace(["good", "bad", "gone"], absorbing=["gone"], default="gone")


def _portfolio_csv(tmp_path, rows: str):
    path = tmp_path / "p.csv"
    path.write_text(HEADER + rows)
    return rm.Portfolio.from_csv(path)


@pytest.mark.parametrize(
    ("rows", "column", "expect"),
    [
        ("a,new,True,5\na,mature,False,5\n", "customers", "True/False"),
        ("a,new,10,True\n", "exposure", "True/False"),
        ("a,new,1.5,5\n", "customers", "whole number"),
        ("a,new,10,nan\n", "exposure", "finite"),
        ("a,new,10,-inf\n", "exposure", "finite"),
        ("a,new,10,1e400\n", "exposure", "finite"),
    ],
    ids=["bool-customers", "bool-exposure", "fraction", "nan", "inf", "overflow"],
)
def test_portfolio_csv_refuses_non_counts(tmp_path, rows, column, expect):
    with pytest.raises(rm.PortfolioError, match=expect) as info:
        _portfolio_csv(tmp_path, rows)
    assert info.value.column == column and info.value.row == 0


def test_booleans_in_records_are_refused_too():
    with pytest.raises(rm.PortfolioError, match="True/False"):
        rm.Portfolio.from_records(
            [{"segment": "a", "state": "n", "customers": True, "exposure": 1.0}]
        )


def test_a_zero_customer_portfolio_is_valid(tmp_path):
    pf = _portfolio_csv(tmp_path, "a,new,0,0\n")
    assert pf.total_customers == 0 and pf.per_customer()["ead"].tolist() == [0.0]


# ------------------------------------------------------------------------------- excerpts
def test_excerpt_is_short_printable_ascii_and_marked():
    assert excerpt("retail") == "'retail'"
    long = excerpt("x" * 100)
    assert long == "'" + "x" * 40 + "'... (cut at 40 characters)"
    odd = excerpt("é\x1b[2J\x00'")
    assert odd == "'??[2J??' (non-ASCII, control and quote characters shown as ?)"
    assert all(" " <= c <= "~" for c in excerpt("\u202ebidi\n" * 20))


def test_portfolio_header_of_a_foreign_file_is_barely_quoted(tmp_path):
    path = tmp_path / "shadow"
    path.write_text("root:$6$SECRETSECRETSECRET:19000:0:99999:7:::\n")
    with pytest.raises(rm.PortfolioError, match="is this a portfolio CSV") as info:
        rm.Portfolio.from_csv(path)
    assert "SECRET" not in str(info.value)


def test_unknown_columns_are_quoted_as_one_excerpt(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("segment,state,customers,exposure," + "c" * 60 + "\na,new,1,1,1\n")
    with pytest.raises(rm.PortfolioError, match="unknown column") as info:
        rm.Portfolio.from_csv(path)
    assert "c" * 41 not in str(info.value)


# ------------------------------------------------------------------------------- regular files
def test_open_regular_refuses_a_fifo_without_blocking(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    outcome = []

    def attempt():
        try:
            open_regular(fifo)
        except rm.UnsafeFileError as exc:
            outcome.append(str(exc))

    worker = threading.Thread(target=attempt, daemon=True)
    worker.start()
    worker.join(timeout=5)  # a plain open() of a FIFO without a writer never returns
    assert not worker.is_alive()
    assert outcome and "is a FIFO (named pipe), not a regular file" in outcome[0]


@pytest.mark.parametrize("target", ["folder", "/dev/zero"])
def test_readers_refuse_non_regular_files(tmp_path, target):
    path = tmp_path if target == "folder" else target
    with pytest.raises(rm.UnsafeFileError, match="not a regular file"):
        rm.Portfolio.from_csv(path)
    with pytest.raises(rm.UnsafeFileError, match="not a regular file"):
        read_panel_csv(path)


def test_read_csv_errors_name_the_file_and_kind(tmp_path):
    with pytest.raises(rm.PanelError, match="panel CSV not found"):
        read_panel_csv(tmp_path / "nope.csv")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(rm.MacroError, match="macro CSV is empty"):
        read_csv(tmp_path / "empty.csv", what="macro CSV", error=rm.MacroError)


# ------------------------------------------------------------------------------- empty panels
def test_a_header_only_panel_is_refused(tmp_path):
    path = tmp_path / "panel.csv"
    path.write_text("customer_id,period,state\n")
    with pytest.raises(rm.PanelError, match="no rows"):
        panel_to_counts(read_panel_csv(path), SS)


@pytest.mark.parametrize(
    "panel",
    [
        pd.DataFrame({"customer_id": [1, 2], "period": [0, 0], "state": ["good", "bad"]}),
        pd.DataFrame({"customer_id": [1, 1], "period": [0, 1], "state": ["gone", "gone"]}),
    ],
    ids=["single-periods", "absorbed-from-the-start"],
)
def test_a_panel_without_transitions_is_refused(panel):
    with pytest.raises(rm.PanelError, match="no transitions to count"):
        panel_to_counts(panel, SS)
    with pytest.raises(rm.PanelError, match="no transitions to count"):
        panel_to_counts(panel, SS, by_period=True)


def test_fit_refuses_a_panel_without_data():
    """`riskmodel fit` used to write a posterior equal to the prior (exit 0)."""
    config = FitConfig.model_validate(
        {"states": {"names": ["good", "bad", "gone"], "absorbing": ["gone"], "default": "gone"}}
    )
    empty = pd.DataFrame({"customer_id": [], "period": [], "state": []})
    with pytest.raises(rm.PanelError, match="no rows"):
        fit_panel(empty, config)
    single = pd.DataFrame({"customer_id": [1, 2], "period": [0, 0], "state": ["good", "bad"]})
    with pytest.raises(rm.PanelError, match="no transitions"):
        fit_panel(single, config)


def test_all_zero_counts_are_refused():
    zeros = xr.DataArray(
        np.zeros((1, 3, 3), dtype=int),
        dims=("segment", "from_state", "to_state"),
        coords={"segment": ["a"], "from_state": list(SS.names), "to_state": list(SS.names)},
    )
    with pytest.raises(rm.PanelError, match="all zero"):
        validate_counts(zeros, SS)
    with pytest.raises(rm.PanelError, match="all zero"):
        rm.TransitionModel(SS).fit(zeros)
