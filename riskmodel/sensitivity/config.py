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
from riskmodel.sensitivity.evaluate import check_scenario
from riskmodel.sensitivity.factors import resolve_factors
from riskmodel.sensitivity.measures import parse_metrics
from riskmodel.sensitivity.result import SensitivityResult, merge_results
from riskmodel.sensitivity.swing import tornado
from riskmodel.sensitivity.variance import sobol

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
    """Build a small configuration that runs in minutes on a laptop.

    Factors: the correlation ×0.5 … ×1.5 (capped below 1), the LGD mean ×0.8 … ×1.2 (kept
    feasible), a factor shift of −0.5 … +0.5, the default probability of the transient state
    with the highest one ×0.8 … ×1.2 (narrowed if the row lacks room), and the posterior draw
    when the scenario has several. Metrics: `DEFAULT_METRICS`. Tornado with 10,000 paths and
    Sobol with n = 256 design points of 128 paths each (the exact metrics cost nothing): the
    same number of simulated paths as n = 64 × 512, but the first-order indices' intervals
    about half as wide (they shrink as 1/√n, and the design, not the paths, limits them), so on
    the bundled baseline no interval is wider than its index (no `SensitivityWarning`).
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
    if scenario.n_draws > 1:
        factors.append({"name": "posterior.draw", "low": 0.0, "high": 1.0})
    sobol = {"n": 256, "paths": 128}
    return SensitivityConfig.model_validate({"factors": factors, "sobol": sobol})


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
    ranges = resolve_factors(scenario, cfg.factors, where="factors", file=file)
    specs = parse_metrics(cfg.metrics)
    results = []
    if "tornado" in cfg.method:
        results.append(
            tornado(
                scenario,
                ranges,
                specs,
                paths=cfg.tornado.paths,
                seed=cfg.tornado.seed,
                bootstrap=cfg.tornado.bootstrap,
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
                **engine,
            )
        )
    out = results[0]
    for r in results[1:]:
        out = merge_results(out, r)
    return out
