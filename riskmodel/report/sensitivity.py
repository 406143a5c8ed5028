"""Write a sensitivity analysis's folder.

``sensitivity.json``, ``sensitivity.csv``, ``figures/tornado.png``, ``figures/sobol.png`` and a
self-contained ``report.html``.

The folder is written atomically, as run reports are (`riskmodel.report`): built in a hidden
temporary sibling and swapped into place, so an interrupted run leaves no trace and an earlier
sensitivity report stays untouched until the new one is complete. A folder may be replaced only
if it is empty or holds an earlier riskmodel report whose manifest lists every file in it,
unchanged (`riskmodel.report.files`).

This module only renders: the driver that loads a scenario, runs the analyses and calls
`write_sensitivity_report` is `riskmodel.api.run_sensitivity_report` (above the report layer).
"""

from __future__ import annotations

import datetime as _dt
import html
import io
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from riskmodel.plotting.sensitivity import metric_label
from riskmodel.report import (
    _CSS,
    _json_ready,
    check_output_dir,
    write_folder_atomic,
)
from riskmodel.report.files import scenario_files
from riskmodel.scenarios.load import Scenario
from riskmodel.sensitivity import SensitivityResult

__all__ = [
    "MARKER",
    "check_sensitivity_dir",
    "method_text",
    "metric_label",
    "render_sensitivity_html",
    "write_sensitivity_report",
]

MARKER = "sensitivity.json"
"""A folder holding this file is a sensitivity report that a new one may replace."""


def check_sensitivity_dir(out_dir: str | Path, *, inputs=()) -> Path:
    """Check that a sensitivity folder can be written to `out_dir`; return its absolute path.

    Same rules as every report folder (`riskmodel.report.check_output_dir`): new, empty, or an
    earlier riskmodel report that its manifest proves holds nothing else, which is replaced only
    once the new one is complete. `inputs`: files the analysis reads (never inside `out_dir`).
    """
    return check_output_dir(out_dir, inputs=inputs)


# --------------------------------------------------------------------------- figures
def _figure_png(result: SensitivityResult, kind: str) -> bytes:
    from matplotlib.figure import Figure  # no pyplot: no global state, no GUI backend

    from riskmodel.plotting.sensitivity import plot_sobol, plot_tornado
    from riskmodel.plotting.style import plot_style

    plot = plot_tornado if kind == "tornado" else plot_sobol
    metrics = result.metrics
    rows = len(result.factors)
    with plot_style():
        fig = Figure(figsize=(8, len(metrics) * (1.4 + 0.55 * rows)), layout="constrained")
        axes = fig.subplots(len(metrics), 1, squeeze=False)[:, 0]
        for ax, metric in zip(axes, metrics, strict=True):
            plot(result, metric=metric, ax=ax)
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
    return buf.getvalue()


