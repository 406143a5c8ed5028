"""Write a run's folder (``summary.json``, ``results.nc``, ``figures/*.png``, ``report.html``,
``report.md``) and a scenario comparison's folder (``comparison.csv``, ``comparison.json``,
figures, report).

Folders are written atomically (`write_folder_atomic`): everything is built in a hidden temporary
sibling folder, which is then renamed into place. A failed or interrupted run leaves no trace,
and an earlier complete report in the same place stays untouched until the new one is complete.

The HTML report is self-contained (inline CSS, figures as base64 data URIs, no scripts, no
external resources), so it can be mailed or archived as one file. It is assembled from small
section builders (`_section_*`), each returning an HTML fragment. ``report.md`` repeats the
headline table with relative links to ``figures/*.png``, for pasting into documents. The figures
themselves are drawn by `riskmodel.plotting.figures`.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import json
import math
import os
import platform
import shutil
import tempfile
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import xarray as xr

from riskmodel.metrics.alerts import alerts_to_dict, evaluate_alerts
from riskmodel.metrics.compare import ComparisonResult
from riskmodel.metrics.result import SimulationResult
from riskmodel.metrics.risk import RiskMeasures, format_level
from riskmodel.scenarios.load import Scenario

__all__ = [
    "COMPARISON_SECTIONS",
    "SECTIONS",
    "OutputDirError",
    "build_summary",
    "check_output_dir",
    "render_comparison_html",
    "render_html",
    "render_markdown",
    "write_comparison_report",
    "write_folder_atomic",
    "write_run_report",
]

SECTIONS: tuple[str, ...] = (
    "Headline figures",
    "Scenario settings and stresses",
    "Loss distribution",
    "Term structure",
    "Risk contributions",
    "Early warnings",
    "Management actions",
    "Monte Carlo diagnostics",
    "Provenance",
)
"""Headings of the run report's sections, in order."""

COMPARISON_SECTIONS: tuple[str, ...] = (
    "Scenarios side by side",
    "Probability-weighted ECL",
    "Comparison figures",
    "Scenario settings",
    "Provenance",
)
"""Headings of the comparison report's sections, in order."""

# a folder holding one of these files is a riskmodel report that may be replaced
_MARKERS = ("summary.json", "comparison.json", "sensitivity.json")


class OutputDirError(ValueError):
    """The output folder cannot hold a report (a file is in the way, or it holds other data)."""


# --------------------------------------------------------------------------- output folder
def check_output_dir(out_dir: str | Path) -> Path:
    """Check that a report can be written to `out_dir` and return its absolute path.

    The folder may not exist yet (its parents are created when writing), may be empty, or may
    hold an earlier report (a ``summary.json`` or ``comparison.json``), which a new run replaces.
    Nothing is created.

    Raises
    ------
    OutputDirError
        If `out_dir` is a file, a folder with other contents, or under a path that cannot be
        created or written.
    """
    path = Path(out_dir).expanduser()
    path = path.resolve() if path.is_symlink() else Path(os.path.normpath(path.absolute()))
    if path.exists() and not path.is_dir():
        raise OutputDirError(
            f"{out_dir}: the output path exists and is not a folder; pass --out with a folder."
        )
    is_report = any((path / m).is_file() for m in _MARKERS)
    if path.is_dir() and any(path.iterdir()) and not is_report:
        raise OutputDirError(
            f"{out_dir}: the output folder exists and is not a riskmodel report (no "
            f"{' or '.join(_MARKERS)}); "
            "a run replaces its output folder, so choose a new or empty folder with --out."
        )
    ancestor = path.parent
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir() or not os.access(ancestor, os.W_OK | os.X_OK):
        raise OutputDirError(
            f"{out_dir}: cannot create the output folder under {ancestor} (not a writable "
            "folder); choose another place with --out."
        )
    return path


def _umask() -> int:
    try:  # Linux: read it without changing process state
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o022


def _swap_into_place(tmp: Path, out_dir: Path) -> None:
    """Rename the finished `tmp` folder to `out_dir`, replacing an earlier report."""
    umask = _umask()  # mkdtemp/mkstemp make private (0700/0600) entries: use the usual modes
    for path in [tmp, *tmp.rglob("*")]:
        os.chmod(path, (0o777 if path.is_dir() else 0o666) & ~umask)
    if not out_dir.exists():
        os.rename(tmp, out_dir)
        return
    old = out_dir.with_name(f".{out_dir.name}.old-{uuid.uuid4().hex[:8]}")
    os.rename(out_dir, old)
    try:
        os.rename(tmp, out_dir)
    except BaseException:
        os.rename(old, out_dir)
        raise
    shutil.rmtree(old, ignore_errors=True)


