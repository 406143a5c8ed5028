"""`compare_models(method="loo")`: PSIS-LOO against exact leave-one-cell-out, known truth,
chains, Pareto-k warnings and refusals. Conjugate models only (no NUTS)."""

from __future__ import annotations

import warnings

import arviz as az
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from scipy import special

from riskmodel.data.macro import logit_transition_matrices
from riskmodel.errors import ArgumentError, PanelError, ParetoKWarning
from riskmodel.models import TransitionModel
from riskmodel.models.draws import ParameterDraws
from riskmodel.states import LIFECYCLE
from riskmodel.validation.compare import _candidates, _log_lik, compare_models
from riskmodel.validation.compare_loo import loo_idata, psis_loo

SS = LIFECYCLE
SEGMENTS = ("north", "south", "east")
DIMS = ("period", "segment", "from_state", "to_state")


def _segment_rows(rng: np.random.Generator, spread: float) -> np.ndarray:
    """Transient rows per segment, (n_segments, n_transient, n_states): a common row on the
    logit scale plus a segment effect of sd `spread` (0 = identical segments)."""
    base = np.array([[0.0, 2.5, 0.5, -0.5, -1.5, -3.0],
                     [-9.0, 1.0, 2.5, 0.0, -1.5, -3.0],
                     [-9.0, -9.0, 3.0, 0.5, -1.5, -3.5],
                     [-9.0, -9.0, 0.5, 2.5, -1.0, -2.0]])  # fmt: skip
    eta = base[None] + spread * rng.standard_normal((len(SEGMENTS), *base.shape))
    return special.softmax(eta, axis=-1)


def _counts(rows: np.ndarray, n_periods: int, n_cell: int, seed: int) -> xr.DataArray:
    """Per-period counts, ``n_cell`` customers in every (period, segment, origin)."""
    rng = np.random.default_rng(seed)
    c = np.zeros((n_periods, len(SEGMENTS), SS.n, SS.n), dtype=np.int64)
    c[:, :, SS.transient_idx] = rng.multinomial(
        n_cell, np.broadcast_to(rows, (n_periods, *rows.shape))
    )
    return xr.DataArray(c, dims=DIMS, coords={"period": np.arange(n_periods),
                                              "segment": list(SEGMENTS),
                                              "from_state": list(SS.names),
                                              "to_state": list(SS.names)})  # fmt: skip


@pytest.fixture(scope="module")
def truth_counts() -> xr.DataArray:
    """12 periods of 3 clearly different segments (segment effects of sd 0.6 on the logits)."""
    return _counts(_segment_rows(np.random.default_rng(3), 0.6), 12, 150, seed=4)


@pytest.fixture(scope="module")
def fitted(truth_counts):
    total = truth_counts.sum("period")
    return {p: TransitionModel(SS, pooling=p).fit(total, draws=1000, chains=4, seed=5)
            for p in ("none", "complete")}  # fmt: skip


def _exact_loo(counts: xr.DataArray, concentration: float = 1.0) -> np.ndarray:
    """Exact leave-one-cell-out log predictive density of every live cell, pooling "none".

    Without cell (t, s, i) the posterior of row (s, i) is Dirichlet(α − y) with α = c + Σ_t y,
    so ``p(y | rest)`` is the Dirichlet–multinomial ``DM(y | n, α − y)`` (the refit is exact).
    """
    c = counts.values[:, :, SS.transient_idx].astype(float)  # (T, S, I, n)
    alpha = concentration + c.sum(0)  # no structural zeros: every destination allowed
    a = alpha[None] - c
    n = c.sum(-1)
    lp = (special.gammaln(n + 1) - special.gammaln(c + 1).sum(-1)
          + special.gammaln(a.sum(-1)) - special.gammaln(a.sum(-1) + n)
          + (special.gammaln(a + c) - special.gammaln(a)).sum(-1))  # fmt: skip
    return lp[n > 0]