# --------------------------------------------------------------------------- HTML
def _num(value: Any, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    v = float(value)
    if v != 0 and (abs(v) >= 1e5 or abs(v) < 1e-3):
        return f"{v:,.0f}" if abs(v) >= 1e5 else f"{v:.3g}"
    return f"{v:,.{digits}g}"


def method_text(block: Mapping[str, Any]) -> str:
    """How a metric was computed, from its `SensitivityResult.to_dict` block.

    ``exact`` (no Monte Carlo error), the engine's Monte Carlo estimate, or the large-pool model
    with the largest relative difference to the engine measured at the tornado points.
    """
    method = block.get("method")
    if method == "exact":
        return "exact"
    if method == "large_pool":
        err = block.get("large_pool_error")
        measured = "" if err is None else f", measured error against the engine at most {err:.2%}"
        return f"large-pool model{measured}"
    return "Monte Carlo estimate"


_HEADERS = {
    "factor": "Factor",
    "low": "Low",
    "high": "High",
    "value_low": "Metric at low",
    "value_high": "Metric at high",
    "swing": "Swing",
    "stderr": "Swing s.e.",
    "S1": "S1",
    "S1_conf": "S1 ± (CI)",
    "ST": "ST",
    "ST_conf": "ST ± (CI)",
}
"""Readable column headers of the per-metric tables."""


def _column_formatter(values: list[Any], column: str):
    """Choose one number format per column.

    Indices with 3 decimals, levels as given, metric values with thousands separators and the
    same decimals down the column.
    """
    if column in ("S1", "S1_conf", "ST", "ST_conf"):
        return lambda v: "—" if not _finite(v) else f"{float(v):.3f}"
    if column in ("low", "high"):
        return lambda v: "—" if not _finite(v) else f"{float(v):g}"
    finite = [abs(float(v)) for v in values if _finite(v)]
    top = max(finite, default=0.0)
    digits = 0 if top >= 100 or top == 0 else (2 if top >= 1 else 4)
    return lambda v: "—" if not _finite(v) else f"{float(v):,.{digits}f}"


def _finite(v: Any) -> bool:
    return v is not None and isinstance(v, int | float) and math.isfinite(float(v))


def _metric_table(rows: list[dict], *, tornado: bool, sobol: bool) -> str:
    cols = ["factor", "low", "high"]
    if tornado:
        cols += ["value_low", "value_high", "swing", "stderr"]
    if sobol:
        cols += ["S1", "S1_conf", "ST", "ST_conf"]
    head = "".join(f"<th>{html.escape(_HEADERS.get(c, c))}</th>" for c in cols)
    fmt = {c: _column_formatter([r[c] for r in rows], c) for c in cols[1:]}
    body = []
    for row in rows:
        name = html.escape(str(row["factor"]))
        cells = [f'<td><code style="white-space:nowrap;word-break:normal">{name}</code></td>']
        cells += [f'<td class="num">{fmt[c](row[c])}</td>' for c in cols[1:]]
        body.append("<tr>" + "".join(cells) + "</tr>")
    table = f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    return f'<div class="table-wrap">{table}</div>'


SETTING_LABELS = {
    "scenario": "Scenario",
    "methods": "Methods",
    "parameter_draws": "Parameter draws",
    "tornado_paths": "Tornado: paths per run",
    "tornado_seed": "Tornado: seed",
    "tornado_entropy": "Tornado: entropy",
    "tornado_bootstrap": "Tornado: bootstrap resamples",
    "sobol_n": "Sobol: base sample n",
    "sobol_evaluations": "Sobol: evaluations n (k + 2)",
    "sobol_paths": "Sobol: paths per evaluation",
    "sobol_seed": "Sobol: seed",
    "sobol_entropy": "Sobol: entropy",
    "sobol_conf_level": "Sobol: confidence level",
    "sobol_resamples": "Sobol: bootstrap resamples",
    "sobol_estimator": "Sobol: estimator (saltelli: SALib; surrogate: polynomial chaos)",
    "sobol_groups": "Sobol: path groups for the Monte Carlo error",
    "approximation": "Simulated metrics on (none: the engine; large_pool: the large-pool model)",
    "check_paths": "Engine paths per tornado point measuring the large-pool error",
    "constant_metrics": "Metrics constant over the design",
}
"""Readable names of the settings table, in its order (unknown keys last, as they are)."""
_ORDER = {key: i for i, key in enumerate(SETTING_LABELS)}


def _setting_text(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def render_sensitivity_html(
    result: SensitivityResult, scenario: Scenario, figures: Mapping[str, bytes]
) -> str:
    """Return the self-contained HTML report (inline CSS, base64 figures, no scripts)."""
    import base64

    d = result.to_dict()
    e = html.escape
    sections = []
    settings = d["settings"]
    items = "".join(
        f"<tr><th>{e(SETTING_LABELS.get(k, k))}</th><td>{e(_setting_text(v))}</td></tr>"
        for k, v in sorted(settings.items(), key=lambda kv: _ORDER.get(kv[0], len(_ORDER)))
        if v not in (None, "", [])
    )
    sections.append(f"<section><h2>Settings</h2><table>{items}</table></section>")
    for metric, block in d["metrics"].items():
        table = _metric_table(block["factors"], tornado=result.has_tornado, sobol=result.has_sobol)
        base = _num(block["base"]) if result.has_tornado else "—"
        fit = block.get("surrogate_q2")
        fit_text = "" if fit is None else f" Sobol surrogate fit: Q² {fit:.5f}."
        sections.append(
            f'<section><h2>{e(metric_label(metric))}</h2><p class="lead">metric '
            f"<code>{e(metric)}</code>, base value {base} ({e(method_text(block))}); factors "
            f"ranked by importance.{e(fit_text)}</p>{table}</section>"
        )
    captions = {
        "tornado": "Tornado: metric with each factor at its low/high value (±2 standard errors "
        "on common random numbers)",
        "sobol": "Sobol first-order (S1) and total (ST) indices with confidence intervals",
    }
    for name, png in figures.items():
        data = base64.b64encode(png).decode("ascii")
        sections.append(
            f"<section><h2>{e(name.title())} figure</h2><figure>"
            f'<img alt="{e(captions[name])}" src="data:image/png;base64,{data}">'
            f"<figcaption>{e(captions[name])}</figcaption></figure></section>"
        )
    source = "in-memory scenario" if scenario.source is None else str(scenario.source)
    stamp = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>riskmodel sensitivity: {e(scenario.name)}</title><style>{_CSS}</style></head>"
        f"<body><main><header><h1>Sensitivity analysis: {e(scenario.name)}</h1>"
        f'<p class="lead">Scenario {e(source)}; written {e(stamp)}. Exact metrics have no '
        "Monte Carlo error; swings of simulated metrics carry paired standard errors; each "
        "metric states its method.</p>"
        "</header>" + "".join(sections) + "<footer>Generated by riskmodel.</footer>"
        "</main></body></html>\n"
    )


# --------------------------------------------------------------------------- entry points
def write_sensitivity_report(
    result: SensitivityResult,
    scenario: Scenario,
    out_dir: str | Path,
    *,
    extra: Mapping[str, Any] | None = None,
) -> Path:
    """Write a sensitivity folder atomically and return its absolute path.

    Contents: ``sensitivity.json`` (`SensitivityResult.to_dict` plus ``scenario``,
    ``scenario_file``, ``inputs`` and `extra`), ``sensitivity.csv`` (`to_dataframe`),
    ``figures/tornado.png`` and ``figures/sobol.png`` (for the methods that were run) and a
    self-contained ``report.html``.

    Raises
    ------
    OutputDirError
        If `out_dir` is a file, a protected place, or a folder holding anything riskmodel did
        not write (see `riskmodel.report.check_output_dir`).

    Examples
    --------
    >>> write_sensitivity_report(res, sc, "reports/baseline-sensitivity")  # doctest: +SKIP
    """

    def fill(tmp: Path) -> None:
        payload = result.to_dict()
        payload["scenario"] = scenario.name
        payload["scenario_file"] = None if scenario.source is None else str(scenario.source)
        payload["inputs"] = dict(scenario.inputs)
        payload.update(extra or {})
        text = json.dumps(_json_ready(payload), indent=2, allow_nan=False)
        (tmp / MARKER).write_text(text + "\n", encoding="utf-8")
        result.to_dataframe().to_csv(tmp / "sensitivity.csv", index=False)
        (tmp / "figures").mkdir()
        figures: dict[str, bytes] = {}
        for kind in ("tornado", "sobol"):
            if kind in result.methods:
                figures[kind] = _figure_png(result, kind)
                (tmp / "figures" / f"{kind}.png").write_bytes(figures[kind])
        page = render_sensitivity_html(result, scenario, figures)
        (tmp / "report.html").write_text(page, encoding="utf-8")

    inputs = scenario_files(scenario)
    return write_folder_atomic(out_dir, fill, kind="sensitivity", inputs=inputs)
