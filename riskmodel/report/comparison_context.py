"""The "Assumptions and limitations" and "What was used" sections of a comparison report.

The same statements and tables as the run report (`riskmodel.report.assumptions`,
`riskmodel.report.used`), for several scenarios at once: what all scenarios share is said once,
what differs is said per scenario, so a reader sees at a glance where the scenarios part ways
(usually the stress path only).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping, Sequence

import numpy as np

from riskmodel.metrics.compare import ComparisonResult
from riskmodel.report.assumptions import assumptions
from riskmodel.report.html import _e, _table
from riskmodel.report.used import _matrices, _portfolio, stress_figure
from riskmodel.scenarios.load import Scenario

__all__ = [
    "comparison_assumptions_html",
    "comparison_used_html",
    "stress_figure_name",
    "stress_figures",
]


def stress_figure_name(scenario: Scenario) -> str:
    """Return the file stem of a scenario's stress-path figure: ``stress_path_<name>``.

    The name is reduced to letters, digits, ``-`` and ``_``.
    """
    return "stress_path_" + (re.sub(r"[^A-Za-z0-9_-]+", "-", scenario.name).strip("-") or "x")


def stress_figures(scenarios: Sequence[Scenario]) -> dict[str, bytes]:
    """Return the stress-path figure of each scenario (PNG bytes) by `stress_figure_name`."""
    return {stress_figure_name(sc): stress_figure(sc) for sc in scenarios}


def _names(scenarios: Sequence[Scenario]) -> str:
    return ", ".join(_e(sc.name) for sc in scenarios)


def comparison_assumptions_html(comparison: ComparisonResult, scenarios: Sequence[Scenario]) -> str:
    """List every scenario's assumptions: shared statements once, then each scenario's own.

    Parameters
    ----------
    comparison : ComparisonResult
        With its per-scenario results (``comparison.results``).
    scenarios : sequence of Scenario
        The compared scenarios, in the comparison's order.

    Returns
    -------
    str
        HTML (user strings escaped).
    """
    lists = [assumptions(sc, comparison.results[sc.name]) for sc in scenarios]
    shared = [item for item in lists[0] if all(item in other for other in lists[1:])]
    out = "<ul class='assumptions'>" + "".join(f"<li>{a}</li>" for a in shared) + "</ul>"
    if len(scenarios) > 1:
        out = f"<p>In every scenario ({_names(scenarios)}):</p>" + out
    for sc, items in zip(scenarios, lists, strict=True):
        own = [item for item in items if item not in shared]
        if own:
            out += f"<h3>Only in {_e(sc.name)}</h3><ul class='assumptions'>"
            out += "".join(f"<li>{a}</li>" for a in own) + "</ul>"
    return out


def _grouped(scenarios: Sequence[Scenario], render, title: str) -> str:
    """`render(scenario)` once per group of scenarios with identical output."""
    groups: dict[str, list[Scenario]] = {}
    for sc in scenarios:
        groups.setdefault(render(sc), []).append(sc)
    if len(groups) == 1:
        html = next(iter(groups))
        scope = " (the same in every scenario)" if len(scenarios) > 1 else ""
        return f"<h3>{_e(title)}{scope}</h3>" + html
    return "".join(
        f"<h3>{_e(title)}: {_names(group)}</h3>" + html for html, group in groups.items()
    )


def _cell(fmt: str, series: np.ndarray, t: int) -> str:
    """Period `t` of a series; with sector factors the shifts of every factor, ``a / b``."""
    if t >= len(series):
        return "—"
    return " / ".join(fmt.format(x) for x in np.atleast_1d(series[t]))


def _stress_table(scenarios: Sequence[Scenario]) -> str:
    """Tabulate every period's factor shift, exposure factor and discount rate.

    One column per scenario for each quantity that differs between scenarios (one column when
    they agree).
    """
    horizon = max(sc.horizon for sc in scenarios)
    quantities = (
        ("Shift of Z", "shift", "{:+.3f}", 1.0),
        ("Exposure factor", "ead_factor", "{:.4f}", 1.0),
        ("Discount rate (%)", "discount_rate", "{:.3f}", 100.0),
    )
    header: list[str] = ["Period"]
    columns: list[list[str]] = []
    for label, attr, fmt, scale in quantities:
        series = [np.asarray(getattr(sc, attr), dtype=float) * scale for sc in scenarios]
        same = all(s.shape == series[0].shape and np.array_equal(s, series[0]) for s in series)
        for sc, s in zip(scenarios[:1] if same else scenarios, series, strict=False):
            header.append(_e(label if same else f"{label}, {sc.name}"))
            columns.append([_cell(fmt, s, t) for t in range(horizon)])
    rows = [(str(t + 1), *(c[t] for c in columns)) for t in range(horizon)]
    lgd = "; ".join(
        f"{_e(sc.name)}: LGD mean {sc.config.lgd.mean + sc.config.lgd.addon:.4g}"
        + (
            f", downturn sensitivity {sc.config.lgd.downturn.sensitivity:g}"
            if sc.config.lgd.downturn is not None
            else ""
        )
        for sc in scenarios
    )
    return (
        "<h3>Stress path per period</h3>"
        + _table(header, rows, numeric=set(range(len(header))))
        + f"<p>Every period of the horizon; a column per scenario where they differ. {lgd}.</p>"
    )


def _figure(name: str, png: bytes | None, scenario: Scenario) -> str:
    from riskmodel.plotting.figures import RUN_FIGURE_CAPTIONS

    if png is None:
        return ""
    data = base64.b64encode(png).decode("ascii")
    caption = f"{scenario.name}: {RUN_FIGURE_CAPTIONS['stress_path']}"
    return (
        f'<figure><img src="data:image/png;base64,{data}" alt="{_e(caption)}">'
        f"<figcaption>{_e(caption)} (also <code>figures/{_e(name)}.png</code>)</figcaption>"
        "</figure>"
    )


def comparison_used_html(scenarios: Sequence[Scenario], figures: Mapping[str, bytes]) -> str:
    """Transition probabilities, portfolio and stress paths of the compared scenarios.

    Parameters
    ----------
    scenarios : sequence of Scenario
        The compared scenarios.
    figures : mapping of str to bytes
        Holding each scenario's stress-path figure under `stress_figure_name` (missing ones
        are left out).

    Returns
    -------
    str
        HTML (user strings escaped): tables shared by all scenarios shown once.
    """
    out = _grouped(scenarios, _matrices, "Transition probabilities")
    out += _grouped(
        scenarios,
        lambda sc: _portfolio(sc).replace("<h3>Portfolio by cohort</h3>", ""),
        "Portfolio by cohort",
    )
    out += _stress_table(scenarios)
    out += "".join(
        _figure(stress_figure_name(sc), figures.get(stress_figure_name(sc)), sc) for sc in scenarios
    )
    return out
