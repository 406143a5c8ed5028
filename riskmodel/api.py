"""Top-level entry points: `simulate` a loaded scenario, or `run` a scenario file."""

from __future__ import annotations

from pathlib import Path

from riskmodel.metrics.result import SimulationResult
from riskmodel.scenarios.load import Scenario, load_scenario
from riskmodel.simulation.engine import simulate_dataset

__all__ = ["run", "simulate"]


def simulate(
    scenario: Scenario,
    *,
    paths: int | None = None,
    seed: int | None = None,
    batch: int | None = None,
    backend: str | None = None,
    workers: int | None = None,
    progress: bool | None = None,
    importance_sampling: bool | None = None,
) -> SimulationResult:
    """Simulate a scenario's portfolio over its horizon.

    Parameters
    ----------
    scenario : Scenario
        From `load_scenario` or `scenario_from_dict`.
    paths, seed, batch, backend, workers : optional
        Override the scenario's settings. ``seed=None`` uses the scenario's seed; if that is
        unset too, fresh entropy is drawn and recorded in the result's attributes.
    progress : bool, optional
        Show a progress bar; default: only when stderr is a terminal.
    importance_sampling : bool, optional
        Override ``simulation.importance_sampling``: shift the factor toward the loss tail and
        weight every path by its likelihood ratio (see `riskmodel.simulation.importance`).

    Returns
    -------
    SimulationResult

    Examples
    --------
    >>> import riskmodel as rm
    >>> sc = rm.load_scenario("scenarios/baseline.yaml")  # doctest: +SKIP
    >>> res = rm.simulate(sc, paths=2000, seed=1)  # doctest: +SKIP
    >>> res.summary()["loss"]["expected"]  # doctest: +SKIP
    """
    ds = simulate_dataset(
        scenario,
        paths=paths,
        seed=seed,
        batch=batch,
        backend=backend,
        workers=workers,
        progress=progress,
        importance_sampling=importance_sampling,
    )
    return SimulationResult(ds)


def run(path: str | Path | Scenario, **options) -> SimulationResult:
    """Load a scenario file (or take a `Scenario`) and simulate it; options as in `simulate`."""
    scenario = path if isinstance(path, Scenario) else load_scenario(path)
    return simulate(scenario, **options)
