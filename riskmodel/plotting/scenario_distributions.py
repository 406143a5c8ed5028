"""Several scenarios' loss distributions overlaid: `plot_loss_distributions`.

Weighted step histograms on common bin edges, so their heights compare directly, with each
scenario's EL and ES marked. The statistics come precomputed (`riskmodel.metrics.figures.
ScenarioDistributions`); the binning is `riskmodel.plotting.density`'s.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from riskmodel.metrics.figures import ScenarioDistributions
from riskmodel.metrics.risk import format_level
from riskmodel.plotting.density import (
    density_label,
    density_unit,
    density_weights,
    legend_below,
)
from riskmodel.plotting.style import (
    compact_formatter,
    format_compact,
    new_axes,
    series_colors,
)
from riskmodel.plotting.style import plot_style as _plot_style

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["plot_loss_distributions"]


def plot_loss_distributions(
    results: Any,
    *,
    ax: Axes | None = None,
    bins: int = 60,
    level: float | None = None,
    logy: bool = False,
) -> Axes:
    """Overlaid loss distributions of several scenarios (weighted step histograms).

    All scenarios share the same bin edges, so their heights compare directly; they span the
    scenarios' weighted 0.01%–99.99% quantiles and their marked lines (`XRANGE_LEVELS`). The
    dotted vertical line of each scenario is its EL, the dashed one its ES at `level` (from the
    comparison table, or ``result.risk()`` for a dict of results).

    Parameters
    ----------
    results : ComparisonResult or dict of str to SimulationResult or ScenarioDistributions
        From `riskmodel.compare_scenarios`, or runs by scenario name (whose statistics
        `ScenarioDistributions.from_results` computes), or those statistics.
    ax : matplotlib.axes.Axes, optional
        Draw here; default: a new figure from pyplot.
    bins : int, default 60
        Number of common bins.
    level : float, optional
        ES level to mark; default 0.99 if available, else the highest level.
    logy : bool, default False
        Log-scale y-axis, to compare the tails.

    Returns
    -------
    matplotlib.axes.Axes
        Per scenario a step histogram (patch gid ``"hist-<name>"``) and lines with gids
        ``"expected-<name>"`` and ``"es-<name>"``.

    Raises
    ------
    TypeError
        If `results` is neither a ComparisonResult nor a non-empty dict.
    ValueError
        If `level` is not available.

    Examples
    --------
    >>> import riskmodel as rm
    >>> from riskmodel.plotting import plot_loss_distributions
    >>> cmp = rm.compare_scenarios([rm.load_scenario(f) for f in files], paths=2000)
    ... # doctest: +SKIP
    >>> ax = plot_loss_distributions(cmp)  # doctest: +SKIP
    """
    dists = (
        results
        if isinstance(results, ScenarioDistributions)
        else ScenarioDistributions.from_results(results, level)
    )
    runs, marks, level = dists.runs, dists.marks, dists.level
    ranges = [run.x_range(list(marks[name])) for name, run in runs.items()]
    lo, hi = min(r[0] for r in ranges), max(r[1] for r in ranges)
    edges = np.histogram_bin_edges(
        np.concatenate([run.values for run in runs.values()]), bins=bins, range=(lo, hi)
    )
    width = float(edges[1] - edges[0]) or 1.0
    unit = density_unit(edges)
    colours = series_colors(len(runs))
    pct = f"{format_level(100 * level)}%"
    from matplotlib.artist import Artist

    with _plot_style():
        ax = ax if ax is not None else new_axes()
        for colour, (name, run) in zip(colours, runs.items(), strict=True):
            el, es = marks[name]
            how = " exact" if dists.exact[name] else ""
            _, _, patches = ax.hist(
                run.values,
                bins=edges.tolist(),
                weights=density_weights(run.weights, width, unit),
                histtype="step",
                linewidth=1.8,
                color=colour,
                label=f"{name}: EL {format_compact(el)}{how}, ES {pct} {format_compact(es)}",
            )
            for patch in patches if isinstance(patches, list) else [patches]:
                if isinstance(patch, Artist):  # one Polygon per step histogram
                    patch.set_gid(f"hist-{name}")
            ax.axvline(el, color=colour, linestyle=":", linewidth=1.4, gid=f"expected-{name}")
            ax.axvline(es, color=colour, linestyle="--", linewidth=1.4, gid=f"es-{name}")
        horizon = {run.horizon for run in runs.values()}
        over = f" over {horizon.pop()} periods" if len(horizon) == 1 else ""
        ax.set_xlim(edges[0], edges[-1])
        ax.set_xlabel(f"total loss{over} (currency units)")
        ax.set_ylabel(density_label(unit, "currency"))
        ax.xaxis.set_major_formatter(compact_formatter())
        if logy:
            ax.set_yscale("log")
        ax.set_title(f"Loss distributions by scenario (dotted: EL; dashed: ES {pct})")
        legend_below(ax)
    return ax
