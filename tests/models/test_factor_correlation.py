"""The LKJ prior through canonical partial correlations, and the nearest correlation matrix."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from riskmodel.models.correlation import (
    cholesky_from_cpc,
    cpc_pairs,
    lkj_cpc_shapes,
    nearest_correlation,
)


def _cpcs_of(r: np.ndarray) -> np.ndarray:
    """CPCs of a correlation matrix read off its Cholesky factor (the inverse of the map)."""
    lower = np.linalg.cholesky(r)
    return np.array(
        [lower[i, j] / np.sqrt(1.0 - np.sum(lower[i, :j] ** 2)) for i, j in cpc_pairs(len(r))]
    )


def test_cholesky_from_cpc_inverts_the_cholesky_of_a_correlation_matrix():
    rng = np.random.default_rng(4)
    a = rng.standard_normal((4, 40))
    r = np.corrcoef(a)
    lower = cholesky_from_cpc(_cpcs_of(r), 4)
    np.testing.assert_allclose(lower @ lower.T, r, atol=1e-12)
    assert np.allclose(np.triu(lower, 1), 0.0)


def test_any_cpcs_give_a_valid_correlation_matrix():
    rng = np.random.default_rng(5)
    for _ in range(50):
        cpc = rng.uniform(-0.999, 0.999, size=10)
        lower = cholesky_from_cpc(cpc, 5)
        r = lower @ lower.T
        np.testing.assert_allclose(np.diag(r), 1.0, atol=1e-12)
        assert np.linalg.eigvalsh(r)[0] > -1e-12


@pytest.mark.parametrize("eta", [1.0, 2.0, 5.0])
def test_cpc_betas_give_lkj_marginals(eta):
    """Under LKJ(eta) every correlation of an F×F matrix is Beta(eta − 1 + F/2) on (−1, 1)
    (Lewandowski et al. 2009): checked for F = 3, where the (2, 1) entry mixes both CPC levels.
    KS test on 4,000 seeded draws at level 0.001 per entry (9 checks: about 1% false alarms
    for a correct sampler; the seed is fixed, so the outcome is reproducible)."""
    n, rng = 3, np.random.default_rng(int(10 * eta))
    shapes = lkj_cpc_shapes(n, eta)
    a = eta - 1.0 + n / 2.0
    corr = []
    for _ in range(4000):
        cpc = 2.0 * rng.beta(shapes, shapes) - 1.0
        lower = cholesky_from_cpc(cpc, n)
        corr.append((lower @ lower.T)[np.tril_indices(n, -1)])
    for values in np.array(corr).T:
        assert stats.kstest((values + 1.0) / 2.0, stats.beta(a, a).cdf).pvalue > 1e-3


def test_one_shape_for_every_cpc_is_not_lkj():
    """The test above has power: with the marginal's shape for every CPC (2.5 where the second
    level needs 2.0) the (2, 1) entry has variance 0.144 instead of 1/6, and KS sees it."""
    n, eta, rng = 3, 2.0, np.random.default_rng(1)
    a = eta - 1.0 + n / 2.0
    wrong = np.full(3, a)
    values = []
    for _ in range(4000):
        lower = cholesky_from_cpc(2.0 * rng.beta(wrong, wrong) - 1.0, n)
        values.append((lower @ lower.T)[2, 1])
    assert stats.kstest((np.array(values) + 1) / 2, stats.beta(a, a).cdf).pvalue < 1e-3


def test_nearest_correlation_reproduces_highams_example():
    """Higham (2002), section 4: the nearest correlation matrix to tridiag(−1, 2, −1), n = 4,
    printed to four decimals."""
    a = 2 * np.eye(4) - np.eye(4, k=1) - np.eye(4, k=-1)
    expected = np.array(
        [
            [1.0, -0.8084, 0.1916, 0.1068],
            [-0.8084, 1.0, -0.6562, 0.1916],
            [0.1916, -0.6562, 1.0, -0.8084],
            [0.1068, 0.1916, -0.8084, 1.0],
        ]
    )
    np.testing.assert_allclose(nearest_correlation(a), expected, atol=6e-5)


def test_nearest_correlation_is_valid_and_no_farther_than_any_correlation_matrix():
    bad = np.array([[1.0, 0.9, 0.9], [0.9, 1.0, -0.9], [0.9, -0.9, 1.0]])
    x = nearest_correlation(bad)
    np.testing.assert_allclose(np.diag(x), 1.0)
    np.testing.assert_allclose(x, x.T)
    assert np.linalg.eigvalsh(x)[0] > -1e-12
    rng = np.random.default_rng(2)
    best = np.linalg.norm(bad - x)
    for _ in range(300):
        other = np.corrcoef(rng.standard_normal((3, 5)))
        assert np.linalg.norm(bad - other) >= best - 1e-9


def test_a_valid_matrix_is_returned_as_it_is_and_garbage_refused():
    r = np.array([[1.0, 0.3], [0.3, 1.0]])
    np.testing.assert_array_equal(nearest_correlation(r), r)
    with pytest.raises(ValueError, match="finite square"):
        nearest_correlation([[1.0, np.nan], [0.2, 1.0]])
    with pytest.raises(ValueError, match="eta must be > 0"):
        lkj_cpc_shapes(2, 0.0)
