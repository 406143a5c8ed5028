"""The variants' large-pool model: many variants of one scenario on common factor paths.

The conditional expected loss given the factor path, ``L̄(z)`` of `riskmodel.simulation.large_pool`
(the engine's ``approximation: large_pool`` with every cohort in the pool and a fixed LGD at its
(downturn) mean): idiosyncratic count noise and LGD noise are left out. The factor paths are the
engine's: block ``b`` draws its standard-normal innovations first from
`riskmodel.simulation.seeding.block_rng` and maps them through the run's `Sampling` (tilt,
mixture, shift or none) as the kernel does, so path ``i`` of every variant, and of an engine run
with the same seed entropy and sampling, sees the same factor path (common random numbers). The
error of the approximation is measured against the engine on those paired paths by its callers
(`riskmodel.sensitivity`).

With sector factors the common paths are the innovations ``ε`` (after the sampling's tilt or
shifts); each variant maps them through its own factor root ``L_p`` (the factor correlation is a
sensitivity factor) and segment ``s`` sees ``shift_{p,t,s} + (L_p ε_t)_{f(s)}`` with its own
correlation, as the engine does (`_sector_chunk`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from riskmodel.dynamics import conditional_pd_scaled, downturn_lgd
from riskmodel.errors import ArgumentError
from riskmodel.scenarios.load import Scenario
from riskmodel.simulation.plan import Sampling, plan_run
from riskmodel.simulation.qmc import sample_factor
from riskmodel.simulation.seeding import block_rng
from riskmodel.simulation.variant_stack import CHUNK, VariantStack, stack_variants

__all__ = ["LargePoolPaths", "factor_paths", "large_pool_batch"]


@dataclass(frozen=True)
class LargePoolPaths:
    """Per-path total loss of each variant under the large-pool model, with IS weights.

    ``loss`` has shape (P, paths); ``weight`` (P, paths) is each path's likelihood ratio (the
    same for every variant with as many parameter draws as the base).
    """

    loss: np.ndarray
    weight: np.ndarray


def factor_paths(
    sampling: Sampling,
    entropy: int,
    blocks: Sequence[tuple[int, int, int]],
    horizon: int,
    n_draws: int,
    factors: int = 1,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the engine's factor innovations, weights and parameter draws of the given blocks.

    Block ``b`` uses ``block_rng(entropy, b)`` through the kernel's own
    `riskmodel.simulation.qmc.sample_factor` (at a zero shift), so the paths are the engine's.
    QMC sampling is not supported (sensitivity designs use pseudo-random paths). With `factors`
    F > 1 (sector factors) the innovations ``ε`` are returned, after the sampling's tilt or
    shifts (at the identity root): a variant's factors are then ``shift + ε Lᵀ``.

    Returns
    -------
    y : ndarray, shape (paths, H), or (paths, H, F) with sector factors
        Factor minus the scenario shift (sector factors: the innovations ``ε``).
    weight : ndarray, shape (paths,)
    draw : ndarray of int, shape (paths,)
    """
    if sampling.qmc_replicates:
        raise ArgumentError("factor_paths draws pseudo-random paths; got a QMC sampling plan.")
    z_mean, z_prob, tilt = sampling.z_mean, sampling.z_prob, sampling.tilt
    zero = np.zeros(horizon) if factors == 1 else np.zeros((horizon, factors))
    root = None if factors == 1 else np.eye(factors)
    out = [
        sample_factor(
            zero,
            n_draws,
            block_rng(entropy, b),
            n,
            z_mean=z_mean,
            z_prob=z_prob,
            tilt=tilt,
            root=root,
        )
        for b, _, n in blocks
    ]
    parts = ([f.z for f in out], [f.weight for f in out], [f.draw for f in out])
    return np.concatenate(parts[0]), np.concatenate(parts[1]), np.concatenate(parts[2])


def _move(
    occ: np.ndarray, pdz: np.ndarray, moves: np.ndarray, tt: int, per_path: bool
) -> np.ndarray:
    """Survivors of a period move by their shares: occupancy (p, S, m, Kt) after the period."""
    shares = moves[:, :, tt]  # (p, m or 1, S, Kt, Kt)
    alive = occ * (1.0 - pdz)
    if per_path:
        moved: np.ndarray = np.einsum("psmi,pmsij->psmj", alive, shares)
        return moved
    out: np.ndarray = alive @ shares[:, 0]  # (p, S, m, Kt) @ (p, S, Kt, Kt)
    return out


