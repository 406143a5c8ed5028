"""A block of many per-cohort columns evolved in sub-blocks of paths: bounded kernel memory.

The kernel holds about 30 float64 arrays of shape (paths, cohorts[, states]) while it evolves a
block (`riskmodel.simulation.resources.KERNEL_BYTES_PER_PATH_COHORT`): a block of 1,024 paths of
10⁵ cohorts needs some 26 GB. So when a block's paths times the cohorts the kernel keeps per
path exceed `SUB_BLOCK_CELLS`, the block's paths are evolved in consecutive sub-blocks of
`sub_block_paths` paths, each over the whole horizon, from the block's own generator after its
factor paths; their outputs are stacked (per-path outputs) and added (occupancy, a sum over
paths). Memory then follows the sub-block, not the block.

The random stream: a block evolved in sub-blocks draws the same kinds of numbers in another
order (sub-block by sub-block rather than period by period over all paths), so its numbers
differ from one evolved whole. Whether a block is cut depends only on the book (its cohorts),
never on the machine, so the same seed still gives the same numbers everywhere; results record
the sub-block (``kernel_sub_block`` attribute, 0 when blocks are whole). Every book of fewer
than ``SUB_BLOCK_CELLS / BLOCK_SIZE`` (4,096) such cohorts evolves whole blocks, as before.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np

from riskmodel.simulation.block_output import ROW_FIELDS, BlockOutput
from riskmodel.simulation.kernel import KernelInputs
from riskmodel.simulation.qmc import FactorPaths

__all__ = ["SUB_BLOCK_CELLS", "evolve_in_sub_blocks", "sub_block_paths"]

SUB_BLOCK_CELLS = 2**22
"""Paths × kernel cohorts evolved at once (about 1 GiB of kernel arrays); part of the
reproducibility contract (module docstring)."""

Evolve = Callable[[KernelInputs, np.random.Generator, FactorPaths], BlockOutput]


def sub_block_paths(kernel_cohorts: int, block_paths: int) -> int:
    """Paths per sub-block of a block of `block_paths` paths; `block_paths` if it is not cut.

    `kernel_cohorts` are the cohorts the kernel keeps arrays for, per path (every cohort, or
    the exact ones when the large-pool cohorts are pooled, `riskmodel.simulation.pooled`).

    Examples
    --------
    >>> sub_block_paths(8, 1024), sub_block_paths(100_000, 1024)
    (1024, 41)
    """
    if kernel_cohorts * block_paths <= SUB_BLOCK_CELLS:
        return block_paths
    return max(1, SUB_BLOCK_CELLS // kernel_cohorts)


def evolve_in_sub_blocks(
    evolve: Evolve, step: int, inp: KernelInputs, rng: np.random.Generator, factor: FactorPaths
) -> BlockOutput:
    """Evolve the paths of `factor` by `evolve` in consecutive sub-blocks of `step` paths."""
    n = len(factor.weight)
    if step >= n:
        return evolve(inp, rng, factor)
    out: dict[str, np.ndarray] = {}
    occupancy = np.zeros(0)
    for lo in range(0, n, step):
        part = slice(lo, lo + step)
        sub = replace(factor, z=factor.z[part], weight=factor.weight[part], draw=factor.draw[part])
        got = evolve(inp, rng, sub)
        for name in ROW_FIELDS:
            rows = getattr(got, name)
            if name not in out:  # one array per output: the block's rows held once
                out[name] = np.empty((n, *rows.shape[1:]), dtype=rows.dtype)
            out[name][part] = rows
        occupancy = got.occupancy if lo == 0 else occupancy + got.occupancy
    return BlockOutput(**out, occupancy=occupancy)
