"""The sections of the run report (`riskmodel.report.run`).

Headline, settings, stresses, term structure, contributions, early warnings, management actions,
Monte Carlo diagnostics and provenance: each takes the ``summary.json`` contents (and the
figures) and returns an HTML fragment. The Monte Carlo diagnostics are built in
`riskmodel.report.run_diagnostics` (re-exported here).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from riskmodel.metrics.result import SimulationResult
from riskmodel.metrics.risk import format_level
from riskmodel.report.html import (
    _e,
    _exact,
    _expected,
    _figure,
    _num,
    _per_period_text,
    _section,
    _table,
    _with_se,
)
from riskmodel.report.provenance_html import provenance_html
from riskmodel.report.run_diagnostics import _section_diagnostics as _section_diagnostics
from riskmodel.scenarios.factors import per_factor_text
from riskmodel.scenarios.load import Scenario

HEADLINE_EXPECTATIONS: tuple[tuple[str, str, int], ...] = (
    ("loss", "Expected loss (EL)", 0),
    ("defaults", "Expected defaults (customers)", 1),
    ("churn", "Expected churn (customers)", 1),
    ("value", "Expected discounted margin (value)", 0),
    ("value_lost_to_churn", "Expected value lost to churn (discounted)", 0),
)
"""(summary key, label, decimals) of the expectations in the headline table, in order."""


def _expectation_rows(summary: dict, keys: tuple[str, ...]) -> list[tuple[str, str]]:
    """Each expectation, exact (labelled so), with its Monte Carlo cross-check ± s.e. below."""
    rows = []
    for key, label, digits in HEADLINE_EXPECTATIONS:
        block = summary.get(key) if key in keys else None
        if not block:
            continue
        rows.append((label, _expected(block, digits=digits)))
        if block.get("method") == "exact" and "expected_mc" in block:
            mc = _with_se(block["expected_mc"], block.get("stderr_mc"), digits=digits)
            rows.append((f"&nbsp;&nbsp;Monte Carlo cross-check of {label[9:]}", mc))
    return rows


def _headline_rows(
    summary: dict, *, churn: bool = True
) -> tuple[list[tuple[str, str]], list[tuple[str, str, str]]]:
    """(measure, value) rows and (level, VaR ± s.e., ES ± s.e.) rows, as HTML cells.

    Every expectation shows its exact value marked "exact" and the Monte Carlo cross-check
    with "± s.e." (`HEADLINE_EXPECTATIONS`); other Monte Carlo figures carry their ± s.e.
    Without a churn state (`churn` False) the churn rows are left out.
    """
    loss, se = summary["loss"], summary["loss"]["stderr"]
    rows = _expectation_rows(summary, ("loss",))
    rows.append(("Standard deviation of loss", _num(loss["std"])))
    if "ecl" in summary:
        ecl = summary["ecl"]
        cell = _exact if ecl.get("exact", True) else _num
        rows.append(("Lifetime ECL (discounted)", cell(ecl["lifetime"])))
        rows.append(("12-month ECL (discounted)", cell(ecl.get("12_month", ecl["12_period"]))))
    more = ("defaults", "churn", "value", "value_lost_to_churn") if churn else ("defaults", "value")
    rows += _expectation_rows(summary, more)
    levels = [
        (
            f"{format_level(100 * float(q))}%",
            _with_se(loss["var"][q], se["var"].get(q)),
            _with_se(loss["es"][q], se["es"].get(q)),
        )
        for q in loss["var"]
    ]
    return rows, levels


def _section_headline(summary: dict, *, churn: bool = True) -> str:
    rows, levels = _headline_rows(summary, churn=churn)
    tables = _table(("Measure", "Value (exact, or ± standard error)"), rows, numeric={1}) + _table(
        ("Level", "VaR ± standard error", "ES ± standard error"), levels, numeric={1, 2}
    )
    note = (
        f"<p>Totals over {summary['horizon']} periods in currency units unless stated; "
        f"{summary['paths']:,} Monte Carlo paths. Figures marked exact are exact expectations of "
        "the model (no Monte Carlo error); each is followed by its Monte Carlo cross-check, the "
        "self-normalised estimate from the paths, ± one standard error. VaR is the loss quantile "
        "at the level, ES the mean loss beyond it.</p>"
    )
    return _section("Headline figures", tables + note)


def _section_settings(
    scenario: Scenario, result: SimulationResult, stresses: Mapping[str, Any] | None = None
) -> str:
    cfg = scenario.config
    if scenario.factors is not None:  # sector factors (issue 15)
        corr_text = scenario.factors.describe(scenario.segments)
    else:
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
        "Systematic shift (mean of Z)": per_factor_text(
            scenario.shift, scenario.factors, _per_period_text
        ),
        "LGD": f"Beta, mean {cfg.lgd.mean:g}, sd {cfg.lgd.sd:g}",
        "Discount rate per period": _per_period_text(scenario.discount_rate),
        "Risk levels": ", ".join(format_level(q) for q in result.levels),
        "States": ", ".join(scenario.states.names),
        "Portfolio": _portfolio_text(scenario),
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
        "<code>summary.json</code>; keys as in <code>docs/scenario_format.md</code>). Per-period "
        "lists repeat their last value to the horizon.</p>"
    )
    return "<h3>Stresses applied</h3>" + _table(("Stress", "Applied"), rows, numeric=set()) + note


def _section_term_structure(summary: dict, figures: Mapping[str, bytes]) -> str:
    names = ("loss_term_structure", "cumulative_default_rate", "stage_occupancy")
    body = "".join(_figure(n, figures) for n in names)
    by_state = (summary.get("ecl") or {}).get("by_state") or {}
    rows = [
        (
            _e(state),
            _num(v["customers"]),
            _num(v.get("12_month", v["12_period"])),
            _num(v["lifetime"]),
            f"{100 * v['lifetime_default_rate']:.3g}%",
        )
        for state, v in by_state.items()
        if v.get("customers")
    ]
    if rows:
        header = ("Starting state", "Customers", "12-month ECL", "Lifetime ECL", "Default rate")
        body += "<h3>ECL by starting state</h3>" + _table(header, rows, numeric={1, 2, 3, 4})
        body += (
            "<p>Discounted exact expected loss of the cohorts that start in each state, over "
            "the first 12 months and the whole horizon, and their expected share defaulting "
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
    # EL per segment: the exact value and the same self-normalised cross-check as the headline
    by_segment = (summary.get("expectations") or {}).get("by_segment", {}).get("loss", {})
    exact = by_segment.get("exact") or {}
    mc = by_segment.get("mc") or contrib["expected"]
    mc_se = by_segment.get("stderr_mc") or se["expected"]
    header = (
        "Segment",
        "EL, exact",
        "EL, Monte Carlo ± s.e.",
        *(f"VaR {format_level(100 * float(q))}%" for q in levels),
        *(f"ES {format_level(100 * float(q))}%" for q in levels),
    )
    rows = []
    for seg in contrib["expected"]:
        rows.append(
            (
                _e(seg),
                _exact(exact[seg]) if seg in exact else "—",
                _with_se(mc[seg], mc_se[seg]),
                *(_with_se(contrib["var"][q][seg], se["var"][q][seg]) for q in levels),
                *(_with_se(contrib["es"][q][seg], se["es"][q][seg]) for q in levels),
            )
        )
    total = contrib["total"]
    rows.append(
        (
            "<strong>Total</strong>",
            _exact(summary["loss"]["expected"]) if exact else "—",
            _with_se(summary["loss"].get("expected_mc"), summary["loss"].get("stderr_mc")),
            *(_num(total["var"][q]) for q in levels),
            *(_num(total["es"][q]) for q in levels),
        )
    )
    note = (
        "<p>Euler allocation per segment, estimated from the paths with their weights: EL is "
        "the segment's mean loss (its exact expectation in the first column); ES the segment's "
        "mean loss in the tail beyond VaR (tail weights plus the atom at VaR, so the segments "
        "add up to ES exactly); VaR the segment's mean loss on paths whose total is near VaR "
        "(Gaussian kernel, rescaled to add up to VaR). See "
        "<code>riskmodel.metrics.contributions</code>.</p>"
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
        "Δ Lifetime ECL",
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


def _section_provenance(summary: dict, result: SimulationResult) -> str:
    return _section("Provenance", provenance_html(summary))


def _portfolio_text(scenario: Scenario) -> str:
    """Cohorts (and named exposures, counted apart: they are the portfolio's last rows)."""
    pf = scenario.portfolio
    n_names = 0 if scenario.names is None else len(scenario.names.table)
    book = f"{pf.n_cohorts - n_names} cohorts"
    if n_names:
        book += f" and {n_names} named exposure{'s' if n_names > 1 else ''}"
    return (
        f"{book} in segment(s) {', '.join(scenario.segments)}; {pf.total_customers:,} "
        f"customers; exposure {_num(pf.total_exposure)}"
    )
