"""Figures of a sensitivity analysis: a tornado chart and Sobol index bars.

Both only draw what `riskmodel.sensitivity.SensitivityResult` holds; nothing is computed here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from riskmodel.plotting.style import PALETTE, compact_formatter, format_compact
from riskmodel.plotting.style import plot_style as _plot_style

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from riskmodel.sensitivity.result import SensitivityResult

__all__ = ["METRIC_LABELS", "metric_label", "plot_sobol", "plot_tornado"]

METRIC_LABELS = {
    "expected_loss": "Expected loss",
    "ecl_lifetime": "Lifetime ECL",
    "ecl_12_period": "12-period ECL",
    "value": "Value (discounted margin)",
    "expected_defaults": "Expected defaults",
    "expected_churn": "Expected churn",
    "mean_loss": "Mean loss",
    "std_loss": "Loss standard deviation",
}
"""Readable names of the sensitivity metrics, as the run report words them."""


def metric_label(metric: str) -> str:
    """Readable metric name: ``es_0.99`` → ``ES 99%``, ``ecl_lifetime`` → ``Lifetime ECL``.

    Examples
    --------
    >>> metric_label("var_0.999"), metric_label("ecl_lifetime")
    ('VaR 99.9%', 'Lifetime ECL')
    """
    from riskmodel.metrics.risk import format_level

    kind, _, rest = metric.partition("_")
    if kind in ("var", "es") and rest.replace(".", "", 1).isdigit():
        return f"{'VaR' if kind == 'var' else 'ES'} {format_level(100 * float(rest))}%"
    return METRIC_LABELS.get(metric, metric.replace("_", " ").capitalize())


def _new_axes(n_rows: int) -> Axes:
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=(8, 1.2 + 0.5 * max(n_rows, 1)), layout="constrained")
    return ax


def _check(result: SensitivityResult, metric: str, method: str) -> None:
    if metric not in result.metrics:
        raise ValueError(f"`metric` must be one of {result.metrics}; got {metric!r}.")
    if method not in result.methods:
        raise ValueError(
            f"the result has no {method} analysis (it has {result.methods}); run "
            f"riskmodel.sensitivity.{method}(...) or include {method!r} in `method`."
        )


def _range_text(low: float, high: float) -> str:
    return f"[{format_compact(low, digits=3)}, {format_compact(high, digits=3)}]"


def plot_tornado(result: SensitivityResult, *, metric: str, ax: Axes | None = None) -> Axes:
    """Tornado chart: per factor, the metric at the factor's low and high value around base.

    Factors are ranked by |swing|, the largest on top. Bars start at the base value; the
    low-value bar is blue, the high-value bar orange; the black error bar on the high end
    shows ±2 standard errors of the swing (zero for exact metrics).

    Parameters
    ----------
    result : SensitivityResult
        With tornado variables (``riskmodel.sensitivity.tornado``).
    metric : str
        One of ``result.metrics``.
    ax : matplotlib.axes.Axes, optional
        Draw here; default: a new figure from pyplot.

    Returns
    -------
    matplotlib.axes.Axes
        Bars with gids ``"low-<factor>"`` and ``"high-<factor>"``; y tick labels are the factors
        with their ranges.

    Raises
    ------
    ValueError
        If `metric` is unknown or the result has no tornado analysis.

    Examples
    --------
    >>> from riskmodel.plotting.sensitivity import plot_tornado
    >>> ax = plot_tornado(res, metric="es_0.999")  # doctest: +SKIP
    """
    _check(result, metric, "tornado")
    ds = result.data
    order = result.ranking(metric)[::-1]  # largest on top
    base = float(ds["base"].sel(metric=metric))
    with _plot_style():
        if ax is None:
            ax = _new_axes(len(order))
        y = np.arange(len(order))
        labels = []
        for k, f in enumerate(order):
            sel = ds.sel(metric=metric, factor=f)
            lo, hi = float(sel["value_low"]), float(sel["value_high"])
            se = float(sel["swing_stderr"])
            ax.barh(
                k,
                lo - base,
                left=base,
                height=0.6,
                color=PALETTE["blue"],
                gid=f"low-{f}",
                label="factor at low" if k == 0 else None,
            )
            ax.barh(
                k,
                hi - base,
                left=base,
                height=0.6,
                color=PALETTE["orange"],
                gid=f"high-{f}",
                label="factor at high" if k == 0 else None,
            )
            if np.isfinite(se) and se > 0:
                ax.errorbar(hi, k, xerr=2 * se, color=PALETTE["black"], capsize=3, lw=1)
            labels.append(f"{f}\n{_range_text(float(sel['low']), float(sel['high']))}")
        ax.axvline(base, color=PALETTE["black"], linewidth=1.0)
        ax.set_yticks(y, labels)
        ax.grid(axis="x", alpha=0.3)
        ax.grid(axis="y", visible=False)
        ax.xaxis.set_major_formatter(compact_formatter())
        label = metric_label(metric)
        ax.set_xlabel(f"{label} (base {format_compact(base)})")
        ax.set_title(f"{ds.attrs.get('scenario', '')}: tornado of {label}".lstrip(": "))
        ax.legend(loc="lower right")
    return ax


def plot_sobol(result: SensitivityResult, *, metric: str, ax: Axes | None = None) -> Axes:
    """First-order (S1) and total (ST) Sobol indices per factor, with confidence intervals.

    Factors are ranked by ST, the largest on top; error bars are the half-widths
    ``S1_conf``/``ST_conf`` reported by SALib.

    Parameters
    ----------
    result : SensitivityResult
        With Sobol variables (``riskmodel.sensitivity.sobol``).
    metric : str
        One of ``result.metrics``.
    ax : matplotlib.axes.Axes, optional
        Draw here; default: a new figure from pyplot.

    Returns
    -------
    matplotlib.axes.Axes
        Bars with gids ``"S1-<factor>"`` and ``"ST-<factor>"``.

    Raises
    ------
    ValueError
        If `metric` is unknown or the result has no Sobol analysis.

    Examples
    --------
    >>> from riskmodel.plotting.sensitivity import plot_sobol
    >>> ax = plot_sobol(res, metric="es_0.999")  # doctest: +SKIP
    """
    _check(result, metric, "sobol")
    ds = result.data.sel(metric=metric)
    st = ds["ST"].to_numpy()
    order = np.argsort(np.where(np.isfinite(st), st, -1.0), kind="stable")  # largest on top
    factors = [str(f) for f in ds["factor"].values[order]]
    with _plot_style():
        if ax is None:
            ax = _new_axes(len(factors))
        y = np.arange(len(factors))
        h = 0.38
        for k, f in enumerate(factors):
            sel = ds.sel(factor=f)
            for offset, index, colour in ((h / 2, "S1", "sky"), (-h / 2, "ST", "vermillion")):
                val, conf = float(sel[index]), float(sel[f"{index}_conf"])
                ax.barh(
                    k + offset,
                    val if np.isfinite(val) else 0.0,
                    height=h,
                    color=PALETTE[colour],
                    xerr=conf if np.isfinite(conf) else None,
                    error_kw={"ecolor": PALETTE["black"], "capsize": 3, "lw": 1},
                    gid=f"{index}-{f}",
                    label=(("first order S1", "total ST")[index == "ST"]) if k == 0 else None,
                )
        ax.set_yticks(y, factors)
        ax.axvline(0.0, color=PALETTE["black"], linewidth=0.8)
        ax.set_xlim(min(-0.05, ax.get_xlim()[0]), max(1.05, ax.get_xlim()[1]))
        ax.grid(axis="x", alpha=0.3)
        ax.grid(axis="y", visible=False)
        ax.set_xlabel("Sobol index (share of the variance of the metric)")
        conf = result.data.attrs.get("sobol_conf_level", 0.95)
        title = f"Sobol indices of {metric_label(metric)} ({100 * float(conf):g}% intervals)"
        if metric in np.atleast_1d(result.data.attrs.get("constant_metrics", [])):
            title += " — constant over the design"
        ax.set_title(title)
        ax.legend(loc="lower right")
    return ax
