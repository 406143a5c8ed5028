"""Kill tests for `riskmodel.metrics.ecl` (see docs/mutation.md): the ECL term structure of a
hand-built dataset against sums written out period by period.

The datasets are small and fixed (no simulation, no Monte Carlo error): the oracle is plain
Python arithmetic over lists (``math.fsum``), so the figures must agree to rounding (1e-12
relative). Each case pins one branch: the exact expectations with a per-state table, the
fractional 12-month window, the default window of 12 periods, a book without customers, and
the two Monte Carlo fallbacks of files saved without exact expectations (per-path variables,
or the per-period sums of a ``keep: totals`` run), both with heavy weights.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import xarray as xr

from riskmodel.metrics.ecl import ecl_term_structure

T = 15  # longer than the default 12-period window
RNG = np.random.default_rng(20261202)
LOSS = RNG.uniform(10.0, 100.0, T)
DEFAULTS = RNG.uniform(1.0, 9.0, T)
DF = np.cumprod(1.0 / (1.0 + RNG.uniform(0.0, 0.05, T)))
STATES = ["stage1", "stage2", "empty"]
LOSS_BY_STATE = RNG.uniform(1.0, 50.0, (len(STATES), T))
DEFAULTS_BY_STATE = RNG.uniform(0.1, 4.0, (len(STATES), T))
CUSTOMERS = np.array([700.0, 1.0, 0.0])  # one customer: a rate of its own


def _window(values: list[float], window: float) -> float:
    """Sum over the first ⌊window⌋ periods plus the fraction of the next one."""
    whole = int(window)
    total = math.fsum(values[:whole])
    if whole < len(values):
        total += (window - whole) * values[whole]
    return total


def _exact_dataset(**attrs: float) -> xr.Dataset:
    ds = xr.Dataset(
        {
            "exact_loss": ("period", LOSS),
            "exact_defaults": ("period", DEFAULTS),
            "discount_factor": ("period", DF),
            # (start_state, period): the function must transpose by name
            "exact_loss_by_state": (("start_state", "period"), LOSS_BY_STATE),
            "exact_defaults_by_state": (("start_state", "period"), DEFAULTS_BY_STATE),
            "exact_customers_by_state": ("start_state", CUSTOMERS),
        },
        coords={"start_state": STATES},
    )
    ds.attrs.update(attrs)
    return ds


def _check_book(ecl: dict, loss: list[float], defaults: list[float], n0: float, w12: float):
    disc = [x * d for x, d in zip(loss, DF.tolist(), strict=True)]
    assert ecl["by_period"] == pytest.approx(disc, rel=1e-12)
    assert ecl["lifetime"] == pytest.approx(math.fsum(disc), rel=1e-12)
    assert ecl["12_month"] == pytest.approx(_window(disc, w12), rel=1e-12)
    assert ecl["12_period"] == ecl["12_month"]
    cum = [math.fsum(defaults[: t + 1]) / n0 for t in range(T)] if n0 else [0.0] * T
    assert ecl["cumulative_default_rate"] == pytest.approx(cum, rel=1e-12)
    marginal = [d / n0 for d in defaults] if n0 else [0.0] * T
    assert ecl["marginal_default_rate"] == pytest.approx(marginal, rel=1e-12)


def test_exact_term_structure_by_period_window_and_state():
    ecl = ecl_term_structure(_exact_dataset(total_customers=1000, ecl_12_month_periods=2.5))
    _check_book(ecl, LOSS.tolist(), DEFAULTS.tolist(), 1000.0, 2.5)
    assert ecl["exact"] is True and ecl["method"] == "exact"
    assert list(ecl["by_state"]) == STATES
    for j, state in enumerate(STATES):
        disc = [x * d for x, d in zip(LOSS_BY_STATE[j].tolist(), DF.tolist(), strict=True)]
        got = ecl["by_state"][state]
        assert got["lifetime"] == pytest.approx(math.fsum(disc), rel=1e-12)
        assert got["12_month"] == pytest.approx(_window(disc, 2.5), rel=1e-12)
        assert got["12_period"] == got["12_month"]
        assert got["customers"] == CUSTOMERS[j]
        n = CUSTOMERS[j]
        rate = math.fsum(DEFAULTS_BY_STATE[j].tolist()) / n if n > 0 else 0.0
        assert got["lifetime_default_rate"] == pytest.approx(rate, rel=1e-12)


@pytest.mark.parametrize(("attrs", "short", "window"), [({}, None, 12.0), ({}, 4.0, 4.0)])
def test_the_window_defaults_to_twelve_periods_and_can_be_given(attrs, short, window):
    ecl = ecl_term_structure(_exact_dataset(total_customers=1000, **attrs), short_window=short)
    _check_book(ecl, LOSS.tolist(), DEFAULTS.tolist(), 1000.0, window)
    # an explicit window wins over the run's attribute
    ecl = ecl_term_structure(
        _exact_dataset(total_customers=1000, ecl_12_month_periods=3), short_window=0.5
    )
    assert ecl["12_month"] == pytest.approx(0.5 * LOSS[0] * DF[0], rel=1e-12)


@pytest.mark.parametrize("short", [0.0, -1.0])
def test_a_window_that_is_not_positive_is_refused(short):
    with pytest.raises(ValueError, match="short_window"):
        ecl_term_structure(_exact_dataset(total_customers=1000), short_window=short)


@pytest.mark.parametrize("attrs", [{}, {"total_customers": 0}])
def test_a_book_without_customers_has_zero_default_rates(attrs):
    ecl = ecl_term_structure(_exact_dataset(**attrs))
    _check_book(ecl, LOSS.tolist(), DEFAULTS.tolist(), 0.0, 12.0)


def _paths(n: int = 200) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(5)
    w = rng.lognormal(0.0, 1.0, n)  # heavy likelihood ratios: Σ w far from N
    return rng.gamma(2.0, 20.0, (n, T)), rng.poisson(5.0, (n, T)).astype(float), w


def _self_normalised(x: np.ndarray, w: np.ndarray) -> list[float]:
    return [math.fsum((w * x[:, t]).tolist()) / math.fsum(w.tolist()) for t in range(T)]


def test_monte_carlo_fallback_is_the_self_normalised_mean_of_the_paths():
    x, d, w = _paths()
    ds = xr.Dataset(
        {
            "loss": (("path", "period"), x),
            "defaults": (("path", "period"), d),
            "weight": ("path", w),
            "discount_factor": ("period", DF),
        },
        attrs={"total_customers": 500},
    )
    ecl = ecl_term_structure(ds)
    _check_book(ecl, _self_normalised(x, w), _self_normalised(d, w), 500.0, 12.0)
    assert ecl["exact"] is False and ecl["method"] == "monte_carlo" and ecl["by_state"] == {}


def test_monte_carlo_fallback_of_a_totals_run_rescales_the_plain_means():
    x, d, w = _paths()
    n = x.shape[0]
    ds = xr.Dataset(
        {  # `keep: totals` keeps (1/N) Σ w x per period, not the paths
            "mc_mean_loss": ("period", (w[:, None] * x).sum(axis=0) / n),
            "mc_mean_defaults": ("period", (w[:, None] * d).sum(axis=0) / n),
            "weight": ("path", w),
            "discount_factor": ("period", DF),
        },
        attrs={"total_customers": 500},
    )
    ecl = ecl_term_structure(ds)
    _check_book(ecl, _self_normalised(x, w), _self_normalised(d, w), 500.0, 12.0)
    assert ecl["method"] == "monte_carlo"
