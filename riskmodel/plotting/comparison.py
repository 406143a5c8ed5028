"""Scenario comparison: EL, VaR and ES per scenario as grouped bars with error bars."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from riskmodel.metrics.risk import format_level
from riskmodel.plotting.style import PALETTE, compact_formatter
from riskmodel.plotting.style import plot_style as _plot_style

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from riskmodel.metrics.compare import ComparisonResult

__all__ = ["plot_comparison"]


def plot_comparison(
    comparison: ComparisonResult, *, ax: Axes | None = None, level: float | None = None
) -> Axes:
    """Grouped bars of EL, VaR and ES per scenario, each with ± one standard error.

    The figures come precomputed from `riskmodel.metrics.compare_scenarios`; nothing is
    computed here.

    Parameters
    ----------
    comparison : ComparisonResult
    ax : matplotlib.axes.Axes, optional
        Draw here; default: a new figure from pyplot.
    level : float, optional
        The VaR/ES level to show; default 0.99 if compared, else the highest level.

    Returns
    -------
    matplotlib.axes.Axes
        Bar containers labelled ``"EL"``, ``"VaR <q>%"`` and ``"ES <q>%"``, one bar per
        scenario in the order of ``comparison.scenarios``.

    Raises
    ------
    ValueError
        If `level` is not one of the compared levels.

    Examples
    --------
    >>> from riskmodel.metrics.compare import compare_scenarios  # doctest: +SKIP
    >>> ax = plot_comparison(compare_scenarios(scenarios, paths=2000))  # doctest: +SKIP
    """
    levels = comparison.levels
    if level is None:
        level = 0.99 if any(abs(q - 0.99) < 1e-12 for q in levels) else max(levels)
    matches = [k for k, q in enumerate(levels) if abs(q - level) < 1e-12]
    if not matches:
        raise ValueError(
            f"`level` must be one of the compared levels {levels}; got {level}. Pick one of them."
        )
    k = matches[0]
    ds = comparison.data
    pct = f"{format_level(100 * levels[k])}%"
    series = [
        ("EL", ds["expected"].values, ds["stderr_expected"].values, PALETTE["blue"]),
        (f"VaR {pct}", ds["var"].values[:, k], ds["stderr_var"].values[:, k], PALETTE["orange"]),
        (f"ES {pct}", ds["es"].values[:, k], ds["stderr_es"].values[:, k], PALETTE["vermillion"]),
    ]
    names = comparison.scenarios
    x = np.arange(len(names))
    width = 0.8 / len(series)
    with _plot_style():
        if ax is None:
            import matplotlib.pyplot as plt

            _, ax = plt.subplots(figsize=(8, 4.5), layout="constrained")
        for j, (label, values, errors, colour) in enumerate(series):
            ax.bar(
                x + (j - (len(series) - 1) / 2) * width,
                values,
                width,
                yerr=np.nan_to_num(errors),
                capsize=3,
                color=colour,
                label=label,
            )
        ax.set_xticks(x, names)
        ax.set_ylabel("total loss over the horizon (currency units)")
        ax.yaxis.set_major_formatter(compact_formatter())
        ax.set_title(f"Scenarios on common random numbers: EL, VaR and ES {pct} (± 1 s.e.)")
        ax.legend(loc="upper left")
    return ax
