"""The numpy core of the self-normalised weighted estimators of `riskmodel.metrics`.

Per-path values ``x_i`` with likelihood-ratio weights ``w_i`` are validated once (`as_paths`)
and the weights rescaled to mean one, ``w̃ = N w / Σ w``: the paths then define one
probability distribution, and every estimator is a functional of it (see
`riskmodel.metrics.risk` for why, and for the definitions). `influence` gives the per-path
influence of a self-normalised mean, whose ``std(ddof=1)/√N`` is its delta-method standard
error (`stderr_ratio`); `kish` the effective number of a set of weights. Plain Monte Carlo
weights (all one) pass through every function unchanged, bit for bit. The public one-figure
estimators `expected_value`, `exceedance_probability` and `weighted_quantile` live here too
(`riskmodel.metrics.risk` re-exports them).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import ndtri

from riskmodel.errors import ArgumentError

__all__ = [
    "as_levels",
    "as_paths",
    "exceedance_probability",
    "expected_value",
    "influence",
    "kish",
    "sort_paths",
    "sorted_quantile",
    "sparsity",
    "stderr_of_mean",
    "stderr_ratio",
    "tail_values",
    "weighted_quantile",
]

# Tail weights within TIE_TOL * N of N(1 − q) count as equal, so that decimal levels such as
# 0.95 give the exact order statistic L_(⌈Nq⌉) despite float rounding of N(1 − q).
TIE_TOL = 1e-10
Z975 = float(ndtri(0.975))


def as_paths(
    values: ArrayLike, weights: ArrayLike | None, name: str = "values"
) -> tuple[np.ndarray, np.ndarray]:
    """Validate per-path values and weights; return floats and the weights rescaled to mean one.

    The rescaling ``w̃ = w · (N / Σ w)`` is the self-normalisation of the module docstring; for
    unit weights ``N / Σ w`` is exactly 1, so plain Monte Carlo weights pass through unchanged.
    """
    x = np.asarray(values, dtype=float)
    if x.ndim != 1:
        raise ArgumentError(
            f"`{name}` must be 1-D (one entry per path); got shape {x.shape}. "
            "Reduce other dimensions first, or use risk_measures_da(..., dim='path')."
        )
    if x.size == 0:
        raise ArgumentError(f"`{name}` must hold at least one path; got an empty array.")
    if not np.all(np.isfinite(x)):
        bad = np.flatnonzero(~np.isfinite(x))
        raise ArgumentError(
            f"`{name}` must be finite; got {bad.size} NaN/inf entries (first at index {bad[0]}: "
            f"{x[bad[0]]}). Drop or repair those paths."
        )
    if weights is None:
        return x, np.ones_like(x)
    w = np.asarray(weights, dtype=float)
    if w.shape != x.shape:
        raise ArgumentError(
            f"`weights` must have the same shape as `{name}` {x.shape}; got {w.shape}. "
            "Pass one likelihood-ratio weight per path."
        )
    if not np.all(np.isfinite(w)):
        raise ArgumentError(
            f"`weights` must be finite; got {int(np.sum(~np.isfinite(w)))} NaN/inf entries. "
            "Check the likelihood ratios of the importance sampler."
        )
    if np.any(w < 0):
        raise ArgumentError(
            f"`weights` must be >= 0; got minimum {w.min()}. Likelihood ratios are non-negative."
        )
    total = w.sum()
    if not total > 0:
        raise ArgumentError("`weights` must have a positive sum; got all zeros.")
    return x, w * (w.size / total)


def as_levels(levels: ArrayLike, name: str = "levels") -> np.ndarray:
    """Validate levels in (0, 1); keep the input shape."""
    kind = np.asarray(levels).dtype.kind
    if kind not in "fiu":  # strings ("0.99"), booleans, objects: not silently converted
        raise ArgumentError(
            f"`{name}` must be numbers in (0, 1), e.g. 0.99 for the 99% level; got "
            f"{str(levels)[:60]!r} ({type(levels).__name__})."
        )
    q = np.asarray(levels, dtype=float)
    ok = (q > 0) & (q < 1)  # False for NaN
    if not np.all(ok):
        bad = q[~ok].flat[0]
        raise ArgumentError(
            f"`{name}` must be in (0, 1); got {bad}. Pass e.g. 0.99 for the 99% level."
        )
    return q


def sort_paths(x: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sort once; return sorted values and the weight strictly above each sorted position."""
    order = np.argsort(x, kind="stable")
    from_top = np.cumsum(w[order][::-1])[::-1]  # summed from the top: accurate small tails
    return x[order], np.append(from_top[1:], 0.0)


