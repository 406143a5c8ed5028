"""Backtest figures: PIT histogram and reliability plot.

The statistics come from `riskmodel.validation.BacktestResult` (`pit_histogram`,
`reliability_curve`); nothing is computed here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from riskmodel.plotting.style import new_axes, percent_formatter
from riskmodel.plotting.style import plot_style as _plot_style

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes

__all__ = ["plot_pit_histogram", "plot_reliability"]


def plot_pit_histogram(hist: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """PIT histogram of the default counts against the uniform and its 95% band.

    Parameters
    ----------
    hist : DataFrame
        From `BacktestResult.pit_histogram`: ``left``, ``right``, ``density``, ``lower``,
        ``upper``.
    ax : matplotlib.axes.Axes, optional
        Draw here; default: a new figure.

    Returns
    -------
    matplotlib.axes.Axes
        Bars with gid ``"pit"``, the band with gid ``"uniform-band"``.
    """
    with _plot_style():
        ax = ax if ax is not None else new_axes()
        width = (hist["right"] - hist["left"]).to_numpy()
        ax.bar(hist["left"], hist["density"], width=width, align="edge", color="#0072B2",
               alpha=1.0, gid="pit", label="default counts", zorder=2)  # fmt: skip
        lower, upper = float(hist["lower"].min()), float(hist["upper"].max())
        ax.fill_between(
            [0.0, 1.0], lower, upper, color="0.5", alpha=0.3, gid="uniform-band",
            label="95% band of a uniform sample", zorder=1,
        )  # fmt: skip
        for level in (lower, upper):  # band edges stay visible over the bars
            ax.axhline(level, color="0.15", lw=1.2, ls=":", zorder=3)
        ax.axhline(1.0, color="0.3", lw=1, ls="--")
        ax.set(xlim=(0, 1), xlabel="probability integral transform", ylabel="density",
               title="PIT of default counts (flat = calibrated)")  # fmt: skip
        top = max(upper, float(hist["density"].max()))
        ax.set_ylim(0, 1.3 * top)  # room for the legend above the band
        ax.legend(loc="upper right")
    return ax


def plot_reliability(curve: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Realised against predicted default rate, with the diagonal of perfect calibration.

    Parameters
    ----------
    curve : DataFrame
        From `BacktestResult.reliability_curve`: ``predicted``, ``observed``, ``n``.
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
        Markers with gid ``"reliability"``, the diagonal with gid ``"diagonal"``.
    """
    with _plot_style():
        ax = ax if ax is not None else new_axes()
        top = float(max(curve["predicted"].max(), curve["observed"].max(), 1e-6)) * 1.1
        ax.plot([0, top], [0, top], color="0.4", ls="--", lw=1, gid="diagonal")
        ax.plot(curve["predicted"], curve["observed"], "o-", color="#D55E00",
                gid="reliability", label="groups of equal customers")  # fmt: skip
        ax.set(xlim=(0, top), ylim=(0, top), xlabel="predicted default rate",
               ylabel="realised default rate",
               title="Reliability of the default probabilities")  # fmt: skip
        ax.xaxis.set_major_formatter(percent_formatter())
        ax.yaxis.set_major_formatter(percent_formatter())
        ax.legend(loc="upper left")
    return ax
