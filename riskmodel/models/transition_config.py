"""The validated config of a `TransitionModel`, and the checks of fitted data against it.

`transition_config` turns the constructor's arguments into the JSON-able config saved with the
posterior (states, pooling, covariates, the full prior, sorted structural zeros); `allowed_mask`
is the matrix of possible transitions it implies. `fit_counts` reads the data `fit` is given
(a panel or counts, with or without macro covariates) into the counts the model needs and refuses
data that contradict the config (observed structural zeros, a macro table without covariates).
Nothing here imports PyMC.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from riskmodel.data.panel import PanelError, panel_to_counts, validate_counts
from riskmodel.models import _common as C
from riskmodel.states import StateSpace

__all__ = ["DEFAULT_PRIOR", "POOLINGS", "allowed_mask", "fit_counts", "transition_config"]

POOLINGS = ("none", "partial", "complete")
DEFAULT_PRIOR = {
    "concentration": 1.0,
    "log_kappa_mu": float(np.log(200.0)),
    "log_kappa_sigma": 1.5,
    "intercept_sigma": 5.0,
    "coef_sigma": 1.0,
    "log_tau_mu": float(np.log(0.5)),
    "log_tau_sigma": 0.75,
}


def _structural_zeros(
    ss: StateSpace, structural_zeros: Sequence[tuple[str, str]] | None
) -> list[tuple[str, str]]:
    """Return the declared structural zeros, checked and sorted (raises on a bad pair)."""
    zeros: list[tuple[str, str]] = []
    for pair in structural_zeros or ():
        if len(pair) != 2:
            raise ValueError(
                f"structural_zeros entries must be (from_state, to_state) pairs; got {pair!r}."
            )
        f, t = str(pair[0]), str(pair[1])
        for s in (f, t):
            if s not in ss.names:
                raise ValueError(
                    f"structural zero ({f!r}, {t!r}) names unknown state {s!r}; known "
                    f"states are {list(ss.names)}."
                )
        if f in ss.absorbing:
            raise ValueError(
                f"structural zero ({f!r}, {t!r}) starts in absorbing state {f!r}, whose "
                "row is fixed; declare zeros only in rows of transient states."
            )
        zeros.append((f, t))
    return sorted(set(zeros))


def transition_config(
    ss: StateSpace,
    *,
    pooling: str,
    covariates: Sequence[str] | None,
    prior: float | Mapping[str, float] | None,
    structural_zeros: Sequence[tuple[str, str]] | None,
) -> dict[str, Any]:
    """Return the validated config of a `TransitionModel` (raises on bad constructor arguments).

    Raises
    ------
    TypeError
        If `ss` is not a StateSpace or `covariates` is a string.
    ValueError
        On an unknown pooling, repeated covariates, a bad prior or structural zeros that name
        unknown states, start in an absorbing state or leave a row with no destination.
    """
    if not isinstance(ss, StateSpace):
        raise TypeError(f"states must be a StateSpace; got {type(ss).__name__}.")
    if pooling not in POOLINGS:
        raise ValueError(f"pooling must be one of {list(POOLINGS)}; got {pooling!r}.")
    covs = [] if covariates is None else [str(c) for c in covariates]
    if isinstance(covariates, str):
        raise TypeError(f"covariates must be a list of names; got the string {covs!r}.")
    if len(set(covs)) != len(covs):
        raise ValueError(f"covariates must be unique; got {covs}.")
    cfg: dict[str, Any] = {
        "states": ss.to_attrs(),
        "pooling": pooling,
        "covariates": covs,
        "prior": C.resolve_prior(prior, DEFAULT_PRIOR),
        "structural_zeros": [list(z) for z in _structural_zeros(ss, structural_zeros)],
    }
    allowed = allowed_mask(ss, cfg["structural_zeros"])
    empty = [ss.transient[r] for r in range(allowed.shape[0]) if not allowed[r].any()]
    if empty:
        raise ValueError(
            f"structural zeros leave no possible destination for state(s) {empty}; "
            "every transient row needs at least one allowed transition."
        )
    return cfg


def allowed_mask(ss: StateSpace, structural_zeros: Sequence[Sequence[str]]) -> np.ndarray:
    """Return the possible transitions, shape ``(n_transient, n_states)``: all but the zeros."""
    allowed = np.ones((len(ss.transient), ss.n), dtype=bool)
    tr = list(ss.transient)
    for f, t in structural_zeros:
        allowed[tr.index(f), ss.index(t)] = False
    return allowed


def fit_counts(
    data: pd.DataFrame | xr.DataArray,
    ss: StateSpace,
    cfg: dict[str, Any],
    macro: pd.DataFrame | None,
) -> xr.DataArray:
    """Return the counts a fit of the model with config `cfg` needs, checked against the config.

    Per period (dims ``period, segment, from_state, to_state``) for a covariate model, summed
    over periods otherwise.

    Raises
    ------
    PanelError
        On invalid data, counts without periods for a covariate model, or observed transitions
        that were declared structural zeros.
    ValueError
        If `macro` is missing for a covariate model or given for a model without covariates.
    """
    covs = tuple(cfg["covariates"])
    if isinstance(data, pd.DataFrame):
        counts = panel_to_counts(data, ss, by_period=bool(covs))
    else:
        counts = validate_counts(data, ss)
    if covs and "period" not in counts.dims:
        raise PanelError(
            "a covariate model needs counts per period, dims (period, segment, from_state, "
            "to_state); pass the panel itself or panel_to_counts(..., by_period=True)."
        )
    if not covs and "period" in counts.dims:
        counts = counts.sum("period")
    if covs and macro is None:
        raise ValueError(
            f"this model has covariates {list(covs)}; pass macro=DataFrame with 'period' and "
            "those columns."
        )
    if not covs and macro is not None:
        raise ValueError(
            "macro was given but the model has no covariates; pass covariates=[...] to "
            "TransitionModel or drop macro."
        )
    _refuse_observed_zeros(counts, ss, allowed_mask(ss, cfg["structural_zeros"]))
    return counts


def _refuse_observed_zeros(counts: xr.DataArray, ss: StateSpace, allowed: np.ndarray) -> None:
    """Raise `PanelError` if the counts hold a transition declared a structural zero."""
    y = np.asarray(counts.values)[..., ss.transient_idx, :]
    bad = (y > 0) & ~allowed
    if bad.any():
        r, j = np.argwhere(bad.reshape(-1, *allowed.shape).any(0))[0]
        raise PanelError(
            f"the data contain {int(y[..., r, j].sum())} transition(s) "
            f"{ss.transient[r]} -> {ss.names[j]}, which were declared structural zeros; "
            "remove that declaration or fix the data."
        )
