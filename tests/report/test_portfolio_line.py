"""The report's portfolio line counts named exposures apart from the cohorts (issue 15)."""

from __future__ import annotations

from pathlib import Path

import riskmodel as rm
from riskmodel.report.run_sections import _portfolio_text

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def test_names_are_counted_apart_from_the_cohorts():
    sc = rm.load_scenario(SCENARIOS / "names.yaml")
    n_names = len(sc.names.table)
    text = _portfolio_text(sc)
    assert text.startswith(
        f"{sc.portfolio.n_cohorts - n_names} cohorts and {n_names} named exposures in segment(s)"
    )
    assert f"{sc.portfolio.total_customers:,} customers" in text


def test_a_book_without_names_lists_its_cohorts_only():
    sc = rm.load_scenario(SCENARIOS / "baseline.yaml")
    assert _portfolio_text(sc).startswith(f"{sc.portfolio.n_cohorts} cohorts in segment(s)")
