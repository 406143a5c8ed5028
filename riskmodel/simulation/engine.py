"""The Monte Carlo engine: blocks of paths, seeding, backends, assembly into xarray.

Reproducibility contract
------------------------
Paths are cut into fixed blocks of `BLOCK_SIZE` paths. Block ``i`` draws all its random numbers
from ``numpy.random.default_rng(SeedSequence(seed, spawn_key=(i,)))``, derived statelessly from the
run's seed and its index. A *batch* (``simulation.batch``) is only a unit of work: a task of whole
blocks sent to a thread or a Dask worker. So the same seed and the same number of paths give
bit-identical results whatever the batch size, the number of workers or the backend.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

import numpy as np
import xarray as xr

from riskmodel._validate import check_flag, check_memory_limit
from riskmodel.dynamics import discount_factors
from riskmodel.errors import InputError
from riskmodel.scenarios.load import Scenario
from riskmodel.simulation.cluster import dask_client
from riskmodel.simulation.expected import expected_term_structure
from riskmodel.simulation.importance import (
    FactorTilt,
    design_point,
    factor_tilt,
    tail_mixture,
    tail_shift,
)
from riskmodel.simulation.kernel import (
    BlockOutput,
    KernelInputs,
    prepare_transitions,
    simulate_block,
)
from riskmodel.simulation.options import RunOptions, run_options
from riskmodel.simulation.qmc import householder, sobol_innovations
from riskmodel.simulation.resources import check_run_memory
from riskmodel.simulation.seeding import block_rng, seed_entropy
from riskmodel.simulation.store import PER_PERIOD, ResultStore, assemble, path_total

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
    "simulate_dataset",
]

BLOCK_SIZE = 1024
"""Paths per seeded block. Part of the reproducibility contract: changing it changes numbers."""


def build_kernel_inputs(scenario: Scenario) -> KernelInputs:
    """Turn a validated scenario into the kernel's plain arrays."""
    states = scenario.states
    pc = scenario.portfolio.per_customer()
    seg_index = {s: i for i, s in enumerate(scenario.segments)}
    tpos = {name: r for r, name in enumerate(states.transient)}
    transitions = scenario.transitions
    if transitions.ndim == 4:  # (D, S, K, K) -> (D, 1, S, K, K)
        transitions = transitions[:, None]
    probit_pd, seq_prob, dest, surv_prob = prepare_transitions(
        transitions, states.transient_idx, states.default_idx
    )
    lgd = scenario.config.lgd
    return KernelInputs(
        horizon=scenario.horizon,
        n_states=states.n,
        transient_idx=states.transient_idx,
        default_idx=states.default_idx,
        churn_idx=-1 if states.churn_idx is None else states.churn_idx,
        cohort_segment=np.array([seg_index[s] for s in pc["segment"]], dtype=np.intp),
        cohort_state=np.array([tpos[s] for s in pc["state"]], dtype=np.intp),
        customers=pc["customers"].to_numpy(dtype=np.int64),
        ead=np.asarray(scenario.cohort_ead, dtype=float),
        margin=pc["margin_per_customer"].to_numpy(dtype=float),
        n_segments=len(scenario.segments),
        probit_pd=probit_pd,
        seq_prob=seq_prob,
        dest=dest,
        surv_prob=surv_prob,
        large_pool=_large_pool_mask(scenario, pc["customers"].to_numpy()),
        correlation=np.asarray(scenario.correlation, dtype=float),
        shift=np.asarray(scenario.shift, dtype=float),
        lgd_mean=scenario.lgd_mean,
        lgd_sd=float(lgd.sd),
        transitions_mean=np.asarray(transitions, dtype=float).mean(axis=0),
        ead_factor=np.asarray(scenario.ead_factor, dtype=float),
        lgd_sensitivity=scenario.lgd_sensitivity,
        discount_factor=discount_factors(scenario.discount_rate),
    )


def _large_pool_mask(scenario: Scenario, customers: np.ndarray) -> np.ndarray:
    sim = scenario.config.simulation
    if sim.approximation == "large_pool":
        return customers >= sim.large_pool_min_customers
    return np.zeros(len(customers), dtype=bool)


@dataclass(frozen=True)
class RunPlan:
    """How a run is cut into blocks (seeding units) and tasks (work units)."""

    paths: int
    entropy: int
    blocks: tuple[tuple[int, int, int], ...]  # (block index, first path, n paths)
    tasks: tuple[tuple[int, ...], ...]  # block indices per task


def plan_run(paths: int, entropy: int, batch: int) -> RunPlan:
    """Cut `paths` into seeded blocks and group whole blocks into tasks of about `batch` paths."""
    n_blocks = -(-paths // BLOCK_SIZE)
    blocks = tuple(
        (b, b * BLOCK_SIZE, min(BLOCK_SIZE, paths - b * BLOCK_SIZE)) for b in range(n_blocks)
    )
    per_task = max(1, round(batch / BLOCK_SIZE))
    tasks = tuple(
        tuple(range(i, min(i + per_task, n_blocks))) for i in range(0, n_blocks, per_task)
    )
    return RunPlan(paths=paths, entropy=entropy, blocks=blocks, tasks=tasks)


@dataclass(frozen=True)
class Sampling:
    """How the factor path is sampled: importance-sampling shift and quasi-Monte Carlo."""

    z_mean: np.ndarray | None = None  # (H,) IS mean shift or (M, H) mixture means; None = plain
    z_prob: np.ndarray | None = None  # (M,) mixture probabilities when z_mean is 2-d
    tilt: FactorTilt | None = None  # per-period exponential tilt (excludes z_mean)
    qmc_replicates: int = 0  # 0 = pseudo-random innovations
    rotation: np.ndarray | None = None  # (H, H) orthogonal map of the Sobol' coordinates


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


def _progress(total: int, enabled: bool | None, desc: str):
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="path", unit_scale=True, leave=False)


