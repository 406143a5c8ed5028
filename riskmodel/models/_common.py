"""Helpers shared by the models: priors, seeding, config attrs, MCMC diagnostics.

Nothing here imports PyMC or ArviZ at module import time.
"""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import json
import logging
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from riskmodel.errors import ArgumentError, ConvergenceWarning, ModelFileError, NotFittedError
from riskmodel.models.nuts_run import NUTS_SAMPLERS as NUTS_SAMPLERS  # re-exported: C.nuts
from riskmodel.models.nuts_run import nuts as nuts

__all__ = ["ConvergenceWarning", "ModelFileError", "NotFittedError", "sampler_logs"]


@contextlib.contextmanager
def sampler_logs(*, verbose: bool) -> Iterator[None]:
    """Show PyMC's and PyTensor's INFO/WARNING log messages only when `verbose` (errors always).

    PyMC sets its logger to INFO when it is first imported, so it is imported here first: a level
    set before that import would be overwritten by it.
    """
    import pymc  # noqa: F401  (configures the "pymc" logger on import)

    loggers = [logging.getLogger(n) for n in ("pymc", "pytensor")]
    levels = [lg.level for lg in loggers]
    if not verbose:
        for lg in loggers:
            lg.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


FORMAT_VERSION = 1
RHAT_MAX = 1.01
ESS_PER_CHAIN = 100
"""Bulk ESS below ``ESS_PER_CHAIN * chains`` warns (400 for the usual 4 chains)."""


