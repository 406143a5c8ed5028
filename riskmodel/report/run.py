"""Write a run's folder.

``summary.json``, ``results.nc``, ``figures/*.png``, ``report.html`` and ``report.md``.

The HTML report is assembled from small section builders (`riskmodel.report.run_sections`),
each returning an HTML fragment, in the order of `SECTIONS`. ``report.md`` repeats the headline
table with relative links to ``figures/*.png``, for pasting into documents. The figures are
drawn by `riskmodel.plotting.figures`; the folder is written atomically by
`riskmodel.report.files.write_folder_atomic`.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from riskmodel.metrics.result import SimulationResult
from riskmodel.report.assumptions import assumptions_html
from riskmodel.report.files import scenario_files, write_folder_atomic
from riskmodel.report.html import (
    _figure,
    _page,
    _section,
)
from riskmodel.report.model_risk import model_risk_html, scenario_convergence
from riskmodel.report.run_sections import (
    _headline_rows,
    _section_actions,
    _section_alerts,
    _section_contributions,
    _section_diagnostics,
    _section_headline,
    _section_provenance,
    _section_settings,
    _section_term_structure,
)
from riskmodel.report.summary import RunStatistics, _write_summary, build_summary
from riskmodel.report.used import stress_figure, what_was_used_html
from riskmodel.scenarios.load import Scenario

__all__ = ["SECTIONS", "render_html", "render_markdown", "write_run_report"]

SECTIONS: tuple[str, ...] = (
    "Headline figures",
    "Scenario settings and stresses",
    "Assumptions and limitations",
    "What was used",
    "Loss distribution",
    "Term structure",
    "Risk contributions",
    "Early warnings",
    "Management actions",
    "Model risk",
    "Monte Carlo diagnostics",
    "Provenance",
)
"""Headings of the run report's sections, in order."""


# --------------------------------------------------------------------------- figures
def _write_figures(
    result: SimulationResult, folder: Path, stats: RunStatistics
) -> dict[str, bytes]:
    """Draw the figures to ``folder/*.png``; return name → PNG bytes (for embedding).

    `stats` are the statistics ``summary.json`` reports, drawn as they are.
    """
    from riskmodel.plotting.figures import run_figures

    folder.mkdir()
    out = run_figures(
        result, measures=stats.loss, contributions=stats.contributions, alerts=stats.alerts
    )
    for name, png in out.items():
        (folder / f"{name}.png").write_bytes(png)
    return out


# --------------------------------------------------------------------------- sections


def render_html(
    result: SimulationResult, scenario: Scenario, summary: dict, figures: Mapping[str, bytes]
) -> str:
    """Return the self-contained HTML report of one run."""
    sections = [
        _section_headline(summary, churn=scenario.states.churn is not None),
        _section_settings(scenario, result, summary.get("stresses")),
        _section("Assumptions and limitations", assumptions_html(scenario, result)),
        _section("What was used", what_was_used_html(scenario, figures)),
        _section("Loss distribution", _figure("loss_distribution", figures)),
        _section_term_structure(summary, figures),
        _section_contributions(summary, figures),
        _section_alerts(summary, figures),
        _section_actions(summary),
        _section("Model risk", model_risk_html(summary, scenario)),
        _section_diagnostics(summary, result),
        _section_provenance(summary, result),
    ]
    lead = scenario.config.description or f"Risk report of scenario {scenario.name}"
    return _page(f"riskmodel report: {scenario.name}", lead, sections)


def _md_cell(html_cell: str) -> str:
    """Turn an HTML table cell into markdown (tags dropped, entities unescaped, pipes escaped)."""
    import re

    text = html.unescape(re.sub(r"<[^>]+>", "", html_cell))
    return text.replace("|", "\\|")


def _md_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
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
        "Currency units unless stated; figures marked exact are exact expectations of the model, "
        "± is one Monte Carlo standard error. The full report is `report.html`; the figures are "
        "in `figures/`.",
        "",
        "## Headline figures",
        "",
        _md_table(("Measure", "Value (exact, or ± standard error)"), rows),
        "",
        _md_table(("Level", "VaR ± standard error", "ES ± standard error"), levels),
        "",
    ]
    if summary.get("model_risk"):  # a posterior run: the split of its tail (report.html)
        parts += ["## Model risk", "", summary["model_risk"]["sentence"], ""]
    parts += [
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
    command: Sequence[str] | None = None,
) -> Path:
    """Write a run's folder atomically and return its path.

    Contents: ``summary.json`` (``result.summary()`` plus ``alerts``, ``posterior_convergence``
    (for a run on a posterior file: `riskmodel.models.posterior_convergence`), ``scenario_file``,
    ``inputs`` (relative to the scenario's folder), ``entropy``, ``provenance`` and the
    entries of `extra`, e.g. ``run_seconds``), ``results.nc``,
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
    command : sequence of str, optional
        The command-line arguments (recorded in ``provenance.command``).

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
        stats = RunStatistics.of(result, scenario)  # once, for summary.json and the figures
        summary = build_summary(result, scenario, extra, command=command, stats=stats)
        convergence = scenario_convergence(scenario)  # of the posterior file, if any
        if convergence is not None:
            summary["posterior_convergence"] = convergence
        _write_summary(tmp, summary)
        result.to_netcdf(tmp / "results.nc")
        figures = _write_figures(result, tmp / "figures", stats)
        figures["stress_path"] = stress_figure(scenario)
        (tmp / "figures" / "stress_path.png").write_bytes(figures["stress_path"])
        html_text = render_html(result, scenario, summary, figures)
        (tmp / "report.html").write_text(html_text, encoding="utf-8")
        (tmp / "report.md").write_text(render_markdown(summary, figures), encoding="utf-8")

    return write_folder_atomic(out_dir, fill, kind="run", inputs=scenario_files(scenario))
