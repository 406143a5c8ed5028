"""The run, scenario and model figures: each draws precomputed statistics on the Agg backend and
returns Axes with the expected artists."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest
import xarray as xr
import yaml
from matplotlib.axes import Axes
from matplotlib.figure import Figure

import riskmodel as rm
from riskmodel.metrics.result import SimulationResult
from riskmodel.plotting import (
    plot_alerts,
    plot_contributions,
    plot_cumulative_default_rate,
    plot_loss_distribution,
    plot_loss_distributions,
    plot_loss_term_structure,
    plot_posterior_diagnostics,
    plot_stage_occupancy,
    plot_style,
    plot_transition_heatmap,
)

TINY = Path(__file__).resolve().parents[1] / "scenarios" / "tiny.yaml"


def _config(**changes) -> dict:
    cfg = yaml.safe_load(TINY.read_text())
    cfg.update(changes)
    return cfg


@pytest.fixture(scope="module")
def result() -> SimulationResult:
    """Two segments, so contributions have something to allocate."""
    cfg = _config()
    cohorts = cfg["portfolio"]["cohorts"]
    cfg["portfolio"]["cohorts"] = cohorts + [dict(c, segment="smb") for c in cohorts]
    matrix = cfg["parameters"]["transitions"]["retail"]
    cfg["parameters"]["transitions"]["smb"] = matrix
    return rm.simulate(rm.scenario_from_dict(cfg), paths=600, seed=5, progress=False)


@pytest.fixture(scope="module")
def comparison():
    scenarios = [
        rm.scenario_from_dict(_config(name="calm", systematic={"correlation": 0.1, "shift": 0})),
        rm.scenario_from_dict(_config(name="storm", systematic={"correlation": 0.1, "shift": -1})),
    ]
    return rm.compare_scenarios(scenarios, paths=400, seed=2)


@pytest.fixture(scope="module")
def model():
    ss = rm.StateSpace(["good", "bad", "gone"], absorbing=["gone"], default="gone")
    counts = xr.DataArray(
        [[[90, 8, 2], [30, 60, 10], [0, 0, 0]], [[9, 1, 0], [3, 5, 2], [0, 0, 0]]],
        dims=("segment", "from_state", "to_state"),
        coords={
            "segment": ["big", "thin"],
            "from_state": list(ss.names),
            "to_state": list(ss.names),
        },
    )
    return rm.TransitionModel(ss).fit(counts, draws=200, chains=2, seed=0)


def _by_gid(ax: Axes) -> dict:
    return {line.get_gid(): line for line in ax.get_lines() if line.get_gid()}


# ---------------------------------------------------------------- term structures
def test_loss_term_structure_draws_quantile_bands_and_exact_mean(result):
    ax = plot_loss_term_structure(result)
    assert isinstance(ax, Axes)
    lines = _by_gid(ax)
    periods = result.data["period"].values
    np.testing.assert_allclose(lines["expected"].get_xdata(), periods)
    np.testing.assert_allclose(lines["expected"].get_ydata(), result.data["exact_loss"].values)
    median = result.quantiles_by_period("loss", (0.5,)).values[0]
    np.testing.assert_allclose(lines["median"].get_ydata(), median)
    assert len(ax.collections) == 2  # 5–95% and 25–75% bands
    q = result.quantiles_by_period("loss", (0.05, 0.95)).values
    outer = ax.collections[0].get_paths()[0].vertices[:, 1]
    assert outer.min() == pytest.approx(q[0].min()) and outer.max() == pytest.approx(q[1].max())
    assert "period" in ax.get_xlabel() and "currency" in ax.get_ylabel()
    assert "expected loss (exact)" in [t.get_text() for t in ax.get_legend().get_texts()]


def test_cumulative_default_rate_is_the_exact_cumulative_share(result):
    cdr = result.cumulative_default_rate()
    n0 = result.data.attrs["total_customers"]
    np.testing.assert_allclose(
        cdr["expected"].values, np.cumsum(result.data["exact_defaults"].values) / n0
    )
    np.testing.assert_allclose(cdr["expected"].values, result.ecl()["cumulative_default_rate"])
    # MC band brackets the exact mean and is monotone per quantile
    q = cdr["quantiles"]
    assert np.all(np.diff(q.values, axis=1) >= 0)
    assert np.all(q.sel(quantile=0.05) <= cdr["expected"]) and np.all(
        cdr["expected"] <= q.sel(quantile=0.95)
    )
    ax = plot_cumulative_default_rate(result, ax=Figure().add_subplot())
    np.testing.assert_allclose(_by_gid(ax)["expected"].get_ydata(), cdr["expected"].values)
    assert "%" in ax.yaxis.get_major_formatter()(0.05, 0)
    assert plt.get_fignums() == []


def test_stage_occupancy_stacks_every_state(result):
    ax = plot_stage_occupancy(result)
    states = list(result.data["state"].values)
    assert len(ax.collections) == len(states)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == states[::-1]
    top = ax.collections[-1].get_paths()[0].vertices[:, 1].max()
    assert top == pytest.approx(float(result.data["exact_occupancy"].sum("state").max()))


# ---------------------------------------------------------------- contributions and alerts
@pytest.mark.parametrize("kind", ["stacked", "grouped"])
def test_contributions_bars_are_the_euler_contributions(result, kind):
    contrib = rm.risk_contributions(result)
    ax = plot_contributions(contrib, level=0.99, kind=kind)
    bars = {p.get_gid(): p for p in ax.patches if p.get_gid()}
    at = contrib.sel(level=0.99)
    for seg in ("retail", "smb"):
        assert bars[f"EL-{seg}"].get_height() == pytest.approx(
            float(at["expected"].sel(segment=seg))
        )
        assert bars[f"VaR-{seg}"].get_height() == pytest.approx(float(at["var"].sel(segment=seg)))
        assert bars[f"ES-{seg}"].get_height() == pytest.approx(float(at["es"].sel(segment=seg)))
    assert [t.get_text() for t in ax.get_xticklabels()] == ["EL", "VaR 99%", "ES 99%"]
    if kind == "stacked":  # the segments stack to the total
        top = bars["ES-smb"].get_y() + bars["ES-smb"].get_height()
        assert top == pytest.approx(float(at["total_es"]))


def test_contributions_accepts_a_result_and_rejects_bad_level(result):
    assert isinstance(plot_contributions(result), Axes)
    with pytest.raises(ValueError, match="`level` must be one of"):
        plot_contributions(result, level=0.5)
    with pytest.raises(ValueError, match="`kind`"):
        plot_contributions(result, kind="pie")


def test_alerts_lines_and_confidence(result):
    alerts = rm.evaluate_alerts(
        result,
        [
            {"name": "dr", "metric": "default_rate", "threshold": 0.005, "confidence": 0.5},
            {"name": "big", "metric": "loss", "threshold": 1e9, "confidence": 0.9},
        ],
    )
    ax = plot_alerts(result, alerts)
    lines = _by_gid(ax)
    np.testing.assert_allclose(lines["alert-dr"].get_ydata(), alerts["probability"].values[0])
    assert lines["confidence-big"].get_ydata()[0] == pytest.approx(0.9)
    first = int(alerts["first_period"].sel(alert="dr"))
    assert first > 0 and lines["first-dr"].get_xdata()[0] == first
    assert "first-big" not in lines  # never fires
    assert "probability" in ax.get_ylabel()
    with pytest.raises(ValueError, match="evaluate_alerts"):
        plot_alerts(result, alerts.drop_vars("stderr"))


# ---------------------------------------------------------------- distributions
def test_loss_distribution_tail_inset_and_log_scale(result):
    ax = plot_loss_distribution(result, tail_inset=True, logy=True)
    assert ax.get_yscale() == "log"
    (inset,) = [c for c in ax.child_axes if c.get_gid() == "tail-inset"]
    assert inset.get_yscale() == "log"
    risk = result.risk()
    assert inset.get_xlim()[0] < min(risk.var.values()) < inset.get_xlim()[1]
    linear = plot_loss_distribution(result)
    linear.figure.canvas.draw()
    assert linear.yaxis.get_offset_text().get_text() == ""  # no 1e-7 offset on the density axis
    heights = [p.get_height() for p in linear.patches]
    assert 0.1 < max(heights) < 100  # density per a round number of currency units


def test_loss_distributions_overlay_from_comparison_and_dict(comparison):
    ax = plot_loss_distributions(comparison)
    lines = _by_gid(ax)
    for i, name in enumerate(comparison.scenarios):
        assert any(p.get_gid() == f"hist-{name}" for p in ax.patches)
        el = float(comparison.data["expected"].values[i])
        assert lines[f"expected-{name}"].get_xdata()[0] == pytest.approx(el)
        es = float(comparison.data["es"].sel(level=0.99).values[i])
        assert lines[f"es-{name}"].get_xdata()[0] == pytest.approx(es)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[0].startswith("calm: EL") and labels[1].startswith("storm: EL")
    ax2 = plot_loss_distributions(comparison.results, level=0.95, logy=True)
    assert ax2.get_yscale() == "log" and len(ax2.get_legend().get_texts()) == 2
    with pytest.raises(TypeError, match="ComparisonResult"):
        plot_loss_distributions({})


# ---------------------------------------------------------------- models
def test_transition_heatmap_annotates_mean_and_interval(model):
    mean, lo, hi = (model.transition_matrix(s) for s in ("mean", 0.03, 0.97))
    ax = plot_transition_heatmap(mean, lower=lo, upper=hi, segment="thin")
    image = ax.images[0].get_array()
    np.testing.assert_allclose(image, mean.sel(segment="thin").values[:2])  # transient rows
    texts = [t.get_text() for t in ax.texts]
    assert len(texts) == 2 * 3
    m, a, b = (
        float(x.sel(segment="thin", from_state="good", to_state="bad")) for x in (mean, lo, hi)
    )
    assert f"{m:.3f}\n[{a:.3f}, {b:.3f}]" in texts
    assert [t.get_text() for t in ax.get_yticklabels()] == ["good", "bad"]
    ax_all = plot_transition_heatmap(mean, show_absorbing=True, ax=Figure().add_subplot())
    assert ax_all.images[0].get_array().shape == (3, 3)
    with pytest.raises(ValueError, match="`segment` must be one of"):
        plot_transition_heatmap(mean, segment="nope")
    with pytest.raises(ValueError, match="dims"):
        plot_transition_heatmap(mean.transpose("from_state", "segment", "to_state"))


def test_posterior_diagnostics_uses_arviz(model):
    coords = {"segment": ["thin"], "from_state": ["good"]}
    axes = plot_posterior_diagnostics(model, var_names=["transition"], coords=coords)
    assert isinstance(axes, np.ndarray) and axes.shape[-1] == 2  # density | trace
    assert all(isinstance(a, Axes) for a in axes.ravel())
    forest = plot_posterior_diagnostics(
        model.idata, kind="forest", var_names=["transition"], coords=coords
    )
    assert forest.size >= 1
    with pytest.raises(ValueError, match="`kind`"):
        plot_posterior_diagnostics(model, kind="pairs")
    with pytest.raises(ValueError, match="fitted"):
        plot_posterior_diagnostics(object())


def test_plots_never_sample_or_recompute_risk(result, monkeypatch):
    """The term-structure figures read the metrics layer only (no risk measures, no RNG)."""

    def forbidden(*args, **kwargs):
        raise AssertionError("a plot sampled or recomputed risk measures")

    monkeypatch.setattr(SimulationResult, "risk", forbidden)
    monkeypatch.setattr(np.random, "default_rng", forbidden)
    for plot in (plot_loss_term_structure, plot_cumulative_default_rate, plot_stage_occupancy):
        assert isinstance(plot(result), Axes)


def test_plot_style_keeps_interactive_mode_set_inside():
    """Jupyter's inline backend turns interactive mode on when pyplot first draws; that happens
    inside plot_style, and must survive it, or later notebook figures stop showing."""
    import matplotlib as mpl

    before = mpl.is_interactive()
    grid = mpl.rcParams["axes.grid"]
    try:
        mpl.interactive(False)
        with plot_style():
            mpl.interactive(True)
        assert mpl.is_interactive()
        assert mpl.rcParams["axes.grid"] == grid  # everything else is restored
    finally:
        mpl.interactive(before)


def test_posterior_diagnostics_of_a_model_with_only_a_posterior_group():
    """DefaultModel exposes ``posterior`` (chain, draw, …) rather than ``idata``."""

    class Fitted:
        @property
        def posterior(self):
            rng = np.random.default_rng(0)
            return xr.Dataset(
                {"rho": (("chain", "draw"), rng.uniform(0.05, 0.2, (2, 50)))},
                coords={"chain": [0, 1], "draw": np.arange(50)},
            )

    axes = plot_posterior_diagnostics(Fitted(), var_names=["rho"])
    assert axes.shape[-1] == 2 and axes.ravel()[0].get_title() == "rho"
