"""IntensityModel covariates: the likelihood against brute force, exact gradients, recovery of
known effects from panels simulated with time-varying covariates (MLE and NUTS), and the API."""

from __future__ import annotations

import itertools
import math
import warnings

import numpy as np
import pandas as pd
import pytest
from intensity_testdata import (
    ILLNESS,
    ILLNESS_ALLOWED,
    ILLNESS_Q,
    generator_of,
    uniformised_expm,
)

from riskmodel.errors import ArgumentError, MacroError, PanelError
from riskmodel.models import ConvergenceWarning
from riskmodel.models.intensity import IntensityModel
from riskmodel.models.intensity_bayes import (
    forward_backward_loglik_and_grad,
    loglik_and_grad,
    panel_loglik_and_grad,
)
from riskmodel.models.intensity_covariates import (
    CovariateDesign,
    group_rows,
    grouped,
    join_macro,
    params_gradient,
)
from riskmodel.models.intensity_likelihood import (
    generator_matrix,
    loglik,
    model_config,
    prepare_panel,
)

COLS = {"subject": "id", "time": "t", "state": "state"}
ALLOWED_IDX = np.array([[ILLNESS.index(f), ILLNESS.index(t)] for f, t in ILLNESS_ALLOWED])
BASE = np.log([ILLNESS_Q[p] for p in ILLNESS_ALLOWED])
# unemployment acts on every intensity with one coefficient; the subject's score only on the
# two transitions into worse health (one coefficient each)
SPEC = {"unemployment": "shared", "score": [("well", "mild"), ("mild", "severe")]}
BETA = {"unemployment": 0.25, "score:well->mild": 0.5, "score:mild->severe": -0.4}
CENSORED = {"alive": ("well", "mild", "severe")}


def macro_series(seed: int, years: float = 12.0) -> pd.DataFrame:
    """Quarterly unemployment (%), a mean-reverting walk around 6 between 3 and 10."""
    rng = np.random.default_rng(seed)
    t = np.arange(0.0, years, 0.25)
    u = np.empty(t.size)
    u[0] = 6.0
    for i in range(1, t.size):
        u[i] = np.clip(u[i - 1] + 0.3 * (6.0 - u[i - 1]) + rng.normal(0, 0.8), 3.0, 10.0)
    return pd.DataFrame({"t": t, "unemployment": u})


def true_log_q(unemployment: float, score: float) -> np.ndarray:
    """The truth in natural units (the fit reports the baseline at the covariate means)."""
    lq = BASE + BETA["unemployment"] * (unemployment - 6.0)
    lq[0] += BETA["score:well->mild"] * score
    lq[3] += BETA["score:mild->severe"] * score
    return lq


