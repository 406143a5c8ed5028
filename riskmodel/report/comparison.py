"""Write a scenario comparison's folder.

``comparison.csv``, ``comparison.json``, figures and a self-contained ``report.html`` with the
sections of `COMPARISON_SECTIONS`.

The folder is written atomically (`riskmodel.report.files.write_folder_atomic`); the figures are
drawn by `riskmodel.plotting.figures`; the sections' builders are in
`riskmodel.report.comparison_sections` (tables) and `riskmodel.report.comparison_context`
(assumptions, what was used).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from riskmodel.metrics.compare import ComparisonResult
from riskmodel.report.comparison_context import (
    comparison_assumptions_html,
    comparison_used_html,
    stress_figures,
)
from riskmodel.report.comparison_sections import (
    _error_bar_note,
    _section_comparison_settings,
    _section_comparison_table,
    _section_differences,
    _section_weighted_ecl,
)
from riskmodel.report.files import _json_ready, scenario_files, shown_path, write_folder_atomic
from riskmodel.report.html import _page, _section, _section_figures
from riskmodel.report.provenance import provenance, relative_inputs
from riskmodel.report.provenance_html import provenance_html
from riskmodel.scenarios.load import Scenario

__all__ = ["COMPARISON_SECTIONS", "render_comparison_html", "write_comparison_report"]

COMPARISON_SECTIONS: tuple[str, ...] = (
    "Scenarios side by side",
    "Differences from the baseline",
    "Probability-weighted ECL",
    "Comparison figures",
    "Scenario settings",
    "Assumptions and limitations",
    "What was used",
    "Provenance",
)
"""Headings of the comparison report's sections, in order."""


def _differences_wide(cmp: ComparisonResult):
    """``difference_<metric>`` and ``stderr_difference_<metric>`` per scenario (the baseline 0)."""
    import pandas as pd

    frame = cmp.differences
    if frame is None or frame.empty:
        return None
    wide = frame.pivot(index="scenario", columns="metric", values=["difference", "stderr"])
    metrics = list(dict.fromkeys(frame["metric"]))
    cols = {}
    for m in metrics:
        cols[f"difference_{m}"] = wide[("difference", m)]
        cols[f"stderr_difference_{m}"] = wide[("stderr", m)]
    out = pd.DataFrame(cols).reindex(cmp.scenarios)
    out.loc[str(frame["baseline"].iloc[0])] = 0.0
    return out


def _section_comparison_provenance(summary: dict, scenarios: Sequence[Scenario]) -> str:
    return _section("Provenance", provenance_html(summary))


def render_comparison_html(
    comparison: ComparisonResult,
    scenarios: Sequence[Scenario],
    summary: dict,
    figures: Mapping[str, bytes],
    stresses: Mapping[str, bytes] | None = None,
) -> str:
    """Return the self-contained HTML report of a scenario comparison.

    `figures` are the comparison figures; `stresses` each scenario's stress-path figure by
    `riskmodel.report.comparison_context.stress_figure_name` (shown under "What was used").
    """
    sections = [
        _section_comparison_table(
            comparison, churn=any(sc.states.churn is not None for sc in scenarios)
        ),
        _section_differences(comparison),
        _section_weighted_ecl(comparison),
        _section_figures(figures, title="Comparison figures").replace(
            "</section>", _error_bar_note(comparison) + "</section>", 1
        ),
        _section_comparison_settings(scenarios),
        _section("Assumptions and limitations", comparison_assumptions_html(comparison, scenarios)),
        _section("What was used", comparison_used_html(scenarios, stresses or {})),
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
    command: Sequence[str] | None = None,
) -> Path:
    """Write a comparison folder atomically and return its path.

    Contents: ``comparison.csv`` (one row per scenario, with ``difference_<metric>`` and
    ``stderr_difference_<metric>`` from the baseline), ``comparison.json``
    (``comparison.to_dict()`` plus ``riskmodel_version``, ``scenario_files``, ``inputs`` and
    `extra`), ``figures/comparison.png``, ``figures/differences.png``,
    ``figures/loss_distributions.png`` (overlaid distributions),
    ``figures/stress_path_<scenario>.png`` and a self-contained ``report.html``.

    Parameters
    ----------
    comparison : ComparisonResult
        From `riskmodel.compare_scenarios`.
    scenarios : sequence of Scenario
        The compared scenarios (settings and input files for the report).
    out_dir : str or Path
        The folder; an earlier report there is replaced only once the new one is complete.
    extra : mapping, optional
        JSON-ready entries added to ``comparison.json`` (e.g. ``run_seconds``).
    command : sequence of str, optional
        The command-line arguments (recorded in ``provenance.command``).

    Returns
    -------
    Path

    Raises
    ------
    OutputDirError
        If `out_dir` is a file or a folder that is not an earlier report.

    Examples
    --------
    >>> from riskmodel import compare_scenarios  # doctest: +SKIP
    >>> cmp = compare_scenarios(scenarios, paths=2000)  # doctest: +SKIP
    >>> write_comparison_report(cmp, scenarios, "reports/compare")  # doctest: +SKIP
    """
    from riskmodel import __version__

    def fill(tmp: Path) -> None:
        summary = {"riskmodel_version": __version__, **comparison.to_dict()}
        summary["scenario_files"] = {sc.name: shown_path(sc.source) for sc in scenarios}
        summary["inputs"] = {
            f: h
            for sc in scenarios
            for f, h in relative_inputs(
                sc.inputs, None if sc.source is None else Path(sc.source).parent
            ).items()
        }
        summary["provenance"] = provenance(
            seed=summary.get("seed"),
            entropy=summary.get("entropy"),
            inputs=summary["inputs"],
            command=command,
        )
        summary = _json_ready({**summary, **(extra or {})})
        frame = comparison.to_dataframe()
        wide = _differences_wide(comparison)
        if wide is not None:
            frame = frame.join(wide)
        frame.to_csv(tmp / "comparison.csv")
        text = json.dumps(summary, indent=2, allow_nan=False)
        (tmp / "comparison.json").write_text(text + "\n", encoding="utf-8")
        figures = _write_comparison_figures(comparison, tmp / "figures")
        stresses = stress_figures(scenarios)
        for name, png in stresses.items():
            (tmp / "figures" / f"{name}.png").write_bytes(png)
        html_text = render_comparison_html(comparison, scenarios, summary, figures, stresses)
        (tmp / "report.html").write_text(html_text, encoding="utf-8")

    inputs = scenario_files(*scenarios)
    return write_folder_atomic(out_dir, fill, kind="comparison", inputs=inputs)


def _write_comparison_figures(comparison: ComparisonResult, folder: Path) -> dict[str, bytes]:
    from riskmodel.plotting.figures import comparison_figures

    folder.mkdir()
    out = comparison_figures(comparison)
    for name, png in out.items():
        (folder / f"{name}.png").write_bytes(png)
    return out