def _large_pool_chunk(
    stack: VariantStack, rows: np.ndarray, y: np.ndarray, draw: np.ndarray, transient: np.ndarray
) -> np.ndarray:
    """Total large-pool loss of variants `rows` on paths `y` (m, H) with draws `draw`: (p, m).

    The exposure-weighted transient occupancy is kept as (p, S, m, Kt), so that a period's move
    is one batched matrix product per variant and segment.
    """
    n_d = stack.rho.shape[1]
    m = y.shape[0]
    per_path = n_d > 1  # with several draws each path has its own matrices
    pick = draw if per_path else np.zeros(1, dtype=np.intp)
    rho = stack.rho[rows][:, pick, 0]  # (p, m) or (p, 1): one factor, the same for all segments
    sqrt_rho = np.sqrt(rho)[:, None, :, None]
    inv = (1.0 / np.sqrt(1.0 - rho))[:, None, :, None]
    start = stack.start[rows, 1]  # (p, S, Kt)
    occ = np.repeat(start[:, :, None, :], m, axis=2)  # (p, S, m, Kt)
    total = np.zeros((len(rows), m))
    lgd = stack.lgd_mean[rows, None]
    sens = stack.lgd_sensitivity[rows, None]
    downturn = bool(np.any(sens > 0))
    probit = stack.probit_pd[rows][:, pick]  # (p, m or 1, T, S, Kt)
    moves = stack.shares[rows][:, pick][..., transient]  # (p, m or 1, T, S, Kt, Kt)
    for t in range(y.shape[1]):
        tt = t if probit.shape[2] > 1 else 0
        z = stack.shift[rows, t, 0, None] + y[None, :, t]  # (p, m)
        a = np.moveaxis(probit[:, :, tt], 1, 2)  # (p, S, m or 1, Kt)
        pdz = conditional_pd_scaled(a, sqrt_rho, inv, z[:, None, :, None])
        m_z = np.where(sens > 0, downturn_lgd(lgd, sens, z), lgd) if downturn else lgd  # type: ignore[arg-type]
        total += (occ * pdz).sum(axis=(1, 3)) * m_z * stack.ead_factor[rows, t, None]
        occ = _move(occ, pdz, moves, tt, per_path)
    return total


def _sector_chunk(
    stack: VariantStack,
    sectors: _Sectors,
    rows: np.ndarray,
    eps: np.ndarray,
    draw: np.ndarray,
    transient: np.ndarray,
) -> np.ndarray:
    """`_large_pool_chunk` with sector factors: innovations `eps` (m, H, F), per segment.

    Segment ``s`` of variant ``p`` sees ``shift_{p,t,s} + (L_p ε_t)_{f(s)}`` with its own
    correlation ``ρ_{p,s}``, as the engine's `riskmodel.simulation.factors.cohort_factor`.
    """
    n_d = stack.rho.shape[1]
    m = eps.shape[0]
    per_path = n_d > 1
    pick = draw if per_path else np.zeros(1, dtype=np.intp)
    rho = np.moveaxis(stack.rho[rows][:, pick], 1, 2)  # (p, S, m or 1)
    sqrt_rho = np.sqrt(rho)[..., None]
    inv = (1.0 / np.sqrt(1.0 - rho))[..., None]
    load = sectors.roots[rows][:, sectors.segment_factor]  # (p, S, F): row f(s) of L_p
    start = stack.start[rows, 1]  # (p, S, Kt)
    occ = np.repeat(start[:, :, None, :], m, axis=2)  # (p, S, m, Kt)
    total = np.zeros((len(rows), m))
    lgd = stack.lgd_mean[rows, None, None]
    sens = stack.lgd_sensitivity[rows, None, None]
    downturn = bool(np.any(sens > 0))
    probit = stack.probit_pd[rows][:, pick]  # (p, m or 1, T, S, Kt)
    moves = stack.shares[rows][:, pick][..., transient]  # (p, m or 1, T, S, Kt, Kt)
    for t in range(eps.shape[1]):
        tt = t if probit.shape[2] > 1 else 0
        z = stack.shift[rows, t, :, None] + np.einsum("psf,mf->psm", load, eps[:, t])
        a = np.moveaxis(probit[:, :, tt], 1, 2)  # (p, S, m or 1, Kt)
        pdz = conditional_pd_scaled(a, sqrt_rho, inv, z[..., None])
        m_z = np.where(sens > 0, downturn_lgd(lgd, sens, z), lgd) if downturn else lgd  # type: ignore[arg-type]
        total += ((occ * pdz).sum(axis=3) * m_z).sum(axis=1) * stack.ead_factor[rows, t, None]
        occ = _move(occ, pdz, moves, tt, per_path)
    return total


