"""Report layout: table of contents, tables that scroll in their box, print stylesheet, labels,
and no churn rows without a churn state."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import yaml

import riskmodel as rm
from riskmodel.plotting import plot_loss_term_structure
from riskmodel.report import SECTIONS, write_run_report
from riskmodel.report.html import _CSS

TINY = Path(__file__).resolve().parents[1] / "scenarios" / "tiny.yaml"


def _no_churn_config() -> dict:
    """The tiny scenario without its churn state: the churn column folds into staying."""
    cfg = yaml.safe_load(TINY.read_text())
    rows = np.array(cfg["parameters"]["transitions"]["retail"], dtype=float)
    for i in range(rows.shape[0]):
        rows[i, i] += rows[i, 4]
    rows = np.delete(rows, 4, axis=1)
    cfg["states"] = {
        "names": ["new", "growing", "mature", "declining", "defaulted"],
        "absorbing": ["defaulted"],
        "default": "defaulted",
    }
    cfg["parameters"]["transitions"]["retail"] = rows.round(12).tolist()
    return cfg


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> str:
    sc = rm.load_scenario(TINY)
    out = write_run_report(
        rm.simulate(sc, paths=1000, progress=False), sc, tmp_path_factory.mktemp("r") / "run"
    )
    return (out / "report.html").read_text(encoding="utf-8")


def test_table_of_contents_links_every_section(page):
    toc = re.search(r'<nav class="toc">(.*?)</nav>', page, re.S).group(1)
    links = re.findall(r'<a href="#([^"]+)">([^<]+)</a>', toc)
    assert [t for _, t in links] == list(SECTIONS)
    for anchor, _ in links:
        assert f'<section id="{anchor}">' in page


def test_every_table_scrolls_inside_its_box(page):
    assert page.count("<table>") == page.count('<div class="table-wrap"><table>') > 0
    assert "div.table-wrap{overflow-x:auto" in _CSS


def test_print_stylesheet_keeps_figures_and_rows_whole():
    media = _CSS[_CSS.index("@media print") :]
    assert "figure,table,tr" in media and "break-inside:avoid" in media
    assert "h2,h3{break-after:avoid" in media and "nav.toc{display:none}" in media


def test_churn_rows_only_with_a_churn_state(page, tmp_path):
    assert "Expected churn (customers)" in page
    sc = rm.scenario_from_dict(_no_churn_config())
    out = write_run_report(rm.simulate(sc, paths=1000, progress=False), sc, tmp_path / "nc")
    text = (out / "report.html").read_text(encoding="utf-8")
    headline = text[: text.index('<section id="scenario-settings')]
    assert "churn" not in headline.lower() and "value lost to churn" not in text
    assert "Expected defaults (customers)" in text


def test_term_structure_says_per_period_median():
    sc = rm.load_scenario(TINY)
    ax = plot_loss_term_structure(rm.simulate(sc, paths=1000, progress=False))
    labels = [line.get_label() for line in ax.get_lines()]
    assert "per-period median" in labels and "median path" not in labels


@pytest.mark.filterwarnings("ignore::riskmodel.errors.TailResolutionWarning")  # small runs
def test_comparison_has_no_churn_columns_without_a_churn_state():
    from riskmodel.report.comparison import render_comparison_html

    sc = rm.scenario_from_dict(_no_churn_config())
    other = sc.with_options(name="b")
    cmp = rm.compare_scenarios([sc, other], paths=600, seed=1, progress=False)
    page = render_comparison_html(cmp, [sc, other], cmp.to_dict(), {})
    assert "<th>Churn</th>" not in page and "<th>Defaults</th>" in page
    with_churn = rm.load_scenario(TINY)
    cmp = rm.compare_scenarios([with_churn], paths=600, seed=1, progress=False)
    assert "<th>Churn</th>" in render_comparison_html(cmp, [with_churn], cmp.to_dict(), {})
