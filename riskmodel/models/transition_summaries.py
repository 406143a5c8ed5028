"""Point summaries of a fitted `TransitionModel`: posterior and prior matrices, summary parameters.

Conjugate fits keep their posterior Dirichlet parameters (``constant_data/alpha``), so their
summaries are the analytic Beta marginals (`riskmodel.models.conjugate.beta_marginal_stat`);
other fits are summarised over their draws. The model's methods (`TransitionModel
.transition_matrix`, `.prior_matrix`, `.summary`) document the results; these functions compute
them from the `TransitionFit`. Nothing here imports PyMC.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from riskmodel.models import _common as C
from riskmodel.models.conjugate import beta_marginal_stat
from riskmodel.models.transition_config import allowed_mask
from riskmodel.models.transition_io import TransitionFit
from riskmodel.states import StateSpace

__all__ = ["posterior_matrix", "prior_matrix", "summary_parameters"]


def _matrix(
    values: np.ndarray, segments: list[str], ss: StateSpace, name: str, stat: str | float
) -> xr.DataArray:
    """Label full matrices ``(segment, from_state, to_state)`` with the statistic they hold."""
    return xr.DataArray(
        values,
        dims=("segment", "from_state", "to_state"),
        coords={"segment": segments, "from_state": list(ss.names), "to_state": list(ss.names)},
        name=name,
        attrs={"stat": str(stat)},
    )


def _conjugate_alpha(fit: TransitionFit) -> xr.DataArray | None:
    """Return a conjugate fit's posterior Dirichlet parameters (None for other fits)."""
    consts = fit.groups.get("constant_data")
    if consts is None or "alpha" not in consts:
        return None
    return consts["alpha"].transpose("segment", "origin", "to_state")


def prior_matrix(
    fit: TransitionFit, ss: StateSpace, concentration: float, stat: str | float
) -> xr.DataArray:
    """Return `stat` of each entry's prior marginal ``Beta(c, (k − 1) c)`` (conjugate fits only).

    Raises
    ------
    ValueError
        For hierarchical or covariate fits, whose segment rows have no fixed Dirichlet prior.
    """
    q = C.check_stat(stat)
    alpha = _conjugate_alpha(fit)
    if alpha is None:
        raise ValueError(
            "prior_matrix is analytic only for conjugate models (pooling 'none' or "
            "'complete' without covariates); this model's segment rows have a hierarchical "
            "or covariate prior. Use transition_matrix and the posterior's population row."
        )
    prior_alpha = np.where(alpha.values > 0, concentration, 0.0)
    rows = beta_marginal_stat(prior_alpha, stat if q is None else q)
    segments = [str(x) for x in alpha.segment.values]
    return _matrix(ss.full_matrix(rows), segments, ss, "prior_transition_probability", stat)


def posterior_matrix(fit: TransitionFit, ss: StateSpace, stat: str | float) -> xr.DataArray:
    """Return `stat` of each entry's posterior, dims ``(segment, from_state, to_state)``.

    Analytic Beta marginals for conjugate fits; the mean or quantile over the draws otherwise
    (absorbing rows set to the identity).
    """
    q = C.check_stat(stat)
    alpha = _conjugate_alpha(fit)
    if alpha is not None:
        rows = beta_marginal_stat(alpha.values, stat if q is None else q)
        full = ss.full_matrix(rows)
        segs = [str(s) for s in alpha.segment.values]
    else:
        tr = fit.groups["posterior"]["transition"].transpose(
            "chain", "draw", "segment", "from_state", "to_state"
        )
        vals = np.asarray(tr.values).reshape(-1, *tr.shape[2:])
        full = vals.mean(axis=0) if q is None else np.quantile(vals, q, axis=0)
        full[..., ss.absorbing_idx, :] = np.eye(ss.n)[ss.absorbing_idx]
        segs = [str(s) for s in tr.segment.values]
    return _matrix(full, segs, ss, "transition_probability", stat)


def summary_parameters(fit: TransitionFit, ss: StateSpace) -> xr.Dataset:
    """Return the sampled parameters users read (and diagnostics check), dims (chain, draw)."""
    post = fit.groups["posterior"]
    if fit.free == ["transition"]:  # conjugate: the transient rows themselves
        return post[["transition"]].sel(from_state=list(ss.transient))
    if fit.free == ["kappa", "mu"]:
        from riskmodel.models.hierarchical import diagnostic_dataset

        allowed = allowed_mask(ss, fit.config["structural_zeros"])
        return diagnostic_dataset(post, allowed, ss.transient, ss.names)
    return post[fit.free]
