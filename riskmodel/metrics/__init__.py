"""riskmodel.metrics: risk measures of simulated results, with Monte Carlo standard errors.

Also risk contributions, early warnings and scenario comparisons.
"""

from riskmodel.metrics.alerts import alert_kpi, alerts_to_dict, evaluate_alerts
from riskmodel.metrics.compare import (
    ComparisonError,
    ComparisonResult,
    check_weights,
)
from riskmodel.metrics.contributions import (
    contributions_to_dict,
    euler_contributions,
    risk_contributions,
)
from riskmodel.metrics.risk import (
    DEFAULT_LEVELS,
    MIN_TAIL_PATHS,
    RiskMeasures,
    exceedance_probability,
    expected_value,
    format_level,
    risk_measures,
    risk_measures_da,
    weighted_quantile,
)
from riskmodel.metrics.value import ValueMeasures, value_measures
from riskmodel.metrics.weighted_paths import WEIGHTING_NOTE

__all__ = [
    "DEFAULT_LEVELS",
    "MIN_TAIL_PATHS",
    "WEIGHTING_NOTE",
    "ComparisonError",
    "ComparisonResult",
    "RiskMeasures",
    "ValueMeasures",
    "alert_kpi",
    "alerts_to_dict",
    "check_weights",
    "contributions_to_dict",
    "euler_contributions",
    "evaluate_alerts",
    "exceedance_probability",
    "expected_value",
    "format_level",
    "risk_contributions",
    "risk_measures",
    "risk_measures_da",
    "value_measures",
    "weighted_quantile",
]
