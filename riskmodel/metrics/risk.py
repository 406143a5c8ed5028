"""Risk measures of a simulated loss distribution, with Monte Carlo standard errors.

All estimators take optional per-path likelihood-ratio weights ``w_i`` (importance sampling,
``E[w] = 1`` under the sampling measure) and reduce to the textbook estimators for ``w = 1``.

Every estimator is *self-normalised*: the weights are first rescaled to
``w̃_i = N w_i / Σ_j w_j`` (mean exactly one), so the paths define one probability
distribution ``P̂ = Σ_i (w_i / Σ_j w_j) δ_{x_i}`` and every figure (mean, std, quantiles of
either tail, ES, tail probabilities) is a functional of that one distribution. With the raw
weights, ``Σ w_i ≠ N`` on a given run, and estimators that divide by ``N`` drift: lower
quantiles accumulate weight that never reaches ``N q`` (the 1% quantile of value fell on the
worst path), the std picks up ``EL² (1 − mean w)`` and can read 0 or ten times too large, and
a mean can exceed the largest value a path can take. For plain Monte Carlo ``w̃ = w = 1``
exactly, so every number is unchanged.

Standard errors are those of ratio estimators (delta method; Owen 2013, §9.2): a figure
``θ̂ = mean(w̃ g)`` has the per-path influence ``ψ_i = w̃_i g_i − θ̂ (w̃_i − 1)`` and
``se = std(ψ, ddof=1) / √N``. For ``w = 1``, ``ψ = g`` and the textbook error is unchanged.

A tail level rests on the paths at or beyond its VaR; :func:`risk_measures` reports their
effective number (``tail_paths``, the Kish size of their weights; ≈ ``N (1 − q)`` for plain
Monte Carlo) and warns (`riskmodel.errors.TailResolutionWarning`) when it is below
`MIN_TAIL_PATHS`: plain Monte Carlo at 99.9% with 8,192 paths rests on 9 paths, and its ES is
biased low (the check lives in `riskmodel.metrics.tail_resolution`). The numpy core lives in
`riskmodel.metrics.weighted`; the definitions are documented in :func:`risk_measures`.

References
----------
.. [1] Owen, A. B. (2013). *Monte Carlo theory, methods and examples*, ch. 9.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xarray as xr
from numpy.typing import ArrayLike

from riskmodel.config.metrics import format_level
from riskmodel.errors import ArgumentError
from riskmodel.metrics.tail_resolution import MIN_TAIL_PATHS, warn_tail_resolution
from riskmodel.metrics.weighted import (
    as_levels,
    as_paths,
    exceedance_probability,
    expected_value,
    kish,
    sparsity,
    stderr_ratio,
    tail_values,
    weighted_quantile,
)

__all__ = [
    "DEFAULT_LEVELS",
    "MIN_TAIL_PATHS",
    "RiskMeasures",
    "as_dataset",
    "exceedance_probability",
    "expected_value",
    "format_level",
    "risk_measures",
    "risk_measures_da",
    "warn_tail_resolution",
    "weighted_quantile",
]


def as_dataset(data: Any, argument: str = "data") -> xr.Dataset:
    """Return the xarray Dataset of a `SimulationResult` (or the Dataset itself).

    Raises
    ------
    TypeError
        Naming `argument`, for anything else.
    """
    ds = getattr(data, "data", data)
    if not isinstance(ds, xr.Dataset):
        raise ArgumentError(
            f"`{argument}` must be a SimulationResult or its xarray Dataset; "
            f"got {type(data).__name__}."
        )
    return ds


DEFAULT_LEVELS: tuple[float, ...] = (0.95, 0.99, 0.999)


@dataclass(frozen=True)
class RiskMeasures:
    """Risk measures of one loss distribution, with Monte Carlo standard errors.

    Dictionaries are keyed by level ``q`` (a float in (0, 1)), in ascending order.

    Attributes
    ----------
    expected, std : float
        Expected loss and standard deviation of the loss.
    var, es : dict of float to float
        Value at risk and expected shortfall per level.
    stderr_expected : float
        Monte Carlo standard error of ``expected``.
    stderr_var, stderr_es : dict of float to float
        Monte Carlo standard errors of ``var`` and ``es`` per level.
    n_paths : int
        Number of simulated paths ``N``.
    ess : float
        Kish effective sample size ``(Σ w)² / Σ w²`` (``N`` for plain Monte Carlo).
    tail_paths : dict of float to float
        Per level, the effective number of paths in the tail, at or beyond VaR: the Kish size
        ``(Σ_{L_i ≥ VaR} w_i)² / Σ_{L_i ≥ VaR} w_i²`` (the count of those paths,
        ≈ ``N (1 − q)``, for plain Monte Carlo). Below `MIN_TAIL_PATHS` the level is not
        resolved by the run.
    """

    expected: float
    std: float
    var: dict[float, float]
    es: dict[float, float]
    stderr_expected: float
    stderr_var: dict[float, float]
    stderr_es: dict[float, float]
    n_paths: int
    ess: float
    tail_paths: dict[float, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict in the ``summary.json`` layout, levels keyed as ``"0.99"``."""

        def by_level(d: dict[float, float]) -> dict[str, float]:
            return {format_level(q): float(v) for q, v in d.items()}

        return {
            "expected": float(self.expected),
            "std": float(self.std),
            "var": by_level(self.var),
            "es": by_level(self.es),
            "stderr": {
                "expected": float(self.stderr_expected),
                "var": by_level(self.stderr_var),
                "es": by_level(self.stderr_es),
            },
            "paths": int(self.n_paths),
            "ess": float(self.ess),
            "tail_paths": by_level(self.tail_paths),
        }


