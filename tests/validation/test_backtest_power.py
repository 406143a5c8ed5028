"""False-alarm rate and power of the backtest, on panels simulated from the posterior itself.

Panels are drawn as counts (one multinomial per period × segment × origin cell, vectorised), on
a fixed exposure of 3 segments × 4 origins × 12 periods.
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from backtest_builders import power_book, simulate_counts
from scipy import stats

import riskmodel as rm

SEGMENTS = ("cards", "loans", "smb")
N_PERIODS = 12


@pytest.fixture(scope="module")
def book():
    """A posterior from made-up history, and the out-of-time exposure per cell."""
    return power_book(SEGMENTS, N_PERIODS)


def _run(draws, counts, seed):
    da = xr.DataArray(
        counts,
        dims=("period", "segment", "from_state", "to_state"),
        coords={"period": np.arange(N_PERIODS), "segment": list(SEGMENTS)},
    )
    return rm.backtest(draws, da, replicates=400, predictive_samples_n=1000, seed=seed)


def _allowed(runs: int, rate: float) -> int:
    """Largest count of alarms a correct rate <= `rate` exceeds with probability < 0.1%."""
    return int(stats.binom.ppf(0.999, runs, rate))


@pytest.mark.slow
@pytest.mark.parametrize("rho", [None, 0.15])
def test_same_regime_panels_are_red_at_most_at_the_documented_rate(book, rho):
    draws, exposure = book
    if rho is not None:
        draws = draws.with_correlation(rho)
    runs = 120
    overall = [
        _run(draws, simulate_counts(draws, exposure, seed=s), seed=s).overall for s in range(runs)
    ]
    reds = overall.count("red")
    not_green = reds + overall.count("amber")
    # Holm bounds the family-wise rate: red <= alpha_red = 1%, not green <= alpha_amber = 5%.
    # The counts of alarms in `runs` panels are then at most Binomial(runs, rate).
    assert reds <= _allowed(runs, 0.01)
    assert not_green <= _allowed(runs, 0.05)


def test_a_correlated_book_is_flagged_only_by_a_model_without_correlation(book):
    # Strongly correlated defaults: a posterior that knows rho passes (above); one that ignores
    # it sees per-period default rates far outside the binomial band.
    draws, exposure = book
    corr = draws.with_correlation(0.3)
    flagged = [
        _run(draws, simulate_counts(corr, exposure, seed=s), seed=s).overall for s in range(10)
    ]
    assert flagged.count("red") >= 5


def test_tripled_default_probabilities_are_red_in_every_segment(book):
    draws, exposure = book
    for s in range(5):
        res = _run(draws, simulate_counts(draws, exposure, seed=100 + s, pd_factor=3.0), seed=s)
        red_segments = set(res.tests.loc[res.tests["verdict"] == "red", "segment"])
        assert res.overall == "red"
        assert red_segments == set(SEGMENTS)
