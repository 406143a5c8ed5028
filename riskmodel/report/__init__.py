"""Write a run's folder and a scenario comparison's folder.

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
files
    The atomic folder write, the output-folder check, the lock and ``summary.json``.
safety
    The manifest, protected places, OS errors as messages, signals held back during a swap.
html
    HTML helpers shared by every report: escaping, numbers, tables, sections, the page.
run
    The run report: its sections, `render_html`, `render_markdown`, `write_run_report`.
comparison
    The scenario comparison report: `render_comparison_html`, `write_comparison_report`.
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
