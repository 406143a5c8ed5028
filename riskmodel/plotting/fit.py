"""Figures of the fit report.

Posterior transition matrices, the correlation posterior and the posterior predictive checks.

Every statistic comes precomputed from `riskmodel.report.fit` (posterior means and intervals)
and `riskmodel.validation.ppc.PredictiveCheck` (bands, percentiles); nothing is computed or
sampled here. Multi-panel figures take a matplotlib ``Figure``; `render_figure_png` draws one
without pyplot.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from riskmodel.plotting.style import PALETTE, percent_formatter, plot_style

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "plot_correlation_posterior",
    "plot_ppc_default_rates",
    "plot_ppc_destinations",
    "plot_transition_posterior",
    "render_figure_png",
]

_INSIDE, _OUTSIDE = PALETTE["blue"], PALETTE["vermillion"]


def render_figure_png(draw: Callable[[Figure], Any], *, size: tuple[float, float]) -> bytes:
    """Draw on a new pyplot-free Figure (``draw(fig)``) and return it as PNG bytes."""
    from matplotlib.figure import Figure

    with plot_style():
        fig = Figure(figsize=size, layout="constrained")
        draw(fig)
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
    return buf.getvalue()


def _new_axes(ax: Axes | None, size=(8.0, 4.5)) -> Axes:
    if ax is not None:
        return ax
    from matplotlib.figure import Figure

    return Figure(figsize=size, layout="constrained").add_subplot()


def plot_transition_posterior(
    table: pd.DataFrame,
    *,
    origins: Sequence[str],
    destinations: Sequence[str],
    title: str = "",
    ax: Axes | None = None,
) -> Axes:
    """Heatmap of posterior mean transition probabilities with their intervals as text.

    Parameters
    ----------
    table : DataFrame
        One segment: ``from_state, to_state, mean, q03, q97``.
    origins, destinations : sequence of str
        Row and column order.
    title : str
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
        The image has gid ``"transition-mean"``.
    """
    with plot_style():
        ax = _new_axes(ax)
        t = table.set_index(["from_state", "to_state"])
        cell = {k: (float(v["mean"]), float(v["q03"]), float(v["q97"])) for k, v in t.iterrows()}
        mean = np.array([[cell.get((o, d), (0.0,))[0] for d in destinations] for o in origins])
        image = ax.imshow(mean, cmap="Blues", vmin=0.0, vmax=1.0, aspect="auto",
                          gid="transition-mean")  # fmt: skip
        for r, o in enumerate(origins):
            for c, d in enumerate(destinations):
                m, lo, hi = cell.get((o, d), (0.0, 0.0, 0.0))
                colour = "white" if m > 0.55 else "black"
                if not (np.isfinite(lo) and np.isfinite(hi)):  # a point estimate (MLE)
                    text = f"{m:.3f}"
                else:
                    text = f"{m:.3f}\n[{lo:.3f}, {hi:.3f}]" if hi > 0 else "0"
                ax.text(c, r, text, ha="center", va="center", fontsize=8, color=colour)
        ax.set_xticks(range(len(destinations)), destinations, rotation=20, ha="right")
        ax.set_yticks(range(len(origins)), origins)
        ax.set(xlabel="to state", ylabel="from state", title=title)
        ax.grid(False)
        ax.figure.colorbar(image, ax=ax, label="posterior mean probability", shrink=0.8)
    return ax


def plot_correlation_posterior(
    hist: pd.DataFrame, stats: dict[str, float], *, ax: Axes | None = None
) -> Axes:
    """Histogram of the asset-correlation draws with the mean and the 94% interval.

    Parameters
    ----------
    hist : DataFrame
        ``left, right, density`` of the histogram of the draws.
    stats : dict
        ``mean``, ``lower``, ``upper``.
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    with plot_style():
        ax = _new_axes(ax, (8.0, 3.5))
        width = (hist["right"] - hist["left"]).to_numpy()
        ax.bar(hist["left"], hist["density"], width=width, align="edge", color=_INSIDE,
               alpha=0.9, gid="correlation-draws", label="posterior draws", zorder=2)  # fmt: skip
        ax.axvline(stats["mean"], color=PALETTE["black"], lw=1.5, label="mean", zorder=3)
        ax.axvspan(stats["lower"], stats["upper"], color="0.5", alpha=0.2, zorder=1,
                   label="94% interval")  # fmt: skip
        ax.set(xlabel="asset correlation ρ", ylabel="density",
               title="Posterior of the asset correlation")  # fmt: skip
        ax.legend(loc="upper right")
    return ax


