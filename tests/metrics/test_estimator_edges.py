"""Exact small cases that pin down the estimators' definitions (mutation-testing survivors).

Each case is computed by hand from the documented definition, so a plausible slip — a
non-strict inequality, ``ddof=0``, a wrong power in the effective sample size, an off-by-one
guard — changes the result. See docs/testing.md.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import xarray as xr

import riskmodel as rm
from riskmodel.metrics.risk import (
    exceedance_probability,
    expected_value,
    risk_measures_da,
    weighted_quantile,
)


def test_exceedance_is_strictly_above_the_threshold():
    # P(X > 1) over {0, 1, 1, 2} is 1/4; counting ties (>=) would give 3/4
    p, se = exceedance_probability([0.0, 1.0, 1.0, 2.0], 1.0)
    assert p == 0.25
    # indicator (0, 0, 0, 1): sd (ddof=1) = 1/2, se = 1/2 / sqrt(4) = 1/4
    assert se == pytest.approx(0.25, rel=1e-12)


def test_standard_error_uses_ddof_one_and_exists_for_two_paths():
    # {1, 2, 3}: sample variance 1, se = sqrt(1/3)
    assert expected_value([1.0, 2.0, 3.0])[1] == pytest.approx(math.sqrt(1 / 3), rel=1e-12)
    # {1, 3}: sample variance 2, se = 1 (defined from two paths on)
    assert expected_value([1.0, 3.0])[1] == pytest.approx(1.0, rel=1e-12)
    assert math.isnan(expected_value([1.0])[1])


def test_effective_sample_size_is_kish():
    w = np.array([0.5, 1.0, 2.0, 4.0])
    res = rm.risk_measures(np.arange(4.0), weights=w, levels=(0.5,), min_tail_paths=0)
    assert res.ess == pytest.approx(w.sum() ** 2 / np.sum(w**2), rel=1e-12)  # 56.25/21.25


def test_weighted_quantile_is_the_weighted_order_statistic():
    # weights 1, 1, 1, 5 (mean 2 after self-normalisation: 0.5, 0.5, 0.5, 2.5): the top path
    # carries 5/8 of the mass, so every level above 3/8 sits on it and none below
    x = np.array([1.0, 2.0, 3.0, 4.0])
    w = np.array([1.0, 1.0, 1.0, 5.0])
    got = weighted_quantile(x, [0.3, 0.374, 0.376, 0.9], weights=w)
    np.testing.assert_array_equal(got, [3.0, 3.0, 4.0, 4.0])


def test_decimal_levels_give_the_order_statistic_at_millions_of_paths():
    # N (1 − 0.9) rounds to 199,999.99999999997 in floating point; the tie tolerance (relative
    # to N) must still give the order statistic x_(⌈Nq⌉) = x_(1,800,000), i.e. 1,799,999
    n = 2_000_000
    x = np.arange(float(n))
    assert weighted_quantile(x, 0.9)[()] == 1_799_999.0
    assert weighted_quantile(x, 0.99)[()] == 1_979_999.0


def test_var_standard_error_counts_paths_strictly_above_var():
    """``stderr_var = se(mean of 1{L > VaR}) · s(q)`` (docstring of `risk_measures`): with an
    atom at VaR, paths *at* VaR are not exceedances."""
    from riskmodel.metrics.weighted import sort_paths, sparsity, stderr_of_mean

    x = np.repeat([0.0, 1.0, 2.0, 3.0], [40, 30, 20, 10])
    q = 0.7  # VaR = 1 (G(1) = 0.3 ≤ 0.3), an atom of 30 paths
    res = rm.risk_measures(x, levels=(q,), min_tail_paths=0)
    assert res.var[q] == 1.0
    s = float(sparsity(*sort_paths(x, np.ones_like(x)), np.array([q]))[0])
    assert s > 0
    assert res.stderr_var[q] == pytest.approx(stderr_of_mean(1.0 * (x > 1.0)) * s, rel=1e-12)


def test_labelled_risk_measures_equal_the_numpy_ones_slice_by_slice():
    rng = np.random.default_rng(3)
    loss = xr.DataArray(rng.gamma(2.0, size=(2, 500)), dims=("scenario", "path"))
    w = xr.DataArray(rng.uniform(0.2, 3.0, 500), dims="path")
    for weights in (None, w):
        ds = risk_measures_da(loss, weights=weights, levels=[0.9, 0.99], min_tail_paths=0)
        assert ds.attrs["n_paths"] == 500
        for k in range(2):
            ref = rm.risk_measures(
                loss.values[k],
                weights=None if weights is None else w.values,
                levels=[0.9, 0.99],
                min_tail_paths=0,
            )
            assert float(ds["expected"][k]) == ref.expected
            assert float(ds["std"][k]) == ref.std
            np.testing.assert_array_equal(ds["var"][k], list(ref.var.values()))
            np.testing.assert_array_equal(ds["es"][k], list(ref.es.values()))
    bad = xr.DataArray(np.ones((500, 3)), dims=("path", "other"))
    with pytest.raises(ValueError, match="weights"):
        risk_measures_da(loss, weights=bad)
