"""The validated config of an `IntensityModel`: states, allowed transitions, pooling, covariates.

`model_config` checks the constructor's arguments (`ArgumentError` naming the bad one) and returns
the JSON-able config saved with the fit: allowed transitions by name in state order, exact-time
states, pooling, covariate specs normalised by `riskmodel.models.intensity_covariates`, censored
codes and whether transition times are exact.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from riskmodel.errors import ArgumentError
from riskmodel.models.intensity_covariates import normalise_covariates
from riskmodel.states import StateSpace

__all__ = ["POOLINGS", "model_config"]


POOLINGS = ("none", "complete", "partial")


def model_config(
    states: StateSpace,
    *,
    allowed: Sequence[Sequence[str]] | None,
    exact_states: Sequence[str],
    pooling: str,
    covariates: Sequence[str] | Mapping[str, Any] | None,
    censored: Mapping[str, Sequence[str]] | None,
    exact_times: bool = False,
) -> dict[str, Any]:
    """Validate the `IntensityModel` config (`ArgumentError` on bad constructor arguments)."""
    ss = states
    if not isinstance(ss, StateSpace):
        raise ArgumentError(f"states must be a StateSpace; got {type(ss).__name__}.")
    if pooling not in POOLINGS:
        raise ArgumentError(f"pooling must be one of {list(POOLINGS)}; got {pooling!r}.")
    pairs = []
    for pair in allowed or ():
        if len(pair) != 2:
            raise ArgumentError(f"allowed entries must be (from, to) pairs; got {pair!r}.")
        f, t = str(pair[0]), str(pair[1])
        for s in (f, t):
            if s not in ss.names:
                raise ArgumentError(
                    f"allowed transition ({f!r}, {t!r}) names unknown state {s!r}; the "
                    f"states are {list(ss.names)}."
                )
        if f == t or f in ss.absorbing:
            raise ArgumentError(
                f"allowed transition ({f!r}, {t!r}) must leave a transient state for another state."
            )
        pairs.append((ss.index(f), ss.index(t)))
    if not pairs:
        raise ArgumentError("allowed must list at least one (from_state, to_state) pair.")
    if len(set(pairs)) != len(pairs):
        raise ArgumentError(f"allowed lists a transition twice: {list(allowed or ())}.")
    exact = [str(s) for s in exact_states]
    bad = [s for s in exact if s not in ss.absorbing]
    if bad:
        raise ArgumentError(
            f"exact_states {bad} must be absorbing states (absorbing: {list(ss.absorbing)})."
        )
    pairs.sort()
    allowed_names = [[ss.names[f], ss.names[t]] for f, t in pairs]
    return {
        "states": ss.to_attrs(),
        "allowed": allowed_names,
        "covariates": normalise_covariates(covariates, allowed_names),
        "exact_states": exact,
        "pooling": pooling,
        "censored": {str(k): [str(v) for v in vs] for k, vs in (censored or {}).items()},
        "exact_times": bool(exact_times),
    }
