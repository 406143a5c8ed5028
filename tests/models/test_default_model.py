"""DefaultModel: recovery of PD and asset correlation; data checks; save/load."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from models_testdata import DEFAULT_TRUTH, MCMC, quiet_fit

from riskmodel.data.synthetic import simulate_default_history
from riskmodel.models import (
    DefaultDataError,
    DefaultModel,
    ModelFileError,
    NotFittedError,
    TransitionModel,
    load_parameter_draws,
)


def interval(draws: np.ndarray, level: float = 0.94) -> tuple[float, float]:
    tail = (1 - level) / 2
    return float(np.quantile(draws, tail)), float(np.quantile(draws, 1 - tail))


def test_pd_and_rho_are_recovered_within_their_intervals(default_run):
    model, _ = default_run
    lo, hi = interval(model.correlation_draws())
    assert lo <= DEFAULT_TRUTH["rho"] <= hi, (lo, hi)
    pd_draws = model.pd_draws()
    for seg, p in DEFAULT_TRUTH["pd"].items():
        lo, hi = interval(pd_draws.sel(segment=seg).values)
        assert lo <= p <= hi, (seg, lo, hi)
    diag = model.diagnostics
    assert diag["divergences"] == 0 and diag["max_rhat"] < 1.05


def test_latent_factor_tracks_the_simulated_one(default_run):
    model, hist = default_run
    z_hat = model.posterior["factor"].mean(("chain", "draw")).values
    z = np.asarray(hist.attrs["factor"])
    assert np.corrcoef(z_hat, z)[0, 1] > 0.95


def test_summary_and_correlation_draws_feed_parameter_draws(default_run, tmp_path):
    model, _ = default_run
    table = model.summary()
    assert {"pd[cards]", "pd[loans]", "rho"} <= set(table.index)
    from riskmodel.data.synthetic import simulate_panel
    from riskmodel.states import StateSpace

    ss = StateSpace(["ok", "d"], absorbing=["d"], default="d")
    panel = simulate_panel(
        {"cards": [[0.98, 0.02], [0, 1]]}, ss, n_customers=100, n_periods=4, seed=0
    )
    draws = TransitionModel(ss).fit(panel, seed=0).parameter_draws()
    with_rho = draws.with_correlation(model.correlation_draws())
    assert with_rho.correlation.shape == (draws.n_draws,)
    np.testing.assert_allclose(
        with_rho.correlation.mean(), model.correlation_draws().mean(), rtol=0.1
    )
    path = tmp_path / "combined.nc"
    with_rho.to_netcdf(path)
    np.testing.assert_array_equal(load_parameter_draws(path).correlation, with_rho.correlation)


def test_save_load_round_trip_and_refusals(default_run, tmp_path):
    model, _ = default_run
    path = tmp_path / "default.nc"
    model.save(path)
    loaded = DefaultModel.load(path)
    np.testing.assert_array_equal(loaded.correlation_draws(), model.correlation_draws())
    assert loaded.segments == ("cards", "loans")
    with pytest.raises(ModelFileError, match="covariates"):
        DefaultModel.load(path, covariates=["unemployment"])
    with pytest.raises(ModelFileError, match="not a saved TransitionModel"):
        TransitionModel.load(path)
    with pytest.raises(ValueError, match=r"DefaultModel posterior.*with_correlation"):
        load_parameter_draws(path)


@pytest.mark.parametrize(
    ("frame", "pattern"),
    [
        (pd.DataFrame({"period": [0], "customers": [10]}), r"missing column\(s\) \['defaults'\]"),
        (
            pd.DataFrame({"period": [0, 1], "customers": [10, 10], "defaults": [1, 11]}),
            r"defaults exceed customers at rows \[1\]",
        ),
        (
            pd.DataFrame({"period": [0, 0], "customers": [10, 10], "defaults": [1, 1]}),
            "duplicate",
        ),
        (
            pd.DataFrame({"period": [0, 1], "customers": [10, 10], "defaults": [1, -1]}),
            "non-negative integers",
        ),
    ],
)
def test_bad_default_data_is_refused(frame, pattern):
    with pytest.raises(DefaultDataError, match=pattern):
        DefaultModel().fit(frame)


def test_default_model_before_fit():
    with pytest.raises(NotFittedError, match=r"call \.fit\(\) first"):
        DefaultModel().correlation_draws()


def test_macro_link_on_the_factor_mean_is_recovered():
    """Z_t ~ Normal(gamma * standardised unemployment, 1) with gamma = -0.8 (downturns)."""
    rng = np.random.default_rng(21)
    t = np.arange(80)
    u = 5.0 + 1.5 * np.sin(t / 7.0) + rng.normal(0, 0.1, t.size)
    gamma = -0.8
    shift = gamma * (u - u.mean()) / u.std()
    hist = simulate_default_history(
        0.01, 0.1, customers=20_000, n_periods=t.size, shift=shift, rng=rng
    )
    macro = pd.DataFrame({"period": t, "unemployment": u})
    model = quiet_fit(DefaultModel(covariates=["unemployment"]), hist, macro=macro, seed=1, **MCMC)
    lo, hi = interval(model.posterior["gamma"].values.reshape(-1), 0.99)
    assert lo <= gamma <= hi, (lo, hi)
    path = model.factor_shift({"unemployment": np.array([u.mean(), u.mean() + u.std()])})
    assert path.shape == (model.correlation_draws().size, 2)
    np.testing.assert_allclose(path[:, 0], 0.0, atol=1e-12)
    assert hi < 0 and path[:, 1].mean() < -0.5
    with pytest.raises(ValueError, match="pass macro="):
        DefaultModel(covariates=["unemployment"]).fit(hist)
