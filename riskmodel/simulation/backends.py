"""Execute a run plan: in this process (threads) or on a Dask cluster, block by block.

Every backend runs the same `run_task` on the same seeded blocks and hands each block's output to
a sink in the run's store, so the backend never changes the numbers.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from riskmodel.simulation.cluster import dask_client
from riskmodel.simulation.kernel import BlockOutput, KernelInputs, simulate_block
from riskmodel.simulation.plan import BLOCK_SIZE, RunPlan, Sampling
from riskmodel.simulation.qmc import sobol_innovations
from riskmodel.simulation.seeding import block_rng

__all__ = ["progress_bar", "run_dask", "run_local", "run_task"]


def run_task(
    inputs: KernelInputs,
    entropy: int,
    blocks: Sequence[tuple[int, int, int]],
    sampling: Sampling | None = None,
) -> list[BlockOutput]:
    """Simulate a list of blocks; each block seeds its own generator statelessly."""
    sampling = sampling or Sampling()
    out = []
    for b, _, n in blocks:
        rng = block_rng(entropy, b)
        eps = None
        if sampling.qmc_replicates:
            eps = sobol_innovations(
                entropy,
                b,
                n,
                inputs.horizon,
                replicates=sampling.qmc_replicates,
                block_size=BLOCK_SIZE,
                rotation=sampling.rotation,
            )
        out.append(
            simulate_block(
                inputs,
                rng,
                n,
                z_mean=sampling.z_mean,
                z_prob=sampling.z_prob,
                tilt=sampling.tilt,
                eps=eps,
            )
        )
    return out


def progress_bar(total: int, enabled: bool | None, desc: str):
    """Return a tqdm bar over `total` paths, or None (off, or stderr not a terminal for None)."""
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="path", unit_scale=True, leave=False)


def run_local(inputs, plan: RunPlan, workers: int | None, tick, sampling, sink) -> None:
    """Run the plan's tasks in this process (a thread pool of `workers`); blocks go to `sink`."""
    workers = workers or min(len(plan.tasks), os.cpu_count() or 1)

    def job(i: int) -> int:
        blocks = [plan.blocks[b] for b in plan.tasks[i]]
        for block, out in zip(
            blocks, run_task(inputs, plan.entropy, blocks, sampling), strict=True
        ):
            sink(block, out)
        return sum(n for _, _, n in blocks)

    if workers <= 1 or len(plan.tasks) == 1:
        for i in range(len(plan.tasks)):
            tick(job(i))
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for done in pool.map(job, range(len(plan.tasks))):
                tick(done)


def run_dask(inputs, plan: RunPlan, scheduler: str | None, tick, sampling, sink) -> None:
    """Run the plan's tasks on a Dask cluster (`scheduler`, or a local one); blocks go to `sink`."""
    from dask.distributed import as_completed

    with dask_client(scheduler) as client:
        [inputs_f] = client.scatter([inputs], broadcast=True)
        futures = {
            client.submit(
                run_task,
                inputs_f,
                plan.entropy,
                [plan.blocks[b] for b in task],
                sampling,
                pure=False,
            ): i
            for i, task in enumerate(plan.tasks)
        }
        for fut in as_completed(futures):
            i = futures[fut]
            blocks = [plan.blocks[b] for b in plan.tasks[i]]
            for block, out in zip(blocks, fut.result(), strict=True):
                sink(block, out)
            fut.release()
            tick(sum(n for _, _, n in blocks))
