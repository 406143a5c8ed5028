"""Model-comparison figures: elpd per model with error bars, and Pareto k per cell.

The statistics come from `riskmodel.validation.ModelComparison` (``table``, ``pareto_k``);
nothing is computed here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from riskmodel.plotting.style import OKABE_ITO, PALETTE, new_axes
from riskmodel.plotting.style import plot_style as _plot_style

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes

__all__ = ["plot_elpd", "plot_pareto_k"]

_MODEL_COLOURS = (OKABE_ITO[5], OKABE_ITO[6], OKABE_ITO[3], OKABE_ITO[7], OKABE_ITO[1],
                  OKABE_ITO[2], OKABE_ITO[0])  # fmt: skip


def plot_elpd(table: pd.DataFrame, *, ax: Axes | None = None, method: str = "loo") -> Axes:
    """Plot each model's elpd ± s.e., and its difference to the best ± the paired s.e.

    Parameters
    ----------
    table : DataFrame
        `ModelComparison.table`: ``model``, ``elpd``, ``se``, ``elpd_diff``, ``se_diff``, best
        first.
    ax : matplotlib.axes.Axes, optional
    method : {"loo", "time"}
        Only for the axis label.

    Returns
    -------
    matplotlib.axes.Axes
        elpd markers with gid ``"elpd"``, difference markers with gid ``"elpd-diff"``.
    """
    with _plot_style():
        ax = ax if ax is not None else new_axes()
        n = len(table)
        y = list(range(n))[::-1]  # best on top
        elpd, se = table["elpd"].to_numpy(), table["se"].to_numpy()
        ax.errorbar(elpd, y, xerr=se, fmt="o", color=PALETTE["black"], capsize=4,
                    gid="elpd", label="elpd ± se")  # fmt: skip
        if n > 1:
            rest = table.iloc[1:]
            ax.errorbar(rest["elpd"], [v - 0.25 for v in y[1:]], xerr=rest["se_diff"], fmt="^",
                        color="0.5", capsize=3, gid="elpd-diff",
                        label="difference to the best ± paired se")  # fmt: skip
        ax.axvline(elpd[0], color="0.4", ls="--", lw=1)
        for yi, row in zip(y, table.itertuples(), strict=True):
            text = "best" if row.rank == 1 else f"Δ = {row.elpd_diff:.1f} ± {row.se_diff:.1f}"
            ax.annotate(text, (row.elpd + row.se, yi), xytext=(6, 4),
                        textcoords="offset points", fontsize="small", color="0.25")  # fmt: skip
        ax.set_yticks(y, [str(m) for m in table["model"]])
        ax.set_ylim(-0.8, n - 0.4)
        lo, hi = float((elpd - se).min()), float((elpd + se).max())
        ax.set_xlim(lo - 0.05 * (hi - lo + 1), hi + 0.35 * (hi - lo + 1))  # room for the labels
        what = "PSIS-LOO" if method == "loo" else "held-out panel"
        ax.set(xlabel=f"elpd ({what}; higher is better)",
               title="Expected log predictive density per model")  # fmt: skip
        ax.grid(axis="x", alpha=0.3)
        ax.grid(axis="y", visible=False)
        ax.legend(loc="lower left")
    return ax


def plot_pareto_k(
    pareto_k: pd.DataFrame, *, ax: Axes | None = None, threshold: float = 0.7, label_worst: int = 3
) -> Axes:
    """Pareto k of every cell and model, with the 0.5 and `threshold` lines.

    Parameters
    ----------
    pareto_k : DataFrame
        `ModelComparison.pareto_k`: ``period, segment, from_state`` and one column per model.
    ax : matplotlib.axes.Axes, optional
    threshold : float, default 0.7
        Above it PSIS-LOO is unreliable for the cell.
    label_worst : int, default 3
        Label this many cells above `threshold` per model (by period, segment and origin).

    Returns
    -------
    matplotlib.axes.Axes
        One marker series per model with gid ``"pareto-k-<model>"``.
    """
    with _plot_style():
        ax = ax if ax is not None else new_axes()
        models = [c for c in pareto_k.columns if c not in ("period", "segment", "from_state")]
        x = range(len(pareto_k))
        top = threshold
        for j, model in enumerate(models):
            k = pareto_k[model].to_numpy()
            colour = _MODEL_COLOURS[j % len(_MODEL_COLOURS)]
            ax.plot(x, k, "o", ms=3.5, alpha=0.75, color=colour, label=str(model),
                    gid=f"pareto-k-{model}")  # fmt: skip
            top = max(top, float(k.max()))
            bad = pareto_k[pareto_k[model] > threshold].nlargest(label_worst, model)
            for i, row in bad.iterrows():
                ax.annotate(f"{row['segment']} / {row['from_state']}, period {row['period']}",
                            (pareto_k.index.get_loc(i), row[model]), xytext=(4, 4),
                            textcoords="offset points", fontsize="x-small",
                            color=colour)  # fmt: skip
        ax.axhline(0.5, color="0.5", ls=":", lw=1)
        ax.axhline(threshold, color=PALETTE["vermillion"], ls="--", lw=1.2,
                   label=f"k = {threshold:g}: unreliable above")  # fmt: skip
        ax.set_ylim(min(0.0, float(pareto_k[models].min().min()) - 0.05), top + 0.15)
        ax.set(xlabel="cell (period × segment × origin, in panel order)", ylabel="Pareto k",
               title="PSIS-LOO diagnostic per cell")  # fmt: skip
        ax.legend(loc="upper right", ncols=min(len(models) + 1, 4))
    return ax
