"""Global (Sobol') sensitivity indices through SALib.

SALib does the design and the analysis: `SALib.sample.sobol.sample` (Saltelli's scheme on a
scrambled Sobol' sequence, ``calc_second_order=False``, so ``N (k + 2)`` model evaluations for
``k`` factors) and `SALib.analyze.sobol.analyze` (first-order ``S1`` and total ``ST`` indices with
bootstrap confidence intervals). This module turns scenario factors into the model SALib
evaluates and picks the estimator; `riskmodel.sensitivity.saltelli.sobol_indices` builds SALib's
``problem``, evaluates the model at the design points in batches and checks the result.

Each design point is one model evaluation: the scenario with the point's factor values, simulated
with ``paths`` paths and the *same* seed as every other point (common random numbers), so the
Monte Carlo noise is a smooth function of the factors instead of independent noise per point,
which would otherwise inflate every index's variance. Exact metrics (``expected_loss``, …) need
no simulation at all and are cheap at any ``n``.

Checks
------
- ``n`` must be a power of 2 (the Sobol' sequence's balance properties need it) and at least
  `MIN_N`; below `RECOMMENDED_N` a `SensitivityWarning` says the indices are rough.
- After the analysis, a `SensitivityWarning` lists every index whose confidence half-width is
  wider than the index itself, unless the whole interval lies below `NEGLIGIBLE` (a factor that
  does not matter, resolved as such, is not a problem).
- A metric that does not vary over the design (e.g. the expected loss when only the correlation
  moves and the factor has no shift) has no variance to apportion: its indices are NaN and
  recorded in the ``constant_metrics`` attribute.

Seeding: one seed gives the engine's entropy; the SALib design and SALib's bootstrap draw from
separate child streams of it. (SALib's ``analyze`` treats ``seed=0`` as "no seed", so a non-zero
integer derived from the entropy is passed.)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from riskmodel._validate import check_count, check_seed
from riskmodel.config.sensitivity import MIN_N
from riskmodel.errors import ArgumentError
from riskmodel.scenarios.load import Scenario
from riskmodel.sensitivity.factors import FactorRange, apply_factors
from riskmodel.sensitivity.inner import (
    APPROXIMATIONS,
    LargePoolCheck,
    evaluate_points,
    large_pool_check,
    methods,
)
from riskmodel.sensitivity.measures import DEFAULT_METRICS, MetricSpec, parse_metrics
from riskmodel.sensitivity.result import SensitivityResult, record_methods
from riskmodel.sensitivity.saltelli import (
    DEFAULT_BATCH,
    RECOMMENDED_N,
    check_sample_size,
    sobol_indices,
)
from riskmodel.sensitivity.surrogate_sobol import NEGLIGIBLE, surrogate_sobol
from riskmodel.sensitivity.swing import DEFAULT_CHECK_PATHS, factor_ranges, tornado_points
from riskmodel.simulation.cluster import resolve_backend
from riskmodel.simulation.options import check_scenario
from riskmodel.simulation.seeding import seed_entropy as entropy_of
from riskmodel.simulation.variants import backend_session, shared_sampling

ESTIMATORS = ("saltelli", "surrogate")
"""``saltelli``: SALib's estimators on ``n (k + 2)`` points; ``surrogate``: a polynomial-chaos
fit on ``n`` points (`riskmodel.sensitivity.surrogate`)."""
DEFAULT_GROUPS = 4
"""Disjoint path sets per point for the Monte Carlo part of the surrogate's intervals."""

__all__ = [
    "DEFAULT_BATCH",
    "MIN_N",
    "NEGLIGIBLE",
    "RECOMMENDED_N",
    "check_sample_size",
    "sobol",
    "sobol_indices",
]


