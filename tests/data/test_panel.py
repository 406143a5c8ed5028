"""Data layer: panel -> transition counts, macro alignment, bundled example data."""

from __future__ import annotations

import subprocess
import sys
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from riskmodel.data.macro import MacroError, align_macro, validate_macro
from riskmodel.data.panel import (
    EXAMPLE_STRUCTURAL_ZEROS,
    GapsSkippedWarning,
    PanelError,
    load_example_macro,
    load_example_panel,
    panel_to_counts,
    validate_counts,
)
from riskmodel.states import LIFECYCLE, StateSpace

SS = StateSpace(["good", "bad", "gone"], absorbing=["gone"], default="gone")
REPO = Path(__file__).resolve().parents[2]


def small_panel() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "b", "b", "c", "c", "c"],
            "period": [0, 1, 2, 5, 6, 1, 2, 3],
            "state": ["good", "bad", "gone", "good", "good", "bad", "good", "good"],
            "segment": ["x", "x", "x", "y", "y", "x", "x", "x"],
        }
    )


def test_counts_exact_values_and_labels():
    counts = panel_to_counts(small_panel(), SS)
    assert counts.dims == ("segment", "from_state", "to_state")
    assert list(counts.segment.values) == ["x", "y"]
    assert list(counts.from_state.values) == list(SS.names)
    x = counts.sel(segment="x")
    assert int(x.sel(from_state="good", to_state="bad")) == 1
    assert int(x.sel(from_state="bad", to_state="gone")) == 1
    assert int(x.sel(from_state="bad", to_state="good")) == 1
    assert int(x.sel(from_state="good", to_state="good")) == 1
    assert int(counts.sel(segment="y", from_state="good", to_state="good")) == 1
    assert int(counts.sum()) == 5  # 8 rows, 3 customers
    assert counts.attrs["skipped_gap_pairs"] == 0
    assert counts.attrs["n_customers"] == 3


def test_row_order_does_not_matter():
    panel = small_panel()
    shuffled = panel.sample(frac=1.0, random_state=3)
    xr.testing.assert_identical(panel_to_counts(panel, SS), panel_to_counts(shuffled, SS))


def test_no_segment_column_is_one_segment_named_all():
    counts = panel_to_counts(small_panel().drop(columns="segment"), SS)
    assert list(counts.segment.values) == ["all"]
    assert int(counts.sum()) == 5


def test_by_period_counts_use_the_starting_period():
    counts = panel_to_counts(small_panel(), SS, by_period=True)
    assert counts.dims == ("period", "segment", "from_state", "to_state")
    assert list(counts.period.values) == [0, 1, 2, 3, 4, 5]
    # a: good(0)->bad(1) is labelled period 0
    assert int(counts.sel(period=0, segment="x", from_state="good", to_state="bad")) == 1
    assert int(counts.sel(period=5, segment="y").sum()) == 1
    xr.testing.assert_equal(counts.sum("period"), panel_to_counts(small_panel(), SS))


@pytest.mark.parametrize(
    ("mutate", "pattern"),
    [
        (lambda p: p.drop(columns="state"), r"missing column\(s\) \['state'\]"),
        (lambda p: p.assign(state=p.state.where(p.index != 3)), r"missing values.*rows \[3\]"),
        (
            lambda p: p.assign(period=p.period.astype(float).where(p.index != 4, 5.5)),
            r"integers; rows \[4\]",
        ),
        (
            lambda p: p.assign(period=p.period.astype(str).where(p.index != 2, "2020-01")),
            r"integers; rows \[2\]",
        ),
        (
            lambda p: p.assign(state=p.state.where(p.index != 6, "great")),
            r"unknown state\(s\) \['great'\] at rows \[6\]",
        ),
    ],
)
def test_invalid_panels_name_the_rows(mutate, pattern):
    with pytest.raises(PanelError, match=pattern):
        panel_to_counts(mutate(small_panel()), SS)


def test_duplicate_customer_period_names_the_customer():
    panel = pd.concat([small_panel(), small_panel().iloc[[1]]], ignore_index=True)
    with pytest.raises(PanelError, match=r"duplicate \(customer_id, period\).*\('a', 1\)"):
        panel_to_counts(panel, SS)


def test_transition_out_of_absorbing_state_names_the_customer():
    panel = small_panel()
    extra = pd.DataFrame({"customer_id": ["a"], "period": [3], "state": ["good"], "segment": ["x"]})
    with pytest.raises(PanelError, match=r"out of an absorbing state.*\[a\].*gone -> good"):
        panel_to_counts(pd.concat([panel, extra], ignore_index=True), SS)


def test_staying_in_an_absorbing_state_is_fine_and_not_counted():
    panel = small_panel()
    extra = pd.DataFrame({"customer_id": ["a"], "period": [3], "state": ["gone"], "segment": ["x"]})
    counts = panel_to_counts(pd.concat([panel, extra], ignore_index=True), SS)
    assert int(counts.sel(from_state="gone").sum()) == 0


