"""Seeds and random streams: a seed's entropy and the one registry of spawn keys.

A run draws every random number from streams derived statelessly from its seed entropy,
``numpy.random.SeedSequence(entropy, spawn_key=key)``, so results do not depend on batch size,
worker count or backend. Each consumer owns one key; the keys must never collide:

=====================  ======================  =================================================
key                    owner                   stream
=====================  ======================  =================================================
``(b,)``, b < 2**31-3  `block_rng`             block ``b`` of a run (paths, factors, draws)
``(ANALYSIS_KEY,)``    sensitivity (Sobol)     SALib's analysis (bootstrap of the indices)
``(DESIGN_KEY,)``      sensitivity (Sobol)     the Sobol design's scrambling
``(BOOTSTRAP_KEY,)``   sensitivity (tornado)   bootstrap of the swings
``(QMC_KEY, r)``       `riskmodel.simulation.qmc`  scrambling of QMC replicate ``r``
=====================  ======================  =================================================
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "ANALYSIS_KEY",
    "BOOTSTRAP_KEY",
    "DESIGN_KEY",
    "MAX_BLOCK_KEY",
    "QMC_KEY",
    "block_rng",
    "seed_entropy",
]

QMC_KEY = 2**32 - 2
"""First spawn key of the QMC scrambling streams ``(QMC_KEY, r)``."""
BOOTSTRAP_KEY = 2**31 - 1
"""Spawn key of the tornado bootstrap stream."""
DESIGN_KEY = 2**31 - 2
"""Spawn key of the Sobol design."""
ANALYSIS_KEY = 2**31 - 3
"""Spawn key of the Sobol analysis."""
MAX_BLOCK_KEY = ANALYSIS_KEY - 1
"""Largest block number: block keys stay below the named keys."""


def seed_entropy(seed: int | None) -> int:
    """Entropy a run uses for `seed` (fresh entropy from the OS for None).

    Examples
    --------
    >>> seed_entropy(7)
    7
    >>> seed_entropy(None) > 0
    True
    """
    entropy = np.random.SeedSequence(seed).entropy
    assert isinstance(entropy, int)  # SeedSequence(int | None) keeps one integer
    return entropy


def block_rng(entropy: int, block: int) -> np.random.Generator:
    """Return the generator of block `block` of a run with seed entropy `entropy`.

    Examples
    --------
    >>> float(block_rng(7, 0).random()) == float(block_rng(7, 0).random())
    True
    """
    if not 0 <= block <= MAX_BLOCK_KEY:
        raise ValueError(f"block number {block} outside 0..{MAX_BLOCK_KEY}")
    return np.random.default_rng(np.random.SeedSequence(entropy, spawn_key=(block,)))