def sorted_quantile(xs: np.ndarray, above: np.ndarray, q: np.ndarray) -> np.ndarray:
    """``Q(q) = min{L_i : G(L_i) ≤ 1 − q}`` for sorted values, vectorised over ``q``.

    ``above`` is non-increasing and ends with 0, so the first position with
    ``above ≤ N(1 − q)`` exists and is found by binary search. Within a run of ties every
    position satisfying the condition holds the same value, so ties need no special case.
    """
    n = xs.size
    threshold = n * (1.0 - q) + TIE_TOL * n
    return xs[np.searchsorted(-above, -threshold, side="left")]


class Tail(NamedTuple):
    """VaR and ES at each level, with the sort and per-path excesses their errors need."""

    xs: np.ndarray  # the sorted paths (`sort_paths`)
    above: np.ndarray  # the weight strictly above each sorted position
    var: list[float]  # per level, ascending
    es: list[float]
    excess: list[np.ndarray]  # per level: w̃ (L − VaR_q)^+, per path


def tail_values(x: np.ndarray, w: np.ndarray, q: np.ndarray) -> Tail:
    """VaR and ES at the ascending levels `q` of validated paths `x`, mean-one weights `w`.

    ``VaR_q = min{L_i : G(L_i) ≤ 1 − q}`` from one sort and ``ES_q = VaR_q + Σ w̃ (L − VaR_q)^+
    / (N (1 − q))`` (definitions: `riskmodel.metrics.risk.risk_measures`, which adds their
    standard errors; a bootstrap that only needs the figures calls this alone).
    """
    xs, above = sort_paths(x, w)
    var = sorted_quantile(xs, above, q).tolist()
    n = x.size
    es, excess = [], []
    for qi, v in zip(q.tolist(), var, strict=True):
        e = w * np.maximum(x - v, 0.0)
        es.append(v + float(e.sum()) / (n * (1.0 - qi)))
        excess.append(e)
    return Tail(xs, above, var, es, excess)


def sparsity(xs: np.ndarray, above: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Siddiqui–Bofinger estimate of ``s(q) = 1/f(Q(q))``: ``(Q(q + h) − Q(q − h)) / (2h)``.

    ``h`` is the Hall–Sheather bandwidth ``N^(−1/3) z_0.975^(2/3) a(q)^(1/3)``, capped at
    ``min(q, 1 − q) / 3`` so that the window stays inside the tail's own scale (quantiles of a
    tail move on the scale of ``1 − q``). A wider, one-sided window ``[q − h, q]`` underestimated
    ``s`` in a steep tail: importance-sampled 99.9% VaR intervals of 2,048 paths covered the
    Vasicek truth in 157 of 200 runs (z-scores with sd 1.68); with the cap, 192 (sd 0.99), and
    the value quantiles' intervals 189–196 of 200 at the 95%, 99% and 99.9% levels. For plain
    Monte Carlo the cap binds only where the tail has few paths (e.g. ``q = 0.95`` below about
    2,100 paths, ``q = 0.999`` below about 88,000).
    """
    n = xs.size
    zq = ndtri(q)
    a = 1.5 * (np.exp(-(zq**2) / 2.0) / np.sqrt(2 * np.pi)) ** 2 / (2 * zq**2 + 1)  # φ(zq)
    h = (Z975**2 * a / n) ** (1 / 3)  # = N^(-1/3) z^(2/3) a^(1/3)
    h = np.minimum(h, np.minimum(q, 1.0 - q) / 3)
    out: np.ndarray = (sorted_quantile(xs, above, q + h) - sorted_quantile(xs, above, q - h)) / (
        2 * h
    )
    return out


def stderr_of_mean(a: np.ndarray) -> float:
    """``std(a, ddof=1) / sqrt(N)``; NaN when ``N = 1`` (no variance estimate)."""
    if a.size < 2:
        return math.nan
    return float(np.sqrt(np.var(a, ddof=1) / a.size))


def influence(a: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Per-path influence ``a_i − mean(a) (w̃_i − 1)`` of the self-normalised mean ``mean(a)``.

    ``a = w̃ g`` with mean-one weights ``w̃``; ``std(ψ, ddof=1)/√N`` is the delta-method error of
    the ratio ``Σ w g / Σ w``. For ``w̃ = 1`` the correction is exactly zero and ``ψ = a``.
    """
    return a - float(np.mean(a)) * (w - 1.0)


