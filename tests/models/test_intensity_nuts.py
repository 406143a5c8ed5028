"""IntensityModel with NUTS: exact gradient of the eigendecomposition likelihood, posterior
recovery, partial pooling and files. Fits are tiny and shared per module (the suite must stay
fast on two cores)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from intensity_testdata import ILLNESS, ILLNESS_ALLOWED, ILLNESS_Q, generator_of, simulate_panel

from riskmodel.errors import ArgumentError
from riskmodel.models import ConvergenceWarning
from riskmodel.models.intensity import IntensityModel
from riskmodel.models.intensity_bayes import loglik_and_grad
from riskmodel.models.intensity_likelihood import loglik, prepare_panel
from riskmodel.states import StateSpace

Q_TRUE = generator_of(ILLNESS, ILLNESS_Q)
TRUTH = np.log([ILLNESS_Q[p] for p in ILLNESS_ALLOWED])
MCMC = {"draws": 300, "tune": 300, "chains": 2, "cores": 1}
COLS = {"subject": "id", "time": "t", "state": "state"}


def _quiet_fit(model, panel, mc=MCMC, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # short chains; checked below
        return model.fit(panel, method="nuts", **mc, **kw)


@pytest.fixture(scope="module")
def single():
    panel = simulate_panel(Q_TRUE, ILLNESS, n_subjects=250, seed=21)
    kw = {"allowed": ILLNESS_ALLOWED, "exact_states": ["dead"]}
    nuts = _quiet_fit(IntensityModel(ILLNESS, **kw), panel, seed=5, **COLS)
    mle = IntensityModel(ILLNESS, **kw).fit(panel, **COLS)
    return nuts, mle


def test_gradient_is_exact():
    """The Fréchet-adjoint gradient equals central differences (h = 1e-6: error ~h²·|ℓ'''|,
    rounding ~1e-16·|ℓ|/h ≈ 1e-8), and the value equals the reference likelihood."""
    panel = simulate_panel(Q_TRUE, ILLNESS, n_subjects=60, seed=2)
    o = prepare_panel(panel, ILLNESS, exact_states=("dead",), **COLS)
    value, grad = loglik_and_grad(Q_TRUE, o.dt, o.prev, o.cur, o.exact)
    assert value == pytest.approx(loglik(Q_TRUE[None], o), rel=1e-12)
    h, fd = 1e-6, np.zeros_like(Q_TRUE)
    for i in range(4):
        for j in range(4):
            E = np.zeros_like(Q_TRUE)
            E[i, j] = h
            up = loglik_and_grad(Q_TRUE + E, o.dt, o.prev, o.cur, o.exact)[0]
            down = loglik_and_grad(Q_TRUE - E, o.dt, o.prev, o.cur, o.exact)[0]
            fd[i, j] = (up - down) / (2 * h)
    np.testing.assert_allclose(grad, fd, atol=1e-5 * np.abs(fd).max())


def test_posterior_recovers_truth_and_agrees_with_mle(single):
    nuts, mle = single
    draws = nuts.log_intensity_draws().isel(segment=0).values.reshape(-1, 7)
    lo, hi = np.quantile(draws, [0.03, 0.97], axis=0)
    # 94% intervals: Binomial(7, 0.94) gives P(fewer than 5 cover) ≈ 0.8%
    assert ((lo <= TRUTH) & (TRUTH <= hi)).sum() >= 5
    # Bernstein–von Mises: posterior mean ≈ MLE within half a standard error (the Monte Carlo
    # error of the mean with bulk ESS ≥ 100 is ≤ 0.1 se; prior and skewness add O(1/n))
    se = mle.summary()["se_log"].to_numpy()
    np.testing.assert_array_less(np.abs(draws.mean(0) - np.log(mle.summary()["estimate"])), se / 2)
    d = nuts.diagnostics
    assert d["divergences"] == 0 and d["max_rhat"] < 1.05


def test_nuts_outputs_and_round_trip(single, tmp_path):
    nuts, _ = single
    per_draw = nuts.transition_matrix(period=1 / 12, stat=None)
    assert per_draw.dims == ("chain", "draw", "segment", "from_state", "to_state")
    np.testing.assert_allclose(per_draw.sum("to_state"), 1.0, atol=1e-12)
    np.testing.assert_allclose(
        nuts.transition_matrix(period=1 / 12).values, per_draw.mean(("chain", "draw")).values
    )
    assert nuts.summary().shape[0] == 7
    path = tmp_path / "nuts.nc"
    nuts.save(path)
    back = IntensityModel.load(path, states=ILLNESS)
    np.testing.assert_array_equal(back.generator(0.9).values, nuts.generator(0.9).values)
    with pytest.raises(ArgumentError, match="method='mle'"):
        _ = nuts.minus2loglik


@pytest.mark.slow
def test_partial_pooling_shrinks_a_thin_segment():
    """A three-state illness-death model (3 intensities, kept small for speed): two
    well-observed segments from one generator and a thin one (20 subjects). The thin segment's
    posterior mean log intensities are closer to the population mean μ than its own MLE is
    (summed squares over the transitions).

    One chain of 200 tuning steps and 200 draws (the non-centred funnel costs ~38 gradients per
    draw): with 2 × 300 draws the distances were 0.12 (posterior) and 0.41 (MLE), posterior sd
    of the thin log intensities ≈ 0.25. At an ESS of even 50 the Monte Carlo error of each mean
    (thin and μ) is ≤ 0.25/√50 ≈ 0.035, so the posterior distance moves by at most
    √3 · 2 · 0.035 ≈ 0.12 per sd of those errors: reaching 0.41 takes > 2.4 such sd on a
    bound that adds every error in the worst direction."""
    ss = StateSpace(["well", "ill", "dead"], absorbing=["dead"], default="dead")
    rates = {("well", "ill"): 0.3, ("ill", "well"): 0.4, ("ill", "dead"): 0.3}
    Q = generator_of(ss, rates)
    parts = []
    for k, (name, size) in enumerate([("a", 120), ("b", 120), ("thin", 20)]):
        p = simulate_panel(Q, ss, n_subjects=size, seed=40 + k).assign(seg=name)
        p["id"] += 10_000 * k
        parts.append(p)
    panel = pd.concat(parts, ignore_index=True)
    kw = {"allowed": list(rates), "exact_states": ["dead"]}
    partial = _quiet_fit(
        IntensityModel(ss, pooling="partial", **kw),
        panel,
        mc={"draws": 200, "tune": 200, "chains": 1, "cores": 1},
        seed=9,
        segment="seg",
        **COLS,
    )
    post = partial._require_fit().groups["posterior"]
    assert {"mu", "tau", "z"} <= set(post.data_vars)
    mu = post["mu"].mean(("chain", "draw")).values
    thin_post = partial.log_intensity_draws().sel(segment="thin").mean(("chain", "draw")).values
    thin = IntensityModel(ss, **kw).fit(panel[panel["seg"] == "thin"], **COLS)
    thin_mle = np.log(thin.summary()["estimate"].to_numpy())
    assert ((thin_post - mu) ** 2).sum() < ((thin_mle - mu) ** 2).sum()


def test_censored_gradient_is_exact():
    """Forward-backward value == the forward recursion of the likelihood module, gradient ==
    central differences (h = 1e-6), on a panel with censored codes and exact deaths."""
    from test_intensity_likelihood import CENSORED, _small_panel

    from riskmodel.models.intensity_bayes import forward_backward_loglik_and_grad as fb

    o = prepare_panel(_small_panel(1), ILLNESS, exact_states=("dead",), censored=CENSORED, **COLS)
    assert o.prev is None
    value, grad = fb(Q_TRUE, o)
    assert value == pytest.approx(loglik(Q_TRUE[None], o), rel=1e-12)
    h, fd = 1e-6, np.zeros_like(Q_TRUE)
    for i in range(4):
        for j in range(4):
            E = np.zeros_like(Q_TRUE)
            E[i, j] = h
            fd[i, j] = (fb(Q_TRUE + E, o)[0] - fb(Q_TRUE - E, o)[0]) / (2 * h)
    np.testing.assert_allclose(grad, fd, atol=1e-6 * np.abs(fd).max())


def test_nuts_fits_censored_panels():
    panel = simulate_panel(Q_TRUE, ILLNESS, n_subjects=60, seed=31)
    live = panel["state"] != "dead"
    panel.loc[live & (panel.index % 4 == 1), "state"] = "alive"
    kw = {"allowed": ILLNESS_ALLOWED, "exact_states": ["dead"]}
    cens = {"alive": ["well", "mild", "severe"]}
    m = IntensityModel(ILLNESS, censored=cens, **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # 100 draws: a smoke run
        m.fit(panel, method="nuts", draws=100, tune=100, chains=1, seed=3, **COLS)
    assert np.isfinite(m.generator().values).all()
    # exact_times with censoring: see test_intensity_covariates (value and gradient)


def test_exact_times_value_and_gradient_match_the_likelihood_module():
    from test_intensity_mle import _continuous_paths

    from riskmodel.models.intensity_bayes import exact_times_loglik_and_grad as et

    panel = _continuous_paths(Q_TRUE, ILLNESS, 50, seed=4)
    o = prepare_panel(panel, ILLNESS, exact_times=True, **COLS)
    value, grad = et(Q_TRUE, o.dt, o.prev, o.cur)
    assert value == pytest.approx(loglik(Q_TRUE[None], o), rel=1e-12)
    h, fd = 1e-6, np.zeros_like(Q_TRUE)
    for i, j in zip(*np.nonzero(Q_TRUE), strict=True):  # where the log is defined
        E = np.zeros_like(Q_TRUE)
        E[i, j] = h
        fd[i, j] = (
            et(Q_TRUE + E, o.dt, o.prev, o.cur)[0] - et(Q_TRUE - E, o.dt, o.prev, o.cur)[0]
        ) / (2 * h)
    np.testing.assert_allclose(grad, fd, atol=1e-6 * np.abs(fd).max())
    # a short fit: the posterior sits at the closed-form MLE (occurrences / exposure) within
    # 3 posterior sd (prior and Monte Carlo error of 100 draws are far smaller)
    kw = {"allowed": ILLNESS_ALLOWED, "exact_times": True}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        m = IntensityModel(ILLNESS, **kw).fit(
            panel, method="nuts", draws=100, tune=100, chains=1, seed=2, **COLS
        )
    mle = np.log(IntensityModel(ILLNESS, **kw).fit(panel, **COLS).summary()["estimate"])
    draws = m.log_intensity_draws().values.reshape(-1, 7)
    assert np.all(np.abs(draws.mean(0) - mle.to_numpy()) < 3 * draws.std(0))


def test_parameter_draws_feed_the_engine_format(single, tmp_path):
    """Per draw, the engine's matrices are expm(Q · period); the file round-trips through
    load_parameter_draws (what a scenario's `parameters: {posterior: …}` reads)."""
    from riskmodel.models import load_parameter_draws

    nuts, mle = single
    pd_ = nuts.parameter_draws(period=0.25)
    per_draw = nuts.transition_matrix(period=0.25, stat=None).values.reshape(-1, 1, 4, 4)
    assert pd_.n_draws == per_draw.shape[0]
    np.testing.assert_allclose(pd_.transitions, per_draw, atol=1e-14)
    path = tmp_path / "quarterly.nc"
    pd_.to_netcdf(path)
    np.testing.assert_allclose(load_parameter_draws(path).transitions, pd_.transitions)
    point = mle.parameter_draws(period=0.25)
    assert point.n_draws == 1
    np.testing.assert_allclose(point.transitions[0], mle.transition_matrix(0.25).values)


@pytest.mark.slow
def test_94_percent_intervals_cover_at_the_nominal_rate():
    """Four seeds × 7 intensities = 28 posterior 94% intervals from 150-subject panels: at least
    23 contain the truth (misses ~ Binomial(28, 0.06), mean 1.7; P(6 or more) = 0.56%).

    One chain of 300 tuning steps and 300 draws per seed. The interval ends are the 3% and 97%
    sample quantiles: at an effective sample size N their error has sd
    √(0.03 · 0.97 / N) / φ(z₀.₉₇) posterior sd (0.205 at N = 150), which lowers the coverage of
    a fixed truth by ½ · z φ(z) · var per end (φ' = −z φ): 0.0054 in all at N = 150 (0.0027 at
    N = 300). The miss rate 0.0654 gives P(6 or more of 28) = 0.84% (0.69% at N = 300; 0.62%
    with the former 2 × 300 draws)."""
    kw = {"allowed": ILLNESS_ALLOWED, "exact_states": ["dead"]}
    covered = 0
    for seed in range(4):
        panel = simulate_panel(Q_TRUE, ILLNESS, n_subjects=150, seed=100 + seed)
        one_chain = {"draws": 300, "tune": 300, "chains": 1, "cores": 1}
        fit = _quiet_fit(IntensityModel(ILLNESS, **kw), panel, mc=one_chain, seed=seed, **COLS)
        draws = fit.log_intensity_draws().isel(segment=0).values.reshape(-1, 7)
        lo, hi = np.quantile(draws, [0.03, 0.97], axis=0)
        covered += int(((lo <= TRUTH) & (TRUTH <= hi)).sum())
    assert covered >= 23
