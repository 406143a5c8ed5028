"""Macro covariates: the generating logit coefficients are recovered; numpy macro paths."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from models_testdata import COV_BETA, COV_STATES, MCMC, quiet_fit

from riskmodel.data.macro import MacroError
from riskmodel.data.panel import panel_to_counts
from riskmodel.models import TransitionModel


def test_generating_coefficients_are_recovered_within_their_intervals(covariate_run):
    model = covariate_run[0]
    coef = model.posterior["coefficient"].isel(segment=0, covariate=0)
    lo94, hi94 = coef.quantile(0.03, ("chain", "draw")), coef.quantile(0.97, ("chain", "draw"))
    lo99, hi99 = coef.quantile(0.005, ("chain", "draw")), coef.quantile(0.995, ("chain", "draw"))
    cells = [(0, 1), (0, 2), (1, 0), (1, 2)]
    inside94 = [bool(lo94[r, j] <= COV_BETA[r, j, 0] <= hi94[r, j]) for r, j in cells]
    inside99 = [bool(lo99[r, j] <= COV_BETA[r, j, 0] <= hi99[r, j]) for r, j in cells]
    assert all(inside99), (lo99.values, hi99.values)
    assert sum(inside94) >= 3, (lo94.values, hi94.values)
    # reference (stay) cells are exactly 0
    assert float(abs(coef.sel(origin="current", to_state="current")).max()) == 0.0


def test_intercepts_are_recovered(covariate_run):
    model, _, _, intercepts = covariate_run
    a = model.posterior["intercept"]
    for seg, truth in intercepts.items():
        lo = a.sel(segment=seg).quantile(0.005, ("chain", "draw")).values
        hi = a.sel(segment=seg).quantile(0.995, ("chain", "draw")).values
        finite = np.isfinite(truth) & (truth != 0)
        assert np.all((lo[finite] <= truth[finite]) & (truth[finite] <= hi[finite]))


def test_macro_paths_give_numpy_transition_matrices(covariate_run):
    model, _, macro, _ = covariate_run
    draws = model.parameter_draws()
    assert draws.covariates == ("unemployment",)
    ref = model.macro_reference
    periods = model.counts.period.values  # transitions start in periods 0 .. T-2
    assert ref["unemployment"] == pytest.approx(macro.unemployment[periods].mean())
    at_mean = draws.transitions_for_macro({"unemployment": [ref["unemployment"]]})
    np.testing.assert_allclose(at_mean[:, 0], draws.transitions, atol=1e-12)
    path = draws.transitions_for_macro({"unemployment": np.array([4.0, 6.0, 9.0]), "gdp": [0] * 3})
    assert path.shape == (draws.n_draws, 3, 2, 3, 3)
    np.testing.assert_allclose(path.sum(-1), 1.0)
    pd_path = path[..., 0, 2].mean(axis=(0, 2))  # current -> defaulted rises with unemployment
    assert pd_path[0] < pd_path[1] < pd_path[2]
    with pytest.raises(ValueError, match=r"lacks covariate\(s\) \['unemployment'\]"):
        draws.transitions_for_macro({"gdp": [1.0]})
    # posterior-mean draws keep the macro link
    assert draws.mean().transitions_for_macro({"unemployment": [5.0]}).shape == (1, 1, 2, 3, 3)


def test_covariate_model_needs_aligned_macro(covariate_run):
    _, panel, macro, _ = covariate_run
    model = TransitionModel(COV_STATES, covariates=["unemployment"])
    with pytest.raises(ValueError, match="pass macro="):
        model.fit(panel)
    with pytest.raises(MacroError, match=r"no row for period\(s\) \[40, 41"):
        model.fit(panel, macro=macro[macro.period < 40])
    with pytest.raises(ValueError, match="constant over the fitted periods"):
        model.fit(panel, macro=macro.assign(unemployment=5.0))
    with pytest.raises(ValueError, match="by_period=True"):
        model.fit(panel_to_counts(panel, COV_STATES), macro=macro)
    with pytest.raises(MacroError, match=r"missing column\(s\) \['unemployment'\]"):
        model.fit(panel, macro=pd.DataFrame({"period": macro.period}))


@pytest.mark.slow
@pytest.mark.parametrize("pooling", ["partial", "complete"])
def test_covariate_model_with_pooled_intercepts(covariate_run, pooling):
    _, panel, macro, _ = covariate_run
    model = quiet_fit(
        TransitionModel(COV_STATES, pooling=pooling, covariates=["unemployment"]),
        panel,
        macro=macro,
        seed=5,
        **MCMC,
    )
    coef = model.posterior["coefficient"].isel(covariate=0)
    lo = coef.quantile(0.005, ("chain", "draw")).values
    hi = coef.quantile(0.995, ("chain", "draw")).values
    truth = np.broadcast_to(COV_BETA[..., 0], lo.shape)
    assert np.all((lo <= truth + 0.05) & (truth - 0.05 <= hi))
    assert model.diagnostics["divergences"] == 0
    if pooling == "complete":
        a = model.posterior["intercept"]
        np.testing.assert_array_equal(a.sel(segment="retail").values, a.sel(segment="sme").values)
    assert set(model.summary().index) >= {"beta[current->late, unemployment]"}
