"""plot_loss_distribution and the shared style: draws what metrics computed, nothing more."""

from __future__ import annotations

import dataclasses
import itertools
import subprocess
import sys
from pathlib import Path

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import pytest
import yaml
from matplotlib.axes import Axes
from matplotlib.figure import Figure

import riskmodel as rm
from riskmodel.metrics.result import SimulationResult
from riskmodel.metrics.risk import risk_measures
from riskmodel.plotting import OKABE_ITO, format_compact, plot_loss_distribution, plot_style
from riskmodel.plotting.distribution import MIN_BIN_PATHS, density_unit, plot_loss_distributions
from riskmodel.plotting.style import RC_PARAMS, compact_formatter

TINY = Path(__file__).resolve().parents[1] / "scenarios" / "tiny.yaml"


@pytest.fixture(scope="module")
def result() -> SimulationResult:
    scenario = rm.scenario_from_dict(yaml.safe_load(TINY.read_text()))
    return rm.simulate(scenario, paths=800, seed=3, progress=False)


def _lines(ax: Axes) -> dict[str, float]:
    return {line.get_gid(): float(line.get_xdata()[0]) for line in ax.get_lines()}


def test_returns_axes_with_histogram_and_marked_measures(result):
    ax = plot_loss_distribution(result, bins=40)
    assert isinstance(ax, Axes)
    assert len(ax.patches) == 40
    risk = result.risk()
    lines = _lines(ax)
    assert lines["expected"] == pytest.approx(risk.expected)
    for q in result.levels:
        assert lines[f"var-{q:g}"] == pytest.approx(risk.var[q])
        assert lines[f"es-{q:g}"] == pytest.approx(risk.es[q])
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[0] == "800 paths" and labels[1].startswith("EL (mean) ")
    assert "VaR 95% " in labels[2] and "ES 99% " in labels[-1]
    assert "loss" in ax.get_xlabel() and "currency" in ax.get_xlabel()
    assert "density" in ax.get_ylabel()


def test_draws_on_a_given_axes_without_pyplot(result):
    fig = Figure()
    ax = fig.add_subplot()
    assert plot_loss_distribution(result, ax=ax) is ax
    assert plt.get_fignums() == []  # nothing registered with pyplot


def test_uses_precomputed_measures_and_never_recomputes(result, monkeypatch):
    given = dataclasses.replace(
        result.risk(), expected=1.0, var={0.9: 2.0}, es={0.9: 3.0}, stderr_var={}, stderr_es={}
    )

    def no_stats(*args, **kwargs):
        raise AssertionError("the plot computed statistics itself")

    monkeypatch.setattr(SimulationResult, "risk", no_stats)
    monkeypatch.setattr(rm.metrics.risk, "risk_measures", no_stats)
    lines = _lines(plot_loss_distribution(result, measures=given))
    assert lines == {"expected": 1.0, "var-0.9": 2.0, "es-0.9": 3.0}


def test_histogram_is_a_weighted_density(result):
    weights = np.linspace(0.2, 1.8, result.paths)  # mean 1, like likelihood ratios
    weighted = SimulationResult(result.data.assign(weight=("path", weights)))
    measures = risk_measures(weighted.total().values, weights=weights, min_tail_paths=0)
    ax = plot_loss_distribution(weighted, bins=25, measures=measures)
    heights = np.array([p.get_height() for p in ax.patches])
    widths = np.array([p.get_width() for p in ax.patches])
    unit = density_unit(weighted.total().values)
    assert unit <= np.ptp(weighted.total().values) < 10 * unit
    assert f"per {format_compact(unit)} currency units" in ax.get_ylabel()
    expected, _ = np.histogram(weighted.total().values, bins=25, weights=weights, density=True)
    np.testing.assert_allclose(heights / unit, expected)
    assert float(np.sum(heights * widths) / unit) == pytest.approx(1.0)


def _tilted(result: SimulationResult, seed: int = 0) -> SimulationResult:
    """The run with a few paths pushed far into the tail with negligible weight, as an
    importance sampler's tilted paths are, and heavy lognormal weights on the rest."""
    rng = np.random.default_rng(seed)
    loss = result.data["loss"].copy()
    far = np.arange(5)
    loss[far] = loss[far] * 40.0  # 40 times the path's loss: far beyond the distribution
    w = rng.lognormal(0.0, 1.0, result.paths)
    w[far] = 1e-9
    return SimulationResult(result.data.assign(loss=loss, weight=("path", w)))


def test_x_range_comes_from_weighted_quantiles_not_the_largest_path(result):
    tilted = _tilted(result)
    total = tilted.total()
    measures = risk_measures(total.values, weights=tilted.weights, min_tail_paths=0)
    ax = plot_loss_distribution(tilted, measures=measures, tail_inset=True)
    lo, hi = ax.get_xlim()
    q_lo, q_hi = tilted.weighted_quantile(total, [1e-4, 0.9999]).values
    marks = [measures.expected, *measures.var.values(), *measures.es.values()]
    assert lo == pytest.approx(min(q_lo, *marks)) and hi == pytest.approx(max(q_hi, *marks))
    assert hi < 0.5 * float(total.max())  # the far tilted paths are off the axes
    # the histogram still integrates to the probability inside the range (≈ 1)
    inside = (total.values >= lo) & (total.values <= hi)
    bars = np.array([[p.get_height(), p.get_width()] for p in ax.patches])
    unit = density_unit(np.array([lo, hi]))
    mass = float(bars.prod(axis=1).sum() / unit)
    ref = tilted.weights[inside].sum() / tilted.weights.sum()
    assert mass == pytest.approx(ref, rel=1e-9)


