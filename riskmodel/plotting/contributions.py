"""Risk contributions by segment (Euler allocation) as stacked or grouped bars with error bars.

The contributions come from `riskmodel.metrics.contributions.risk_contributions`; nothing is
estimated here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from riskmodel.metrics.figures import contributions_data
from riskmodel.metrics.risk import format_level
from riskmodel.plotting.style import (
    PALETTE,
    compact_formatter,
    format_compact,
    new_axes,
    series_colors,
)
from riskmodel.plotting.style import plot_style as _plot_style

if TYPE_CHECKING:
    import xarray as xr
    from matplotlib.axes import Axes

__all__ = ["plot_contributions"]


def plot_contributions(
    contributions: Any,
    *,
    level: float | None = None,
    kind: str = "stacked",
    ax: Axes | None = None,
) -> Axes:
    """Segment contributions to EL, VaR and ES at one level, with ± one standard error.

    Parameters
    ----------
    contributions : xarray.Dataset or SimulationResult
        The dataset of `riskmodel.metrics.contributions.risk_contributions`, or a result (whose
        contributions `riskmodel.metrics.figures.contributions_data` computes).
    level : float, optional
        The VaR/ES level; default 0.99 if available, else the highest level.
    kind : {"stacked", "grouped"}, default "stacked"
        ``"stacked"``: one bar per measure, segments stacked (they add up to the total by
        construction), each segment's error bar at the top of its block. ``"grouped"``: one
        bar per segment within each measure.
    ax : matplotlib.axes.Axes, optional
        Draw here; default: a new figure from pyplot.

    Returns
    -------
    matplotlib.axes.Axes
        Bars with gids ``"<measure>-<segment>"`` (measure ``EL``, ``VaR`` or ``ES``), legend
        labels the segments.

    Raises
    ------
    ValueError
        If `level` was not computed or `kind` is unknown.

    Examples
    --------
    >>> import riskmodel as rm
    >>> from riskmodel.plotting import plot_contributions
    >>> ax = plot_contributions(rm.risk_contributions(res), level=0.99)  # doctest: +SKIP
    """
    if kind not in ("stacked", "grouped"):
        raise ValueError(f"`kind` must be 'stacked' or 'grouped'; got {kind!r}.")
    ds = contributions_data(contributions)
    levels = [float(q) for q in ds["level"].values]
    if level is None:
        level = 0.99 if any(abs(q - 0.99) < 1e-12 for q in levels) else max(levels)
    match = [q for q in levels if abs(q - level) < 1e-12]
    if not match:
        raise ValueError(f"`level` must be one of the computed levels {levels}; got {level}.")
    at = ds.sel(level=match[0])
    pct = f"{format_level(100 * match[0])}%"
    segments = [str(s) for s in ds["segment"].values]
    measures = [
        ("EL", "EL", at["expected"].to_numpy(), at["stderr_expected"].to_numpy()),
        ("VaR", f"VaR {pct}", at["var"].to_numpy(), at["stderr_var"].to_numpy()),
        ("ES", f"ES {pct}", at["es"].to_numpy(), at["stderr_es"].to_numpy()),
    ]
    colours = series_colors(len(segments))
    x = np.arange(len(measures))
    with _plot_style():
        ax = ax if ax is not None else new_axes()
        draw = _draw_stacked if kind == "stacked" else _draw_grouped
        draw(ax, at, measures, segments, colours)
        ax.set_xticks(x, [m[1] for m in measures])
        ax.set_ylabel("loss over the horizon (currency units)")
        ax.yaxis.set_major_formatter(compact_formatter())
        ax.margins(y=0.12)
        ax.set_title(f"Risk contributions by segment (Euler allocation, ± 1 s.e.), level {pct}")
        ax.legend(title="segment", loc="upper left")
    return ax


def _draw_stacked(ax: Axes, at: xr.Dataset, measures: list, segments: list, colours: list) -> None:
    """One bar per measure, segments stacked, each error bar on top of its block; totals."""
    x = np.arange(len(measures))
    bottom = np.zeros(len(measures))
    for s, seg in enumerate(segments):
        vals = np.array([m[2][s] for m in measures])
        errs = np.nan_to_num(np.array([m[3][s] for m in measures]))
        bars = ax.bar(x, vals, 0.55, bottom=bottom, color=colours[s], label=seg)
        for bar, (key, *_rest) in zip(bars, measures, strict=True):
            bar.set_gid(f"{key}-{seg}")
        offset = (s - (len(segments) - 1) / 2) * 0.06
        ax.errorbar(
            x + offset,
            bottom + vals,
            yerr=errs,
            fmt="none",
            ecolor=PALETTE["black"],
            elinewidth=1,
            capsize=3,
        )
        bottom = bottom + vals
    totals = [
        float(at["total_expected"]) if "total_expected" in at else bottom[0],
        float(at["total_var"]),
        float(at["total_es"]),
    ]
    for xi, total in zip(x, totals, strict=True):
        ax.annotate(
            format_compact(total),
            (xi, total),
            xytext=(0, 6),
            textcoords="offset points",
            ha="center",
            fontweight="bold",
        )


def _draw_grouped(ax: Axes, at: xr.Dataset, measures: list, segments: list, colours: list) -> None:
    """One bar per segment within each measure, with its error bar."""
    x = np.arange(len(measures))
    width = 0.8 / len(segments)
    for s, seg in enumerate(segments):
        vals = np.array([m[2][s] for m in measures])
        errs = np.nan_to_num(np.array([m[3][s] for m in measures]))
        bars = ax.bar(
            x + (s - (len(segments) - 1) / 2) * width,
            vals,
            width,
            yerr=errs,
            capsize=3,
            color=colours[s],
            label=seg,
        )
        for bar, (key, *_rest) in zip(bars, measures, strict=True):
            bar.set_gid(f"{key}-{seg}")
