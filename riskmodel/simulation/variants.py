"""Several scenarios on common random numbers: the one driver for scenario sets.

`simulate_variants` runs variants of a portfolio (scenario files side by side, a scenario with and
without an action, sensitivity points) with one seed entropy and one number of paths, so path
``i`` uses the same innovations in every variant. Every argument is checked, and the memory of all
the results estimated, before the first variant runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import xarray as xr

from riskmodel._validate import check_memory_limit
from riskmodel.scenarios.load import Scenario
from riskmodel.simulation.engine import run_options, simulate_dataset
from riskmodel.simulation.resources import check_scenarios_memory

__all__ = ["simulate_variants"]


def simulate_variants(
    scenarios: Sequence[Scenario],
    *,
    paths: int,
    entropy: int,
    progress: bool | None = None,
    scheduler: str | None = None,
    trust_scenario_scheduler: bool = False,
    memory_limit: int | None = None,
) -> list[xr.Dataset]:
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

    Returns
    -------
    list of xarray.Dataset
        One result dataset per scenario, in order.

    Raises
    ------
    ArgumentError, SchedulerError
        For a wrong engine argument or scheduler, before anything runs.
    ResourceLimitError
        If the results of all variants would not fit in memory.
    """
    engine: dict[str, Any] = dict(
        progress=progress,
        scheduler=scheduler,
        trust_scenario_scheduler=trust_scenario_scheduler,
    )
    for sc in scenarios:  # every argument and scheduler checked before anything runs
        run_options(sc, paths=paths, seed=entropy, **engine)
    limit = check_memory_limit(memory_limit)
    check_scenarios_memory(scenarios, paths, limit=limit, what=f"{len(scenarios)} scenarios")
    return [
        simulate_dataset(sc, paths=paths, seed=entropy, memory_limit=limit, **engine)
        for sc in scenarios
    ]
