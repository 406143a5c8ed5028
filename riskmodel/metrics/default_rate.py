"""Cumulative default rate of a run per period: its exact expectation and Monte Carlo quantiles.

The rate at period ``t`` is the number of customers defaulted up to and including ``t`` divided
by today's customers (``attrs['total_customers']``). Its expectation is exact when the run has
the exact term structure (``exact_defaults``); its quantiles are weighted per-path quantiles
(`riskmodel.metrics.weighted.weighted_quantile`), for fan charts. Read it through
`riskmodel.metrics.result.SimulationResult.cumulative_default_rate`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import xarray as xr

from riskmodel.metrics.weighted import weighted_quantile

if TYPE_CHECKING:
    from riskmodel.metrics.result import SimulationResult

__all__ = ["cumulative_default_rate"]


def cumulative_default_rate(result: SimulationResult, quantiles: Sequence[float]) -> xr.Dataset:
    """Return the cumulative default rate of `result` (see its method of the same name)."""
    # no customers: every rate is 0 (no one can default), never 0/0
    n0 = float(result.data.attrs.get("total_customers", 0)) or float("inf")
    exact = "exact_defaults" in result.data
    mean = result.data["exact_defaults"] if exact else result.expected_by_period("defaults")
    q = list(quantiles)
    band = np.full((len(q), result.horizon), np.nan)
    if result.keeps_paths:
        defaults = result.data["defaults"].transpose("path", "period").to_numpy()
        running = np.zeros(defaults.shape[0])
        for t in range(result.horizon):  # one path vector at a time: memory O(paths)
            running += defaults[:, t]
            band[:, t] = weighted_quantile(running / n0, q, weights=result.weights)
    periods = result.data["period"].values
    return xr.Dataset(
        {
            "expected": ("period", mean.cumsum("period").to_numpy() / n0),
            "quantiles": (("quantile", "period"), band),
        },
        coords={"period": periods, "quantile": q},
        attrs={
            "exact": int(exact),
            "quantiles": int(result.keeps_paths),
            "units": "share of today's customers",
        },
    )
