"""The comparison folder carries the differences from the baseline: JSON, CSV, table, figure."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import riskmodel as rm
from riskmodel.plotting.comparison import difference_label, plot_differences
from riskmodel.report import write_comparison_report

TINY = Path(__file__).resolve().parents[1] / "scenarios" / "tiny.yaml"


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    tiny = rm.load_scenario(TINY)
    scenarios = [
        tiny,
        tiny.with_options(name="storm", systematic={"correlation": 0.1, "shift": -1.0}),
        tiny.with_options(name="calm", systematic={"correlation": 0.1, "shift": 0.5}),
    ]
    cmp = rm.compare_scenarios(scenarios, paths=800, seed=2, progress=False, baseline="storm")
    out = write_comparison_report(cmp, scenarios, tmp_path_factory.mktemp("cmp") / "out")
    return cmp, out


def test_json_csv_and_report_agree_on_the_differences(folder):
    cmp, out = folder
    summary = json.loads((out / "comparison.json").read_text())
    assert summary["baseline"] == "storm"
    records = pd.DataFrame(summary["differences"])
    assert set(records["scenario"]) == {"tiny", "calm"}
    csv = pd.read_csv(out / "comparison.csv", index_col="scenario")
    for r in records.itertuples():
        assert csv.loc[r.scenario, f"difference_{r.metric}"] == pytest.approx(r.difference)
        assert csv.loc[r.scenario, f"stderr_difference_{r.metric}"] == pytest.approx(r.stderr)
        frame = cmp.to_dataframe()
        if r.metric.startswith(("var_", "es_")):
            assert r.difference == frame.loc[r.scenario, r.metric] - frame.loc["storm", r.metric]
    assert (csv.loc["storm", [c for c in csv if c.startswith("difference_")]] == 0).all()
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "Differences from the baseline" in html and "Paired s.e." in html
    es = records[(records.scenario == "calm") & (records.metric == "es_0.99")].iloc[0]
    assert f"{es.difference:,.0f}" in html and f"{es.stderr:,.0f}" in html
    assert (out / "figures" / "differences.png").is_file()


def test_difference_figure_draws_each_scenario_with_paired_error_bars(folder):
    cmp, _ = folder
    ax = plot_differences(cmp)
    frame = cmp.differences[
        ~cmp.differences["metric"].isin(("expected", "ecl_lifetime", "ecl_12_period"))
    ]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == [difference_label(m) for m in dict.fromkeys(frame["metric"])]
    assert "VaR 99%" in labels and "EL (Monte Carlo)" in labels
    containers = ax.containers
    assert [c.get_label() for c in containers] == ["tiny", "calm"]
    for c, name in zip(containers, ["tiny", "calm"], strict=True):
        x, _ = c.lines[0].get_data()
        np.testing.assert_allclose(x, frame[frame.scenario == name]["difference"])
        # the error bar spans ± 1.96 paired s.e. around each point
        segments = c.lines[2][0].get_segments()
        widths = [seg[1][0] - seg[0][0] for seg in segments]
        np.testing.assert_allclose(widths, 2 * 1.96 * frame[frame.scenario == name]["stderr"])
