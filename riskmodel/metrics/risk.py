"""Risk measures of a simulated loss distribution, with Monte Carlo standard errors.

All estimators take optional per-path likelihood-ratio weights ``w_i`` (importance sampling,
``E[w] = 1`` under the sampling measure) and reduce to the textbook estimators for ``w = 1``.
The definitions and standard errors are documented in :func:`risk_measures`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import xarray as xr
from numpy.typing import ArrayLike
from scipy import stats

__all__ = [
    "DEFAULT_LEVELS",
    "RiskMeasures",
    "as_dataset",
    "exceedance_probability",
    "expected_value",
    "format_level",
    "risk_measures",
    "risk_measures_da",
    "weighted_quantile",
]


def as_dataset(data, argument: str = "data") -> xr.Dataset:
    """The xarray Dataset of a `SimulationResult` (or the Dataset itself).

    Raises
    ------
    TypeError
        Naming `argument`, for anything else.
    """
    ds = getattr(data, "data", data)
    if not isinstance(ds, xr.Dataset):
        raise TypeError(
            f"`{argument}` must be a SimulationResult or its xarray Dataset; "
            f"got {type(data).__name__}."
        )
    return ds


DEFAULT_LEVELS: tuple[float, ...] = (0.95, 0.99, 0.999)
# Tail weights within _TIE_TOL * N of N(1 − q) count as equal, so that decimal levels such as
# 0.95 give the exact order statistic L_(⌈Nq⌉) despite float rounding of N(1 − q).
_TIE_TOL = 1e-10
_Z975 = float(stats.norm.ppf(0.975))


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

    def to_dict(self) -> dict:
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
        }


def format_level(q: float) -> str:
    """Format a level as the shortest decimal string, without float noise.

    Examples
    --------
    >>> format_level(0.99), format_level(0.999), format_level(1 - 0.05)
    ('0.99', '0.999', '0.95')
    """
    return np.format_float_positional(float(f"{float(q):.12g}"), trim="-")


def _as_paths(
    values: ArrayLike, weights: ArrayLike | None, name: str = "values"
) -> tuple[np.ndarray, np.ndarray]:
    """Validate per-path values and weights; return float arrays (weights default to one)."""
    x = np.asarray(values, dtype=float)
    if x.ndim != 1:
        raise ValueError(
            f"`{name}` must be 1-D (one entry per path); got shape {x.shape}. "
            "Reduce other dimensions first, or use risk_measures_da(..., dim='path')."
        )
    if x.size == 0:
        raise ValueError(f"`{name}` must hold at least one path; got an empty array.")
    if not np.all(np.isfinite(x)):
        bad = np.flatnonzero(~np.isfinite(x))
        raise ValueError(
            f"`{name}` must be finite; got {bad.size} NaN/inf entries (first at index {bad[0]}: "
            f"{x[bad[0]]}). Drop or repair those paths."
        )
    if weights is None:
        return x, np.ones_like(x)
    w = np.asarray(weights, dtype=float)
    if w.shape != x.shape:
        raise ValueError(
            f"`weights` must have the same shape as `{name}` {x.shape}; got {w.shape}. "
            "Pass one likelihood-ratio weight per path."
        )
    if not np.all(np.isfinite(w)):
        raise ValueError(
            f"`weights` must be finite; got {int(np.sum(~np.isfinite(w)))} NaN/inf entries. "
            "Check the likelihood ratios of the importance sampler."
        )
    if np.any(w < 0):
        raise ValueError(
            f"`weights` must be >= 0; got minimum {w.min()}. Likelihood ratios are non-negative."
        )
    if not w.sum() > 0:
        raise ValueError("`weights` must have a positive sum; got all zeros.")
    return x, w


def _as_levels(levels: float | Sequence[float] | np.ndarray, name: str = "levels") -> np.ndarray:
    """Validate levels in (0, 1); keep the input shape."""
    q = np.asarray(levels, dtype=float)
    ok = (q > 0) & (q < 1)  # False for NaN
    if not np.all(ok):
        bad = q[~ok].flat[0]
        raise ValueError(
            f"`{name}` must be in (0, 1); got {bad}. Pass e.g. 0.99 for the 99% level."
        )
    return q


def _sort(x: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sort once; return sorted values and the weight strictly above each sorted position."""
    order = np.argsort(x, kind="stable")
    from_top = np.cumsum(w[order][::-1])[::-1]  # summed from the top: accurate small tails
    return x[order], np.append(from_top[1:], 0.0)


