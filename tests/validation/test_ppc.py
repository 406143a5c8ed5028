"""Posterior predictive checks (`riskmodel.validation.ppc`): calibration on panels drawn from the
posterior itself, power against tripled default rates, the systematic factor, known answers."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from backtest_builders import dirichlet_draws, simulate_counts
from scipy import stats
from test_backtest import _covariate_book

import riskmodel as rm
from riskmodel.data.synthetic import macro_driven_matrices, simulate_panel
from riskmodel.errors import ArgumentError
from riskmodel.states import LIFECYCLE
from riskmodel.validation.ppc import check_posterior, posterior_predictive_check

SEGMENTS = ("a", "b", "c", "d")
N_PERIODS = 12


def _counts_da(c, segments):
    return xr.DataArray(
        c,
        dims=("period", "segment", "from_state", "to_state"),
        coords={"period": np.arange(c.shape[0]), "segment": list(segments)},
    )


@pytest.fixture(scope="module")
def book():
    """A conjugate posterior of four segments fitted on large counts, and the exposure per
    period, segment and origin that the simulated panels use (≈ 1,500 customers a cell)."""
    rng = np.random.default_rng(4)
    base = np.array(
        [
            [0.80, 0.12, 0.0, 0.03, 0.03, 0.02],
            [0.0, 0.85, 0.09, 0.02, 0.02, 0.02],
            [0.0, 0.02, 0.92, 0.03, 0.02, 0.01],
            [0.0, 0.01, 0.08, 0.83, 0.05, 0.03],
        ]
    )
    counts = np.zeros((len(SEGMENTS), LIFECYCLE.n, LIFECYCLE.n))
    for s in range(len(SEGMENTS)):
        counts[s, LIFECYCLE.transient_idx] = rng.multinomial(20_000, base)
    draws = dirichlet_draws(counts, SEGMENTS, n_draws=400, seed=5)
    exposure = rng.integers(1000, 2000, size=(N_PERIODS, len(SEGMENTS), 4))
    return draws, exposure


def _pooled_share(draws, exposure, *, n_panels, check="all", seed0=0, **sim):
    """Cells outside, cells, and the sum of the model's probability of being outside."""
    outside = cells = 0
    expected = var = 0.0
    for k in range(n_panels):
        c = simulate_counts(draws, exposure, seed=seed0 + k, **sim)
        res = check_posterior(draws, _counts_da(c, draws.segments), replicates=1000, seed=k)
        table = {"destination_counts": res.cells, "default_rate_period": res.default_rates}
        frames = [table[check]] if check in table else list(table.values())
        for f in frames:
            used = f[f["included"]]
            outside += int(used["outside"].sum())
            cells += len(used)
            expected += float(used["prob_outside"].sum())
            var += float((used["prob_outside"] * (1 - used["prob_outside"])).sum())
    return outside, cells, expected, var


def test_share_outside_the_band_is_the_nominal_6_percent_on_panels_from_the_posterior(book):
    draws, exposure = book
    outside, cells, expected, var = _pooled_share(draws, exposure, n_panels=12)
    share, model_share = outside / cells, expected / cells
    # The counts are large (≥ ~10 per cell), so integer bands hold little more than 94%: the
    # model's own share outside is close to the nominal 6% and never above it.
    assert 0.05 < model_share <= 0.06
    # Outside-indicators are Bernoulli(prob_outside) per cell: the binomial SE over cells is
    # sqrt(Σ p(1 − p)) / N ≈ 0.0053 for 12 × 144 cells. Cells of one panel share its posterior
    # draw and a row's cells are multinomial, so allow 4 SE (a false alarm below 1e-4).
    se = np.sqrt(var) / cells
    assert abs(share - model_share) < 4 * se, (share, model_share, se)


def test_tripled_default_rates_are_flagged_in_every_segment(book):
    draws, exposure = book
    c = simulate_counts(draws, exposure, seed=99, pd_factor=3.0)
    res = check_posterior(draws, _counts_da(c, draws.segments), seed=1)
    assert res.flagged
    summary = res.summary.set_index("check")
    assert summary.loc["default_rate_period", "flagged"]
    assert summary.loc["destination_counts", "flagged"]
    assert summary.loc["all", "share"] > 0.2  # against the nominal 0.06
    cells = res.cells[res.cells["to_state"] == LIFECYCLE.default]
    for seg in SEGMENTS:  # every origin's default count lies above its band
        sub = cells[cells["segment"] == seg]
        assert (sub["outside"] & (sub["observed"] > sub["upper"])).all(), seg
    # and the same draws on an honest panel are not flagged
    honest = simulate_counts(draws, exposure, seed=99)
    assert not check_posterior(draws, _counts_da(honest, draws.segments), seed=1).flagged