def resolve_prior(prior: float | Mapping[str, float] | None, defaults: dict[str, float]) -> dict:
    """Merge a user prior (a float sets ``concentration``, or a mapping) over the defaults."""
    out = dict(defaults)
    if prior is None:
        return out
    if isinstance(prior, int | float) and not isinstance(prior, bool):
        if "concentration" not in out:
            raise ValueError(
                f"a number is not a valid prior here; pass a mapping with keys {sorted(out)}."
            )
        prior = {"concentration": float(prior)}
    if not isinstance(prior, Mapping):
        raise TypeError(f"prior must be a number or a mapping; got {type(prior).__name__}.")
    for key, value in prior.items():
        if key not in out:
            close = difflib.get_close_matches(str(key), list(out), n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ValueError(f"unknown prior key {key!r}; valid keys are {sorted(out)}.{hint}")
        value = float(value)
        if not np.isfinite(value):
            raise ValueError(f"prior {key!r} must be finite; got {value}.")
        if (key.endswith("sigma") or key == "concentration" or key.startswith("rho_")) and (
            value <= 0
        ):
            raise ValueError(f"prior {key!r} must be > 0; got {value}.")
        out[key] = value
    return out


def split_seed(seed, n: int) -> list[np.random.Generator]:
    """One Generator from `seed` (int, None or Generator), then `n` independent children."""
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    return rng.spawn(n)


def pymc_seed(rng: np.random.Generator) -> int:
    """Return an int seed for ``pm.sample`` drawn from `rng`."""
    return int(rng.integers(2**31 - 1))


def check_sampling_args(draws: int, chains: int) -> None:
    for name, v in (("draws", draws), ("chains", chains)):
        if not isinstance(v, int | np.integer) or isinstance(v, bool) or v < 1:
            raise ValueError(f"{name} must be a positive integer; got {v!r}.")


def mcmc_settings(
    *,
    draws: int,
    chains: int,
    tune: int,
    target_accept: float,
    cores: int | None,
    rng: np.random.Generator,
    progressbar: bool,
) -> dict[str, Any]:
    """Return the keyword arguments of `nuts` for a fit, its PyMC seed drawn from `rng`."""
    return {
        "draws": draws,
        "chains": chains,
        "tune": tune,
        "target_accept": target_accept,
        "cores": cores,
        "random_seed": pymc_seed(rng),
        "progressbar": progressbar,
    }


# ---------------------------------------------------------------------------------------------
# config <-> attrs
# ---------------------------------------------------------------------------------------------
def config_attrs(kind: str, config: dict[str, Any]) -> dict[str, Any]:
    """Return netCDF attrs holding `config` as JSON plus a hash that detects edits."""
    text = json.dumps(config, sort_keys=True)
    return {
        "riskmodel_kind": kind,
        "riskmodel_format": FORMAT_VERSION,
        "riskmodel_config": text,
        "riskmodel_config_hash": hashlib.sha256(text.encode()).hexdigest(),
    }


def read_config(attrs: Mapping[str, Any], kind: str, path) -> dict[str, Any]:
    """Parse and verify the config attrs written by `config_attrs`."""
    got_kind = attrs.get("riskmodel_kind")
    if got_kind != kind:
        raise ModelFileError(
            f"{path} is not a saved {kind} (kind: {got_kind or 'none'}); "
            f"load it with the class that wrote it."
        )
    version = int(attrs.get("riskmodel_format", -1))
    if version != FORMAT_VERSION:
        raise ModelFileError(
            f"{path} has file format {version}; this riskmodel reads format {FORMAT_VERSION}. "
            "Refit and save with this version."
        )
    text = str(attrs.get("riskmodel_config", ""))
    if hashlib.sha256(text.encode()).hexdigest() != attrs.get("riskmodel_config_hash"):
        raise ModelFileError(
            f"{path}: the stored config does not match its hash (the attrs were edited); "
            "refit and save the model instead of editing the file."
        )
    return json.loads(text)


def refuse_mismatch(path, field: str, stored, expected) -> None:
    if expected is not None and stored != expected:
        raise ModelFileError(
            f"{path} was saved with {field}={stored!r}, but {expected!r} was expected; "
            f"load it without `{field}=` to use the stored value, or refit the model."
        )


# ---------------------------------------------------------------------------------------------
# diagnostics
# ---------------------------------------------------------------------------------------------
def convergence_diagnostics(params: xr.Dataset, sample_stats: xr.Dataset | None) -> dict[str, Any]:
    """R-hat, bulk and tail ESS and divergences of an MCMC run.

    `params` holds the parameters to check, dims ``(chain, draw, …)``. The tail ESS (the ESS of
    the 5% and 95% quantiles, Vehtari et al. 2021) is recorded for the run report of a
    posterior run; the warnings check R-hat, bulk ESS and divergences.
    """
    import arviz as az

    chains = params.sizes["chain"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        rhat = az.rhat(params) if chains > 1 else None
        ess = az.ess(params, method="bulk")
        ess_tail = az.ess(params, method="tail")

    def extreme(ds: xr.Dataset, fn) -> tuple[float, str]:
        best, where = None, ""
        for name, da in ds.data_vars.items():
            vals = np.asarray(da.values, dtype=float)
            vals = vals[np.isfinite(vals)]
            if vals.size == 0:
                continue
            v = float(fn(vals))
            if best is None or fn([best, v]) == v:
                best, where = v, str(name)
        return (float("nan") if best is None else best), where

    max_rhat, rhat_var = extreme(rhat, np.max) if rhat is not None else (float("nan"), "")
    min_ess, ess_var = extreme(ess, np.min)
    min_tail, tail_var = extreme(ess_tail, np.min)
    div = 0 if sample_stats is None else int(sample_stats["diverging"].sum())
    return {
        "divergences": div,
        "max_rhat": max_rhat,
        "max_rhat_var": rhat_var,
        "min_ess_bulk": min_ess,
        "min_ess_bulk_var": ess_var,
        "min_ess_tail": min_tail,
        "min_ess_tail_var": tail_var,
        "chains": int(chains),
        "draws": int(params.sizes["draw"]),
    }


def warn_on_diagnostics(diag: dict[str, Any], *, stacklevel: int = 3) -> None:
    """Warn (ConvergenceWarning) with a specific remedy for each failed check."""
    problems = []
    if diag["divergences"] > 0:
        problems.append(
            f"{diag['divergences']} divergent transition(s): refit with a higher target_accept "
            "(e.g. fit(..., target_accept=0.95)); if they persist, tighten the prior."
        )
    if np.isfinite(diag["max_rhat"]) and diag["max_rhat"] > RHAT_MAX:
        problems.append(
            f"R-hat {diag['max_rhat']:.3f} for {diag['max_rhat_var']!r} exceeds {RHAT_MAX}: "
            f"chains disagree; refit with more tuning and draws (e.g. tune={2 * diag['draws']}, "
            f"draws={2 * diag['draws']})."
        )
    need = ESS_PER_CHAIN * diag["chains"]
    if np.isfinite(diag["min_ess_bulk"]) and diag["min_ess_bulk"] < need:
        problems.append(
            f"bulk ESS {diag['min_ess_bulk']:.0f} for {diag['min_ess_bulk_var']!r} is below "
            f"{need} ({ESS_PER_CHAIN} per chain): refit with more draws (e.g. "
            f"draws={int(np.ceil(diag['draws'] * need / max(diag['min_ess_bulk'], 1.0)))})."
        )
    if problems:
        warnings.warn(
            "MCMC diagnostics: " + " ".join(problems), ConvergenceWarning, stacklevel=stacklevel
        )


def transition_dataarray(states, rows: np.ndarray, segments) -> xr.DataArray:
    """Build the posterior ``transition`` (chain, draw, segment, from_state, to_state).

    From transient rows of shape (chain, draw, n_segments, n_transient, n_states).
    """
    names = list(states.names)
    return xr.DataArray(
        states.full_matrix(rows),
        dims=("chain", "draw", "segment", "from_state", "to_state"),
        coords={
            "chain": np.arange(rows.shape[0]),
            "draw": np.arange(rows.shape[1]),
            "segment": list(segments),
            "from_state": names,
            "to_state": names,
        },
    )


def mcmc_groups(idata) -> dict[str, xr.Dataset]:
    """Return the groups of a PyMC InferenceData that a fitted model keeps."""
    return {g: idata[g] for g in idata.groups() if g in ("posterior", "sample_stats")}


def stack_draws(da: xr.DataArray) -> np.ndarray:
    """(chain, draw, ...) -> (chain*draw, ...) as a numpy array."""
    return np.asarray(da.values).reshape(-1, *da.shape[2:])


def check_stat(stat: str | float) -> float | None:
    """Return the quantile a ``stat`` argument asks for: None for ``"mean"``, 0.5 for ``"median"``.

    Raises
    ------
    ArgumentError
        For any other text, or a number outside (0, 1).
    """
    if isinstance(stat, str):
        if stat == "mean":
            return None
        if stat == "median":
            return 0.5
        raise ArgumentError(f"stat must be 'mean', 'median' or a quantile in (0, 1); got {stat!r}.")
    q = float(stat)
    if not 0.0 < q < 1.0:
        raise ArgumentError(f"stat as a quantile must be in (0, 1); got {stat!r}.")
    return q


@dataclass
class Estimate:
    """What an estimator of the transition model returns (see `riskmodel.models.transition_fit`).

    Attributes
    ----------
    groups : dict of str to Dataset
        InferenceData groups: ``posterior`` (and ``sample_stats`` or ``constant_data``).
    free : list of str
        The sampled parameters users read (``["transition"]`` for conjugate fits).
    diagnostics : dict or None
        R-hat, ESS and divergences of an MCMC fit (None for conjugate fits).
    """

    groups: dict[str, xr.Dataset]
    free: list[str]
    diagnostics: dict[str, Any] | None


@dataclass
class DefaultFit:
    """What `DefaultModel.fit` (or `load`) leaves on the model.

    Attributes
    ----------
    config : dict
        The validated config with the fitted ``segments`` (and the macro means and standard
        deviations of a covariate model); saved as JSON in the file's attrs.
    groups : dict of str to Dataset
        InferenceData groups: ``posterior`` (and ``sample_stats``).
    free : list of str
        The sampled parameters users read.
    diagnostics : dict
        R-hat, ESS and divergences of the fit.
    """

    config: dict[str, Any]
    groups: dict[str, Any]
    free: list[str]
    diagnostics: dict[str, Any]
