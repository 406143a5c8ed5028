"""Top-level entry points: `simulate` a loaded scenario, or `run` a scenario file."""

from __future__ import annotations

import inspect
import os
from pathlib import Path

from riskmodel._validate import check_flag, describe
from riskmodel.errors import ArgumentError
from riskmodel.metrics.result import SimulationResult
from riskmodel.scenarios.load import Scenario, load_scenario
from riskmodel.simulation.engine import simulate_dataset
from riskmodel.simulation.options import check_scenario

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
    scheduler: str | None = None,
    trust_scenario_scheduler: bool = False,
    memory_limit: int | None = None,
    model_risk: bool | None = None,
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
    scheduler : str, optional
        Address of a Dask scheduler to run on, e.g. ``"tcp://10.0.0.5:8786"`` (implies
        ``backend="dask"``). Only the caller decides where a run connects: a
        ``simulation.scheduler`` in the scenario file is not used on its own.
    trust_scenario_scheduler : bool, default False
        Use the scenario file's ``simulation.scheduler`` when `scheduler` is not given. Only for
        files you trust: a Dask scheduler can run code on this machine.
    memory_limit : int, optional
        Bytes the run's results may take; default: half of this machine's memory, or the
        ``RISKMODEL_MEMORY_LIMIT`` environment variable (see `riskmodel.simulation.resources`).

    Returns
    -------
    SimulationResult

    Raises
    ------
    ArgumentError
        For a wrong argument: a path instead of a `Scenario`, ``paths=1.5``, ``seed=-1``,
        ``backend="x"``, ``importance_sampling="yes"``, ...
    ScenarioError
        If the scenario names a Dask scheduler and neither `scheduler` nor
        ``trust_scenario_scheduler=True`` was given (no connection is made).
    SchedulerError
        If the scheduler does not answer within a few seconds.
    ResourceLimitError
        If the results would not fit in memory; the message gives the estimate, the limit and
        the fix (fewer paths, or ``simulation: {keep: totals}``). Checked before simulating.
    model_risk : bool, optional
        Also run the scenario at the posterior mean on the same paths (common random numbers),
        so that `SimulationResult.model_risk` can split the loss risk into parameter and process
        risk (`riskmodel.simulation.model_risk_run`). Default (None): on for a run with several
        posterior draws (``parameter_uncertainty: true``), off otherwise; it costs a second run.

    Examples
    --------
    >>> import riskmodel as rm
    >>> sc = rm.load_scenario("scenarios/baseline.yaml")  # doctest: +SKIP
    >>> res = rm.simulate(sc, paths=2000, seed=1)  # doctest: +SKIP
    >>> res.summary()["loss"]["expected"]  # doctest: +SKIP
    """
    check_scenario(scenario)
    model_risk = check_flag("model_risk", model_risk)
    ds = simulate_dataset(
        scenario,
        paths=paths,
        seed=seed,
        batch=batch,
        backend=backend,
        workers=workers,
        progress=progress,
        importance_sampling=importance_sampling,
        scheduler=scheduler,
        trust_scenario_scheduler=trust_scenario_scheduler,
        memory_limit=memory_limit,
        model_risk=scenario.n_draws > 1 if model_risk is None else model_risk,
    )
    return SimulationResult(ds)


def run(path: str | Path | Scenario, **options) -> SimulationResult:
    """Load a scenario file (or take a `Scenario`) and simulate it.

    Parameters
    ----------
    path : str, Path or Scenario
        A scenario YAML file, or a scenario already loaded.
    **options
        As in `simulate` (``paths``, ``seed``, ``scheduler``, ...).

    Returns
    -------
    SimulationResult

    Raises
    ------
    ArgumentError
        If `path` is neither a file name nor a `Scenario`, or an option is wrong.
    ScenarioError
        For an invalid scenario file (see `load_scenario`).
    """
    unknown = sorted(set(options) - set(inspect.signature(simulate).parameters) - {"scenario"})
    if unknown:
        known = ", ".join(p for p in inspect.signature(simulate).parameters if p != "scenario")
        raise ArgumentError(f"`run` got unknown option(s) {unknown}; the options are {known}.")
    if isinstance(path, Scenario):
        return simulate(path, **options)
    if not isinstance(path, str | os.PathLike) or not str(path):
        raise ArgumentError(
            "`path` must be a scenario file name (str or Path) or a Scenario from "
            f"rm.load_scenario(...); got {describe(path)}."
        )
    return simulate(load_scenario(path), **options)
