"""The loan-level ECL page and figures: drawn from the totals, names escaped, nothing computed."""

from __future__ import annotations

import pandas as pd

import riskmodel as rm
from riskmodel.plotting.loan_ecl import STAGE_COLOURS, plot_booked_ecl, plot_cumulative_pd
from riskmodel.report.loans import loan_ecl_figures, render_loan_ecl_html


def _result(tiny_config):
    tiny_config["portfolio"]["cohorts"][0]["segment"] = "<b>retail</b>"
    tiny_config["portfolio"]["cohorts"][1]["segment"] = "sme & co"
    tiny_config["parameters"]["transitions"] = {
        "<b>retail</b>": tiny_config["parameters"]["transitions"]["retail"],
        "sme & co": tiny_config["parameters"]["transitions"]["retail"],
    }
    sc = rm.scenario_from_dict(tiny_config)
    tape = pd.DataFrame(
        {
            "loan_id": ["a", "b", "c", "d"],
            "segment": ["<b>retail</b>", "<b>retail</b>", "sme & co", "sme & co"],
            "state": ["new", "defaulted", "mature", "declining"],
            "exposure": [100.0, 50.0, 80.0, 20.0],
            "origination_pd": [0.5, None, 0.001, None],
        }
    )
    return rm.loan_ecl(sc, tape)


def test_bars_stack_the_booked_ecl_by_stage(tiny_config):
    res = _result(tiny_config)
    ax = plot_booked_ecl(res.totals, by="segment")
    bars = list(ax.patches)
    stages = sorted(res.totals["stage"].unique())
    assert len(bars) == 2 * len(stages)  # one bar per segment and stage drawn
    widths = {}
    for bar in bars:
        widths.setdefault(bar.get_facecolor(), 0.0)
        widths[bar.get_facecolor()] += bar.get_width()
    total = sum(widths.values())
    assert abs(total - res.summary()["ecl"]["booked"]) < 1e-9 * total
    assert {tuple(round(c, 4) for c in k[:3]) for k in widths} <= {
        tuple(round(int(STAGE_COLOURS[s][i : i + 2], 16) / 255, 4) for i in (1, 3, 5))
        for s in (1, 2, 3)
    }


def test_lines_are_the_cumulative_pds_of_the_summary(tiny_config):
    res = _result(tiny_config)
    ts = res.summary()["term_structure"]
    ax = plot_cumulative_pd(ts)
    assert len(ax.lines) == len(ts) == 2 * 4  # segments × transient states
    for line, block in zip(ax.lines, ts.values(), strict=True):
        assert list(line.get_ydata()) == block["cumulative_pd"]


def test_page_escapes_names_and_shows_the_totals(tiny_config):
    res = _result(tiny_config)
    summary = dict(res.summary(), outputs=["ecl_by_loan.csv"])
    figures = loan_ecl_figures(res.totals, summary)
    html = render_loan_ecl_html(summary, res.totals, figures)
    assert "<b>retail</b>" not in html and "&lt;b&gt;retail&lt;/b&gt;" in html
    assert "sme &amp; co" in html
    assert f"{summary['ecl']['booked']:,.0f}" in html
    assert html.count("data:image/png;base64,") == 2
