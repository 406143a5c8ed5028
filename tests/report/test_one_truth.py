"""One truth per figure: every surface shows the same number for the same expectation.

One small importance-sampled run; from it ``summary.json`` (`build_summary`), the run report
(HTML and Markdown), a comparison (``comparison.csv``, ``comparison.json`` and its HTML), the
sensitivity report's base values and the loss-distribution legend. Each expectation must show
its exact value, labelled "exact", on every surface, and its Monte Carlo cross-check with
"± s.e." where one is shown.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

import riskmodel as rm
from riskmodel.api import compare_scenarios
from riskmodel.metrics.expectations import exact_summary
from riskmodel.plotting import plot_loss_distribution, plot_loss_distributions
from riskmodel.plotting.style import format_compact
from riskmodel.report.comparison import render_comparison_html
from riskmodel.report.files import _json_ready
from riskmodel.report.html import _num
from riskmodel.report.run import render_html, render_markdown
from riskmodel.report.sensitivity import render_sensitivity_html
from riskmodel.report.summary import build_summary
from riskmodel.sensitivity import tornado
from riskmodel.simulation.expected import expected_term_structure

TINY = Path(__file__).resolve().parents[1] / "scenarios" / "tiny.yaml"
PATHS, SEED = 4096, 3
# (summary key, comparison column, decimals shown in the reports)
QUANTITIES = (
    ("loss", "expected", 0),
    ("defaults", "expected_defaults", 1),
    ("churn", "expected_churn", 1),
    ("value", "expected_value", 0),
)


def exact_cell(value: float, digits: int) -> str:
    return f'{_num(value, digits=digits)} <span class="se">exact</span>'


def mc_cell(value: float, se: float, digits: int) -> str:
    return f'{_num(value, digits=digits)} <span class="se">± {_num(se, digits=digits)}</span>'


@pytest.fixture(scope="module")
def surfaces():
    cfg = yaml.safe_load(TINY.read_text(encoding="utf-8"))
    for c, margin in zip(cfg["portfolio"]["cohorts"], (5_000.0, 12_000.0), strict=True):
        c["margin"] = margin
    cfg["outputs"] = {"levels": [0.9]}  # well resolved at this size: no tail warning
    sc = rm.scenario_from_dict(cfg)
    res = rm.simulate(sc, paths=PATHS, seed=SEED, progress=False)
    summary = json.loads(json.dumps(build_summary(res, sc)))  # as summary.json holds it
    cmp = compare_scenarios([sc], paths=PATHS, seed=SEED)
    cmp_json = json.loads(json.dumps(_json_ready(cmp.to_dict())))["scenarios"][0]
    cmp_csv = pd.read_csv(io.StringIO(cmp.to_dataframe().to_csv()), index_col="scenario")
    metrics = ["expected_loss", "expected_defaults", "expected_churn", "value"]
    sens = tornado(sc, [{"name": "lgd.mean", "low": 0.35, "high": 0.55}], metrics, seed=SEED)
    return {
        "scenario": sc,
        "result": res,
        "summary": summary,
        "run_html": render_html(res, sc, summary, {}),
        "run_md": render_markdown(summary, {}),
        "cmp": cmp,
        "cmp_json": cmp_json,
        "cmp_csv": cmp_csv.loc[sc.name],
        "cmp_html": render_comparison_html(cmp, [sc], {"riskmodel_version": "x"}, {}),
        "sens": sens.to_dict(),
        "sens_html": render_sensitivity_html(sens, sc, {}),
    }


def test_summary_publishes_the_exact_values(surfaces):
    truth = exact_summary(expected_term_structure(surfaces["scenario"]))
    for key, _, _ in QUANTITIES:
        block = surfaces["summary"][key]
        assert block["method"] == "exact"
        assert block["expected"] == pytest.approx(truth[key]["expected"], rel=1e-12)


@pytest.mark.parametrize("key, column, digits", QUANTITIES)
def test_every_surface_shows_the_same_exact_number(surfaces, key, column, digits):
    block = surfaces["summary"][key]
    exact = block["expected"]
    # comparison.json and comparison.csv: the same float, marked exact
    assert surfaces["cmp_json"][column] == exact
    assert surfaces["cmp_json"]["method"] == "exact"
    assert surfaces["cmp_csv"][column] == pytest.approx(exact, rel=1e-15)
    assert surfaces["cmp_csv"]["method"] == "exact"
    # the run report (HTML and Markdown) and the comparison report: the same text, "exact"
    cell = exact_cell(exact, digits)
    assert cell in surfaces["run_html"], cell
    assert f"| {_num(exact, digits=digits)} exact |" in surfaces["run_md"]
    assert cell in surfaces["cmp_html"], cell


@pytest.mark.parametrize("key, column, digits", QUANTITIES)
def test_every_surface_shows_the_same_cross_check(surfaces, key, column, digits):
    block = surfaces["summary"][key]
    mc, se = block["expected_mc"], block["stderr_mc"]
    assert block["stderr"]["expected_mc"] == se and block["stderr"]["expected"] == 0.0
    # same seed and paths: the comparison's cross-check is the same estimate
    assert surfaces["cmp_json"][f"{column}_mc"] == pytest.approx(mc, rel=1e-12)
    se_column = "stderr_mc" if key == "loss" else f"stderr_{key}_mc"
    assert surfaces["cmp_json"][se_column] == pytest.approx(se, rel=1e-12)
    cell = mc_cell(mc, se, digits)
    assert cell in surfaces["run_html"] and cell in surfaces["cmp_html"], cell


def test_sensitivity_base_values_are_the_exact_ones(surfaces):
    summary, sens = surfaces["summary"], surfaces["sens"]["metrics"]
    pairs = {
        "expected_loss": "loss",
        "expected_defaults": "defaults",
        "expected_churn": "churn",
        "value": "value",
    }
    for metric, key in pairs.items():
        assert sens[metric]["base"] == pytest.approx(summary[key]["expected"], rel=1e-12)
    assert surfaces["sens_html"].count(" (exact); factors ranked") == len(pairs)


def test_the_legend_shows_the_exact_expected_loss(surfaces):
    res, summary = surfaces["result"], surfaces["summary"]
    ax = plot_loss_distribution(res, measures=res.risk())
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    el = next(label for label in labels if label.startswith("EL"))
    assert f"exact {format_compact(summary['loss']['expected'])}" in el
    assert f"EL (mean) {format_compact(summary['loss']['expected_mc'])} ± " in el
    ax = plot_loss_distributions(surfaces["cmp"])  # the comparison's overlay
    (label,) = [t.get_text() for t in ax.get_legend().get_texts()]
    assert f"EL {format_compact(summary['loss']['expected'])} exact" in label


def test_ecl_is_marked_exact_on_the_reports(surfaces):
    ecl = surfaces["summary"]["ecl"]
    assert ecl["method"] == "exact"
    for value in (ecl["lifetime"], ecl["12_period"]):
        assert exact_cell(value, 0) in surfaces["run_html"]
        assert exact_cell(value, 0) in surfaces["cmp_html"]
