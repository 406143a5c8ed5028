"""Term structures of a run: per-period loss fan chart, cumulative default rate, occupancy.

Every figure draws statistics the metrics layer computed (`riskmodel.metrics.figures.Fan` and
`~riskmodel.metrics.figures.Occupancy`: weighted per-period quantiles of the paths and the
engine's exact expectations); nothing is estimated here. Given a `SimulationResult`, a plot
calls those classes' constructors (the notebook convenience).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from riskmodel.metrics.figures import Fan, Occupancy
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


def plot_loss_term_structure(result: SimulationResult | Fan, *, ax: Axes | None = None) -> Axes:
    """Fan chart of the loss in each period, with the exact expected loss per period.

    Bands are the weighted per-period quantiles of `SimulationResult.quantiles_by_period`
    (5–95% and 25–75%, median dashed); the solid black line is the engine's exact expected
    loss per period (``result.data["exact_loss"]``; the Monte Carlo mean if the run has none).

    Parameters
    ----------
    result : SimulationResult or Fan
        A run, or its `Fan.loss` statistics.
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
    fan = result if isinstance(result, Fan) else Fan.loss(result)
    periods, exact = fan.periods, fan.exact
    with _plot_style():
        ax = ax if ax is not None else new_axes()
        _fan_with_expected(
            ax,
            periods,
            fan.band,
            fan.expected,
            colour=PALETTE["blue"],
            label="expected loss" + (" (exact)" if exact else " (Monte Carlo mean)"),
            marker="o" if periods.size <= 24 else None,
        )
        ax.set_ylabel("credit loss in the period (currency units)")
        ax.yaxis.set_major_formatter(compact_formatter())
        ax.set_title(f"{fan.scenario}: loss per period")
        ax.legend(loc="upper right")
    return ax


def plot_cumulative_default_rate(result: SimulationResult | Fan, *, ax: Axes | None = None) -> Axes:
    """Cumulative default rate over the horizon: exact expectation and Monte Carlo band.

    Everything comes from `SimulationResult.cumulative_default_rate`: the exact expected share
    of today's customers defaulted by each period end (black line), and the 5–95% / 25–75%
    bands and median of the per-path rates.

    Parameters
    ----------
    result : SimulationResult or Fan
        A run, or its `Fan.cumulative_default_rate` statistics.
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
    fan = result if isinstance(result, Fan) else Fan.cumulative_default_rate(result)
    periods, exact = fan.periods, fan.exact
    with _plot_style():
        ax = ax if ax is not None else new_axes()
        _fan_with_expected(
            ax,
            periods,
            fan.band,
            fan.expected,
            colour=PALETTE["vermillion"],
            label="expected" + (" (exact)" if exact else " (Monte Carlo mean)"),
        )
        ax.set_ylabel("defaulted since today (% of today's customers)")
        ax.yaxis.set_major_formatter(percent_formatter())
        ax.set_title(f"{fan.scenario}: cumulative default rate")
        ax.legend(loc="upper left")
    return ax


def plot_stage_occupancy(result: SimulationResult | Occupancy, *, ax: Axes | None = None) -> Axes:
    """Stacked areas of the expected number of customers in each state, period by period.

    Uses the engine's exact expected occupancy (``exact_occupancy``; ``occupancy`` for runs
    without exact expectations) at each period end. Absorbing states (churned, defaulted) are
    stacked on top, so the growing top bands show where the book leaves.

    Parameters
    ----------
    result : SimulationResult or Occupancy
        A run, or its `Occupancy` statistics.
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
    stats = result if isinstance(result, Occupancy) else Occupancy.from_result(result)
    occ = stats.occupancy
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
        ax.set_title(f"{stats.scenario}: customers by state")
        handles, labels = ax.get_legend_handles_labels()
        ax.legend(
            handles[::-1], labels[::-1], loc="center left", bbox_to_anchor=(1.0, 0.5)
        )  # top band first, as stacked
    return ax