def test_a_correlated_book_is_not_flagged_for_being_correlated(book):
    draws, exposure = book
    corr = draws.with_correlation(0.12)
    outside, cells, expected, var = _pooled_share(
        corr, exposure, n_panels=10, check="default_rate_period", seed0=40
    )
    # Per-period default rates with the factor in the predictive: 10 × 48 cells. The segments
    # of one period share its Z_t, so their indicators are positively correlated: bound the
    # variance by the design effect of fully correlated clusters (× 4 segments), then 4 SE.
    se = np.sqrt(len(SEGMENTS) * var) / cells
    assert abs(outside / cells - expected / cells) < 4 * se, (outside / cells, expected / cells)
    # the same panels judged without the factor: default rates spread far beyond the bands
    c = simulate_counts(corr, exposure, seed=40)
    naive = check_posterior(draws, _counts_da(c, draws.segments), seed=0)
    fair = check_posterior(corr, _counts_da(c, draws.segments), seed=0)
    assert fair.correlated and not naive.correlated
    assert naive.summary.set_index("check").loc["default_rate_period", "share"] > 3 * max(
        fair.summary.set_index("check").loc["default_rate_period", "share"], 0.02
    )


def test_percentile_and_band_match_the_binomial_for_one_sample():
    ss = rm.StateSpace(["a", "d"], absorbing=["d"], default="d")
    p, n, k = 0.1, 400, 52
    rows = np.array([[[[[1 - p, p]]]]])
    counts = np.array([[[[n - k, k]]]])
    res = posterior_predictive_check(
        rows, counts, states=ss, segments=["x"], replicates=20_000, seed=3
    )
    cell = res.cells.set_index("to_state").loc["d"]
    exact = stats.binom.cdf(k - 1, n, p) + 0.5 * stats.binom.pmf(k, n, p)
    # a Monte Carlo mean of 20,000 indicators: SE ≤ sqrt(0.25 / 20,000) ≈ 0.0035
    assert abs(cell["percentile"] - exact) < 4 * np.sqrt(exact * (1 - exact) / 20_000)
    assert cell["p_value"] == pytest.approx(2 * min(cell["percentile"], 1 - cell["percentile"]))
    lo, hi = stats.binom.ppf([0.03, 0.97], n, p)
    assert abs(cell["lower"] - lo) <= 1 and abs(cell["upper"] - hi) <= 1
    assert cell["expected"] == pytest.approx(n * p, abs=4 * np.sqrt(n * p * (1 - p) / 20_000))
    rate = res.default_rates.iloc[0]
    assert rate["observed"] == pytest.approx(k / n) and rate["n"] == n


def test_covariate_posterior_uses_the_panels_macro():
    draws, a, b, macro = _covariate_book()
    mats = macro_driven_matrices({"cards": a, "loans": a}, b, macro, ["u"], LIFECYCLE)
    panel = simulate_panel(mats, LIFECYCLE, n_customers=4000, n_periods=13, seed=3)
    with pytest.raises(ArgumentError, match="pass macro="):
        check_posterior(draws, panel)
    good = check_posterior(draws, panel, macro=macro, seed=2)
    assert not good.flagged
    # the same panel against a macro path 3 points lower: PDs too low by a factor ~e^1.2
    bad = check_posterior(draws, panel, macro=macro.assign(u=macro["u"] - 3), seed=2)
    assert bad.summary.set_index("check").loc["default_rate_period", "flagged"]


@pytest.mark.parametrize(
    ("rows_shape", "counts_shape", "kwargs", "match"),
    [
        ((5, 1, 1, 1, 2), (3, 1, 2, 2), {}, "counts must have shape"),
        ((5, 2, 1, 1, 2), (3, 1, 1, 2), {}, "rows must have shape"),
        ((5, 1, 1, 1, 2), (3, 1, 1, 2), {"level": 1.0}, "level must be"),
        ((5, 1, 1, 1, 2), (3, 1, 1, 2), {"replicates": 5}, "replicates must be"),
    ],
)
def test_bad_shapes_and_arguments(rows_shape, counts_shape, kwargs, match):
    ss = rm.StateSpace(["a", "d"], absorbing=["d"], default="d")
    rows = np.full(rows_shape, 0.5)
    with pytest.raises(ArgumentError, match=match):
        posterior_predictive_check(
            rows, np.ones(counts_shape, dtype=int), states=ss, segments=["x"], **kwargs
        )
