"""plot_tornado and plot_sobol draw what the result holds, nothing more."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import yaml
from matplotlib.axes import Axes
from matplotlib.figure import Figure

import riskmodel as rm
from riskmodel.plotting.sensitivity import plot_sobol, plot_tornado
from riskmodel.sensitivity import SensitivityWarning, run_sensitivity, tornado

TINY = Path(__file__).resolve().parents[1] / "scenarios" / "tiny.yaml"
FACTORS = [
    {"name": "lgd.mean", "low": 0.35, "high": 0.55},
    {"name": "systematic.shift", "low": -0.5, "high": 0.5},
    {"name": "transitions.declining->defaulted", "low": 0.8, "high": 1.2},
]


@pytest.fixture(scope="module")
def scenario():
    return rm.scenario_from_dict(yaml.safe_load(TINY.read_text()))


@pytest.fixture(scope="module")
def result(scenario):
    config = {
        "factors": FACTORS,
        "metrics": ["expected_loss", "var_0.95"],
        "tornado": {"paths": 1024, "seed": 1},
        "sobol": {"n": 16, "paths": 64, "seed": 1},
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SensitivityWarning)
        # 64 paths per Sobol evaluation: thin tails by design; the plots are the point here
        warnings.simplefilter("ignore", rm.TailResolutionWarning)
        return run_sensitivity(scenario, config)


def _bars(ax: Axes) -> dict:
    return {p.get_gid(): p for p in ax.patches if p.get_gid()}


def test_tornado_bars_start_at_base_and_end_at_the_values(result):
    ax = plot_tornado(result, metric="var_0.95")
    assert isinstance(ax, Axes)
    ds = result.data.sel(metric="var_0.95")
    base = float(result.data["base"].sel(metric="var_0.95"))
    bars = _bars(ax)
    for f in result.factors:
        for end in ("low", "high"):
            bar = bars[f"{end}-{f}"]
            assert bar.get_x() == pytest.approx(base)
            assert bar.get_x() + bar.get_width() == pytest.approx(
                float(ds[f"value_{end}"].sel(factor=f))
            )
    # largest swing on top (highest y)
    labels = [t.get_text().split("\n")[0] for t in ax.get_yticklabels()]
    assert labels[::-1] == result.ranking("var_0.95")


def test_sobol_bars_and_intervals(result):
    fig = Figure()
    ax = fig.add_subplot()
    assert plot_sobol(result, metric="expected_loss", ax=ax) is ax
    bars = _bars(ax)
    ds = result.data.sel(metric="expected_loss")
    for f in result.factors:
        for index in ("S1", "ST"):
            assert bars[f"{index}-{f}"].get_width() == pytest.approx(float(ds[index].sel(factor=f)))
    assert len(ax.collections) + len(ax.lines) > 0  # error bars drawn


def test_missing_method_or_metric_is_an_error(scenario, result):
    only_tornado = tornado(scenario, FACTORS[:1], ["expected_loss"])
    with pytest.raises(ValueError, match="no sobol analysis"):
        plot_sobol(only_tornado, metric="expected_loss")
    with pytest.raises(ValueError, match="`metric` must be one of"):
        plot_tornado(result, metric="es_0.5")


def test_plots_do_not_change_the_result(result):
    before = result.data.copy(deep=True)
    plot_tornado(result, metric="expected_loss")
    plot_sobol(result, metric="var_0.95")
    assert result.data.identical(before)
    assert np.isfinite(result.data["swing"]).all()


def test_axis_labels_and_titles_use_readable_metric_names(result):
    tornado_ax = plot_tornado(result, metric="var_0.95")
    sobol_ax = plot_sobol(result, metric="expected_loss", ax=Figure().add_subplot())
    assert tornado_ax.get_xlabel().startswith("VaR 95% (base ")
    assert tornado_ax.get_title().endswith("tornado of VaR 95%")
    assert sobol_ax.get_title().startswith("Sobol indices of Expected loss (")
    assert "_" not in tornado_ax.get_xlabel() + sobol_ax.get_title()
