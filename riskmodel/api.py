"""Top-level entry points: `simulate` a loaded scenario, or `run` a scenario file."""

from __future__ import annotations

import inspect
import os
from collections.abc import Sequence
from pathlib import Path

from riskmodel._validate import check_count, check_flag, check_seed, describe
from riskmodel.errors import ArgumentError, ComparisonError
from riskmodel.metrics.compare import (
    ComparisonResult,
    check_scenarios,
    check_weights,
    comparison_from_results,
    scenario_label,
)
from riskmodel.metrics.differences import check_baseline
from riskmodel.metrics.result import SimulationResult
from riskmodel.scenarios.load import Scenario, load_scenario
from riskmodel.simulation.engine import simulate_dataset
from riskmodel.simulation.options import check_scenario
from riskmodel.simulation.seeding import seed_entropy
from riskmodel.simulation.variants import simulate_variants

__all__ = ["compare_scenarios", "run", "run_sensitivity_report", "simulate"]


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


def compare_scenarios(
    scenarios: Sequence[Scenario],
    *,
    paths: int | None = None,
    seed: int | None = None,
    progress: bool | None = None,
    scheduler: str | None = None,
    trust_scenario_scheduler: bool = False,
    memory_limit: int | None = None,
    baseline: str | None = None,
) -> ComparisonResult:
    """Simulate several scenarios on common random numbers and tabulate their risk figures.

    Parameters
    ----------
    scenarios : sequence of Scenario
        At least one; names must be unique.
    paths : int, optional
        Paths per scenario. Default: the largest ``paths`` of the scenarios.
    seed : int, optional
        The common seed. Default: the first scenario seed that is set; if none is, fresh entropy
        is drawn once and shared (recorded in ``data.attrs['entropy']``).
    progress : bool, optional
        Show progress bars (default: only on a terminal).
    scheduler, trust_scenario_scheduler, memory_limit : optional
        As in `riskmodel.simulate`: a Dask scheduler address chosen by the caller (scenario
        files alone never open a connection), and the memory the results may take; every
        scenario's results are kept, so the estimate covers all of them and is checked before
        the first is simulated.
    baseline : str, optional
        The scenario the others are compared with (``differences``); default: the first.

    Returns
    -------
    ComparisonResult

    Raises
    ------
    ArgumentError
        For a wrong argument (e.g. file names instead of scenarios, ``paths=1.5``).
    ResourceLimitError
        If the results of all scenarios would not fit in memory.
    ComparisonError
        If `scenarios` is empty, names repeat, or weights are given on only some scenarios or
        do not sum to 1.

    Examples
    --------
    >>> import riskmodel as rm
    >>> files = ["scenarios/baseline.yaml", "scenarios/adverse.yaml"]
    >>> cmp = compare_scenarios([rm.load_scenario(f) for f in files], paths=2000)  # doctest: +SKIP
    >>> cmp.to_dataframe()[["expected", "es_0.99"]]  # doctest: +SKIP
    """
    scenarios = check_scenarios(scenarios)
    paths = check_count("paths", paths)
    seed = check_seed(seed)
    if not scenarios:
        raise ComparisonError("no scenarios to compare; pass at least one scenario.")
    names = [sc.name for sc in scenarios]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        files = ", ".join(scenario_label(sc) for sc in scenarios if sc.name in dupes)
        raise ComparisonError(
            f"scenario names must be unique in a comparison; {dupes} appear more than once "
            f"({files}). Give each file its own `name:`."
        )
    weights = check_weights(scenarios)
    baseline = check_baseline(baseline, names)
    if paths is None:
        paths = max(sc.config.paths for sc in scenarios)
    if seed is None:
        seed = next((sc.config.seed for sc in scenarios if sc.config.seed is not None), None)
    entropy = seed_entropy(seed)
    levels = sorted({float(q) for sc in scenarios for q in sc.config.outputs.levels})
    datasets = simulate_variants(
        scenarios,
        paths=paths,
        entropy=entropy,
        progress=progress,
        scheduler=scheduler,
        trust_scenario_scheduler=trust_scenario_scheduler,
        memory_limit=memory_limit,
    )
    results: dict[str, SimulationResult] = {}
    for sc, ds in zip(scenarios, datasets, strict=True):
        ds.attrs["seed"] = "" if seed is None else str(seed)
        results[sc.name] = SimulationResult(ds)
    return comparison_from_results(
        results,
        paths=paths,
        seed=seed,
        entropy=entropy,
        weights=weights,
        baseline=baseline,
        levels=levels,
    )


def run_sensitivity_report(
    scenario_path: str | Path,
    *,
    config: str | Path | None = None,
    out_dir: str | Path | None = None,
    paths: int | None = None,
    seed: int | None = None,
    n: int | None = None,
    scheduler: str | None = None,
    trust_scenario_scheduler: bool = False,
    allow_outside_files: bool = False,
) -> Path:
    """Load a scenario (and a sensitivity config), run the analyses, write the folder.

    The one call of the ``riskmodel sensitivity`` command. It sits above the report layer:
    `riskmodel.report.sensitivity` only renders the result.

    Parameters
    ----------
    scenario_path : str or Path
        The scenario YAML.
    config : str or Path, optional
        A sensitivity YAML (keys at the top or under ``sensitivity:``); default:
        `riskmodel.sensitivity.default_config` of the scenario (seconds: exact metrics, the
        large-pool model with its measured error, a surrogate Sobol design).
    out_dir : str or Path, optional
        Default: ``reports/<scenario name>-sensitivity``.
    paths, seed, n : int, optional
        Override the tornado paths, both seeds, and the Sobol sample size.
    scheduler, trust_scenario_scheduler : optional
        Where the simulations run (``--scheduler``, ``--scheduler-from-scenario``); see
        `riskmodel.sensitivity.run_sensitivity`.
    allow_outside_files : bool, default False
        Passed to `riskmodel.load_scenario` (``--allow-outside-files``).

    Returns
    -------
    Path
        The folder written.

    Raises
    ------
    ScenarioError
        Bad scenario or config (CLI: exit code 2, print ``str(exc)``).
    OutputDirError
        Unusable output folder (CLI: exit code 2).
    """
    import time

    from riskmodel.report.files import scenario_files
    from riskmodel.report.sensitivity import check_sensitivity_dir, write_sensitivity_report
    from riskmodel.sensitivity import run_sensitivity

    scenario = load_scenario(scenario_path, allow_outside_files=allow_outside_files)
    out = out_dir if out_dir is not None else Path("reports") / f"{scenario.name}-sensitivity"
    inputs = [*scenario_files(scenario), *([] if config is None else [config])]
    check_sensitivity_dir(out, inputs=inputs)  # fail before the (long) analysis
    start = time.perf_counter()
    result = run_sensitivity(
        scenario,
        config,
        paths=paths,
        seed=seed,
        n=n,
        scheduler=scheduler,
        trust_scenario_scheduler=trust_scenario_scheduler,
    )
    extra = {
        "config_file": None if config is None else str(config),
        "run_seconds": round(time.perf_counter() - start, 3),
    }
    return write_sensitivity_report(result, scenario, out, extra=extra)
