"""Global (Sobol') sensitivity indices through SALib.

SALib does the design and the analysis: `SALib.sample.sobol.sample` (Saltelli's scheme on a
scrambled Sobol' sequence, ``calc_second_order=False``, so ``N (k + 2)`` model evaluations for
``k`` factors) and `SALib.analyze.sobol.analyze` (first-order ``S1`` and total ``ST`` indices with
bootstrap confidence intervals). This module only turns scenario factors into SALib's
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

import math
import warnings
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from riskmodel._validate import check_count, check_seed
from riskmodel.config.sensitivity import MIN_N
from riskmodel.errors import ArgumentError
from riskmodel.scenarios.load import Scenario
from riskmodel.sensitivity.factors import FactorRange, apply_factors, resolve_factors
from riskmodel.sensitivity.inner import (
    APPROXIMATIONS,
    LargePoolCheck,
    evaluate_points,
    large_pool_check,
    methods,
)
from riskmodel.sensitivity.measures import DEFAULT_METRICS, MetricSpec, parse_metrics
from riskmodel.sensitivity.result import (
    SensitivityResult,
    SensitivityWarning,
    empty_dataset,
    record_methods,
)
from riskmodel.sensitivity.surrogate_sobol import NEGLIGIBLE, surrogate_sobol, warn_wide_intervals
from riskmodel.sensitivity.swing import DEFAULT_CHECK_PATHS, tornado_points
from riskmodel.simulation.cluster import resolve_backend
from riskmodel.simulation.options import check_scenario
from riskmodel.simulation.seeding import ANALYSIS_KEY, DESIGN_KEY
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

RECOMMENDED_N = 64
DEFAULT_BATCH = 64


def check_sample_size(n: int) -> None:
    """Raise `ValueError` unless `n` is a power of 2 and >= `MIN_N`; warn below `RECOMMENDED_N`."""
    if isinstance(n, bool) or not isinstance(n, int | np.integer):
        raise ValueError(f"`n` must be a whole number, a power of 2 such as 64; got {n!r}.")
    n = int(n)
    if n < MIN_N or n & (n - 1):
        lower = 2 ** max(int(math.log2(max(n, 1))), 3)
        upper = max(lower * 2 if lower < n else lower, MIN_N)
        raise ValueError(
            f"`n` must be a power of 2 and at least {MIN_N} (Sobol' sequences are balanced only "
            f"at powers of 2); got {n}. Use {lower if lower != upper else upper}"
            + (f" or {upper}." if lower != upper else ".")
        )
    if n < RECOMMENDED_N:
        warnings.warn(
            f"Sobol sample size n = {n} is small; indices and their intervals are rough below "
            f"n = {RECOMMENDED_N}. Increase `n` (cost grows as n (k + 2) evaluations).",
            SensitivityWarning,
            stacklevel=3,
        )


def _salib_seed(entropy: int, key: int) -> int:
    """Derive a non-zero 63-bit integer seed for SALib statelessly from the entropy."""
    state = np.random.SeedSequence(entropy, spawn_key=(key,)).generate_state(2, np.uint32)
    return int(state[0]) << 31 | int(state[1]) >> 1 | 1


def sobol_indices(
    evaluate: Callable[[np.ndarray], np.ndarray],
    bounds: Mapping[str, tuple[float, float]],
    metrics: Sequence[str] = ("y",),
    *,
    n: int = RECOMMENDED_N,
    seed: int | None = None,
    conf_level: float = 0.95,
    resamples: int = 100,
    batch: int = DEFAULT_BATCH,
    attrs: Mapping | None = None,
) -> SensitivityResult:
    """Sobol indices of any vectorised model (the evaluation hook under `sobol`).

    Parameters
    ----------
    evaluate : callable
        ``evaluate(X) -> Y`` with ``X`` of shape (points, k) in the order of `bounds` and ``Y``
        of shape (points, len(metrics)) (or (points,) for one metric). Called once per batch.
    bounds : mapping of str to (low, high)
        Factors and their uniform ranges.
    metrics : sequence of str
        Names of the output columns.
    n : int, default 64
        Base sample size, a power of 2; ``n (k + 2)`` evaluations.
    seed : int, optional
        Seed of the design and of SALib's bootstrap.
    conf_level : float, default 0.95
        Level of the confidence intervals (``*_conf`` are half-widths).
    resamples : int, default 100
        SALib's bootstrap resamples for the intervals.
    batch : int, default 64
        Design points per call of `evaluate`.
    attrs : mapping, optional
        Extra attributes for the result.

    Returns
    -------
    SensitivityResult
        ``S1``, ``S1_conf``, ``ST``, ``ST_conf``, ``low``, ``high``, ``X`` and ``Y`` filled.

    Raises
    ------
    ValueError
        For a bad `n`, bounds or an `evaluate` returning the wrong shape or non-finite values.

    Warns
    -----
    SensitivityWarning
        If ``n`` is below `RECOMMENDED_N` or an interval is wider than its index (see module).

    Examples
    --------
    >>> res = sobol_indices(lambda x: 2 * x[:, 0] + x[:, 1], {"a": (0, 1), "b": (0, 1)},
    ...                     n=256, seed=1)
    >>> round(float(res.data["S1"].sel(metric="y", factor="a")), 1)
    0.8
    """
    from SALib.analyze import sobol as sobol_analyze
    from SALib.sample import sobol as sobol_sample

    check_sample_size(n)
    names = list(bounds)
    if not names:
        raise ValueError("give at least one factor with its bounds.")
    lows = [float(bounds[k][0]) for k in names]
    highs = [float(bounds[k][1]) for k in names]
    bad = [k for k, lo, hi in zip(names, lows, highs, strict=True) if not lo < hi]
    if bad:
        raise ValueError(f"bounds must have low < high; not so for {bad}.")
    if not 0.0 < conf_level < 1.0:
        raise ValueError(f"`conf_level` must be in (0, 1); got {conf_level}.")
    if resamples < 10:
        raise ValueError(f"`resamples` must be >= 10; got {resamples}.")
    metrics = list(metrics)
    entropy = entropy_of(seed)
    problem = {
        "num_vars": len(names),
        "names": names,
        "bounds": [list(b) for b in zip(lows, highs, strict=True)],
    }
    design_rng = np.random.default_rng(np.random.SeedSequence(entropy, spawn_key=(DESIGN_KEY,)))
    x = sobol_sample.sample(problem, int(n), calc_second_order=False, seed=design_rng)
    y = np.empty((x.shape[0], len(metrics)))
    step = max(1, int(batch))
    for start in range(0, x.shape[0], step):
        out = np.asarray(evaluate(x[start : start + step]), dtype=float)
        if out.ndim == 1:
            out = out[:, None]
        if out.shape != (min(step, x.shape[0] - start), len(metrics)):
            raise ValueError(
                f"`evaluate` must return shape (points, {len(metrics)}); got {out.shape}."
            )
        y[start : start + step] = out
    if not np.all(np.isfinite(y)):
        raise ValueError("the model returned NaN or inf at some design points.")

    ds = empty_dataset(metrics, names)
    ds["low"][:] = lows
    ds["high"][:] = highs
    constant = []
    analysis_seed = _salib_seed(entropy, ANALYSIS_KEY)
    for m, name in enumerate(metrics):
        col = y[:, m]
        if np.ptp(col) <= 1e-12 * max(1.0, float(np.max(np.abs(col)))):
            constant.append(name)
            continue
        si = sobol_analyze.analyze(
            problem,
            col,
            calc_second_order=False,
            num_resamples=int(resamples),
            conf_level=float(conf_level),
            print_to_console=False,
            seed=analysis_seed,
        )
        for v in ("S1", "S1_conf", "ST", "ST_conf"):
            ds[v][m, :] = np.asarray(si[v], dtype=float)
    ds["X"] = (("sample", "factor"), x)
    ds["Y"] = (("sample", "metric"), y)
    ds = ds.assign_coords(sample=np.arange(x.shape[0]))
    ds.attrs.update(
        {
            "methods": ["sobol"],
            "sobol_n": int(n),
            "sobol_evaluations": int(x.shape[0]),
            "sobol_seed": "" if seed is None else str(seed),
            "sobol_entropy": str(entropy),
            "sobol_conf_level": float(conf_level),
            "sobol_resamples": int(resamples),
            "constant_metrics": constant,
        }
    )
    ds.attrs.update(attrs or {})
    warn_wide_intervals(ds)
    return SensitivityResult(ds)


def sobol(
    scenario: Scenario,
    factors: Sequence | Mapping,
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
    for name, value, allowed in (
        ("approximation", approximation, APPROXIMATIONS),
        ("estimator", estimator, ESTIMATORS),
    ):
        if value not in allowed:
            raise ArgumentError(f"`{name}` must be one of {list(allowed)}; got {value!r}.")
    if factors and all(isinstance(f, FactorRange) for f in factors):
        ranges = list(factors)
    else:
        ranges = resolve_factors(scenario, factors)
    specs = parse_metrics(metrics)
    if seed is None:
        seed = scenario.config.seed
    entropy = entropy_of(seed)
    simulated = any(not s.exact for s in specs)
    names = [s.name for s in specs]
    backend = resolve_backend(scenario, backend, scheduler)
    sampling = shared_sampling(scenario) if simulated else None
    attrs = {
        "scenario": scenario.name,
        "sobol_paths": int(paths) if simulated else 0,
        "sobol_seed": "" if seed is None else str(seed),
        "parameter_draws": int(scenario.n_draws),
        "approximation": approximation,
        "sobol_estimator": estimator,
    }
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

        def evaluate(x: np.ndarray, parts: int = 0):
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

        bounds = {r.name: (r.low, r.high) for r in ranges}
        if estimator == "surrogate":
            result = surrogate_sobol(
                evaluate,
                bounds,
                specs,
                n,
                entropy,
                conf_level,
                resamples,
                groups if simulated else 0,
                check,
                attrs,
            )
        else:
            result = sobol_indices(
                lambda x: evaluate(x)[0],
                bounds,
                names,
                n=n,
                seed=entropy,
                conf_level=conf_level,
                resamples=resamples,
                batch=batch,
                attrs=attrs,
            )
    record_methods(result.data, specs, methods(specs, approximation), check)
    result.data.attrs["check_paths"] = check.paths if check is not None else 0
    result.data["factor_base"][:] = [r.factor.base(scenario) for r in ranges]
    return result
