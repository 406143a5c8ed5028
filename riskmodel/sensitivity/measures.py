"""The metrics a sensitivity analysis reads off each model evaluation.

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

import difflib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from riskmodel.metrics.risk import format_level, risk_measures
from riskmodel.scenarios.load import Scenario
from riskmodel.simulation.expected import exact_summary, expected_term_structure

__all__ = [
    "DEFAULT_METRICS",
    "EXACT_METRICS",
    "MetricSpec",
    "exact_metrics",
    "parse_metric",
    "parse_metrics",
    "simulated_metrics",
]

EXACT_METRICS: tuple[str, ...] = (
    "expected_loss",
    "ecl_lifetime",
    "ecl_12_period",
    "value",
    "expected_defaults",
    "expected_churn",
)
_SIM_FIXED = ("mean_loss", "std_loss")
DEFAULT_METRICS: tuple[str, ...] = (
    "expected_loss",
    "ecl_lifetime",
    "value",
    "var_0.99",
    "es_0.999",
)


@dataclass(frozen=True)
class MetricSpec:
    """A parsed metric name; ``kind`` is "exact", "var", "es", "mean" or "std"."""

    name: str
    kind: str
    level: float | None = None

    @property
    def exact(self) -> bool:
        """True if the metric has no Monte Carlo error."""
        return self.kind == "exact"


def parse_metric(name: str) -> MetricSpec:
    """Parse a metric name such as ``"es_0.999"``.

    Raises
    ------
    ValueError
        For an unknown name (with a did-you-mean suggestion) or a level outside (0, 1).
    """
    if not isinstance(name, str):
        raise ValueError(f"a metric is a name such as 'var_0.99'; got {name!r}.")
    if name in EXACT_METRICS:
        return MetricSpec(name, "exact")
    if name == "mean_loss":
        return MetricSpec(name, "mean")
    if name == "std_loss":
        return MetricSpec(name, "std")
    for kind in ("var", "es"):
        if name.startswith(kind + "_"):
            text = name[len(kind) + 1 :]
            try:
                q = float(text)
            except ValueError:
                q = None
            if q is None or not 0.0 < q < 1.0:
                raise ValueError(
                    f"metric {name!r}: the level after '{kind}_' must be a number in (0, 1), "
                    f"e.g. '{kind}_0.99'; got {text!r}."
                )
            return MetricSpec(f"{kind}_{format_level(q)}", kind, q)
    known = [*EXACT_METRICS, *_SIM_FIXED, "var_0.99", "es_0.99", "var_0.999", "es_0.999"]
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.5)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise ValueError(
        f"unknown metric {name!r}.{hint} Known metrics: {', '.join(EXACT_METRICS)}, "
        f"{', '.join(_SIM_FIXED)}, var_<q> and es_<q> with a level q in (0, 1)."
    )


def parse_metrics(names: Sequence[str]) -> list[MetricSpec]:
    """Parse a list of metric names; duplicates (after normalising levels) are dropped."""
    if isinstance(names, str):
        names = [names]
    out: list[MetricSpec] = []
    for n in names:
        spec = parse_metric(n)
        if spec.name not in {s.name for s in out}:
            out.append(spec)
    if not out:
        raise ValueError("give at least one metric, e.g. ['expected_loss', 'es_0.999'].")
    return out


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
    # one call per variant and bootstrap replicate: their spread is the reported error, so the
    # per-call tail warning (TailResolutionWarning) would only repeat itself here
    rm = risk_measures(loss, weights=weight, levels=levels, min_tail_paths=0)
    out = {}
    for s in wanted:
        if s.kind == "var":
            out[s.name] = float(rm.var[s.level])
        elif s.kind == "es":
            out[s.name] = float(rm.es[s.level])
        elif s.kind == "mean":
            out[s.name] = float(rm.expected)
        else:
            out[s.name] = float(rm.std)
    return out
