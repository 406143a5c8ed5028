"""Model risk of a posterior run: how much of the loss risk comes from not knowing the parameters.

A run with a posterior draws one parameter sample ``d`` per path, so its loss ``L`` mixes
*process risk* (defaults, the factor and LGD given the parameters) and *parameter risk* (the
spread of the posterior). This module splits the two; it never simulates. The engine supplies
what it needs (`riskmodel.simulation.model_risk_run`): the exact ``E[L | d]`` of every draw and
each path's loss in a second run at the posterior mean on the same paths. The results it
returns are the containers of `riskmodel.metrics.model_risk_results`.

Variance: the law of total variance
-----------------------------------
``Var(L) = E_d[Var(L | d)] + Var_d(E[L | d])`` (process + parameter), with ``d`` uniform over
the run's ``D`` draws (the engine's model; importance sampling may tilt which draws are
sampled, and the weights undo it). With ``m_d = E[L | d]`` exact per draw and ``m̄`` their mean
(the exact EL):

- parameter, exact: ``V_par = (1/D) Σ_d (m_d − m̄)²``, no Monte Carlo error;
- parameter, Monte Carlo cross-check: ``Cov(L, m_D) = E[w̃ (L − m̄)(m_D − m̄)]`` over the paths
  (it equals ``V_par`` because ``E[L | D] = m_D``; unbiased however few paths share a draw);
- process, Monte Carlo: ``V_proc = E[(L − m_D)²] = E_d[Var(L | d)]``, estimated by
  ``mean(w̃ (L − m_D)²)``;
- total: ``V_par + V_proc``; ``total_mc = mean(w̃ (L − m̄)²)`` is the direct estimate.

All means are self-normalised in the weights (``w̃ = N w / Σ w``) and their standard errors are
the delta-method errors of `riskmodel.metrics.weighted.influence`. The parameter share is
``V_par / (V_par + V_proc)``; its error comes from ``V_proc`` alone.

Tail: ES above EL, with and without parameter uncertainty
--------------------------------------------------------
At each level ``q``, ``A = ES_q − EL`` of the run and ``B = ES_q − EL`` of the run at the
posterior mean, on common random numbers (same paths and weights). The parameter share is
``1 − B / A``: the part of the unexpected tail loss that disappears when the parameters are
known (set to their posterior mean). EL is the exact expectation of each run, so only ES is
estimated. With ``ψ_A``, ``ψ_B`` the per-path influences of the two ES estimates
(`riskmodel.metrics.paired`), the share's error is, to first order,

    se = std((B ψ_A − A ψ_B) / A², ddof=1) / √N,

paired over the common paths (far smaller than from two independent runs). The same is
reported for VaR. The share can be negative when the posterior-mean tail is heavier; it is not
clipped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr
from numpy.typing import ArrayLike

from riskmodel.errors import ArgumentError
from riskmodel.metrics.model_risk_results import LevelSplit, ModelRisk, VarianceSplit
from riskmodel.metrics.paired import paired_influences
from riskmodel.metrics.risk import as_dataset
from riskmodel.metrics.weighted import as_levels, as_paths, influence, stderr_of_mean
from riskmodel.simulation.store import path_total

__all__ = [
    "LevelSplit",
    "ModelRisk",
    "VarianceSplit",
    "model_risk",
    "tail_split",
    "variance_split",
]


def variance_split(
    loss: ArrayLike,
    *,
    draw: ArrayLike,
    expected_by_draw: ArrayLike,
    weights: ArrayLike | None = None,
) -> VarianceSplit:
    """Split the loss variance into parameter and process risk (law of total variance).

    Parameters
    ----------
    loss : array_like, shape (N,)
        Per-path total loss.
    draw : array_like of int, shape (N,)
        The parameter draw each path used, in ``0 … D − 1``.
    expected_by_draw : array_like, shape (D,)
        Exact ``E[L | d]`` of each draw; draws are equally likely under the model.
    weights : array_like, shape (N,), optional
        Likelihood-ratio weights (self-normalised; default all ones).

    Returns
    -------
    VarianceSplit

    Raises
    ------
    ArgumentError
        For shapes that do not match or draw indices outside ``0 … D − 1``.

    Examples
    --------
    >>> s = variance_split([0.0, 2.0, 1.0, 3.0], draw=[0, 0, 1, 1], expected_by_draw=[1.0, 2.0])
    >>> s.parameter, s.process
    (0.25, 1.0)
    """
    x, w = as_paths(loss, weights, name="loss")
    m = np.asarray(expected_by_draw, dtype=float).reshape(-1)
    d = np.asarray(draw)
    if d.shape != x.shape or d.dtype.kind not in "iu":
        raise ArgumentError(
            f"`draw` must hold one integer draw index per path, shape {x.shape}; got "
            f"{d.shape} of dtype {d.dtype}."
        )
    if m.size == 0 or not np.all(np.isfinite(m)) or d.min() < 0 or d.max() >= m.size:
        raise ArgumentError(
            f"`draw` must index `expected_by_draw` ({m.size} finite values); got indices in "
            f"[{d.min()}, {d.max()}]."
        )
    mean = float(m.mean())
    md = m[d]
    terms = {
        "process": w * (x - md) ** 2,
        "parameter_mc": w * (x - mean) * (md - mean),
        "total_mc": w * (x - mean) ** 2,
    }
    est = {k: float(np.mean(v)) for k, v in terms.items()}
    psi = {k: influence(v, w) for k, v in terms.items()}
    stderr = {k: stderr_of_mean(v) for k, v in psi.items()}
    parameter = float(np.mean((m - mean) ** 2))
    total = parameter + est["process"]
    stderr["parameter"] = 0.0
    stderr["parameter_share"] = parameter * stderr["process"] / total**2 if total > 0 else math.nan
    total_mc = est["parameter_mc"] + est["process"]
    stderr["parameter_share_mc"] = (
        stderr_of_mean(
            (est["process"] * psi["parameter_mc"] - est["parameter_mc"] * psi["process"])
            / total_mc**2
        )
        if total_mc > 0
        else math.nan
    )
    return VarianceSplit(
        parameter=parameter,
        process=est["process"],
        parameter_mc=est["parameter_mc"],
        total_mc=est["total_mc"],
        stderr=stderr,
        draws=int(m.size),
        draws_used=int(np.unique(d).size),
    )


def tail_split(
    loss: ArrayLike,
    loss_at_mean: ArrayLike,
    *,
    expected: float,
    expected_at_mean: float,
    levels: Sequence[float],
    weights: ArrayLike | None = None,
    weights_at_mean: ArrayLike | None = None,
) -> tuple[LevelSplit, ...]:
    """Parameter share of ``ES_q − EL`` (and ``VaR_q − EL``) per level, paired on common paths.

    Parameters
    ----------
    loss, loss_at_mean : array_like, shape (N,)
        Per-path total loss of the run and of the run at the posterior mean, path ``i`` of both
        on the same random numbers.
    expected, expected_at_mean : float
        EL of each run (the exact expectations; see the module docstring).
    levels : sequence of float
        Levels in (0, 1).
    weights, weights_at_mean : array_like, shape (N,), optional
        Likelihood-ratio weights of each run (default: all ones; `weights_at_mean` defaults to
        `weights`, as the engine's counterfactual shares the run's weights).

    Returns
    -------
    tuple of LevelSplit
        In ascending order of level. A share is NaN where ``ES_q ≤ EL``.

    Raises
    ------
    ArgumentError
        If the two runs have different numbers of paths, or for invalid values or levels.
    """
    q = sorted({float(v) for v in np.atleast_1d(as_levels(levels)).ravel()})
    x, _ = as_paths(loss, weights, name="loss")
    y, _ = as_paths(loss_at_mean, weights_at_mean if weights_at_mean is not None else weights)
    if x.shape != y.shape:
        raise ArgumentError(
            f"the run at the posterior mean must have the same paths as the run; got {y.size} "
            f"and {x.size} paths. Rerun both with the same `paths` and seed."
        )
    fx = paired_influences(x, weights, q)
    fy = paired_influences(y, weights_at_mean if weights_at_mean is not None else weights, q)
    out = []
    for level in q:
        es = _share(fx, fy, f"es_{level}", expected, expected_at_mean)
        var = _share(fx, fy, f"var_{level}", expected, expected_at_mean)
        out.append(
            LevelSplit(
                level=level,
                es_minus_el=es["a"],
                es_minus_el_at_mean=es["b"],
                parameter_share=es["share"],
                stderr=es["se"],
                var_minus_el=var["a"],
                var_minus_el_at_mean=var["b"],
                var_parameter_share=var["share"],
                stderr_var=var["se"],
                stderr_es_minus_el=stderr_of_mean(fx[f"es_{level}"]),
                stderr_es_minus_el_at_mean=stderr_of_mean(fy[f"es_{level}"]),
            )
        )
    return tuple(out)


def _share(
    fx: dict[str, np.ndarray], fy: dict[str, np.ndarray], key: str, el: float, el_mean: float
) -> dict[str, float]:
    """``1 − B/A`` with ``A``, ``B`` the excesses over EL and its paired delta-method error."""
    a = float(fx[f"value:{key}"]) - float(el)
    b = float(fy[f"value:{key}"]) - float(el_mean)
    if not a > 0:
        return {"a": a, "b": b, "share": math.nan, "se": math.nan}
    psi = (b * fx[key] - a * fy[key]) / a**2
    return {"a": a, "b": b, "share": 1.0 - b / a, "se": stderr_of_mean(psi)}


def model_risk(data: Any, *, levels: Sequence[float] | None = None) -> ModelRisk:
    """Parameter and process risk of a posterior run, from its result.

    Parameters
    ----------
    data : SimulationResult or xarray.Dataset
        A run with several posterior draws simulated with ``model_risk`` on (the default of
        `riskmodel.simulate` for such runs): it holds ``exact_loss_by_draw``,
        ``posterior_mean_loss`` and ``exact_loss_at_posterior_mean``
        (`riskmodel.simulation.model_risk_run`).
    levels : sequence of float, optional
        Default: the run's levels.

    Returns
    -------
    ModelRisk

    Raises
    ------
    ArgumentError
        If the run has no posterior draws or was simulated without the posterior-mean run.

    Examples
    --------
    >>> import riskmodel as rm
    >>> res = rm.run("scenarios/posterior/baseline.yaml", paths=4000)  # doctest: +SKIP
    >>> print(res.model_risk().sentence())  # doctest: +SKIP
    """
    ds = as_dataset(data, "data")
    needed = ("exact_loss_by_draw", "posterior_mean_loss", "exact_loss_at_posterior_mean")
    if any(name not in ds for name in needed):
        draws = int(ds.attrs.get("parameter_draws", 1))
        why = (
            "it has a single parameter set (point parameters, or a posterior with "
            "`parameter_uncertainty: false`), so there is no parameter risk to split"
            if draws <= 1
            else "it was simulated without the posterior-mean run; simulate with "
            "rm.simulate(scenario, model_risk=True)"
        )
        raise ArgumentError(f"this run has no model-risk data: {why}.")
    loss = path_total(ds, "loss").to_numpy()
    weights = ds["weight"].to_numpy()
    expected = _exact_el(ds)
    at_mean = float(ds["exact_loss_at_posterior_mean"])
    run_levels = levels if levels is not None else np.atleast_1d(ds.attrs["levels"]).tolist()
    return ModelRisk(
        variance=variance_split(
            loss,
            draw=ds["draw"].to_numpy(),
            expected_by_draw=ds["exact_loss_by_draw"].to_numpy(),
            weights=weights,
        ),
        levels=tail_split(
            loss,
            ds["posterior_mean_loss"].to_numpy(),
            expected=expected,
            expected_at_mean=at_mean,
            levels=run_levels,
            weights=weights,
        ),
        expected=expected,
        expected_at_mean=at_mean,
    )


def _exact_el(ds: xr.Dataset) -> float:
    if "exact_loss" in ds:
        return float(ds["exact_loss"].sum("period"))
    return float(np.mean(ds["exact_loss_by_draw"].to_numpy()))