def test_psis_loo_equals_exact_leave_one_cell_out(truth_counts, fitted):
    res = compare_models({"none": fitted["none"]}, truth_counts)
    exact = _exact_loo(truth_counts)
    got = res.pointwise["none"].to_numpy()
    # Monte Carlo error of each cell: the importance-sampling estimate is −log mean_d r_d with
    # r_d = 1 / p(y_cell | θ_d) over S = 4000 independent Dirichlet draws, so by the delta
    # method its sd is sd(r) / (mean(r) √S), estimated from the draws (exact for k < 0.5, an
    # approximation up to 0.7; all cells are below 0.7 here, checked below). Pareto smoothing
    # only trims the largest weights, which lowers the variance; its bias is O(1/S) (measured
    # here: mean z-score 0.19, sd 0.94 over the cells). A cell is off by more than 4 sd with
    # probability 6e-5 if the estimate is right: 144 cells make a false failure about
    # 1%-likely for an arbitrary seed (this one is fixed).
    (cand,) = _candidates({"none": fitted["none"]}, 1.0)
    ll, _, _ = _log_lik(cand, truth_counts, None, "segment")
    r = np.exp(-(ll - ll.min(0)))  # rescaled per cell: the ratio sd/mean is unchanged
    sd = r.std(0) / (r.mean(0) * np.sqrt(ll.shape[0]))
    assert res.pareto_k["none"].max() < 0.7
    assert np.all(np.abs(got - exact) < 4 * sd), np.max(np.abs(got - exact) / sd)
    # the sum: sd(Σ err) ≤ Σ sd_i whatever the correlation between cells of one row
    assert abs(got.sum() - exact.sum()) < 4 * sd.sum()
    # and the estimate is not trivially the full-data density (LOO must cost something)
    lpd = special.logsumexp(ll, axis=0) - np.log(ll.shape[0])
    assert lpd.sum() - exact.sum() > 10 * sd.sum()


def test_no_pooling_beats_complete_pooling_on_different_segments(truth_counts, fitted):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = compare_models(fitted, truth_counts)
    # complete pooling is wrong here: a few cells of the segment farthest from the pooled row
    # pull on it hard (Pareto k > 0.7); the right model has none
    assert all(w.category is ParetoKWarning and "model 'complete'" in str(w.message)
               for w in caught)  # fmt: skip
    t = res.table.set_index("model")
    assert t.loc["none", "pareto_k_bad"] == 0
    assert res.models == ["none", "complete"]
    assert t.loc["complete", "elpd_diff"] > 8 * t.loc["complete", "se_diff"]
    assert t.loc["none", "elpd_diff"] == 0 and t.loc["none", "se_diff"] == 0
    # chains are kept from the fitted models. p_loo, the effective number of parameters, is
    # below the 60 free entries (3 segments × 4 rows × 5) of the right model, and above the 20
    # of complete pooling: p_loo past the number of parameters flags a misspecified model
    # (Vehtari et al., LOO glossary)
    assert (t["chains"] == 4).all() and (t["draws"] == 4000).all()
    assert t.loc["none", "p_loo"] < 60 and t.loc["complete", "p_loo"] > 20
    text = res.summary()
    assert "the data prefer none over complete by Δelpd = " in text
    assert "The data prefer pooling 'none' (over 'complete')." in text
    assert res.pooling_preference().startswith("The data prefer pooling 'none' over 'complete' by")
    # elpd_diff and se_diff are arviz.compare's (elpd_diff, dse), paired over the cells
    (a, b) = _candidates(fitted, 1.0)
    elpd = {}
    for cand in (a, b):
        ll, cells, _ = _log_lik(cand, truth_counts, None, "segment")
        elpd[cand.name] = psis_loo(ll.reshape(4, -1, ll.shape[1]), cells)
    ref = az.compare(elpd, method="pseudo-BMA")
    assert t.loc["complete", "elpd_diff"] == pytest.approx(ref.loc["complete", "elpd_diff"])
    assert t.loc["complete", "se_diff"] == pytest.approx(ref.loc["complete", "dse"])
    assert t.loc["none", "elpd"] == pytest.approx(ref.loc["none", "elpd_loo"])
    assert t.loc["none", "se"] == pytest.approx(ref.loc["none", "se"])


def test_identical_segments_prefer_complete_pooling():
    counts = _counts(_segment_rows(np.random.default_rng(3), 0.0), 12, 150, seed=6)
    total = counts.sum("period")
    fits = {p: TransitionModel(SS, pooling=p).fit(total, draws=500, chains=2, seed=7)
            for p in ("none", "complete")}  # fmt: skip
    res = compare_models(fits, counts)
    assert res.models == ["complete", "none"]  # fewer parameters, the same fit


