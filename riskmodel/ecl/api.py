"""`loan_ecl`: the loan-level IFRS 9 ECL of a loan tape under one scenario or a weighted set."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import pandas as pd

from riskmodel._validate import check_flag, describe
from riskmodel.ecl.compute import ChunkResult, iter_results
from riskmodel.ecl.plan import EclPlan, as_scenarios, prepare
from riskmodel.ecl.result import LoanECLResult, Totals
from riskmodel.ecl.staging import StagingRule
from riskmodel.ecl.tape import CHUNK_ROWS, iter_tape
from riskmodel.errors import ArgumentError
from riskmodel.scenarios.load import Scenario

__all__ = ["loan_ecl", "plan_loan_ecl", "stream_loan_ecl"]


def plan_loan_ecl(
    scenario: Scenario | str | os.PathLike[str] | Sequence[Scenario | str | os.PathLike[str]],
    *,
    sicr_threshold: float = 2.0,
    sicr_min_increase: float = 0.0,
    sicr_measure: str = "lifetime",
    stage2_states: Sequence[str] | None = None,
    stage3_states: Sequence[str] | None = None,
    truncate_maturity: bool = False,
    allow_outside_files: bool = False,
) -> EclPlan:
    """Check the scenarios and staging options; compute the term structures (see `loan_ecl`)."""
    rule = StagingRule(
        threshold=sicr_threshold,
        min_increase=sicr_min_increase,
        measure=sicr_measure,
        stage2_states=stage2_states,
        stage3_states=stage3_states,
    )
    truncate = check_flag("truncate_maturity", truncate_maturity)
    scenarios = as_scenarios(scenario, allow_outside_files=allow_outside_files)
    return prepare(scenarios, rule=rule, truncate_maturity=bool(truncate))


def stream_loan_ecl(
    plan: EclPlan, loans: pd.DataFrame | str | os.PathLike[str], *, chunk_rows: int = CHUNK_ROWS
) -> Iterator[ChunkResult]:
    """Per-loan results chunk by chunk: memory bounded by `chunk_rows`, not by the tape.

    Parameters
    ----------
    plan : EclPlan
        From `plan_loan_ecl`.
    loans : DataFrame, str or PathLike
        The loan tape or its CSV file.
    chunk_rows : int
        Loans per chunk.

    Yields
    ------
    ChunkResult
    """
    if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, int) or chunk_rows < 1:
        raise ArgumentError(f"`chunk_rows` must be a whole number >= 1; got {chunk_rows!r}.")
    if not isinstance(loans, pd.DataFrame | str | os.PathLike) or not str(loans):
        raise ArgumentError(
            f"`loans` must be a DataFrame or the path of a loan tape CSV; got {describe(loans)}."
        )
    chunks = iter_tape(
        loans if isinstance(loans, pd.DataFrame) else Path(loans),
        segments=plan.segments,
        states=plan.states,
        allowed_states=plan.allowed_states,
        horizon=plan.horizon,
        truncate_maturity=plan.truncate_maturity,
        chunk_rows=chunk_rows,
    )
    return iter_results(plan, chunks)


def loan_ecl(
    scenario: Scenario | str | os.PathLike[str] | Sequence[Scenario | str | os.PathLike[str]],
    loans: pd.DataFrame | str | os.PathLike[str],
    *,
    sicr_threshold: float = 2.0,
    sicr_min_increase: float = 0.0,
    sicr_measure: str = "lifetime",
    stage2_states: Sequence[str] | None = None,
    stage3_states: Sequence[str] | None = None,
    truncate_maturity: bool = False,
    chunk_rows: int = CHUNK_ROWS,
) -> LoanECLResult:
    """Exact IFRS 9 expected credit loss of every loan of a tape.

    Each loan's 12-month and lifetime ECL is the dot product of its exposure-at-default ×
    discount profile with the exact default term structure of its (segment, state), the
    scenario's systematic factor integrated out as in the engine's exact expectations (no
    simulation). The loan is staged (1, 2, 3) by its state and a significant-increase rule,
    and books the 12-month ECL in stage 1, the lifetime ECL in stages 2 and 3. See
    ``docs/loan_ecl.md`` for the tape format, the formulas and the rule.

    Parameters
    ----------
    scenario : Scenario, path, or sequence of them
        One scenario; or several, each with ``weight:`` (summing to 1), for a
        probability-weighted ECL (stages set on the weighted PDs). The scenarios supply the
        transition matrices, factor, LGD, amortisation and discount rate; their portfolios
        are not used.
    loans : DataFrame, str or PathLike
        The loan tape: ``loan_id, segment, state, exposure`` and optionally ``maturity``,
        ``amortisation`` or ``instalment``, ``rate``, ``lgd``, ``origination_pd``.
    sicr_threshold : float, default 2.0
        Stage 2 when the PD exceeds this multiple of ``origination_pd``.
    sicr_min_increase : float, default 0.0
        ... and exceeds ``origination_pd`` by more than this.
    sicr_measure : {"lifetime", "12m"}, default "lifetime"
        The PD compared with ``origination_pd``.
    stage2_states, stage3_states : sequence of str, optional
        States that set stage 2 (the 30-days-past-due backstop) or 3 by themselves; default:
        by name (``stage2``, ``dpd30`` ... stage 2; ``stage3``, ``dpd90`` ... stage 3). The
        default state is always stage 3.
    truncate_maturity : bool, default False
        Allow maturities beyond the horizon (their ECL stops at the horizon); default: refused.
    chunk_rows : int
        Loans computed at a time.

    Returns
    -------
    LoanECLResult
        ``.loans`` (per loan: ``pd_12m, pd_lifetime, pd_ratio, stage, stage_reason, ecl_12m,
        ecl_lifetime, ecl_booked`` ...), ``.totals`` and ``.summary()``.

    Raises
    ------
    PortfolioError
        For a bad tape (the message names the file, column, first bad rows and the fix).
    ComparisonError
        For several scenarios without weights, or unlike (states, horizon, period).
    ArgumentError
        For a wrong argument (a threshold <= 1, an unknown state, ...).

    Notes
    -----
    The tape is read and computed `chunk_rows` loans at a time, but the result keeps every
    loan's row in memory (about 150 bytes a loan). For tapes of millions of loans, write the
    results to a folder chunk by chunk instead: ``riskmodel ecl`` or
    `riskmodel.report.loans.write_loan_ecl_report`.

    Examples
    --------
    >>> import pandas as pd
    >>> import riskmodel as rm
    >>> tape = pd.DataFrame({"loan_id": ["a", "b"], "segment": ["mortgages", "consumer"],
    ...                      "state": ["stage1", "stage2"], "exposure": [2e5, 1e4],
    ...                      "maturity": [60, 6]})
    >>> res = rm.loan_ecl("scenarios/ifrs9.yaml", tape)
    >>> res.loans["stage"].tolist()
    [1, 2]
    >>> bool(res.loans["ecl_booked"].iloc[1] == res.loans["ecl_lifetime"].iloc[1])
    True
    """
    plan = plan_loan_ecl(
        scenario,
        sicr_threshold=sicr_threshold,
        sicr_min_increase=sicr_min_increase,
        sicr_measure=sicr_measure,
        stage2_states=stage2_states,
        stage3_states=stage3_states,
        truncate_maturity=truncate_maturity,
    )
    totals = Totals(plan)
    frames = []
    for r in stream_loan_ecl(plan, loans, chunk_rows=chunk_rows):
        totals.add(r)
        frames.append(r.to_frame(plan))
    table = pd.concat(frames) if len(frames) > 1 else frames[0]
    return LoanECLResult(loans=table, totals=totals.table(), info=totals.summary())
