"""The Monte Carlo diagnostics section of the run report (`riskmodel.report.run`).

Paths, the Kish effective sample size, the relative standard error of the Monte Carlo EL,
importance sampling (and its factor shift), quasi-Monte Carlo replicates, parameter draws and
block size; then the standard errors of VaR and ES per level, absolute and relative. Everything
is read from the ``summary.json`` contents and the result's attributes; nothing is estimated.
"""

from __future__ import annotations

import math

from riskmodel.metrics.result import SimulationResult
from riskmodel.metrics.risk import format_level
from riskmodel.report.html import _e, _num, _per_period_text, _section, _table


def _section_diagnostics(summary: dict, result: SimulationResult) -> str:
    note = (
        "<p>Standard errors: EL and ES from the sample variance of the (weighted) per-path "
        "terms; VaR from the tail-probability variance times a Siddiqui–Bofinger estimate of "
        "the quantile density (see <code>riskmodel.metrics.risk</code>). Under importance "
        "sampling every path carries its likelihood-ratio weight; the Kish effective sample "
        "size (Σw)²/Σw² shows how many equally weighted paths the run is worth.</p>"
    )
    table = _table(("Diagnostic", "Value"), _diagnostic_rows(summary, result), numeric={1})
    se_table = _table(
        ("Level", "s.e. of VaR", "relative", "s.e. of ES", "relative"),
        _stderr_rows(summary["loss"]),
        numeric={1, 2, 3, 4},
    )
    return _section("Monte Carlo diagnostics", table + se_table + note)


def _diagnostic_rows(summary: dict, result: SimulationResult) -> list[tuple[str, str]]:
    """Rows of the diagnostics table: paths, ESS, relative s.e. of EL, IS, QMC, draws, block."""
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
    return rows


def _stderr_rows(loss: dict) -> list[tuple[str, str, str, str, str]]:
    """Per level: the standard errors of VaR and ES, absolute and relative to the measure."""
    se = loss["stderr"]
    return [
        (
            f"{format_level(100 * float(q))}%",
            _num(se["var"].get(q)),
            _rel(se["var"].get(q), loss["var"][q]),
            _num(se["es"].get(q)),
            _rel(se["es"].get(q), loss["es"][q]),
        )
        for q in loss["var"]
    ]


def _rel(se: float | None, value: float | None) -> str:
    if se is None or value in (None, 0) or not math.isfinite(se):
        return "—"
    return f"{100 * se / abs(value):.3g}%"
