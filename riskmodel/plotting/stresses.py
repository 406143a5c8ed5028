"""The stress path a scenario applied, period by period: factor shift, shocks, LGD, exposure."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from riskmodel.plotting.style import PALETTE, series_colors
from riskmodel.plotting.style import plot_style as _plot_style

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["plot_stress_path"]


_DASHES = ("-", "--", "-.", ":")


def plot_stress_path(
    shift: np.ndarray | Mapping[str, np.ndarray],
    multipliers: Mapping[str, np.ndarray],
    *,
    ax: Axes | None = None,
) -> Axes:
    """Plot the systematic shift (left axis) and multiplicative stresses (right) per period.

    Nothing is computed here: every series comes per period from the caller (e.g.
    `riskmodel.report.used.stress_series`).

    Parameters
    ----------
    shift : ndarray, shape (horizon,), or mapping of str to ndarray
        Mean of the systematic factor Z per period (negative = downturn); with sector factors
        each factor's, by name (each drawn and labelled on the left axis).
    multipliers : mapping of str to ndarray
        Further per-period series on a ratio scale, by label: exposure factor, LGD mean,
        each shock's default and churn multipliers.
    ax : matplotlib.axes.Axes, optional
        Draw here; default: a new figure from pyplot.

    Returns
    -------
    matplotlib.axes.Axes
        The left axes; the shift line has gid ``"shift"`` (sector factors: ``"shift:<name>"``
        per factor), the right axes' lines carry their labels.
    """
    named = isinstance(shift, Mapping)
    shifts = dict(shift) if isinstance(shift, Mapping) else {"Z": np.asarray(shift)}
    periods = np.arange(1, len(next(iter(shifts.values()))) + 1)
    with _plot_style():
        if ax is None:
            import matplotlib.pyplot as plt

            _, ax = plt.subplots(figsize=(8, 4.5), layout="constrained")
        for k, (name, values) in enumerate(shifts.items()):
            ax.step(
                periods,
                values,
                where="mid",
                color=PALETTE["black"],
                linestyle=_DASHES[k % len(_DASHES)],
                gid=f"shift:{name}" if named else "shift",
                label=f"shift of {name} (left axis)",
            )
        ax.axhline(0.0, color="0.6", linewidth=0.8)
        ax.set_xlabel("period")
        ax.set_ylabel("mean of the sector factors" if named else "mean of the systematic factor Z")
        right = ax.twinx()
        colours = series_colors(max(len(multipliers), 1))
        for (label, values), colour in zip(multipliers.items(), colours, strict=False):
            right.plot(periods, values, color=colour, linewidth=1.4, label=label)
        right.set_ylabel("factor / multiplier / LGD mean")
        handles = ax.get_legend_handles_labels()
        more = right.get_legend_handles_labels()
        ax.legend(  # below the axes: the series span the whole plot
            handles[0] + more[0],
            handles[1] + more[1],
            loc="upper center",
            bbox_to_anchor=(0.5, -0.16),
            ncol=2,
            fontsize="small",
        )
        ax.set_title("Stress path: factor shift, shocks, LGD and exposure per period")
    return ax
