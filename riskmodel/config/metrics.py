"""Names of the metrics a config may ask for, and the one spelling of a risk level.

A sensitivity config lists its metrics by name (`riskmodel.config.sensitivity`); the names are
checked and normalised here, when the config is validated, and read off each model evaluation
by `riskmodel.sensitivity.measures`:

- exact metrics (no Monte Carlo error): ``expected_loss``, ``ecl_lifetime``,
  ``ecl_12_period``, ``value``, ``expected_defaults``, ``expected_churn``;
- simulated metrics: ``var_<q>``, ``es_<q>`` (value at risk and expected shortfall at level
  ``q``, e.g. ``var_0.99``), ``mean_loss`` and ``std_loss``.

`format_level` writes a level as metric names, summary keys and reports show it (``0.99``).
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "DEFAULT_METRICS",
    "EXACT_METRICS",
    "MetricSpec",
    "format_level",
    "parse_metric",
    "parse_metrics",
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


def format_level(q: float) -> str:
    """Format a level as the shortest decimal string, without float noise.

    Examples
    --------
    >>> format_level(0.99), format_level(0.999), format_level(1 - 0.05)
    ('0.99', '0.999', '0.95')
    """
    return np.format_float_positional(float(f"{float(q):.12g}"), trim="-")


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
                q: float | None = float(text)
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


def parse_metrics(names: Sequence[str | MetricSpec] | str) -> list[MetricSpec]:
    """Parse a list of metric names (parsed specs pass through); duplicates are dropped.

    Duplicates are names equal after normalising levels (``es_0.9990`` is ``es_0.999``).
    """
    if isinstance(names, str):
        names = [names]
    out: list[MetricSpec] = []
    for n in names:
        spec = n if isinstance(n, MetricSpec) else parse_metric(n)
        if spec.name not in {s.name for s in out}:
            out.append(spec)
    if not out:
        raise ValueError("give at least one metric, e.g. ['expected_loss', 'es_0.999'].")
    return out
