"""Differences between two scenarios run on common random numbers, with paired standard errors.

Two scenarios simulated with the same seed and number of paths share their innovations: path
``i`` of scenario ``a`` and path ``i`` of scenario ``b`` are one draw of a pair ``(L_a, L_b)``.
Every estimator of `riskmodel.metrics.risk.risk_measures` is, to first order, a mean of
per-path influences ``ψ_i`` (Bahadur / delta method). The estimate of a difference
``θ_a − θ_b`` is then, to first order, the mean of ``ψ_a,i − ψ_b,i``, and its standard error is

    se(θ̂_a − θ̂_b) = std(ψ_a − ψ_b, ddof=1) / √N.

Because ``ψ_a`` and ``ψ_b`` come from the same innovations they are strongly positively
correlated, and ``var(ψ_a − ψ_b) = var ψ_a + var ψ_b − 2 cov(ψ_a, ψ_b)`` is far smaller than
the unpaired ``var ψ_a + var ψ_b``. The influences, with self-normalised weights
``w̃ = N w / Σ w`` of each scenario (all ones for plain Monte Carlo) and ``ψ(a)`` the
influence of a self-normalised mean (`riskmodel.metrics.weighted.influence`), are those whose
``std/√N`` is each scenario's own reported standard error:

- expected loss: ``ψ = ψ(w̃ L)``; for plain Monte Carlo ``ψ_a − ψ_b = L_a − L_b − (EL_a −
  EL_b)``, so the error is the paired sd of ``L_a − L_b`` over ``√N``;
- ``VaR_q``: ``ψ = s(q) · ψ(w̃ 1{L > VaR_q})`` with the sparsity ``s(q) = 1/f(VaR_q)``
  of each scenario (Bahadur representation ``VaR̂ − VaR ≈ s(q) (Ĝ(VaR) − (1 − q))``);
  the difference of the per-path tail indicators, each scaled by its own sparsity;
- ``ES_q``: ``ψ = ψ(w̃ (L − VaR_q)^+) / (1 − q)`` (the VaR error drops out to first order).

Exact expectations (and the exact ECL) have exact differences, with standard error 0. With
quasi-Monte Carlo replicates the expectation differences take the spread of the per-replicate
differences, ``std(d_r, ddof=1)/√R``, as `riskmodel.metrics.expectations.self_normalised_mean`
does for one scenario; VaR and ES keep the influence formula, as their own errors do.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

from riskmodel.errors import ArgumentError
from riskmodel.metrics.weighted import (
    as_paths,
    influence,
    sort_paths,
    sorted_quantile,
    sparsity,
    stderr_of_mean,
)

__all__ = ["paired_influences", "paired_stderr"]


def paired_influences(
    loss: np.ndarray, weights: ArrayLike | None, levels: list[float]
) -> dict[str, np.ndarray]:
    """Per-path influences of one scenario's EL, VaR and ES (see the module docstring).

    Parameters
    ----------
    loss : ndarray, shape (N,)
        Per-path total loss.
    weights : ndarray, shape (N,), optional
        Likelihood-ratio weights (default: all ones).
    levels : list of float
        Risk levels in (0, 1).

    Returns
    -------
    dict of str to ndarray
        ``"expected"`` and ``"var_<q>"``, ``"es_<q>"`` for each level (``q`` as given),
        each of shape (N,), together with the point estimates under ``"value:" + key``.
    """
    x, w = as_paths(loss, weights, name="loss")
    n = x.size
    q = np.asarray(levels, dtype=float)
    xs, above = sort_paths(x, w)
    var = sorted_quantile(xs, above, q)
    sparse = sparsity(xs, above, q)
    out: dict[str, np.ndarray] = {"expected": influence(w * x, w)}
    out["value:expected"] = np.array(float(np.mean(w * x)))
    for qi, v, s in zip(q.tolist(), var.tolist(), sparse.tolist(), strict=True):
        excess = w * np.maximum(x - v, 0.0)
        out[f"var_{qi}"] = s * influence(w * (x > v), w)
        out[f"es_{qi}"] = influence(excess, w) / (1.0 - qi)
        out[f"value:var_{qi}"] = np.array(v)
        out[f"value:es_{qi}"] = np.array(v + float(excess.sum()) / (n * (1.0 - qi)))
    return out


def paired_stderr(psi_a: np.ndarray, psi_b: np.ndarray) -> float:
    """``std(ψ_a − ψ_b, ddof=1)/√N``: the standard error of a difference on common paths.

    Raises
    ------
    ArgumentError
        If the two scenarios do not have the same number of paths (no common random numbers).
    """
    if psi_a.shape != psi_b.shape:
        raise ArgumentError(
            f"paired differences need the same paths in both scenarios; got {psi_a.shape[0]} "
            f"and {psi_b.shape[0]} paths. Run both with the same `paths` and seed."
        )
    return stderr_of_mean(psi_a - psi_b)


def replicate_stderr(
    a: np.ndarray, wa: np.ndarray, b: np.ndarray, wb: np.ndarray, replicate: np.ndarray
) -> float:
    """Return the standard error of a difference of self-normalised means over QMC replicates.

    ``std(d_r, ddof=1)/√R`` with ``d_r`` the difference of the replicate-``r`` means; NaN
    with fewer than two replicates.
    """
    groups = [np.flatnonzero(replicate == r) for r in np.unique(replicate)]
    groups = [g for g in groups if wa[g].sum() > 0 and wb[g].sum() > 0]
    if len(groups) < 2:
        return math.nan
    d = [
        float(np.sum(wa[g] * a[g]) / np.sum(wa[g]) - np.sum(wb[g] * b[g]) / np.sum(wb[g]))
        for g in groups
    ]
    return float(np.std(d, ddof=1) / math.sqrt(len(d)))
