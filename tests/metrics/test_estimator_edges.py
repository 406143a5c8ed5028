"""Exact small cases that pin down the estimators' definitions (mutation-testing survivors).

Each case is computed by hand from the documented definition, so a plausible slip — a
non-strict inequality, ``ddof=0``, a wrong power in the effective sample size, an off-by-one
guard — changes the result. See docs/testing.md.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import riskmodel as rm
from riskmodel.metrics.risk import exceedance_probability, expected_value, weighted_quantile


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
