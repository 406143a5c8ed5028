"""Figures of a loan-level ECL: booked ECL by group and stage, cumulative PD term structures.

Both draw figures computed by `riskmodel.ecl` (the totals table and the term structures of the
summary); nothing is computed here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from riskmodel.plotting.style import PALETTE, compact_formatter, new_axes, percent_formatter
from riskmodel.plotting.style import plot_style as _plot_style

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes

__all__ = ["STAGE_COLOURS", "plot_booked_ecl", "plot_cumulative_pd"]

STAGE_COLOURS = {1: PALETTE["blue"], 2: PALETTE["orange"], 3: PALETTE["vermillion"]}
"""Colour of each IFRS 9 stage."""


def plot_booked_ecl(totals: pd.DataFrame, *, by: str = "segment", ax: Axes | None = None) -> Axes:
    """Booked ECL per `by` group, stacked by stage (horizontal bars).

    Parameters
    ----------
    totals : DataFrame
        `riskmodel.ecl.LoanECLResult.totals`: ``segment, state, stage, ecl_booked`` ...
    by : {"segment", "state"}
        The groups on the vertical axis.
    ax : Axes, optional
        Draw here; default a new figure.

    Returns
    -------
    Axes
    """
    with _plot_style():
        ax = ax if ax is not None else new_axes()
        table = totals.pivot_table(
            index=by,
            columns="stage",
            values="ecl_booked",
            aggfunc="sum",
            observed=True,
            sort=False,
        ).fillna(0.0)
        groups = [str(g) for g in table.index]
        y = np.arange(len(groups))
        left = np.zeros(len(groups))
        for stage in (1, 2, 3):
            if stage not in table.columns:
                continue
            width = table[stage].to_numpy(dtype=float)
            ax.barh(
                y, width, left=left, color=STAGE_COLOURS[stage], label=f"stage {stage}", height=0.6
            )
            left += width
        ax.set_yticks(y, groups)
        ax.invert_yaxis()
        ax.xaxis.set_major_formatter(compact_formatter())
        ax.grid(axis="x", alpha=0.3)
        ax.grid(axis="y", visible=False)
        ax.set_xlabel("booked ECL (12-month in stage 1, lifetime in stages 2 and 3)")
        ax.set_title(f"Booked ECL by {by} and stage")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), ncols=3)
    return ax


def plot_cumulative_pd(term_structure: Mapping[str, Any], *, ax: Axes | None = None) -> Axes:
    """Cumulative PD by period of a loan living to the horizon, per ``segment/state``.

    Parameters
    ----------
    term_structure : mapping
        ``summary["term_structure"]`` of a loan-level ECL: ``{"segment/state":
        {"cumulative_pd": [...]}}``.
    ax : Axes, optional
        Draw here; default a new figure.

    Returns
    -------
    Axes
    """
    from riskmodel.plotting.style import series_colors

    with _plot_style():
        ax = ax if ax is not None else new_axes()
        colours = series_colors(len(term_structure))
        for colour, (name, block) in zip(colours, term_structure.items(), strict=True):
            cum = np.asarray(block["cumulative_pd"], dtype=float)
            ax.plot(np.arange(1, len(cum) + 1), cum, color=colour, label=name, linewidth=1.4)
        ax.yaxis.set_major_formatter(percent_formatter())
        ax.set_xlabel("period")
        ax.set_ylabel("cumulative PD")
        ax.set_ylim(bottom=0)
        ax.set_title("Cumulative PD by start state (exact, factor integrated out)")
        ax.legend(loc="upper left", ncols=2 if len(term_structure) > 6 else 1)
    return ax
