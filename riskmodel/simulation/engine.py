"""The Monte Carlo engine: compile, plan and execute a run, then assemble it into xarray.

A run goes through four steps, each in its own module: the scenario is compiled into the
kernel's arrays once (`riskmodel.simulation.inputs`); the paths are planned as seeded blocks and
the factor sampling is chosen (`riskmodel.simulation.plan`, which states the reproducibility
contract); the blocks are executed in this process or on a Dask cluster
(`riskmodel.simulation.backends`, running `riskmodel.simulation.kernel`); and the block outputs
are gathered into a dataset (`riskmodel.simulation.store`). Management actions and the
posterior-mean run re-run the scenario on common random numbers; scenario sets go through
`riskmodel.simulation.variants`.
"""

from __future__ import annotations

import os
from dataclasses import replace

import numpy as np
import xarray as xr

from riskmodel._validate import check_flag, check_memory_limit
from riskmodel.dynamics import discount_factors
from riskmodel.errors import InputError
from riskmodel.scenarios.load import Scenario
from riskmodel.simulation.backends import progress_bar, run_dask, run_local, run_task
from riskmodel.simulation.cluster import dask_client
from riskmodel.simulation.expected import expected_term_structure
from riskmodel.simulation.inputs import build_kernel_inputs
from riskmodel.simulation.kernel import KernelInputs
from riskmodel.simulation.merged import merged_cohorts
from riskmodel.simulation.options import RunOptions, run_options
from riskmodel.simulation.plan import (
    BLOCK_SIZE,
    REPRODUCIBILITY_VERSION,
    RunPlan,
    Sampling,
    plan_run,
    plan_sampling,
)
from riskmodel.simulation.pooled import kernel_cohorts, pools
from riskmodel.simulation.resources import check_run_memory, kernel_bytes
from riskmodel.simulation.seeding import seed_entropy
from riskmodel.simulation.store import PER_PERIOD, ResultStore, assemble, path_total
from riskmodel.simulation.sub_blocks import sub_block_paths

__all__ = [
    "BLOCK_SIZE",
    "EXACT_VARIABLES",
    "PER_PERIOD",
    "RunOptions",
    "RunPlan",
    "Sampling",
    "build_kernel_inputs",
    "dask_client",
    "path_total",
    "plan_run",
    "plan_sampling",
    "run_options",
    "run_task",
    "simulate_dataset",
]


def simulate_dataset(
    scenario: Scenario,
    *,
    paths: int | None = None,
    seed: int | None = None,
    batch: int | None = None,
    backend: str | None = None,
    workers: int | None = None,
    progress: bool | None = None,
    importance_sampling: bool | None = None,
    qmc: bool | None = None,
    z_mean: np.ndarray | None = None,
    scheduler: str | None = None,
    trust_scenario_scheduler: bool = False,
    memory_limit: int | None = None,
    model_risk: bool = False,
) -> xr.Dataset:
    """Run the engine and return the per-path results as an `xarray.Dataset`.

    Arguments override the scenario's own settings when given. See `riskmodel.simulate` for the
    public entry point and the meaning of the variables. Every argument is checked and the
    memory of the results estimated before anything is simulated. With management ``actions:``
    the scenario is also run without each action, on the same seed and factor shift (common
    random numbers), and the counterfactual totals are stored in ``action_*`` variables (see
    `riskmodel.simulation.actions`). With `model_risk` and several parameter draws the
    scenario is also run at the posterior mean on common random numbers
    (`riskmodel.simulation.model_risk_run`).
    """
    options = run_options(
        scenario,
        paths=paths,
        seed=seed,
        batch=batch,
        backend=backend,
        workers=workers,
        progress=progress,
        scheduler=scheduler,
        trust_scenario_scheduler=trust_scenario_scheduler,
    )
    cfg = scenario.config
    importance_sampling = check_flag("importance_sampling", importance_sampling)
    qmc = check_flag("qmc", qmc)
    in_flight = in_flight_paths(options.paths, options.workers)
    check_run_memory(
        options.paths,
        scenario.horizon,
        len(scenario.segments),
        scenario.portfolio.n_cohorts,
        cfg.simulation.keep,
        copies=2 if cfg.actions else 1,  # an action's counterfactual run beside the main one
        limit=check_memory_limit(memory_limit),
        what=f"scenario {scenario.name!r}",
        in_flight_paths=in_flight,
        kernel_bytes=kernel_bytes(scenario, in_flight),
    )
    if importance_sampling is None:
        importance_sampling = cfg.simulation.importance_sampling
    if qmc is None:
        qmc = cfg.simulation.qmc
    inputs = build_kernel_inputs(scenario)
    sampling = plan_sampling(scenario, inputs, importance_sampling, qmc, z_mean)
    ds = _simulate(scenario, options, sampling=sampling, inputs=inputs)
    # variants (without an action, at the posterior mean) run on the main run's seed entropy,
    # paths and factor sampling (shift, mixture, tilt, QMC rotation): common random numbers
    same = replace(options, paths=ds.sizes["path"], seed=int(ds.attrs["entropy"]))

    def rerun(variant: Scenario) -> xr.Dataset:
        return _simulate(variant, same, sampling=sampling)

    if scenario.config.actions:
        from riskmodel.simulation.actions import add_action_counterfactuals

        ds = add_action_counterfactuals(ds, scenario, rerun)
    if model_risk and scenario.n_draws > 1:
        from riskmodel.simulation.model_risk_run import add_posterior_mean_run

        ds = add_posterior_mean_run(ds, scenario, rerun)
    return ds


