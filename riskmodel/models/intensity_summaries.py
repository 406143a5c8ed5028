"""Point summaries of a fitted `IntensityModel`: generators, transition matrices and tables.

An MLE fit holds the estimate and the covariance of the log intensities (group ``mle``); a NUTS
fit their draws (group ``posterior``). The functions here evaluate either at given covariate
values (a covariate model's baseline is at the covariate means) and summarise them; the model's
methods (`IntensityModel.generator`, `.transition_matrix`, `.coefficients`, `.summary`) document
the statistics. ArviZ is imported by the NUTS tables only, when they are made.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import scipy.linalg as sl
import scipy.stats as st
import xarray as xr

from riskmodel.errors import ArgumentError
from riskmodel.models import _common as C
from riskmodel.models.intensity_io import IntensityFit
from riskmodel.models.intensity_likelihood import expm_batch, generator_matrix
from riskmodel.states import StateSpace

__all__ = [
    "allowed_index",
    "coefficient_table",
    "generator_summary",
    "intensity_table",
    "log_intensities",
    "transition_summary",
]


def allowed_index(states: StateSpace, cfg: dict[str, Any]) -> np.ndarray:
    """Return the ``(from, to)`` state indices of the config's allowed transitions, ``(k, 2)``."""
    return np.array([[states.index(f), states.index(t)] for f, t in cfg["allowed"]], dtype=np.intp)


def _frame(
    fit: IntensityFit,
    states: StateSpace,
    values: np.ndarray,
    name: str,
    stat: str | float | None,
    lead: tuple[tuple[str, np.ndarray], ...] = (),
) -> xr.DataArray:
    """Label matrices ``(…lead, segment, from_state, to_state)`` with the statistic they hold."""
    names = list(states.names)
    dims = (*[d for d, _ in lead], "segment", "from_state", "to_state")
    coords: dict[str, Any] = {d: c for d, c in lead}
    coords.update(segment=list(fit.config["segments"]), from_state=names, to_state=names)
    return xr.DataArray(values, dims=dims, coords=coords, name=name, attrs={"stat": str(stat)})


def log_intensities(
    fit: IntensityFit, covariates: Mapping[str, float] | None
) -> tuple[np.ndarray, np.ndarray]:
    """Return the log intensities at `covariates` (the means if None).

    MLE: ``(estimate (S, k), se (S, k))``; NUTS: ``(draws (chain, draw, S, k), empty)``.
    """
    has_covs = bool(fit.config.get("covariates"))
    if covariates is not None and not has_covs:
        raise ArgumentError(
            f"this model has no covariates; got covariates={covariates!r}. Drop the argument."
        )
    at = covariates if has_covs else None
    from riskmodel.models.intensity_covariates import CovariateDesign, mle_log_intensity

    design = CovariateDesign.from_config(fit.config) if at is not None else None
    if "mle" in fit.groups:
        return mle_log_intensity(fit.groups["mle"], design, at)
    draws = np.asarray(fit.groups["posterior"]["log_intensity"].values)
    if design is not None and at is not None:
        beta = np.asarray(fit.groups["posterior"]["beta"].values)
        shift = design.shift(design.values(at), beta * design.scale[design.coef_cov])
        draws = draws + shift
    return draws, np.empty(0)


def generator_summary(
    fit: IntensityFit,
    states: StateSpace,
    stat: str | float,
    covariates: Mapping[str, float] | None,
) -> xr.DataArray:
    """Return `stat` of the generator at `covariates` (see `IntensityModel.generator`)."""
    q = C.check_stat(stat)
    lq, se = log_intensities(fit, covariates)
    allowed = allowed_index(states, fit.config)
    if "mle" in fit.groups:
        if q is not None and stat != "median":
            lq = lq + st.norm.ppf(q) * se
        return _frame(fit, states, generator_matrix(lq, allowed, states.n), "generator", stat)
    G = generator_matrix(lq, allowed, states.n)
    G = G.reshape(-1, *G.shape[2:])
    vals = G.mean(axis=0) if q is None else np.quantile(G, q, axis=0)
    return _frame(fit, states, vals, "generator", stat)


def transition_summary(
    fit: IntensityFit,
    states: StateSpace,
    period: float,
    stat: str | float | None,
    covariates: Mapping[str, float] | None,
) -> xr.DataArray:
    """Return `stat` of ``expm(Q · period)`` (see `IntensityModel.transition_matrix`)."""
    if not (isinstance(period, int | float) and np.isfinite(period) and period > 0):
        raise ArgumentError(f"period must be a positive number; got {period!r}.")
    name = "transition_probability"
    if "mle" in fit.groups:
        if stat not in ("mean", "median"):
            raise ArgumentError(
                "an MLE fit gives the estimate of P only (stat='mean'); fit with "
                "method='nuts' for intervals."
            )
        Q = generator_summary(fit, states, "mean", covariates).values
        P = np.stack([sl.expm(Qs * period) for Qs in Q])
        return _frame(fit, states, P, name, stat)
    lq = log_intensities(fit, covariates)[0]
    P = expm_batch(generator_matrix(lq, allowed_index(states, fit.config), states.n) * period)
    if stat is None:
        c, d = P.shape[:2]
        lead = (("chain", np.arange(c)), ("draw", np.arange(d)))
        return _frame(fit, states, P, name, None, lead)
    q = C.check_stat(stat)
    flat = P.reshape(-1, *P.shape[2:])
    vals = flat.mean(axis=0) if q is None else np.quantile(flat, q, axis=0)
    return _frame(fit, states, vals, name, stat)


def coefficient_table(fit: IntensityFit) -> pd.DataFrame:
    """Return the covariate coefficients' table (see `IntensityModel.coefficients`)."""
    if not fit.config.get("covariates"):
        raise ArgumentError("this model has no covariates; fit one with covariates=... .")
    if "mle" in fit.groups:
        from riskmodel.models.intensity_covariates import mle_coefficients

        return mle_coefficients(fit.groups["mle"])
    import arviz as az

    return az.summary(fit.groups["posterior"][["beta"]])


def intensity_table(fit: IntensityFit) -> pd.DataFrame:
    """Return one row per segment and allowed transition (see `IntensityModel.summary`)."""
    if "mle" in fit.groups:
        from riskmodel.models.intensity_mle import mle_summary

        return mle_summary(fit.groups["mle"])
    import arviz as az

    intensity = xr.apply_ufunc(np.exp, fit.groups["posterior"]["log_intensity"])
    return az.summary(intensity.rename("intensity").to_dataset())
