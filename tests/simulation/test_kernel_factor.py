"""The factor paths a block's kernel is given: `riskmodel.simulation.qmc.sample_factor`.

Each weight must be the likelihood ratio of the model's factor density, N(shift, I), against the
density the path was drawn from; checked here against the densities themselves (scipy), exactly
up to rounding, for the mean shift and the defensive mixture.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from riskmodel.simulation.qmc import sample_factor

H = 5
SHIFT = np.linspace(-0.5, 0.5, H)


def _model_density(z: np.ndarray) -> np.ndarray:
    return stats.norm.pdf(z - SHIFT).prod(axis=1)


def test_plain_paths_are_the_shift_plus_the_generators_normals():
    rng, twin = np.random.default_rng(3), np.random.default_rng(3)
    f = sample_factor(SHIFT, 1, rng, 50)
    np.testing.assert_array_equal(f.z, SHIFT + twin.standard_normal((50, H)))
    np.testing.assert_array_equal(f.weight, 1.0)
    np.testing.assert_array_equal(f.draw, 0)


def test_mean_shift_weight_is_the_density_ratio():
    mu = np.full(H, -0.8)
    f = sample_factor(SHIFT, 1, np.random.default_rng(4), 200, z_mean=mu)
    proposal = stats.norm.pdf(f.z - SHIFT - mu).prod(axis=1)
    np.testing.assert_allclose(f.weight, _model_density(f.z) / proposal, rtol=1e-12)


def test_mixture_weight_is_the_density_ratio():
    means = np.vstack([np.zeros(H), np.full(H, -1.0), -2.0 * np.eye(H)[0]])
    probs = np.array([0.2, 0.5, 0.3])
    f = sample_factor(SHIFT, 1, np.random.default_rng(5), 300, z_mean=means, z_prob=probs)
    proposal = sum(
        p * stats.norm.pdf(f.z - SHIFT - m).prod(axis=1) for p, m in zip(probs, means, strict=True)
    )
    np.testing.assert_allclose(f.weight, _model_density(f.z) / proposal, rtol=1e-10)


def test_posterior_draws_are_uniform_over_draws():
    f = sample_factor(SHIFT, 7, np.random.default_rng(6), 7000)
    counts = np.bincount(f.draw, minlength=7)
    # each count is Binomial(7000, 1/7): mean 1000, sd √(7000·(1/7)·(6/7)) ≈ 29.3; 5 sd
    assert np.all(np.abs(counts - 1000) < 5 * 29.3)


def test_wrong_innovations_and_two_designs_are_refused():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="shape"):
        sample_factor(SHIFT, 1, rng, 4, eps=np.zeros((4, H + 1)))

    class _Tilt:  # any tilt: the check comes before it is used
        def sample(self, *args: object) -> None:
            raise AssertionError("not reached")

    with pytest.raises(ValueError, match="one"):
        sample_factor(SHIFT, 1, rng, 4, z_mean=np.zeros(H), tilt=_Tilt())  # type: ignore[arg-type]