def simulate(n_subjects: int, seed: int, macro: pd.DataFrame) -> pd.DataFrame:
    """Irregular observations; over each interval the intensities are those of the covariate
    values at its start (the model's definition), simulated exactly (Gillespie); deaths at
    their exact time."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_subjects):
        score = float(rng.integers(-1, 2))  # a risk grade -1, 0, 1
        s = int(rng.choice(ILLNESS.transient_idx))
        t = float(rng.uniform(0, 2))
        rows.append((i, t, ILLNESS.names[s], score))
        for _ in range(5):
            u = macro["unemployment"].to_numpy()[np.searchsorted(macro["t"], t, "right") - 1]
            Q = generator_matrix(true_log_q(u, score), ALLOWED_IDX, ILLNESS.n)
            t_next, dead = t + 0.2 + rng.exponential(1.0), False
            while -Q[s, s] > 0:
                t_jump = t + rng.exponential(1 / -Q[s, s])
                if t_jump > t_next:
                    break
                t, s = t_jump, int(rng.choice(ILLNESS.n, p=np.clip(Q[s], 0, None) / -Q[s, s]))
                dead = s == ILLNESS.index("dead")
                if dead:
                    break
            t = t if dead else t_next
            rows.append((i, t, ILLNESS.names[s], score))
            if dead:
                break
    return pd.DataFrame(rows, columns=["id", "t", "state", "score"])


def _prepared(panel, macro, censored=None, exact_times=False):
    cfg = model_config(
        ILLNESS,
        allowed=ILLNESS_ALLOWED,
        exact_states=[] if exact_times else ["dead"],
        pooling="none",
        covariates=SPEC,
        censored=censored,
        exact_times=exact_times,
    )
    obs = prepare_panel(
        join_macro(panel, macro, tuple(SPEC), "t"),
        ILLNESS,
        exact_states=() if exact_times else ("dead",),
        censored=censored,
        covariates=tuple(SPEC),
        exact_times=exact_times,
        **COLS,
    )
    cfg["covariate_centre"] = list(obs.x.mean(0))
    cfg["covariate_scale"] = list(obs.x.std(0))
    return cfg, obs


def _brute_force(panel, macro, base0, beta_natural, censored) -> float:
    """Σ over subjects of log Σ over every hidden state sequence of Π_j T_j, with T_j from the
    covariates written out by hand at each interval's start (macro looked up by date, score from
    the row; `base0` the log intensities at zero covariates) and P by uniformisation."""
    names = list(ILLNESS.names)
    total = 0.0
    for _, g in panel.sort_values(["id", "t"]).groupby("id"):
        times, labels, scores = g["t"].to_numpy(), g["state"].tolist(), g["score"].to_numpy()
        sets = [[names.index(x) for x in censored.get(lab, [lab])] for lab in labels]
        like = 0.0
        for seq in itertools.product(*sets):
            p = 1.0
            for j in range(1, len(seq)):
                u = macro["unemployment"][macro["t"] <= times[j - 1]].iloc[-1]
                lq = base0 + beta_natural[0] * u
                lq[0] += beta_natural[1] * scores[j - 1]
                lq[3] += beta_natural[2] * scores[j - 1]
                Q = generator_matrix(lq, ALLOWED_IDX, ILLNESS.n)
                P = uniformised_expm(Q, times[j] - times[j - 1])
                a, b = seq[j - 1], seq[j]
                if labels[j] == "dead":
                    p *= sum(P[a, k] * Q[k, b] for k in range(len(names)) if k != b)
                else:
                    p *= P[a, b]
            like += p
        total += math.log(like)
    return total


def _small_panel(seed: int, censor: bool) -> tuple[pd.DataFrame, pd.DataFrame]:
    macro = macro_series(seed)
    panel = simulate(10, seed, macro)
    panel = panel.groupby("id").head(4).reset_index(drop=True)
    if censor:
        rng = np.random.default_rng(seed)
        pick = (panel["state"] != "dead") & (rng.uniform(size=len(panel)) < 0.3)
        panel.loc[pick, "state"] = "alive"
    return panel, macro


@pytest.mark.parametrize("censor", [False, True])
def test_likelihood_equals_brute_force_with_time_varying_covariates(censor):
    """Grouped generators (one per segment × covariate values) give the likelihood of
    enumerating every hidden path with each interval's Q written out by hand: two independent
    computations, equal to rounding (1e-9). The gradient code's value is the same number."""
    panel, macro = _small_panel(3, censor)
    censored = CENSORED if censor else {}
    cfg, obs = _prepared(panel, macro, censored=censored)
    design = CovariateDesign.from_config(cfg)
    beta_std = np.array([0.3, -0.2, 0.4])
    group, g_seg, g_xs = group_rows(obs.segment, design.standardise(obs.x))
    assert len(g_seg) > 5  # the macro series and the scores make many groups
    lq = BASE[None] + design.shift(g_xs, beta_std)  # BASE at the covariate means
    Qs = generator_matrix(lq, ALLOWED_IDX, ILLNESS.n)
    got = loglik(Qs, grouped(obs, group))
    # natural units: log q(x) = log q(0) + Σ β x, with log q(0) = BASE + shift at x = 0
    beta_nat = beta_std / design.scale[design.coef_cov]
    base0 = BASE + design.shift(design.standardise(np.zeros((1, 2))), beta_std)[0]
    want = _brute_force(panel, macro, base0, beta_nat, censored)
    assert got == pytest.approx(want, rel=1e-9, abs=1e-9)
    value, _ = panel_loglik_and_grad(grouped(obs, group), len(g_seg))(Qs)
    assert value == pytest.approx(got, rel=1e-12)


