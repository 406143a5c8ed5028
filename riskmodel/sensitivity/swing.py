"""One-at-a-time (tornado) sensitivity on common random numbers.

Each factor is moved to its low and its high value while every other factor stays at base.
All runs use the same seed, hence the same seeded blocks of paths, so path ``i`` of every run
sees the same systematic-factor innovations (common random numbers, CRN).

Standard errors of the swing ``metric(high) − metric(low)``
-----------------------------------------------------------
- Exact metrics (``expected_loss``, ``ecl_lifetime``, ``value`` …) come from the closed-form
  expectation: the swing has no Monte Carlo error (stderr 0).
- ``mean_loss`` (a mean over paths): the standard error of the mean of the paired per-path
  differences ``w_i^high L_i^high − w_i^low L_i^low``.
- ``var_q``, ``es_q``, ``std_loss``: a paired bootstrap over paths — `bootstrap` resamples of
  path indices, the *same* indices for the low and the high run, the metric recomputed with
  `risk_measures` on both, and the standard deviation of the resampled swings. The bootstrap is
  seeded from the run's seed (a stream separate from the engine's blocks), so results are
  reproducible. Quantile bootstraps are rough for very small tails (fewer than ~10 paths beyond
  the quantile); use more paths there.

With ``approximation="large_pool"`` the simulated metrics come from the large-pool model on the
engine's factor paths (`riskmodel.sensitivity.inner`), and the engine runs at the same points on
``check_paths`` paths to measure the approximation's error, reported per metric
(``large_pool_error``: the largest relative difference; ``large_pool_spread``: the standard
deviation of the differences over the points, in the metric's units).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr

from riskmodel._validate import check_count, check_seed
from riskmodel.config.sensitivity import DEFAULT_BOOTSTRAP
from riskmodel.errors import ArgumentError
from riskmodel.scenarios.load import Scenario
from riskmodel.sensitivity.factors import FactorRange, resolve_factors
from riskmodel.sensitivity.inner import (
    APPROXIMATIONS,
    Evaluation,
    LargePoolCheck,
    evaluate_points,
    large_pool_check,
    methods,
)
from riskmodel.sensitivity.measures import (
    DEFAULT_METRICS,
    MetricSpec,
    parse_metrics,
    simulated_metrics,
)
from riskmodel.sensitivity.result import SensitivityResult, empty_dataset, record_methods
from riskmodel.simulation.options import check_scenario
from riskmodel.simulation.seeding import BOOTSTRAP_KEY, seed_entropy
from riskmodel.simulation.variants import PathTotals, backend_session, shared_sampling

__all__ = [
    "DEFAULT_BOOTSTRAP",
    "DEFAULT_CHECK_PATHS",
    "paired_swing_stderr",
    "tornado",
    "tornado_points",
]

DEFAULT_CHECK_PATHS = 1024
"""Engine paths per tornado point that measure the large-pool error."""


def tornado_points(scenario: Scenario, ranges: Sequence[FactorRange]) -> list[Scenario]:
    """Return the base scenario and each factor at its low and high value: ``1 + 2k`` variants."""
    variants = [scenario]
    for r in ranges:
        variants += [r.factor.apply(scenario, r.low), r.factor.apply(scenario, r.high)]
    return variants


def factor_ranges(
    scenario: Scenario, factors: Sequence[Any] | Mapping[str, Any]
) -> list[FactorRange]:
    """Return `factors` as ranges: given as `FactorRange` objects, or resolved on `scenario`."""
    if (
        isinstance(factors, Sequence)
        and factors
        and all(isinstance(f, FactorRange) for f in factors)
    ):
        return list(factors)
    return resolve_factors(scenario, factors)


def _as_specs(metrics: Sequence[str | MetricSpec]) -> list[MetricSpec]:
    return parse_metrics(metrics)


def paired_swing_stderr(
    low: PathTotals,
    high: PathTotals,
    specs: Sequence[MetricSpec],
    *,
    bootstrap: int = DEFAULT_BOOTSTRAP,
    rng: np.random.Generator,
) -> dict[str, float]:
    """Compute standard errors of ``metric(high) − metric(low)`` from paired paths (module doc)."""
    out: dict[str, float] = {}
    n = low.loss.size
    boot = []
    for s in specs:
        if s.exact:
            out[s.name] = 0.0
        elif s.kind == "mean":
            d = high.weight * high.loss - low.weight * low.loss
            out[s.name] = float(np.std(d, ddof=1) / math.sqrt(n)) if n > 1 else math.nan
        else:
            boot.append(s)
    if boot:
        idx = rng.integers(n, size=(bootstrap, n))
        swings = np.empty((bootstrap, len(boot)))
        for b in range(bootstrap):
            i = idx[b]
            hi = simulated_metrics(high.loss[i], high.weight[i], boot)
            lo = simulated_metrics(low.loss[i], low.weight[i], boot)
            swings[b] = [hi[s.name] - lo[s.name] for s in boot]
        for k, s in enumerate(boot):
            out[s.name] = float(np.std(swings[:, k], ddof=1))
    return out


def tornado(
    scenario: Scenario,
    factors: Sequence | Mapping,
    metrics: Sequence[str | MetricSpec] = DEFAULT_METRICS,
    *,
    paths: int | None = None,
    seed: int | None = None,
    bootstrap: int = DEFAULT_BOOTSTRAP,
    approximation: str = "none",
    check_paths: int = DEFAULT_CHECK_PATHS,
    check: LargePoolCheck | None = None,
    backend: str | None = None,
    scheduler: str | None = None,
    trust_scenario_scheduler: bool = False,
) -> SensitivityResult:
    """One-at-a-time sensitivity of metrics to factors, on common random numbers.

    Parameters
    ----------
    scenario : Scenario
        The base scenario.
    factors : sequence or mapping
        ``[{"name": "lgd.mean", "low": 0.35, "high": 0.55}, ...]`` or ``{"lgd.mean": (0.35,
        0.55)}`` (see `riskmodel.sensitivity.factors` for the factor paths).
    metrics : sequence of str
        Metric names (see `riskmodel.sensitivity.measures`); exact metrics need no simulation.
    paths : int, optional
        Paths per run; default: the scenario's ``paths``. Only used for simulated metrics.
    seed : int, optional
        The common seed of every run; default: the scenario's seed (fresh entropy if unset,
        recorded in the result).
    bootstrap : int, default 200
        Paired bootstrap resamples for the standard errors of VaR/ES swings.
    approximation : {"none", "large_pool"}, default "none"
        How simulated metrics are computed: by the engine, or on the large-pool model with its
        error measured against the engine (module docstring).
    check_paths : int, default 1024
        With the large-pool model: engine paths per point for measuring its error.
    check : LargePoolCheck, optional
        A measurement already made at these points (`run_sensitivity` shares one with Sobol).
    backend : {"local", "dask"}, optional
        Default: the scenario's ``simulation.backend``.
    scheduler, trust_scenario_scheduler : optional
        As in `riskmodel.simulate`: the Dask scheduler comes from the caller; a scenario's
        ``simulation.scheduler`` is used only with ``trust_scenario_scheduler=True``.

    Returns
    -------
    SensitivityResult
        ``base``, ``value_low``, ``value_high``, ``swing`` and ``swing_stderr`` filled.

    Raises
    ------
    ScenarioError
        For unknown factors or bad ranges (field path and suggestion in the message).
    ValueError
        For unknown metrics or bad numbers of paths.

    Examples
    --------
    >>> import riskmodel as rm
    >>> from riskmodel.sensitivity import tornado
    >>> sc = rm.load_scenario("scenarios/baseline.yaml")  # doctest: +SKIP
    >>> res = tornado(sc, {"lgd.mean": (0.35, 0.55)}, ["expected_loss", "var_0.99"],
    ...               paths=5000, seed=1)  # doctest: +SKIP
    >>> res.to_dataframe()[["metric", "factor", "swing", "stderr"]]  # doctest: +SKIP
    """
    check_scenario(scenario)
    paths = check_count("paths", paths)
    seed = check_seed(seed)
    bootstrap = check_count("bootstrap", bootstrap, minimum=2)
    check_paths = check_count("check_paths", check_paths)
    if approximation not in APPROXIMATIONS:
        raise ArgumentError(
            f"`approximation` must be one of {list(APPROXIMATIONS)}; got {approximation!r}."
        )
    ranges = factor_ranges(scenario, factors)
    specs = _as_specs(metrics)
    paths = paths if paths is not None else scenario.config.paths
    if seed is None:
        seed = scenario.config.seed
    entropy = seed_entropy(seed)  # fixed once, so that every run shares it even for seed=None

    variants = tornado_points(scenario, ranges)
    simulated = any(not s.exact for s in specs)
    sampling = shared_sampling(scenario) if simulated else None
    with backend_session(
        scenario,
        backend=backend if simulated else "local",
        scheduler=scheduler if simulated else None,
        trust_scenario_scheduler=trust_scenario_scheduler,
    ) as client:
        engine = {"client": client} if client is not None else {}
        ev = evaluate_points(
            variants,
            specs,
            approximation=approximation,
            paths=paths,
            entropy=entropy,
            sampling=sampling,
            engine=engine,
        )
        if sampling is not None and approximation == "large_pool" and check is None:
            check = large_pool_check(
                variants,
                specs,
                paths=check_paths,
                entropy=entropy,
                sampling=sampling,
                engine=engine,
            )
    ds = _swings(scenario, ranges, specs, ev, bootstrap=bootstrap, entropy=entropy)
    record_methods(ds, specs, methods(specs, approximation), check)
    ds.attrs.update(
        methods=["tornado"],
        scenario=scenario.name,
        approximation=approximation,
        tornado_seed="" if seed is None else str(seed),
        tornado_entropy=str(entropy),
        tornado_paths=paths if simulated else 0,
        check_paths=check.paths if check is not None else 0,
        tornado_bootstrap=int(bootstrap),
        parameter_draws=int(scenario.n_draws),
    )
    return SensitivityResult(ds)


def _swings(
    scenario: Scenario,
    ranges: Sequence[FactorRange],
    specs: Sequence[MetricSpec],
    ev: Evaluation,
    *,
    bootstrap: int,
    entropy: int,
) -> xr.Dataset:
    """Return the dataset of the base values, the values at low and high, the swings and errors.

    `ev` holds the metrics at `tornado_points` (base, then each factor at low and high).
    """
    exact = [{m: float(v[i]) for m, v in ev.values.items()} for i in range(1 + 2 * len(ranges))]
    totals = ev.totals
    names = [s.name for s in specs]
    ds = empty_dataset(names, [r.name for r in ranges])
    ds["low"][:] = [r.low for r in ranges]
    ds["high"][:] = [r.high for r in ranges]
    ds["factor_base"][:] = [r.factor.base(scenario) for r in ranges]
    ds["base"][:] = [exact[0][m] for m in names]
    rng = np.random.default_rng(np.random.SeedSequence(entropy, spawn_key=(BOOTSTRAP_KEY,)))
    for k, _r in enumerate(ranges):
        lo, hi = exact[1 + 2 * k], exact[2 + 2 * k]
        ds["value_low"][:, k] = [lo[m] for m in names]
        ds["value_high"][:, k] = [hi[m] for m in names]
        ds["swing"][:, k] = [hi[m] - lo[m] for m in names]
        if totals is not None:
            se = paired_swing_stderr(
                totals[1 + 2 * k], totals[2 + 2 * k], specs, bootstrap=bootstrap, rng=rng
            )
        else:
            se = dict.fromkeys(names, 0.0)
        ds["swing_stderr"][:, k] = [se[m] for m in names]
    return ds
