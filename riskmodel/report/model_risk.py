"""The run report's "Model risk" section.

Parameter versus process risk, and the convergence of the posterior used.

Everything shown is read from ``summary.json``: ``model_risk`` (`SimulationResult.model_risk`,
present for a run with several posterior draws) and ``posterior_convergence``
(`riskmodel.models.posterior_convergence`, present for a run on a posterior file).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from riskmodel.metrics.risk import format_level
from riskmodel.models.posterior_convergence import posterior_convergence
from riskmodel.report.html import _e, _exact, _num, _table, _with_se
from riskmodel.scenarios.load import Scenario

__all__ = ["model_risk_html", "posterior_file", "scenario_convergence"]


def posterior_file(scenario: Scenario) -> Path | None:
    """Return the posterior file a scenario read (``parameters: posterior``), or None."""
    name = scenario.config.parameters.posterior
    if not name:
        return None
    want = Path(str(name)).as_posix().lstrip("./")
    for path in scenario.inputs:
        if Path(path).as_posix().endswith(want):
            return Path(path)
    base = Path(scenario.source).parent if scenario.source is not None else Path.cwd()
    return base / str(name)


def scenario_convergence(scenario: Scenario) -> dict[str, Any] | None:
    """`posterior_convergence` of the scenario's posterior file (None without a posterior)."""
    path = posterior_file(scenario)
    return None if path is None else posterior_convergence(path)


def _pct(share: float | None, se: float | None = None) -> str:
    if share is None:
        return "—"
    text = f"{100 * share:.3g}%"
    if se is not None:
        text += f' <span class="se">± {100 * se:.2g} pts</span>'
    return text


def _variance_html(block: dict) -> str:
    v = block["variance"]
    se = v["stderr"]
    mc = v["mc"]
    rows = [
        (
            "Parameter risk, Var<sub>d</sub>(E[L | d])",
            _exact(v["parameter"]),
            _with_se(mc["parameter"], se.get("parameter_mc")),
            _pct(v["parameter_share"], se.get("parameter_share")),
        ),
        (
            "Process risk, E<sub>d</sub>[Var(L | d)]",
            _with_se(v["process"], se.get("process")),
            _with_se(mc["process"], se.get("process")),
            _pct(v["process_share"], se.get("parameter_share")),
        ),
        (
            "Total variance of loss",
            _num(v["total"]),
            _with_se(mc["total"], se.get("total_mc")),
            "100%",
        ),
    ]
    header = ("Part", "Variance (parameter part exact)", "Monte Carlo estimate", "Share")
    note = (
        f"<p>Law of total variance across the {v['draws']:,} posterior draws "
        f"({v['draws_used']:,} used by the paths). The parameter part is exact, from the exact "
        "expected loss of each draw; the process part is the weighted mean of (L − E[L | d])² "
        "over the paths. The Monte Carlo column estimates the parameter part as the weighted "
        "covariance of each path's loss with its draw's expected loss, a cross-check of the "
        f"exact figure. Variances in currency units squared (the standard deviation of loss is "
        f"their square root, {_num((v['total'] or 0.0) ** 0.5)}).</p>"
    )
    return "<h3>Loss variance</h3>" + _table(header, rows, numeric={1, 2, 3}) + note


def _levels_html(block: dict) -> str:
    rows = [
        (
            f"{format_level(100 * float(s['level']))}%",
            _with_se(s["es_minus_el"], s.get("stderr_es_minus_el")),
            _with_se(s["es_minus_el_at_mean"], s.get("stderr_es_minus_el_at_mean")),
            f"<strong>{_pct(s['parameter_share'], s.get('stderr'))}</strong>",
            _pct(s["var_parameter_share"], s.get("stderr_var")),
        )
        for s in block["levels"]
    ]
    header = (
        "Level",
        "ES − EL",
        "ES − EL at posterior mean",
        "Parameter share of ES − EL",
        "Same for VaR − EL",
    )
    note = (
        "<p>The run against the same scenario at the posterior mean (per segment the mean "
        "transition matrices, rows renormalised, and the mean asset correlation), on the same "
        "paths: same factor paths, weights and random stream (common random numbers). "
        "Parameter share = 1 − (ES − EL at the posterior mean) / (ES − EL), with EL the exact "
        "expected loss of each run; ± one paired standard error in percentage points. "
        f"EL {_num(block['expected'])} (exact); at the posterior mean "
        f"{_num(block['expected_at_posterior_mean'])} (exact). VaR − EL of both runs is in "
        "<code>summary.json</code> under <code>model_risk.levels</code>.</p>"
    )
    return "<h3>Tail above EL</h3>" + _table(header, rows, numeric={1, 2, 3, 4}) + note


