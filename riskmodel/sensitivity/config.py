"""The sensitivity configuration's defaults and `run_sensitivity`, which runs what it asks for.

The schema and its reader live with the other config schemas, in `riskmodel.config.sensitivity`
(re-exported here): factors, metrics, ``method``, ``tornado:`` and ``sobol:``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel

from riskmodel._validate import check_count, check_seed
from riskmodel.config.sensitivity import (
    FactorConfig,
    SensitivityConfig,
    SobolConfig,
    TornadoConfig,
    load_sensitivity_config,
)
from riskmodel.scenarios.load import Scenario
from riskmodel.sensitivity.factors import FactorRange, resolve_factors
from riskmodel.sensitivity.inner import LargePoolCheck, large_pool_check
from riskmodel.sensitivity.measures import MetricSpec, parse_metrics
from riskmodel.sensitivity.result import SensitivityResult, merge_results
from riskmodel.sensitivity.swing import tornado, tornado_points
from riskmodel.sensitivity.variance import sobol
from riskmodel.simulation.options import check_scenario
from riskmodel.simulation.seeding import seed_entropy
from riskmodel.simulation.variants import shared_sampling

DEFAULT_TORNADO_PATHS = 8192
"""Large-pool paths of each tornado point in the default design."""
DEFAULT_TORNADO_BOOTSTRAP = 50
"""Paired bootstrap resamples of the default design's swing standard errors."""
DEFAULT_CHECK_PATHS = 512
"""Engine paths per tornado point measuring the large-pool error in the default design."""
DEFAULT_SOBOL_N = 128
"""Design points of the default design's surrogate."""
DEFAULT_SOBOL_PATHS = 2048
"""Large-pool paths per design point in the default design."""

__all__ = [
    "FactorConfig",
    "SensitivityConfig",
    "SobolConfig",
    "TornadoConfig",
    "default_config",
    "load_sensitivity_config",
    "run_sensitivity",
]


def default_config(scenario: Scenario) -> SensitivityConfig:
    """Build the default design: seconds on the bundled baseline, every index resolved.

    Factors: the correlation ×0.5 … ×1.5 (capped below 1), the LGD mean ×0.8 … ×1.2 (kept
    feasible), a factor shift of −0.5 … +0.5, the default probability of the transient state
    with the highest one ×0.8 … ×1.2 (narrowed if the row lacks room), and the posterior draw
    when the scenario has several. Metrics: `DEFAULT_METRICS`. Exact metrics need no simulation;
    simulated ones (VaR, ES) use the large-pool model (``approximation: large_pool``) with its
    error measured against the engine at the tornado points on `DEFAULT_CHECK_PATHS` paths each.
    Tornado: `DEFAULT_TORNADO_PATHS` paths per point, `DEFAULT_TORNADO_BOOTSTRAP` resamples for
    the swings' standard errors. Sobol: a polynomial-chaos surrogate (``estimator: surrogate``)
    on `DEFAULT_SOBOL_N` quasi-random points of `DEFAULT_SOBOL_PATHS` paths, whose intervals
    include the design, Monte Carlo and model errors (`riskmodel.sensitivity.surrogate`). With
    a posterior (``posterior.draw`` among the factors) the metrics are not smooth in the draw,
    so Sobol uses SALib's estimators on n = 256 (``n (k + 2)`` points of 512 paths). On the
    bundled baseline every interval is narrower than its index (no `SensitivityWarning`).
    """
    rho = float(np.mean(scenario.correlation))
    lgd = scenario.config.lgd
    factors = [
        {"name": "systematic.correlation", "low": 0.5 * rho, "high": min(1.5 * rho, 0.95)}
        if rho > 0
        else {"name": "systematic.correlation", "low": 0.0, "high": 0.2},
    ]
    m_lo, m_hi = max(0.8 * lgd.mean, 1e-3), min(1.2 * lgd.mean, 1.0)
    while lgd.sd > 0 and lgd.sd >= math.sqrt(min(m_lo * (1 - m_lo), m_hi * (1 - m_hi))):
        m_lo, m_hi = (m_lo + lgd.mean) / 2, (m_hi + lgd.mean) / 2
    if m_hi > m_lo:
        factors.append({"name": "lgd.mean", "low": m_lo, "high": m_hi})
    factors.append({"name": "systematic.shift", "low": -0.5, "high": 0.5})
    st = scenario.states
    p = np.asarray(scenario.transitions, dtype=float)
    pd = p[..., st.transient_idx, st.default_idx].reshape(-1, len(st.transient)).max(axis=0)
    worst = int(np.argmax(pd))
    if pd[worst] > 0:
        i = st.transient_idx[worst]
        room = p[..., i, i] + p[..., i, st.default_idx]
        vmax = float(np.min(room / np.maximum(p[..., i, st.default_idx], 1e-300)))
        factors.append(
            {
                "name": f"transitions.{st.transient[worst]}->{st.default}",
                "low": 0.8,
                "high": min(1.2, vmax),
            }
        )
    sobol = {"estimator": "surrogate", "n": DEFAULT_SOBOL_N, "paths": DEFAULT_SOBOL_PATHS}
    if scenario.n_draws > 1:
        factors.append({"name": "posterior.draw", "low": 0.0, "high": 1.0})
        # a metric is not smooth in the draw index: SALib's estimators, not a polynomial
        sobol = {"estimator": "saltelli", "n": 256, "paths": 512}
    return SensitivityConfig.model_validate(
        {
            "factors": factors,
            "approximation": "large_pool",
            "check_paths": DEFAULT_CHECK_PATHS,
            "tornado": {"paths": DEFAULT_TORNADO_PATHS, "bootstrap": DEFAULT_TORNADO_BOOTSTRAP},
            "sobol": sobol,
        }
    )