def test_loo_data_are_chain_draw_cell(truth_counts, fitted):
    (cand,) = _candidates({"m": fitted["none"]}, 1.0)
    ll, cells, _ = _log_lik(cand, truth_counts, None, "segment")
    idata = loo_idata(ll.reshape(4, 1000, -1), cells)
    da = idata.log_likelihood["counts"]
    assert da.dims == ("chain", "draw", "cell") and da.shape == (4, 1000, len(cells))
    first = da.isel(cell=0)
    assert (first.period.item(), first.segment.item(), first.from_state.item()) == (
        0,
        "north",
        "new",
    )
    # flattened draws (ParameterDraws, files of `riskmodel fit`) are one chain
    res = compare_models({"flat": fitted["none"].parameter_draws()}, truth_counts)
    assert res.table["chains"].iloc[0] == 1


def test_a_cell_that_carries_its_row_warns_with_pareto_k(truth_counts, fitted):
    # segment "east", origin "new": all its customers in period 0, so leaving that cell out
    # takes the row back to the prior; importance sampling cannot bridge that
    c = truth_counts.copy()
    new = SS.index("new")
    c[0, 2, new] = c[:, 2, new].sum("period")
    c[1:, 2, new] = 0
    model = TransitionModel(SS).fit(c.sum("period"), draws=1000, chains=2, seed=8)
    with pytest.warns(
        ParetoKWarning, match=r"cells have Pareto k > 0\.7.*period 0, east, from new"
    ):
        res = compare_models({"thin": model}, c)
    t = res.table.iloc[0]
    assert t["pareto_k_bad"] >= 1 and t["pareto_k_max"] > 0.7
    worst = res.worst_cells("thin", 1).iloc[0]
    assert (worst["period"], worst["segment"], worst["from_state"]) == (0, "east", "new")
    assert res.to_dict()["warnings"] and "unreliable" in res.summary()


def test_loo_refuses_another_panel_and_point_estimates(truth_counts, fitted):
    other = _counts(_segment_rows(np.random.default_rng(3), 0.6), 12, 150, seed=99)
    with pytest.raises(PanelError, match=r"fitted on other data.*method='time'"):
        compare_models({"none": fitted["none"]}, other)
    # the same panel on a held-out basis is fine
    assert compare_models({"none": fitted["none"]}, other, method="time").models == ["none"]
    one = fitted["none"].parameter_draws().take([0])
    with pytest.raises(ArgumentError, match="PSIS-LOO needs posterior draws"):
        compare_models({"point": one}, truth_counts)


def test_covariate_draws_use_each_periods_matrices():
    """A logit model whose default logit moves with a macro variable beats the same draws with
    the coefficient zeroed, on a panel simulated from the moving matrices."""
    rng = np.random.default_rng(12)
    n_t, n_d = 12, 400
    x = np.linspace(-2, 2, n_t)[:, None]
    a = np.log(_segment_rows(np.random.default_rng(3), 0.3))  # (S, I, n)
    a = a - a[..., :1]  # reference destination: the first
    b = np.zeros((*a.shape, 1))
    b[..., SS.default_idx, 0] = 0.8
    jitter = 0.02 * rng.standard_normal((n_d, *a.shape))  # a tight "posterior" around truth
    jitter[..., 0] = 0.0  # the reference destination keeps logit 0
    aa, bb = a[None] + jitter, np.broadcast_to(b, (n_d, *b.shape)).copy()
    ref = logit_transition_matrices(aa, bb, x.mean(0, keepdims=True), SS)[:, 0]
    moving = ParameterDraws(SS, SEGMENTS, ref, covariates=("u",), intercepts=aa, coefficients=bb)
    flat = ParameterDraws(SS, SEGMENTS, ref)
    truth = logit_transition_matrices(a, b, x, SS)[:, :, SS.transient_idx]  # (T, S, I, n)
    c = np.zeros((n_t, len(SEGMENTS), SS.n, SS.n), dtype=np.int64)
    c[:, :, SS.transient_idx] = rng.multinomial(400, truth)
    counts = xr.DataArray(c, dims=DIMS, coords={"period": np.arange(n_t),
                                                "segment": list(SEGMENTS)})  # fmt: skip
    macro = pd.DataFrame({"period": np.arange(n_t), "u": x[:, 0]})
    res = compare_models({"moving": moving, "flat": flat}, counts, macro=macro)
    t = res.table.set_index("model")
    assert res.models == ["moving", "flat"]
    assert t.loc["flat", "elpd_diff"] > 5 * t.loc["flat", "se_diff"]
    with pytest.raises(ArgumentError, match="pass macro="):
        compare_models({"moving": moving}, counts)
