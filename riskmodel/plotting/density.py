"""What the loss-distribution plots share: density unit, bar heights, resolved bins, labels.

The y-axis of a loss distribution is a probability density per a round number of units
(`density_unit`: per 1M currency units for losses in the millions), so its ticks read like 0.4
instead of 4e-07. A tail bin is drawn only if it rests on at least `MIN_BIN_PATHS` effective
paths (the Kish size ``(Σ w)² / Σ w²`` of the weights of its paths), i.e. its probability has a
relative standard error ``1/√ESS_bin`` of at most 50% (see `riskmodel.plotting.distribution`).
Their legend goes below the axes (`legend_below`). Only binning happens here; the statistics
come from `riskmodel.metrics.figures`.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from riskmodel.plotting.style import format_compact

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "MIN_BIN_PATHS",
    "density_label",
    "density_unit",
    "density_weights",
    "legend_below",
    "resolved_bins",
]


MIN_BIN_PATHS = 4.0
"""Effective paths a tail-inset bin needs to be drawn (relative error of its mass ≤ 50%)."""


def density_unit(values: np.ndarray) -> float:
    """Return the round number of units (a power of ten) per which a density is shown.

    The largest power of ten not above the spread (max − min) of the values, so that the
    density reads between about 0.1 and 10 (losses spread over 60M are shown per 10M: ticks
    like 0.4, not 4e-08). Values spread over less than 10 units keep unit 1.

    Examples
    --------
    >>> density_unit(np.array([2.5e6, 7.1e6])), density_unit(np.array([12.0, 18.0]))
    (1000000.0, 1.0)
    """
    spread = float(np.ptp(values)) if np.size(values) else 0.0
    if not math.isfinite(spread) or spread < 10:
        return 1.0
    return 10.0 ** math.floor(math.log10(spread))


def density_weights(weights: np.ndarray, width: float, unit: float) -> np.ndarray:
    """Per-path bar heights so that equal-width bins show the density per `unit`."""
    heights: np.ndarray = weights / (weights.sum() * width) * unit
    return heights


def resolved_bins(
    values: np.ndarray, weights: np.ndarray, edges: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Probability per bin (weights normalised over all paths) and whether it is resolved.

    A bin is resolved if the Kish size of its paths' weights is at least `MIN_BIN_PATHS`.
    """
    total = float(weights.sum())
    mass, _ = np.histogram(values, bins=edges, weights=weights / total)
    square, _ = np.histogram(values, bins=edges, weights=(weights / total) ** 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        ess = np.where(square > 0, mass**2 / square, 0.0)
    return mass, ess >= MIN_BIN_PATHS * (1.0 - 1e-9)


def density_label(unit: float, units: str) -> str:
    """Return the y-axis label: probability density per `unit` of `units` (``"currency"``…)."""
    what = "currency units" if units == "currency" else units
    if unit == 1.0:
        return "probability density" + (f" per {what.rstrip('s')}" if what else "")
    return f"probability density per {format_compact(unit)}" + (f" {what}" if what else "")


def legend_below(ax: Axes) -> None:
    """Put the legend below the axes, in as many columns (three at most) as fit the figure.

    Inside the axes it covered the tail, where the VaR and ES lines and the tail inset are. Long
    entries (a comparison's "adverse: EL 62.4M exact, ES 99% 106M") in three columns were wider
    than the figure, so saved figures grew sideways and a constrained layout squeezed the axes.
    """
    figure = ax.get_figure()
    for ncol in (3, 2, 1):
        legend = ax.legend(
            loc="upper center",
            bbox_to_anchor=(0.5, -0.16),
            ncol=ncol,
            frameon=False,
            fontsize="small",
        )
        if figure is None or legend.get_window_extent().width <= 0.95 * figure.bbox.width:
            return
