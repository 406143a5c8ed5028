"""Per-path, per-period KPIs that early-warning alerts watch.

Numpy; shared by the engine and `riskmodel.metrics.alerts`.

- ``loss``, ``defaults``, ``churn``: the amount in the period;
- ``default_rate``, ``churn_rate``: defaults (churn) in the period divided by the customers alive
  at the period start, ``n_alive(t) = n_total − Σ_{u<t} (defaults_u + churn_u)`` per path (a rate
  with nobody alive is 0). This assumes customers leave the book only by default or churn.
"""

from __future__ import annotations

import numpy as np

from riskmodel.scenarios.schema import ALERT_METRICS

__all__ = ["kpi_array"]


def kpi_array(
    metric: str,
    loss: np.ndarray,
    defaults: np.ndarray,
    churn: np.ndarray,
    total_customers: float,
) -> np.ndarray:
    """Compute the KPI `metric` per path and period, from (path, period) arrays of the outputs."""
    if metric not in ALERT_METRICS:
        raise ValueError(f"`metric` must be one of {list(ALERT_METRICS)}; got {metric!r}.")
    if metric == "loss":
        return loss
    if metric in ("defaults", "churn"):
        return defaults if metric == "defaults" else churn
    leaving = defaults + churn
    alive = float(total_customers) - (np.cumsum(leaving, axis=1) - leaving)
    count = defaults if metric == "default_rate" else churn
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(alive > 0, count / np.where(alive > 0, alive, 1.0), 0.0)
