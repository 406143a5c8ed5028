"""The column-wise part of the Euler contributions, over chunks of columns (issue 15).

Given what every component shares — the self-normalised weights ``w``, the total ``L`` and,
per level, the kernel weights ``k_i``, the ES tail weights ``a_i`` and the paths at VaR
(:class:`LevelWeights`) — each contribution of
`riskmodel.metrics.contributions.euler_contributions` and its standard error is a function of
its own column ``X_s`` alone, with two exceptions: the kernel VaR contributions are rescaled
by ``v / Σ_s c_s`` and their slope has the term ``(c_s / C) Σ_s c_s'``, which couple the
columns through the sums ``C = Σ_s c_s`` and ``Σ_s c_s'``; and the ES errors use the
rescaled ``VaR_s``. So :func:`euler_columns` passes over the columns in chunks twice: the
first pass gives EL, ES and the kernel's ``c_s``, ``se_c,s`` and ``c_s'`` of each chunk; the
sums over all columns then give the VaR contributions and their errors
(:func:`var_contribution`); the second pass gives the ES errors.

Each temporary is then (paths × chunk) instead of (paths × S): with 1,000 paths and 10⁵
cohorts one (paths × S) float64 array is 0.8 GB and the estimators held several at once (the
summary of such a run peaked at 4.05 GiB; ``benchmarks/cohorts.py --summary``). A matrix of at
most `WHOLE_BYTES` (64 MiB: every bundled scenario) is one chunk, computed by the same
operations on the whole matrix as before the chunking (the same numbers, bit for bit); a
larger one is split into chunks of at most `CHUNK_BYTES` (2 MiB) per temporary, which changes
the results by rounding only (a few units in the last place of the largest entry).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = [
    "CHUNK_BYTES",
    "WHOLE_BYTES",
    "LevelWeights",
    "column_chunks",
    "euler_columns",
    "level_weights",
    "se_of_mean",
]

WHOLE_BYTES = 64 * 2**20  # a (paths × columns) float64 matrix up to this size is one chunk
CHUNK_BYTES = 2 * 2**20  # else chunks of (paths × chunk) float64 temporaries up to this size


def column_chunks(n_paths: int, n_columns: int) -> list[slice]:
    """Consecutive column slices covering the `n_columns` columns of `n_paths` rows.

    One slice if the matrix has at most `WHOLE_BYTES` of float64 values, else slices of at
    most `CHUNK_BYTES` (and at least one column). Chunks that fit in the processor's cache
    are faster: at 1,000 paths × 40,000 columns, 2 MiB chunks took 1.4-2.1 s CPU, 8 MiB and
    64 MiB ones 2.9-7.2 s (numpy 2.4 with OpenBLAS, on the shared 2-core machine).
    """
    if 8 * n_paths * n_columns <= WHOLE_BYTES:
        return [slice(0, n_columns)]
    width = max(1, CHUNK_BYTES // (8 * n_paths))
    return [slice(i, min(i + width, n_columns)) for i in range(0, n_columns, width)]


@dataclass(frozen=True)
class LevelWeights:
    """The per-path weights of one level ``q``, shared by every column.

    ``var`` is the total's VaR ``v`` and ``se_var`` its standard error; ``kern`` the kernel
    weights ``k_i`` (``kern2`` their squares, ``k_sum`` their sum); ``drift`` the weights
    ``k_i (L_i − v) / (h Σ k)`` of the slope ``c_s'`` (None when ``h = 0``); ``tail`` is
    ``w_i 1{L_i > v}``, ``a`` the ES tail weights and ``beta`` the ES atom at VaR.
    """

    q: float
    var: float
    se_var: float
    bandwidth: float
    kern: np.ndarray
    kern2: np.ndarray
    k_sum: float
    drift: np.ndarray | None
    tail: np.ndarray
    a: np.ndarray
    beta: float

    @property
    def kernel_ess(self) -> float:
        """The effective number of paths in the VaR window, ``(Σ k)² / Σ k²``."""
        return float(self.k_sum**2 / np.sum(self.kern2))


def level_weights(
    q: float, v: float, se_v: float, h: float, w: np.ndarray, total: np.ndarray
) -> LevelWeights:
    """Return the :class:`LevelWeights` at level `q`, VaR `v` (error `se_v`), bandwidth `h`."""
    n = total.size
    with np.errstate(over="ignore"):  # far paths: u is capped, their weight is 0
        u = np.minimum(np.abs(total - v) / h, 40.0) if h > 0 else np.full(n, 40.0)
    kern = w * np.exp(-0.5 * u**2)
    if not kern.sum() > 0:  # h = 0: every positive-weight total equals v (a weighted quantile)
        kern = np.where(total == v, w, 0.0)  # zero-weight paths at v have no say either
    k_sum = kern.sum()
    drift = None  # c_s' = Σ k_i (L_i − v)(X_is − c_s) / (h² Σ k); 0 when h = 0
    if h > 0:
        with np.errstate(over="ignore"):  # far paths have kernel weight 0
            t = np.clip((total - v) / h, -40.0, 40.0)
        drift = (kern / k_sum) * t
    a = w * (total > v) / (n * (1.0 - q))
    return LevelWeights(
        q, v, se_v, h, kern, kern**2, k_sum, drift, w * (total > v), a, 1.0 - a.sum()
    )


def se_of_mean(a: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Column-wise delta-method error of the self-normalised means ``mean(a)``, ``a = w̃ g``.

    ``std(ψ, ddof=1) / sqrt(N)`` with the influence ``ψ = a − mean(a) (w̃ − 1)``; for unit
    weights ``ψ = a``. NaN when N = 1.
    """
    n = a.shape[0]
    if n < 2:
        return np.full(a.shape[1:], math.nan)
    psi = a - a.mean(axis=0) * (w - 1.0)[:, None]
    se: np.ndarray = np.sqrt(np.var(psi, axis=0, ddof=1) / n)
    return se


