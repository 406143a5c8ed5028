"""Re-export of the scenario schema, which lives in `riskmodel.config` (kept for old imports).

`riskmodel.config.scenario` holds `ScenarioConfig`, `riskmodel.config.sections` its sections and
`riskmodel.config.base` the shared `ConfigModel`, `StatesConfig` and `PeriodConfig`.
"""

from riskmodel.config.base import MAX_PATHS, ConfigModel, PeriodConfig, StatesConfig
from riskmodel.config.scenario import ScenarioConfig
from riskmodel.config.sections import (
    ACTION_TYPES,
    ALERT_METRICS,
    ActionConfig,
    AlertConfig,
    CohortConfig,
    DownturnConfig,
    ExposureConfig,
    LGDConfig,
    OutputsConfig,
    ParametersConfig,
    PortfolioConfig,
    ShockConfig,
    SimulationConfig,
    SystematicConfig,
)

__all__ = [
    "ACTION_TYPES",
    "ALERT_METRICS",
    "MAX_PATHS",
    "ActionConfig",
    "AlertConfig",
    "CohortConfig",
    "ConfigModel",
    "DownturnConfig",
    "ExposureConfig",
    "LGDConfig",
    "OutputsConfig",
    "ParametersConfig",
    "PeriodConfig",
    "PortfolioConfig",
    "ScenarioConfig",
    "ShockConfig",
    "SimulationConfig",
    "StatesConfig",
    "SystematicConfig",
]
