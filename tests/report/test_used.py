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


def test_stress_figure_draws_every_period_of_shift_shocks_lgd_and_exposure(tmp_path):
    from matplotlib.figure import Figure

    from riskmodel.plotting.stresses import plot_stress_path
    from riskmodel.report.used import stress_series

    sc = rm.load_scenario(REPO / "scenarios" / "adverse.yaml")
    shift, series = stress_series(sc)
    ax = plot_stress_path(shift, series, ax=Figure().add_subplot())
    line = next(x for x in ax.get_lines() if x.get_gid() == "shift")
    np.testing.assert_array_equal(line.get_ydata(), np.asarray(sc.shift)[: sc.horizon])
    assert len(shift) == sc.horizon > 12
    right = next(a for a in ax.figure.axes if a is not ax)
    labels = [x.get_label() for x in right.get_lines()]
    assert "exposure factor" in labels and any("default multiplier" in x for x in labels)
    assert any(x.startswith("LGD mean") for x in labels)
    lgd = next(x for x in right.get_lines() if x.get_label().startswith("LGD mean"))
    # downturn LGD: the mean rises where the shift is negative, and equals the base at shift 0
    base = sc.config.lgd.mean + sc.config.lgd.addon
    y = lgd.get_ydata()
    assert np.all(y[shift < 0] > base) and np.allclose(y[shift == 0], base)