def stderr_ratio(a: np.ndarray, w: np.ndarray) -> float:
    """Delta-method standard error of the self-normalised mean ``mean(a)``, ``a = w̃ g``."""
    return stderr_of_mean(influence(a, w))


def kish(w: np.ndarray) -> float:
    """Kish effective number ``(Σ w)² / Σ w²`` of a set of weights (0 for an empty set)."""
    square = float(np.sum(w**2))
    return float(w.sum()) ** 2 / square if square > 0 else 0.0


def expected_value(values: ArrayLike, *, weights: ArrayLike | None = None) -> tuple[float, float]:
    """Self-normalised Monte Carlo mean ``Σ w_i x_i / Σ w_i`` and its standard error.

    Parameters
    ----------
    values : array_like, shape (N,)
        Per-path values, finite.
    weights : array_like, shape (N,), optional
        Likelihood-ratio weights (finite, >= 0). Default: all ones (plain Monte Carlo).

    Returns
    -------
    estimate, stderr : float
        The estimate lies within ``[min x, max x]``. ``stderr`` is the delta-method error
        ``std(ψ, ddof=1) / sqrt(N)``, ``ψ_i = w̃_i x_i − estimate · (w̃_i − 1)`` with
        ``w̃ = N w / Σ w`` (``std(x, ddof=1) / sqrt(N)`` for plain Monte Carlo); NaN when
        ``N = 1``.

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
    x, w = as_paths(values, weights)
    wx = w * x
    return float(np.mean(wx)), stderr_ratio(wx, w)


def exceedance_probability(
    values: ArrayLike, threshold: float, *, weights: ArrayLike | None = None
) -> tuple[float, float]:
    """Estimate ``P(value > threshold) = G(threshold)`` with its standard error.

    ``G(t) = Σ w_i 1{x_i > t} / Σ w_i``, the self-normalised mean of ``1{x > t}``, with the
    delta-method standard error of :func:`expected_value` (for plain Monte Carlo
    ``std(1{x_i > t}, ddof=1) / sqrt(N)``; Glasserman 2004, §9.1). Parameters and errors are
    as in :func:`expected_value`.

    Examples
    --------
    >>> exceedance_probability([1.0, 2.0, 3.0, 4.0], 2.5)[0]
    0.5
    """
    x, w = as_paths(values, weights)
    if not np.isfinite(threshold):
        raise ArgumentError(f"`threshold` must be finite; got {threshold}.")
    hit = w * (x > threshold)
    return float(np.mean(hit)), stderr_ratio(hit, w)


def weighted_quantile(
    values: ArrayLike,
    q: float | ArrayLike,
    *,
    weights: ArrayLike | None = None,
) -> np.ndarray:
    """Weighted empirical quantile ``Q(q) = min{x_i : G(x_i) ≤ 1 − q}`` (the VaR definition).

    ``G(x) = Σ w_i 1{x_i > x} / Σ w_i`` (self-normalised: the lower levels are as right as
    the upper ones whatever ``Σ w`` is). With unit weights ``Q(q)`` is the order statistic
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
    x, w = as_paths(values, weights)
    levels = as_levels(q, name="q")
    return sorted_quantile(*sort_paths(x, w), levels)
