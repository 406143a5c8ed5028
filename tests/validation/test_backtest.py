"""`riskmodel.backtest`: inputs, the backtest.json schema, the verdict rule, calibration."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from backtest_builders import dirichlet_draws, simulate_counts

import riskmodel as rm
from riskmodel.data.macro import logit_transition_matrices
from riskmodel.data.panel import panel_to_counts
from riskmodel.data.synthetic import macro_driven_matrices, simulate_panel
from riskmodel.errors import ArgumentError, MacroError, PanelError
from riskmodel.models.draws import ParameterDraws
from riskmodel.states import LIFECYCLE

FIELDS = {"segment", "from_state", "to_state", "test", "observed", "expected", "statistic",
          "p_value", "verdict"}  # fmt: skip


def _counts_da(c, segments):
    return xr.DataArray(
        c,
        dims=("period", "segment", "from_state", "to_state"),
        coords={"period": np.arange(c.shape[0]), "segment": list(segments)},
    )


def test_backtest_json_schema_and_overall_is_worst_family_verdict(example_draws, example_panel):
    res = rm.backtest(example_draws, example_panel, replicates=500)
    out = json.loads(json.dumps(res.to_dict(), allow_nan=False))
    assert out["overall"] in {"green", "amber", "red"}
    assert out["thresholds"]["adjustment"] == "holm"
    assert len(out["tests"]) == len(res.to_dataframe())
    for rec in out["tests"]:
        assert FIELDS <= set(rec)
        assert rec["verdict"] in {"green", "amber", "red"}
    family = [r for r in out["tests"] if r["test"] != "default_traffic_light"]
    worst = max(("green", "amber", "red").index(r["verdict"]) for r in family)
    assert out["overall"] == ("green", "amber", "red")[worst]
    tests = {r["test"] for r in out["tests"]}
    assert tests == {"default_binomial", "default_jeffreys", "default_traffic_light",
                     "churn_binomial", "destination_split", "default_rate_period"}  # fmt: skip
    # one count test per segment x origin with transitions; one period test per segment x period
    n = panel_to_counts(example_panel, LIFECYCLE, by_period=True).sum("to_state")
    n_cells = int((n.sum("period").sel(from_state=list(LIFECYCLE.transient)) > 0).sum())
    assert sum(r["test"] == "default_binomial" for r in out["tests"]) == n_cells
    n_periods = int((n.sum("from_state") > 0).sum())
    assert sum(r["test"] == "default_rate_period" for r in out["tests"]) == n_periods


def test_panel_path_frame_and_counts_give_the_same_tests(example_draws, example_panel, tmp_path):
    path = tmp_path / "panel.csv"
    example_panel.to_csv(path, index=False)
    counts = panel_to_counts(example_panel, LIFECYCLE, by_period=True)
    frames = [
        rm.backtest(example_draws, x, replicates=200, seed=4).to_dataframe()
        for x in (example_panel, path, counts)
    ]
    for f in frames[1:]:
        assert f.equals(frames[0])


def test_verdicts_follow_holm_adjusted_pvalues(example_draws, example_panel):
    res = rm.backtest(example_draws, example_panel, replicates=200)
    t = res.tests[res.tests["test"] != "default_traffic_light"]
    m = len(t)
    smallest = t["p_value"].min()
    assert t["p_adjusted"].min() == pytest.approx(min(1.0, m * smallest))
    red = t["p_adjusted"] < 0.01
    amber = (t["p_adjusted"] < 0.05) & ~red
    assert (t.loc[red, "verdict"] == "red").all() and (t.loc[amber, "verdict"] == "amber").all()
    assert (t.loc[~red & ~amber, "verdict"] == "green").all()


def test_quadrupled_pds_turn_red_and_jeffreys_agrees(example_draws, example_panel):
    # counts from the posterior with PDs x 4 on the example panel's exposure
    exposure = panel_to_counts(example_panel, LIFECYCLE, by_period=True).sum("to_state")
    n = exposure.values[:, :, LIFECYCLE.transient_idx]
    c = simulate_counts(example_draws, n, seed=1, pd_factor=4.0)
    res = rm.backtest(example_draws, _counts_da(c, example_draws.segments), replicates=200)
    assert res.overall == "red"
    reds = res.tests[(res.tests["verdict"] == "red")]
    assert {"default_binomial", "default_jeffreys"} <= set(reds["test"])


def test_without_segment_column_a_one_segment_posterior_is_used(example_panel):
    one = example_panel[example_panel["segment"] == "cards"].drop(columns="segment")
    c = panel_to_counts(one, LIFECYCLE)
    draws = dirichlet_draws(c.values, ["cards"], n_draws=100, seed=2)
    res = rm.backtest(draws, one, replicates=100)
    assert set(res.tests["segment"]) == {"cards"}


def test_unknown_segment_is_refused_naming_it(example_draws, example_panel):
    panel = example_panel.assign(segment=example_panel["segment"].replace("smb", "sme"))
    with pytest.raises(PanelError, match=r"\['sme'\].*not in the posterior"):
        rm.backtest(example_draws, panel)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"alpha_red": 0.1, "alpha_amber": 0.05}, "alpha_red <= alpha_amber"),
     ({"replicates": 0}, "replicates must be a positive integer")],
)  # fmt: skip
def test_bad_arguments(example_draws, example_panel, kwargs, match):
    with pytest.raises(ArgumentError, match=match):
        rm.backtest(example_draws, example_panel, **kwargs)
    with pytest.raises(ArgumentError, match="posterior must be"):
        rm.backtest({"a": 1}, example_panel)


def _covariate_book(n_draws: int = 20):
    """A covariate posterior (a tight cloud around known logit parameters) and macro series."""
    ss = LIFECYCLE
    rng = np.random.default_rng(8)
    base = np.array(
        [
            [0.80, 0.15, 0.0, 0.01, 0.03, 0.01],
            [0.0, 0.85, 0.10, 0.02, 0.02, 0.01],
            [0.0, 0.02, 0.92, 0.03, 0.02, 0.01],
            [0.0, 0.01, 0.08, 0.83, 0.05, 0.03],
        ]
    )
    with np.errstate(divide="ignore"):
        a = np.log(base) - np.log(base[np.arange(4), ss.transient_idx])[:, None]
    b = np.zeros((4, ss.n, 1))
    b[:, ss.default_idx, 0] = 0.4  # default log-odds rise 0.4 per point of unemployment
    noise = rng.normal(0, 0.01, size=(n_draws, 2, 4, ss.n))
    a_d = np.where(np.isfinite(a), a + noise, -np.inf)
    a_d[..., np.arange(4), ss.transient_idx] = 0.0
    b_d = np.broadcast_to(b, (n_draws, 2, 4, ss.n, 1)).copy()
    macro = pd.DataFrame({"period": np.arange(12), "u": 5 + 2 * np.sin(np.arange(12) / 2)})
    x_ref = np.array([[macro["u"].mean()]])
    t = np.stack([logit_transition_matrices(a_d[d], b_d[d], x_ref, ss)[0] for d in range(n_draws)])
    draws = ParameterDraws(ss, ("cards", "loans"), t, covariates=("u",), intercepts=a_d,
                           coefficients=b_d)  # fmt: skip
    return draws, a, b, macro


def test_covariate_posterior_is_backtested_with_the_panels_macro():
    ss = LIFECYCLE
    draws, a, b, macro = _covariate_book()
    mats = macro_driven_matrices({"cards": a, "loans": a}, b, macro, ["u"], ss)
    panel = simulate_panel(mats, ss, n_customers=4000, n_periods=13, seed=3)
    with pytest.raises(ArgumentError, match="pass macro="):
        rm.backtest(draws, panel)
    res = rm.backtest(draws, panel, macro=macro, replicates=500)
    assert res.overall != "red"
    # the same panel against a macro path 3 points lower: PDs too low by a factor ~e^1.2
    low = macro.assign(u=macro["u"] - 3)
    res_low = rm.backtest(draws, panel, macro=low, replicates=500)
    assert res_low.overall == "red"
    red = res_low.tests["verdict"] == "red"
    assert {"cards", "loans"} <= set(res_low.tests.loc[red, "segment"])
    short = macro.iloc[:5]
    with pytest.raises(MacroError, match="does not cover"):
        rm.backtest(draws, panel, macro=short)


def test_calibration_scores_by_hand(example_draws, example_panel):
    res = rm.backtest(example_draws, example_panel, replicates=100)
    c = panel_to_counts(example_panel, LIFECYCLE).sel(segment="loans")
    c = c.values[LIFECYCLE.transient_idx]
    p = example_draws.transitions[:, example_draws.segments.index("loans")].mean(0)
    p = p[LIFECYCLE.transient_idx]
    log, brier = 0.0, 0.0
    for i in range(c.shape[0]):
        for j in range(c.shape[1]):
            if c[i, j]:
                log -= c[i, j] * np.log(p[i, j])
                brier += c[i, j] * (((p[i] - np.eye(len(p[i]))[j]) ** 2).sum())
    row = res.calibration.set_index("segment").loc["loans"]
    assert row["log_score"] == pytest.approx(log / c.sum())
    assert row["brier"] == pytest.approx(brier / c.sum())
    # in-sample Dirichlet posterior on segment-level counts beats the segment-blind benchmark
    assert row["log_skill"] > 0


def test_pit_is_uniform_under_the_model(example_draws, example_panel):
    exposure = panel_to_counts(example_panel, LIFECYCLE, by_period=True).sum("to_state")
    n = exposure.values[:, :, LIFECYCLE.transient_idx]
    pits = np.concatenate([
        rm.backtest(example_draws, _counts_da(simulate_counts(example_draws, n, seed=s),
                    example_draws.segments), replicates=50, seed=s).pit
        for s in range(8)
    ])  # fmt: skip
    # randomised PIT is exactly U(0, 1) under the model; the deciles have se sqrt(.09 / N)
    # (cells of one panel share a posterior draw, which widens the spread: 5 se plus 0.02)
    hist = np.histogram(pits, bins=10, range=(0, 1))[0] / pits.size
    assert np.abs(hist - 0.1).max() < 5 * np.sqrt(0.09 / pits.size) + 0.02


def test_intensity_model_is_backtested_on_its_period_matrices(example_panel):
    from riskmodel.models.intensity import IntensityModel

    ss = LIFECYCLE
    moves = [("new", "growing"), ("growing", "mature"), ("mature", "declining"),
             ("declining", "mature"), ("growing", "declining"), ("mature", "growing"),
             ("declining", "growing")]  # fmt: skip
    allowed = moves + [(s, a) for s in ss.transient for a in ss.absorbing]
    smb = example_panel[example_panel["segment"] == "smb"]  # thin: the MLE fit takes ~2 s
    model = IntensityModel(ss, allowed=allowed).fit(
        smb, subject="customer_id", time="period", state="state", segment="segment"
    )
    res = rm.backtest(model, smb, replicates=200, period_length=1.0)
    counts = panel_to_counts(smb, ss).sel(segment="smb").sum("to_state")
    p = model.transition_matrix(period=1.0).sel(segment="smb", to_state=ss.default)
    t = res.tests[res.tests["test"] == "default_binomial"].set_index("from_state")
    for origin in t.index:  # MLE: no draws, so the predictive mean is n x P(1)[i, default]
        want = float(counts.sel(from_state=origin)) * float(p.sel(from_state=origin))
        assert t.loc[origin, "expected"] == pytest.approx(want, rel=1e-9)
    with pytest.raises(ArgumentError, match="period_length"):
        rm.backtest(model, smb, period_length=0)
