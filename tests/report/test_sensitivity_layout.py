"""Sensitivity report tables: readable headers and metric names, one number format per column,
factor names that never break mid-word."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import riskmodel as rm
from riskmodel.report.sensitivity import metric_label, render_sensitivity_html
from riskmodel.sensitivity import run_sensitivity

TINY = Path(__file__).resolve().parents[1] / "scenarios" / "tiny.yaml"
CONFIG = {
    "factors": [
        {"name": "lgd.mean", "low": 0.35, "high": 0.55},
        {"name": "systematic.correlation", "low": 0.05, "high": 0.2},
    ],
    "metrics": ["expected_loss", "es_0.99"],
    "tornado": {"paths": 1000, "seed": 2},
    "sobol": {"n": 8, "paths": 64, "seed": 2},
}


def test_tables_are_readable_and_consistently_formatted():
    sc = rm.load_scenario(TINY)
    with warnings.catch_warnings():  # a tiny design; its Sobol intervals are not the point
        warnings.simplefilter("ignore")
        result = run_sensitivity(sc, CONFIG)
    page = render_sensitivity_html(result, sc, {})
    assert "<h2>ES 99%</h2>" in page and "<h2>Expected loss</h2>" in page
    for raw in ("<th>value_low</th>", "<th>S1_conf</th>", "<th>swing</th>"):
        assert raw not in page
    assert "<th>Metric at low</th>" in page and "<th>Swing s.e.</th>" in page
    # the settings table speaks words too: no config keys, no Python list syntax
    for raw in ("<th>sobol_n</th>", "<th>tornado_paths</th>", "['tornado', 'sobol']"):
        assert raw not in page
    assert "<th>Sobol: base sample n</th><td>8</td>" in page
    assert "<th>Tornado: paths per run</th><td>1,000</td>" in page
    assert not re.search(r"\d\.\d+e[+-]\d", page)  # no scientific notation beside 157,576
    assert page.count("white-space:nowrap;word-break:normal") == 2 * len(CONFIG["factors"])
    # one format per column: the swing column's cells all carry the same number of decimals
    for table in re.findall(r"<table>.*?</table>", page)[1:]:
        rows = re.findall(r"<tr>(.*?)</tr>", table)[1:]
        swings = [re.findall(r'<td class="num">([^<]*)</td>', r)[4] for r in rows]
        decimals = {len(x.split(".")[1]) if "." in x else 0 for x in swings}
        assert len(decimals) == 1, swings


def test_metric_label():
    assert metric_label("var_0.999") == "VaR 99.9%"
    assert metric_label("expected_loss") == "Expected loss"
    # the words of the run report and the CLI, not the config key ("Ecl lifetime")
    assert metric_label("ecl_lifetime") == "Lifetime ECL"
    assert metric_label("ecl_12_period") == "12-period ECL"
