"""The content of a run's ``summary.json``, and the statistics it shares with the figures."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from riskmodel.metrics.alerts import alerts_to_dict, evaluate_alerts
from riskmodel.report.files import _json_ready, shown_path

if TYPE_CHECKING:
    import xarray as xr

    from riskmodel.metrics.result import SimulationResult
    from riskmodel.metrics.risk import RiskMeasures
    from riskmodel.scenarios.scenario import Scenario

__all__ = ["RunStatistics", "build_summary"]


def build_summary(
    result: SimulationResult,
    scenario: Scenario,
    extra: Mapping[str, Any] | None = None,
    *,
    command: Sequence[str] | None = None,
    stats: RunStatistics | None = None,
) -> dict:
    """Return the content of ``summary.json``.

    ``result.summary()`` plus ``alerts`` (if the scenario has any), ``scenario_file``,
    ``inputs`` (file relative to the scenario's folder → SHA-256), ``entropy``,
    ``provenance`` (`riskmodel.report.provenance.provenance`) and `extra`. `stats`: the
    statistics the report's figures draw (`RunStatistics.of`), computed once for both.
    """
    from riskmodel.report.provenance import provenance, relative_inputs

    stats = stats if stats is not None else RunStatistics.of(result, scenario)
    summary = result.summary(loss=stats.loss, contributions=stats.contributions)
    if stats.alerts is not None:
        summary["alerts"] = alerts_to_dict(stats.alerts)
    summary["scenario_file"] = shown_path(scenario.source)
    base = None if scenario.source is None else Path(scenario.source).parent
    summary["inputs"] = relative_inputs(scenario.inputs, base)
    entropy = result.data.attrs.get("entropy", "")
    summary["entropy"] = str(entropy) if entropy != "" else None
    summary["provenance"] = provenance(
        seed=result.seed, entropy=entropy, inputs=summary["inputs"], command=command
    )
    summary.update(extra or {})
    return _json_ready(summary)


@dataclass(frozen=True)
class RunStatistics:
    """The statistics of a run that both ``summary.json`` and the report's figures show.

    Computed once (`of`), so a figure and the summary never differ, and nothing is computed
    twice: the loss risk measures, the Euler contributions by segment and, when the scenario
    has ``alerts:``, the early-warning probabilities.
    """

    loss: RiskMeasures
    contributions: xr.Dataset
    alerts: xr.Dataset | None

    @classmethod
    def of(cls, result: SimulationResult, scenario: Scenario) -> RunStatistics:
        """Compute them for `result` of `scenario`."""
        from riskmodel.metrics.contributions import risk_contributions

        alerts = scenario.config.alerts
        return cls(
            loss=result.risk("loss"),
            contributions=risk_contributions(result.data),
            alerts=evaluate_alerts(result, alerts) if alerts else None,
        )


def _write_summary(folder: Path, summary: dict) -> None:
    text = json.dumps(summary, indent=2, allow_nan=False)
    (folder / "summary.json").write_text(text + "\n", encoding="utf-8")