def _quantile(xs: np.ndarray, above: np.ndarray, q: np.ndarray) -> np.ndarray:
    """``Q(q) = min{L_i : G(L_i) ≤ 1 − q}`` for sorted values, vectorised over ``q``.

    ``above`` is non-increasing and ends with 0, so the first position with
    ``above ≤ N(1 − q)`` exists and is found by binary search. Within a run of ties every
    position satisfying the condition holds the same value, so ties need no special case.
    """
    n = xs.size
    threshold = n * (1.0 - q) + _TIE_TOL * n
    return xs[np.searchsorted(-above, -threshold, side="left")]


def _sparsity(xs: np.ndarray, above: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Siddiqui–Bofinger estimate of ``s(q) = 1/f(Q(q))`` with the Hall–Sheather bandwidth."""
    n = xs.size
    zq = stats.norm.ppf(q)
    a = 1.5 * stats.norm.pdf(zq) ** 2 / (2 * zq**2 + 1)
    h = (_Z975**2 * a / n) ** (1 / 3)  # = N^(-1/3) z^(2/3) a^(1/3)
    top = q + h >= 1  # one-sided from below; keep q − h away from 0
    q_hi = np.where(top, q, q + h)
    q_lo = np.where(top, np.maximum(q - h, q / 2), np.where(q - h > 0, q - h, q))
    return (_quantile(xs, above, q_hi) - _quantile(xs, above, q_lo)) / (q_hi - q_lo)


def _stderr_of_mean(a: np.ndarray) -> float:
    """``std(a, ddof=1) / sqrt(N)``; NaN when ``N = 1`` (no variance estimate)."""
    if a.size < 2:
        return math.nan
    return float(np.sqrt(np.var(a, ddof=1) / a.size))


def expected_value(values: ArrayLike, *, weights: ArrayLike | None = None) -> tuple[float, float]:
    """Weighted Monte Carlo mean ``(1/N) Σ w_i x_i`` and its standard error.

    Parameters
    ----------
    values : array_like, shape (N,)
        Per-path values, finite.
    weights : array_like, shape (N,), optional
        Likelihood-ratio weights (finite, >= 0). Default: all ones (plain Monte Carlo).

    Returns
    -------
    estimate, stderr : float
        ``stderr = std(w_i x_i, ddof=1) / sqrt(N)``; NaN when ``N = 1``.

    Raises
    ------
    ValueError
        If ``values`` is not 1-D, empty or non-finite, or ``weights`` is invalid.

    Examples
    --------
    >>> est, se = expected_value([1.0, 2.0, 3.0])
    >>> est, round(se, 4)
    (2.0, 0.5774)
    """
    x, w = _as_paths(values, weights)
    wx = w * x
    return float(np.mean(wx)), _stderr_of_mean(wx)


def exceedance_probability(
    values: ArrayLike, threshold: float, *, weights: ArrayLike | None = None
) -> tuple[float, float]:
    """Estimate ``P(value > threshold) = G(threshold)`` with its standard error.

    ``G(t) = (1/N) Σ w_i 1{x_i > t}``; ``stderr = std(w_i 1{x_i > t}, ddof=1) / sqrt(N)``
    (Glasserman 2004, §9.1). Parameters and errors are as in :func:`expected_value`.

    Examples
    --------
    >>> exceedance_probability([1.0, 2.0, 3.0, 4.0], 2.5)[0]
    0.5
    """
    x, w = _as_paths(values, weights)
    if not np.isfinite(threshold):
        raise ValueError(f"`threshold` must be finite; got {threshold}.")
    hit = w * (x > threshold)
    return float(np.mean(hit)), _stderr_of_mean(hit)


def weighted_quantile(
    values: ArrayLike,
    q: float | ArrayLike,
    *,
    weights: ArrayLike | None = None,
) -> np.ndarray:
    """Weighted empirical quantile ``Q(q) = min{x_i : G(x_i) ≤ 1 − q}`` (the VaR definition).

    ``G(x) = (1/N) Σ w_i 1{x_i > x}``. With unit weights ``Q(q)`` is the order statistic
    ``x_(⌈Nq⌉)``. One sort serves all levels (``O(N log N + K log N)``).

    Parameters
    ----------
    values : array_like, shape (N,)
        Per-path values, finite.
    q : float or array_like
        Level(s) in (0, 1), any shape.
    weights : array_like, shape (N,), optional
        Likelihood-ratio weights (finite, >= 0). Default: all ones.

    Returns
    -------
    numpy.ndarray
        Quantiles with the shape of ``q``; every entry is an element of ``values``.

    Raises
    ------
    ValueError
        For invalid ``values``/``weights`` or a level outside (0, 1).

    Examples
    --------
    >>> weighted_quantile(np.arange(1.0, 101.0), [0.5, 0.95])
    array([50., 95.])
    """
    x, w = _as_paths(values, weights)
    levels = _as_levels(q, name="q")
    return _quantile(*_sort(x, w), levels)


def risk_measures(
    loss: ArrayLike,
    *,
    weights: ArrayLike | None = None,
    levels: float | Sequence[float] = DEFAULT_LEVELS,
) -> RiskMeasures:
    """Expected loss, std, VaR and ES of simulated losses, with Monte Carlo standard errors.

    See Notes for the exact estimators; variances use ``ddof=1`` (NaN standard errors if N = 1).

    Parameters
    ----------
    loss : array_like, shape (N,)
        Per-path losses, finite (usually >= 0).
    weights : array_like, shape (N,), optional
        Likelihood-ratio weights, finite and >= 0, ``E[w] = 1`` under the sampling measure.
        Default: all ones.
    levels : float or sequence of float, default (0.95, 0.99, 0.999)
        Levels ``q`` in (0, 1); duplicates are dropped and the result is in ascending order.

    Returns
    -------
    RiskMeasures

    Raises
    ------
    ValueError
        If ``loss`` is not 1-D, empty or non-finite; if ``weights`` differ in length, are
        non-finite, negative or all zero; or if a level is outside (0, 1).

    Notes
    -----
    With ``N`` paths and weights ``w_i`` (all ones for plain Monte Carlo):

    - ``expected = (1/N) Σ w_i L_i``, ``stderr = std(w_i L_i, ddof=1) / sqrt(N)``.
    - ``std = sqrt(max((1/N) Σ w_i L_i² − expected², 0))`` (evaluated in the equivalent
      centred form ``(1/N) Σ w_i (L_i − EL)² + EL² (1 − (1/N) Σ w_i)`` to avoid cancellation).
    - ``VaR_q = min{L_i : G(L_i) ≤ 1 − q}`` with ``G(x) = (1/N) Σ w_i 1{L_i > x}``;
      for unit weights the order statistic ``L_(⌈Nq⌉)``. All levels come from one sort.
    - ``ES_q = VaR_q + (1/(N(1 − q))) Σ w_i (L_i − VaR_q)^+`` (Acerbi–Tasche /
      Rockafellar–Uryasev form: handles atoms, equals the mean of the worst ``N(1 − q)``
      losses when ``Nq`` is an integer and weights are one).
    - ``stderr_es = sqrt(Var_i[w_i (L_i − VaR_q)^+] / N) / (1 − q)``. ``ES_q`` is the minimum
      over ``v`` of ``v + E[w (L − v)^+] / (1 − q)``, attained at ``v = VaR_q``, so the error in
      the estimated VaR drops out to first order (envelope argument; Glasserman 2004, §9.1).
    - ``stderr_var = sqrt(Var_i[w_i 1{L_i > VaR_q}] / N) · s(q)`` (Glasserman 2004, §9.1),
      with the sparsity ``s(q) = 1/f(VaR_q)`` estimated by the Siddiqui–Bofinger quotient
      ``(Q(q + h) − Q(q − h)) / (2h)`` on the weighted quantile function ``Q`` and the
      Hall & Sheather (1988) bandwidth
      ``h = N^(−1/3) z_0.975^(2/3) [1.5 φ(Φ⁻¹(q))² / (2 Φ⁻¹(q)² + 1)]^(1/3)``.
      If ``q + h ≥ 1`` the one-sided quotient ``(Q(q) − Q(q − h)) / h`` is used (with
      ``q − h`` floored at ``q/2``); if ``q − h ≤ 0``, ``(Q(q + h) − Q(q)) / h``. For plain
      Monte Carlo this is the classic ``sqrt(q(1 − q)/N) / f(VaR_q)``.
    - ``ess = (Σ w)² / Σ w²`` (Kish).

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
    >>> rm = risk_measures(np.arange(1.0, 101.0), levels=(0.95,))
    >>> rm.var[0.95], rm.es[0.95], rm.to_dict()["es"]
    (95.0, 98.0, {'0.95': 98.0})
    """
    x, w = _as_paths(loss, weights, name="loss")
    q = np.unique(_as_levels(np.atleast_1d(levels)).ravel())
    n = x.size
    wx = w * x
    expected = float(np.mean(wx))
    second = float(np.mean(w * (x - expected) ** 2)) + expected**2 * (1.0 - float(np.mean(w)))
    xs, above = _sort(x, w)
    var = _quantile(xs, above, q)
    sparsity = _sparsity(xs, above, q)
    res: dict[str, dict[float, float]] = {k: {} for k in ("var", "es", "se_var", "se_es")}
    for qi, v, s in zip(q.tolist(), var.tolist(), sparsity.tolist(), strict=True):
        excess = w * np.maximum(x - v, 0.0)
        res["var"][qi] = v
        res["es"][qi] = v + float(excess.sum()) / (n * (1.0 - qi))
        res["se_es"][qi] = _stderr_of_mean(excess) / (1.0 - qi)
        res["se_var"][qi] = _stderr_of_mean(w * (x > v)) * s
    return RiskMeasures(
        expected=expected,
        std=math.sqrt(max(second, 0.0)),
        var=res["var"],
        es=res["es"],
        stderr_expected=_stderr_of_mean(wx),
        stderr_var=res["se_var"],
        stderr_es=res["se_es"],
        n_paths=n,
        ess=float(w.sum() ** 2 / np.sum(w**2)),
    )


def risk_measures_da(
    da: xr.DataArray,
    *,
    dim: str = "path",
    weights: xr.DataArray | None = None,
    levels: float | Sequence[float] = DEFAULT_LEVELS,
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

    Returns
    -------
    xarray.Dataset
        Variables ``expected``, ``std``, ``stderr_expected``, ``ess`` (dims of ``da`` without
        ``dim``) and ``var``, ``es``, ``stderr_var``, ``stderr_es`` (same plus ``level``), with
        a ``level`` coordinate and the ``n_paths`` attribute.

    Raises
    ------
    ValueError
        If ``dim`` is missing from ``da`` or ``weights``, ``weights`` has dimensions that
        ``da`` lacks, or any input fails the checks of :func:`risk_measures`.

    Examples
    --------
    >>> da = xr.DataArray(np.arange(200.0).reshape(2, 100), dims=("scenario", "path"))
    >>> risk_measures_da(da, levels=[0.95])["var"].values.tolist()
    [[94.0], [194.0]]
    """
    if dim not in da.dims:
        raise ValueError(
            f"`dim` must be a dimension of the loss array; got {dim!r}, but its dims are "
            f"{tuple(da.dims)}. Pass dim= the name of the path dimension."
        )
    q = np.unique(_as_levels(np.atleast_1d(levels)).ravel())
    other = [d for d in da.dims if d != dim]
    loss = da.transpose(*other, dim)
    w_values = None
    if weights is not None:
        extra = set(weights.dims) - set(da.dims)
        if dim not in weights.dims or extra:
            raise ValueError(
                f"`weights` must have dimension {dim!r} and no dimensions absent from the loss "
                f"array; got dims {tuple(weights.dims)}. Pass one weight per path."
            )
        w_values = weights.broadcast_like(loss).transpose(*other, dim).values
    shape = loss.shape[:-1]
    scalars = {k: np.empty(shape) for k in ("expected", "std", "stderr_expected", "ess")}
    per_level = {k: np.empty((*shape, q.size)) for k in ("var", "es", "stderr_var", "stderr_es")}
    values = loss.values
    for idx in np.ndindex(shape):
        rm = risk_measures(
            values[idx], weights=None if w_values is None else w_values[idx], levels=q
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
    return ds