def sobol(
    scenario: Scenario,
    factors: Sequence[Any] | Mapping[str, Any],
    metrics: Sequence[str | MetricSpec] = DEFAULT_METRICS,
    *,
    n: int = RECOMMENDED_N,
    paths: int = 512,
    seed: int | None = None,
    conf_level: float = 0.95,
    resamples: int = 100,
    batch: int = DEFAULT_BATCH,
    approximation: str = "none",
    estimator: str = "saltelli",
    groups: int = DEFAULT_GROUPS,
    check_paths: int = DEFAULT_CHECK_PATHS,
    check: LargePoolCheck | None = None,
    backend: str | None = None,
    scheduler: str | None = None,
    trust_scenario_scheduler: bool = False,
) -> SensitivityResult:
    """Sobol first-order and total indices of metrics with respect to factor ranges.

    Every factor is uniform on its [low, high] range.

    Parameters
    ----------
    scenario : Scenario
        The base scenario.
    factors : sequence or mapping
        As in `riskmodel.sensitivity.tornado`; ``posterior.draw`` treats the parameter
        draw as a factor.
    metrics : sequence of str
        Metric names (see `riskmodel.sensitivity.measures`).
    n : int, default 64
        Base sample size, a power of 2: ``n (k + 2)`` model evaluations for ``k`` factors.
    paths : int, default 512
        Paths per evaluation (only if a metric needs simulation), all on the same seed.
    seed : int, optional
        Default: the scenario's seed.
    conf_level, resamples : float, int
        SALib's confidence level and bootstrap resamples.
    batch : int, default 64
        Design points simulated per batch (bounds memory: batch × paths floats).
    approximation : {"none", "large_pool"}, default "none"
        Simulated metrics by the engine, or on the large-pool model with its error measured
        against the engine at the tornado points (`riskmodel.sensitivity.inner`) and added to
        the surrogate's intervals.
    estimator : {"saltelli", "surrogate"}, default "saltelli"
        SALib's estimators on ``n (k + 2)`` points, or a polynomial-chaos surrogate fitted on
        ``n`` points (`riskmodel.sensitivity.surrogate`).
    groups : int, default 4
        Surrogate: disjoint path sets per point for the Monte Carlo part of the intervals.
    check_paths : int, default 1024
        Large-pool model: engine paths per tornado point for its measured error.
    check : LargePoolCheck, optional
        That measurement, if already made (`run_sensitivity` shares the tornado's).
    backend : {"local", "dask"}, optional
        Default: the scenario's ``simulation.backend``.
    scheduler, trust_scenario_scheduler : optional
        As in `riskmodel.simulate`: the Dask scheduler comes from the caller; a scenario's
        ``simulation.scheduler`` is used only with ``trust_scenario_scheduler=True``.

    Returns
    -------
    SensitivityResult

    Raises
    ------
    ScenarioError
        For unknown factors or bad ranges.
    ValueError
        For unknown metrics or a bad `n` (not a power of 2, too small).

    Warns
    -----
    SensitivityWarning
        If an interval is wider than its index, or `n` is small.

    Examples
    --------
    >>> import riskmodel as rm
    >>> from riskmodel.sensitivity import sobol
    >>> sc = rm.load_scenario("scenarios/baseline.yaml")  # doctest: +SKIP
    >>> res = sobol(sc, {"lgd.mean": (0.35, 0.55), "systematic.correlation": (0.05, 0.2)},
    ...             ["expected_loss", "es_0.999"], n=64, paths=256, seed=1)  # doctest: +SKIP
    """
    check_scenario(scenario)
    paths = check_count("paths", paths)
    seed = check_seed(seed)
    n = check_count("n", n)
    batch = check_count("batch", batch)
    _check_choices(approximation=approximation, estimator=estimator)
    ranges = factor_ranges(scenario, factors)
    specs = parse_metrics(metrics)
    if seed is None:
        seed = scenario.config.seed
    entropy = entropy_of(seed)
    simulated = any(not s.exact for s in specs)
    backend = resolve_backend(scenario, backend, scheduler)
    sampling = shared_sampling(scenario) if simulated else None
    attrs = _sobol_attrs(scenario, paths if simulated else 0, seed, approximation, estimator)
    # one Dask client for every batch (evaluate reads `client` when it is called)
    session = backend_session(
        scenario,
        backend=backend if simulated else "local",
        scheduler=scheduler if simulated else None,
        trust_scenario_scheduler=trust_scenario_scheduler,
    )
    with session as client:
        engine = {"client": client} if client is not None else {}
        if sampling is not None and approximation == "large_pool" and check is None:
            check = large_pool_check(
                tornado_points(scenario, ranges),
                specs,
                paths=check_paths,
                entropy=entropy,
                sampling=sampling,
                engine=engine,
            )
        evaluate = _point_evaluator(
            scenario, ranges, specs, approximation, paths, entropy, sampling, engine
        )
        result = _estimate(
            estimator,
            evaluate,
            {r.name: (r.low, r.high) for r in ranges},
            specs,
            n=n,
            entropy=entropy,
            conf_level=conf_level,
            resamples=resamples,
            groups=groups if simulated else 0,
            batch=batch,
            check=check,
            attrs=attrs,
        )
    record_methods(result.data, specs, methods(specs, approximation), check)
    result.data.attrs["check_paths"] = check.paths if check is not None else 0
    result.data["factor_base"][:] = [r.factor.base(scenario) for r in ranges]
    return result


