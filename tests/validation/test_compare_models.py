"""`compare_models(method="time")`: held-out log predictive density, paired standard errors,
ranking."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from backtest_builders import simulate_counts
from scipy import stats

from riskmodel.data.panel import panel_to_counts
from riskmodel.errors import ArgumentError
from riskmodel.models.draws import ParameterDraws
from riskmodel.states import LIFECYCLE, StateSpace
from riskmodel.validation.compare import compare_models


def _tripled(draws: ParameterDraws) -> ParameterDraws:
    ss = draws.states
    t = draws.transitions.copy()
    rows = t[:, :, ss.transient_idx]
    p = rows[..., ss.default_idx]
    p3 = np.minimum(3 * p, 0.999)
    rows *= ((1 - p3) / (1 - p))[..., None]
    rows[..., ss.default_idx] = p3
    t[:, :, ss.transient_idx] = rows
    return ParameterDraws(ss, draws.segments, t)


def test_one_draw_lpd_is_the_multinomial_log_pmf(example_draws, example_panel):
    one = example_draws.take([0])
    res = compare_models({"one": one}, example_panel, method="time")
    counts = panel_to_counts(example_panel, LIFECYCLE, by_period=True)
    row = res.pointwise.iloc[7]
    y = counts.sel(period=row["period"], segment=row["segment"], from_state=row["from_state"])
    seg = one.segments.index(row["segment"])
    p = one.transitions[0, seg, LIFECYCLE.index(row["from_state"])]
    live = p > 0
    want = stats.multinomial.logpmf(y.values[live], int(y.sum()), p[live] / p[live].sum())
    assert row["one"] == pytest.approx(want, rel=1e-9)
    assert res.table["elpd"].iloc[0] == pytest.approx(res.pointwise["one"].sum())


def test_the_true_model_ranks_first_by_many_standard_errors(example_draws, example_panel):
    exposure = panel_to_counts(example_panel, LIFECYCLE, by_period=True).sum("to_state")
    n = exposure.values[:, :, LIFECYCLE.transient_idx]
    c = simulate_counts(example_draws, n, seed=9)
    da = xr.DataArray(c, dims=("period", "segment", "from_state", "to_state"),
                      coords={"period": exposure["period"].values,
                              "segment": list(example_draws.segments)})  # fmt: skip
    res = compare_models(
        {"wrong": _tripled(example_draws), "right": example_draws}, da, method="time"
    )
    t = res.table.set_index("model")
    assert t.loc["right", "rank"] == 1 and t.loc["right", "elpd_diff"] == 0
    assert t.loc["wrong", "elpd_diff"] > 4 * t.loc["wrong", "se_diff"]
    assert "the data prefer right over wrong by Δelpd" in res.summary()
    assert res.pareto_k is None and res.to_dict()["method"] == "time"
    assert res.to_dataframe().equals(res.table)
    assert [m["model"] for m in res.to_dict()["models"]] == ["right", "wrong"]
    # the paired se is the LOO formula over cells
    d = (res.pointwise["right"] - res.pointwise["wrong"]).to_numpy()
    assert t.loc["wrong", "elpd_diff"] == pytest.approx(d.sum())
    assert t.loc["wrong", "se_diff"] == pytest.approx(np.sqrt(d.size * d.var()))


def test_models_must_share_the_state_space(example_draws, example_panel):
    ss = StateSpace(["a", "d"], absorbing=["d"], default="d")
    other = ParameterDraws(ss, ("cards",), np.array([[[[0.9, 0.1], [0, 1]]]]))
    with pytest.raises(ArgumentError, match="one state space"):
        compare_models([example_draws, other], example_panel, method="time")
    with pytest.raises(ArgumentError, match="at least one model"):
        compare_models([], example_panel)
    with pytest.raises(ArgumentError, match="method must be one of"):
        compare_models([example_draws], example_panel, method="waic")
