"""The loss distribution of a run: a weighted histogram with EL, VaR and ES marked."""

from __future__ import annotations

from typing import TYPE_CHECKING

from riskmodel.metrics.risk import format_level
from riskmodel.plotting.style import PALETTE, compact_formatter, format_compact, level_colors
from riskmodel.plotting.style import plot_style as _plot_style

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from riskmodel.metrics.result import SimulationResult
    from riskmodel.metrics.risk import RiskMeasures

__all__ = ["plot_loss_distribution"]


def plot_loss_distribution(
    result: SimulationResult,
    *,
    ax: Axes | None = None,
    measures: RiskMeasures | None = None,
    bins: int = 60,
    variable: str = "loss",
) -> Axes:
    """Histogram of the per-path total over the horizon, with EL, VaR and ES lines.

    Each path counts with its importance-sampling weight (``result.weights``), so importance-
    sampled runs are drawn like plain ones. The y-axis is a probability density. The function
    only bins: the risk measures come from `measures` (precomputed by the metrics layer) or from
    ``result.risk(variable)``.

    Parameters
    ----------
    result : SimulationResult
    ax : matplotlib.axes.Axes, optional
        Draw here; default: a new figure from pyplot.
    measures : RiskMeasures, optional
        Risk measures of the same variable (e.g. ``result.risk()``); VaR and ES are drawn at
        its levels. Default: ``result.risk(variable)``.
    bins : int, default 60
        Number of histogram bins.
    variable : str, default "loss"
        Per-period variable of the result to total over the horizon: ``loss``, ``defaults``,
        ``churn`` or ``margin``.

    Returns
    -------
    matplotlib.axes.Axes
        Histogram patches labelled ``"<n> paths"``; lines with gids ``"expected"``,
        ``"var-<level>"`` and ``"es-<level>"`` and legend labels with the values.

    Raises
    ------
    ValueError
        If `variable` is not a per-period variable of the result.

    Examples
    --------
    >>> import riskmodel as rm
    >>> from riskmodel.plotting import plot_loss_distribution
    >>> res = rm.run("scenarios/baseline.yaml", paths=2000)  # doctest: +SKIP
    >>> ax = plot_loss_distribution(res, measures=res.risk())  # doctest: +SKIP
    """
    data = result.data
    per_period = [str(v) for v in data.data_vars if data[v].dims == ("path", "period")]
    if variable not in per_period:
        raise ValueError(
            f"`variable` must be one of {per_period}; got {variable!r}. Pick the per-period "
            "variable to plot."
        )
    values = result.total(variable).to_numpy()
    if measures is None:
        measures = result.risk(variable)
    units = str(data[variable].attrs.get("units", ""))
    money = units == "currency"
    fmt = (lambda x: format_compact(x)) if money else (lambda x: format_compact(x, digits=4))

    with _plot_style():
        if ax is None:
            import matplotlib.pyplot as plt

            _, ax = plt.subplots(figsize=(8, 4.5), layout="constrained")
        ax.hist(
            values,
            bins=bins,
            weights=result.weights,
            density=True,
            color=PALETTE["sky"],
            edgecolor="white",
            linewidth=0.3,
            label=f"{result.paths:,} paths",
        )
        ax.axvline(
            measures.expected,
            color=PALETTE["black"],
            linewidth=1.5,
            gid="expected",
            label=f"EL (mean) {fmt(measures.expected)}",
        )
        colours = level_colors(len(measures.var))
        for colour, (q, var) in zip(colours, measures.var.items(), strict=True):
            pct = f"{format_level(100 * q)}%"
            ax.axvline(
                var,
                color=colour,
                linestyle="--",
                linewidth=1.3,
                gid=f"var-{format_level(q)}",
                label=f"VaR {pct} {fmt(var)}",
            )
            es = measures.es[q]
            ax.axvline(
                es,
                color=colour,
                linestyle=":",
                linewidth=1.6,
                gid=f"es-{format_level(q)}",
                label=f"ES {pct} {fmt(es)}",
            )
        noun = variable if money else f"{variable} ({units})" if units else variable
        ax.set_xlabel(
            f"total {noun} over {result.horizon} periods" + (" (currency units)" if money else "")
        )
        ax.set_ylabel("probability density" + (" per currency unit" if money else ""))
        ax.xaxis.set_major_formatter(compact_formatter())
        ax.set_title(f"{result.scenario}: distribution of total {variable}")
        ax.legend(loc="upper right")
    return ax
