"""Matrices from generator draws: the batched eigen route of expm and its scipy fallback."""

from __future__ import annotations

import numpy as np
import scipy.linalg as sl

from riskmodel.models.intensity_draws import matrices_from_generators
from riskmodel.states import StateSpace

SS = StateSpace(["a", "b", "c", "d"], absorbing=["d"], default="d")


def _random_generators(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    Q = rng.exponential(0.2, (n, 4, 4))
    Q[:, 3] = 0.0
    Q[:, np.arange(4), np.arange(4)] = 0.0
    Q[:, np.arange(4), np.arange(4)] = -Q.sum(axis=-1)
    return Q


def test_batched_matrices_equal_scipy_expm_per_draw():
    Q = _random_generators(300, seed=1)
    for length in (1 / 12, 0.25, 3.0):
        P = matrices_from_generators(Q, length, SS)
        want = np.stack([sl.expm(q * length) for q in Q])
        np.testing.assert_allclose(P, want, rtol=0, atol=1e-13)
        np.testing.assert_allclose(P.sum(axis=-1), 1.0, rtol=0, atol=1e-15)
        assert (P >= 0).all()


def test_defective_generators_fall_back_to_scipy():
    """Equal exit rates along a chain a -> b -> c make Q defective (a Jordan block): the
    eigenvectors are singular, and the result still equals scipy's expm (the fallback)."""
    Q = np.zeros((2, 4, 4))
    Q[:, 0, 1] = Q[:, 1, 2] = Q[:, 2, 3] = 0.5
    Q[:, np.arange(4), np.arange(4)] = -Q.sum(axis=-1)
    Q[1] = _random_generators(1, seed=2)[0]  # one well-conditioned draw beside it
    P = matrices_from_generators(Q[:, None], 2.0, SS)[:, 0]
    for k in range(2):
        np.testing.assert_allclose(P[k], sl.expm(2.0 * Q[k]), rtol=0, atol=1e-14)
    # closed form for the Jordan chain: P[a, c] = (qt)^2/2 e^{-qt}
    assert abs(P[0, 0, 2] - np.exp(-1.0) / 2) < 1e-15
