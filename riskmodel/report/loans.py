"""The folder of a loan-level ECL: per-loan table, summary, figures and report, streamed.

``ecl_by_loan.csv`` (and ``ecl_by_loan.parquet`` when pyarrow can be imported), ``summary.json``,
``figures/*.png`` and a self-contained ``report.html`` (inline CSS, figures as data URIs, like the
other reports).

`write_loan_ecl_report` builds the folder through `riskmodel.report.files.write_folder_atomic`
(a temporary sibling swapped into place; manifest; a folder riskmodel did not write is refused).
The tape is read, computed and written one chunk at a time (`riskmodel.ecl.api.stream_loan_ecl`),
so memory does not grow with the number of loans; the per-loan CSV is formatted with numpy
(`riskmodel.ecl.fastcsv`), in fixed point: amounts with 6 decimals, PDs with 12.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from riskmodel.ecl.api import stream_loan_ecl
from riskmodel.ecl.compute import OUTPUT_COLUMNS, ChunkResult
from riskmodel.ecl.fastcsv import Column, csv_bytes, header_bytes
from riskmodel.ecl.plan import EclPlan
from riskmodel.ecl.result import Totals
from riskmodel.ecl.staging import REASONS
from riskmodel.ecl.tape import CHUNK_ROWS
from riskmodel.plotting.figures import render_png
from riskmodel.plotting.loan_ecl import plot_booked_ecl, plot_cumulative_pd
from riskmodel.report.files import fill_report_folder, shown_path, write_folder_atomic
from riskmodel.report.html import _e, _num, _page, _section, _table, figure_html

__all__ = [
    "CSV_NAME",
    "PARQUET_NAME",
    "fill_loan_ecl_folder",
    "loan_ecl_figures",
    "render_loan_ecl_html",
    "write_loan_ecl_report",
]

CSV_NAME = "ecl_by_loan.csv"
PARQUET_NAME = "ecl_by_loan.parquet"
AMOUNT_DECIMALS = 6
PD_DECIMALS = 12
CAPTIONS = {
    "booked_ecl": "Booked ECL by segment, stacked by IFRS 9 stage (12-month ECL in stage 1, "
    "lifetime ECL in stages 2 and 3)",
    "cumulative_pd": "Cumulative probability of default by period for a loan that starts in each "
    "segment and state and lives to the horizon (probability-weighted over the scenarios)",
}
_REASON_TEXT = {
    "default_state": "in the default state",
    "stage3_state": "in a stage-3 state (e.g. 90 days past due)",
    "stage2_state": "in a stage-2 state (the 30-days-past-due backstop)",
    "pd_increase": "significant increase in credit risk (PD against origination PD)",
    "no_increase": "no significant increase",
    "no_origination_pd": "no origination PD given: staged by state only",
}


def _columns(r: ChunkResult, plan: EclPlan) -> list[Column]:
    c = r.chunk
    amount, pd_ = AMOUNT_DECIMALS, PD_DECIMALS
    return [
        Column(c.loan_id, "text"),
        Column(c.segment, "category", categories=plan.segments),
        Column(c.state, "category", categories=plan.states),
        Column(c.exposure, "float", decimals=amount),
        Column(r.periods, "int"),
        Column(r.pd_12m, "float", decimals=pd_),
        Column(r.pd_lifetime, "float", decimals=pd_),
        Column(r.pd_ratio, "float", decimals=amount),
        Column(r.stage, "int"),
        Column(r.reason, "category", categories=REASONS),
        Column(r.ecl_12m, "float", decimals=amount),
        Column(r.ecl_lifetime, "float", decimals=amount),
        Column(r.ecl_booked, "float", decimals=amount),
    ]


def _parquet_available() -> bool:
    return importlib.util.find_spec("pyarrow") is not None


def _stream(plan: EclPlan, loans: Any, folder: Path, chunk_rows: int, parquet: bool) -> Totals:
    """Write the per-loan files chunk by chunk; return the totals."""
    totals = Totals(plan)
    writer = None
    try:
        with open(folder / CSV_NAME, "wb") as fh:
            fh.write(header_bytes(OUTPUT_COLUMNS))
            for r in stream_loan_ecl(plan, loans, chunk_rows=chunk_rows):
                totals.add(r)
                fh.write(csv_bytes(_columns(r, plan)))
                if parquet:  # imported by name: an optional dependency without type stubs
                    pa = importlib.import_module("pyarrow")
                    pq = importlib.import_module("pyarrow.parquet")
                    table = pa.Table.from_pandas(r.to_frame(plan), preserve_index=False)
                    if writer is None:
                        writer = pq.ParquetWriter(folder / PARQUET_NAME, table.schema)
                    writer.write_table(table)
    finally:
        if writer is not None:
            writer.close()
    return totals


def loan_ecl_figures(totals: pd.DataFrame, summary: dict[str, Any]) -> dict[str, bytes]:
    """PNG bytes of the report's figures, by file stem."""
    n_seg = totals["segment"].nunique()
    return {
        "booked_ecl": render_png(
            lambda ax: plot_booked_ecl(totals, by="segment", ax=ax), size=(8.0, 1.6 + 0.6 * n_seg)
        ),
        "cumulative_pd": render_png(
            lambda ax: plot_cumulative_pd(summary["term_structure"], ax=ax)
        ),
    }


