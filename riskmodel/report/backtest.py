"""Files of a backtest folder.

``backtest.json``, ``backtest.csv``, ``figures/*.png`` and a self-contained ``report.html``
(inline CSS, figures as data URIs, like the run report).

`fill_backtest_folder` writes them into a folder; the CLI hands it to
`riskmodel.report.files.write_folder_atomic`, which builds the folder in a temporary sibling and
swaps it into place.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from riskmodel.plotting.backtest import plot_pit_histogram, plot_reliability
from riskmodel.plotting.figures import render_png
from riskmodel.report.files import fill_report_folder
from riskmodel.report.html import _e, _num, _page, _section, _table, figure_html
from riskmodel.validation import BacktestResult

__all__ = ["backtest_figures", "fill_backtest_folder", "render_backtest_html"]

CAPTIONS = {
    "pit_histogram": "PIT histogram of the default counts per period, segment and origin; flat "
    "within the grey 95% band when the predictive is calibrated",
    "reliability": "Realised against predicted default rate, cells grouped by predicted PD "
    "(equal customers per group); on the diagonal when calibrated",
}
_COLOURS = {"green": "#009E73", "amber": "#E69F00", "red": "#D55E00"}


def backtest_figures(result: BacktestResult) -> dict[str, bytes]:
    """PNG bytes of the backtest figures, by file stem."""
    return {
        "pit_histogram": render_png(lambda ax: plot_pit_histogram(result.pit_histogram(), ax=ax)),
        "reliability": render_png(lambda ax: plot_reliability(result.reliability_curve(), ax=ax)),
    }


def _verdict(v: str) -> str:
    return f'<b style="color:{_COLOURS.get(v, "#333")}">{_e(v)}</b>'


def _flagged_row(r) -> tuple[str, ...]:
    period = "" if pd.isna(r.period) else str(r.period)  # None, NaN or pandas' NA
    return (
        _e(r.segment),
        _e(r.from_state),
        _e(r.to_state),
        _e(period),
        _e(r.test),
        _num(r.observed),
        _num(r.expected),
        _num(r.p_value),
        _num(r.p_adjusted),
        _verdict(r.verdict),
    )


def _figure(name: str, png: bytes) -> str:
    return figure_html(name, png, CAPTIONS[name])


def render_backtest_html(result: BacktestResult, figures: dict[str, bytes]) -> str:
    """Return the self-contained HTML report of a backtest."""
    th = result.thresholds
    info = result.info
    lead = (
        f"Overall verdict: {result.overall}. {len(result.tests)} tests on "
        f"{info.get('transitions', 0):,} transitions, {len(info.get('segments', []))} segments, "
        f"{len(info.get('periods', []))} periods; {info.get('posterior_draws')} posterior draws"
        f"{', systematic factor mixed in' if info.get('correlated') else ''}."
    )
    rule = (
        f"<p>Verdicts use Holm-adjusted p-values over all tests except the traffic-light view: "
        f"red below {th['alpha_red']}, amber below {th['alpha_amber']}. The overall verdict is "
        "the worst; a panel drawn from the model is red with probability at most "
        f"{th['alpha_red']}.</p>"
    )
    summ = result.summary()
    rows = [
        (_e(t), *(str(int(summ.loc[t, z])) for z in ("green", "amber", "red")), _verdict(w))
        for t, w in summ["worst"].items()
    ]
    body = rule + _table(("test", "green", "amber", "red", "worst"), rows, {1, 2, 3})
    flagged = result.tests[result.tests["verdict"] != "green"].sort_values("p_adjusted")
    frows = [_flagged_row(r) for r in flagged.head(50).itertuples()]
    head = ("segment", "from", "to", "period", "test", "observed", "expected", "p", "p (Holm)",
            "verdict")  # fmt: skip
    flagged_html = _table(head, frows, {5, 6, 7, 8}) if frows else "<p>No test is amber or red.</p>"
    cal = result.calibration
    crows = [
        (_e(r.segment), _num(r.transitions), _num(r.brier), _num(r.brier_naive),
         _num(r.brier_skill), _num(r.log_score), _num(r.log_score_naive), _num(r.log_skill))
        for r in cal.itertuples()
    ]  # fmt: skip
    cal_head = ("segment", "transitions", "Brier", "Brier naive", "skill", "log score",
                "log naive", "skill")  # fmt: skip
    sections = [
        _section("Verdicts", body),
        _section("Amber and red tests", flagged_html),
        _section("Calibration", _table(cal_head, crows, set(range(1, 8)))),
        _section("Figures", "".join(_figure(n, png) for n, png in figures.items())),
    ]
    return _page("Backtest", lead, sections)


def fill_backtest_folder(
    result: BacktestResult, folder: Path, *, inputs: dict | None = None
) -> None:
    """Write ``backtest.json`` (with `inputs`), ``backtest.csv``, figures and ``report.html``."""
    content = result.to_dict()
    if inputs:
        content["inputs"] = inputs
    figures = backtest_figures(result)
    fill_report_folder(
        Path(folder),
        content=content,
        json_name="backtest.json",
        figures=figures,
        html=render_backtest_html(result, figures),
        table=result.to_dataframe(),
        table_name="backtest.csv",
    )
