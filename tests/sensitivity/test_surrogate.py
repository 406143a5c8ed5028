"""Sobol indices from the polynomial-chaos surrogate against closed forms.

Closed forms: for ``y = Σ a_i x_i`` with independent uniform ``x_i`` the first-order and total
indices are ``a_i² Var(x_i) / Σ a_j² Var(x_j)``; for the Ishigami function (a = 7, b = 0.1 on
[-π, π]³) they are known analytically (Saltelli et al. 2008, as in SALib's tests):
S1 = (0.3139, 0.4424, 0), ST = (0.5576, 0.4424, 0.2437).
"""

from __future__ import annotations

import numpy as np
import pytest

from riskmodel.sensitivity import surrogate
from riskmodel.sensitivity.surrogate import design_points, fit_indices

ISHIGAMI_S1 = np.array([0.3139, 0.4424, 0.0])
ISHIGAMI_ST = np.array([0.5576, 0.4424, 0.2437])


def test_a_polynomial_model_gets_its_exact_indices_and_tight_intervals():
    bounds = [(0.0, 1.0), (0.0, 2.0), (-1.0, 1.0)]
    x = design_points(bounds, 64, seed=3)
    a = np.array([2.0, 1.0, 0.5])
    y = x @ a
    var = a**2 * np.array([1 / 12, 4 / 12, 4 / 12])
    res = fit_indices(x, y, bounds, rng=np.random.default_rng(0))
    np.testing.assert_allclose(res.S1, var / var.sum(), atol=1e-9)
    np.testing.assert_allclose(res.ST, var / var.sum(), atol=1e-9)
    assert np.all(res.S1_conf < 1e-6)  # a linear model is fitted exactly: nothing uncertain


@pytest.mark.slow
def test_ishigami_indices_lie_in_their_intervals(monkeypatch):
    # degree 10 resolves the sines; the intervals (bootstrap plus the truncation bound from
    # the leave-one-out error) must cover the analytic values
    monkeypatch.setattr(surrogate, "MAX_DEGREE", 10)
    bounds = [(-np.pi, np.pi)] * 3
    x = design_points(bounds, 1024, seed=5)
    y = np.sin(x[:, 0]) + 7 * np.sin(x[:, 1]) ** 2 + 0.1 * x[:, 2] ** 4 * np.sin(x[:, 0])
    res = fit_indices(x, y, bounds, resamples=30, rng=np.random.default_rng(1))
    assert res.q2 > 0.999
    assert np.all(np.abs(res.S1 - ISHIGAMI_S1) <= res.S1_conf + 1e-3)
    assert np.all(np.abs(res.ST - ISHIGAMI_ST) <= res.ST_conf + 1e-3)
    np.testing.assert_allclose(res.S1, ISHIGAMI_S1, atol=0.02)
    np.testing.assert_allclose(res.ST, ISHIGAMI_ST, atol=0.02)


def test_a_model_error_widens_the_intervals():
    bounds = [(0.0, 1.0), (0.0, 1.0)]
    x = design_points(bounds, 64, seed=3)
    y = 2 * x[:, 0] + x[:, 1]
    sd = float(np.std(y))
    tight = fit_indices(x, y, bounds, rng=np.random.default_rng(0))
    loose = fit_indices(x, y, bounds, model_error=0.1 * sd, rng=np.random.default_rng(0))
    assert np.all(loose.S1_conf > tight.S1_conf + 0.05)
    # the bound: S1 = 0.8 lies in [(√S − η)²/(1 + η)², (√S + η)²/(1 − η)²] with η ≈ 0.1
    assert loose.S1_conf[0] == pytest.approx(
        max(
            (np.sqrt(0.8) + loose.eta) ** 2 / (1 - loose.eta) ** 2 - 0.8,
            0.8 - (np.sqrt(0.8) - loose.eta) ** 2 / (1 + loose.eta) ** 2,
        ),
        rel=1e-3,
    )
