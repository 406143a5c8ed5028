"""Conjugate transition models: exact Dirichlet posteriors, coverage, structural zeros."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from models_testdata import MU, ZEROS, counts_array
from scipy import stats

from riskmodel.data.panel import PanelError, panel_to_counts
from riskmodel.data.synthetic import simulate_panel
from riskmodel.models import NotFittedError, TransitionModel
from riskmodel.states import LIFECYCLE, StateSpace

SS = StateSpace(["good", "bad", "gone"], absorbing=["gone"], default="gone")


def small_counts() -> xr.DataArray:
    y = np.array([[[90, 8, 2], [30, 60, 10]], [[5, 1, 0], [0, 2, 1]]])
    names = list(SS.names)
    full = np.concatenate([y, np.zeros((2, 1, 3), dtype=int)], axis=1)
    return xr.DataArray(
        full,
        dims=("segment", "from_state", "to_state"),
        coords={"segment": ["big", "small"], "from_state": names, "to_state": names},
    )


def test_posterior_mean_and_quantiles_equal_the_analytic_dirichlet():
    counts = small_counts()
    model = TransitionModel(SS, prior=0.5).fit(counts, draws=5000, chains=2, seed=0)
    alpha = counts.values[:, :2] + 0.5
    a0 = alpha.sum(-1, keepdims=True)
    mean = model.transition_matrix("mean").values[:, :2]
    np.testing.assert_allclose(mean, alpha / a0, rtol=1e-12)
    for q in (0.03, 0.5, 0.97):
        stat = "median" if q == 0.5 else q
        got = model.transition_matrix(stat).values[:, :2]
        np.testing.assert_allclose(got, stats.beta.ppf(q, alpha, a0 - alpha), rtol=1e-10)
    # the stored draws are Dirichlet draws: their mean is within 4.5 Monte Carlo s.e.
    draws = model.parameter_draws().transitions[:, :, :2]
    sd = np.sqrt(alpha * (a0 - alpha) / (a0**2 * (a0 + 1)))
    z = (draws.mean(0) - alpha / a0) / (sd / np.sqrt(draws.shape[0]))
    assert np.abs(z).max() < 4.5
    # absorbing rows: identity, never estimated
    full = model.transition_matrix()
    np.testing.assert_array_equal(full.sel(from_state="gone").values, [[0, 0, 1]] * 2)


def test_same_seed_same_draws_other_seed_other_draws():
    fit = lambda seed: TransitionModel(SS).fit(small_counts(), draws=20, seed=seed)  # noqa: E731
    a, b, c = fit(0).parameter_draws(), fit(0).parameter_draws(), fit(1).parameter_draws()
    np.testing.assert_array_equal(a.transitions, b.transitions)
    assert not np.array_equal(a.transitions, c.transitions)


def test_complete_pooling_is_one_conjugate_matrix_for_all_segments():
    counts = small_counts()
    model = TransitionModel(SS, pooling="complete").fit(counts, seed=1)
    tm = model.transition_matrix()
    assert list(tm.segment.values) == ["big", "small"]
    alpha = counts.values[:, :2].sum(0) + 1.0
    np.testing.assert_allclose(tm.values[0, :2], alpha / alpha.sum(-1, keepdims=True))
    np.testing.assert_array_equal(tm.values[0], tm.values[1])
    d = model.parameter_draws().transitions
    np.testing.assert_array_equal(d[:, 0], d[:, 1])


def test_fit_from_panel_equals_fit_from_counts():
    P = np.array([[0.9, 0.08, 0.02], [0.3, 0.6, 0.1], [0, 0, 1]])
    panel = simulate_panel({"r": P}, SS, n_customers=300, n_periods=6, seed=3)
    a = TransitionModel(SS).fit(panel, seed=0).transition_matrix()
    b = TransitionModel(SS).fit(panel_to_counts(panel, SS), seed=0).transition_matrix()
    xr.testing.assert_allclose(a, b)


def test_structural_zeros_stay_exactly_zero_and_observed_zeros_are_refused():
    y = np.array(
        [[[50, 5, 0, 3, 1, 1], [0, 80, 10, 2, 1, 0], [0, 1, 90, 3, 1, 1], [0, 2, 5, 40, 2, 3]]]
    )
    counts = counts_array(y, ["s"])
    model = TransitionModel(LIFECYCLE, structural_zeros=ZEROS).fit(counts, seed=2)
    draws = model.parameter_draws().transitions
    for f, t in ZEROS:
        i, j = LIFECYCLE.index(f), LIFECYCLE.index(t)
        assert np.all(draws[:, :, i, j] == 0.0)
        for stat in ("mean", "median", 0.97):
            assert float(model.transition_matrix(stat).sel(from_state=f, to_state=t)[0]) == 0.0
    np.testing.assert_allclose(draws.sum(-1), 1.0)
    bad = counts.copy()
    bad.loc[dict(from_state="new", to_state="mature")] = 2
    with pytest.raises(PanelError, match=r"2 transition\(s\) new -> mature.*structural zeros"):
        TransitionModel(LIFECYCLE, structural_zeros=ZEROS).fit(bad)


def test_using_a_model_before_fit_says_call_fit_first():
    model = TransitionModel(SS)
    for call in (model.transition_matrix, model.parameter_draws, model.summary):
        with pytest.raises(NotFittedError, match=r"call \.fit\(\) first"):
            call()


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"pooling": "some"}, "pooling must be one of"),
        ({"structural_zeros": [("new", "mature")]}, "unknown state 'new'"),
        ({"structural_zeros": [("gone", "good")]}, "absorbing state 'gone'"),
        (
            {"structural_zeros": [("bad", "good"), ("bad", "bad"), ("bad", "gone")]},
            "no possible destination",
        ),
        ({"prior": {"concentraton": 1.0}}, "Did you mean 'concentration'"),
        ({"prior": -1.0}, "must be > 0"),
    ],
)
def test_bad_configuration_is_reported_at_fit(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        TransitionModel(SS, **kwargs).fit(small_counts())


def test_bad_stat_and_stray_macro_are_refused():
    model = TransitionModel(SS).fit(small_counts(), seed=0)
    with pytest.raises(ValueError, match="quantile in"):
        model.transition_matrix("max")
    with pytest.raises(ValueError, match=r"in \(0, 1\)"):
        model.transition_matrix(1.5)
    with pytest.raises(ValueError, match="no covariates"):
        TransitionModel(SS).fit(small_counts(), macro=object())


def test_summary_is_an_arviz_table_of_the_transient_rows():
    table = TransitionModel(SS).fit(small_counts(), draws=200, chains=2, seed=0).summary()
    assert {"mean", "sd", "hdi_3%", "hdi_97%"} <= set(table.columns)
    assert len(table) == 2 * 2 * 3  # segments x transient rows x states


def test_coverage_of_94_percent_intervals_is_calibrated():
    """Truth drawn from the prior: each interval covers with probability exactly 0.94.

    Per replicate and row one entry is checked (rows are independent), so the number of
    covered entries is Binomial(N, 0.94); we allow 4 binomial standard deviations.
    """
    rng = np.random.default_rng(2024)
    n_rep, n_per_row = 400, 40
    # the 400 replicates of 2 segments are the 800 segments of one fit: with no pooling each
    # segment's posterior is its own conjugate Dirichlet, whatever the other segments hold
    truth = rng.dirichlet(np.ones(6), size=(2 * n_rep, 4))  # segments x transient rows
    y = rng.multinomial(n_per_row, truth)
    segments = [f"s{i}" for i in range(2 * n_rep)]
    model = TransitionModel(LIFECYCLE).fit(counts_array(y, segments), draws=1, chains=1, seed=rng)
    tr = LIFECYCLE.transient_idx
    lo = model.transition_matrix(0.03).values[:, tr]
    hi = model.transition_matrix(0.97).values[:, tr]
    j = rng.integers(0, 6, size=(2 * n_rep, 4))  # one entry per segment and row
    t = np.take_along_axis(truth, j[..., None], -1)[..., 0]
    low = np.take_along_axis(lo, j[..., None], -1)[..., 0]
    high = np.take_along_axis(hi, j[..., None], -1)[..., 0]
    hits = ((low <= t) & (t <= high)).ravel()
    tol = 4 * np.sqrt(0.94 * 0.06 / hits.size)
    assert abs(hits.mean() - 0.94) < tol, hits.mean()


def _exact_coverage(p: float, n: int, k: int, lo_q: float, hi_q: float) -> float:
    """P(the [lo_q, hi_q] interval of the Beta marginal covers p) for a row of k allowed
    destinations, a Dirichlet(1) prior and n observed moves out of the row: the entry's count
    is Binomial(n, p) and its posterior marginal Beta(1 + y, k − 1 + n − y)."""
    sd = np.sqrt(n * p * (1 - p))
    y = np.arange(max(0, int(n * p - 9 * sd) - 1), min(n, int(n * p + 9 * sd) + 2) + 1)
    pmf = stats.binom.pmf(y, n, p)
    a, b = 1.0 + y, k - 1.0 + n - y
    inside = (stats.beta.ppf(lo_q, a, b) <= p) & (p <= stats.beta.ppf(hi_q, a, b))
    return float(pmf @ inside)


def test_coverage_on_synthetic_panels_across_seeds():
    """Fixed lifecycle truth, panels from 40 seeds: the hit count matches its exact law.

    With a fixed truth the frequentist coverage of a Bayesian interval is not exactly 0.94
    (rare transitions with few counts are pulled up by the prior). Given each row's number of
    observed moves n (what the panel decides), each entry's coverage probability is exact:
    its count is Binomial(n, p) and its posterior marginal a Beta (`_exact_coverage`). The hit
    count then has mean Σπ; rows are independent, and within a row the hits are bounded in
    variance by perfect correlation, (Σ_j sqrt(π_j(1 − π_j)))². Acceptance: 4.5 sd.
    """
    truth = LIFECYCLE.full_matrix(MU)
    allowed = MU > 0
    hits, expected, variance = 0, 0.0, 0.0
    for seed in range(40):
        panel = simulate_panel({"r": truth}, LIFECYCLE, n_customers=1500, n_periods=8, seed=seed)
        model = TransitionModel(LIFECYCLE, structural_zeros=ZEROS).fit(panel, draws=1, chains=1)
        lo = model.transition_matrix(0.03).values[0, LIFECYCLE.transient_idx]
        hi = model.transition_matrix(0.97).values[0, LIFECYCLE.transient_idx]
        hits += int(((lo <= MU) & (MU <= hi))[allowed].sum())
        counts = panel_to_counts(panel, LIFECYCLE).sum("segment").values[LIFECYCLE.transient_idx]
        for r in range(MU.shape[0]):
            k, n = int(allowed[r].sum()), int(counts[r].sum())
            pis = np.array(
                [_exact_coverage(MU[r, j], n, k, 0.03, 0.97) for j in np.flatnonzero(allowed[r])]
            )
            expected += pis.sum()
            variance += np.sqrt(pis * (1 - pis)).sum() ** 2
    assert abs(hits - expected) <= 4.5 * np.sqrt(variance), (hits, expected, np.sqrt(variance))
