"""`simulation: {keep: totals}`: per-path totals and per-period means only, same numbers."""

from __future__ import annotations

import numpy as np
import pytest
from scenario_builders import lifecycle_dict

import riskmodel as rm
from riskmodel.plotting import plot_cumulative_default_rate, plot_loss_term_structure

# Small runs check expectations and invariants here; their tail levels are thin by design,
# which riskmodel reports with TailResolutionWarning (its own tests: tests/metrics).
pytestmark = pytest.mark.filterwarnings("ignore::riskmodel.errors.TailResolutionWarning")

PER_PERIOD = ("loss", "defaults", "churn", "margin")


def _scenario(keep: str, **simulation) -> rm.Scenario:
    cfg = lifecycle_dict(horizon=12, paths=5000, seed=12, rho=0.15)
    cfg["discount_rate"] = 0.004
    cfg["simulation"] = {"importance_sampling": True, "keep": keep, **simulation}
    return rm.scenario_from_dict(cfg)


@pytest.fixture(scope="module")
def runs():
    return (
        rm.simulate(_scenario("paths"), progress=False),
        rm.simulate(_scenario("totals"), progress=False),
    )


def test_totals_equal_the_sums_of_the_kept_paths(runs):
    full, totals = runs
    assert full.keeps_paths and not totals.keeps_paths
    for v in PER_PERIOD:
        np.testing.assert_allclose(totals.total(v), full.total(v), rtol=1e-13, atol=0)
        np.testing.assert_allclose(
            totals.total(v, discounted=True), full.total(v, discounted=True), rtol=1e-13
        )
        np.testing.assert_allclose(
            totals.expected_by_period(v), full.expected_by_period(v), rtol=1e-12
        )
    np.testing.assert_array_equal(totals.weights, full.weights)
    a, b = totals.risk(), full.risk()
    assert a.var == pytest.approx(b.var, rel=1e-12) and a.es == pytest.approx(b.es, rel=1e-12)


def _flat(tree, prefix=""):
    """Nested dicts and lists as {path: leaf}."""
    if isinstance(tree, dict):
        return {k: v for key, sub in tree.items() for k, v in _flat(sub, f"{prefix}/{key}").items()}
    if isinstance(tree, list):
        return {k: v for i, sub in enumerate(tree) for k, v in _flat(sub, f"{prefix}/{i}").items()}
    return {prefix: tree}


def test_summary_is_the_same_whatever_is_kept(runs):
    full, totals = runs
    a, b = _flat(totals.summary()), _flat(full.summary())
    assert a.keys() == b.keys()
    for key, value in b.items():
        if isinstance(value, float):  # sums over periods in another order: last-bit changes
            assert a[key] == pytest.approx(value, rel=1e-11, abs=1e-9), key
        else:
            assert a[key] == value, key


def test_no_per_path_per_period_array_is_kept(runs):
    _, totals = runs
    assert totals.data.attrs["keep"] == "totals"
    for name, da in totals.data.data_vars.items():
        assert not {"path", "period"} <= set(da.dims), name
    # what grows with the paths: a fixed number of values per path (totals, segment and cohort
    # splits, weight, draw), independent of the horizon
    per_path = sum(da.size for da in totals.data.data_vars.values() if "path" in da.dims)
    cohorts = totals.data.sizes["cohort"] + totals.data.sizes["segment"]
    assert per_path == totals.paths * (2 * len(PER_PERIOD) + cohorts + 3)


def test_totals_do_not_depend_on_batch_or_workers():
    sc = _scenario("totals")
    a = rm.simulate(sc, batch=1000, workers=1, progress=False)
    b = rm.simulate(sc, batch=7000, workers=2, progress=False)
    for v in ("loss", "loss_discounted", "mc_mean_loss", "mc_mean_defaults", "weight"):
        np.testing.assert_array_equal(a.data[v], b.data[v], err_msg=v)


def test_fans_are_refused_clearly_and_plots_show_the_expectation(runs):
    _, totals = runs
    with pytest.raises(ValueError, match="keep: totals"):
        totals.quantiles_by_period("loss")
    cdr = totals.cumulative_default_rate()
    assert cdr.attrs["quantiles"] == 0 and np.isnan(cdr["quantiles"]).all()
    for plot in (plot_loss_term_structure, plot_cumulative_default_rate):
        ax = plot(totals)
        assert [t.get_gid() for t in ax.texts] == ["no-fan-note"]
        assert ax.get_lines()[0].get_gid() == "expected" and not ax.collections


ALERTS = [
    {"name": "loss spike", "metric": "loss", "threshold": 60_000.0},
    {"name": "default rate", "metric": "default_rate", "threshold": 0.004, "confidence": 0.2},
    {"name": "churn rate", "metric": "churn_rate", "threshold": 0.01},
]


def test_alerts_are_evaluated_block_by_block_in_a_totals_run():
    cfg = lifecycle_dict(horizon=12, paths=5000, seed=12, rho=0.15)
    cfg["alerts"] = ALERTS
    cfg["simulation"] = {"importance_sampling": True, "keep": "totals"}
    totals = rm.simulate(rm.scenario_from_dict(cfg), progress=False)
    cfg["simulation"]["keep"] = "paths"
    full = rm.simulate(rm.scenario_from_dict(cfg), progress=False)
    a, b = rm.evaluate_alerts(totals, ALERTS), rm.evaluate_alerts(full, ALERTS)
    np.testing.assert_allclose(a["probability"], b["probability"], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(a["stderr"], b["stderr"], rtol=1e-9, atol=1e-15)
    np.testing.assert_array_equal(a["first_period"], b["first_period"])
    assert 0 < float(b["probability"].max()) < 1  # the thresholds bite somewhere
    # alerts the run did not evaluate cannot be computed afterwards without the paths
    with pytest.raises(ValueError, match="keep: paths"):
        rm.evaluate_alerts(totals, [{"name": "new", "metric": "loss", "threshold": 1.0}])
    moved = [{**ALERTS[0], "threshold": 1.0}]
    with pytest.raises(ValueError, match="loss spike"):
        rm.evaluate_alerts(totals, moved)


def test_a_totals_run_writes_its_report_and_netcdf(tmp_path):
    from riskmodel.report import write_run_report

    cfg = lifecycle_dict(horizon=12, paths=2048, seed=12, rho=0.15)
    cfg["alerts"] = ALERTS
    cfg["simulation"] = {"keep": "totals"}
    sc = rm.scenario_from_dict(cfg)
    res = rm.simulate(sc, progress=False)
    out = write_run_report(res, sc, tmp_path / "totals")
    html = (out / "report.html").read_text()
    assert "Term structure" in html and "Early warnings" in html
    assert {p.name for p in (out / "figures").iterdir()} >= {
        "loss_term_structure.png",
        "cumulative_default_rate.png",
        "alerts.png",
    }
    back = rm.SimulationResult.from_netcdf(out / "results.nc")
    assert not back.keeps_paths and back.summary()["loss"] == res.summary()["loss"]
    again = rm.evaluate_alerts(back, ALERTS)
    np.testing.assert_array_equal(
        again["probability"], rm.evaluate_alerts(res, ALERTS)["probability"]
    )