@dataclass(frozen=True)
class _Sectors:
    """The variants' sector factors: each one's root ``L_p`` (P, F, F), the segments' factor."""

    roots: np.ndarray
    segment_factor: np.ndarray

    @classmethod
    def of(cls, scenarios: Sequence[Scenario]) -> _Sectors | None:
        """Stack the variants' roots; None for one factor; refuse a mix or other loadings."""
        found = [sc.factors for sc in scenarios]
        if all(f is None for f in found):
            return None
        first = found[0]
        same = first is not None and all(
            f is not None
            and f.names == first.names
            and np.array_equal(f.segment_factor, first.segment_factor)
            for f in found
        )
        if not same or first is None:
            raise ArgumentError(
                "variants must share the base scenario's sector factors and the factor each "
                "segment loads on; vary correlations, not the structure."
            )
        roots = np.stack([f.root for f in found if f is not None])
        return cls(roots=roots, segment_factor=np.asarray(first.segment_factor, dtype=np.intp))


def large_pool_batch(
    scenarios: Sequence[Scenario],
    *,
    paths: int,
    entropy: int,
    sampling: Sampling,
    workers: int | None = None,
) -> LargePoolPaths:
    """Per-path total loss of many variants under the large-pool model, on common paths.

    Parameters
    ----------
    scenarios : sequence of Scenario
        Variants of one base scenario (see `exact_batch`).
    paths : int
        Paths per variant; the same seeded blocks as an engine run of `paths` paths.
    entropy : int
        Seed entropy (`riskmodel.simulation.seeding.seed_entropy`).
    sampling : Sampling
        The factor sampling shared by the variants (as for `simulate_variants`); not QMC.
    workers : int, optional
        Threads; default: the CPU count.

    Returns
    -------
    LargePoolPaths
        ``loss`` and ``weight`` of shape (P, paths).

    Examples
    --------
    >>> import riskmodel as rm
    >>> from riskmodel.simulation.plan import Sampling
    >>> sc = rm.load_scenario("scenarios/baseline.yaml")  # doctest: +SKIP
    >>> out = large_pool_batch([sc], paths=1024, entropy=7, sampling=Sampling())  # doctest: +SKIP
    >>> out.loss.shape  # doctest: +SKIP
    (1, 1024)
    """
    if not scenarios:
        return LargePoolPaths(np.zeros((0, paths)), np.zeros((0, paths)))
    sectors = _Sectors.of(scenarios)
    stack = stack_variants(scenarios)
    transient = scenarios[0].states.transient_idx
    n_p = stack.rho.shape[0]
    h = scenarios[0].horizon
    blocks = plan_run(paths, entropy, batch=paths).blocks
    own_draws = np.array([np.shape(sc.transitions)[0] for sc in scenarios])
    loss = np.empty((n_p, paths))
    weight = np.empty((n_p, paths))
    jobs = []
    for d in sorted(set(own_draws.tolist())):  # one set of paths per number of draws
        f = 1 if sectors is None else sectors.roots.shape[1]
        y, w, draw = factor_paths(sampling, entropy, blocks, h, d, f)
        rows = np.flatnonzero(own_draws == d)
        weight[rows] = w
        per = max(1, CHUNK // max(1, paths * stack.start.shape[2]))
        for lo in range(0, len(rows), per):
            jobs.append((rows[lo : lo + per], y, draw))

    def run(job: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
        rows, y, draw = job
        if sectors is None:
            loss[rows] = _large_pool_chunk(stack, rows, y, draw, transient)
        else:
            loss[rows] = _sector_chunk(stack, sectors, rows, y, draw, transient)

    n = workers or os.cpu_count() or 1
    if n <= 1 or len(jobs) == 1:
        for job in jobs:
            run(job)
    else:
        with ThreadPoolExecutor(max_workers=n) as pool:
            list(pool.map(run, jobs))
    return LargePoolPaths(loss=loss, weight=weight)
