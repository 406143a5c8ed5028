"""Whether a tail level is resolved by a run: enough effective paths at or beyond its quantile.

A tail level ``q`` rests on the paths at or beyond its VaR; their effective number (the Kish
size of their weights, ≈ ``N (1 − q)`` for plain Monte Carlo) is reported by
`riskmodel.metrics.risk.risk_measures` as ``tail_paths``. Below `MIN_TAIL_PATHS` the level is
not resolved (ES is typically biased low, its standard error unreliable), and
`warn_tail_resolution` says so with a `riskmodel.errors.TailResolutionWarning` that names the
levels, the counts and how many paths would resolve them.
"""

from __future__ import annotations

import math
import warnings

from riskmodel.config.metrics import format_level
from riskmodel.errors import TailResolutionWarning

__all__ = ["MIN_TAIL_PATHS", "warn_tail_resolution"]

MIN_TAIL_PATHS = 50.0
"""Effective number of paths beyond VaR below which a tail level is flagged as unresolved
(`TailResolutionWarning`): with fewer, ES is typically biased low and its error unreliable."""


def warn_tail_resolution(
    tail_paths: dict[float, float],
    *,
    n_paths: int,
    name: str = "loss",
    min_tail_paths: float = MIN_TAIL_PATHS,
    stacklevel: int = 2,
) -> None:
    """Warn (`TailResolutionWarning`) about levels resting on too few effective tail paths.

    Parameters
    ----------
    tail_paths : dict of float to float
        Effective number of paths at or beyond each level's quantile
        (`RiskMeasures.tail_paths`).
    n_paths : int
        Paths of the run, to say how many would resolve the worst level.
    name : str
        What the levels are of (``loss``, ``value`` …), for the message.
    min_tail_paths : float, default `MIN_TAIL_PATHS`
        Threshold; 0 never warns.
    stacklevel : int
        As for `warnings.warn`, counted from the caller of this function.
    """
    floor = min_tail_paths * (1.0 - 1e-9)  # a Kish size of 49.999999… is 50 paths
    thin = {q: t for q, t in tail_paths.items() if t < floor}
    if not thin:
        return
    listing = ", ".join(f"{format_level(100 * q)}%: {t:.4g}" for q, t in thin.items())
    worst = min(thin.values())
    need = (
        f"about {math.ceil(n_paths * min_tail_paths / worst):,} paths"
        if worst > 0
        else "many more paths"
    )
    warnings.warn(
        f"`{name}`: too few effective paths in the tail (at or beyond its quantile) for level(s) "
        f"{listing}; fewer than {min_tail_paths:g} in a run of {n_paths:,} paths, so VaR and "
        "ES there are not resolved (ES is typically biased low, its standard error "
        f"unreliable). Fix: run {need} (`--paths` / `paths:`), or use importance sampling "
        "(`simulation: importance_sampling: true`, the default), or report lower levels "
        "(`outputs: levels`).",
        TailResolutionWarning,
        stacklevel=stacklevel + 1,
    )
