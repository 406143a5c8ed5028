"""Loss distributions: one run's weighted histogram, with EL, VaR and ES marked.

The histogram optionally has a log-scale tail inset. Several scenarios' distributions overlaid
(`plot_loss_distributions`) are in `riskmodel.plotting.scenario_distributions`, the binning both
share (`density_unit`, `MIN_BIN_PATHS`) in `riskmodel.plotting.density`; all re-exported here.

The y-axis is a probability density per a round number of units (per 1M currency units, say),
so its ticks read like 0.4 instead of 4e-07. Only binning happens here; the risk measures come
precomputed from the metrics layer.

The x-range runs between the weighted 0.01% and 99.99% quantiles (`XRANGE_LEVELS`, from
`SimulationResult.weighted_quantile`), widened to show every EL, VaR and ES line, never to the
largest path: under importance sampling the largest paths are tilted far into the tail with
negligible weight, and stretching the axis to them squeezed the distribution into a few bins.
The log-scale tail inset drops bins below the Monte Carlo resolution: a bin is drawn only if it
rests on at least `MIN_BIN_PATHS` effective paths (the Kish size ``(Σ w)² / Σ w²`` of the
weights of its paths), i.e. its probability has a relative standard error ``1/√ESS_bin`` of
at most 50%. (A global threshold of ``1/ESS`` on the bin's probability would be the same rule
for plain Monte Carlo, but would discard exactly the tail bins that importance sampling
resolves: their probability is small because each of their many paths carries a small weight.)
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from riskmodel.metrics.figures import (
    XRANGE_LEVELS,
    LossDistribution,
)
from riskmodel.metrics.risk import format_level
from riskmodel.plotting.density import (
    MIN_BIN_PATHS,
    density_label,
    density_unit,
    density_weights,
    legend_below,
    resolved_bins,
)
from riskmodel.plotting.scenario_distributions import plot_loss_distributions
from riskmodel.plotting.style import (
    PALETTE,
    compact_formatter,
    format_compact,
    level_colors,
    new_axes,
)
from riskmodel.plotting.style import plot_style as _plot_style

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from riskmodel.metrics.result import SimulationResult
    from riskmodel.metrics.risk import RiskMeasures

__all__ = [
    "MIN_BIN_PATHS",
    "XRANGE_LEVELS",
    "density_unit",
    "plot_loss_distribution",
    "plot_loss_distributions",
]


def plot_loss_distribution(
    result: SimulationResult | LossDistribution,
    *,
    ax: Axes | None = None,
    measures: RiskMeasures | None = None,
    bins: int = 60,
    variable: str = "loss",
    logy: bool = False,
    tail_inset: bool = False,
) -> Axes:
    """Histogram of the per-path total over the horizon, with EL, VaR and ES lines.

    Each path counts with its importance-sampling weight (``result.weights``), so importance-
    sampled runs are drawn like plain ones. The y-axis is a probability density per a round
    number of units (`density_unit`: per 1M currency units for losses in the millions). The
    x-axis spans the weighted 0.01%–99.99% quantiles and every marked line (paths beyond carry
    at most 0.01% of probability on each side and are not drawn). The function only bins and
    draws: every statistic comes from a `riskmodel.metrics.figures.LossDistribution` (given a
    result, its ``from_result`` computes them, with `measures` if given).

    Parameters
    ----------
    result : SimulationResult or LossDistribution
    ax : matplotlib.axes.Axes, optional
        Draw here; default: a new figure from pyplot.
    measures : RiskMeasures, optional
        Risk measures of the same variable (e.g. ``result.risk()``); VaR and ES are drawn at
        its levels. Default: those of a given LossDistribution, else ``result.risk(variable)``.
    bins : int, default 60
        Number of histogram bins (equal width).
    variable : str, default "loss"
        Per-period variable of the result to total over the horizon: ``loss``, ``defaults``,
        ``churn`` or ``margin`` (ignored for a LossDistribution, which has its own).
    logy : bool, default False
        Log-scale y-axis (shows the far tail on the main axes).
    tail_inset : bool, default False
        Add an inset (gid ``"tail-inset"``) with the tail beyond the lowest-level VaR on a
        log-scale y-axis, with the VaR and ES lines; bins with fewer than `MIN_BIN_PATHS`
        effective paths are below the Monte Carlo resolution and left out.

    Returns
    -------
    matplotlib.axes.Axes
        Histogram patches labelled ``"<n> paths"``; lines with gids ``"expected"``,
        ``"var-<level>"`` and ``"es-<level>"`` and legend labels with the values. The density
        unit is in ``ax.get_ylabel()``.

    Raises
    ------
    ValueError
        If `variable` is not a per-period variable of the result.

    Examples
    --------
    >>> import riskmodel as rm
    >>> from riskmodel.plotting import plot_loss_distribution
    >>> res = rm.run("scenarios/baseline.yaml", paths=2000)  # doctest: +SKIP
    >>> ax = plot_loss_distribution(res, measures=res.risk(), tail_inset=True)  # doctest: +SKIP
    """
    if isinstance(result, LossDistribution):
        dist = result if measures is None else replace(result, measures=measures)
    else:
        dist = LossDistribution.from_result(result, variable, measures)
    if dist.measures is None:
        raise ValueError("the LossDistribution has no risk measures; pass `measures`.")
    measures, values, variable, units = dist.measures, dist.values, dist.variable, dist.units
    money = units == "currency"
    fmt = (lambda x: format_compact(x)) if money else (lambda x: format_compact(x, digits=4))
    lo, hi = dist.x_range()
    edges = np.histogram_bin_edges(values, bins=bins, range=(lo, hi))
    width = float(edges[1] - edges[0]) or 1.0
    unit = density_unit(edges)
    heights = density_weights(dist.weights, width, unit)

    with _plot_style():
        ax = ax if ax is not None else new_axes()
        ax.hist(
            values,
            bins=edges.tolist(),
            weights=heights,
            color=PALETTE["sky"],
            edgecolor="white",
            linewidth=0.3,
            label=f"{dist.paths:,} paths",
        )
        _mark_measures(ax, measures, fmt, labels=True, exact=dist.exact)
        noun = variable if money else f"{variable} ({units})" if units else variable
        ax.set_xlabel(
            f"total {noun} over {dist.horizon} periods" + (" (currency units)" if money else "")
        )
        ax.set_ylabel(density_label(unit, units))
        ax.xaxis.set_major_formatter(compact_formatter())
        if logy:
            ax.set_yscale("log")
        ax.set_title(f"{dist.scenario}: distribution of total {variable}")
        legend_below(ax)
        ax.set_xlim(edges[0], edges[-1])
        if tail_inset and measures.var:
            _draw_tail_inset(ax, dist, measures, edges, unit, fmt)
    return ax


def _draw_tail_inset(
    ax: Axes,
    dist: LossDistribution,
    measures: RiskMeasures,
    edges: np.ndarray,
    unit: float,
    fmt: Any,
) -> None:
    """Inset (gid ``"tail-inset"``): the tail beyond the lowest VaR, log scale, resolved bins."""
    values, width = dist.values, float(edges[1] - edges[0]) or 1.0
    start = min(measures.var.values())
    inset = ax.inset_axes((0.6, 0.14, 0.38, 0.36))
    inset.set_gid("tail-inset")
    tail_edges = edges[edges >= start - width]
    resolved = np.zeros(0, dtype=bool)
    if tail_edges.size >= 2:
        mass, resolved = resolved_bins(values, dist.weights, tail_edges)
        inset.bar(
            tail_edges[:-1][resolved],
            mass[resolved] / width * unit,
            width=np.diff(tail_edges)[resolved],
            align="edge",
            color=PALETTE["sky"],
            edgecolor="white",
            linewidth=0.3,
        )
    _mark_measures(inset, measures, fmt, labels=False)
    if resolved.any():
        inset.set_yscale("log")
        from matplotlib.ticker import NullFormatter

        inset.yaxis.set_minor_formatter(NullFormatter())
    else:  # nothing to draw on a log scale: say why the inset is empty
        inset.text(
            0.5,
            0.5,
            f"no bin with {MIN_BIN_PATHS:g}+ effective paths:\nthe tail is not resolved",
            transform=inset.transAxes,
            ha="center",
            va="center",
            fontsize="x-small",
            gid="tail-unresolved",
        )
        inset.set_yticks([])
    inset.set_xlim(start - width, edges[-1])
    inset.set_title("tail (log scale)", fontsize="small", fontweight="normal")
    inset.tick_params(labelsize="x-small")
    inset.xaxis.set_major_formatter(compact_formatter())
    inset.grid(axis="y", alpha=0.3)


def _mark_measures(
    ax: Axes, measures: RiskMeasures, fmt, *, labels: bool, exact: float | None = None
) -> None:
    """Vertical lines at EL, and at VaR (dashed) and ES (dotted) per level.

    The EL label gives the paths' mean ± its standard error and, when the run has it, the
    exact expectation (the headline of ``summary.json`` and the reports).
    """
    label = f"EL (mean) {fmt(measures.expected)}"
    if math.isfinite(measures.stderr_expected):
        label += f" ± {fmt(measures.stderr_expected)}"
    if exact is not None:
        label += f"; exact {fmt(exact)}"
    ax.axvline(
        measures.expected,
        color=PALETTE["black"],
        linewidth=1.5,
        gid="expected" if labels else None,
        label=label if labels else None,
    )
    colours = level_colors(len(measures.var))
    for colour, (q, var) in zip(colours, measures.var.items(), strict=True):
        pct = f"{format_level(100 * q)}%"
        ax.axvline(
            var,
            color=colour,
            linestyle="--",
            linewidth=1.3,
            gid=f"var-{format_level(q)}" if labels else None,
            label=f"VaR {pct} {fmt(var)}" if labels else None,
        )
        es = measures.es[q]
        ax.axvline(
            es,
            color=colour,
            linestyle=":",
            linewidth=1.6,
            gid=f"es-{format_level(q)}" if labels else None,
            label=f"ES {pct} {fmt(es)}" if labels else None,
        )
