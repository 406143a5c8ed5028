"""Randomised quasi-Monte Carlo for the systematic factor path.

The factor innovations ``ε ∈ R^H`` of each path come from a scrambled Sobol' sequence
(`scipy.stats.qmc.Sobol`) instead of pseudo-random normals; every other draw (binomial counts,
LGD) stays pseudo-random from the block's generator.

Mapping dimensions to periods
-----------------------------
Sobol' points are best equidistributed in their first coordinates. The factor's periods are
independent, so there is no covariance to diagonalise; instead the points are rotated so that the
first coordinate runs along the direction that moves the loss most — the large-pool loss gradient
(`riskmodel.simulation.importance.design_point`). The rotation is the Householder reflection
``Q = I − 2 v vᵀ / vᵀv`` with ``v = e₁ − d`` that maps ``e₁`` to that unit direction ``d``;
``ε = Q Φ⁻¹(u)`` is still standard normal because ``Q`` is orthogonal.

Error estimate
--------------
QMC paths are not independent, so per-path standard errors do not apply. The run uses ``R``
independent scramblings (replicates): block ``b`` belongs to replicate ``b mod R`` and takes the
points ``[⌊b/R⌋ · B, (⌊b/R⌋ + 1) · B)`` of that replicate's sequence (``B`` the block size, a power
of two). A metric's standard error is the standard deviation of its ``R`` replicate estimates over
``√R``; the point estimate is the one over all paths. Choose ``paths`` as ``R`` times a power of two
times the block size for the best balance properties.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtri
from scipy.stats import qmc

from riskmodel.simulation.seeding import QMC_KEY

__all__ = ["QMC_KEY", "householder", "sobol_innovations"]


_U_EPS = 2.0**-53


def householder(direction: np.ndarray) -> np.ndarray:
    """Orthogonal symmetric ``Q`` with ``Q e₁ = direction / |direction|`` (identity if zero)."""
    d = np.asarray(direction, dtype=float)
    h = d.size
    norm = np.linalg.norm(d)
    if norm == 0 or not np.isfinite(norm):
        return np.eye(h)
    d = d / norm
    v = -d
    v[0] += 1.0
    vv = float(v @ v)
    if vv < 1e-24:  # direction is already e1
        return np.eye(h)
    return np.eye(h) - 2.0 * np.outer(v, v) / vv


def sobol_innovations(
    entropy: int,
    block: int,
    n: int,
    horizon: int,
    *,
    replicates: int,
    block_size: int,
    rotation: np.ndarray | None = None,
) -> np.ndarray:
    """Standard-normal factor innovations of one block from its replicate's scrambled sequence.

    Parameters
    ----------
    entropy : int
        The run's seed entropy; replicate ``r`` is scrambled by ``SeedSequence(entropy,
        spawn_key=(QMC_KEY, r))``.
    block : int
        Block index ``b``; it belongs to replicate ``b mod replicates``.
    n : int
        Paths in the block (≤ `block_size`).
    horizon : int
        Dimension of the factor path.
    replicates : int
        Number of independent scramblings ``R``.
    block_size : int
        Paths per full block.
    rotation : array, shape (H, H), optional
        Orthogonal matrix applied to the normal vectors (see `householder`).

    Returns
    -------
    array, shape (n, H)
    """
    r = block % replicates
    position = (block // replicates) * block_size
    seq = np.random.SeedSequence(entropy, spawn_key=(QMC_KEY, r))
    sampler = qmc.Sobol(d=horizon, scramble=True, seed=np.random.default_rng(seq))
    if position:
        sampler.fast_forward(position)
    u = sampler.random(n) if n == block_size else sampler.random(block_size)[:n]
    eps = ndtri(np.clip(u, _U_EPS, 1.0 - _U_EPS))
    if rotation is not None:
        eps = eps @ rotation.T
    return eps