def _sobol_attrs(
    scenario: Scenario, paths: int, seed: int | None, approximation: str, estimator: str
) -> dict[str, Any]:
    """Return the attributes that record how the indices were estimated."""
    return {
        "scenario": scenario.name,
        "sobol_paths": int(paths),
        "sobol_seed": "" if seed is None else str(seed),
        "parameter_draws": int(scenario.n_draws),
        "approximation": approximation,
        "sobol_estimator": estimator,
    }


def _check_choices(*, approximation: str, estimator: str) -> None:
    """Raise `ArgumentError` for an unknown approximation or estimator."""
    for name, value, allowed in (
        ("approximation", approximation, APPROXIMATIONS),
        ("estimator", estimator, ESTIMATORS),
    ):
        if value not in allowed:
            raise ArgumentError(f"`{name}` must be one of {list(allowed)}; got {value!r}.")


Evaluator = Callable[..., tuple[np.ndarray, Any]]
"""``evaluate(X, parts=0) -> (Y, groups)``: the metrics at the design points ``X``."""


def _point_evaluator(
    scenario: Scenario,
    ranges: list[FactorRange],
    specs: list[MetricSpec],
    approximation: str,
    paths: int,
    entropy: int,
    sampling: Any,
    engine: dict[str, Any],
) -> Evaluator:
    """Return the model: the metrics of the scenario at each row of factor values."""
    names = [s.name for s in specs]

    def evaluate(x: np.ndarray, parts: int = 0) -> tuple[np.ndarray, Any]:
        ev = evaluate_points(
            [apply_factors(scenario, row, ranges) for row in x],
            specs,
            approximation=approximation,
            paths=paths,
            entropy=entropy,
            sampling=sampling,
            groups=parts,
            engine=engine,
        )
        y = np.column_stack([ev.values[m] for m in names])
        return y, ev.groups

    return evaluate


def _estimate(
    estimator: str,
    evaluate: Evaluator,
    bounds: dict[str, tuple[float, float]],
    specs: list[MetricSpec],
    *,
    n: int,
    entropy: int,
    conf_level: float,
    resamples: int,
    groups: int,
    batch: int,
    check: LargePoolCheck | None,
    attrs: dict[str, Any],
) -> SensitivityResult:
    """Sobol indices of `evaluate` by the surrogate or by SALib's Saltelli estimators."""
    if estimator == "surrogate":
        return surrogate_sobol(
            evaluate, bounds, specs, n, entropy, conf_level, resamples, groups, check, attrs
        )
    return sobol_indices(
        lambda x: evaluate(x)[0],
        bounds,
        [s.name for s in specs],
        n=n,
        seed=entropy,
        conf_level=conf_level,
        resamples=resamples,
        batch=batch,
        attrs=attrs,
    )