def fill_loan_ecl_folder(
    folder: Path,
    plan: EclPlan,
    loans: pd.DataFrame | str | os.PathLike[str],
    *,
    inputs: dict[str, str] | None = None,
    chunk_rows: int = CHUNK_ROWS,
    parquet: bool | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Write a loan-level ECL's files into `folder`; return the summary.

    Parameters
    ----------
    folder : Path
        A fresh folder (from `write_folder_atomic`).
    plan : EclPlan
        From `riskmodel.ecl.plan_loan_ecl`.
    loans : DataFrame or path
        The loan tape.
    inputs : dict, optional
        Input file → SHA-256, recorded in ``summary.json``.
    chunk_rows : int
        Loans per chunk.
    parquet : bool, optional
        Also write ``ecl_by_loan.parquet``; default: when pyarrow can be imported.
    extra : dict, optional
        More entries for ``summary.json``.
    """
    start = time.perf_counter()
    parquet = _parquet_available() if parquet is None else parquet
    totals = _stream(plan, loans, Path(folder), chunk_rows, parquet)
    summary = totals.summary()
    table = totals.table()
    summary["outputs"] = [CSV_NAME, *([PARQUET_NAME] if parquet else [])]
    summary["loan_tape"] = None if isinstance(loans, pd.DataFrame) else shown_path(os.fspath(loans))
    summary["inputs"] = dict(inputs or {})
    summary["compute_seconds"] = round(time.perf_counter() - start, 3)
    summary.update(extra or {})
    figures = loan_ecl_figures(table, summary)
    fill_report_folder(
        Path(folder),
        content=summary,
        json_name="summary.json",
        figures=figures,
        html=render_loan_ecl_html(summary, table, figures),
        table=table,
        table_name="totals.csv",
    )
    return summary


def write_loan_ecl_report(
    plan: EclPlan,
    loans: pd.DataFrame | str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    inputs: Iterable[str | os.PathLike[str]] = (),
    chunk_rows: int = CHUNK_ROWS,
    parquet: bool | None = None,
    command: Sequence[str] | None = None,
) -> tuple[Path, dict[str, Any]]:
    """Compute a loan-level ECL and write its folder safely.

    Parameters
    ----------
    plan : EclPlan
    loans : DataFrame or path
    out : path
        The report folder: created, or replaced when it holds an earlier riskmodel report only.
    inputs : iterable of path
        Files read (scenarios, their portfolios and posteriors, the tape): hashed into the
        summary; a folder holding one of them is refused as `out`.
    chunk_rows, parquet
        As in `fill_loan_ecl_folder`.
    command : sequence of str, optional
        The command line, recorded in the summary's ``provenance`` (with the software versions
        and the git commit, as in a run's summary).

    Returns
    -------
    (Path, dict)
        The folder written and its summary.
    """
    from riskmodel.report.provenance import provenance
    from riskmodel.report.safety import file_sha256

    files = [str(p) for p in inputs]
    hashes = {shown_path(p) or str(p): file_sha256(p) for p in files}
    # no random numbers: the seed and entropy of a run's provenance are None
    extra = {"provenance": provenance(seed=None, entropy=None, inputs=hashes, command=command)}
    result: dict[str, Any] = {}

    def fill(folder: Path) -> None:
        result.update(
            fill_loan_ecl_folder(
                folder,
                plan,
                loans,
                inputs=hashes,
                chunk_rows=chunk_rows,
                parquet=parquet,
                extra=extra,
            )
        )

    path = write_folder_atomic(os.fspath(out), fill, kind="loan_ecl", inputs=files)
    return path, result


# --------------------------------------------------------------------------- the page
def _pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.3g}%"


def _block_rows(
    blocks: dict[str, dict[str, Any]], label: Callable[[str], str] = str
) -> list[tuple[str, ...]]:
    return [
        (
            _e(label(k)),
            _num(b["loans"]),
            _num(b["exposure"]),
            _num(b["ecl_12m"]),
            _num(b["ecl_lifetime"]),
            _num(b["ecl_booked"]),
            _pct(b["coverage"]),
        )
        for k, b in blocks.items()
    ]


_HEAD = ("loans", "exposure", "12-month ECL", "lifetime ECL", "booked ECL", "coverage")


def _totals_sections(summary: dict[str, Any]) -> list[str]:
    total = summary["ecl"]
    stage_rows = _block_rows(
        {k: v for k, v in summary["by_stage"].items() if v["loans"]}, lambda k: f"stage {k}"
    )
    all_row = (
        "<b>all</b>",
        _num(summary["loans"]),
        _num(summary["exposure"]),
        _num(total["12_month"]),
        _num(total["lifetime"]),
        f"<b>{_num(total['booked'])}</b>",
        _pct(total["coverage"]),
    )
    numeric = set(range(1, 7))
    return [
        _section("Totals by stage", _table(("stage", *_HEAD), [*stage_rows, all_row], numeric)),
        _section(
            "Totals by segment",
            _table(("segment", *_HEAD), _block_rows(summary["by_segment"]), numeric),
        ),
        _section(
            "Totals by state", _table(("state", *_HEAD), _block_rows(summary["by_state"]), numeric)
        ),
    ]


def _scenario_section(summary: dict[str, Any]) -> str:
    rows = []
    for sc in summary["scenarios"]:
        figures = summary["by_scenario"][sc["name"]]
        rows.append(
            (
                _e(sc["name"]),
                f"{sc['weight']:.4g}",
                _e(sc["file"]),
                str(sc["parameter_draws"]),
                _num(figures["12_month"]),
                _num(figures["lifetime"]),
                _num(figures["booked"]),
            )
        )
    lead = (
        "<p>The loans' figures are the probability-weighted sums over these scenarios; the stages "
        "are set on the weighted PDs, and each scenario's booked ECL below uses those stages.</p>"
        if summary["weighted"]
        else ""
    )
    head = (
        "scenario",
        "weight",
        "file",
        "parameter draws",
        "12-month ECL",
        "lifetime ECL",
        "booked ECL",
    )
    return _section("Scenarios", lead + _table(head, rows, {1, 3, 4, 5, 6}))


def _staging_section(summary: dict[str, Any]) -> str:
    st = summary["staging"]
    measure = "lifetime PD" if st["measure"] == "lifetime" else "12-month PD"
    rule = (
        f"<p>Stage 3: the loan is in the default state or a stage-3 state. Stage 2: the loan is "
        f"in a stage-2 state (the 30-days-past-due backstop), or its {measure} is more than "
        f"{st['threshold']:g} × its <code>origination_pd</code> and higher by more than "
        f"{st['min_increase']:g}. Stage 1 otherwise. Stage 1 books the 12-month ECL, stages 2 "
        "and 3 the lifetime ECL.</p>"
    )
    states = ", ".join(f"{_e(s)}: stage {v}" for s, v in st["state_stages"].items())
    reasons = [
        (f"<code>{_e(r)}</code>", _e(_REASON_TEXT[r]), _num(n))
        for r, n in summary["stage_reasons"].items()
        if n
    ]
    body = rule + f"<p>Stage set by the state alone: {states}.</p>"
    return _section("Staging", body + _table(("reason", "meaning", "loans"), reasons, {2}))


def _term_section(summary: dict[str, Any]) -> str:
    rows = [
        (_e(k), _pct(v["pd_12m"]), _pct(v["pd_lifetime"]))
        for k, v in summary["term_structure"].items()
    ]
    note = (
        f"<p>PDs of a loan that starts in each segment and state and lives to the horizon "
        f"({summary['horizon']} periods); a loan with a shorter maturity takes the cumulative PD "
        "at its maturity. Exact: the systematic factor is integrated out as in the engine's "
        "exact expectations, averaged over the parameter draws.</p>"
    )
    head = ("segment/state", "12-month PD", f"PD to period {summary['horizon']}")
    return _section("PD term structures", note + _table(head, rows, {1, 2}))


def _figure(name: str, png: bytes) -> str:
    return figure_html(name, png, CAPTIONS[name])


def render_loan_ecl_html(
    summary: dict[str, Any], totals: pd.DataFrame, figures: dict[str, bytes]
) -> str:
    """Return the self-contained HTML report of a loan-level ECL."""
    total = summary["ecl"]
    names = ", ".join(sc["name"] for sc in summary["scenarios"])
    by_stage = summary["by_stage"]
    lead = (
        f"{summary['loans']:,} loans, exposure {_num(summary['exposure'])}; booked ECL "
        f"{_num(total['booked'])} ({_pct(total['coverage'])} of exposure): stage 1 "
        f"{_num(by_stage['1']['ecl_booked'])}, stage 2 {_num(by_stage['2']['ecl_booked'])}, "
        f"stage 3 {_num(by_stage['3']['ecl_booked'])}. Exact (no simulation), under "
        f"{'the probability-weighted scenarios ' if summary['weighted'] else 'scenario '}{names}."
    )
    files = ", ".join(f"<code>{_e(f)}</code>" for f in summary["outputs"])
    sections = [
        *_totals_sections(summary),
        _section("Figures", "".join(_figure(n, png) for n, png in figures.items())),
        _scenario_section(summary),
        _staging_section(summary),
        _term_section(summary),
        _section(
            "Files",
            f"<p>Per loan: {files} (<code>loan_id, segment, state, exposure, periods, pd_12m, "
            "pd_lifetime, pd_ratio, stage, stage_reason, ecl_12m, ecl_lifetime, "
            "ecl_booked</code>); totals per segment, state and stage in <code>totals.csv</code>; "
            "everything above in <code>summary.json</code>. Formulas and the tape format: "
            "<code>docs/loan_ecl.md</code>.</p>",
        ),
    ]
    return _page("Loan-level ECL", lead, sections)
