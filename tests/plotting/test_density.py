"""The binning the loss-distribution plots share (`riskmodel.plotting.density`)."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.figure import Figure

from riskmodel.plotting import distribution, scenario_distributions
from riskmodel.plotting.density import (
    MIN_BIN_PATHS,
    density_label,
    density_unit,
    density_weights,
    legend_below,
    resolved_bins,
)


def test_names_stay_importable_from_the_distribution_module():
    assert distribution.density_unit is density_unit
    assert distribution.MIN_BIN_PATHS == MIN_BIN_PATHS
    assert distribution.plot_loss_distributions is scenario_distributions.plot_loss_distributions


def test_bar_heights_integrate_to_one_per_unit():
    # heights of equal-width bins: sum(height) * width = unit, whatever the weights' scale
    w = np.random.default_rng(1).uniform(0.1, 3.0, size=50)
    for unit, width in [(1.0, 0.5), (1e6, 2.5e5)]:
        heights = density_weights(w, width, unit)
        assert heights.sum() * width == pytest.approx(unit, rel=1e-12)
        np.testing.assert_allclose(heights / heights[0], w / w[0], rtol=1e-12)


def test_a_bin_is_resolved_from_its_kish_size_not_its_path_count():
    edges = np.array([0.0, 1.0, 2.0, 3.0])
    # bin 0: 4 equal weights (Kish size 4 = MIN_BIN_PATHS); bin 1: 3 equal weights (size 3);
    # bin 2: 10 paths, one carrying all but 1e-6 of the weight (size ~1)
    values = np.r_[np.full(4, 0.5), np.full(3, 1.5), np.full(10, 2.5)]
    weights = np.r_[np.ones(4), np.ones(3), 1.0, np.full(9, 1e-6)]
    mass, resolved = resolved_bins(values, weights, edges)
    assert resolved.tolist() == [True, False, False]
    np.testing.assert_allclose(mass, [4, 3, 1 + 9e-6] / weights.sum(), rtol=1e-12)


def test_the_label_names_the_unit_and_what_is_counted():
    assert density_label(1.0, "currency") == "probability density per currency unit"
    assert density_label(1e6, "currency") == "probability density per 1M currency units"
    assert density_label(1.0, "") == "probability density"


def test_the_legend_sits_below_the_axes_in_three_columns():
    ax = Figure().add_subplot()
    ax.plot([0, 1], [0, 1], label="a")
    legend_below(ax)
    legend = ax.get_legend()
    assert legend is not None and legend._ncols == 3
    anchor = legend.get_bbox_to_anchor().transformed(ax.transAxes.inverted())
    assert anchor.y0 < 0  # below the axes, not over the tail


@pytest.mark.parametrize(
    ("label", "ncols"),
    [("EL", 3), ("adverse: EL 62.4M exact, ES 99% 106M", 2), ("x" * 70, 1)],
)
def test_the_legend_takes_only_as_many_columns_as_fit_the_figure(label, ncols):
    # a comparison's entries in three columns were wider than an 8-inch figure: saved figures
    # grew sideways and a constrained layout squeezed the axes
    fig = Figure(figsize=(8, 4.5))
    ax = fig.add_subplot()
    for i in range(3):
        ax.plot([0, 1], [i, i], label=f"{label} {i}")
    legend_below(ax)
    legend = ax.get_legend()
    assert legend._ncols == ncols
    assert legend.get_window_extent().width <= fig.bbox.width