def plot_ppc_destinations(cells: pd.DataFrame, *, title: str = "", ax: Axes | None = None) -> Axes:
    """Observed destination counts against their 94% predictive intervals, one segment.

    Each origin → destination cell is one row; the axis is in predictive standard deviations
    from the predictive mean, so cells of very different sizes share a scale. The right margin
    gives the observed count, the interval and the predictive p-value.

    Parameters
    ----------
    cells : DataFrame
        From `PredictiveCheck.cells`, one segment, cells with a non-degenerate predictive:
        ``from_state, to_state, observed, expected, sd, lower, upper, p_value, outside``.
    title : str
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
        Intervals with gid ``"ppc-interval"``, observations with gid ``"ppc-observed"``.
    """
    with plot_style():
        ax = _new_axes(ax, (9.0, 0.32 * len(cells) + 1.6))
        sd = np.maximum(cells["sd"].to_numpy(float), 1e-12)
        exp = cells["expected"].to_numpy(float)
        z_lo = (cells["lower"].to_numpy(float) - exp) / sd
        z_hi = (cells["upper"].to_numpy(float) - exp) / sd
        z_obs = (cells["observed"].to_numpy(float) - exp) / sd
        y = np.arange(len(cells))[::-1]
        out = cells["outside"].to_numpy(bool)
        ax.hlines(y, z_lo, z_hi, color="0.55", lw=5, alpha=0.6, gid="ppc-interval",
                  label="94% predictive interval")  # fmt: skip
        ax.scatter(z_obs[~out], y[~out], color=_INSIDE, zorder=3, s=22, gid="ppc-observed",
                   label="observed, inside")  # fmt: skip
        if out.any():
            ax.scatter(z_obs[out], y[out], color=_OUTSIDE, marker="D", zorder=4, s=30,
                       label="observed, outside")  # fmt: skip
        ax.axvline(0.0, color="0.3", lw=0.8, ls="--")
        labels = [f"{a} → {b}" for a, b in zip(cells["from_state"], cells["to_state"], strict=True)]
        ax.set_yticks(y, labels)
        right = [
            f"{int(o):,}  [{int(lo):,}, {int(hi):,}]  p={p:.2f}"
            for o, lo, hi, p in zip(
                cells["observed"], cells["lower"], cells["upper"], cells["p_value"], strict=True
            )
        ]
        twin = ax.secondary_yaxis("right")
        twin.set_yticks(y, right, fontsize=8)
        twin.tick_params(length=0)
        reach = max(3.5, float(np.nanmax(np.abs(np.concatenate([z_lo, z_hi, z_obs])))) * 1.1)
        ax.set_xlim(-reach, reach)
        ax.set_ylim(-0.8, len(cells) - 0.2)
        ax.grid(axis="x", alpha=0.3)
        ax.grid(axis="y", visible=False)
        ax.set_xlabel("predictive standard deviations from the predictive mean")
        ax.set_title(title, pad=24)
        ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.0), ncols=3, fontsize="small")
    return ax


def plot_ppc_default_rates(rates: pd.DataFrame, *, fig: Figure, segments: Sequence[str]) -> list:
    """Per-period default rates against their 94% predictive band, one panel per segment.

    Parameters
    ----------
    rates : DataFrame
        From `PredictiveCheck.default_rates`: ``segment, period, observed, expected, lower,
        upper, outside``.
    fig : matplotlib.figure.Figure
        Drawn into (one row of axes per segment, shared period axis).
    segments : sequence of str
        Panel order.

    Returns
    -------
    list of matplotlib.axes.Axes
        Bands with gid ``"ppc-band"``.
    """
    axes = np.atleast_1d(fig.subplots(len(segments), 1, sharex=True, squeeze=False)[:, 0])
    for ax, seg in zip(axes, segments, strict=True):
        r = rates[rates["segment"] == seg].sort_values("period")
        x = r["period"].to_numpy()
        ax.fill_between(x, r["lower"], r["upper"], step="mid", color="0.6", alpha=0.35,
                        gid="ppc-band", label="94% predictive band")  # fmt: skip
        ax.step(x, r["expected"], where="mid", color="0.3", lw=1, label="predictive mean")
        out = r["outside"].to_numpy(bool)
        ax.plot(x[~out], r["observed"].to_numpy()[~out], "o", color=_INSIDE, ms=4,
                label="observed, inside")  # fmt: skip
        if out.any():
            ax.plot(x[out], r["observed"].to_numpy()[out], "D", color=_OUTSIDE, ms=5,
                    label="observed, outside")  # fmt: skip
        ax.set_ylabel("default rate")
        ax.set_title(f"{seg}", loc="left")
        ax.yaxis.set_major_formatter(percent_formatter())
        ax.set_ylim(bottom=0)
    axes[0].legend(loc="lower left", bbox_to_anchor=(0.0, 1.08), ncols=4, fontsize="small")
    axes[-1].set_xlabel("period the transitions start in")
    return list(axes)