def _run_local(inputs, plan: RunPlan, workers: int | None, tick, sampling, sink) -> None:
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


def _run_dask(inputs, plan: RunPlan, scheduler: str | None, tick, sampling, sink) -> None:
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
    check_run_memory(
        options.paths,
        scenario.horizon,
        len(scenario.segments),
        scenario.portfolio.n_cohorts,
        cfg.simulation.keep,
        copies=2 if cfg.actions else 1,  # an action's counterfactual run beside the main one
        limit=check_memory_limit(memory_limit),
        what=f"scenario {scenario.name!r}",
    )
    if importance_sampling is None:
        importance_sampling = cfg.simulation.importance_sampling
    if qmc is None:
        qmc = cfg.simulation.qmc
    sampling = plan_sampling(
        scenario, build_kernel_inputs(scenario), importance_sampling, qmc, z_mean
    )
    ds = _simulate(scenario, options, sampling=sampling)
    if scenario.config.actions:
        from riskmodel.simulation.actions import add_action_counterfactuals

        def rerun(variant: Scenario) -> xr.Dataset:
            # the same factor sampling (shift, mixture, QMC rotation): common random numbers
            same = replace(options, paths=ds.sizes["path"], seed=int(ds.attrs["entropy"]))
            return _simulate(variant, same, sampling=sampling)

        ds = add_action_counterfactuals(ds, scenario, rerun)
    if model_risk and scenario.n_draws > 1:
        from riskmodel.simulation.model_risk_run import add_posterior_mean_run

        same = replace(options, paths=ds.sizes["path"], seed=int(ds.attrs["entropy"]))
        ds = add_posterior_mean_run(ds, scenario, lambda v: _simulate(v, same, sampling=sampling))
    return ds


def plan_sampling(
    scenario: Scenario,
    inputs: KernelInputs,
    importance_sampling: bool,
    qmc: bool,
    z_mean: np.ndarray | None,
) -> Sampling:
    """Decide how the factor path is sampled: IS tilt, mixture or shift, and QMC.

    Done once per run (actions and sensitivity variants reuse it, so their factor paths are
    common random numbers). `importance_sampling` and `qmc` are the resolved settings.
    """
    sim = scenario.config.simulation
    level = sim.importance_level or max(scenario.config.outputs.levels)
    z_prob = None
    if z_mean is None and importance_sampling and sim.importance_method == "tilt":
        tilt = factor_tilt(inputs, level)
        if tilt is not None:
            # with QMC the tilt inverts each period's CDF, so Sobol' coordinates map to periods
            # in order (early periods move the loss most): no rotation
            return Sampling(tilt=tilt, qmc_replicates=sim.qmc_replicates if qmc else 0)
        # else the loss does not move with the factor: plain sampling
    elif z_mean is None and importance_sampling:
        if sim.importance_method == "mixture":
            damping = 0.75 if sim.importance_damping is None else sim.importance_damping
            z_mean, z_prob = tail_mixture(inputs, level, damping=damping)
            if len(z_prob) == 1:  # the loss does not move with the factor: plain sampling
                z_mean, z_prob = None, None
        else:
            damping = 0.5 if sim.importance_damping is None else sim.importance_damping
            z_mean = tail_shift(inputs, level, damping=damping)
    if not qmc:
        return Sampling(z_mean=z_mean, z_prob=z_prob)
    if z_mean is not None and z_prob is not None:
        direction = z_mean[1]  # the broad-downturn component
    elif z_mean is not None and np.any(z_mean):
        direction = z_mean
    else:
        direction = design_point(inputs, level)
    return Sampling(
        z_mean=z_mean,
        z_prob=z_prob,
        qmc_replicates=sim.qmc_replicates,
        rotation=householder(direction),
    )


def _simulate(scenario: Scenario, options: RunOptions, *, sampling: Sampling) -> xr.Dataset:
    """One run of the engine on one scenario (no action counterfactuals)."""
    cfg = scenario.config
    paths, seed = options.paths, options.seed
    entropy = seed_entropy(seed)
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
    bar = _progress(paths, options.progress, f"simulating {scenario.name}")
    tick = bar.update if bar is not None else (lambda _n: None)
    try:
        if options.backend == "dask":
            _run_dask(inputs, plan, options.scheduler, tick, sampling, store.put)
        else:
            _run_local(inputs, plan, options.workers, tick, sampling, store.put)
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
    if sampling.qmc_replicates:
        block = np.arange(paths) // BLOCK_SIZE
        ds["replicate"] = ("path", block % sampling.qmc_replicates)
        ds["replicate"].attrs.update(long_name="QMC replicate (independent scrambling) of the path")
    # a short run may use fewer scramblings than configured: record the ones it used
    ds.attrs["qmc_replicates"] = (
        min(sampling.qmc_replicates, len(plan.blocks)) if sampling.qmc_replicates else 0
    )
    exact = expected_term_structure(scenario)
    for name in EXACT_VARIABLES:
        ds[f"exact_{name}"] = exact[name]
    return ds


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
