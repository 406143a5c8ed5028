"""The metrics a sensitivity analysis reads off each model evaluation.

Their names are parsed with the config (`riskmodel.config.metrics`, re-exported here).

Exact metrics come from `riskmodel.simulation.expected` and carry no Monte Carlo error:

- ``expected_loss`` — expected credit loss over the horizon, undiscounted;
- ``ecl_lifetime`` — discounted expected credit loss over the horizon;
- ``ecl_12_period`` — discounted expected credit loss of the first 12 periods;
- ``value`` — discounted expected margin (lifecycle value of the book);
- ``expected_defaults``, ``expected_churn`` — expected numbers of customers.

Simulated metrics come from the per-path total loss over the horizon, weighted by the
importance-sampling likelihood ratio (`riskmodel.metrics.risk.risk_measures`):

- ``var_<q>``, ``es_<q>`` — value at risk and expected shortfall at level ``q`` (e.g.
  ``var_0.99``, ``es_0.999``);
- ``mean_loss`` — the Monte Carlo estimate of the expected loss (the paths' weighted mean), for
  checking the simulation against ``expected_loss``;
- ``std_loss`` — standard deviation of the total loss.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from riskmodel.config.metrics import (
    DEFAULT_METRICS,
    EXACT_METRICS,
    MetricSpec,
    parse_metric,
    parse_metrics,
)
from riskmodel.metrics.expectations import exact_summary
from riskmodel.metrics.risk import risk_measures
from riskmodel.metrics.weighted import as_paths, tail_values
from riskmodel.scenarios.load import Scenario
from riskmodel.simulation.expected import expected_term_structure

__all__ = [
    "DEFAULT_METRICS",
    "EXACT_METRICS",
    "MetricSpec",
    "exact_metrics",
    "parse_metric",
    "parse_metrics",
    "simulated_metrics",
]


def exact_metrics(scenario: Scenario, specs: Sequence[MetricSpec]) -> dict[str, float]:
    """Return the exact metrics of `specs` for a scenario (others are skipped)."""
    wanted = [s for s in specs if s.exact]
    if not wanted:
        return {}
    summary = exact_summary(expected_term_structure(scenario))
    table = {
        "expected_loss": summary["loss"]["expected"],
        "ecl_lifetime": summary["ecl"]["lifetime"],
        "ecl_12_period": summary["ecl"]["12_period"],
        "value": summary["value"]["expected"],
        "expected_defaults": summary["defaults"]["expected"],
        "expected_churn": summary["churn"]["expected"],
    }
    return {s.name: float(table[s.name]) for s in wanted}


def simulated_metrics(
    loss: np.ndarray, weight: np.ndarray, specs: Sequence[MetricSpec]
) -> dict[str, float]:
    """Return the simulated metrics of `specs` from per-path total losses and weights."""
    wanted = [s for s in specs if not s.exact]
    if not wanted:
        return {}
    levels = sorted({s.level for s in wanted if s.level is not None}) or [0.99]
    if any(s.kind == "std" for s in wanted):
        # one call per variant and bootstrap replicate: their spread is the reported error, so
        # the per-call tail warning (TailResolutionWarning) would only repeat itself here
        rm = risk_measures(loss, weights=weight, levels=levels, min_tail_paths=0)
        var, es, expected, std = rm.var, rm.es, rm.expected, rm.std
    else:  # the same figures without the standard errors, which every variant and bootstrap
        # replicate (200 per tornado factor) would compute in vain
        x, w = as_paths(loss, weight)
        q = np.array(levels, dtype=float)
        tail = tail_values(x, w, q)
        var, es = dict(zip(levels, tail.var, strict=True)), dict(zip(levels, tail.es, strict=True))
        expected, std = float(np.mean(w * x)), math.nan  # risk_measures' `expected`
    out = {}
    for s in wanted:
        if s.kind in ("var", "es"):
            assert s.level is not None  # parse_metrics gives every VaR and ES a level
            out[s.name] = float((var if s.kind == "var" else es)[s.level])
        else:
            out[s.name] = float(expected if s.kind == "mean" else std)
    return out
