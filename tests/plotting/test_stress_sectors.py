"""The stress-path figure with sector factors: every factor's shift, labelled by name."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import riskmodel as rm
from riskmodel.plotting.stresses import plot_stress_path
from riskmodel.report.used import stress_series

REPO = Path(__file__).resolve().parents[2]


def test_each_factor_shift_is_drawn_on_the_left_axis_under_its_name():
    from matplotlib.figure import Figure

    sc = rm.load_scenario(REPO / "scenarios" / "sectors.yaml")
    shift, series = stress_series(sc)
    assert isinstance(shift, dict) and list(shift) == list(sc.factors.names)
    ax = plot_stress_path(shift, series, ax=Figure().add_subplot())
    for i, name in enumerate(sc.factors.names):
        line = next(x for x in ax.get_lines() if x.get_gid() == f"shift:{name}")
        assert line.get_label() == f"shift of {name} (left axis)"
        np.testing.assert_array_equal(line.get_ydata(), np.asarray(sc.shift)[: sc.horizon, i])
    assert not any(x.get_label().startswith("shift of Z") for x in ax.get_lines())
    right = next(a for a in ax.figure.axes if a is not ax)
    assert not any(x.get_label().startswith("shift") for x in right.get_lines())  # additive
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert {"shift of retail (left axis)", "shift of sme (left axis)"} <= set(legend)
    styles = {x.get_linestyle() for x in ax.get_lines() if str(x.get_gid()).startswith("shift:")}
    assert len(styles) == 2  # told apart without colour


def test_one_factor_keeps_its_single_shift_of_z():
    from matplotlib.figure import Figure

    sc = rm.load_scenario(REPO / "scenarios" / "adverse.yaml")
    shift, series = stress_series(sc)
    ax = plot_stress_path(shift, series, ax=Figure().add_subplot())
    (line,) = [x for x in ax.get_lines() if str(x.get_gid()).startswith("shift")]
    assert line.get_gid() == "shift" and line.get_label() == "shift of Z (left axis)"