def run_sensitivity(
    scenario: Scenario,
    config: SensitivityConfig | Mapping | str | Path | None = None,
    *,
    paths: int | None = None,
    seed: int | None = None,
    n: int | None = None,
    scheduler: str | None = None,
    trust_scenario_scheduler: bool = False,
) -> SensitivityResult:
    """Run the tornado and/or Sobol analyses a configuration asks for.

    Parameters
    ----------
    scenario : Scenario
    config : SensitivityConfig, mapping, path, optional
        See the module docstring for the schema; default: the scenario's ``sensitivity:``
        section if its schema has one, else `default_config(scenario)`.
    paths : int, optional
        Override the paths of the tornado runs (Sobol keeps its own ``sobol.paths``).
    seed : int, optional
        Override both seeds.
    n : int, optional
        Override the Sobol sample size. Overrides are validated like the file (e.g. `n` must
        be a power of 2); errors name ``command-line options`` and the field.
    scheduler : str, optional
        A Dask scheduler address for the simulated metrics, as in `riskmodel.simulate`.
    trust_scenario_scheduler : bool, default False
        Use the scenario's ``simulation.scheduler`` when `scheduler` is not given (a scenario
        file alone never opens a connection).

    Returns
    -------
    SensitivityResult
        Tornado and Sobol variables filled for the methods run.

    Raises
    ------
    ScenarioError
        For an invalid configuration, unknown factors or bad ranges (field paths name the
        config entry), or a scheduler named only in the scenario file.
    ArgumentError
        For a wrong argument (``paths=1.5``, ``seed=-1``, a file name as `scenario` ...).

    Examples
    --------
    >>> import riskmodel as rm
    >>> from riskmodel.sensitivity import run_sensitivity
    >>> sc = rm.load_scenario("scenarios/baseline.yaml")  # doctest: +SKIP
    >>> res = run_sensitivity(sc, {"factors": [{"name": "lgd.mean", "low": 0.35,
    ...                           "high": 0.55}], "method": "tornado"})  # doctest: +SKIP
    """
    check_scenario(scenario)
    check_count("paths", paths)
    check_seed(seed)
    check_count("n", n)
    engine: dict[str, Any] = {
        "scheduler": scheduler,
        "trust_scenario_scheduler": trust_scenario_scheduler,
    }
    cfg, file = _resolve_config(scenario, config, paths=paths, seed=seed, n=n)
    ranges = resolve_factors(scenario, cfg.factors, where="factors", file=file)
    specs = parse_metrics(cfg.metrics)
    results = []
    check = _large_pool_check(scenario, cfg, ranges, specs, engine)
    if "tornado" in cfg.method:
        results.append(
            tornado(
                scenario,
                ranges,
                specs,
                paths=cfg.tornado.paths,
                seed=cfg.tornado.seed,
                bootstrap=cfg.tornado.bootstrap,
                approximation=cfg.approximation,
                check_paths=cfg.check_paths,
                check=check,
                **engine,
            )
        )
    if "sobol" in cfg.method:
        results.append(
            sobol(
                scenario,
                ranges,
                specs,
                n=cfg.sobol.n,
                paths=cfg.sobol.paths,
                seed=cfg.sobol.seed,
                conf_level=cfg.sobol.conf_level,
                resamples=cfg.sobol.resamples,
                batch=cfg.sobol.batch,
                approximation=cfg.approximation,
                estimator=cfg.sobol.estimator,
                groups=cfg.sobol.groups,
                check_paths=cfg.check_paths,
                check=check,
                **engine,
            )
        )
    out = results[0]
    for r in results[1:]:
        out = merge_results(out, r)
    return out


def _resolve_config(
    scenario: Scenario,
    config: SensitivityConfig | Mapping[str, Any] | str | Path | None,
    *,
    paths: int | None,
    seed: int | None,
    n: int | None,
) -> tuple[SensitivityConfig, str | Path | None]:
    """Return the configuration to run (with the overrides applied) and the file it came from."""
    file = None
    if isinstance(config, str | Path):
        file = config
    embedded = getattr(scenario.config, "sensitivity", None)  # a future `sensitivity:` section
    if config is None and embedded is not None:
        section = embedded.model_dump() if isinstance(embedded, BaseModel) else dict(embedded)
        file = scenario.source
        cfg = load_sensitivity_config({"sensitivity": section}, file=file)
    elif config is None:
        cfg = default_config(scenario)
    else:
        cfg = load_sensitivity_config(config)
    overrides = {
        "tornado": {"paths": paths, "seed": seed},
        "sobol": {"n": n, "seed": seed},
    }
    if any(v is not None for section in overrides.values() for v in section.values()):
        data = cfg.model_dump()
        for name, values in overrides.items():
            data[name].update({k: v for k, v in values.items() if v is not None})
        cfg = load_sensitivity_config(data, file="command-line options")
    return cfg, file


def _large_pool_check(
    scenario: Scenario,
    cfg: SensitivityConfig,
    ranges: list[FactorRange],
    specs: list[MetricSpec],
    engine: dict[str, Any],
) -> LargePoolCheck | None:
    """Measure the large-pool error at the tornado points once, for both analyses (or None)."""
    if cfg.approximation == "large_pool" and any(not s.exact for s in specs):
        base_seed = cfg.tornado.seed if cfg.tornado.seed is not None else scenario.config.seed
        return large_pool_check(
            tornado_points(scenario, ranges),
            specs,
            paths=cfg.check_paths,
            entropy=seed_entropy(base_seed),
            sampling=shared_sampling(scenario),
            engine=engine,
        )
    return None
