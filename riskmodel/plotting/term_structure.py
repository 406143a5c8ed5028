"""Term structures of a run: per-period loss fan chart, cumulative default rate, occupancy.

Every figure draws statistics the metrics layer computed (`SimulationResult.quantiles_by_period`,
`SimulationResult.cumulative_default_rate`, the engine's exact expectations); nothing is
estimated here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from riskmodel.plotting.style import (
    PALETTE,
    compact_formatter,
    new_axes,
    percent_formatter,
    series_colors,
)
from riskmodel.plotting.style import plot_style as _plot_style

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from riskmodel.metrics.result import SimulationResult

__all__ = ["plot_cumulative_default_rate", "plot_loss_term_structure", "plot_stage_occupancy"]

FAN_QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
"""Quantiles of the fan charts: outer band 5–95%, inner band 25–75%, median line."""


def _fan(ax: Axes, periods: np.ndarray, band: np.ndarray, colour: str) -> None:
    """Draw a 5–95 / 25–75 / median fan from rows in `FAN_QUANTILES` order."""
    q05, q25, q50, q75, q95 = band
    ax.fill_between(
        periods, q05, q95, color=colour, alpha=0.18, linewidth=0, label="5–95% of paths"
    )
    ax.fill_between(
        periods, q25, q75, color=colour, alpha=0.35, linewidth=0, label="25–75% of paths"
    )
    ax.plot(
        periods,
        q50,
        color=colour,
        linewidth=1.2,
        linestyle="--",
        gid="median",
        label="per-period median",
    )


def _period_axis(ax: Axes, periods: np.ndarray) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.set_xlabel("period")
    ax.set_xlim(float(periods.min()) - 0.5, float(periods.max()) + 0.5)
    locator = ax.xaxis.get_major_locator()
    if isinstance(locator, MaxNLocator):  # the default AutoLocator: integer periods only
        locator.set_params(integer=True)


def _fan_with_expected(ax, periods, band, expected, *, colour, label, marker=None) -> None:
    """Percentile fan, the expected path as a black line, period axis from zero.

    `band` None (a ``keep: totals`` run kept no per-period paths) draws the expected path only,
    with a note saying why there is no fan.
    """
    if band is not None:
        _fan(ax, periods, band, colour)
    else:
        ax.text(
            0.01,
            0.02,
            "no fan: the run kept per-path totals only (simulation.keep: totals)",
            transform=ax.transAxes,
            fontsize="small",
            color=PALETTE["black"],
            gid="no-fan-note",
        )
    ax.plot(
        periods,
        expected,
        color=PALETTE["black"],
        linewidth=2.0,
        marker=marker,
        markersize=3.5,
        gid="expected",
        label=label,
    )
    _period_axis(ax, periods)
    ax.set_ylim(bottom=0)


def plot_loss_term_structure(result: SimulationResult, *, ax: Axes | None = None) -> Axes:
    """Fan chart of the loss in each period, with the exact expected loss per period.

    Bands are the weighted per-period quantiles of `SimulationResult.quantiles_by_period`
    (5–95% and 25–75%, median dashed); the solid black line is the engine's exact expected
    loss per period (``result.data["exact_loss"]``; the Monte Carlo mean if the run has none).

    Parameters
    ----------
    result : SimulationResult
    ax : matplotlib.axes.Axes, optional
        Draw here; default: a new figure from pyplot.

    Returns
    -------
    matplotlib.axes.Axes
        Two band collections, a line with gid ``"median"`` and a line with gid ``"expected"``.

    Examples
    --------
    >>> import riskmodel as rm
    >>> from riskmodel.plotting import plot_loss_term_structure
    >>> ax = plot_loss_term_structure(rm.run("scenarios/baseline.yaml", paths=2000))
    ... # doctest: +SKIP
    """
    data = result.data
    band = result.quantiles_by_period("loss", FAN_QUANTILES) if result.keeps_paths else None
    periods = data["period"].to_numpy()
    exact = "exact_loss" in data
    mean = data["exact_loss"] if exact else result.expected_by_period("loss")
    with _plot_style():
        ax = ax if ax is not None else new_axes()
        _fan_with_expected(
            ax,
            periods,
            None if band is None else band.to_numpy(),
            mean.to_numpy(),
            colour=PALETTE["blue"],
            label="expected loss" + (" (exact)" if exact else " (Monte Carlo mean)"),
            marker="o" if periods.size <= 24 else None,
        )
        ax.set_ylabel("credit loss in the period (currency units)")
        ax.yaxis.set_major_formatter(compact_formatter())
        ax.set_title(f"{result.scenario}: loss per period")
        ax.legend(loc="upper right")
    return ax


def plot_cumulative_default_rate(result: SimulationResult, *, ax: Axes | None = None) -> Axes:
    """Cumulative default rate over the horizon: exact expectation and Monte Carlo band.

    Everything comes from `SimulationResult.cumulative_default_rate`: the exact expected share
    of today's customers defaulted by each period end (black line), and the 5–95% / 25–75%
    bands and median of the per-path rates.

    Parameters
    ----------
    result : SimulationResult
    ax : matplotlib.axes.Axes, optional
        Draw here; default: a new figure from pyplot.

    Returns
    -------
    matplotlib.axes.Axes
        Band collections, lines with gids ``"median"`` and ``"expected"``; the y-axis is in
        percent of today's customers.

    Examples
    --------
    >>> from riskmodel.plotting import plot_cumulative_default_rate
    >>> ax = plot_cumulative_default_rate(res)  # doctest: +SKIP
    """
    cdr = result.cumulative_default_rate(FAN_QUANTILES)
    periods = cdr["period"].to_numpy()
    exact = bool(cdr.attrs.get("exact", 0))
    with _plot_style():
        ax = ax if ax is not None else new_axes()
        _fan_with_expected(
            ax,
            periods,
            cdr["quantiles"].to_numpy() if cdr.attrs.get("quantiles", 1) else None,
            cdr["expected"].to_numpy(),
            colour=PALETTE["vermillion"],
            label="expected" + (" (exact)" if exact else " (Monte Carlo mean)"),
        )
        ax.set_ylabel("defaulted since today (% of today's customers)")
        ax.yaxis.set_major_formatter(percent_formatter())
        ax.set_title(f"{result.scenario}: cumulative default rate")
        ax.legend(loc="upper left")
    return ax


def plot_stage_occupancy(result: SimulationResult, *, ax: Axes | None = None) -> Axes:
    """Stacked areas of the expected number of customers in each state, period by period.

    Uses the engine's exact expected occupancy (``exact_occupancy``; ``occupancy`` for runs
    without exact expectations) at each period end. Absorbing states (churned, defaulted) are
    stacked on top, so the growing top bands show where the book leaves.

    Parameters
    ----------
    result : SimulationResult
    ax : matplotlib.axes.Axes, optional
        Draw here; default: a new figure from pyplot.

    Returns
    -------
    matplotlib.axes.Axes
        One filled area per state (legend labels are the state names, first state at the
        bottom).

    Examples
    --------
    >>> from riskmodel.plotting import plot_stage_occupancy
    >>> ax = plot_stage_occupancy(res)  # doctest: +SKIP
    """
    data = result.data
    occ = data["exact_occupancy"] if "exact_occupancy" in data else data["occupancy"]
    occ = occ.transpose("period", "state")
    periods = occ["period"].to_numpy()
    states = [str(s) for s in occ["state"].values]
    colours = series_colors(len(states))
    with _plot_style():
        ax = ax if ax is not None else new_axes()
        ax.stackplot(
            periods,
            occ.to_numpy().T,
            labels=states,
            colors=colours,
            alpha=0.85,
            edgecolor="white",
            linewidth=0.4,
        )
        _period_axis(ax, periods)
        ax.set_ylim(bottom=0)
        ax.set_ylabel("expected customers (end of period)")
        ax.yaxis.set_major_formatter(compact_formatter())
        ax.set_title(f"{result.scenario}: customers by state")
        handles, labels = ax.get_legend_handles_labels()
        ax.legend(
            handles[::-1], labels[::-1], loc="center left", bbox_to_anchor=(1.0, 0.5)
        )  # top band first, as stacked
    return ax