@pytest.mark.parametrize("censor", [False, True])
def test_parameter_gradient_is_exact_and_compiled_equals_numpy(censor):
    """∂ℓ/∂(baseline, coefficients) by the Fréchet adjoint and the chain rule equals central
    differences (h = 1e-6: truncation ~h² times the third derivative, rounding ~1e-16·|ℓ|/h ≈
    1e-9); the compiled row loop equals the numpy one to rounding."""
    panel, macro = _small_panel(5, censor)
    cfg, obs = _prepared(panel, macro, censored=CENSORED if censor else {})
    design = CovariateDesign.from_config(cfg)
    group, g_seg, g_xs = group_rows(obs.segment, design.standardise(obs.x))
    both = panel_loglik_and_grad(grouped(obs, group), len(g_seg))

    def f(theta):
        lq = theta[:7][None] + design.shift(g_xs, theta[7:])
        value, dQ = both(generator_matrix(lq, ALLOWED_IDX, ILLNESS.n))
        d_base, d_b = params_gradient(dQ, lq, ALLOWED_IDX, design, g_seg, g_xs, 1)
        return value, np.r_[d_base.ravel(), d_b]

    theta = np.r_[BASE, 0.3, -0.2, 0.4]
    _, grad = f(theta)
    h = 1e-6
    fd = np.array([(f(theta + h * e)[0] - f(theta - h * e)[0]) / (2 * h) for e in np.eye(10)])
    np.testing.assert_allclose(grad, fd, rtol=1e-5, atol=1e-6 * np.abs(fd).max())
    if not censor:
        o = grouped(obs, group)
        Qs = generator_matrix(theta[:7][None] + design.shift(g_xs, theta[7:]), ALLOWED_IDX, 4)
        args = (Qs, o.dt, o.prev, o.cur, o.exact, o.segment)
        v1, g1 = loglik_and_grad(*args)
        v2, g2 = loglik_and_grad(*args, compiled=False)
        assert v1 == pytest.approx(v2, rel=1e-13)
        np.testing.assert_allclose(g1, g2, rtol=1e-10, atol=1e-12 * np.abs(g2).max())


def test_exact_times_with_censoring_value_and_gradient():
    """Continuous follow-up with some states censored (NUTS now fits it): the forward-backward
    value equals the likelihood module's forward recursion, the gradient central differences."""
    from test_intensity_mle import _continuous_paths

    Q = generator_of(ILLNESS, ILLNESS_Q)
    panel = _continuous_paths(Q, ILLNESS, 30, seed=6)
    rng = np.random.default_rng(6)
    pick = (panel["state"] != "dead") & (rng.uniform(size=len(panel)) < 0.25)
    panel.loc[pick, "state"] = "alive"
    o = prepare_panel(panel, ILLNESS, exact_times=True, censored=CENSORED, **COLS)
    assert o.prev is None and o.jump is not None
    value, grad = forward_backward_loglik_and_grad(Q, o)
    assert value == pytest.approx(loglik(Q[None], o), rel=1e-12)
    h, fd = 1e-6, np.zeros_like(Q)
    for i, j in zip(*np.nonzero(Q), strict=True):
        E = np.zeros_like(Q)
        E[i, j] = h
        fd[i, j] = (
            forward_backward_loglik_and_grad(Q + E, o)[0]
            - forward_backward_loglik_and_grad(Q - E, o)[0]
        ) / (2 * h)
    np.testing.assert_allclose(grad[Q != 0], fd[Q != 0], atol=1e-6 * np.abs(fd).max())


KW = {"allowed": ILLNESS_ALLOWED, "exact_states": ["dead"], "covariates": SPEC}


@pytest.fixture(scope="module")
def recovery_data():
    macro = macro_series(11)
    return simulate(400, 11, macro), macro


@pytest.fixture(scope="module")
def mle(recovery_data):
    panel, macro = recovery_data
    return IntensityModel(ILLNESS, **KW).fit(panel, macro=macro, **COLS)


@pytest.fixture(scope="module")
def nuts(recovery_data):
    panel, macro = recovery_data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # short chains; checked below
        return IntensityModel(ILLNESS, **KW).fit(
            panel, macro=macro, method="nuts", draws=300, tune=300, chains=2, cores=1, seed=4,
            **COLS,
        )  # fmt: skip