def at_var(x: np.ndarray, w: np.ndarray, total: np.ndarray, v: float) -> np.ndarray:
    """Composition of the paths whose total equals VaR (weighted mean; sums to ``v``)."""
    at = total == v
    ww = w[at] if w[at].sum() > 0 else np.ones(int(at.sum()))
    mean: np.ndarray = (ww[:, None] * x[at]).sum(axis=0) / ww.sum()
    return mean


def var_contribution(
    c: np.ndarray, se_c: np.ndarray, dc: np.ndarray, lev: LevelWeights
) -> tuple[np.ndarray, np.ndarray, float]:
    """Kernel VaR contributions of all columns and their errors, from their ``c, se_c, c'``.

    Returns ``(VaR_s, stderr_s, Σ_s c_s)``. The error adds the VaR's own error carried
    through the slope ``f_s'(v)`` of the rescaled kernel estimate to the conditional
    (ratio-estimator) error at fixed ``v``.
    """
    c_tot = float(c.sum())
    if c_tot == 0:
        return c * 0.0, se_c * 0.0, c_tot
    scale, share = lev.var / c_tot, c / c_tot
    slope = share + scale * (dc - share * dc.sum())  # d VaR_s / dv; Σ_s slope_s = 1
    se = np.sqrt((slope * lev.se_var) ** 2 + (se_c * scale) ** 2)
    return c * scale, se, c_tot


def _first_pass(
    x: np.ndarray,
    w: np.ndarray,
    total: np.ndarray,
    levels: list[LevelWeights],
    out: dict[str, np.ndarray],
) -> None:
    """EL, ES and the kernel's ``c_s``, ``se_c,s`` and ``c_s'`` of the columns of `x`."""
    wx = w[:, None] * x
    out["expected"][:] = wx.mean(axis=0)
    out["stderr_expected"][:] = se_of_mean(wx, w)
    del wx
    for k, lev in enumerate(levels):
        c = lev.kern @ x / lev.k_sum
        out["c"][k] = c
        dev = x - c
        if lev.drift is not None:
            out["dc"][k] = lev.drift @ dev / lev.bandwidth
        dev **= 2
        out["se_c"][k] = np.sqrt(lev.kern2 @ dev) / lev.k_sum
        del dev
        out["es"][k] = lev.a @ x + lev.beta * at_var(x, w, total, lev.var)


def euler_columns(
    x: np.ndarray, w: np.ndarray, total: np.ndarray, levels: list[LevelWeights]
) -> dict[str, np.ndarray]:
    """EL, VaR and ES contributions of each column of `x` and their errors, chunk by chunk.

    Returns ``expected``, ``stderr_expected`` (S,) and ``var``, ``stderr_var``, ``es``,
    ``stderr_es``, ``kernel_total`` (K,) as documented in
    `riskmodel.metrics.contributions.euler_contributions`.
    """
    k, s = len(levels), x.shape[1]
    out = {name: np.empty(s) for name in ("expected", "stderr_expected")}
    for name in ("c", "se_c", "es", "var", "stderr_var", "stderr_es"):
        out[name] = np.empty((k, s))
    out["dc"] = np.zeros((k, s))
    chunks = column_chunks(*x.shape)
    for cols in chunks:
        _first_pass(x[:, cols], w, total, levels, {n: a[..., cols] for n, a in out.items()})
    kernel_total = np.empty(k)
    for j, lev in enumerate(levels):
        out["var"][j], out["stderr_var"][j], kernel_total[j] = var_contribution(
            out["c"][j], out["se_c"][j], out["dc"][j], lev
        )
    for cols in chunks:
        for j, lev in enumerate(levels):
            tail = x[:, cols] - out["var"][j, cols]
            tail *= lev.tail[:, None]
            out["stderr_es"][j, cols] = se_of_mean(tail, w) / (1.0 - lev.q)
    del out["c"], out["se_c"], out["dc"]
    return {**out, "kernel_total": kernel_total}
