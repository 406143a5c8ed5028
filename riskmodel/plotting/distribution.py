"""Loss distributions: one run's weighted histogram, or several scenarios' overlaid.

The histogram has EL, VaR and ES marked (optionally with a log-scale tail inset).

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
    ScenarioDistributions,
)
from riskmodel.metrics.risk import format_level
from riskmodel.plotting.style import (
    PALETTE,
    compact_formatter,
    format_compact,
    level_colors,
    new_axes,
    series_colors,
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

MIN_BIN_PATHS = 4.0
"""Effective paths a tail-inset bin needs to be drawn (relative error of its mass ≤ 50%)."""


def density_unit(values: np.ndarray) -> float:
    """Return the round number of units (a power of ten) per which a density is shown.

    The largest power of ten not above the spread (max − min) of the values, so that the
    density reads between about 0.1 and 10 (losses spread over 60M are shown per 10M: ticks
    like 0.4, not 4e-08). Values spread over less than 10 units keep unit 1.

    Examples
    --------
    >>> density_unit(np.array([2.5e6, 7.1e6])), density_unit(np.array([12.0, 18.0]))
    (1000000.0, 1.0)
    """
    spread = float(np.ptp(values)) if np.size(values) else 0.0
    if not math.isfinite(spread) or spread < 10:
        return 1.0
    return 10.0 ** math.floor(math.log10(spread))


def _density_weights(weights: np.ndarray, width: float, unit: float) -> np.ndarray:
    """Per-path bar heights so that equal-width bins show the density per `unit`."""
    return weights / (weights.sum() * width) * unit


def _resolved_bins(
    values: np.ndarray, weights: np.ndarray, edges: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Probability per bin (weights normalised over all paths) and whether it is resolved.

    A bin is resolved if the Kish size of its paths' weights is at least `MIN_BIN_PATHS`.
    """
    total = float(weights.sum())
    mass, _ = np.histogram(values, bins=edges, weights=weights / total)
    square, _ = np.histogram(values, bins=edges, weights=(weights / total) ** 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        ess = np.where(square > 0, mass**2 / square, 0.0)
    return mass, ess >= MIN_BIN_PATHS * (1.0 - 1e-9)


def _density_label(unit: float, units: str) -> str:
    what = "currency units" if units == "currency" else units
    if unit == 1.0:
        return "probability density" + (f" per {what.rstrip('s')}" if what else "")
    return f"probability density per {format_compact(unit)}" + (f" {what}" if what else "")


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
    heights = _density_weights(dist.weights, width, unit)

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
        ax.set_ylabel(_density_label(unit, units))
        ax.xaxis.set_major_formatter(compact_formatter())
        if logy:
            ax.set_yscale("log")
        ax.set_title(f"{dist.scenario}: distribution of total {variable}")
        # below the axes: inside, it covered the tail where the VaR/ES lines and the inset are
        ax.legend(
            loc="upper center",
            bbox_to_anchor=(0.5, -0.16),
            ncol=3,
            frameon=False,
            fontsize="small",
        )
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
        mass, resolved = _resolved_bins(values, dist.weights, tail_edges)
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
                weights=_density_weights(run.weights, width, unit),
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
        ax.set_ylabel(_density_label(unit, "currency"))
        ax.xaxis.set_major_formatter(compact_formatter())
        if logy:
            ax.set_yscale("log")
        ax.set_title(f"Loss distributions by scenario (dotted: EL; dashed: ES {pct})")
        # below the axes: inside, it covered the tail where the VaR/ES lines and the inset are
        ax.legend(
            loc="upper center",
            bbox_to_anchor=(0.5, -0.16),
            ncol=3,
            frameon=False,
            fontsize="small",
        )
    return ax
