"""Several scenarios on common random numbers: the one driver for scenario sets.

`simulate_variants` runs variants of a portfolio (scenario files side by side, a scenario with and
without an action, sensitivity points) with one seed entropy and one number of paths, so path
``i`` uses the same innovations in every variant. Every argument is checked, and the memory of all
the results estimated, before the first variant runs. With ``totals=True`` it returns only each
variant's per-path total loss and importance-sampling weight (`PathTotals`), for analyses that
run many variants (sensitivity designs): the variants then share one factor-sampling plan
(`shared_sampling` of the base scenario, so the factor paths are common random numbers even
where a variant's own design would differ), run as independent tasks on the local thread pool or
on one Dask client for the whole analysis (`backend_session`), and keep nothing but the totals.
Batches of variants that need no engine run (exact expectations, the large-pool model) are in
`riskmodel.simulation.variant_batch`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from riskmodel._validate import check_count, check_memory_limit
from riskmodel.scenarios.load import Scenario
from riskmodel.simulation.backends import run_task
from riskmodel.simulation.cluster import dask_client, resolve_backend, resolve_scheduler
from riskmodel.simulation.engine import in_flight_paths, run_options, simulate_dataset
from riskmodel.simulation.inputs import build_kernel_inputs
from riskmodel.simulation.plan import Sampling, plan_run, plan_sampling
from riskmodel.simulation.resources import check_run_memory, check_scenarios_memory

__all__ = ["PathTotals", "backend_session", "shared_sampling", "simulate_variants"]


@dataclass(frozen=True)
class PathTotals:
    """Per-path total loss over the horizon and the importance-sampling weight of one variant."""

    loss: np.ndarray  # (paths,)
    weight: np.ndarray  # (paths,)


def shared_sampling(scenario: Scenario) -> Sampling:
    """Return the factor-sampling plan of the base scenario, shared by all its variants.

    Every variant uses the same importance-sampling design, so the factor paths are common
    random numbers: a variant's own design would move with the factor being varied (e.g. the
    correlation) and decouple the paths. QMC is not used here: the paired standard errors of
    sensitivity analyses assume independent paths.
    """
    sim = scenario.config.simulation
    inputs = build_kernel_inputs(scenario)
    return plan_sampling(scenario, inputs, sim.importance_sampling, False, None)


def simulate_variants(
    scenarios: Sequence[Scenario],
    *,
    paths: int,
    entropy: int,
    progress: bool | None = None,
    scheduler: str | None = None,
    trust_scenario_scheduler: bool = False,
    memory_limit: int | None = None,
    totals: bool = False,
    sampling: Sampling | None = None,
    client: Any = None,
    workers: int | None = None,
) -> list[Any]:
    """Simulate each scenario with the same `paths` and seed `entropy` (common random numbers).

    Parameters
    ----------
    scenarios : sequence of Scenario
        The variants, in order.
    paths : int
        Paths per variant.
    entropy : int
        The common seed entropy (`riskmodel.simulation.seeding.seed_entropy`).
    progress, scheduler, trust_scenario_scheduler, memory_limit : optional
        As in `riskmodel.simulate`; the memory estimate covers every variant's results.
    totals : bool, default False
        Return `PathTotals` (per-path total loss and weight) instead of datasets; the variants
        then run on one factor-sampling plan (see the module docstring).
    sampling : Sampling, optional
        With `totals`: the shared plan; default `shared_sampling` of the first scenario.
    client : dask.distributed.Client, optional
        With `totals` and the Dask backend: an open client (`backend_session`), so that an
        analysis of many calls connects once; default: connect for this call.
    workers : int, optional
        With `totals` and the local backend: threads running variants at once.

    Returns
    -------
    list of xarray.Dataset or PathTotals
        One per scenario, in order.

    Raises
    ------
    ArgumentError, SchedulerError
        For a wrong engine argument or scheduler, before anything runs.
    ResourceLimitError
        If the results of all variants would not fit in memory.
    """
    if totals:
        return _variant_totals(
            scenarios,
            paths=paths,
            entropy=entropy,
            sampling=sampling,
            client=client,
            workers=workers,
            scheduler=scheduler,
            trust_scenario_scheduler=trust_scenario_scheduler,
            memory_limit=memory_limit,
        )
    engine: dict[str, Any] = dict(
        progress=progress,
        scheduler=scheduler,
        trust_scenario_scheduler=trust_scenario_scheduler,
    )
    for sc in scenarios:  # every argument and scheduler checked before anything runs
        run_options(sc, paths=paths, seed=entropy, **engine)
    limit = check_memory_limit(memory_limit)
    check_scenarios_memory(
        scenarios,
        paths,
        limit=limit,
        what=f"{len(scenarios)} scenarios",
        in_flight_paths=in_flight_paths(paths, workers),
    )
    return [
        simulate_dataset(sc, paths=paths, seed=entropy, memory_limit=limit, **engine)
        for sc in scenarios
    ]


def _variant_totals(
    scenarios: Sequence[Scenario],
    *,
    paths: int,
    entropy: int,
    sampling: Sampling | None,
    client: Any,
    workers: int | None,
    scheduler: str | None,
    trust_scenario_scheduler: bool,
    memory_limit: int | None,
) -> list[PathTotals]:
    """`simulate_variants` with ``totals=True``: run the blocks, keep per-path totals."""
    paths = check_count("paths", paths)
    workers = check_count("workers", workers)
    if not scenarios:
        return []
    base = scenarios[0]
    backend = "dask" if client is not None else resolve_backend(base, None, scheduler)
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
        what="each batch of variant runs",
        suggest_totals=False,
    )
    if sampling is None:
        sampling = shared_sampling(base)
    blocks = list(plan_run(paths, entropy, batch=paths).blocks)

    def one(sc: Scenario) -> PathTotals:
        return _totals(run_task(build_kernel_inputs(sc), entropy, blocks, sampling))

    if backend == "local":
        if n <= 1 or len(scenarios) == 1:
            return [one(sc) for sc in scenarios]
        with ThreadPoolExecutor(max_workers=n) as pool:
            return list(pool.map(one, scenarios))
    if client is None:
        with backend_session(
            base,
            backend="dask",
            scheduler=scheduler,
            trust_scenario_scheduler=trust_scenario_scheduler,
        ) as own:
            return _dask_totals(own, scenarios, entropy, blocks, sampling)
    return _dask_totals(client, scenarios, entropy, blocks, sampling)


def _totals(outputs: Sequence[Any]) -> PathTotals:
    loss = np.concatenate([o.loss.sum(axis=1) for o in outputs])
    weight = np.concatenate([o.weight for o in outputs])
    return PathTotals(loss=loss, weight=weight)


def _dask_totals(
    client: Any,
    scenarios: Sequence[Scenario],
    entropy: int,
    blocks: list[tuple[int, int, int]],
    sampling: Sampling,
) -> list[PathTotals]:
    futures = [  # plain arrays travel; one task per variant
        client.submit(run_task, build_kernel_inputs(sc), entropy, blocks, sampling, pure=False)
        for sc in scenarios
    ]
    out = [_totals(f.result()) for f in futures]
    for f in futures:
        f.release()
    return out


@contextmanager
def backend_session(
    scenario: Scenario,
    *,
    backend: str | None = None,
    scheduler: str | None = None,
    trust_scenario_scheduler: bool = False,
) -> Iterator[Any]:
    """Yield a Dask client for a whole analysis (None for the local backend).

    Connects to the caller's `scheduler` (or, with ``trust_scenario_scheduler=True``, to the
    scenario's ``simulation.scheduler``) or starts a local cluster (closed on exit), so that an
    analysis of many calls of `simulate_variants` pays the cluster start once.

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
