"""Standard errors of a quasi-Monte Carlo run's risk measures, from its independent replicates.

A randomised quasi-Monte Carlo run (a ``replicate`` variable in its dataset) draws its paths in
``R`` independently randomised replicates. Within a replicate the paths are not independent,
so the delta-method errors of `riskmodel.metrics.risk.risk_measures` do not apply; the
replicates are independent, so the standard error of a figure is the standard deviation of its
per-replicate estimates divided by ``√R``. The point estimates stay those of all paths pooled.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from riskmodel.metrics.risk import RiskMeasures, risk_measures

__all__ = ["with_replicate_stderr"]


def with_replicate_stderr(
    pooled: RiskMeasures,
    values: np.ndarray,
    *,
    weights: np.ndarray,
    replicate: np.ndarray,
    levels: Sequence[float],
) -> RiskMeasures:
    """Return `pooled` with its standard errors taken from the spread over replicates.

    Parameters
    ----------
    pooled : RiskMeasures
        The risk measures of all paths pooled (the reported point estimates).
    values, weights : ndarray, shape (N,)
        Per-path values and likelihood-ratio weights of the run.
    replicate : ndarray of int, shape (N,)
        The replicate of each path.
    levels : sequence of float
        The levels of `pooled`.

    Returns
    -------
    RiskMeasures
        `pooled` with ``stderr_expected``, ``stderr_var`` and ``stderr_es`` replaced by
        ``std(per-replicate estimate, ddof=1) / √R``.
    """
    groups = [np.flatnonzero(replicate == r) for r in np.unique(replicate)]
    per = [  # the pooled figure is the reported one: no warning per replicate
        risk_measures(values[g], weights=weights[g], levels=levels, min_tail_paths=0)
        for g in groups
    ]
    root = np.sqrt(len(per))

    def spread(estimates: list[float]) -> float:
        return float(np.std(estimates, ddof=1) / root)

    return replace(
        pooled,
        stderr_expected=spread([m.expected for m in per]),
        stderr_var={q: spread([m.var[q] for m in per]) for q in pooled.var},
        stderr_es={q: spread([m.es[q] for m in per]) for q in pooled.es},
    )
