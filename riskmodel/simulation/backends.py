"""Execute a run plan: in this process (threads) or on a Dask cluster, block by block.

Every backend runs the same `run_task` on the same seeded blocks and reduces each block with
the same `riskmodel.simulation.store.reduce_block`, so the backend never changes the numbers.

On Dask (`run_dask`) the run's inputs (kernel arrays, factor sampling, how blocks are reduced)
go to every worker once, by ``scatter(..., broadcast=True)``; each task then carries only its
block indices. A worker reduces its blocks before answering: a ``keep: totals`` run sends back
per-path totals, not (path, period) arrays. The client writes each task's blocks into the
store as the task completes, in any order (sums over blocks are added in block order).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from riskmodel.simulation.block_output import BlockOutput
from riskmodel.simulation.cluster import dask_client, tune_worker_malloc
from riskmodel.simulation.kernel import KernelInputs
from riskmodel.simulation.plan import BLOCK_SIZE, RunPlan, Sampling
from riskmodel.simulation.pooled import simulate_block
from riskmodel.simulation.qmc import sobol_innovations
from riskmodel.simulation.seeding import block_rng
from riskmodel.simulation.store import BlockSummary, Reduction, ResultStore, reduce_block

__all__ = [
    "Sink",
    "dask_task",
    "progress_bar",
    "run_dask",
    "run_local",
    "run_on_client",
    "run_task",
]

Block = tuple[int, int, int]  # (block index, first path, paths)
Sink = Callable[[Block, BlockOutput], None]
"""Receives each block's raw outputs (a `ResultStore`'s ``put``, or any callable)."""
Tick = Callable[[int], object]
"""Told the number of paths each finished task simulated (a progress bar's ``update``)."""


def block_innovations(
    inputs: KernelInputs, entropy: int, block: int, n: int, sampling: Sampling
) -> np.ndarray | None:
    """Block `block`'s quasi-random factor innovations (None for pseudo-random sampling)."""
    if not sampling.qmc_replicates:
        return None
    return sobol_innovations(
        entropy,
        block,
        n,
        inputs.horizon,
        replicates=sampling.qmc_replicates,
        block_size=BLOCK_SIZE,
        rotation=sampling.rotation,
        factors=inputs.n_factors,
    )


def run_task(
    inputs: KernelInputs,
    entropy: int,
    blocks: Sequence[Block],
    sampling: Sampling | None = None,
) -> list[BlockOutput]:
    """Simulate a list of blocks; each block seeds its own generator statelessly."""
    sampling = sampling or Sampling()
    out = []
    for b, _, n in blocks:
        rng = block_rng(entropy, b)
        eps = block_innovations(inputs, entropy, b, n, sampling)
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


def dask_task(
    shared: tuple[KernelInputs, Sampling, Reduction | None],
    entropy: int,
    blocks: Sequence[Block],
) -> list[BlockSummary] | list[BlockOutput]:
    """One Dask task: simulate `blocks` and reduce them in the worker.

    `shared` is the run's scattered ``(inputs, sampling, reduction)``; without a reduction the
    raw block outputs travel back.
    """
    tune_worker_malloc()
    inputs, sampling, reduction = shared
    outputs = run_task(inputs, entropy, blocks, sampling)
    if reduction is None:
        return outputs
    return [reduce_block(out, reduction) for out in outputs]


def progress_bar(total: int, enabled: bool | None, desc: str) -> Any:
    """Return a tqdm bar over `total` paths, or None (off, or stderr not a terminal for None)."""
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="path", unit_scale=True, leave=False)


def run_local(
    inputs: KernelInputs,
    plan: RunPlan,
    workers: int | None,
    tick: Tick,
    sampling: Sampling | None,
    sink: ResultStore | Sink,
) -> None:
    """Run the plan's blocks in this process (a thread pool of `workers`); blocks go to `sink`.

    Threads take one block at a time, in the plan's order: they share memory, so grouping
    blocks into tasks (``simulation.batch``, the Dask backend's unit of work) would only
    unbalance them; 20,000 paths in tasks of 4 blocks gave one of two threads 12 blocks and the
    other 8. Each thread holds one block's outputs at a time. Blocks are seeded by their index,
    so the numbers do not depend on which thread runs which block.
    """
    order = range(len(plan.blocks))  # the tasks hold the blocks in this order
    workers = workers or min(len(order), os.cpu_count() or 1)
    put = sink.put if isinstance(sink, ResultStore) else sink

    def job(b: int) -> int:
        block = plan.blocks[b]
        (out,) = run_task(inputs, plan.entropy, [block], sampling)
        put(block, out)
        return block[2]

    if workers <= 1 or len(order) == 1:
        for b in order:
            tick(job(b))
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for done in pool.map(job, order):
                tick(done)


def run_dask(
    inputs: KernelInputs,
    plan: RunPlan,
    scheduler: str | None,
    tick: Tick,
    sampling: Sampling | None,
    sink: ResultStore | Sink,
) -> None:
    """Run the plan's tasks on a Dask cluster (`scheduler`, or a local one); blocks go to `sink`.

    A `ResultStore` sink has its blocks reduced in the workers; a plain callable receives the
    raw block outputs.

    Raises
    ------
    SchedulerError
        If `scheduler` is malformed or does not answer (see `riskmodel.simulation.cluster`).
    """
    with dask_client(scheduler) as client:
        run_on_client(client, inputs, plan, tick, sampling, sink)


def run_on_client(
    client: Any,
    inputs: KernelInputs,
    plan: RunPlan,
    tick: Tick,
    sampling: Sampling | None,
    sink: ResultStore | Sink,
) -> None:
    """Run the plan's tasks through an open `dask.distributed.Client` (see `run_dask`)."""
    import distributed

    as_completed: Any = distributed.as_completed
    reduction = sink.reduction if isinstance(sink, ResultStore) else None
    shared = (inputs, sampling or Sampling(), reduction)
    [shared_f] = client.scatter([shared], broadcast=True, hash=False)
    futures = {
        client.submit(
            dask_task,
            shared_f,
            plan.entropy,
            [plan.blocks[b] for b in task],
            key=f"riskmodel-task-{i}-{shared_f.key}",
        ): i
        for i, task in enumerate(plan.tasks)
    }
    done = False
    try:
        completed: Any = as_completed(futures)
        for fut in completed:
            blocks = [plan.blocks[b] for b in plan.tasks[futures[fut]]]
            for block, out in zip(blocks, fut.result(), strict=True):
                if isinstance(sink, ResultStore):
                    sink.put_summary(block, out)
                else:
                    sink(block, out)
            fut.release()
            tick(sum(n for _, _, n in blocks))
        done = True
    finally:
        if not done:  # a task failed or the run was interrupted: stop the rest
            client.cancel(list(futures))
        shared_f.release()
