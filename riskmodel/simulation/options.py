"""A run's engine settings: the caller's arguments checked, the rest from the scenario.

Every entry point that simulates (`riskmodel.simulate`, `compare_scenarios`, the sensitivity
analyses) checks its arguments here before any work, so a wrong call fails at once with an
`ArgumentError` and a scenario-named scheduler is refused before any connection.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from riskmodel._validate import check_count, check_flag, check_seed, describe
from riskmodel.errors import ArgumentError
from riskmodel.scenarios.load import Scenario
from riskmodel.simulation.cluster import resolve_backend, resolve_scheduler

__all__ = ["RunOptions", "check_scenario", "run_options"]


def check_scenario(scenario: object, name: str = "scenario") -> Scenario:
    """`scenario` itself if it is a `Scenario`; else an `ArgumentError` saying how to get one."""
    if isinstance(scenario, Scenario):
        return scenario
    if isinstance(scenario, str | os.PathLike):
        raise ArgumentError(
            f"`{name}` must be a loaded Scenario, not a file name; got {describe(scenario)}. "
            "Pass a Scenario from rm.load_scenario(...), or call rm.run(path) to load and "
            "simulate a file in one step."
        )
    raise ArgumentError(
        f"`{name}` must be a Scenario from rm.load_scenario(...) or rm.scenario_from_dict(...); "
        f"got {describe(scenario)}."
    )


@dataclass(frozen=True)
class RunOptions:
    """A run's engine settings, checked and resolved against the scenario's (see `run_options`)."""

    paths: int
    seed: int | None
    batch: int
    backend: str
    workers: int | None
    progress: bool | None
    scheduler: str | None  # None with backend "dask": a local cluster on 127.0.0.1


def run_options(
    scenario: Scenario,
    *,
    paths: int | None = None,
    seed: int | None = None,
    batch: int | None = None,
    backend: str | None = None,
    workers: int | None = None,
    progress: bool | None = None,
    scheduler: str | None = None,
    trust_scenario_scheduler: bool = False,
) -> RunOptions:
    """Check the caller's engine arguments and fill the rest from the scenario.

    Raises
    ------
    ArgumentError
        For a wrong argument (``paths=1.5``, ``seed=-1``, ``backend="x"`` ...).
    ScenarioError
        If the run would connect to a scheduler named only in the scenario file (see
        `riskmodel.simulation.cluster`).
    """
    check_scenario(scenario)
    sim = scenario.config.simulation
    paths = check_count("paths", paths)
    seed = check_seed(seed)
    batch = check_count("batch", batch)
    workers = check_count("workers", workers)
    progress = check_flag("progress", progress)
    check_flag("trust_scenario_scheduler", trust_scenario_scheduler)
    backend = resolve_backend(scenario, backend, scheduler)
    address = None
    if backend == "dask":
        address = resolve_scheduler(
            scenario, scheduler, trust_scenario_scheduler=trust_scenario_scheduler
        )
    return RunOptions(
        paths=paths if paths is not None else scenario.config.paths,
        seed=seed if seed is not None else scenario.config.seed,
        batch=batch if batch is not None else sim.batch,
        backend=backend,
        workers=workers if workers is not None else sim.workers,
        progress=progress,
        scheduler=address,
    )