def test_mle_recovers_known_covariate_effects(mle):
    """Each coefficient within 3 standard errors of the truth (a miss has probability 0.27% per
    coefficient if the MLE is consistent and the Hessian's standard errors are right), and the
    intensities at given covariate values within 3 delta-method standard errors."""
    coefs = mle.coefficients()
    truth = np.array([BETA[name] for name in coefs.index])
    assert np.all(np.abs(coefs["estimate"].to_numpy() - truth) < 3 * coefs["se"].to_numpy())
    at = {"unemployment": 8.0, "score": 1.0}
    lq, se = mle._log_q(at)
    assert np.all(np.abs(lq[0] - true_log_q(8.0, 1.0)) < 3 * se[0])
    # generator(covariates=...) is that log intensity, exponentiated into Q
    Q = mle.generator(covariates=at).values[0]
    np.testing.assert_allclose(Q, generator_matrix(lq[0], ALLOWED_IDX, 4), rtol=1e-12)


@pytest.mark.slow
def test_nuts_intervals_contain_the_known_effects(mle, nuts):
    """Posterior 94% intervals: at least 8 of the 10 parameters (7 intensities at given covariate
    values, 3 coefficients) contain the truth (misses ~ Binomial(10, 0.06): P(3 or more) ≈ 2%),
    every coefficient its 99.7% interval; the posterior means of the coefficients agree with the
    MLE within half a standard error (Bernstein–von Mises; Monte Carlo error with ESS ≥ 100 is at
    most 0.1 se)."""
    beta = nuts._require_fit().groups["posterior"]["beta"]
    draws_b = beta.values.reshape(-1, beta.shape[-1])
    names = [str(n) for n in beta.coefficient.values]
    truth_b = np.array([BETA[n] for n in names])
    at = {"unemployment": 8.0, "score": 1.0}
    draws_q = nuts._log_q(at)[0].reshape(-1, 7)
    inside = 0
    for d, truth in ((draws_b, truth_b), (draws_q, true_log_q(8.0, 1.0))):
        lo, hi = np.quantile(d, [0.03, 0.97], axis=0)
        inside += int(((lo <= truth) & (truth <= hi)).sum())
    assert inside >= 8
    lo, hi = np.quantile(draws_b, [0.0015, 0.9985], axis=0)
    assert np.all((lo <= truth_b) & (truth_b <= hi))
    coefs = mle.coefficients()
    np.testing.assert_array_less(
        np.abs(draws_b.mean(0) - coefs.loc[names, "estimate"].to_numpy()),
        coefs.loc[names, "se"].to_numpy() / 2,
    )
    d = nuts.diagnostics
    assert d["divergences"] == 0 and d["max_rhat"] < 1.05


@pytest.mark.slow
def test_covariate_api_and_round_trip(recovery_data, mle, nuts, tmp_path):
    # the default is the covariate means: the baseline log intensities
    means = dict(zip(SPEC, mle._require_fit().config["covariate_centre"], strict=True))
    np.testing.assert_allclose(mle.generator().values, mle.generator(covariates=means).values)
    at = {"unemployment": 9.0, "score": 0.0}
    P = nuts.transition_matrix(0.25, covariates=at)
    assert P.dims == nuts.generator(covariates=at).dims == ("segment", "from_state", "to_state")
    draws = nuts.parameter_draws(0.25, covariates=at)
    np.testing.assert_allclose(draws.transitions.mean(0), P.values, atol=1e-12)
    path = tmp_path / "cov.nc"
    mle.save(path)
    back = IntensityModel.load(path)
    pd.testing.assert_frame_equal(back.coefficients(), mle.coefficients())
    low = {"unemployment": 4.0, "score": -1.0}
    np.testing.assert_allclose(back.generator(covariates=low), mle.generator(covariates=low))
    # a higher unemployment raises every intensity (its coefficient is shared and positive)
    hi = mle.generator(covariates=at).values[0]
    lo = mle.generator(covariates={"unemployment": 4.0, "score": 0.0}).values[0]
    off = ~np.eye(4, dtype=bool) & (hi != 0)
    assert np.all(hi[off] > lo[off])
    with pytest.raises(ArgumentError, match="missing"):
        mle.generator(covariates={"unemployment": 5.0})
    with pytest.raises(ArgumentError, match="unknown"):
        mle.generator(covariates={"unemployment": 5.0, "score": 0.0, "gdp": 1.0})
    with pytest.raises(ArgumentError, match="no covariates"):
        IntensityModel(ILLNESS, allowed=ILLNESS_ALLOWED, exact_states=["dead"]).fit(
            recovery_data[0], **COLS
        ).generator(covariates=at)


