"""Generator draws of continuous-time models, and their transition matrices at any period length.

The engine consumes transition matrices of its own period length. A continuous-time model gives
a generator ``Q`` per segment (per posterior draw), in the time unit of its panel; the matrix of a
period of length ``L`` (in that unit) is ``P(L) = expm(Q · L)``, per draw and segment. This module
reads generators from every file that holds them, with xarray only (no PyMC, no ArviZ):

- a file written by `IntensityModel.save`: group ``posterior`` (NUTS; ``log_intensity`` with
  dims ``chain, draw, segment, transition``) or ``mle`` (``log_intensity`` per segment: one
  draw, the estimate), with the model config (allowed transitions, time unit) in the attrs;
  a model with covariates also has ``beta`` (coefficients per unit), and its draws must be
  evaluated at covariate values (`GeneratorDraws.at_covariates`) before conversion;
- a posterior written by ``riskmodel fit`` with ``model: intensity``: the usual
  `ParameterDraws` format (``transition`` at the fit's period, so `load_parameter_draws` and
  ``riskmodel backtest`` read it as it is) plus ``generator`` (``chain, draw, segment,
  from_state, to_state``) and the attrs ``time_unit`` and ``period_length`` (the length, in the
  time unit, of the period of ``transition``).

Time units are calendar units (`riskmodel.data.calendar`); a file written before the time unit was
recorded has ``time_unit`` None, and the scenario then names it (``parameters: {time_unit: …}``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import KW_ONLY, dataclass, replace
from os import PathLike
from typing import Any

import numpy as np
import scipy.linalg as sl
import xarray as xr

from riskmodel.data.calendar import UNITS
from riskmodel.errors import ArgumentError
from riskmodel.models import _common as C
from riskmodel.models.intensity_covariates import CovariateDesign
from riskmodel.models.intensity_effects import (
    CovariateEffects,
    CovariateValues,
    describe,
    values_by_segment,
)
from riskmodel.models.intensity_likelihood import generator_matrix
from riskmodel.models.netcdf_size import check_netcdf_size, netcdf_engine
from riskmodel.models.parameter_draws import ParameterDraws
from riskmodel.states import StateSpace

__all__ = [
    "GeneratorDraws",
    "generator_draws_of",
    "generator_variables",
    "matrices_from_generators",
    "read_generator_draws",
]

KIND = "IntensityModel"


def matrices_from_generators(
    generators: np.ndarray, length: float, states: StateSpace
) -> np.ndarray:
    """``expm(Q · length)`` for a stack of generators ``(..., n, n)``, exactly row-stochastic.

    Rounding of ``expm`` (~1e-16) is cleaned: entries clipped at 0, absorbing rows set to the
    identity, rows renormalised.
    """
    Q = np.asarray(generators, dtype=float)
    P = _expm_stack(Q.reshape(-1, *Q.shape[-2:]) * float(length)).reshape(Q.shape)
    np.clip(P, 0.0, None, out=P)
    P[..., states.absorbing_idx, :] = np.eye(states.n)[states.absorbing_idx]
    P /= P.sum(axis=-1, keepdims=True)
    return P


_COND_MAX = 1e4  # eigenvector condition number above which expm falls back to scipy


def _expm_stack(A: np.ndarray) -> np.ndarray:
    """Compute ``expm`` of a stack ``(N, n, n)`` by one batched eigendecomposition.

    ``A = V diag(λ) V⁻¹``, ``expm(A) = V diag(e^λ) V⁻¹`` (25 times faster than scipy's Padé per
    matrix on thousands of draws), with `scipy.linalg.expm` for the (nearly) defective matrices,
    whose eigenvectors are ill-conditioned (condition number above 1e4: the error of the eigen
    route grows with it, about cond × 1e-16, so below ~1e-12 where it is used).
    """
    out = np.empty_like(A)
    if A.shape[0] == 0:
        return out
    w, V = np.linalg.eig(A)
    cond = np.linalg.cond(V)
    good = np.isfinite(cond) & (cond < _COND_MAX)
    if good.any():
        Vg = V[good]
        out[good] = np.real((Vg * np.exp(w[good])[..., None, :]) @ np.linalg.inv(Vg))
    for k in np.flatnonzero(~good):
        out[k] = sl.expm(A[k])
    return out


@dataclass(frozen=True)
class GeneratorDraws:
    """Generator draws of a continuous-time model.

    Parameters
    ----------
    states : StateSpace
    segments : tuple of str
    generators : ndarray, shape (n_draws, n_segments, n_states, n_states)
        Generators per unit of `time_unit` (off-diagonals ≥ 0, rows summing to 0).
    time_unit : {"day", "month", "quarter", "year"} or None
        The unit of the intensities; None when the file does not record it.
    correlation : ndarray, shape (n_draws,), optional
        Asset-correlation draws, if the file holds them.
    source : str
        What the draws came from (for messages and the run summary).
    effects : CovariateEffects, optional
        A model fitted with covariates: `generators` are its baseline (at the covariate means),
        and `at_covariates` must evaluate them at given values before `parameter_draws`.
    """

    states: StateSpace
    segments: tuple[str, ...]
    generators: np.ndarray
    _: KW_ONLY  # the options below are keyword-only
    time_unit: str | None = None
    correlation: np.ndarray | None = None
    source: str = "IntensityModel"
    effects: CovariateEffects | None = None

    @property
    def n_draws(self) -> int:
        """Number of draws (1 for an MLE fit)."""
        return int(self.generators.shape[0])

    @property
    def covariates(self) -> tuple[str, ...]:
        """Names of the covariates whose values `at_covariates` needs (empty: none)."""
        return () if self.effects is None else self.effects.names

    def at_covariates(self, covariates: CovariateValues | None) -> GeneratorDraws:
        """Return the draws with generators at the given covariate values, per draw.

        Parameters
        ----------
        covariates : mapping or None
            ``{covariate: value}`` for every segment and/or ``{segment: {covariate: value}}``
            (a segment's own values override the shared ones); see
            `riskmodel.models.intensity_effects`. None for a model without covariates.

        Raises
        ------
        ArgumentError
            If the model has covariates and values are missing or unknown, or it has none and
            values were given.
        """
        if self.effects is None:
            if covariates:
                raise ArgumentError(
                    f"the intensity model ({self.source}) has no covariates; got covariates="
                    f"{dict(covariates)!r}. Remove them."
                )
            return self
        values = values_by_segment(covariates, self.effects.names, self.segments)
        return replace(
            self,
            generators=self.effects.generators(values),
            effects=None,
            source=f"{self.source} at {describe(values, self.segments)}",
        )

    def parameter_draws(self, length: float) -> ParameterDraws:
        """Return the engine's parameters for periods of `length` time units: ``expm(Q·length)``.

        Raises
        ------
        ArgumentError
            For a model with covariates not yet evaluated by `at_covariates`.
        """
        if self.effects is not None:
            raise ArgumentError(
                f"the intensity model has covariates {list(self.covariates)}; evaluate it at "
                "their values first: draws.at_covariates({name: value, ...})."
            )
        P = matrices_from_generators(self.generators, length, self.states)
        return ParameterDraws(self.states, self.segments, P, correlation=self.correlation)


def generator_variables(
    generators: np.ndarray,
    segments: Sequence[str],
    states: StateSpace,
    *,
    time_unit: str | None,
    period_length: float,
) -> tuple[dict, dict]:
    """Return the ``generator`` variable and attrs that mark a draws file as continuous-time.

    Returns ``(data_vars, attrs)`` to merge into `ParameterDraws.to_dataset()` (dims ``chain=1,
    draw``).
    """
    names = list(states.names)
    G = np.asarray(generators, dtype=float)
    da = xr.DataArray(
        G[None],
        dims=("chain", "draw", "segment", "from_state", "to_state"),
        coords={
            "chain": [0],
            "draw": np.arange(G.shape[0]),
            "segment": list(segments),
            "from_state": names,
            "to_state": names,
        },
    )
    attrs = {
        "time_unit": "" if time_unit is None else str(time_unit),
        "period_length": float(period_length),
        "generator_source": KIND,
    }
    return {"generator": da}, attrs


def _open(path, group: str) -> xr.Dataset | None:
    try:
        return xr.load_dataset(path, group=group, engine=netcdf_engine())
    except (OSError, KeyError, ValueError):
        return None


def _unit(value) -> str | None:
    unit = str(value or "") or None
    if unit is not None and unit not in UNITS:
        raise ValueError(f"the file's time unit {unit!r} is not one of {list(UNITS)}.")
    return unit


def _from_model(ds: xr.Dataset, path, main: str) -> GeneratorDraws:
    cfg = C.read_config(ds.attrs, KIND, path)
    states = StateSpace.from_attrs(cfg["states"])
    allowed = np.array(
        [[states.index(f), states.index(t)] for f, t in cfg["allowed"]], dtype=np.intp
    )
    values = _draws(ds["log_intensity"], main, "segment")
    effects = None
    if cfg.get("covariates"):
        effects = CovariateEffects(
            design=CovariateDesign.from_config(cfg),
            log_intensity=values,
            beta=_draws(ds["beta"], main, "coefficient"),
            allowed=allowed,
            n_states=states.n,
        )
    return GeneratorDraws(
        states=states,
        segments=tuple(str(s) for s in cfg["segments"]),
        generators=generator_matrix(values, allowed, states.n),
        time_unit=_unit(cfg.get("time_unit")),
        source=f"IntensityModel ({cfg.get('method', main)})",
        effects=effects,
    )


def _draws(da: xr.DataArray, main: str, first: str) -> np.ndarray:
    """Values with one leading draw axis: (chain, draw, …) flattened, or an MLE's estimate."""
    if main == "posterior":
        values = np.asarray(da.transpose("chain", "draw", first, ...).values)
        return values.reshape(-1, *values.shape[2:])
    return np.asarray(da.transpose(first, ...).values)[None]


def _from_fit(ds: xr.Dataset) -> GeneratorDraws:
    states = StateSpace.from_attrs(ds.attrs)
    names = list(states.names)
    g = ds["generator"].transpose("chain", "draw", "segment", "from_state", "to_state")
    g = g.sel(from_state=names, to_state=names)
    values = np.asarray(g.values)
    corr = None
    if "correlation" in ds:
        corr = np.asarray(ds["correlation"].transpose("chain", "draw").values).reshape(-1)
    return GeneratorDraws(
        states=states,
        segments=tuple(str(s) for s in g.segment.values),
        generators=values.reshape(-1, *values.shape[2:]),
        time_unit=_unit(ds.attrs.get("time_unit")),
        correlation=corr,
        source=f"riskmodel fit (model: intensity; {ds.attrs.get('fit_method', 'mle')})",
    )


def read_generator_draws(
    path: str | PathLike, *, max_bytes: int | None = None
) -> GeneratorDraws | None:
    """Read the generator draws of a continuous-time posterior file (None: discrete-time).

    Parameters
    ----------
    path : path
        A file written by `IntensityModel.save`, by ``riskmodel fit`` (any model), or by
        `ParameterDraws.to_netcdf`.
    max_bytes : int, optional
        As for `load_parameter_draws` (checked on the whole file before anything is loaded).

    Returns
    -------
    GeneratorDraws or None
        None when the file holds no generators (a transition-model posterior: read it with
        `load_parameter_draws`), or is not netCDF at all (the same reader then says why).

    Raises
    ------
    ModelFileError
        If an IntensityModel file's config was edited.
    ResourceLimitError
        If the file's arrays would take more memory than `max_bytes`.
    ValueError
        If the file records an unknown time unit.
    """
    try:
        check_netcdf_size(path, max_bytes=max_bytes)
    except OSError:
        return None  # not netCDF: load_parameter_draws says so
    post = _open(path, "posterior")
    if post is not None and "generator" in post:
        return _from_fit(post)
    if post is not None and post.attrs.get("riskmodel_kind") == KIND:
        return _from_model(post, path, "posterior")
    mle = _open(path, "mle")
    if mle is not None and mle.attrs.get("riskmodel_kind") == KIND:
        return _from_model(mle, path, "mle")
    return None


def generator_draws_of(model: Any) -> GeneratorDraws:
    """Return the generator draws of a fitted `IntensityModel` (MLE: one draw, the estimate)."""
    fit = model._require_fit()
    cfg = fit.config
    states = model.states
    if "mle" in fit.groups:
        G = np.asarray(model.generator("mean").values)[None]
    else:
        allowed = np.array(
            [[states.index(f), states.index(t)] for f, t in cfg["allowed"]], dtype=np.intp
        )
        lq = model.log_intensity_draws().transpose("chain", "draw", "segment", ...).values
        G = generator_matrix(lq.reshape(-1, *lq.shape[2:]), allowed, states.n)
    return GeneratorDraws(
        states=states,
        segments=tuple(model.segments),
        generators=G,
        time_unit=cfg.get("time_unit"),
        source=f"IntensityModel ({cfg['method']})",
    )
