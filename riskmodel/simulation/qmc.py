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

Factor paths of a block
-----------------------
`sample_factor` turns a block's innovations (Sobol' or pseudo-random) into its factor paths, their
likelihood-ratio weights and the paths' posterior draws, in one of four ways: plain Monte Carlo, one
importance-sampling mean shift, a defensive mixture of shifts, or the per-period tilt of
`riskmodel.simulation.importance.FactorTilt` (which samples itself). The kernel
(`riskmodel.simulation.kernel`) then evolves the cohorts given these paths.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy.special import ndtri

from riskmodel.simulation.factors import (
    mixture_innovations,
    sample_sector_factors,
    shift_weight,
)
from riskmodel.simulation.seeding import QMC_KEY

if TYPE_CHECKING:  # importance.py imports the kernel, which imports this module
    from riskmodel.simulation.importance import FactorTilt

__all__ = ["QMC_KEY", "FactorPaths", "householder", "sample_factor", "sobol_innovations"]


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
    factors: int = 1,
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
        Orthogonal matrix applied to the normal vectors (see `householder`); with `factors` > 1
        an (F, F) matrix applied to each period's F innovations.
    factors : int
        Number of sector factors F: the sequence has H·F coordinates, factor-major (the first H
        are coordinate 1 of every period, the one the tilt samples after the rotation).

    Returns
    -------
    array, shape (n, H), or (n, H, F) with `factors` > 1
    """
    if factors > 1:
        flat = sobol_innovations(
            entropy, block, n, horizon * factors, replicates=replicates, block_size=block_size
        )
        eps_f = np.swapaxes(flat.reshape(n, factors, horizon), 1, 2)  # (n, H, F)
        return eps_f if rotation is None else eps_f @ rotation.T
    r = block % replicates
    position = (block // replicates) * block_size
    from scipy.stats import qmc  # only QMC runs pay for importing scipy.stats (about 0.5 s)

    seq = np.random.SeedSequence(entropy, spawn_key=(QMC_KEY, r))
    sampler = qmc.Sobol(d=horizon, scramble=True, seed=np.random.default_rng(seq))
    if position:
        sampler.fast_forward(position)
    u = sampler.random(n) if n == block_size else sampler.random(block_size)[:n]
    eps: np.ndarray = ndtri(np.clip(u, _U_EPS, 1.0 - _U_EPS))
    if rotation is not None:
        eps = eps @ rotation.T
    return eps


@dataclass(frozen=True)
class FactorPaths:
    """The factor paths of a block of ``n`` paths, their weights and posterior draws."""

    z: np.ndarray  # (n, H) systematic factor of each path and period; (n, H, F) for F factors
    weight: np.ndarray  # (n,) likelihood ratio of the model against the sampling density
    draw: np.ndarray  # (n,) parameter draw of each path


def sample_factor(
    shift: np.ndarray,
    n_draws: int,
    rng: np.random.Generator,
    n: int,
    *,
    eps: np.ndarray | None = None,
    z_mean: np.ndarray | None = None,
    z_prob: np.ndarray | None = None,
    tilt: FactorTilt | None = None,
    root: np.ndarray | None = None,
) -> FactorPaths:
    """Sample the factor paths of a block: plain, a mean shift, a mixture of shifts or a tilt.

    Parameters
    ----------
    shift : array, shape (H,)
        The scenario's mean of the factor per period.
    n_draws : int
        Number of parameter draws D; each path draws one uniformly (the tilt draws its own).
    rng : numpy.random.Generator
        The block's generator; its first draws are the innovations (unless `eps` is given),
        then the mixture components or tilt uniforms, then the posterior draws.
    n : int
        Paths in the block.
    eps : array, shape (n, H), optional
        Standard-normal innovations (e.g. `sobol_innovations`); drawn from `rng` if None.
    z_mean : array, shape (H,) or (M, H), optional
        Importance-sampling mean shift added to `shift`, or the M means of a defensive mixture
        drawn with probabilities `z_prob`; the weight of a mixture path is
        ``1 / Σ_m π_m exp(μ_m·y − |μ_m|²/2)`` with ``y`` the factor minus `shift`.
    z_prob : array, shape (M,), optional
        Mixture probabilities (with a 2-d `z_mean`).
    tilt : FactorTilt, optional
        Per-period exponential tilt (`riskmodel.simulation.importance`); it maps `eps` to the
        tilted innovations and gives the weights and posterior draws. Excludes `z_mean`.
    root : array, shape (F, F), optional
        Sector factors (`riskmodel.simulation.factors.sample_sector_factors`): `shift` is then
        (H, F), `eps` (n, H, F) and the paths ``z`` (n, H, F); `tilt` samples along its
        direction, `z_mean` (H, F) or (M, H, F) shifts the innovations ``ε``.

    Returns
    -------
    FactorPaths

    Raises
    ------
    ValueError
        If `eps` has the wrong shape, or both `tilt` and `z_mean` are given.
    """
    if tilt is not None and z_mean is not None:
        raise ValueError("`tilt` and `z_mean` are two importance-sampling designs; pass one.")
    if root is not None:
        z, weight, draw = sample_sector_factors(
            shift, root, n_draws, rng, n, eps=eps, tilt=tilt, z_mean=z_mean, z_prob=z_prob
        )
        return FactorPaths(z=z, weight=weight, draw=draw)
    h = len(shift)
    if eps is None:
        eps = rng.standard_normal((n, h))
    elif eps.shape != (n, h):
        raise ValueError(f"`eps` must have shape ({n}, {h}); got {eps.shape}.")
    if tilt is not None:
        y, weight, draw = tilt.sample(eps, rng, n_draws)
        return FactorPaths(z=shift + y, weight=weight, draw=draw)
    if z_mean is not None and np.ndim(z_mean) == 2:
        z, weight = _mixture(shift, eps, rng, np.asarray(z_mean, dtype=float), z_prob)
    elif z_mean is not None:
        mu = np.asarray(z_mean, dtype=float)
        z = shift + mu + eps
        weight = shift_weight(eps, mu)  # of N(shift, 1) against N(shift + mu, 1), per path
    else:
        z = shift + eps
        weight = np.ones(n)
    draw = rng.integers(n_draws, size=n) if n_draws > 1 else np.zeros(n, dtype=np.intp)
    return FactorPaths(z=z, weight=weight, draw=draw)


def _mixture(
    shift: np.ndarray,
    eps: np.ndarray,
    rng: np.random.Generator,
    means: np.ndarray,
    z_prob: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Factor paths and weights of a defensive mixture: component m with probability π_m."""
    y, weight = mixture_innovations(eps, rng, means, np.asarray(z_prob, dtype=float))
    return shift + y, weight
