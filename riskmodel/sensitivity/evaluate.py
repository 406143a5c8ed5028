"""Simulating many variants of one scenario on common random numbers, in batches.

Every variant is run with the same seed, hence the same seeded blocks of paths
(`riskmodel.simulation.engine`): path ``i`` of every variant sees the same systematic-factor
innovations, so differences between variants are differences of the model, not of the noise.
(The binomial count draws consume a variable number of uniforms, so the idiosyncratic noise is
only partly shared; the systematic factor, which drives the tail, is shared exactly.)

Variants are independent tasks: the in-process backend runs them on a thread pool, the Dask
backend (``simulation.backend: dask`` of the base scenario, or a ``scheduler=`` address from the
caller) submits them to one client for the whole analysis, on the caller's scheduler or a local
cluster. As everywhere, a scheduler named only in the scenario file is not connected to (see
`riskmodel.simulation.cluster`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from riskmodel._validate import check_count, check_memory_limit, check_seed
from riskmodel.scenarios.load import Scenario
from riskmodel.simulation.cluster import dask_client, resolve_backend, resolve_scheduler
from riskmodel.simulation.engine import (
    Sampling,
    build_kernel_inputs,
    plan_run,
    plan_sampling,
    run_task,
)
from riskmodel.simulation.options import check_scenario
from riskmodel.simulation.resources import check_run_memory
from riskmodel.simulation.seeding import seed_entropy

__all__ = ["PathTotals", "backend_session", "check_scenario", "entropy_of", "simulate_variants"]


@dataclass(frozen=True)
class PathTotals:
    """Per-path total loss over the horizon and the importance-sampling weight of one variant."""

    loss: np.ndarray  # (paths,)
    weight: np.ndarray  # (paths,)


def entropy_of(seed: int | None) -> int:
    """Return the engine's entropy for a seed (fresh for None), as in `simulate_dataset`."""
    return seed_entropy(seed)


def shared_sampling(scenario: Scenario) -> Sampling:
    """Return the factor-sampling plan of the base scenario, shared by all its variants.

    Every variant uses the same importance-sampling shift (or mixture), so the factor paths are
    common random numbers: a variant's own design point would move with the factor being varied
    (e.g. the correlation) and decouple the paths. QMC is not used here: the swings' standard
    errors assume independent paths.
    """
    sim = scenario.config.simulation
    inputs = build_kernel_inputs(scenario)
    return plan_sampling(scenario, inputs, sim.importance_sampling, False, None)


def _task_args(scenario: Scenario, sampling: Sampling):
    return build_kernel_inputs(scenario), sampling


def _totals(outputs) -> PathTotals:
    loss = np.concatenate([o.loss.sum(axis=1) for o in outputs])
    weight = np.concatenate([o.weight for o in outputs])
    return PathTotals(loss=loss, weight=weight)


def _run_one(scenario: Scenario, entropy: int, blocks, sampling: Sampling) -> PathTotals:
    inputs, sampling = _task_args(scenario, sampling)
    return _totals(run_task(inputs, entropy, blocks, sampling))


def simulate_variants(
    scenarios: Sequence[Scenario],
    *,
    paths: int,
    seed: int | None,
    backend: str | None = None,
    workers: int | None = None,
    client=None,
    sampling: Sampling | None = None,
    scheduler: str | None = None,
    trust_scenario_scheduler: bool = False,
    memory_limit: int | None = None,
) -> list[PathTotals]:
    """Simulate each scenario with the same seed, number of paths and factor sampling.

    Parameters
    ----------
    scenarios : sequence of Scenario
        Variants of one base scenario (same horizon).
    paths : int
        Paths per variant.
    seed : int or None
        The common seed; None draws fresh entropy once, shared by all variants.
    backend : {"local", "dask"}, optional
        Default: the first scenario's ``simulation.backend``.
    workers : int, optional
        Threads of the local backend; default: the scenario's setting or the CPU count.
    client : dask.distributed.Client, optional
        With the Dask backend, an open client (see `backend_session`); default: connect for
        this call only.
    sampling : Sampling, optional
        The shared factor-sampling plan (`shared_sampling` of the base scenario); default: the
        first scenario's.
    scheduler, trust_scenario_scheduler : optional
        Where the Dask backend connects when no `client` is given (see `backend_session`).
    memory_limit : int, optional
        Bytes the variants in flight may take (see `riskmodel.simulation.resources`).

    Returns
    -------
    list of PathTotals
        In the order of `scenarios`.

    Raises
    ------
    ArgumentError
        For a wrong `paths`, `seed`, `workers` or `backend`.
    ResourceLimitError
        If the variants simulated at once would not fit in memory.
    """
    paths = check_count("paths", 0 if paths is None else paths)  # required: None is refused
    seed = check_seed(seed)
    workers = check_count("workers", workers)
    if not scenarios:
        return []
    base = scenarios[0]
    backend = resolve_backend(base, backend, scheduler)
    n = workers or base.config.simulation.workers or os.cpu_count() or 1
    # each variant in flight holds its blocks' (path, period) outputs until reduced to totals
    check_run_memory(
        paths,
        base.horizon,
        len(base.segments),
        base.portfolio.n_cohorts,
        "paths",
        copies=min(n, len(scenarios)) + 1,
        limit=check_memory_limit(memory_limit),
        what="each batch of sensitivity runs",
        suggest_totals=False,
    )
    if sampling is None:
        sampling = shared_sampling(base)
    entropy = entropy_of(seed)
    plan = plan_run(paths, entropy, batch=paths)
    blocks = list(plan.blocks)
    if backend == "local":
        if n <= 1 or len(scenarios) == 1:
            return [_run_one(sc, entropy, blocks, sampling) for sc in scenarios]
        with ThreadPoolExecutor(max_workers=n) as pool:
            return list(pool.map(lambda sc: _run_one(sc, entropy, blocks, sampling), scenarios))
    if client is None:
        with backend_session(
            base,
            backend="dask",
            scheduler=scheduler,
            trust_scenario_scheduler=trust_scenario_scheduler,
        ) as own:
            return _run_dask(own, scenarios, entropy, blocks, sampling)
    return _run_dask(client, scenarios, entropy, blocks, sampling)


@contextmanager
def backend_session(
    scenario: Scenario,
    *,
    backend: str | None = None,
    scheduler: str | None = None,
    trust_scenario_scheduler: bool = False,
) -> Iterator:
    """Yield a Dask client for the whole analysis (None for the local backend).

    Connects to the caller's `scheduler` (or, with ``trust_scenario_scheduler=True``, to the
    scenario's ``simulation.scheduler``) or starts a local cluster (closed on exit), so that an
    analysis of many batches pays the cluster start once.

    Raises
    ------
    ScenarioError
        If the scenario names a scheduler the caller did not give or trust (no connection).
    SchedulerError
        If the scheduler does not answer within a few seconds.
    """
    backend = resolve_backend(scenario, backend, scheduler)
    if backend != "dask":
        yield None
        return
    address = resolve_scheduler(
        scenario, scheduler, trust_scenario_scheduler=trust_scenario_scheduler
    )
    with dask_client(address) as client:
        yield client


def _run_dask(client, scenarios, entropy: int, blocks, sampling: Sampling) -> list[PathTotals]:
    futures = []
    for sc in scenarios:
        inputs, sampling = _task_args(sc, sampling)  # plain arrays travel
        futures.append(client.submit(run_task, inputs, entropy, blocks, sampling, pure=False))
    out = [_totals(f.result()) for f in futures]
    for f in futures:
        f.release()
    return out
