"""Plan a run: seeded blocks, tasks of whole blocks, and how the factor path is sampled.

Reproducibility contract
------------------------
Paths are cut into fixed blocks of `BLOCK_SIZE` paths. Block ``i`` draws all its random numbers
from `riskmodel.simulation.seeding.block_rng` (``SeedSequence(entropy, spawn_key=(i,))``),
derived statelessly from the run's seed entropy and its index. A *batch*
(``simulation.batch``) is only a unit of work: a task of whole blocks sent to a thread or a Dask
worker. So the same seed and the same number of paths give bit-identical results whatever the
batch size, the number of workers or the backend.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from riskmodel.errors import ArgumentError
from riskmodel.scenarios.load import Scenario
from riskmodel.simulation.importance import (
    FactorTilt,
    design_point,
    factor_tilt,
    tail_mixture,
    tail_shift,
)
from riskmodel.simulation.kernel import KernelInputs
from riskmodel.simulation.qmc import householder
from riskmodel.simulation.tilt import factor_direction

__all__ = [
    "BLOCK_SIZE",
    "REPRODUCIBILITY_VERSION",
    "RunPlan",
    "Sampling",
    "plan_run",
    "plan_sampling",
]

BLOCK_SIZE = 1024
"""Paths per seeded block. Part of the reproducibility contract: changing it changes numbers."""

REPRODUCIBILITY_VERSION = 2
"""Version of the random stream's rules, recorded in results (attribute reproducibility_version).

The same seed gives the same numbers within a version. 1: the first releases. 2 (December
2026): binomials with ``p = 1`` are not drawn (their outcome is certain; numpy consumed a
uniform for them), and coinciding exact cohorts are simulated as one
(`riskmodel.simulation.merged`). Books with neither, such as every bundled scenario, give the
same numbers under both.
"""


@dataclass(frozen=True)
class RunPlan:
    """How a run is cut into blocks (seeding units) and tasks (work units)."""

    paths: int
    entropy: int
    blocks: tuple[tuple[int, int, int], ...]  # (block index, first path, n paths)
    tasks: tuple[tuple[int, ...], ...]  # block indices per task


def plan_run(paths: int, entropy: int, batch: int) -> RunPlan:
    """Cut `paths` into seeded blocks and group whole blocks into tasks of about `batch` paths."""
    n_blocks = -(-paths // BLOCK_SIZE)
    blocks = tuple(
        (b, b * BLOCK_SIZE, min(BLOCK_SIZE, paths - b * BLOCK_SIZE)) for b in range(n_blocks)
    )
    per_task = max(1, round(batch / BLOCK_SIZE))
    tasks = tuple(
        tuple(range(i, min(i + per_task, n_blocks))) for i in range(0, n_blocks, per_task)
    )
    return RunPlan(paths=paths, entropy=entropy, blocks=blocks, tasks=tasks)


@dataclass(frozen=True)
class Sampling:
    """How the factor path is sampled: importance-sampling shift and quasi-Monte Carlo."""

    z_mean: np.ndarray | None = None  # (H,) IS mean shift or (M, H) mixture means; None = plain
    z_prob: np.ndarray | None = None  # (M,) mixture probabilities when z_mean is 2-d
    tilt: FactorTilt | None = None  # per-period exponential tilt (excludes z_mean)
    qmc_replicates: int = 0  # 0 = pseudo-random innovations
    rotation: np.ndarray | None = None  # (H, H) orthogonal map of the Sobol' coordinates;
    # with sector factors (F, F), applied to each period's innovations
    direction: np.ndarray | None = None  # sector factors: the unit v of `factor_direction` (F,)


def plan_sampling(
    scenario: Scenario,
    inputs: KernelInputs,
    importance_sampling: bool,
    qmc: bool,
    z_mean: np.ndarray | None,
) -> Sampling:
    """Decide how the factor path is sampled: IS tilt, mixture or shift, and QMC.

    Done once per run (actions and sensitivity variants reuse it, so their factor paths are
    common random numbers). `importance_sampling` and `qmc` are the resolved settings.
    """
    sim = scenario.config.simulation
    level = sim.importance_level or max(scenario.config.outputs.levels)
    if inputs.factor_root is not None:
        return _sector_sampling(scenario, inputs, importance_sampling, qmc, z_mean, level)
    z_prob = None
    if z_mean is None and importance_sampling and sim.importance_method == "tilt":
        tilt = factor_tilt(inputs, level)
        if tilt is not None:
            # with QMC the tilt inverts each period's CDF, so Sobol' coordinates map to periods
            # in order (early periods move the loss most): no rotation
            return Sampling(tilt=tilt, qmc_replicates=sim.qmc_replicates if qmc else 0)
        # else the loss does not move with the factor: plain sampling
    elif z_mean is None and importance_sampling:
        z_mean, z_prob = _shifts(sim.importance_method, sim.importance_damping, inputs, level)
    if not qmc:
        return Sampling(z_mean=z_mean, z_prob=z_prob)
    if z_mean is not None and z_prob is not None:
        direction = z_mean[1]  # the broad-downturn component
    elif z_mean is not None and np.any(z_mean):
        direction = z_mean
    else:
        direction = design_point(inputs, level)
    return Sampling(
        z_mean=z_mean,
        z_prob=z_prob,
        qmc_replicates=sim.qmc_replicates,
        rotation=householder(direction),
    )


def _sector_sampling(
    scenario: Scenario,
    inputs: KernelInputs,
    importance_sampling: bool,
    qmc: bool,
    z_mean: np.ndarray | None,
    level: float,
) -> Sampling:
    """`plan_sampling` with sector factors: the tilt along its direction, or shifts of ε.

    ``shift`` and ``mixture`` (and a given `z_mean`, shape (H, F)) shift the innovations ``ε``
    (`riskmodel.simulation.importance`). With QMC each period's F innovations are rotated
    (`householder`) so that the tilted direction ``v`` (`factor_direction`) is a Sobol'
    coordinate of its own (the first H of the sequence).
    """
    sim = scenario.config.simulation
    replicates = sim.qmc_replicates if qmc else 0
    z_prob, tilt = None, None
    if z_mean is not None:
        z_mean = np.asarray(z_mean, dtype=float)
        if z_mean.shape != inputs.shift.shape:
            raise ArgumentError(
                f"with sector factors `z_mean` shifts the innovations of every period and "
                f"factor: shape {inputs.shift.shape}; got {z_mean.shape}."
            )
    elif importance_sampling and sim.importance_method == "tilt":
        tilt = factor_tilt(inputs, level)
    elif importance_sampling:
        z_mean, z_prob = _shifts(sim.importance_method, sim.importance_damping, inputs, level)
    found = factor_direction(inputs) if tilt is not None or z_mean is not None else None
    v = None if found is None else found[0]
    rotation = householder(v) if qmc and v is not None else None
    return Sampling(
        z_mean=z_mean,
        z_prob=z_prob,
        tilt=tilt,
        qmc_replicates=replicates,
        rotation=rotation,
        direction=v,
    )


def _shifts(
    method: str, damping: float | None, inputs: KernelInputs, level: float
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Return the shift, or the mixture's means and probabilities, of `method`.

    (None, None) for a mixture whose loss does not move with the factor: plain sampling.
    """
    if method == "mixture":
        means, probs = tail_mixture(inputs, level, damping=0.75 if damping is None else damping)
        return (None, None) if len(probs) == 1 else (means, probs)
    return tail_shift(inputs, level, damping=0.5 if damping is None else damping), None
