"""Posterior parameter draws in the form the simulation engine consumes: file format and reader.

This module is the contract between the models and the engine (the container itself,
`ParameterDraws`, lives in `riskmodel.models.parameter_draws` and is re-exported here). It
imports numpy, xarray and the data layer only, never PyMC or ArviZ: a saved posterior can be
loaded and simulated without PyMC being imported.

File format (written by `TransitionModel.save` and `ParameterDraws.to_netcdf`, an ArviZ
InferenceData netCDF file): group ``posterior`` with dims ``(chain, draw, …)`` holding

- ``transition``: ``(chain, draw, segment, from_state, to_state)`` full row-stochastic matrices
  (for covariate models: at the macro reference, the mean of the macro values used in the fit),
- ``correlation`` (optional): ``(chain, draw)`` asset correlation,
- ``intercept``/``coefficient`` (covariate models): ``(chain, draw, segment, origin, to_state
  [, covariate])``, the multinomial-logit parameters per unit of the raw macro variables,

and attrs with the state space (`StateSpace.to_attrs`) and ``covariates`` (comma-separated).

Size limit: `load_parameter_draws` (and the models' ``load``) refuse a file whose arrays would
take more than `MAX_POSTERIOR_BYTES` (1 GiB) once loaded, estimated from its header before
anything is read; see `riskmodel.models.netcdf_size`, which holds that check and the netCDF engine
and whose names are re-exported here.
"""

from __future__ import annotations

import os
from os import PathLike

import numpy as np
import xarray as xr

from riskmodel.models.netcdf_size import (
    MAX_POSTERIOR_BYTES,
    check_netcdf_size,
    netcdf_engine,
    netcdf_memory_estimate,
)
from riskmodel.models.parameter_draws import ParameterDraws
from riskmodel.states import StateSpace

__all__ = [
    "MAX_POSTERIOR_BYTES",
    "ParameterDraws",
    "check_netcdf_size",
    "load_parameter_draws",
    "netcdf_engine",
    "netcdf_memory_estimate",
]


def draws_from_posterior(posterior: xr.Dataset, states: StateSpace | None) -> ParameterDraws:
    """Build ParameterDraws from a posterior group (dims chain, draw)."""
    if "transition" not in posterior:
        kind = posterior.attrs.get("riskmodel_kind", "")
        hint = (
            " It holds a DefaultModel posterior: attach its ρ to transition draws with "
            "`draws.with_correlation(default_model.correlation_draws())`."
            if kind == "DefaultModel"
            else ""
        )
        raise ValueError(f"the posterior has no 'transition' variable.{hint}")
    if states is None:
        raise ValueError("the posterior's state space is needed to read its draws; got None.")
    tr = posterior["transition"].transpose("chain", "draw", "segment", "from_state", "to_state")
    tr = tr.sel(from_state=list(states.names), to_state=list(states.names))
    n = tr.sizes["chain"] * tr.sizes["draw"]
    covs = tuple(c for c in str(posterior.attrs.get("covariates", "")).split(",") if c)
    kw: dict[str, np.ndarray] = {}
    if covs:
        dims = ("chain", "draw", "segment", "origin", "to_state")
        a = posterior["intercept"].transpose(*dims).sel(to_state=list(states.names))
        b = (
            posterior["coefficient"]
            .transpose(*dims, "covariate")
            .sel(to_state=list(states.names), covariate=list(covs))
        )
        kw = {
            "intercepts": np.asarray(a.values).reshape(n, *a.shape[2:]),
            "coefficients": np.asarray(b.values).reshape(n, *b.shape[2:]),
        }
    corr = None
    if "correlation" in posterior:
        corr = np.asarray(posterior["correlation"].transpose("chain", "draw").values).reshape(n)
    return ParameterDraws(
        states=states,
        segments=tuple(str(s) for s in tr.segment.values),
        transitions=np.asarray(tr.values).reshape(n, *tr.shape[2:]),
        correlation=corr,
        covariates=covs,
        **kw,
    )


def load_parameter_draws(
    path: str | PathLike[str], *, max_bytes: int | None = None
) -> ParameterDraws:
    """Read parameter draws from a file written by `TransitionModel.save` or `.to_netcdf`.

    Uses xarray only (no PyMC, no ArviZ). The memory the draws need is estimated from the file's
    header first; nothing is loaded from a file past the limit.

    Parameters
    ----------
    path : path
    max_bytes : int, optional
        Refuse a posterior group whose arrays would take more than this many bytes in memory
        (default `MAX_POSTERIOR_BYTES`, 1 GiB; loading peaks at about 3.5 times this).

    Raises
    ------
    FileNotFoundError
        If `path` does not exist.
    ResourceLimitError
        If the draws would take more memory than `max_bytes`; the message says how to thin them.
    ValueError
        If the file has no posterior group, no state space in its attrs, or no transitions
        (e.g. a DefaultModel file: combine with `ParameterDraws.with_correlation`).
    """
    if not os.path.exists(path):
        raise FileNotFoundError(2, "No such file or directory", str(path))
    try:
        check_netcdf_size(path, max_bytes=max_bytes, group="posterior")
    except OSError as err:
        raise ValueError(
            f"{path} has no readable 'posterior' group ({err}); pass a file written by "
            "TransitionModel.save or ParameterDraws.to_netcdf."
        ) from None
    try:
        posterior = xr.load_dataset(path, group="posterior")
    except FileNotFoundError:
        raise
    except OSError as err:
        raise ValueError(
            f"{path} has no readable 'posterior' group ({err}); pass a file written by "
            "TransitionModel.save or ParameterDraws.to_netcdf."
        ) from None
    if "transition" not in posterior:
        try:
            draws_from_posterior(posterior, None)
        except ValueError as err:
            raise ValueError(f"{path}: {err}") from None
    if "states" not in posterior.attrs:
        raise ValueError(
            f"{path} has no state space in its attrs; it was not written by riskmodel."
        )
    states = StateSpace.from_attrs(posterior.attrs)
    try:
        return draws_from_posterior(posterior, states)
    except ValueError as err:
        raise ValueError(f"{path}: {err}") from None
