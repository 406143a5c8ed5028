"""Figures and HTML of the fit report (`riskmodel.report.fit.FitReport`).

The page uses the building blocks every report shares (`riskmodel.report.html`: inline CSS,
figures as data URIs, no scripts, no external resources, a table of contents, print styles).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from riskmodel.report.html import _e, _page, _section, _table, figure_html

if TYPE_CHECKING:
    from collections.abc import Mapping

    from riskmodel.report.fit import FitReport

__all__ = ["fit_figures", "render_fit_html", "slug"]

_COLOURS = {"ok": "#009E73", "exact": "#009E73", "check": "#D55E00"}
_MAX_ROWS = 40


def _on_axes(draw: Callable[..., Any]) -> Callable[[Any], Any]:
    """``draw`` bound to its data, taking the axes as ``ax=`` (what `render_png` passes)."""
    return lambda ax: draw(ax=ax)


def slug(name: str) -> str:
    """Return a file-name-safe form of a segment name (figures: ``<kind>_<k>_<slug>.png``)."""
    return re.sub(r"[^A-Za-z0-9_-]+", "-", str(name)).strip("-")[:40] or "segment"


# --------------------------------------------------------------------------- figures
def fit_figures(report: FitReport) -> dict[str, bytes]:
    """Draw the fit report's figures as PNG bytes by file stem.

    ``transitions_<k>_<segment>`` per segment, ``correlation`` (with a correlation),
    ``ppc_<k>_<segment>`` per segment and ``ppc_default_rates``.
    """
    from riskmodel.plotting.figures import render_png
    from riskmodel.plotting.fit import (
        plot_correlation_posterior,
        plot_ppc_default_rates,
        plot_ppc_destinations,
        plot_transition_posterior,
        render_figure_png,
    )

    ss = report.draws.states
    out: dict[str, bytes] = {}
    segments = list(report.info.get("segments", report.draws.segments))
    for k, seg in enumerate(segments, start=1):
        table = report.transitions[report.transitions["segment"] == seg]
        width = max(8.0, 1.3 * ss.n + 2.0)
        draw = partial(
            plot_transition_posterior, table, origins=ss.transient, destinations=ss.names,
            title=f"{seg}: posterior mean and 94% interval",
        )  # fmt: skip
        out[f"transitions_{k}_{slug(seg)}"] = render_png(
            _on_axes(draw), size=(width, 0.8 * len(ss.transient) + 1.8)
        )
    if report.correlation is not None:
        corr = report.correlation
        out["correlation"] = render_png(
            lambda ax: plot_correlation_posterior(corr["histogram"], corr, ax=ax), size=(8.0, 3.5)
        )
    if report.check is None:
        return out
    cells = report.check.cells
    for k, seg in enumerate(segments, start=1):
        sub = cells[(cells["segment"] == seg) & cells["included"]]
        if sub.empty:
            continue
        ppc = partial(
            plot_ppc_destinations,
            sub,
            title=f"{seg}: observed destination counts against the predictive",
        )
        out[f"ppc_{k}_{slug(seg)}"] = render_png(_on_axes(ppc), size=(9.5, 0.3 * len(sub) + 1.8))
    rates = report.check.default_rates
    shown = [s for s in segments if (rates["segment"] == s).any()]
    if shown:
        out["ppc_default_rates"] = render_figure_png(
            lambda fig: plot_ppc_default_rates(rates, fig=fig, segments=shown),
            size=(9.0, 1.9 * len(shown) + 1.0),
        )
    return out


def _caption(name: str) -> str:
    if name.startswith("transitions_"):
        return (
            "Posterior mean transition probabilities per origin (rows) and destination "
            "(columns), with their 94% intervals"
        )
    if name == "correlation":
        return "Posterior draws of the asset correlation ρ, its mean and 94% interval"
    if name == "ppc_default_rates":
        return (
            "Realised default rate per period (origins pooled) against its 94% posterior "
            "predictive band; diamonds lie outside"
        )
    return (
        "Each origin → destination count against its 94% posterior predictive interval, in "
        "predictive standard deviations; right: observed [interval] and predictive p-value"
    )


def _figure(name: str, png: bytes) -> str:
    return figure_html(name, png, _caption(name))


# --------------------------------------------------------------------------- numbers
def _fixed(value, digits: int) -> str:
    if value is None or not math.isfinite(float(value)):
        return "—"
    return f"{float(value):,.{digits}f}"


def _pct(value, digits: int = 1) -> str:
    if value is None or not math.isfinite(float(value)):
        return "—"
    return f"{100 * float(value):.{digits}f}%"


def _pvalue(p, replicates: int) -> str:
    """Format a Monte Carlo p-value; 0 means below the resolution of the replicates."""
    if p is None or not math.isfinite(float(p)):
        return "—"
    if float(p) < 1.0 / replicates:
        return f"< {1.0 / replicates:.2g}"
    return f"{float(p):.4f}"


def _status(s: str) -> str:
    return f'<b style="color:{_COLOURS.get(s, "#333")}">{_e(s)}</b>'


# --------------------------------------------------------------------------- sections
def _convergence_section(report: FitReport) -> str:
    def count(v) -> str:
        return "—" if v is None or v != v else f"{int(v):,}"

    rows = [
        (f'{_e(r.model)}<br><span class="se">{_e(r.method)}</span>',
         _e(r.group) + ("" if r.parameters is None or r.parameters != r.parameters
                        else f' <span class="se">({int(r.parameters):,})</span>'),
         _fixed(r.max_rhat, 3), _fixed(r.min_ess_bulk, 0), _fixed(r.min_ess_tail, 0),
         count(r.divergences), _status(r.status))
        for r in report.convergence.itertuples()
    ]  # fmt: skip
    head = ("model", "parameters", "max R-hat", "min ESS bulk", "min ESS tail",
            "divergences", "status")  # fmt: skip
    body = _table(head, rows, {2, 3, 4, 5})
    if report.remedies:
        items = "".join(f"<li>{_e(r)}</li>" for r in report.remedies)
        body += f"<p><b>Convergence failed.</b> Remedies:</p><ul>{items}</ul>"
    elif report.convergence["status"].eq("check").any():
        body += (
            "<p>A parameter group is marked <i>check</i> for its tail ESS: the tails of its "
            "intervals rest on few effective draws; refit with more draws.</p>"
        )
    elif report.convergence["status"].eq("exact").all():
        body += (
            "<p>Conjugate posterior: the draws are independent draws from the exact Dirichlet "
            "posterior, so no MCMC check is needed; their R-hat and ESS only show the Monte "
            "Carlo noise of a finite number of draws.</p>"
        )
    elif report.convergence["status"].eq("ok").any():
        body += (
            "<p>R-hat at most 1.01, bulk and tail ESS at least 100 per chain, no divergent "
            "transition: the chains agree.</p>"
        )
    else:
        body += "<p>Fitted without MCMC: no convergence check applies.</p>"
    return _section("Convergence", body)


def _transitions_section(report: FitReport, figures: Mapping[str, bytes]) -> str:
    pooling = report.info.get("pooling")
    text = (
        f"<p>Posterior mean and 94% interval (3% and 97% quantiles) of each transition "
        f"probability, per segment{f'; pooling {_e(pooling)}' if pooling else ''}"
        f"{'; at the average macro values of the fit' if report.info.get('covariates') else ''}"
        ". The full table is in <code>fit.json</code> (<code>transitions</code>) and in the "
        "posterior's <code>.summary.csv</code>.</p>"
    )
    figs = "".join(_figure(n, png) for n, png in figures.items() if n.startswith("transitions_"))
    return _section("Transition matrices", text + figs)


def _correlation_section(report: FitReport, figures: Mapping[str, bytes]) -> str:
    c = report.correlation
    assert c is not None  # the section is drawn only for a fit with a correlation
    rows = [(_fixed(c["mean"], 4), _fixed(c["sd"], 4), _fixed(c["lower"], 4),
             _fixed(c["upper"], 4), f"{c['draws']:,}")]  # fmt: skip
    body = _table(("mean", "sd", "3%", "97%", "draws"), rows, {0, 1, 2, 3, 4})
    if "correlation" in figures:
        body += _figure("correlation", figures["correlation"])
    return _section("Asset correlation", body)


def _ppc_summary(report: FitReport) -> str:
    chk = report.check
    assert chk is not None  # the section is drawn only for a fit with a predictive check
    names = {"destination_counts": "destination counts (segment × origin × destination)",
             "default_rate_period": "default rate per period (segment × period)",
             "all": "all cells"}  # fmt: skip
    rows = [
        (_e(names.get(r.check, r.check)), f"{r.cells:,}", f"{r.outside:,}", _pct(r.share),
         _pct(r.expected_share), _pct(r.nominal, 0), _fixed(r.p_value, 3),
         _status("check") if r.flagged else _status("ok"))
        for r in chk.summary.itertuples()
    ]  # fmt: skip
    head = ("check", "cells", "outside band", "share outside", "expected share",
            "nominal", "p-value", "verdict")  # fmt: skip
    factor = (
        " The predictive includes the systematic factor (one Z per period, posterior ρ), so a "
        "correlated book's spread of default rates is not flagged."
        if chk.correlated
        else ""
    )
    method = (
        f"<p>{chk.replicates:,} replicated panels, each from one posterior draw with the "
        f"observed number of customers per segment, origin and period; bands are central "
        f"{_pct(chk.level, 0)} predictive intervals.{factor} Counts are integers, so a band "
        "holds at least its nominal probability: the <i>expected share</i> outside is what a "
        "well-specified model gives here (at most the nominal "
        f"{_pct(1 - chk.level, 0)}). The p-value tests the cells outside against it (binomial); "
        "an in-sample check is conservative, so a share well above the expected one means "
        "misfit, a share below it does not.</p>"
    )
    return method + _table(head, rows, {1, 2, 3, 4, 5, 6})


def _ppc_outside(report: FitReport) -> str:
    chk = report.check
    assert chk is not None  # the section is drawn only for a fit with a predictive check
    cells, rates, reps = chk.cells, chk.default_rates, chk.replicates
    out_c = cells[cells["outside"]].sort_values("p_value").head(_MAX_ROWS)
    out_r = rates[rates["outside"]].sort_values("p_value").head(_MAX_ROWS)
    html = ""
    rows: list[tuple[str, ...]]
    head: tuple[str, ...]
    if not out_c.empty:
        rows = [
            (_e(r.segment), _e(r.from_state), _e(r.to_state), f"{int(r.n):,}",
             f"{int(r.observed):,}", _fixed(r.expected, 1),
             f"[{int(r.lower):,}, {int(r.upper):,}]", _pvalue(r.p_value, reps))
            for r in out_c.itertuples()
        ]  # fmt: skip
        head = ("segment", "from", "to", "customers", "observed", "predictive mean",
                "94% interval", "p-value")  # fmt: skip
        html += "<h3>Destination counts outside their band</h3>" + _table(
            head, rows, {3, 4, 5, 6, 7}
        )
    if not out_r.empty:
        rows = [
            (_e(r.segment), str(int(r.period)), f"{int(r.n):,}", _pct(r.observed, 2),
             _pct(r.expected, 2), f"[{_pct(r.lower, 2)}, {_pct(r.upper, 2)}]",
             _pvalue(r.p_value, reps))
            for r in out_r.itertuples()
        ]  # fmt: skip
        head = ("segment", "period", "customers", "default rate", "predictive mean",
                "94% band", "p-value")  # fmt: skip
        html += "<h3>Default rates outside their band</h3>" + _table(head, rows, {2, 3, 4, 5, 6})
    return html or "<p>Every cell lies inside its 94% predictive band.</p>"


def _ppc_section(report: FitReport, figures: Mapping[str, bytes]) -> str:
    if report.check is None:
        return _section(
            "Posterior predictive checks",
            "<p>Not run: the checks need the panel as transitions over the period of the "
            "draws (<code>customer_id, period, state</code>), and this fit's panel is observed "
            "at other times. Count it per period and call <code>rm.fit_report(outcome, "
            "counts)</code> with counts of dims (period, segment, from_state, to_state).</p>",
        )
    figs = "".join(_figure(n, png) for n, png in figures.items() if n.startswith("ppc_"))
    return _section(
        "Posterior predictive checks", _ppc_summary(report) + _ppc_outside(report) + figs
    )


def _lead(report: FitReport) -> str:
    info, chk = report.info, report.check
    conv = "converged" if report.converged else "NOT converged (see the remedies)"
    head = (
        f"{len(info['segments'])} segment(s), {len(info['states'])} states, "
        f"{info['posterior_draws']:,} posterior draws; {conv}."
    )
    if chk is None:
        return head + " No posterior predictive checks (no period panel)."
    allrow = chk.summary.set_index("check").loc["all"]
    ppc = "misfit flagged" if chk.flagged else "no misfit flagged"
    return (
        f"{head} Posterior predictive checks: "
        f"{int(allrow['outside'])} of {int(allrow['cells'])} cells outside their 94% band "
        f"({_pct(allrow['share'])}; expected {_pct(allrow['expected_share'])}, nominal "
        f"{_pct(allrow['nominal'], 0)}): {ppc}."
    )


def render_fit_html(
    report: FitReport, figures: Mapping[str, bytes], *, provenance: dict | None = None
) -> str:
    """Render the self-contained HTML page of a fit report.

    With a Provenance section when the ``provenance`` entry of ``fit.json`` is given.
    """
    from riskmodel.report.provenance_html import provenance_html

    sections = [_convergence_section(report), _transitions_section(report, figures)]
    if report.correlation is not None:
        sections.append(_correlation_section(report, figures))
    sections.append(_ppc_section(report, figures))
    if provenance is not None:
        summary = {"provenance": provenance, "seed": report.info.get("seed")}
        sections.append(_section("Provenance", provenance_html(summary)))
    return _page("Fit report", _lead(report), sections)
