"""riskmodel.metrics: risk measures and Monte Carlo standard errors of simulated results."""

from riskmodel.metrics.risk import (
    DEFAULT_LEVELS,
    RiskMeasures,
    exceedance_probability,
    expected_value,
    format_level,
    risk_measures,
    risk_measures_da,
    weighted_quantile,
)

__all__ = [
    "DEFAULT_LEVELS",
    "RiskMeasures",
    "exceedance_probability",
    "expected_value",
    "format_level",
    "risk_measures",
    "risk_measures_da",
    "weighted_quantile",
]