def in_flight_paths(paths: int, workers: int | None) -> int:
    """Paths the kernel holds at once: one block per worker thread (`backends.run_local`)."""
    blocks = -(-paths // BLOCK_SIZE)
    threads = min(workers or os.cpu_count() or 1, blocks)
    return min(paths, BLOCK_SIZE) * threads


def _simulate(
    scenario: Scenario,
    options: RunOptions,
    *,
    sampling: Sampling,
    inputs: KernelInputs | None = None,
) -> xr.Dataset:
    """One run of the engine on one scenario (no action counterfactuals).

    `inputs` are the scenario's kernel arrays when the caller has built them already.
    """
    cfg = scenario.config
    paths, seed = options.paths, options.seed
    entropy = seed_entropy(seed)
    if inputs is None:
        inputs = build_kernel_inputs(scenario)
    plan = plan_run(paths, entropy, options.batch)
    if sampling.qmc_replicates and len(plan.blocks) < 2:
        raise InputError(
            f"quasi-Monte Carlo estimates its error from independent scramblings, one per block "
            f"of {BLOCK_SIZE} paths, so it needs at least {2 * BLOCK_SIZE} paths; got {paths}. "
            "Raise `paths` or set `simulation: {qmc: false}`."
        )
    store = ResultStore(
        paths,
        scenario.horizon,
        len(scenario.segments),
        scenario.states.n,
        scenario.portfolio.n_cohorts,
        keep=cfg.simulation.keep,
        discount=discount_factors(scenario.discount_rate),
        alerts=[(a.name, a.metric, a.threshold) for a in cfg.alerts],
        total_customers=float(scenario.portfolio.total_customers),
    )
    bar = progress_bar(paths, options.progress, f"simulating {scenario.name}")
    tick = bar.update if bar is not None else (lambda _n: None)
    try:
        if options.backend == "dask":
            run_dask(inputs, plan, options.scheduler, tick, sampling, store)
        else:
            run_local(inputs, plan, options.workers, tick, sampling, store)
    finally:
        if bar is not None:
            bar.close()
    ds = assemble(
        scenario,
        store,
        paths=paths,
        seed=seed,
        entropy=entropy,
        sampling=sampling,
        block_size=BLOCK_SIZE,
    )
    ds.attrs.update(_stream_attrs(inputs))
    if sampling.qmc_replicates:
        block = np.arange(paths) // BLOCK_SIZE
        ds["replicate"] = ("path", block % sampling.qmc_replicates)
        ds["replicate"].attrs.update(long_name="QMC replicate (independent scrambling) of the path")
    # a short run may use fewer scramblings than configured: record the ones it used
    ds.attrs["qmc_replicates"] = (
        min(sampling.qmc_replicates, len(plan.blocks)) if sampling.qmc_replicates else 0
    )
    exact = expected_term_structure(scenario)
    # one merge for all of them (a merge per variable cost 17 ms per run, on the serial path)
    ds.update({f"exact_{name}": exact[name] for name in EXACT_VARIABLES})
    return ds


def _stream_attrs(inputs: KernelInputs) -> dict[str, int]:
    """Return the rules of the random stream a run of `inputs` followed, as attributes."""
    step = sub_block_paths(kernel_cohorts(inputs), BLOCK_SIZE)
    return {
        # large-pool cohorts pooled into units (`pooled`)
        "large_pool_units": int(pools(inputs)),
        # coinciding exact cohorts simulated as one (`merged`)
        "merged_cohorts": merged_cohorts(inputs),
        "reproducibility_version": REPRODUCIBILITY_VERSION,
        # blocks evolved in sub-blocks of paths (`sub_blocks`; 0: whole blocks)
        "kernel_sub_block": step if step < BLOCK_SIZE else 0,
    }


EXACT_VARIABLES = (
    "loss",
    "defaults",
    "churn",
    "margin",
    "loss_by_segment",
    "occupancy",
    "loss_by_state",
    "defaults_by_state",
    "customers_by_state",
    "occupancy_start",
    "value_lost_to_churn",
    "churn_by_state",
    "value_by_state",
    "defaults_by_segment",
    "churn_by_segment",
    "value_by_segment",
)
"""Variables of `expected_term_structure` stored in every result as ``exact_<name>``."""
