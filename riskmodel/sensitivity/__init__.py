"""riskmodel.sensitivity: which assumptions drive the metrics.

Tornado swings on common random numbers and global Sobol indices through SALib.

Layer: between metrics and plotting. It imports states, data, scenarios, simulation and metrics
only; figures live in `riskmodel.plotting.sensitivity` and the output folder in
`riskmodel.report.sensitivity`.

Examples
--------
>>> import riskmodel as rm
>>> from riskmodel import sensitivity as rs
>>> sc = rm.load_scenario("scenarios/baseline.yaml")  # doctest: +SKIP
>>> res = rs.tornado(sc, {"lgd.mean": (0.35, 0.55), "systematic.correlation": (0.05, 0.2)},
...                  ["expected_loss", "es_0.999"], paths=5000, seed=1)  # doctest: +SKIP
>>> res.to_dataframe()  # doctest: +SKIP
"""

from riskmodel.sensitivity.config import (
    FactorConfig,
    SensitivityConfig,
    SobolConfig,
    TornadoConfig,
    default_config,
    load_sensitivity_config,
    run_sensitivity,
)
from riskmodel.sensitivity.factors import (
    FACTOR_FAMILIES,
    FACTORS,
    Factor,
    FactorRange,
    apply_factors,
    available_factors,
    register_factor,
    resolve_factors,
)
from riskmodel.sensitivity.measures import DEFAULT_METRICS, EXACT_METRICS, parse_metrics
from riskmodel.sensitivity.result import SensitivityResult, SensitivityWarning, merge_results
from riskmodel.sensitivity.swing import tornado
from riskmodel.sensitivity.variance import sobol, sobol_indices

__all__ = [
    "DEFAULT_METRICS",
    "EXACT_METRICS",
    "FACTORS",
    "FACTOR_FAMILIES",
    "Factor",
    "FactorConfig",
    "FactorRange",
    "SensitivityConfig",
    "SensitivityResult",
    "SensitivityWarning",
    "SobolConfig",
    "TornadoConfig",
    "apply_factors",
    "available_factors",
    "default_config",
    "load_sensitivity_config",
    "merge_results",
    "parse_metrics",
    "register_factor",
    "resolve_factors",
    "run_sensitivity",
    "sobol",
    "sobol_indices",
    "tornado",
]
