"""Run and compare reports of a scenario with sector factors (issue 15): they name each factor."""

from __future__ import annotations

import warnings
from pathlib import Path

import riskmodel as rm
from riskmodel.cli import main

REPO = Path(__file__).resolve().parents[2]
SECTORS = str(REPO / "scenarios" / "sectors.yaml")


def test_run_report_shows_each_factor_and_the_loadings(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rm.TailResolutionWarning)  # 512 paths: a thin tail
        code = main(["run", SECTORS, "--paths", "512", "--seed", "1", "--out", str(tmp_path / "r")])
    assert code == 0
    html = (tmp_path / "r" / "report.html").read_text(encoding="utf-8")
    assert "Shift of retail (mean)" in html and "Shift of sme (mean)" in html
    assert "cards on retail (ρ 0.08), loans on sme (ρ 0.15)" in html
    assert "Sector factors (Gaussian copula)" in html


def test_compare_report_tabulates_the_factors_shifts(tmp_path):
    adverse = str(REPO / "scenarios" / "adverse.yaml")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rm.TailResolutionWarning)
        code = main(
            ["compare", adverse, SECTORS, "--paths", "512", "--seed", "1", "--out", str(tmp_path)]
        )
    assert code == 0
    html = next(tmp_path.glob("**/*.html")).read_text(encoding="utf-8")
    assert "retail: [" in html and "sme: [" in html  # the settings table, per factor
    assert "-0.250 / -0.500" in html  # period 1 of the stress table: retail / sme
