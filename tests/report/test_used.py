"""The "What was used" section: matrices per segment, the portfolio by cohort, every period."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import riskmodel as rm
from riskmodel.report.used import what_was_used_html

REPO = Path(rm.__file__).resolve().parents[1]


def test_tiny_shows_each_transition_probability_cohort_and_period():
    sc = rm.load_scenario(REPO / "tests" / "scenarios" / "tiny.yaml")
    html = what_was_used_html(sc)
    t = np.asarray(sc.transitions, dtype=float)[0, 0]  # one draw, one segment
    for p in t[: len(sc.states.transient)].ravel():
        assert f'<td class="num">{100 * p:.2f}</td>' in html
    for r in sc.portfolio.table.itertuples():
        assert f"{int(r.customers):,}" in html and f"{float(r.exposure):,.0f}" in html
    shift = np.asarray(sc.shift, dtype=float)
    assert html.count('<tr><td class="num">') >= sc.horizon  # one row per period
    assert f"{shift[-1]:+.3f}" in html and "Stress path per period" in html


def test_adverse_shows_the_full_horizon_not_the_first_12_periods():
    sc = rm.load_scenario(REPO / "scenarios" / "adverse.yaml")
    html = what_was_used_html(sc)
    assert sc.horizon > 12
    assert f'<tr><td class="num">{sc.horizon}</td>' in html
