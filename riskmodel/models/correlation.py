"""Correlation matrices of systematic factors: the LKJ prior and the nearest correlation matrix.

**LKJ through canonical partial correlations.** A correlation matrix ``R`` (F × F) has the
Cholesky factor ``L`` (``L Lᵀ = R``, rows of unit length) with

    L[i, 0] = c[i, 0],   L[i, j] = c[i, j] √(1 − Σ_{k<j} L[i, k]²),
    L[i, i] = √(1 − Σ_{k<i} L[i, k]²)

for ``j < i``, where ``c[i, j] ∈ (−1, 1)`` is the partial correlation of factors ``i`` and ``j``
given factors ``0 … j−1`` (a canonical partial correlation, CPC). Under the LKJ(η) density
``p(R) ∝ det(R)^(η−1)`` the CPCs are independent, ``c[i, j] ~ Beta(β_j, β_j)`` rescaled to
(−1, 1) with ``β_j = η + (F − 2 − j) / 2`` (Lewandowski, Kurowicka & Joe 2009, the C-vine
method, section 2.4). Sampling the CPCs with those Beta priors is therefore the LKJ prior
exactly; every point of the unconstrained space gives a valid ``R`` (unlike an interval
transform of the correlations themselves, which leaves positive definiteness to chance for
F ≥ 3), and each marginal correlation is ``Beta(η − 1 + F/2, η − 1 + F/2)`` on (−1, 1).

**Nearest correlation matrix.** `nearest_correlation` is Higham's (2002) alternating
projections with Dykstra's correction in the Frobenius norm, then a congruence ``D^{-1/2} X
D^{-1/2}`` that restores the unit diagonal exactly while keeping the eigenvalues non-negative.

References
----------
Lewandowski, D., Kurowicka, D. and Joe, H. (2009). Generating random correlation matrices based
on vines and extended onion method. *Journal of Multivariate Analysis* 100(9), 1989–2001.
Higham, N. J. (2002). Computing the nearest correlation matrix — a problem from finance. *IMA
Journal of Numerical Analysis* 22(3), 329–343.

Numpy only at import time; `cholesky_from_cpc` also builds PyTensor graphs when handed
PyTensor variables and ``xp=pytensor.tensor``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["cholesky_from_cpc", "cpc_pairs", "lkj_cpc_shapes", "nearest_correlation"]


def cpc_pairs(n: int) -> list[tuple[int, int]]:
    """List the ``(i, j)``, ``j < i``, of the CPCs of an ``n × n`` matrix, row by row.

    Examples
    --------
    >>> cpc_pairs(3)
    [(1, 0), (2, 0), (2, 1)]
    """
    return [(i, j) for i in range(1, n) for j in range(i)]


def lkj_cpc_shapes(n: int, eta: float) -> NDArray[np.float64]:
    """Beta shape ``β_j = η + (n − 2 − j) / 2`` of each CPC (`cpc_pairs` order) under LKJ(η).

    Examples
    --------
    >>> lkj_cpc_shapes(3, 2.0).tolist()
    [2.5, 2.5, 2.0]
    """
    if not eta > 0:
        raise ValueError(f"the LKJ shape eta must be > 0; got {eta}.")
    return np.array([eta + (n - 2 - j) / 2.0 for _, j in cpc_pairs(n)], dtype=float)


def cholesky_from_cpc(cpc: Any, n: int, xp: Any = np) -> Any:
    """Cholesky factor ``L`` (n × n, lower) of the correlation matrix with CPCs `cpc`.

    Parameters
    ----------
    cpc : array_like, shape (n (n − 1) / 2,)
        CPCs in (−1, 1), in `cpc_pairs` order.
    n : int
        Size of the matrix.
    xp : module
        ``numpy`` (default) or ``pytensor.tensor`` (for a model graph); it needs ``stack``,
        ``sqrt`` and ``zeros``.

    Returns
    -------
    array
        ``L`` with ``L Lᵀ`` a correlation matrix.

    Examples
    --------
    >>> L = cholesky_from_cpc(np.array([0.5]), 2)
    >>> (L @ L.T).round(12).tolist()
    [[1.0, 0.5], [0.5, 1.0]]
    """
    index = {pair: k for k, pair in enumerate(cpc_pairs(n))}
    zero = xp.zeros(())
    rows = []
    for i in range(n):
        row: list[Any] = []
        used = zero  # Σ_{k<j} L[i, k]²
        for j in range(i):
            value = cpc[index[(i, j)]] * xp.sqrt(1.0 - used)
            row.append(value)
            used = used + value**2
        row.append(xp.sqrt(1.0 - used) if i else zero + 1.0)
        row.extend([zero] * (n - i - 1))
        rows.append(xp.stack(row))
    return xp.stack(rows)


def _psd_part(a: NDArray[np.float64]) -> NDArray[np.float64]:
    w, v = np.linalg.eigh((a + a.T) / 2.0)
    out: NDArray[np.float64] = (v * np.maximum(w, 0.0)) @ v.T
    return out


def nearest_correlation(
    matrix: ArrayLike, *, tol: float = 1e-10, max_iter: int = 500
) -> NDArray[np.float64]:
    """Return the nearest correlation matrix (Frobenius norm) to a symmetric matrix.

    A matrix that already is a correlation matrix (symmetric, unit diagonal, eigenvalues
    ≥ 0) is returned as it is (symmetrised).

    Parameters
    ----------
    matrix : array_like, shape (n, n)
        A symmetric matrix with ones on its diagonal, e.g. a mean or an estimate that has lost
        positive semi-definiteness to rounding.
    tol : float
        Stop when an iteration moves the matrix by less than this (Frobenius norm).
    max_iter : int
        Most iterations.

    Returns
    -------
    ndarray, shape (n, n)
        Symmetric, unit diagonal, smallest eigenvalue ≥ 0 (up to rounding, ~1e-15).

    Raises
    ------
    ValueError
        If `matrix` is not square or not finite.

    Examples
    --------
    >>> c = nearest_correlation([[1.0, 0.9, 0.9], [0.9, 1.0, -0.9], [0.9, -0.9, 1.0]])
    >>> bool(np.linalg.eigvalsh(c)[0] > -1e-12), np.diag(c).tolist()
    (True, [1.0, 1.0, 1.0])
    """
    a: NDArray[np.float64] = np.array(matrix, dtype=float)
    if a.ndim != 2 or a.shape[0] != a.shape[1] or not np.isfinite(a).all():
        raise ValueError(f"matrix must be a finite square matrix; got shape {a.shape}.")
    a = (a + a.T) / 2.0
    if np.allclose(np.diag(a), 1.0, rtol=0.0, atol=1e-12) and np.linalg.eigvalsh(a)[0] >= 0:
        return a
    y, correction = a.copy(), np.zeros_like(a)
    for _ in range(max_iter):
        r = y - correction
        x = _psd_part(r)
        correction = x - r
        y_new = x.copy()
        np.fill_diagonal(y_new, 1.0)
        done = np.linalg.norm(y_new - y) < tol
        y = y_new
        if done:
            break
    x = _psd_part(y)
    d = 1.0 / np.sqrt(np.diag(x))
    out: NDArray[np.float64] = x * d[:, None] * d[None, :]
    np.fill_diagonal(out, 1.0)
    return (out + out.T) / 2.0