def test_tail_inset_leaves_out_bins_below_the_monte_carlo_resolution(result):
    tilted = _tilted(result, seed=1)
    total, w = tilted.total().values, tilted.weights
    measures = risk_measures(total, weights=w, levels=(0.5, 0.9), min_tail_paths=0)
    bins = 40
    ax = plot_loss_distribution(tilted, measures=measures, tail_inset=True, bins=bins)
    (inset,) = [c for c in ax.child_axes if c.get_gid() == "tail-inset"]
    drawn = {round(p.get_x(), 6): p.get_height() for p in inset.patches}
    # the inset's bins are the main histogram's, from the lowest VaR on
    edges = np.linspace(*ax.get_xlim(), bins + 1)
    width = edges[1] - edges[0]
    tail = edges[edges >= min(measures.var.values()) - width]
    kept = dropped = 0
    for left, right in itertools.pairwise(tail):
        inside = w[(total >= left) & (total < right)]
        ess = inside.sum() ** 2 / np.sum(inside**2) if inside.size else 0.0
        if ess >= MIN_BIN_PATHS:  # resolved: drawn, at its probability density
            unit = density_unit(edges)
            assert drawn[round(left, 6)] == pytest.approx(inside.sum() / w.sum() / width * unit)
            kept += 1
        else:
            assert round(left, 6) not in drawn
            dropped += inside.size > 0
    assert kept > 0 and dropped > 0  # both cases occur on this run
    assert len(drawn) == kept


@pytest.mark.filterwarnings("ignore::riskmodel.errors.TailResolutionWarning")  # 800 paths
def test_overlay_x_range_spans_every_scenario_not_the_tilted_paths(result):
    tilted = _tilted(result, seed=2)
    runs = {"a": tilted, "b": result}
    ax = plot_loss_distributions(runs, level=0.99)
    lines = {line.get_gid(): float(line.get_xdata()[0]) for line in ax.get_lines()}
    lo, hi = ax.get_xlim()
    q = [r.weighted_quantile(r.total(), [1e-4, 0.9999]).values for r in runs.values()]
    assert lo == pytest.approx(min(min(v[0] for v in q), *lines.values()))
    assert hi == pytest.approx(max(max(v[1] for v in q), *lines.values()))
    assert hi < 0.5 * float(tilted.total().max())


def test_other_variables_and_bad_variable(result):
    ax = plot_loss_distribution(result, variable="defaults")
    assert "defaults (customers)" in ax.get_xlabel()
    with pytest.raises(ValueError, match="`variable` must be one of"):
        plot_loss_distribution(result, variable="weight")


def test_format_compact():
    assert format_compact(27_568_263.7) == "27.6M"
    assert format_compact(-1_500) == "-1.5k"
    assert format_compact(999_950) == "1M"
    assert format_compact(2.5e9, unit="€") == "€2.5bn"
    assert format_compact(0.25) == "0.25" and format_compact(0) == "0"
    assert format_compact(float("nan")) == "n/a"
    assert compact_formatter()(3.2e6, 0) == "3.2M"


def test_plot_style_is_scoped():
    before = mpl.rcParams["axes.spines.top"]
    with plot_style():
        assert mpl.rcParams["axes.spines.top"] is RC_PARAMS["axes.spines.top"]
        colours = mpl.rcParams["axes.prop_cycle"].by_key()["color"]
        assert [c.upper() for c in colours] == list(OKABE_ITO[1:])
    assert mpl.rcParams["axes.spines.top"] == before


def test_importing_plotting_does_not_import_matplotlib():
    code = "import sys, riskmodel.plotting; print('matplotlib' in sys.modules)"
    repo = TINY.parents[2]
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=repo
    )
    assert out.stdout.strip() == "False"


def test_unresolved_tail_gives_an_explained_empty_inset(result):
    from riskmodel.plotting.figures import render_png

    few = SimulationResult(result.data.isel(path=slice(0, 3)))  # 3 paths: no bin has 4
    measures = risk_measures(few.total().values, weights=few.weights, min_tail_paths=0)

    def draw(ax):
        ax = plot_loss_distribution(few, ax=ax, measures=measures, tail_inset=True)
        (inset,) = [c for c in ax.child_axes if c.get_gid() == "tail-inset"]
        assert len(inset.patches) == 0 and inset.get_yscale() == "linear"
        assert [t.get_gid() for t in inset.texts] == ["tail-unresolved"]

    assert render_png(draw).startswith(b"\x89PNG")  # draws without a log-scale error
