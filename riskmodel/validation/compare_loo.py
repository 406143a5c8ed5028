"""Pointwise log-likelihood by cell and PSIS-LOO through ArviZ (used by `compare_models`).

A *cell* is one (period, segment, origin state) of a panel with its destination counts ``y``
out of ``n``. Given posterior draw ``d`` its log-likelihood is the multinomial

    ll_d(cell) = log Multinomial(y | n, P_d[t, s, i]),

with the matrices of the cell's period for covariate models (the macro values of period ``t``).
The multinomial coefficient is kept, so the sum over cells is the log probability of the
panel's counts; it is the same for every model and cancels in differences.

PSIS-LOO (Vehtari, Gelman & Gabry 2017) estimates, for every cell, the leave-one-cell-out
predictive density ``p(y_cell | y_-cell)`` from the full-data draws by importance sampling with
raw weights ``1 / p(y_cell | θ_d)``, Pareto-smoothed (`arviz.loo`). The shape ``k`` of the
Pareto tail fitted to the weights tells whether that worked: ``k < 0.5`` good, ``0.5–0.7``
usable, ``k > 0.7`` unreliable (the variance of the weights is effectively infinite; the cell
moves the posterior too much for the full-data draws to stand in for the leave-out posterior).

The draws are kept with their chains where the source has them (a fitted model object, a file
written by ``TransitionModel.save``); `ParameterDraws` and the files of ``riskmodel fit`` hold
the draws flattened, which are then one chain. ``reff``, the relative efficiency ArviZ uses to
size the Pareto tail, is computed from the likelihood values themselves (mean over cells of the
bulk ESS of ``p(y_cell | θ_d)`` over the draws, as R's ``loo::relative_eff``); for conjugate
posteriors, whose draws are independent, it is close to 1.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import special

__all__ = ["cell_log_likelihood", "loo_idata", "psis_loo", "relative_efficiency"]

FLOOR = 1e-300
"""Probability floor of an observed move the model gives probability 0 (log ≈ −691)."""


def cell_log_likelihood(c: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Multinomial log-likelihood per draw and cell.

    Parameters
    ----------
    c : ndarray, shape (n_periods, n_segments, n_transient, n_states)
        Destination counts of each cell.
    rows : ndarray, shape (n_draws, n_periods or 1, n_segments, n_transient, n_states)
        Transition rows per draw (and per period for covariate models), `period_rows` output.

    Returns
    -------
    ndarray, shape (n_draws, n_periods, n_segments, n_transient)
    """
    y = c.astype(float)
    logp = np.log(np.maximum(rows, FLOOR))
    if rows.shape[1] == 1:
        ll = np.einsum("tsij,dsij->dtsi", y, logp[:, 0])
    else:
        ll = np.einsum("tsij,dtsij->dtsi", y, logp)
    return ll + (special.gammaln(y.sum(-1) + 1) - special.gammaln(y + 1).sum(-1))[None]


def relative_efficiency(ll: np.ndarray) -> float:
    """Mean over cells of ESS(``exp(ll)``) / number of draws; `ll` has shape (chain, draw, cell).

    The likelihood of each cell is scaled by its maximum first (ESS is scale-free); a cell whose
    likelihood is constant over the draws counts as fully efficient.
    """
    import arviz as az

    lik = np.exp(ll - ll.max(axis=(0, 1), keepdims=True))
    n = ll.shape[0] * ll.shape[1]
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        ess = np.array([az.ess(lik[:, :, j], method="mean") for j in range(ll.shape[2])])
    ess = np.where(np.isfinite(ess), ess, n)
    return float(np.mean(ess) / n)


def loo_idata(ll: np.ndarray, cells):
    """Build an ``arviz.InferenceData`` with ``log_likelihood.counts`` (chain, draw, cell).

    Parameters
    ----------
    ll : ndarray, shape (n_chains, n_draws, n_cells)
    cells : DataFrame
        ``period, segment, from_state`` of each cell (coordinates of the ``cell`` dimension).
    """
    import arviz as az
    import pandas as pd
    import xarray as xr

    index = pd.MultiIndex.from_frame(cells[["period", "segment", "from_state"]])
    coords = xr.Coordinates.from_pandas_multiindex(index, "cell")
    da = xr.DataArray(
        ll,
        dims=("chain", "draw", "cell"),
        coords={"chain": np.arange(ll.shape[0]), "draw": np.arange(ll.shape[1])},
    ).assign_coords(coords)
    return az.InferenceData(log_likelihood=xr.Dataset({"counts": da}))


def psis_loo(ll: np.ndarray, cells):
    """PSIS-LOO of one model: ``arviz.loo(..., pointwise=True)`` on the cells.

    Parameters
    ----------
    ll : ndarray, shape (n_chains, n_draws, n_cells)
    cells : DataFrame
        As for `loo_idata`.

    Returns
    -------
    arviz.ELPDData
        ``elpd_loo``, ``se``, ``p_loo``, ``loo_i`` and ``pareto_k`` per cell (ArviZ's own
        warning on large k is silenced; `compare_models` raises `ParetoKWarning` instead).
    """
    import arviz as az

    idata = loo_idata(ll, cells)
    reff = relative_efficiency(ll)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Estimated shape parameter", category=UserWarning)
        return az.loo(idata, pointwise=True, var_name="counts", reff=reff)
