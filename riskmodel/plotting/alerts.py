"""Early warnings: per alert, the probability of a breach in each period against its confidence.

The probabilities come from `riskmodel.metrics.alerts.evaluate_alerts`; nothing is estimated
here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from riskmodel.plotting.style import format_compact, new_axes, percent_formatter, series_colors
from riskmodel.plotting.style import plot_style as _plot_style

if TYPE_CHECKING:
    import xarray as xr
    from matplotlib.axes import Axes

__all__ = ["plot_alerts"]


def _threshold_text(metric: str, threshold: float) -> str:
    if metric.endswith("_rate"):
        return f"{100 * threshold:.3g}%"
    return format_compact(threshold)


def _mark_first(
    ax: Axes, periods: np.ndarray, prob: np.ndarray, first: int, colour: Any, name: str
) -> None:
    """Mark and label the period in which an alert first fires (gid ``"first-<name>"``)."""
    (hit,) = np.flatnonzero(periods == first)[:1]
    ax.plot(
        [first],
        [prob[hit]],
        marker="v",
        markersize=10,
        color=colour,
        markeredgecolor="black",
        linestyle="none",
        gid=f"first-{name}",
    )
    ax.annotate(
        f"fires in period {first}",
        (first, prob[hit]),
        xytext=(10, 6) if hit < periods.size / 2 else (-10, 6),
        textcoords="offset points",
        ha="left" if hit < periods.size / 2 else "right",
        color="black",
        fontsize="small",
        bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "none", "alpha": 0.85},
    )


def _draw_alert(ax: Axes, alerts: xr.Dataset, k: int, name: str, colour: Any) -> None:
    """Draw alert `k`: its probability with a ± 2 s.e. band, its confidence, where it fires."""
    periods = alerts["period"].to_numpy()
    prob = alerts["probability"].values[k]
    se = np.nan_to_num(alerts["stderr"].values[k])
    conf = float(alerts["confidence"].values[k])
    threshold = float(alerts["threshold"].values[k])
    metric = str(alerts["metric"].values[k])
    ax.fill_between(
        periods,
        np.clip(prob - 2 * se, 0, 1),
        np.clip(prob + 2 * se, 0, 1),
        color=colour,
        alpha=0.2,
        linewidth=0,
    )
    ax.plot(
        periods,
        prob,
        color=colour,
        marker="o",
        markersize=3.5,
        linewidth=1.8,
        gid=f"alert-{name}",
        label=f"{name}: P({metric} > {_threshold_text(metric, threshold)})",
    )
    ax.axhline(
        conf,
        color=colour,
        linestyle="--",
        linewidth=1.2,
        gid=f"confidence-{name}",
        label=f"{name}: alarm at {100 * conf:.3g}%",
    )
    first = int(alerts["first_period"].values[k])
    if first >= 0:
        _mark_first(ax, periods, prob, first, colour, name)


def plot_alerts(result: Any, alerts: xr.Dataset, *, ax: Axes | None = None) -> Axes:
    """Breach probability per period for each alert, with ± 2 s.e. bands and its confidence.

    Parameters
    ----------
    result : SimulationResult
        The run the alerts were evaluated on (its scenario name goes into the title).
    alerts : xarray.Dataset
        From `riskmodel.metrics.alerts.evaluate_alerts`: ``probability``, ``stderr`` (alert,
        period), ``confidence``, ``threshold``, ``metric``, ``first_period`` (alert).
    ax : matplotlib.axes.Axes, optional
        Draw here; default: a new figure from pyplot.

    Returns
    -------
    matplotlib.axes.Axes
        Per alert a line with gid ``"alert-<name>"`` and a dashed line with gid
        ``"confidence-<name>"``; a marker with gid ``"first-<name>"`` where it first fires.

    Raises
    ------
    ValueError
        If `alerts` lacks the variables of `evaluate_alerts`.

    Examples
    --------
    >>> import riskmodel as rm
    >>> from riskmodel.plotting import plot_alerts
    >>> ds = rm.evaluate_alerts(res, [{"name": "dr", "metric": "default_rate",
    ...                                "threshold": 0.01}])  # doctest: +SKIP
    >>> ax = plot_alerts(res, ds)  # doctest: +SKIP
    """
    need = ("probability", "stderr", "confidence", "threshold", "metric", "first_period")
    missing = [v for v in need if v not in alerts]
    if missing:
        raise ValueError(
            f"`alerts` lacks {missing}; pass the dataset of riskmodel.evaluate_alerts(result, ...)."
        )
    periods = alerts["period"].to_numpy()
    names = [str(a) for a in alerts["alert"].values]
    colours = series_colors(len(names))
    from matplotlib.ticker import MaxNLocator

    with _plot_style():
        ax = ax if ax is not None else new_axes()
        for k, name in enumerate(names):
            _draw_alert(ax, alerts, k, name, colours[k])
        ax.set_ylim(0, 1.02)
        ax.set_xlim(float(periods.min()) - 0.5, float(periods.max()) + 0.5)
        locator = ax.xaxis.get_major_locator()
        if isinstance(locator, MaxNLocator):  # the default AutoLocator: integer periods only
            locator.set_params(integer=True)
        ax.yaxis.set_major_formatter(percent_formatter())
        ax.set_xlabel("period")
        ax.set_ylabel("probability of a breach in the period")
        scenario = getattr(result, "scenario", "")
        ax.set_title(f"{scenario}: early warnings (± 2 s.e.)".lstrip(": "))
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2)
    return ax