def test_gaps_are_an_error_by_default_and_skipped_on_request():
    panel = small_panel()
    panel.loc[panel.index[-1], "period"] = 5  # c: 1, 2, 5 -> one gap
    with pytest.raises(PanelError, match=r"1 gap\(s\).*\[c\].*skip_gaps=True"):
        panel_to_counts(panel, SS)
    with pytest.warns(GapsSkippedWarning, match="skipped 1 pair"):
        counts = panel_to_counts(panel, SS, skip_gaps=True)
    assert counts.attrs["skipped_gap_pairs"] == 1
    assert int(counts.sum()) == 4


def test_validate_counts_orders_states_and_rejects_bad_values():
    counts = panel_to_counts(small_panel(), SS)
    shuffled = counts.isel(from_state=[2, 0, 1], to_state=[1, 2, 0])
    xr.testing.assert_equal(validate_counts(shuffled, SS), counts)
    single = validate_counts(counts.sel(segment="x", drop=True), SS)
    assert list(single.segment.values) == ["all"]
    with pytest.raises(PanelError, match="does not match the state space"):
        validate_counts(counts.assign_coords(to_state=["good", "bad", "lost"]), SS)
    with pytest.raises(PanelError, match="non-negative whole numbers"):
        validate_counts(counts - 2, SS)
    with pytest.raises(PanelError, match="dims"):
        validate_counts(counts.rename(segment="group"), SS)


# --------------------------------------------------------------------------- macro
def macro_table() -> pd.DataFrame:
    return pd.DataFrame({"period": [3, 1, 2, 0], "u": [5.3, 5.1, 5.2, 5.0], "g": [1, 2, 3, 4]})


def test_macro_aligns_transition_t_with_period_t():
    x = align_macro(macro_table(), [0, 1, 2], ["u"])
    np.testing.assert_allclose(x[:, 0], [5.0, 5.1, 5.2])
    assert validate_macro(macro_table(), ["u", "g"]).index.tolist() == [0, 1, 2, 3]


def test_macro_misalignment_is_a_clear_error():
    with pytest.raises(MacroError, match=r"no row for period\(s\) \[4, 5\].*covers 0..3"):
        align_macro(macro_table(), [2, 3, 4, 5], ["u"])
    with pytest.raises(MacroError, match=r"missing column\(s\) \['gdp'\]"):
        align_macro(macro_table(), [0], ["gdp"])
    dup = pd.concat([macro_table(), macro_table().iloc[[0]]])
    with pytest.raises(MacroError, match=r"duplicate periods \[3\]"):
        validate_macro(dup, ["u"])
    with pytest.raises(MacroError, match="missing or non-numeric"):
        validate_macro(macro_table().assign(u=[1.0, np.nan, 2.0, 3.0]), ["u"])


# --------------------------------------------------------------------------- example data
def test_example_panel_is_small_valid_and_has_a_thin_segment():
    path = resources.files("riskmodel.data").joinpath("examples", "panel.csv")
    assert path.stat().st_size < 400_000
    panel = load_example_panel()
    sizes = panel.groupby("segment").size()
    assert set(sizes.index) == {"cards", "loans", "smb"}
    assert 200 <= sizes["smb"] <= 600
    assert sizes["cards"] > 3000 and sizes["loans"] > 3000
    counts = panel_to_counts(panel, LIFECYCLE)
    for f, t in EXAMPLE_STRUCTURAL_ZEROS:
        assert int(counts.sel(from_state=f, to_state=t).sum()) == 0
    macro = load_example_macro()
    assert list(macro.columns) == ["period", "unemployment", "gdp_growth"]
    align_macro(
        macro,
        panel_to_counts(panel, LIFECYCLE, by_period=True).period.values,
        ["unemployment", "gdp_growth"],
    )


def test_example_rates_are_plausible_monthly_rates():
    counts = panel_to_counts(load_example_panel(), LIFECYCLE).sel(segment=["cards", "loans"])
    total = counts.sum("segment")
    rate = total / total.sum("to_state")
    for healthy in ("new", "growing", "mature"):
        assert 0.0003 < float(rate.sel(from_state=healthy, to_state="defaulted")) < 0.008
        assert 0.003 < float(rate.sel(from_state=healthy, to_state="churned")) < 0.03
    assert 0.01 < float(rate.sel(from_state="declining", to_state="defaulted")) < 0.08


def test_example_data_regenerates_from_its_seed(tmp_path):
    script = REPO / "scripts" / "make_example_data.py"
    env = {"PYTHONPATH": str(REPO)}
    subprocess.run(
        [sys.executable, str(script), "--out", str(tmp_path)],
        check=True,
        capture_output=True,
        env=env,
    )
    for name in ("panel.csv", "macro.csv"):
        bundled = resources.files("riskmodel.data").joinpath("examples", name).read_text()
        assert (tmp_path / name).read_text() == bundled