def _threshold_cell(value: float | None, ok: bool | None, digits: str) -> str:
    if value is None:
        return "not recorded"
    text = format(value, digits)
    return text if ok in (None, True) else f"<strong>{text}</strong> ✗"


def _convergence_html(conv: dict) -> str:
    th = conv["thresholds"]
    rows = []
    for name, m in conv["models"].items():
        label = _e(name.replace("_", " "))
        if m["verdict"] == "exact":
            rows.append((label, "—", "—", "—", "—", "exact (conjugate)"))
            continue
        need = m["min_ess_required"]
        rhat, bulk, tail, div = (
            m.get(k) for k in ("max_rhat", "min_ess_bulk", "min_ess_tail", "divergences")
        )
        rows.append(
            (
                label,
                _threshold_cell(rhat, rhat is None or rhat <= th["max_rhat"], ".3f"),
                _threshold_cell(bulk, bulk is None or bulk >= need, ",.0f"),
                _threshold_cell(tail, tail is None or tail >= need, ",.0f"),
                _threshold_cell(div, div is None or div <= th["max_divergences"], "d"),
                _e(m["verdict"]),
            )
        )
    per_chain = th["min_ess_bulk_per_chain"]
    header = (
        "Model",
        f"R-hat ≤ {th['max_rhat']}",
        f"Bulk ESS ≥ {per_chain}/chain",
        f"Tail ESS ≥ {th['min_ess_tail_per_chain']}/chain",
        f"Divergences ≤ {th['max_divergences']}",
        "Verdict",
    )
    verdict = conv["verdict"]
    body = f"<p>Verdict: <strong>{_e(verdict)}</strong>."
    if conv.get("source"):
        body += f" Read from <code>{_e(conv['source'])}</code>."
    if conv.get("note"):
        body += f" {_e(conv['note'])}."
    body += "</p>"
    if rows:
        body += _table(header, rows, numeric={1, 2, 3, 4})
    if conv.get("failed"):
        items = "".join(f"<li>{_e(f)}</li>" for f in conv["failed"])
        body += (
            f"<p>Failed checks:</p><ul>{items}</ul><p>Figures that rest on this posterior, the "
            "parameter share above among them, are less certain than their standard errors "
            "say: refit with more tuning and draws (<code>riskmodel fit … --draws N</code>) "
            "until every check passes.</p>"
        )
    body += (
        "<p>Each cell is the worst value over the model's parameters (largest R-hat, smallest "
        "ESS), ✗ where it fails its threshold: R-hat at most 1.01 and bulk and tail ESS at "
        "least 100 per chain (Vehtari et al. 2021), no divergent transition.</p>"
    )
    return "<h3>Convergence of the posterior used</h3>" + body


def model_risk_html(summary: dict, scenario: Scenario) -> str:
    """Body of the "Model risk" section (the caller wraps it in the section)."""
    block = summary.get("model_risk")
    conv = summary.get("posterior_convergence")
    if block:
        body = f"<p><strong>{_e(block['sentence'])}</strong></p>"
        body += _levels_html(block) + _variance_html(block)
    elif conv is not None and scenario.n_draws <= 1:
        body = (
            "<p>This run used the posterior mean (<code>simulation: {parameter_uncertainty: "
            "false}</code>): its figures carry no parameter uncertainty, so there is nothing to "
            "split. Run with <code>parameter_uncertainty: true</code> to measure it.</p>"
        )
    elif scenario.n_draws > 1:
        body = (
            "<p>The run was simulated without its posterior-mean counterfactual "
            "(<code>model_risk=False</code>), so parameter and process risk are not split.</p>"
        )
    else:
        body = (
            "<p>Point parameters: the run has no parameter uncertainty, so its loss risk is all "
            "process risk. Use <code>parameters: {posterior: FILE}</code> to include "
            "estimation error.</p>"
        )
    if conv is not None:
        body += _convergence_html(conv)
    return body