def risk_measures(
    loss: ArrayLike,
    *,
    weights: ArrayLike | None = None,
    levels: float | Sequence[float] | np.ndarray = DEFAULT_LEVELS,
    name: str = "loss",
    min_tail_paths: float = MIN_TAIL_PATHS,
) -> RiskMeasures:
    """Compute EL, std, VaR and ES of simulated losses, with Monte Carlo standard errors.

    See Notes for the exact estimators; variances use ``ddof=1`` (NaN standard errors if N = 1).

    Parameters
    ----------
    loss : array_like, shape (N,)
        Per-path losses, finite (usually >= 0).
    weights : array_like, shape (N,), optional
        Likelihood-ratio weights, finite and >= 0, ``E[w] = 1`` under the sampling measure
        (their scale does not matter: they are self-normalised). Default: all ones.
    levels : float or sequence of float, default (0.95, 0.99, 0.999)
        Levels ``q`` in (0, 1); duplicates are dropped and the result is in ascending order.
    name : str, default "loss"
        What the values are, for error and warning messages.
    min_tail_paths : float, default `MIN_TAIL_PATHS` (50)
        Warn when a level's ``tail_paths`` is below this; 0 never warns (e.g. for the
        replicates of a bootstrap, whose pooled figure is what gets reported).

    Returns
    -------
    RiskMeasures

    Raises
    ------
    ValueError
        If ``loss`` is not 1-D, empty or non-finite; if ``weights`` differ in length, are
        non-finite, negative or all zero; or if a level is outside (0, 1).

    Warns
    -----
    TailResolutionWarning
        If a level rests on fewer than `min_tail_paths` effective paths beyond its VaR; the
        message names the levels, the counts and how many paths would resolve them.

    Notes
    -----
    With ``N`` paths and self-normalised weights ``w̃_i = N w_i / Σ w`` (all ones for plain
    Monte Carlo), ``ψ(a)_i = a_i − mean(a) (w̃_i − 1)`` the influence of a self-normalised
    mean ``mean(a)`` and ``se(a) = std(ψ(a), ddof=1) / sqrt(N)`` its delta-method error:

    - ``expected = (1/N) Σ w̃_i L_i = Σ w_i L_i / Σ w_i``, ``stderr = se(w̃ L)``.
    - ``std = sqrt((1/N) Σ w̃_i (L_i − expected)²)``, the std of the weighted distribution.
    - ``VaR_q = min{L_i : G(L_i) ≤ 1 − q}`` with ``G(x) = (1/N) Σ w̃_i 1{L_i > x}``;
      for unit weights the order statistic ``L_(⌈Nq⌉)``. All levels come from one sort.
    - ``ES_q = VaR_q + (1/(N(1 − q))) Σ w̃_i (L_i − VaR_q)^+`` (Acerbi–Tasche /
      Rockafellar–Uryasev form: handles atoms, equals the mean of the worst ``N(1 − q)``
      losses when ``Nq`` is an integer and weights are one).
    - ``stderr_es = se(w̃ (L − VaR_q)^+) / (1 − q)``. ``ES_q`` is the minimum over ``v`` of
      ``v + E[w (L − v)^+] / (1 − q)``, attained at ``v = VaR_q``, so the error in the
      estimated VaR drops out to first order (envelope argument; Glasserman 2004, §9.1).
    - ``stderr_var = se(w̃ 1{L > VaR_q}) · s(q)`` (Glasserman 2004, §9.1), with the sparsity
      ``s(q) = 1/f(VaR_q)`` estimated by the Siddiqui–Bofinger quotient
      ``(Q(q + h) − Q(q − h)) / (2h)`` on the weighted quantile function ``Q`` and the
      Hall & Sheather (1988) bandwidth
      ``h = N^(−1/3) z_0.975^(2/3) [1.5 φ(Φ⁻¹(q))² / (2 Φ⁻¹(q)² + 1)]^(1/3)``, capped at
      ``min(q, 1 − q)/3`` to stay within the tail's scale (`riskmodel.metrics.weighted.sparsity`).
      For plain Monte Carlo this is the classic ``sqrt(q(1 − q)/N) / f(VaR_q)``.
    - ``ess = (Σ w)² / Σ w²`` (Kish); ``tail_paths[q]`` the same over the paths with
      ``L_i ≥ VaR_q`` (``N(1 − q) + 1`` paths for plain Monte Carlo without ties).

    References
    ----------
    .. [1] Glasserman, P. (2004). *Monte Carlo Methods in Financial Engineering*, §9
       (importance-sampling estimators of tail probabilities and quantiles). Springer.
    .. [2] Hall, P. and Sheather, S. J. (1988). On the distribution of a studentized quantile.
       *JRSS B* 50(3), 381–391.
    .. [3] Acerbi, C. and Tasche, D. (2002). On the coherence of expected shortfall. *Journal
       of Banking & Finance* 26(7), 1487–1503.

    Examples
    --------
    >>> rm = risk_measures(np.arange(1.0, 101.0), levels=(0.95,), min_tail_paths=0)
    >>> rm.var[0.95], rm.es[0.95], rm.tail_paths[0.95], rm.to_dict()["es"]
    (95.0, 98.0, 6.0, {'0.95': 98.0})
    """
    x, w = as_paths(loss, weights, name=name)
    q = np.unique(as_levels(np.atleast_1d(levels)).ravel())
    n = x.size
    wx = w * x
    expected = float(np.mean(wx))
    second = float(np.mean(w * (x - expected) ** 2))
    tail = tail_values(x, w, q)
    sparse = sparsity(tail.xs, tail.above, q)
    res: dict[str, dict[float, float]] = {k: {} for k in ("var", "es", "se_var", "se_es", "tail")}
    per_level = zip(q.tolist(), tail.var, tail.es, tail.excess, sparse.tolist(), strict=True)
    for qi, v, es, excess, s in per_level:
        res["var"][qi] = v
        res["es"][qi] = es
        res["se_es"][qi] = stderr_ratio(excess, w) / (1.0 - qi)
        res["se_var"][qi] = stderr_ratio(w * (x > v), w) * s
        res["tail"][qi] = kish(w[x >= v])
    warn_tail_resolution(res["tail"], n_paths=n, name=name, min_tail_paths=min_tail_paths)
    return RiskMeasures(
        expected=expected,
        std=math.sqrt(max(second, 0.0)),
        var=res["var"],
        es=res["es"],
        stderr_expected=stderr_ratio(wx, w),
        stderr_var=res["se_var"],
        stderr_es=res["se_es"],
        n_paths=n,
        ess=kish(w),
        tail_paths=res["tail"],
    )


