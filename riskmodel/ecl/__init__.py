"""Loan-level IFRS 9 expected credit loss, exact and streamed.

`loan_ecl` takes a loan tape (one row per loan) and one scenario, or a probability-weighted set,
and returns every loan's 12-month and lifetime PD and ECL, its IFRS 9 stage with the reason, and
the booked ECL. No simulation: the default term structure of each (segment, state) is computed
once, exactly as the engine's exact expectations (`riskmodel.simulation.expected`), and every
loan's ECL is a dot product with its own exposure × discount profile.

Modules
-------
term_structure
    Exact marginal default and loss term structures per (segment, state).
plan
    The scenarios, their weights and term structures laid out per group.
tape, tape_checks
    Reading the loan tape in chunks; the checks of its columns and values.
staging
    The IFRS 9 staging rule.
compute
    The per-loan dot products of a chunk.
result
    Running totals and `LoanECLResult`.
api
    `loan_ecl`, `plan_loan_ecl`, `stream_loan_ecl`.
fastcsv
    The per-loan CSV, formatted with numpy.
synthetic
    A seeded synthetic loan tape (examples, tests, benchmark).
"""

from __future__ import annotations

from riskmodel.ecl.api import loan_ecl, plan_loan_ecl, stream_loan_ecl
from riskmodel.ecl.result import LoanECLResult
from riskmodel.ecl.staging import StagingRule

__all__ = ["LoanECLResult", "StagingRule", "loan_ecl", "plan_loan_ecl", "stream_loan_ecl"]
