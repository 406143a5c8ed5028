"""Backtest folder files: backtest.json/csv, figures drawn from precomputed statistics, HTML."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import riskmodel as rm
from riskmodel.plotting.backtest import plot_pit_histogram, plot_reliability
from riskmodel.report.backtest import fill_backtest_folder


@pytest.fixture(scope="module")
def result(example_draws, example_panel):
    return rm.backtest(example_draws, example_panel, replicates=200)


def test_folder_holds_json_csv_figures_and_self_contained_html(result, tmp_path):
    fill_backtest_folder(result, tmp_path, inputs={"panel.csv": "abc"})
    out = json.loads((tmp_path / "backtest.json").read_text())
    assert out["overall"] == result.overall and out["inputs"] == {"panel.csv": "abc"}
    csv = pd.read_csv(tmp_path / "backtest.csv")
    assert len(csv) == len(out["tests"])
    assert list(csv["verdict"]) == [t["verdict"] for t in out["tests"]]
    for name in ("pit_histogram", "reliability"):
        assert (tmp_path / "figures" / f"{name}.png").read_bytes()[:4] == b"\x89PNG"
    html = (tmp_path / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 2
    assert "<script" not in html and "http" not in html.replace("http-equiv", "")
    assert f"Overall verdict: {result.overall}" in html


def test_pit_histogram_sums_to_one_and_band_is_the_uniform_binomial(result):
    from scipy import stats

    hist = result.pit_histogram(bins=10)
    assert (hist["density"] * 0.1).sum() == pytest.approx(1.0)
    m = len(result.pit)
    assert hist["upper"].iloc[0] == pytest.approx(stats.binom.ppf(0.975, m, 0.1) * 10 / m)


def test_reliability_curve_is_the_customer_weighted_mean_per_group(result):
    curve = result.reliability_curve(bins=5)
    rel = result.reliability
    assert curve["n"].sum() == rel["n"].sum()
    total_obs = (rel["observed"] * rel["n"]).sum()
    assert (curve["observed"] * curve["n"]).sum() == pytest.approx(total_obs)
    assert np.all(np.diff(curve["predicted"]) >= 0)


def test_plots_draw_the_given_statistics(result):
    hist = result.pit_histogram()
    ax = plot_pit_histogram(hist)
    bars = [p for p in ax.patches if p.get_gid() == "pit"]
    assert [b.get_height() for b in bars] == pytest.approx(list(hist["density"]))
    curve = result.reliability_curve()
    ax = plot_reliability(curve)
    line = next(ln for ln in ax.lines if ln.get_gid() == "reliability")
    assert list(line.get_ydata()) == pytest.approx(list(curve["observed"]))