def risk_measures_da(
    da: xr.DataArray,
    *,
    dim: str = "path",
    weights: xr.DataArray | None = None,
    levels: float | Sequence[float] | np.ndarray = DEFAULT_LEVELS,
    min_tail_paths: float = MIN_TAIL_PATHS,
) -> xr.Dataset:
    """Apply :func:`risk_measures` along a named dimension of a labelled loss array.

    Parameters
    ----------
    da : xarray.DataArray
        Losses with dimension ``dim``; other dimensions (``scenario``, ``segment`` …) are kept
        and looped over.
    dim : str, default "path"
        Dimension of the Monte Carlo paths.
    weights : xarray.DataArray, optional
        Likelihood-ratio weights with dimension ``dim``; broadcast against ``da``.
    levels : float or sequence of float, default (0.95, 0.99, 0.999)
        Levels in (0, 1).
    min_tail_paths : float, default `MIN_TAIL_PATHS`
        As in :func:`risk_measures` (one warning for all cells; 0 never warns).

    Returns
    -------
    xarray.Dataset
        Variables ``expected``, ``std``, ``stderr_expected``, ``ess`` (dims of ``da`` without
        ``dim``) and ``var``, ``es``, ``stderr_var``, ``stderr_es``, ``tail_paths`` (same plus
        ``level``), with a ``level`` coordinate and the ``n_paths`` attribute.

    Raises
    ------
    ValueError
        If ``dim`` is missing from ``da`` or ``weights``, ``weights`` has dimensions that
        ``da`` lacks, or any input fails the checks of :func:`risk_measures`.

    Examples
    --------
    >>> da = xr.DataArray(np.arange(2000.0).reshape(2, 1000), dims=("scenario", "path"))
    >>> risk_measures_da(da, levels=[0.95])["var"].values.tolist()
    [[949.0], [1949.0]]
    """
    if dim not in da.dims:
        raise ArgumentError(
            f"`dim` must be a dimension of the loss array; got {dim!r}, but its dims are "
            f"{tuple(da.dims)}. Pass dim= the name of the path dimension."
        )
    q = np.unique(as_levels(np.atleast_1d(levels)).ravel())
    other = [d for d in da.dims if d != dim]
    loss = da.transpose(*other, dim)
    w_values = None
    if weights is not None:
        extra = set(weights.dims) - set(da.dims)
        if dim not in weights.dims or extra:
            raise ArgumentError(
                f"`weights` must have dimension {dim!r} and no dimensions absent from the loss "
                f"array; got dims {tuple(weights.dims)}. Pass one weight per path."
            )
        w_values = weights.broadcast_like(loss).transpose(*other, dim).values
    shape = loss.shape[:-1]
    scalars = {k: np.empty(shape) for k in ("expected", "std", "stderr_expected", "ess")}
    per_level = {
        k: np.empty((*shape, q.size))
        for k in ("var", "es", "stderr_var", "stderr_es", "tail_paths")
    }
    values = loss.values
    for idx in np.ndindex(shape):
        rm = risk_measures(
            values[idx],
            weights=None if w_values is None else w_values[idx],
            levels=q,
            name=str(da.name or "loss"),
            min_tail_paths=0.0,
        )
        for name in scalars:
            scalars[name][idx] = getattr(rm, name)
        for name in per_level:
            per_level[name][idx] = list(getattr(rm, name).values())
    coords = {k: c for k, c in loss.coords.items() if dim not in c.dims}
    data_vars = {k: (other, v) for k, v in scalars.items()}
    data_vars |= {k: ([*other, "level"], v) for k, v in per_level.items()}
    ds = xr.Dataset(data_vars, coords={**coords, "level": q})
    ds.attrs["n_paths"] = int(da.sizes[dim])
    thinnest = per_level["tail_paths"].reshape(-1, q.size).min(axis=0)
    warn_tail_resolution(
        dict(zip(q.tolist(), thinnest.tolist(), strict=True)),
        n_paths=int(da.sizes[dim]),
        name=str(da.name or "loss"),
        min_tail_paths=min_tail_paths,
    )
    return ds