@pytest.mark.parametrize(
    ("covariates", "match"),
    [
        ("unemployment", "list of names or a mapping"),
        ({"u": "sometimes"}, "'shared', 'each'"),
        ({"u": [("well", "severe")]}, "not an allowed transition"),
        ({"u": []}, "non-empty"),
    ],
)
def test_bad_covariate_specs_are_refused(covariates, match):
    with pytest.raises(ArgumentError, match=match):
        IntensityModel(ILLNESS, allowed=ILLNESS_ALLOWED, covariates=covariates)._config()


def test_a_list_of_names_means_one_coefficient_per_transition():
    cfg = model_config(
        ILLNESS, allowed=ILLNESS_ALLOWED, exact_states=[], pooling="none", covariates=["u"],
        censored=None,
    )  # fmt: skip
    d = CovariateDesign.from_config(cfg)
    assert d.coef_names == tuple(f"u:{f}->{t}" for f, t in ILLNESS_ALLOWED)
    np.testing.assert_array_equal(d.effect, np.eye(7))


def test_bad_covariate_data_are_refused():
    macro = macro_series(1)
    panel = simulate(20, 1, macro)
    m = IntensityModel(ILLNESS, allowed=ILLNESS_ALLOWED, exact_states=["dead"], covariates=SPEC)
    with pytest.raises(PanelError, match="neither a column of the panel"):
        m.fit(panel, **COLS)  # unemployment nowhere
    with pytest.raises(MacroError, match="time column 't'"):
        m.fit(panel, macro=macro.rename(columns={"t": "date"}), **COLS)
    with pytest.raises(PanelError, match="missing at the start of an interval"):
        m.fit(panel, macro=macro.assign(t=macro["t"] + 1.0), **COLS)  # starts after the panel
    with pytest.raises(PanelError, match="not identified"):
        m.fit(panel, macro=macro.assign(unemployment=5.0), **COLS)
    with pytest.raises(ArgumentError, match="no covariates"):
        IntensityModel(ILLNESS, allowed=ILLNESS_ALLOWED).fit(panel, macro=macro, **COLS)


def test_compiled_loop_with_complex_eigenvalues():
    """A cyclic generator (1 → 2 → 3 → 1 at equal rates) has complex eigenvalues: the compiled
    loop's complex version equals numpy and central differences (h = 1e-6)."""
    Q = np.zeros((4, 4))
    for a, b in ((0, 1), (1, 2), (2, 0)):
        Q[a, b] = 1.0
    Q[:3, 3] = 0.1
    Q[np.diag_indices(4)] = -Q.sum(1)
    assert np.iscomplexobj(np.linalg.eigvals(Q))
    rng = np.random.default_rng(3)
    m = 200
    prev = rng.integers(0, 3, m)
    cur = np.where(rng.uniform(size=m) < 0.2, 3, rng.integers(0, 3, m))
    exact = cur == 3
    dt = rng.uniform(0.1, 3.0, m)
    v1, g1 = loglik_and_grad(Q, dt, prev, cur, exact)
    v2, g2 = loglik_and_grad(Q, dt, prev, cur, exact, compiled=False)
    assert v1 == pytest.approx(v2, rel=1e-12)
    np.testing.assert_allclose(g1, g2, rtol=1e-9, atol=1e-11 * np.abs(g2).max())
    h, fd = 1e-6, np.zeros_like(Q)
    for i, j in zip(*np.nonzero(Q), strict=True):
        E = np.zeros_like(Q)
        E[i, j] = h
        up = loglik_and_grad(Q + E, dt, prev, cur, exact)[0]
        fd[i, j] = (up - loglik_and_grad(Q - E, dt, prev, cur, exact)[0]) / (2 * h)
    np.testing.assert_allclose(g1[Q != 0], fd[Q != 0], atol=1e-6 * np.abs(fd).max())
