"""Totals of a loan-level ECL and the result object of `loan_ecl`.

`Totals` adds up chunk after chunk (by segment × state × stage, and per scenario), so a tape of
any length is summarised in constant memory; `LoanECLResult` holds the per-loan table of an
in-memory run with its totals and ``summary()``, the content of ``summary.json``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from riskmodel._version import __version__
from riskmodel.ecl.compute import ChunkResult
from riskmodel.ecl.plan import EclPlan
from riskmodel.ecl.staging import REASONS
from riskmodel.metrics.compare import scenario_label

__all__ = ["AMOUNTS", "LoanECLResult", "Totals"]

AMOUNTS = ("loans", "exposure", "ecl_12m", "ecl_lifetime", "ecl_booked")
"""What `Totals` sums per segment × state × stage."""


class Totals:
    """Running sums of a loan-level ECL, by segment × state × stage and per scenario.

    Parameters
    ----------
    plan : EclPlan
    """

    def __init__(self, plan: EclPlan) -> None:
        self.plan = plan
        self.cells = np.zeros((len(AMOUNTS), len(plan.segments), len(plan.states), 3))
        self.scenarios = np.zeros((len(plan.scenarios), 3))
        self.reasons = np.zeros(len(REASONS), dtype=np.int64)

    def add(self, r: ChunkResult) -> None:
        """Add a chunk's loans."""
        c = r.chunk
        shape = self.cells.shape[1:]
        cell = np.ravel_multi_index((c.segment, c.state, r.stage.astype(np.intp) - 1), shape)
        size = int(np.prod(shape))
        for k, values in enumerate((None, c.exposure, r.ecl_12m, r.ecl_lifetime, r.ecl_booked)):
            sums = np.bincount(cell, weights=values, minlength=size)
            self.cells[k] += sums.reshape(shape)
        self.scenarios += r.by_scenario.sum(axis=2)
        self.reasons += np.bincount(r.reason, minlength=len(REASONS))

    def table(self) -> pd.DataFrame:
        """Non-empty cells: ``segment, state, stage`` and the `AMOUNTS`."""
        seg, state, stage = np.nonzero(self.cells[0])
        df = pd.DataFrame(
            {
                "segment": [self.plan.segments[i] for i in seg],
                "state": [self.plan.states[i] for i in state],
                "stage": stage + 1,
            }
        )
        for k, name in enumerate(AMOUNTS):
            df[name] = self.cells[k][seg, state, stage]
        df["loans"] = df["loans"].astype(np.int64)
        return df

    def summary(self) -> dict[str, Any]:
        """Return the content of ``summary.json`` (see `LoanECLResult.summary`)."""
        return summarise(self.plan, self.table(), self.scenarios, self.reasons)


def _block(df: pd.DataFrame) -> dict[str, Any]:
    out: dict[str, Any] = {"loans": int(df["loans"].sum())}
    for name in AMOUNTS[1:]:
        out[name] = float(df[name].sum())
    exposure = out["exposure"]
    out["coverage"] = out["ecl_booked"] / exposure if exposure > 0 else None
    return out


def _by(df: pd.DataFrame, key: str) -> dict[str, Any]:
    return {str(k): _block(g) for k, g in df.groupby(key, sort=False, observed=True)}


def term_structure_summary(plan: EclPlan) -> dict[str, Any]:
    """Weighted PDs of a loan living to the horizon, per ``segment/state`` (transient states)."""
    out: dict[str, Any] = {}
    n_states = len(plan.states)
    for i, seg in enumerate(plan.segments):
        for j, state in enumerate(plan.states):
            if state not in plan.allowed_states or j == plan.default_idx:
                continue
            g = i * n_states + j
            cum = sum(w * t.cum_pd[g] for w, t in zip(plan.weights, plan.terms, strict=True))
            c12 = sum(w * t.cum_pd_12m[g] for w, t in zip(plan.weights, plan.terms, strict=True))
            out[f"{seg}/{state}"] = {
                "pd_12m": float(c12[-1]),
                "pd_lifetime": float(cum[-1]),
                "cumulative_pd": [float(v) for v in cum[1:]],
            }
    return out


def summarise(
    plan: EclPlan, table: pd.DataFrame, scenarios: np.ndarray, reasons: np.ndarray
) -> dict[str, Any]:
    """Build the summary dict from the totals table (see `LoanECLResult.summary`)."""
    total = _block(table)
    by_stage = {str(s): _block(table[table["stage"] == s]) for s in (1, 2, 3)}
    return {
        "kind": "loan_ecl",
        "method": "exact",
        "riskmodel_version": __version__,
        "scenarios": [
            {
                "name": sc.name,
                "file": scenario_label(sc),
                "weight": float(w),
                "horizon": sc.horizon,
                "parameter_draws": sc.n_draws,
            }
            for sc, w in zip(plan.scenarios, plan.weights, strict=True)
        ],
        "weighted": len(plan.scenarios) > 1,
        "loans": total["loans"],
        "exposure": total["exposure"],
        "ecl": {
            "12_month": total["ecl_12m"],
            "lifetime": total["ecl_lifetime"],
            "booked": total["ecl_booked"],
            "coverage": total["coverage"],
        },
        "by_stage": by_stage,
        "by_segment": _by(table, "segment"),
        "by_state": _by(table, "state"),
        "by_scenario": {
            sc.name: {"12_month": float(v[0]), "lifetime": float(v[1]), "booked": float(v[2])}
            for sc, v in zip(plan.scenarios, scenarios, strict=True)
        },
        "stage_reasons": {r: int(n) for r, n in zip(REASONS, reasons, strict=True)},
        "staging": {
            **plan.rule.to_dict(),
            "state_stages": {
                s: int(v)
                for s, v in zip(plan.states, plan.state_stage, strict=True)
                if s in plan.allowed_states
            },
        },
        "horizon": plan.horizon,
        "truncate_maturity": plan.truncate_maturity,
        "term_structure": term_structure_summary(plan),
    }


@dataclass(frozen=True)
class LoanECLResult:
    """Per-loan ECL of a tape, its totals and summary (from `riskmodel.loan_ecl`).

    Attributes
    ----------
    loans : pandas.DataFrame
        One row per loan, the columns of ``ecl_by_loan.csv``
        (`riskmodel.ecl.compute.OUTPUT_COLUMNS`).
    totals : pandas.DataFrame
        ``segment, state, stage, loans, exposure, ecl_12m, ecl_lifetime, ecl_booked`` per
        non-empty cell.
    info : dict
        The summary (`summary`).
    """

    loans: pd.DataFrame
    totals: pd.DataFrame
    info: dict[str, Any] = field(repr=False)

    def summary(self) -> dict[str, Any]:
        """Return the content of ``summary.json``.

        Returns
        -------
        dict
            ``loans``, ``exposure``; ``ecl`` (``12_month``, ``lifetime``, ``booked`` totals and
            the ``coverage`` booked / exposure); ``by_stage``, ``by_segment``, ``by_state``
            (the same per group); ``by_scenario`` (each scenario's totals, booked with the
            common stages); ``stage_reasons`` (loans per reason); ``staging`` (the rule);
            ``scenarios`` (name, file, weight, horizon, parameter draws); ``term_structure``
            (per ``segment/state``: 12-month and lifetime PD to the horizon and the cumulative
            PD per period).
        """
        return self.info

    def to_dict(self) -> dict[str, Any]:
        """Alias of `summary` (the result protocol)."""
        return self.summary()

    def to_dataframe(self) -> pd.DataFrame:
        """Return the per-loan table (`loans`)."""
        return self.loans
