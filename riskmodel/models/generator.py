"""Generators from transition matrices: the matrix logarithm and its regularisation.

Given a transition matrix ``P`` of one period length (say an agency's annual rating matrix), a
generator ``Q`` with ``expm(Q · period) = P`` lets the engine run at any other period length. The
principal matrix logarithm ``L = logm(P) / period`` is such a generator only if it is a valid one:
off-diagonals ≥ 0 and rows summing to zero. Often it is not (the *embedding problem*): a
published matrix with ``P[AAA, D] = 0`` while ``AAA → AA → … → D`` is possible cannot be the
``expm`` of any generator, since ``expm(Q t)[i, j] > 0`` whenever ``j`` is reachable from ``i``.

Regularisation, the quasi-optimisation of the generator (QOG) of Kreinin & Sidelnikova (2001):
replace each row of ``L`` by its Euclidean projection onto the generator rows
``{x : x_j ≥ 0 for j ≠ i, Σ_j x_j = 0}``. The projection is exact and closed-form: with
``c = x_i − L_ii``, the optimality conditions give ``x_j = max(L_ij + c, 0)`` off the diagonal
and ``c = −(L_ii + Σ_{j ∈ A} L_ij) / (1 + |A|)`` on the set ``A`` of positive entries, found by
solving the monotone piecewise-linear equation for ``c`` and then recomputing ``c`` exactly on its
active set. Absorbing rows (``P[i, i] = 1``) get a zero row. The distance of the result,
``‖expm(Q · period) − P‖`` (max-abs and Frobenius), is reported so a user sees what the
regularisation cost.

References
----------
Kreinin, A. and Sidelnikova, M. (2001). Regularization algorithms for transition matrices.
*Algo Research Quarterly* 4(1/2), 23–40.
Israel, R. B., Rosenthal, J. S. and Wei, J. Z. (2001). Finding generators for Markov chains via
empirical transition matrices, with applications to credit ratings. *Mathematical Finance* 11(2),
245–265.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg as sl

from riskmodel.errors import InputError

__all__ = ["GeneratorFit", "generator_from_matrix", "project_generator_row"]

_TOL = 1e-12


@dataclass(frozen=True)
class GeneratorFit:
    """The result of `generator_from_matrix`.

    Attributes
    ----------
    generator : (n, n) ndarray
        A valid generator (off-diagonals ≥ 0, rows sum to 0) per unit of time.
    regularised : bool
        False when the matrix logarithm was already a valid generator.
    distance_max, distance_frobenius : float
        ``max |expm(Q·period) − P|`` and its Frobenius norm (0 up to rounding when not
        regularised).
    negative_mass : float
        Sum of the negative off-diagonals of the matrix logarithm that were removed (per unit of
        time); 0 when not regularised.
    """

    generator: np.ndarray
    regularised: bool
    distance_max: float
    distance_frobenius: float
    negative_mass: float


def project_generator_row(row: np.ndarray, i: int) -> np.ndarray:
    """Euclidean projection of `row` onto ``{x : x_j ≥ 0 (j ≠ i), Σ x = 0}`` (closed form)."""
    import scipy.optimize as so  # only here: loading a scenario does not import it (~0.15 s)

    row = np.asarray(row, dtype=float)
    off = np.delete(row, i)

    def f(c: float) -> float:
        return c + row[i] + np.maximum(off + c, 0.0).sum()

    hi = max(1.0, abs(row).sum()) * 2  # f(hi) > 0 since f(c) >= c + row[i]
    lo = -hi  # f(lo) = lo + row[i] + Σ max(off + lo, 0) <= lo + Σ|row| < 0
    c = so.brentq(f, lo, hi, xtol=1e-15)
    active = off + c > 0
    c = -(row[i] + off[active].sum()) / (1 + active.sum())  # exact on the active set
    x = np.insert(np.where(active, off + c, 0.0), i, 0.0)
    x[i] = -x.sum()
    return x


def generator_from_matrix(P: np.ndarray, *, period: float = 1.0) -> GeneratorFit:
    """Return a valid generator for a transition matrix of one period length.

    Parameters
    ----------
    P : (n, n) array_like
        Row-stochastic transition matrix over `period` (absorbing states: rows of the identity).
    period : float, default 1.0
        Length of the period of `P` in the unit wanted for the generator (e.g. ``1.0`` for an
        annual matrix and intensities per year; then ``expm(Q / 12)`` is the monthly matrix).

    Returns
    -------
    GeneratorFit
        The generator and how far ``expm(Q · period)`` is from `P`.

    Raises
    ------
    InputError
        If `P` is not square, not row-stochastic (tolerance 1e-6), or has a real logarithm only
        with a singular or non-positive-determinant matrix (e.g. a row of zeros).

    Examples
    --------
    >>> import numpy as np
    >>> P = np.array([[0.9, 0.08, 0.02], [0.0, 0.9, 0.1], [0.0, 0.0, 1.0]])
    >>> fit = generator_from_matrix(P)
    >>> fit.regularised, round(fit.distance_max, 12)
    (False, 0.0)
    """
    P = np.asarray(P, dtype=float)
    if P.ndim != 2 or P.shape[0] != P.shape[1]:
        raise InputError(f"the transition matrix must be square; got shape {P.shape}.")
    if np.any(P < -1e-12) or not np.allclose(P.sum(axis=1), 1.0, atol=1e-6):
        raise InputError(
            "the transition matrix must have entries >= 0 and rows summing to 1; got row sums "
            f"{np.round(P.sum(axis=1), 6).tolist()}. Normalise the rows (e.g. move withdrawn "
            "ratings' mass) first."
        )
    if not (np.isfinite(period) and period > 0):
        raise InputError(f"period must be a positive number; got {period!r}.")
    if np.linalg.det(P) <= 0:
        raise InputError(
            "the transition matrix has a non-positive determinant, so it has no real matrix "
            "logarithm and no generator; the period is too long for a continuous-time model."
        )
    L = np.real(sl.logm(P)) / period
    n = P.shape[0]
    off = ~np.eye(n, dtype=bool)
    absorbing = np.isclose(np.diag(P), 1.0, atol=1e-12)
    negative = np.where(off & (L < 0) & ~absorbing[:, None], L, 0.0)
    regularised = bool(negative.sum() < -_TOL)
    Q = L.copy()
    for i in range(n):
        if absorbing[i]:
            Q[i] = 0.0
        elif regularised:
            Q[i] = project_generator_row(L[i], i)
        else:
            Q[i, off[i]] = np.maximum(L[i, off[i]], 0.0)
            Q[i, i] = -Q[i, off[i]].sum()
    err = sl.expm(Q * period) - P
    return GeneratorFit(
        generator=Q,
        regularised=regularised,
        distance_max=float(np.abs(err).max()),
        distance_frobenius=float(np.linalg.norm(err)),
        negative_mass=float(-negative.sum()),
    )
