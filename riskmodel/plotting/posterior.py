"""Figures of fitted transition models.

An annotated heatmap with posterior intervals, and MCMC diagnostics drawn by ArviZ.

The heatmap takes the point summaries `TransitionModel.transition_matrix` returns; the
diagnostics hand the model's `arviz.InferenceData` to ArviZ, which already draws trace and forest
plots well. Nothing is estimated here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, overload

import numpy as np

from riskmodel.plotting.style import PALETTE, new_axes
from riskmodel.plotting.style import plot_style as _plot_style

if TYPE_CHECKING:
    import xarray as xr
    from matplotlib.axes import Axes

__all__ = ["plot_posterior_diagnostics", "plot_prior_posterior", "plot_transition_heatmap"]

_DIMS = ("segment", "from_state", "to_state")


@overload
def _select(matrix: xr.DataArray, segment: str, name: str) -> np.ndarray: ...
@overload
def _select(matrix: xr.DataArray | None, segment: str, name: str) -> np.ndarray | None: ...
def _select(matrix: xr.DataArray | None, segment: str, name: str) -> np.ndarray | None:
    if matrix is None:
        return None
    if tuple(matrix.dims) != _DIMS:
        raise ValueError(
            f"`{name}` must have dims {_DIMS}, as TransitionModel.transition_matrix returns; got "
            f"{tuple(matrix.dims)}."
        )
    return matrix.sel(segment=segment).to_numpy()


def _is_identity_row(row: np.ndarray, i: int) -> bool:
    return bool(row[i] == 1.0 and np.count_nonzero(row) == 1)


def plot_transition_heatmap(
    matrix_mean: xr.DataArray,
    *,
    lower: xr.DataArray | None = None,
    upper: xr.DataArray | None = None,
    segment: str | None = None,
    ax: Axes | None = None,
    show_absorbing: bool = False,
) -> Axes:
    """Heatmap of one segment's transition matrix, each cell annotated ``mean [lo, hi]``.

    Parameters
    ----------
    matrix_mean : xarray.DataArray
        Dims ``(segment, from_state, to_state)``, e.g. ``model.transition_matrix("mean")``.
    lower, upper : xarray.DataArray, optional
        The same dims: interval bounds, e.g. ``model.transition_matrix(0.03)`` and
        ``model.transition_matrix(0.97)`` (a 94% interval). Without them cells show the mean.
    segment : str, optional
        The segment to draw; default: the first.
    ax : matplotlib.axes.Axes, optional
        Draw here; default: a new figure from pyplot.
    show_absorbing : bool, default False
        Also draw the absorbing states' identity rows (they are not estimated).

    Returns
    -------
    matplotlib.axes.Axes
        An image (``ax.images[0]``; colour = probability on a square-root scale, so that small
        exits stay visible next to the large diagonal) and one text per cell.

    Raises
    ------
    ValueError
        If an array has other dims or `segment` is unknown.

    Examples
    --------
    >>> from riskmodel.plotting import plot_transition_heatmap
    >>> ax = plot_transition_heatmap(model.transition_matrix("mean"),
    ...     lower=model.transition_matrix(0.03), upper=model.transition_matrix(0.97),
    ...     segment="cards")  # doctest: +SKIP
    """
    segments = [str(s) for s in matrix_mean["segment"].values]
    segment = segments[0] if segment is None else str(segment)
    if segment not in segments:
        raise ValueError(f"`segment` must be one of {segments}; got {segment!r}.")
    mean = _select(matrix_mean, segment, "matrix_mean")
    lo = _select(lower, segment, "lower")
    hi = _select(upper, segment, "upper")
    from_states = [str(s) for s in matrix_mean["from_state"].values]
    to_states = [str(s) for s in matrix_mean["to_state"].values]
    rows = [
        i
        for i, s in enumerate(from_states)
        if show_absorbing or not _is_identity_row(mean[i], to_states.index(s))
    ]
    from matplotlib.colors import PowerNorm

    with _plot_style():
        if ax is None:
            ax = new_axes((1.5 + 1.45 * len(to_states), 1.3 + 0.75 * len(rows)))
        image = ax.imshow(
            mean[rows],
            cmap="cividis",
            norm=PowerNorm(gamma=0.5, vmin=0.0, vmax=1.0),
            aspect="auto",
        )
        for r, i in enumerate(rows):
            for j in range(len(to_states)):
                m = mean[i, j]
                text = f"{m:.3f}" if m > 0 else "0"
                if lo is not None and hi is not None and m > 0 and not _is_identity_row(mean[i], j):
                    text += f"\n[{lo[i, j]:.3f}, {hi[i, j]:.3f}]"
                dark = float(np.asarray(image.norm(m))) < 0.6
                ax.text(
                    j,
                    r,
                    text,
                    ha="center",
                    va="center",
                    fontsize="small",
                    color="white" if dark else "black",
                )
        ax.set_xticks(range(len(to_states)), to_states, rotation=30, ha="right")
        ax.set_yticks(range(len(rows)), [from_states[i] for i in rows])
        ax.set_xlabel("to state (next period)")
        ax.set_ylabel("from state")
        ax.grid(False)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        bar = ax.figure.colorbar(image, ax=ax, fraction=0.04, pad=0.02)
        bar.set_label("transition probability per period")
        interval = ""
        if lower is not None and upper is not None:
            q_lo, q_hi = lower.attrs.get("stat", "lower"), upper.attrs.get("stat", "upper")
            interval = f"\n[{q_lo}, {q_hi}] posterior quantiles"
        ax.set_title(f"{segment}: posterior mean transition matrix{interval}")
    return ax


def plot_posterior_diagnostics(
    model: Any,
    *,
    kind: str = "trace",
    var_names: list[str] | None = None,
    **kwargs: Any,
) -> np.ndarray:
    """MCMC diagnostics of a fitted model, drawn by ArviZ (trace or forest plot).

    Parameters
    ----------
    model : TransitionModel, DefaultModel or arviz.InferenceData
        A fitted model (``TransitionModel.idata``, ``DefaultModel.posterior``) or the
        InferenceData itself. An unfitted model raises its "call .fit() first" error.
    kind : {"trace", "forest"}, default "trace"
        ``"trace"``: `arviz.plot_trace` (marginal densities per chain and the chains over the
        draws; chains that disagree or drift show up at once). ``"forest"``: `arviz.plot_forest`
        with 94% HDIs, R-hat and effective sample size columns.
    var_names : list of str, optional
        Variables to draw; default: ArviZ's choice (all free variables of the posterior).
    **kwargs
        Passed on to the ArviZ function (e.g. ``coords``, ``compact``, ``figsize``).

    Returns
    -------
    numpy.ndarray of matplotlib.axes.Axes
        The axes ArviZ drew on.

    Raises
    ------
    ValueError
        For an unknown `kind`, or a model that is not fitted.

    Examples
    --------
    >>> from riskmodel.plotting import plot_posterior_diagnostics
    >>> axes = plot_posterior_diagnostics(model, var_names=["kappa"])  # doctest: +SKIP
    """
    import arviz as az

    if kind not in ("trace", "forest"):
        raise ValueError(f"`kind` must be 'trace' or 'forest'; got {kind!r}.")
    if isinstance(model, az.InferenceData):
        idata = model
    elif hasattr(type(model), "idata"):  # TransitionModel
        idata = model.idata
    elif hasattr(type(model), "posterior"):  # DefaultModel: its posterior group
        idata = az.InferenceData(posterior=model.posterior)
    else:
        idata = None
    if idata is None:
        raise ValueError(
            "`model` must be a fitted TransitionModel/DefaultModel or an arviz.InferenceData; "
            f"got {type(model).__name__}."
        )
    import warnings

    from matplotlib import MatplotlibDeprecationWarning

    with _plot_style(**{"axes.grid": False}), warnings.catch_warnings():
        # ArviZ 0.22 calls a matplotlib helper deprecated in 3.11; not ours to fix
        warnings.simplefilter("ignore", MatplotlibDeprecationWarning)
        if kind == "trace":
            kwargs.setdefault("compact", True)
            kwargs.setdefault("legend", True)
            axes = az.plot_trace(idata, var_names=var_names, **kwargs)
        else:
            kwargs.setdefault("combined", True)
            kwargs.setdefault("r_hat", True)
            kwargs.setdefault("ess", True)
            kwargs.setdefault("hdi_prob", 0.94)
            axes = az.plot_forest(idata, var_names=var_names, **kwargs)
    return np.atleast_1d(axes)


def plot_prior_posterior(
    model: Any,
    *,
    segment: str,
    from_state: str,
    interval: float = 0.94,
    ax: Axes | None = None,
) -> Axes:
    """Prior against posterior of one row of a conjugate transition model.

    For each destination of the row, the prior and the posterior are drawn as a mean with its
    central `interval`, side by side, so one sees how far the data moved each probability and
    how much it narrowed it. Both come from the model's analytic Beta marginals
    (`TransitionModel.prior_matrix` and `TransitionModel.transition_matrix`); nothing is
    sampled here.

    Parameters
    ----------
    model : TransitionModel
        Fitted with ``pooling="none"`` or ``"complete"`` (conjugate).
    segment, from_state : str
        The row to show.
    interval : float
        Central probability of the intervals (default 94%).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    lo_q, hi_q = (1 - interval) / 2, (1 + interval) / 2
    rows = {}
    for label, getter in (("prior", model.prior_matrix), ("posterior", model.transition_matrix)):
        rows[label] = [
            getter(stat).sel(segment=segment, from_state=from_state).values
            for stat in ("mean", lo_q, hi_q)
        ]
    to_states = list(model.transition_matrix("mean").to_state.values)
    allowed = [j for j, _ in enumerate(to_states) if rows["prior"][0][j] > 0]
    colours = {"prior": "#999999", "posterior": PALETTE["blue"]}
    with _plot_style():
        if ax is None:
            ax = new_axes((8.0, 1.8 + 0.5 * len(allowed)))
        y = np.arange(len(allowed))
        for k, (label, (mean, lo, hi)) in enumerate(rows.items()):
            offset = 0.15 if k == 0 else -0.15
            m, lo_, hi_ = mean[allowed], lo[allowed], hi[allowed]
            ax.errorbar(
                m,
                y + offset,
                xerr=[m - lo_, hi_ - m],
                fmt="o",
                color=colours[label],
                capsize=3,
                label=f"{label}: mean and {interval:.0%} interval",
            )
        ax.set_yticks(y, [to_states[j] for j in allowed])
        ax.invert_yaxis()
        ax.set_xscale("symlog", linthresh=1e-3)
        ax.set_xlim(0, 1)
        ax.set(
            xlabel="transition probability per period",
            ylabel="destination",
            title=f"{segment}: from {from_state!r}, prior against posterior",
        )
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2, frameon=False)
    return ax
