"""Scenario comparison figures.

EL, VaR and ES per scenario as grouped bars with error bars, and the differences from the
baseline with their paired errors.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from riskmodel.metrics.risk import format_level
from riskmodel.plotting.style import PALETTE, compact_formatter, series_colors
from riskmodel.plotting.style import plot_style as _plot_style

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from riskmodel.metrics.compare import ComparisonResult

__all__ = ["difference_label", "plot_comparison", "plot_differences"]


def plot_comparison(
    comparison: ComparisonResult, *, ax: Axes | None = None, level: float | None = None
) -> Axes:
    """Draw grouped bars of EL, VaR and ES per scenario, each with ± one standard error.

    The figures come precomputed from `riskmodel.compare_scenarios`; nothing is
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
    >>> from riskmodel import compare_scenarios  # doctest: +SKIP
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


def difference_label(metric: str) -> str:
    """Readable name of a difference metric: ``es_0.99`` → ``ES 99%``, ``expected`` → ``EL``."""
    fixed = {
        "expected": "EL",
        "expected_mc": "EL (Monte Carlo)",
        "ecl_lifetime": "Lifetime ECL",
        "ecl_12_period": "12-month ECL",
    }
    if metric in fixed:
        return fixed[metric]
    kind, _, level = metric.partition("_")
    return f"{ {'var': 'VaR', 'es': 'ES'}.get(kind, kind) } {format_level(100 * float(level))}%"


def plot_differences(comparison: ComparisonResult, *, ax: Axes | None = None) -> Axes:
    """Each scenario minus the baseline: EL (Monte Carlo), VaR and ES at every level.

    Points with ± 1.96 paired standard errors (95% intervals on common random numbers); bars
    too small to see at this scale are said so in the title. Nothing is computed here: the
    figures come from ``comparison.differences``.

    Parameters
    ----------
    comparison : ComparisonResult
        With ``differences`` (from `riskmodel.compare_scenarios`).
    ax : matplotlib.axes.Axes, optional
        Draw here; default: a new figure from pyplot.

    Returns
    -------
    matplotlib.axes.Axes
        One errorbar series per scenario (labelled with its name), one point per metric.

    Examples
    --------
    >>> ax = plot_differences(compare_scenarios(scenarios, paths=2000))  # doctest: +SKIP
    """
    frame = comparison.differences
    if frame is None or frame.empty:
        raise ValueError(
            "`comparison` has no differences (a single scenario, or a comparison saved without "
            "them); compare at least two scenarios with compare_scenarios(...)."
        )
    frame = frame[~frame["metric"].isin(("expected", "ecl_lifetime", "ecl_12_period"))]
    metrics = list(dict.fromkeys(frame["metric"]))
    scenarios = list(dict.fromkeys(frame["scenario"]))
    colours = series_colors(len(scenarios))
    y = np.arange(len(metrics))
    step = 0.6 / max(len(scenarios), 1)
    with _plot_style():
        if ax is None:
            import matplotlib.pyplot as plt

            _, ax = plt.subplots(figsize=(8, 4.5), layout="constrained")
        for j, name in enumerate(scenarios):
            rows = frame[frame["scenario"] == name].set_index("metric").loc[metrics]
            ax.errorbar(
                rows["difference"].to_numpy(),
                y + (j - (len(scenarios) - 1) / 2) * step,
                xerr=1.96 * np.nan_to_num(rows["stderr"].to_numpy()),
                fmt="o",
                capsize=4,
                color=colours[j % len(colours)],
                label=name,
            )
        ax.axvline(0.0, color="0.5", linewidth=0.8)
        ax.set_yticks(y, [difference_label(m) for m in metrics])
        ax.invert_yaxis()
        ax.xaxis.set_major_formatter(compact_formatter())
        ax.set_xlabel(f"difference from {frame['baseline'].iloc[0]} (currency units)")
        span = float(np.ptp(np.append(frame["difference"].to_numpy(), 0.0))) or 1.0
        small = bool(np.all(1.96 * frame["stderr"].to_numpy() < 0.01 * span))
        note = "; error bars smaller than the points" if small else ""
        ax.set_title(f"Differences on common random numbers, ± 1.96 paired s.e.{note}")
        ax.legend(loc="best")
    return ax