def write_folder_atomic(out_dir: str | Path, fill: Callable[[Path], None]) -> Path:
    """Build a report folder with `fill` in a temporary sibling, then swap it into place.

    Parameters
    ----------
    out_dir : str or Path
        The folder to write; checked with `check_output_dir`. Parents are created.
    fill : callable
        ``fill(folder)`` writes every file into the (empty, temporary) `folder`.

    Returns
    -------
    Path
        The absolute path of the folder.

    Raises
    ------
    OutputDirError
        If `out_dir` cannot hold a report. Any error of `fill` propagates; then nothing is left
        behind and an earlier report at `out_dir` is untouched.
    """
    out_dir = check_output_dir(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}.tmp-"))
    try:
        fill(tmp)
        _swap_into_place(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir


# --------------------------------------------------------------------------- summary.json
def _json_ready(value: Any) -> Any:
    """Plain JSON types; NaN/inf become null (JSON has no NaN)."""
    if isinstance(value, Mapping):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_ready(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str):  # numpy scalars
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    return value


def build_summary(
    result: SimulationResult, scenario: Scenario, extra: Mapping[str, Any] | None = None
) -> dict:
    """``result.summary()`` plus ``alerts`` (if the scenario has any), ``scenario_file``,
    ``inputs`` (file → SHA-256) and `extra`."""
    summary = result.summary()
    if scenario.config.alerts:
        summary["alerts"] = alerts_to_dict(evaluate_alerts(result, scenario.config.alerts))
    summary["scenario_file"] = None if scenario.source is None else str(scenario.source)
    summary["inputs"] = dict(scenario.inputs)
    summary.update(extra or {})
    return _json_ready(summary)


def _write_summary(folder: Path, summary: dict) -> None:
    text = json.dumps(summary, indent=2, allow_nan=False)
    (folder / "summary.json").write_text(text + "\n", encoding="utf-8")


# --------------------------------------------------------------------------- figures
def _write_figures(
    result: SimulationResult,
    folder: Path,
    measures: RiskMeasures,
    alerts: xr.Dataset | None = None,
) -> dict[str, bytes]:
    """Draw the figures to ``folder/*.png``; return name → PNG bytes (for embedding)."""
    from riskmodel.plotting.figures import run_figures

    folder.mkdir()
    out = run_figures(result, measures=measures, alerts=alerts)
    for name, png in out.items():
        (folder / f"{name}.png").write_bytes(png)
    return out


# --------------------------------------------------------------------------- HTML helpers
_CSS = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1a1a1a;
margin:0;background:#fafafa}
main{max-width:960px;margin:0 auto;padding:24px 32px 48px;background:#fff}
h1{font-size:1.6em;margin:0 0 4px}h2{font-size:1.2em;margin:32px 0 8px;padding-bottom:4px;
border-bottom:2px solid #0072B2}
p.lead{color:#555;margin:0 0 16px}
table{border-collapse:collapse;width:100%;margin:8px 0}
th,td{padding:5px 10px;border-bottom:1px solid #e5e5e5;text-align:left;vertical-align:top}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
th{background:#f2f6fa;font-weight:600}
span.se{color:#666;font-size:.9em}
code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.85em;word-break:break-all}
figure{margin:8px 0}figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{color:#555;font-size:.9em}
footer{margin-top:32px;color:#777;font-size:.85em}
"""


def _e(value: Any) -> str:
    """Escape any value for HTML text or attributes."""
    return html.escape(str(value), quote=True)


def _num(value: float | None, *, digits: int = 0) -> str:
    """Thousands-separated number; small numbers keep 4 significant digits; None/NaN → —."""
    if value is None or not math.isfinite(value):
        return "—"
    if abs(value) >= 100 or value == 0:
        return f"{value:,.{digits}f}"
    return f"{value:,.4g}"


def _with_se(value: float | None, se: float | None, *, digits: int = 0) -> str:
    text = _num(value, digits=digits)
    if se is None or not math.isfinite(se):
        return text
    return f'{text} <span class="se">± {_num(se, digits=digits)}</span>'


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]], numeric: set[int]) -> str:
    """A table; cells are given as HTML (escape user strings before)."""
    head = "".join(f"<th>{h}</th>" for h in header)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="num">{c}</td>' if i in numeric else f"<td>{c}</td>"
            for i, c in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _section(title: str, body: str) -> str:
    anchor = title.lower().replace(" ", "-")
    return f'<section id="{_e(anchor)}"><h2>{_e(title)}</h2>{body}</section>'


def _per_period_text(values, *, digits: int = 4, limit: int = 12) -> str:
    vals = [float(v) for v in values]
    if len(set(vals)) == 1:
        return f"{vals[0]:.{digits}g} in every period"
    shown = ", ".join(f"{v:.{digits}g}" for v in vals[:limit])
    more = f", … ({len(vals)} periods)" if len(vals) > limit else ""
    return f"[{shown}{more}]"


# --------------------------------------------------------------------------- sections
def _headline_rows(summary: dict) -> tuple[list[tuple[str, str]], list[tuple[str, str, str]]]:
    """(measure, value ± s.e.) rows and (level, VaR ± s.e., ES ± s.e.) rows, as HTML cells."""
    loss, se = summary["loss"], summary["loss"]["stderr"]
    rows = []
    if "expected_mc" in loss:  # EL is the engine's exact expectation; MC estimate beside it
        rows.append(("Expected loss (EL), exact", _num(loss["expected"])))
        rows.append(
            (
                "Expected loss, Monte Carlo estimate",
                _with_se(loss["expected_mc"], loss["stderr_mc"]),
            )
        )
    else:
        rows.append(("Expected loss (EL)", _with_se(loss["expected"], se["expected"])))
    rows.append(("Standard deviation of loss", _num(loss["std"])))
    if "ecl" in summary:
        rows.append(("ECL, lifetime (discounted)", _num(summary["ecl"]["lifetime"])))
        rows.append(("ECL, first 12 periods (discounted)", _num(summary["ecl"]["12_period"])))
    for key, label in (("defaults", "Expected defaults"), ("churn", "Expected churn")):
        block = summary[key]
        err = (block.get("stderr") or {}).get("expected")
        rows.append((f"{label} (customers)", _with_se(block["expected"], err, digits=1)))
    if "value" in summary:
        value = summary["value"]
        margin = _with_se(value["expected"], value["stderr"]["expected"])
        rows.append(("Expected discounted margin", margin))
    levels = [
        (
            f"{format_level(100 * float(q))}%",
            _with_se(loss["var"][q], se["var"].get(q)),
            _with_se(loss["es"][q], se["es"].get(q)),
        )
        for q in loss["var"]
    ]
    return rows, levels


def _section_headline(summary: dict) -> str:
    rows, levels = _headline_rows(summary)
    tables = _table(("Measure", "Value ± standard error"), rows, numeric={1}) + _table(
        ("Level", "VaR ± standard error", "ES ± standard error"), levels, numeric={1, 2}
    )
    note = (
        f"<p>Totals over {summary['horizon']} periods in currency units unless stated; "
        f"{summary['paths']:,} Monte Carlo paths; ± is one Monte Carlo standard error (exact "
        "figures have none). VaR is the loss quantile at the level, ES the mean loss beyond "
        "it.</p>"
    )
    return _section("Headline figures", tables + note)


def _section_settings(
    scenario: Scenario, result: SimulationResult, stresses: Mapping[str, Any] | None = None
) -> str:
    cfg, pf = scenario.config, scenario.portfolio
    corr = [float(c) for c in scenario.correlation]
    corr_text = f"{corr[0]:.4g}"
    if len(set(corr)) > 1:
        corr_text = f"mean {sum(corr) / len(corr):.4g} over {len(corr)} posterior draws"
    params = "point transition matrices"
    if scenario.n_draws > 1:
        params = f"{scenario.n_draws} posterior draws (one per path)"
    rows = {
        "Scenario": cfg.name,
        "Description": cfg.description or "—",
        "Horizon": f"{result.horizon} periods",
        "Paths": f"{result.paths:,}",
        "Seed": result.seed if result.seed is not None else "none (see provenance)",
        "Asset correlation ρ": corr_text,
        "Systematic shift (mean of Z)": _per_period_text(scenario.shift),
        "LGD": f"Beta, mean {cfg.lgd.mean:g}, sd {cfg.lgd.sd:g}",
        "Discount rate per period": _per_period_text(scenario.discount_rate),
        "Risk levels": ", ".join(format_level(q) for q in result.levels),
        "States": ", ".join(scenario.states.names),
        "Portfolio": f"{pf.n_cohorts} cohorts in segment(s) {', '.join(scenario.segments)}; "
        f"{pf.total_customers:,} customers; exposure {_num(pf.total_exposure)}",
        "Parameters": params,
    }
    table = _table(("Setting", "Value"), [(k, _e(v)) for k, v in rows.items()], numeric=set())
    return _section("Scenario settings and stresses", table + _stresses_html(stresses or {}))


def _stress_text(value: Any) -> str:
    """Plain text of one stress value: per-period lists compressed, mappings as key: value."""
    if value is None:
        return "none"
    if isinstance(value, Mapping):
        return "; ".join(f"{k}: {_stress_text(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        if all(isinstance(v, int | float) for v in value):
            return _per_period_text(value) if value else "none"
        return " | ".join(_stress_text(v) for v in value) if value else "none"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _stresses_html(stresses: Mapping[str, Any]) -> str:
    if not stresses:
        return "<p>The run records no stresses (a result saved before stresses were logged).</p>"
    rows = []
    for key, value in stresses.items():
        items = (
            value
            if isinstance(value, list) and value and isinstance(value[0], Mapping)
            else [value]
        )
        for item in items:
            rows.append((f"<code>{_e(key)}</code>", _e(_stress_text(item))))
    note = (
        "<p>Stresses applied, as the engine recorded them (<code>stresses</code> in "
        "<code>summary.json</code>; keys as in <code>scenarios/README.md</code>). Per-period "
        "lists repeat their last value to the horizon.</p>"
    )
    return "<h3>Stresses applied</h3>" + _table(("Stress", "Applied"), rows, numeric=set()) + note


def _figure(name: str, figures: Mapping[str, bytes]) -> str:
    """One embedded figure (a base64 data URI) with its caption; '' if it was not drawn."""
    from riskmodel.plotting.figures import RUN_FIGURE_CAPTIONS

    png = figures.get(name)
    if png is None:
        return ""
    data = base64.b64encode(png).decode("ascii")
    caption = RUN_FIGURE_CAPTIONS.get(name, name.replace("_", " "))
    return (
        f'<figure><img src="data:image/png;base64,{data}" alt="{_e(caption)}">'
        f"<figcaption>{_e(caption)} (also <code>figures/{_e(name)}.png</code>)</figcaption>"
        "</figure>"
    )


def _section_figures(figures: Mapping[str, bytes], title: str) -> str:
    return _section(title, "".join(_figure(name, figures) for name in figures))


def _section_term_structure(summary: dict, figures: Mapping[str, bytes]) -> str:
    names = ("loss_term_structure", "cumulative_default_rate", "stage_occupancy")
    body = "".join(_figure(n, figures) for n in names)
    by_state = (summary.get("ecl") or {}).get("by_state") or {}
    rows = [
        (
            _e(state),
            _num(v["customers"]),
            _num(v["12_period"]),
            _num(v["lifetime"]),
            f"{100 * v['lifetime_default_rate']:.3g}%",
        )
        for state, v in by_state.items()
        if v.get("customers")
    ]
    if rows:
        header = ("Starting state", "Customers", "ECL 12 periods", "ECL lifetime", "Default rate")
        body += "<h3>ECL by starting state</h3>" + _table(header, rows, numeric={1, 2, 3, 4})
        body += (
            "<p>Discounted exact expected loss of the cohorts that start in each state, over "
            "the first 12 periods and the whole horizon, and their expected share defaulting "
            "over the horizon (IFRS 9 reads stage 1's 12-month and stage 2's lifetime ECL off "
            "this table).</p>"
        )
    return _section("Term structure", body)


def _section_contributions(summary: dict, figures: Mapping[str, bytes]) -> str:
    contrib = summary.get("contributions")
    if not contrib:
        return _section("Risk contributions", "<p>No contributions were computed.</p>")
    se = contrib["stderr"]
    levels = list(contrib["var"])
    header = (
        "Segment",
        "EL ± s.e.",
        *(f"VaR {format_level(100 * float(q))}%" for q in levels),
        *(f"ES {format_level(100 * float(q))}%" for q in levels),
    )
    rows = []
    for seg in contrib["expected"]:
        rows.append(
            (
                _e(seg),
                _with_se(contrib["expected"][seg], se["expected"][seg]),
                *(_with_se(contrib["var"][q][seg], se["var"][q][seg]) for q in levels),
                *(_with_se(contrib["es"][q][seg], se["es"][q][seg]) for q in levels),
            )
        )
    total = contrib["total"]
    rows.append(
        (
            "<strong>Total</strong>",
            _num(total["expected"]),
            *(_num(total["var"][q]) for q in levels),
            *(_num(total["es"][q]) for q in levels),
        )
    )
    note = (
        "<p>Euler allocation per segment, estimated from the paths with their weights: EL is "
        "the segment's mean loss; ES the segment's mean loss in the tail beyond VaR (tail "
        "weights plus the atom at VaR, so the segments add up to ES exactly); VaR the segment's "
        "mean loss on paths whose total is near VaR (Gaussian kernel, rescaled to add up to "
        "VaR). See <code>riskmodel.metrics.contributions</code>.</p>"
    )
    table = _table(header, rows, numeric=set(range(1, len(header))))
    return _section("Risk contributions", _figure("contributions", figures) + table + note)


def _section_alerts(summary: dict, figures: Mapping[str, bytes]) -> str:
    alerts = summary.get("alerts") or {}
    if not alerts:
        body = "<p>No early-warning thresholds configured (scenario key <code>alerts:</code>).</p>"
        return _section("Early warnings", body)
    rows = []
    for name, a in alerts.items():
        first = a["first_period"]
        peak = a["max_probability"]
        rows.append(
            (
                _e(name),
                _e(a["metric"]),
                _num(a["threshold"]),
                f"{100 * a['confidence']:.3g}%",
                "—" if peak is None else f"{100 * peak:.3g}%",
                "never" if first is None else _e(first),
            )
        )
    header = ("Alert", "KPI", "Threshold", "Confidence", "Max. breach prob.", "First alarm")
    note = (
        "<p>Per period, the weighted share of paths on which the KPI exceeds its threshold; an "
        "alert fires in the first period where that probability reaches its confidence. Rates "
        "are per customer alive at the period start. Per-period probabilities with standard "
        "errors are in <code>summary.json</code> under <code>alerts</code>.</p>"
    )
    table = _table(header, rows, numeric={2, 3, 4, 5})
    return _section("Early warnings", _figure("alerts", figures) + table + note)


def _section_actions(summary: dict) -> str:
    actions = summary.get("actions") or {}
    if not actions:
        body = "<p>No management actions configured (scenario key <code>actions:</code>).</p>"
        return _section("Management actions", body)
    rows = []
    for name, a in actions.items():
        el, es, value = a["expected_loss"], a["es"], a["value"]
        rows.append(
            (
                _e(name),
                _e(a.get("type", "")),
                _num(el["change"]),
                _num(a["ecl_lifetime"]["change"]),
                _with_se(es["change"], es.get("stderr")),
                _num(value["gain"]),
                _num(a["cost"]),
                f"<strong>{_num(a['net_benefit'])}</strong>",
            )
        )
    level = next(iter(actions.values()))["es"]["level"]
    header = (
        "Action",
        "Type",
        "Δ EL",
        "Δ ECL lifetime",
        f"Δ ES {format_level(100 * float(level))}%",
        "Value gain",
        "Cost",
        "Net benefit",
    )
    note = (
        "<p>Each action against the same scenario without it, on the same paths (common random "
        "numbers); Δ = with − without, so a negative Δ is a reduction. Net benefit = value "
        "gain + ECL reduction − cost, all discounted exact expectations. Details in "
        "<code>summary.json</code> under <code>actions</code>.</p>"
    )
    return _section("Management actions", _table(header, rows, numeric=set(range(2, 8))) + note)


def _section_diagnostics(summary: dict, result: SimulationResult) -> str:
    diag = summary.get("diagnostics", {})
    paths = summary["paths"]
    ess = diag.get("effective_sample_size")
    loss = summary["loss"]
    se_el = loss.get("stderr_mc", loss["stderr"]["expected"])
    el_mc = loss.get("expected_mc", loss["expected"])
    rel = se_el / el_mc if se_el is not None and el_mc else None
    attrs = result.data.attrs
    replicates = int(attrs.get("qmc_replicates", 0) or 0)
    rows = [
        ("Paths", f"{paths:,}"),
        ("Effective sample size (Kish)", _num(ess)),
        ("ESS / paths", _num(ess / paths if ess else None)),
        (
            "Relative standard error of the Monte Carlo EL",
            "—" if rel is None else f"{100 * rel:.3g}%",
        ),
        ("Importance sampling", "yes" if diag.get("importance_sampling") else "no"),
    ]
    if diag.get("importance_sampling") and "is_shift" in result.data:
        method = attrs.get("importance_method", "")
        label = {
            "tilt": "Mean factor innovation under the IS tilt",
            "mixture": "Broad-downturn shift of the IS mixture",
        }.get(method, "Factor mean shift (IS)")
        rows.append((label, _e(_per_period_text(result.data["is_shift"].values))))
    rows += [
        (
            "Quasi-Monte Carlo",
            f"yes, {replicates} randomised replicates (standard errors from their spread)"
            if replicates
            else "no",
        ),
        ("Parameter draws", _num(diag.get("parameter_draws"))),
        ("Block size (paths per seeded block)", _num(diag.get("block_size"))),
    ]
    se = loss["stderr"]
    se_rows = [
        (
            f"{format_level(100 * float(q))}%",
            _num(se["var"].get(q)),
            _rel(se["var"].get(q), loss["var"][q]),
            _num(se["es"].get(q)),
            _rel(se["es"].get(q), loss["es"][q]),
        )
        for q in loss["var"]
    ]
    note = (
        "<p>Standard errors: EL and ES from the sample variance of the (weighted) per-path "
        "terms; VaR from the tail-probability variance times a Siddiqui–Bofinger estimate of "
        "the quantile density (see <code>riskmodel.metrics.risk</code>). Under importance "
        "sampling every path carries its likelihood-ratio weight; the Kish effective sample "
        "size (Σw)²/Σw² shows how many equally weighted paths the run is worth.</p>"
    )
    table = _table(("Diagnostic", "Value"), rows, numeric={1})
    se_table = _table(
        ("Level", "s.e. of VaR", "relative", "s.e. of ES", "relative"),
        se_rows,
        numeric={1, 2, 3, 4},
    )
    return _section("Monte Carlo diagnostics", table + se_table + note)


def _rel(se: float | None, value: float | None) -> str:
    if se is None or value in (None, 0) or not math.isfinite(se):
        return "—"
    return f"{100 * se / abs(value):.3g}%"


def _section_provenance(summary: dict, result: SimulationResult) -> str:
    inputs = summary.get("inputs") or {}
    rows = [(f"<code>{_e(f)}</code>", f"<code>{_e(h)}</code>") for f, h in inputs.items()]
    files = _table(("Input file", "SHA-256"), rows or [("—", "—")], numeric=set())
    seconds = summary.get("run_seconds")
    entropy = result.data.attrs.get("entropy", "")
    facts = [
        ("riskmodel version", _e(summary.get("riskmodel_version", ""))),
        ("Seed", _e(summary.get("seed") if summary.get("seed") is not None else "none")),
        ("Seed entropy", f"<code>{_e(entropy)}</code>"),
        ("Run time", "—" if seconds is None else f"{float(seconds):.2f} s"),
        ("Report written", _e(_dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC"))),
        ("Python / platform", _e(f"{platform.python_version()} / {platform.platform()}")),
    ]
    body = files + _table(("Item", "Value"), facts, numeric=set())
    return _section("Provenance", body)


def _page(title: str, lead: str, sections: list[str]) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body><main>"
        f'<header><h1>{_e(title)}</h1><p class="lead">{_e(lead)}</p></header>'
        + "".join(sections)
        + "<footer>Generated by riskmodel. Every figure is a Monte Carlo estimate; ± is one "
        "standard error.</footer></main></body></html>\n"
    )


def render_html(
    result: SimulationResult, scenario: Scenario, summary: dict, figures: Mapping[str, bytes]
) -> str:
    """The self-contained HTML report of one run."""
    sections = [
        _section_headline(summary),
        _section_settings(scenario, result, summary.get("stresses")),
        _section("Loss distribution", _figure("loss_distribution", figures)),
        _section_term_structure(summary, figures),
        _section_contributions(summary, figures),
        _section_alerts(summary, figures),
        _section_actions(summary),
        _section_diagnostics(summary, result),
        _section_provenance(summary, result),
    ]
    lead = scenario.config.description or f"Risk report of scenario {scenario.name}"
    return _page(f"riskmodel report: {scenario.name}", lead, sections)


def _md_cell(html_cell: str) -> str:
    """An HTML table cell as markdown text (tags dropped, entities unescaped, pipes escaped)."""
    import re

    text = html.unescape(re.sub(r"<[^>]+>", "", html_cell))
    return text.replace("|", "\\|")


def _md_table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|",
    ]
    lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def render_markdown(summary: dict, figures: Mapping[str, bytes]) -> str:
    """``report.md``: the headline tables and links to ``figures/*.png`` (relative paths)."""
    from riskmodel.plotting.figures import RUN_FIGURE_CAPTIONS

    rows, levels = _headline_rows(summary)
    seed = summary.get("seed")
    parts = [
        f"# riskmodel report: {summary['scenario']}",
        "",
        f"{summary['paths']:,} Monte Carlo paths, {summary['horizon']} periods, seed "
        f"{'none' if seed is None else seed}, riskmodel {summary.get('riskmodel_version', '')}. "
        "Currency units unless stated; ± is one Monte Carlo standard error. The full report "
        "is `report.html`; the figures are in `figures/`.",
        "",
        "## Headline figures",
        "",
        _md_table(("Measure", "Value ± standard error"), rows),
        "",
        _md_table(("Level", "VaR ± standard error", "ES ± standard error"), levels),
        "",
        "## Figures",
        "",
    ]
    for name in figures:
        caption = RUN_FIGURE_CAPTIONS.get(name, name.replace("_", " "))
        parts += [f"![{caption}](figures/{name}.png)", "", f"*{caption}.*", ""]
    return "\n".join(parts)


# --------------------------------------------------------------------------- entry point
def write_run_report(
    result: SimulationResult,
    scenario: Scenario,
    out_dir: str | Path,
    *,
    extra: Mapping[str, Any] | None = None,
) -> Path:
    """Write a run's folder atomically and return its path.

    Contents: ``summary.json`` (``result.summary()`` plus ``alerts``, ``scenario_file``,
    ``inputs`` and the entries of `extra`, e.g. ``run_seconds``), ``results.nc``,
    ``figures/*.png`` (loss distribution, loss term structure, cumulative default rate, stage
    occupancy, contributions and, with ``alerts:``, early warnings), a self-contained
    ``report.html`` and ``report.md`` (headline tables, links to the figures).

    Parameters
    ----------
    result : SimulationResult
    scenario : Scenario
        The scenario that was simulated (settings and input files for the report).
    out_dir : str or Path
        The run folder. Parent folders are created. An earlier report there is replaced only
        once the new one is complete.
    extra : mapping, optional
        JSON-ready entries added to ``summary.json`` (``run_seconds`` also shows in the report).

    Returns
    -------
    Path
        The absolute path of the run folder.

    Raises
    ------
    OutputDirError
        If `out_dir` is a file or a folder that is not an earlier report.

    Examples
    --------
    >>> import riskmodel as rm
    >>> sc = rm.load_scenario("scenarios/baseline.yaml")  # doctest: +SKIP
    >>> write_run_report(rm.simulate(sc, paths=2000), sc, "reports/baseline")  # doctest: +SKIP
    """

    def fill(tmp: Path) -> None:
        summary = build_summary(result, scenario, extra)
        _write_summary(tmp, summary)
        result.to_netcdf(tmp / "results.nc")
        alerts = evaluate_alerts(result, scenario.config.alerts) if scenario.config.alerts else None
        figures = _write_figures(result, tmp / "figures", result.risk(), alerts)
        html_text = render_html(result, scenario, summary, figures)
        (tmp / "report.html").write_text(html_text, encoding="utf-8")
        (tmp / "report.md").write_text(render_markdown(summary, figures), encoding="utf-8")

    return write_folder_atomic(out_dir, fill)


# --------------------------------------------------------------------------- comparison report
def _section_comparison_table(cmp: ComparisonResult) -> str:
    ds, levels = cmp.data, cmp.levels

    def cell(i: int, var: str, err: str, k: int | None = None, digits: int = 0) -> str:
        v, e = ds[var].values[i], ds[err].values[i]
        if k is not None:
            v, e = v[k], e[k]
        return _with_se(float(v), float(e), digits=digits)

    pct = [f"{format_level(100 * q)}%" for q in levels]
    risk_header = (
        "Scenario",
        "Weight",
        "EL",
        *(f"VaR {p}" for p in pct),
        *(f"ES {p}" for p in pct),
    )
    credit_header = ("Scenario", "ECL lifetime", "ECL 12 periods", "Defaults", "Churn", "Margin")
    risk_rows, credit_rows = [], []
    for i, name in enumerate(cmp.scenarios):
        weight = float(ds["weight"].values[i])
        risk_rows.append(
            (
                _e(name),
                "—" if math.isnan(weight) else f"{weight:g}",
                cell(i, "expected", "stderr_expected"),
                *(cell(i, "var", "stderr_var", k) for k in range(len(levels))),
                *(cell(i, "es", "stderr_es", k) for k in range(len(levels))),
            )
        )
        credit_rows.append(
            (
                _e(name),
                _num(float(ds["ecl_lifetime"].values[i])),
                _num(float(ds["ecl_12_period"].values[i])),
                cell(i, "expected_defaults", "stderr_defaults", digits=1),
                cell(i, "expected_churn", "stderr_churn", digits=1),
                cell(i, "expected_value", "stderr_value"),
            )
        )
    note = (
        f"<p>{int(ds.attrs['paths']):,} paths per scenario on common random numbers (the same "
        "seed, so path <i>i</i> sees the same innovations in every scenario): differences "
        "between scenarios are far more precise than each figure's own ± (one Monte Carlo "
        "standard error). Total loss over each scenario's horizon; ECL and margin discounted; "
        "defaults and churn in expected customers. The same figures are in "
        "<code>comparison.csv</code>.</p>"
    )
    tables = _table(risk_header, risk_rows, numeric=set(range(1, len(risk_header)))) + _table(
        credit_header, credit_rows, numeric=set(range(1, len(credit_header)))
    )
    return _section("Scenarios side by side", tables + note)


def _section_weighted_ecl(cmp: ComparisonResult) -> str:
    if cmp.weights is None:
        body = (
            "<p>No scenario weights given. Add a top-level <code>weight:</code> to every "
            "scenario file (weights summing to 1) for the probability-weighted ECL.</p>"
        )
        return _section("Probability-weighted ECL", body)
    rows = [
        ("ECL, lifetime (discounted)", _num(cmp.weighted_ecl)),
        ("ECL, first 12 periods (discounted)", _num(cmp.weighted_ecl_12_period)),
    ]
    terms = " + ".join(
        f"{w:g} × {_e(n)}" for n, w in zip(cmp.scenarios, cmp.weights.tolist(), strict=True)
    )
    note = f"<p>Σ weight × ECL over the scenarios: {terms} (IFRS 9 §5.5.17, B5.5.42).</p>"
    return _section(
        "Probability-weighted ECL", _table(("Measure", "Value"), rows, numeric={1}) + note
    )


def _section_comparison_settings(scenarios: Sequence[Scenario]) -> str:
    rows = [
        (
            _e(sc.name),
            _e(sc.config.description or "—"),
            _e(f"{sc.horizon}"),
            _e(_per_period_text(sc.shift)),
            f"<code>{_e(sc.source or '—')}</code>",
        )
        for sc in scenarios
    ]
    header = ("Scenario", "Description", "Horizon", "Systematic shift (mean of Z)", "File")
    return _section("Scenario settings", _table(header, rows, numeric={2}))


def _section_comparison_provenance(summary: dict, scenarios: Sequence[Scenario]) -> str:
    inputs = {f: h for sc in scenarios for f, h in sc.inputs.items()}
    rows = [(f"<code>{_e(f)}</code>", f"<code>{_e(h)}</code>") for f, h in inputs.items()]
    files = _table(("Input file", "SHA-256"), rows or [("—", "—")], numeric=set())
    seconds = summary.get("run_seconds")
    facts = [
        ("riskmodel version", _e(summary.get("riskmodel_version", ""))),
        ("Seed", _e(summary["seed"] if summary.get("seed") is not None else "none")),
        ("Seed entropy", f"<code>{_e(summary.get('entropy', ''))}</code>"),
        ("Run time", "—" if seconds is None else f"{float(seconds):.2f} s"),
        ("Report written", _e(_dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC"))),
        ("Python / platform", _e(f"{platform.python_version()} / {platform.platform()}")),
    ]
    return _section("Provenance", files + _table(("Item", "Value"), facts, numeric=set()))


def render_comparison_html(
    comparison: ComparisonResult,
    scenarios: Sequence[Scenario],
    summary: dict,
    figures: Mapping[str, bytes],
) -> str:
    """The self-contained HTML report of a scenario comparison."""
    sections = [
        _section_comparison_table(comparison),
        _section_weighted_ecl(comparison),
        _section_figures(figures, title="Comparison figures"),
        _section_comparison_settings(scenarios),
        _section_comparison_provenance(summary, scenarios),
    ]
    names = ", ".join(comparison.scenarios)
    return _page(f"riskmodel comparison: {names}", f"Scenarios side by side: {names}", sections)


def write_comparison_report(
    comparison: ComparisonResult,
    scenarios: Sequence[Scenario],
    out_dir: str | Path,
    *,
    extra: Mapping[str, Any] | None = None,
) -> Path:
    """Write a comparison folder atomically and return its path.

    Contents: ``comparison.csv`` (one row per scenario), ``comparison.json``
    (``comparison.to_dict()`` plus ``riskmodel_version``, ``scenario_files``, ``inputs`` and
    `extra`), ``figures/comparison.png``, ``figures/loss_distributions.png`` (overlaid
    distributions) and a self-contained ``report.html``.

    Parameters
    ----------
    comparison : ComparisonResult
        From `riskmodel.metrics.compare.compare_scenarios`.
    scenarios : sequence of Scenario
        The compared scenarios (settings and input files for the report).
    out_dir : str or Path
        The folder; an earlier report there is replaced only once the new one is complete.
    extra : mapping, optional
        JSON-ready entries added to ``comparison.json`` (e.g. ``run_seconds``).

    Returns
    -------
    Path

    Raises
    ------
    OutputDirError
        If `out_dir` is a file or a folder that is not an earlier report.

    Examples
    --------
    >>> from riskmodel.metrics.compare import compare_scenarios  # doctest: +SKIP
    >>> cmp = compare_scenarios(scenarios, paths=2000)  # doctest: +SKIP
    >>> write_comparison_report(cmp, scenarios, "reports/compare")  # doctest: +SKIP
    """
    from riskmodel import __version__

    def fill(tmp: Path) -> None:
        summary = {"riskmodel_version": __version__, **comparison.to_dict()}
        summary["scenario_files"] = {
            sc.name: None if sc.source is None else str(sc.source) for sc in scenarios
        }
        summary["inputs"] = {f: h for sc in scenarios for f, h in sc.inputs.items()}
        summary = _json_ready({**summary, **(extra or {})})
        comparison.to_dataframe().to_csv(tmp / "comparison.csv")
        text = json.dumps(summary, indent=2, allow_nan=False)
        (tmp / "comparison.json").write_text(text + "\n", encoding="utf-8")
        figures = _write_comparison_figures(comparison, tmp / "figures")
        html_text = render_comparison_html(comparison, scenarios, summary, figures)
        (tmp / "report.html").write_text(html_text, encoding="utf-8")

    return write_folder_atomic(out_dir, fill)


def _write_comparison_figures(comparison: ComparisonResult, folder: Path) -> dict[str, bytes]:
    from riskmodel.plotting.figures import comparison_figures

    folder.mkdir()
    out = comparison_figures(comparison)
    for name, png in out.items():
        (folder / f"{name}.png").write_bytes(png)
    return out
