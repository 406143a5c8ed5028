"""Every report folder riskmodel writes: run, comparison, fit, sensitivity, backtest, loan ECL.

A run's: ``summary.json``, ``results.nc``, ``figures/*.png``, ``report.html``, ``report.md``;
a comparison's: ``comparison.csv``, ``comparison.json``, figures, report.

Folders are written atomically (`write_folder_atomic`): everything is built in a hidden temporary
sibling folder, which is then renamed into place. A failed or interrupted run leaves no trace,
and an earlier complete report in the same place stays untouched until the new one is complete.
Each folder holds ``.riskmodel-manifest.json`` (every file with its SHA-256); riskmodel replaces a
folder only when the manifest proves it holds nothing but riskmodel's own files, unchanged, and
refuses anything else naming the foreign files (`riskmodel.report.safety`).

The HTML report is self-contained (inline CSS, figures as base64 data URIs, no scripts, no
external resources), so it can be mailed or archived as one file. ``report.md`` repeats the
headline table with relative links to ``figures/*.png``, for pasting into documents. The figures
themselves are drawn by `riskmodel.plotting.figures`.

Modules
-------
Folders on disk: ``files`` (the atomic write every report uses), ``safety`` (what riskmodel may
delete or replace, the manifest), ``locks`` (locks and stale temporary folders), ``html`` (the one
page, number format, tables and figures every report uses), ``provenance`` and
``provenance_html`` (versions, commit, command line, input hashes).

run, run_sections, run_diagnostics, assumptions, used, model_risk, summary, headline
    The run report: its folder, sections, ``summary.json`` and the headline table.
comparison, comparison_sections, comparison_context
    The scenario comparison report.
fit, fit_content, fit_html, convergence
    The fit report of a fitted model on its own panel.
sensitivity, backtest, models, loans
    The sensitivity, backtest, model-comparison and loan-level ECL folders.
"""

from __future__ import annotations

# besides the public API, the private helpers that `riskmodel.report.sensitivity` and the tests
# import from here are re-exported (`name as name`)
from riskmodel.report.comparison import (
    COMPARISON_SECTIONS,
    render_comparison_html,
    write_comparison_report,
)
from riskmodel.report.files import (
    OutputDirError,
    check_output_dir,
    write_folder_atomic,
)
from riskmodel.report.files import _json_ready as _json_ready
from riskmodel.report.html import _CSS as _CSS
from riskmodel.report.html import _num as _num
from riskmodel.report.run import SECTIONS, render_html, render_markdown, write_run_report
from riskmodel.report.summary import build_summary

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
